"""The `synthclf` command: its help, `new-task` on small CSV files, `status` in a real git + DVC
repository, and the subcommands that took over the former scripts (keep-run, compare-runs, pr-comment).
Every command runs as a user runs it, in a subprocess; errors must be one `error:` line and exit 2."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import tomllib
from contextlib import closing
from pathlib import Path

import pytest
import yaml
from params_helpers import repo_params
from repo_helpers import ROOT, init_repo, one_line_error, run, synthclf, tool_env
from test_sources import write_csv

from synthclf.commands import SUBCOMMANDS
from synthclf.errors import SynthclfError
from synthclf.params import PrepareParams
from synthclf.sources import load_source
from synthclf.status import cache_dir, describe_cache, describe_stale, stale_by_stage
from synthclf.tasks import LocalSource, load_task

OLD_SCRIPTS = ("synthclf-keep-run", "synthclf-compare-runs", "synthclf-pr-comment")


# --- One command ----------------------------------------------------------------------------------


def test_help_lists_every_subcommand_with_its_one_line_description(tmp_path):
    proc = synthclf("--help", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = " ".join(proc.stdout.split())  # argparse wraps long lines
    assert list(SUBCOMMANDS) == ["status", "new-task", "keep-run", "compare-runs", "pr-comment", "export"]
    for name, module in SUBCOMMANDS.items():
        assert f"{name} {' '.join(module.HELP.split())}" in text
        assert "\n" not in module.HELP


@pytest.mark.parametrize("name", list(SUBCOMMANDS))
def test_each_subcommand_has_help_with_an_example(tmp_path, name):
    proc = synthclf(name, "--help", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"usage: synthclf {name}")
    assert "example" in proc.stdout and f"  synthclf {name}" in proc.stdout


def test_python_dash_m_synthclf_is_the_same_command(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "synthclf", "--help"], cwd=tmp_path, env=tool_env(),
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and "pr-comment" in proc.stdout


@pytest.mark.parametrize("args, message", [
    ((), "error: name a command: status, new-task, keep-run, compare-runs, pr-comment"),
    (("publish",), "error: argument COMMAND: invalid choice: 'publish'"),
    (("new-task", "x"), "error: the following arguments are required: --train, --test"),
    (("keep-run",), "error: the following arguments are required: name"),
])
def test_usage_errors_are_one_line_and_exit_2(tmp_path, args, message):
    assert one_line_error(synthclf(*args, cwd=tmp_path)).startswith(message)


def test_the_former_scripts_are_subcommands_and_gone_from_pyproject_and_readme(tmp_path):
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"synthclf": "synthclf.commands:main"}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    workflow = (ROOT / ".github" / "workflows" / "pr.yml").read_text(encoding="utf-8")
    for old in OLD_SCRIPTS:
        assert old not in readme and old not in workflow
    assert 'synthclf pr-comment "$BASE"' in workflow
    for name in SUBCOMMANDS:
        assert f"synthclf {name}" in readme
    # Reachable with their own arguments: a kept run that is not there is the runs module's own error.
    proc = synthclf("keep-run", "first", cwd=tmp_path)
    assert one_line_error(proc) == "error: no finished run to keep in .: reports/report.md is missing (run dvc repro first)"
    proc = synthclf("compare-runs", str(tmp_path / "nope"), cwd=tmp_path)
    assert one_line_error(proc) == f"error: {tmp_path / 'nope'}: not a kept run (no params.yaml; keep one with synthclf keep-run)"


# --- new-task -------------------------------------------------------------------------------------


TRAIN = [
    ["The invoice charged me twice, please refund", "billing"],
    ["Site down since noon, nothing loads", "outage"],
    ["Why was my card charged, again?", "billing"],
    ["", "billing"],  # no text: the local source skips the row, so it is not counted
    ["Login page times out for everyone in our office today", "outage"],
    ["Refund still missing", "billing"],
]
TEST = [["Charged twice", "billing"], ["Everything is down", "outage"]]


@pytest.fixture
def project(tmp_path) -> Path:
    """A project root with its tasks/ folder; the data lives beside it, as ../shared/datasets does."""
    root = tmp_path / "project"
    (root / "tasks").mkdir(parents=True)
    write_csv(tmp_path / "tickets" / "train.csv", ["body", "team", "agreement"], [r + ["1.0"] for r in TRAIN])
    write_csv(tmp_path / "tickets" / "test.csv", ["body", "team", "agreement"], [r + ["0.5"] for r in TEST])
    return root


def new_task(project: Path, name: str = "tickets", *extra: str, data: Path | None = None) -> subprocess.CompletedProcess:
    data = data or project.parent / "tickets"
    return synthclf("new-task", name, "--train", str(data / "train.csv"), "--test", str(data / "test.csv"), *extra,
                    cwd=project)


def filled(raw: dict) -> dict:
    """The scaffold with its TODOs filled in as a user would."""
    return {**raw, "title": "Support tickets", "description": "Tickets by team.", "subjectivity": 2,
            "subjectivity_note": "Teams are mostly clear-cut.",
            "labels": {label: f"a ticket for the {label} team" for label in raw["labels"]},
            "prompts": {**raw["prompts"], "context": "You answer support tickets.",
                        "generation": "Write a ticket that is {description}, in at most {word_limit} words."}}


def test_new_task_scaffolds_a_task_file_that_loads_once_its_todos_are_filled(project, monkeypatch):
    proc = new_task(project, "tickets", "--text-column", "body", "--label-column", "team")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("wrote tasks/tickets.yaml: 2 labels (billing 3/1, outage 2/1 train/test rows)")
    assert "next: fill in the 8 values marked TODO" in proc.stdout  # title, description, subjectivity, note, 2 labels, 2 prompts

    path = project / "tasks" / "tickets.yaml"
    text = path.read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    assert raw["name"] == "tickets" and raw["labels"] == {"billing": None, "outage": None}
    assert raw["sources"] == [{"kind": "local", "path": "../tickets", "text_column": "body", "label_column": "team",
                               "agreement_column": "agreement"}]
    assert raw["prompts"]["word_limit"] == 10  # the longest text has 10 words, rounded up to a multiple of 5
    assert raw["subjectivity"] is None and raw["subjectivity_basis"] == "analogy"
    assert 'README, "Subjectivity and the statistics"' in text and "`subjectivity` stage" in text
    assert "billing: null  # 3 / 1" in text
    # Not loadable as it stands: every TODO is a missing value, so no stage runs with a half-written task.
    with pytest.raises(SynthclfError, match="tasks/tickets.yaml: field"):
        load_task("tickets", project / "tasks")

    path.write_text(yaml.safe_dump(filled(raw), sort_keys=False), encoding="utf-8")
    task = load_task("tickets", project / "tasks")
    assert isinstance(task.source(), LocalSource) and list(task.labels) == ["billing", "outage"]
    monkeypatch.chdir(project)  # stages run in the project root, where the source's path is relative to
    rows = load_source(task, repo_params(PrepareParams, source="default"))
    assert sorted(r["label"] for r in rows.train) == ["billing"] * 3 + ["outage"] * 2
    assert [r["agreement"] for r in rows.test] == [0.5, 0.5]


def test_new_task_keeps_code_labels_as_strings(project):
    data = project.parent / "codes"
    write_csv(data / "train.csv", ["text", "label"], [["good", "1"], ["bad", "0"], ["fine", "1"]])
    write_csv(data / "test.csv", ["text", "label"], [["great", "1"], ["awful", "0"]])
    proc = new_task(project, "codes", data=data)
    assert proc.returncode == 0, proc.stderr
    text = (project / "tasks" / "codes.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    assert list(raw["labels"]) == ["0", "1"]  # quoted: YAML would read 0 and 1 as numbers
    assert raw["sources"] == [{"kind": "local", "path": "../codes"}]
    assert "The labels are codes" in text
    (project / "tasks" / "codes.yaml").write_text(yaml.safe_dump(filled(raw), sort_keys=False), encoding="utf-8")
    assert list(load_task("codes", project / "tasks").labels) == ["0", "1"]


@pytest.mark.parametrize("case, message", [
    ("existing", "error: tasks/tickets.yaml exists: choose another name (or edit that file)"),
    ("missing file", "test.csv: file not found"),
    ("missing column", "train.csv: missing column 'text' (has: body, team, agreement); name yours with --text-column / --label-column"),
    ("one label", "error: found 1 label in column 'team' ('billing'): a classification task needs at least 2"),
    ("label only in test", "label 'refund' is not in"),
    ("other file name", "tickets.csv: name it train.csv (or train.jsonl)"),
    ("bad name", "error: task name 'Tickets': use lower-case letters, digits and '_'"),
    ("wide row", "train.csv:2: 3 fields, but the header has 2; quote fields that contain commas"),
])
def test_new_task_refuses_in_one_line_and_writes_nothing(project, case, message):
    data, name, extra = project.parent / "tickets", "tickets", ["--text-column", "body", "--label-column", "team"]
    if case == "existing":
        (project / "tasks" / "tickets.yaml").write_text("mine\n")
    elif case == "missing file":
        (data / "test.csv").unlink()
    elif case == "missing column":
        extra = ["--label-column", "team"]
    elif case == "one label":
        write_csv(data / "train.csv", ["body", "team"], [["a", "billing"], ["b", "billing"]])
        write_csv(data / "test.csv", ["body", "team"], [["c", "billing"]])
    elif case == "label only in test":
        write_csv(data / "test.csv", ["body", "team"], [["c", "billing"], ["d", "refund"]])
    elif case == "other file name":
        (data / "train.csv").rename(data / "tickets.csv")
    elif case == "bad name":
        name = "Tickets"
    elif case == "wide row":
        (data / "train.csv").write_text("body,team\nRefund me, please,billing\nDown,outage\n", encoding="utf-8")
    before = sorted((project / "tasks").iterdir())
    if case == "other file name":
        proc = synthclf("new-task", name, "--train", str(data / "tickets.csv"), "--test", str(data / "test.csv"),
                        *extra, cwd=project)
    else:
        proc = new_task(project, name, *extra, data=data)
    assert message in one_line_error(proc)
    assert sorted((project / "tasks").iterdir()) == before
    if case == "existing":
        assert (project / "tasks" / "tickets.yaml").read_text() == "mine\n"


def test_new_task_needs_the_project_root(tmp_path, project):
    proc = new_task(tmp_path, data=project.parent / "tickets")
    assert "error: no tasks/ folder in" in one_line_error(proc)


# --- status ---------------------------------------------------------------------------------------

DVC_STATUS = {
    "generate@news-zero_shot": [{"changed deps": {"params.yaml": {"generate.per_label": "modified"}}}],
    "generate@news-few_shot": [{"changed deps": {"params.yaml": {"generate.per_label": "modified"}}}],
    "filter@news-zero_shot": [{"changed deps": {"src/synthclf/filters.py": "modified"}},
                              {"changed outs": {"data/filtered/news/zero_shot.jsonl": "deleted"}}],
    "train_real@news": ["changed checksum"],
}
NEVER_RAN = {"generate@news": [{"changed deps": {"in.txt": "modified", "params.yaml": "new"}},
                               {"changed outs": {"out/news.txt": "deleted"}}]}


@pytest.mark.parametrize("llm_judge", [False, True])
def test_stale_stages_are_grouped_and_those_that_ask_the_llm_named(llm_judge):
    stages = stale_by_stage(DVC_STATUS, llm_judge, order=["prepare", "generate", "filter", "train_real"])
    assert list(stages) == ["generate", "filter", "train_real"]
    assert list(stale_by_stage(DVC_STATUS, llm_judge, order=["train_real"])) == ["train_real", "generate", "filter"]
    assert [len(s.runs) for s in stages.values()] == [2, 1, 1]
    assert stages["generate"].params == {"generate.per_label"}
    assert stages["filter"].deps == {"src/synthclf/filters.py"}
    assert stages["filter"].outs == {"data/filtered/news/zero_shot.jsonl"}
    assert stages["train_real"].other == {"changed checksum"}
    assert [s.name for s in stages.values() if s.asks_llm] == ["generate", "filter"][: 1 + llm_judge]
    lines = describe_stale(stages)
    assert lines[0] == "Stale stages (dvc status): 3 stage(s), 4 run(s) that dvc repro would run"
    asking = "generate (2), filter (1)" if llm_judge else "generate (2)"
    assert any(line.startswith(f"Of these, ask the LLM: {asking}.") for line in lines)
    assert describe_stale({}) == ["Stale stages: none (dvc repro has nothing to run)."]
    never_ran = stale_by_stage(NEVER_RAN, llm_judge)["generate"]
    assert (never_ran.params, never_ran.deps, never_ran.outs) == ({"params.yaml"}, {"in.txt"}, {"out/news.txt"})


def test_the_default_cache_is_named_even_before_it_exists(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTHCLF_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)  # no params.yaml here
    folder, origin = cache_dir()
    assert folder == tmp_path / "cache" / "llm" and origin.startswith("the default")
    assert describe_cache(folder, origin)[1] == "  not created yet: no LLM request has been sent with this cache"


STATUS_DVC_YAML = {"stages": {
    "generate": {"matrix": {"task": ["news", "humor"]}, "cmd": "mkdir -p out && cp in.txt out/${item.task}.txt",
                 "deps": ["in.txt"], "params": ["generate.per_label"], "outs": ["out/${item.task}.txt"]},
    "filter": {"cmd": "cat out/news.txt out/humor.txt > filtered.txt", "deps": ["out/news.txt", "out/humor.txt"],
               "params": ["filter.label_check.llm_judge"], "outs": ["filtered.txt"]},
    "train": {"cmd": "cp filtered.txt model.txt", "deps": ["filtered.txt"], "outs": ["model.txt"]},
}}


def test_status_in_a_dvc_repository(tmp_path):
    env = tool_env()
    init_repo(tmp_path, env)
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump(STATUS_DVC_YAML, sort_keys=False))  # dvc.yaml order
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({
        "generate": {"per_label": 8}, "filter": {"label_check": {"llm_judge": True}}, "llm": {"cache_dir": "llm-cache"}}))
    (tmp_path / "in.txt").write_text("x\n")
    (tmp_path / "metrics" / "generate").mkdir(parents=True)
    for name, tokens_in, tokens_out, cost in (("news-zero_shot", 1000, 200, 0.5), ("humor-zero_shot", 500, 100, 0.25)):
        (tmp_path / "metrics" / "generate" / f"{name}.json").write_text(
            json.dumps({"n": 8, "tokens_in": tokens_in, "tokens_out": tokens_out, "cost_usd": cost}))
    (tmp_path / "llm-cache").mkdir()
    with closing(sqlite3.connect(tmp_path / "llm-cache" / "responses.sqlite3")) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE responses (key TEXT PRIMARY KEY, content TEXT)")
        db.executemany("INSERT INTO responses VALUES (?, ?)", [(str(i), "answer") for i in range(3)])
        db.commit()

    proc = synthclf("status", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    stage_lines = {line.split()[0]: line for line in lines if line.startswith("  ") and "run(s)" in line}
    assert set(stage_lines) == {"generate", "filter", "train"}
    assert "2 run(s)" in stage_lines["generate"] and "asks the LLM" in stage_lines["generate"]
    assert "asks the LLM" in stage_lines["filter"]  # llm_judge is on
    assert "asks the LLM" not in stage_lines["train"]
    assert "Of these, ask the LLM: generate (2), filter (1)." in proc.stdout
    assert ("Paid for the synthetic data (metrics/generate/*.json, 2 set(s); what producing each cost): "
            "1,500 tokens in, 300 tokens out, $0.75") in proc.stdout
    cache = next(i for i, line in enumerate(lines) if line.startswith("LLM request cache: "))
    assert lines[cache] == "LLM request cache: llm-cache/responses.sqlite3 (llm.cache_dir in params.yaml)"
    assert lines[cache + 1].endswith(", 3 cached answers")

    run(["dvc", "repro", "-q"], tmp_path, env)
    proc = synthclf("status", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Stale stages: none (dvc repro has nothing to run).")


def test_status_outside_a_project_is_one_line(tmp_path):
    assert one_line_error(synthclf("status", cwd=tmp_path)).startswith("error: no dvc.yaml in ")
