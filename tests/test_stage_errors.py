"""Bad input at every stage, as a user meets it: `python stages/<stage>.py ...` in a scratch project
prints one line `error: ...` naming the file, field or value, exits 2, and leaves earlier outputs alone.

The library-level checks behind these messages are tested in test_tasks, test_sources, test_llm_*;
here each stage script is run for real, so what reaches the user's terminal is what is asserted."""

from __future__ import annotations

import csv
import hashlib
import json
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from repo_helpers import ROOT, tool_env
from toy_task import TOY_TASK

STAGE_ARGS = {
    "prepare": ["toy"],
    "generate": ["toy", "zero_shot"],
    "filter": ["toy", "zero_shot"],
    "train": ["toy", "real"],
    "agreement_proxy": ["toy"],
    "evaluate": ["toy"],
    "analyze": [],
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The stage scripts, a local-CSV task 'toy' with good data, and the tiny profile on that task."""
    (tmp_path / "stages").symlink_to(ROOT / "stages")
    real = tmp_path / "real-data"
    write_csv(real / "train.csv", [[f"example number {i}", ("pos", "neg")[i % 2]] for i in range(12)])
    write_csv(real / "test.csv", [[f"test example {i}", ("pos", "neg")[i % 2]] for i in range(6)])
    write_task(tmp_path, sources=[{"kind": "local", "path": str(real)}])
    params = yaml.safe_load((ROOT / "profiles" / "tiny.yaml").read_text())
    params["tasks"] = ["toy"]
    write_yaml(tmp_path / "params.yaml", params)
    return tmp_path


def write_csv(path: Path, rows: list[list[str]], header: tuple[str, ...] = ("text", "label")) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([list(header), *rows])


def write_yaml(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def write_task(project: Path, **changes: Any) -> None:
    write_yaml(project / "tasks" / "toy.yaml", {**TOY_TASK, **changes})


def repeat_label(project: Path) -> None:
    """The task file with a label given twice, as a copy-and-paste slip leaves it."""
    text = (project / "tasks" / "toy.yaml").read_text()
    first = next(line for line in text.splitlines() if line.strip().startswith("pos:"))
    (project / "tasks" / "toy.yaml").write_text(text.replace(first, f"{first}\n{first}", 1))


def drop_task_field(project: Path, name: str) -> None:
    task = yaml.safe_load((project / "tasks" / "toy.yaml").read_text())
    del task[name]
    write_yaml(project / "tasks" / "toy.yaml", task)


def set_param(project: Path, dotted: str, value: Any) -> None:
    params = yaml.safe_load((project / "params.yaml").read_text())
    *parents, last = dotted.split(".")
    section = params
    for name in parents:
        section = section.setdefault(name, {})
    section[last] = value
    write_yaml(project / "params.yaml", params)


def update_params(project: Path, dotted: str, changes: dict[str, Any]) -> None:
    """Set some keys of one section of the project's params.yaml, keeping its others (every key is required)."""
    for name, value in changes.items():
        set_param(project, f"{dotted}.{name}", value)


def write_jsonl(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def use_gguf(project: Path, data: bytes) -> None:
    write_bytes(project / "model.gguf", data)
    set_param(project, "llm.local.gguf", str(project / "model.gguf"))


def closed_port() -> int:
    """A local port nothing listens on: bound by the OS, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_stage(project: Path, stage: str, *args: str) -> subprocess.CompletedProcess:
    # A synthclf cache of its own: nothing here may touch the user's LLM answers or downloads.
    env = tool_env(SYNTHCLF_CACHE_DIR=str(project / "synthclf-cache"))
    return subprocess.run([sys.executable, f"stages/{stage}.py", *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def assert_one_line_error(proc: subprocess.CompletedProcess, *fragments: str, alone: bool = True) -> str:
    """Exit status 2, no traceback, and the last line of stderr is the error, naming every fragment.

    ``alone``: nothing else was printed (a stage that has started its LLM requests shows progress first).
    """
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    lines = proc.stderr.rstrip("\n").split("\n")
    last = lines[-1]
    assert last.startswith("error: ") and (len(lines) == 1 or not alone), proc.stderr[-2000:]
    for fragment in fragments:
        assert fragment in last, f"{fragment!r} not in {last!r}"
    return last


def snapshot(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` (temporary files included, so leftovers show)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@dataclass(frozen=True)
class Case:
    stage: str
    setup: Callable[[Path], None]
    expected: tuple[str, ...]
    args: list[str] = field(default_factory=list)


CASES = {
    # Tasks.
    "unknown task": Case("prepare", lambda p: None, ("unknown task 'nope'", "tasks/nope.yaml not found"), ["nope"]),
    "task field missing": Case("prepare", lambda p: drop_task_field(p, "labels"),
                               ("tasks/toy.yaml: field 'labels': Field required",)),
    "task field mistyped": Case("prepare", lambda p: write_task(p, subjectivity="high"),
                                ("tasks/toy.yaml: field 'subjectivity'", "(got 'high')")),
    "task key twice": Case("prepare", lambda p: repeat_label(p), ("tasks/toy.yaml", "duplicate key 'pos' at line")),
    # Params.
    "zero count": Case("prepare", lambda p: set_param(p, "generate.per_label", 0),
                       ("params.yaml: field 'generate.per_label': Input should be greater than 0 (got 0)",)),
    "negative count": Case("prepare", lambda p: set_param(p, "prepare.max_train", -5),
                           ("params.yaml: field 'prepare.max_train'", "(got -5)")),
    "unknown method in params": Case("prepare", lambda p: set_param(p, "methods", ["one_shot"]),
                                     ("params.yaml: field 'methods.0'", "(got 'one_shot')")),
    "unknown method on the command line": Case("generate", lambda p: None,
                                               ("unknown generation method 'one_shot'",), ["toy", "one_shot"]),
    # Real data (the local CSV files of the task).
    "dataset file missing": Case("prepare", lambda p: (p / "real-data" / "train.csv").unlink(),
                                 ("real-data: file not found: train.csv or train.jsonl",)),
    "dataset file empty": Case("prepare", lambda p: (p / "real-data" / "train.csv").write_text(""),
                               ("real-data/train.csv: empty file",)),
    "dataset not UTF-8": Case("prepare", lambda p: write_bytes(p / "real-data/train.csv", b"text,label\ncaf\xe9,pos\n"),
                              ("real-data/train.csv: not UTF-8 (byte 14)",)),
    "dataset row wider than its header": Case("prepare", lambda p: (p / "real-data" / "train.csv").write_text(
        "text,label\ngood,pos\nbad, really,neg\n"), ("real-data/train.csv:3: 3 fields, but the header has 2",)),
    "base_url without a scheme": Case("generate", lambda p: update_params(
        p, "llm", {"backend": "openai-compatible", "base_url": "127.0.0.1:8000/v1"}),
        ("params.yaml: field 'llm'", "base_url '127.0.0.1:8000/v1' needs http:// or https://"), ["toy", "zero_shot"]),
    "dataset unknown label": Case("prepare", lambda p: write_csv(p / "real-data" / "train.csv", [["good", "pos"], ["meh", "maybe"]]),
                                  ("real-data/train.csv:3: label 'maybe' is not a label of task 'toy'",)),
    "label without examples": Case("prepare", lambda p: write_csv(p / "real-data" / "train.csv", [["good", "pos"]] * 3),
                                   ("tasks/toy.yaml: label 'neg' has no train examples", "(found: pos 3)")),
    # The JSON Lines files that one stage hands to the next.
    "stage input missing": Case("filter", lambda p: None, ("data/synthetic/toy/zero_shot.jsonl: file not found",)),
    "stage input not UTF-8": Case("filter", lambda p: write_bytes(p / "data/synthetic/toy/zero_shot.jsonl", b'{"text": "caf\xe9"}\n'),
                                  ("data/synthetic/toy/zero_shot.jsonl: not UTF-8 (byte 13)",)),
    "training data with an unknown label": Case(
        "train", lambda p: write_jsonl(p / "data/filtered/toy/zero_shot.jsonl",
                                       [{"text": "a fine day", "label": "pos"}, {"text": "so so", "label": "maybe"}]),
        ("data/filtered/toy/zero_shot.jsonl: record 2: label 'maybe' is not one of pos, neg",), ["toy", "zero_shot"]),
    "training data empty": Case("train", lambda p: write_jsonl(p / "data/filtered/toy/few_shot.jsonl", []),
                                ("data/filtered/toy/few_shot.jsonl: training set is empty",), ["toy", "few_shot"]),
    "agreement proxy for an unknown task": Case(
        "agreement_proxy", lambda p: set_param(p, "agreement_proxy.tasks", ["toy", "nope"]),
        ("params.yaml: agreement_proxy.tasks: no task file tasks/nope.yaml",)),
    "validation data missing": Case("evaluate", lambda p: None, ("data/real/toy/validation.jsonl: file not found",)),
    "evaluation metrics missing": Case("analyze", lambda p: None, ("metrics/eval/toy.json: file not found",)),
    # The LLM.
    "GGUF missing": Case("generate", lambda p: set_param(p, "llm.local.gguf", str(p / "absent.gguf")),
                         ("llm.local.gguf:", "absent.gguf: file not found")),
    "GGUF corrupt": Case("generate", lambda p: use_gguf(p, b"\x00" * 4096), ("model.gguf: not a GGUF model file",)),
    "GGUF of an unknown version": Case("generate", lambda p: use_gguf(p, b"GGUF" + (99).to_bytes(4, "little") + bytes(4096)),
                                       ("model.gguf: unsupported GGUF version 99",)),
}


@pytest.mark.parametrize("name", CASES)
def test_bad_input_is_one_line_naming_it(project: Path, name: str) -> None:
    case = CASES[name]
    case.setup(project)
    assert_one_line_error(run_stage(project, case.stage, *(case.args or STAGE_ARGS[case.stage])), *case.expected)


@pytest.mark.parametrize("stage", STAGE_ARGS)
def test_every_stage_checks_params_first(project: Path, stage: str) -> None:
    # A stage that never talks to the LLM still refuses params that name an unknown backend.
    set_param(project, "llm.backend", "gpt")
    assert_one_line_error(run_stage(project, stage, *STAGE_ARGS[stage]),
                          "params.yaml: field 'llm.backend'", "(got 'gpt')")


def test_unreachable_llm_server_fails_generate_and_keeps_the_previous_outputs(project: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    update_params(project, "llm", {"backend": "openai-compatible", "model": "m", "base_url": url,
                                   "max_retries": 0, "timeout_s": 2})
    # Few enough requests that the failure rate, not the run of failures in a row, stops the stage.
    update_params(project, "generate", {"replicates": 1})
    write_jsonl(project / "data/synthetic/toy/zero_shot.jsonl", [{"text": "from the last run", "label": "pos"}])
    write_bytes(project / "metrics/generate/toy-zero_shot.json", b'{"n": 1}\n')
    before = {name: snapshot(project / name) for name in ("data", "metrics")}

    last = assert_one_line_error(run_stage(project, "generate", "toy", "zero_shot"),
                                 "toy/zero_shot:", "requests failed", f"last failure: {url}: connection failed",
                                 alone=False)
    assert "max_failure_rate" in last
    assert {name: snapshot(project / name) for name in ("data", "metrics")} == before


def test_failed_prepare_keeps_the_previous_outputs(project: Path) -> None:
    good = run_stage(project, "prepare", "toy")
    assert good.returncode == 0, good.stderr
    before = snapshot(project / "data")
    assert set(before) == {"real/toy/train.jsonl", "real/toy/validation.jsonl", "real/toy/test.jsonl"}

    write_csv(project / "real-data" / "test.csv", [["good", "pos"], ["meh", "maybe"]])
    assert_one_line_error(run_stage(project, "prepare", "toy"), "test.csv:3: label 'maybe'")
    assert snapshot(project / "data") == before


def test_attributes_are_skipped_without_the_attributed_method(project: Path) -> None:
    # No LLM is configured that could answer: a request would fail the stage.
    set_param(project, "methods", ["zero_shot"])
    update_params(project, "llm", {"backend": "openai-compatible", "model": "m", "base_url": f"http://127.0.0.1:{closed_port()}/v1",
                                   "max_retries": 0, "timeout_s": 2})
    proc = run_stage(project, "attributes", "toy")
    assert proc.returncode == 0, proc.stderr
    written = json.loads((project / "data" / "attributes" / "toy.json").read_text())
    assert written == {"skipped": "the attributed method is not in methods"}
