"""A judge apart from the generator: ``judge.llm`` null is the generator, a mapping is merged over
``llm``, and the stages that judge (filter's label check, subjectivity, agreement_proxy) send their
requests to the judge only and name its model in their metrics."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from fake_openai_server import FakeOpenAIServer
from params_helpers import PARAMS_FILE, repo_params
from repo_helpers import ROOT, tool_env
from toy_task import TOY_TASK

from synthclf.errors import SynthclfError
from synthclf.params import HOSTED_CONCURRENCY, JudgeParams, LLMParams, judge_llm, load_params
from synthclf.report import judges_sentence

GENERATOR_KEY = "sk-generator-PLANTED-0123456789abcdef"
JUDGE_KEY = "sk-judge-PLANTED-0123456789abcdef"


# --- Params ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [PARAMS_FILE, ROOT / "profiles" / "tiny.yaml"])
def test_a_null_judge_is_the_generator(path: Path) -> None:
    params = load_params(path)
    assert params.judge.llm is None
    assert judge_llm(params.llm, params.judge) == params.llm


def test_a_judge_mapping_takes_what_it_leaves_out_from_the_generator() -> None:
    llm = repo_params(LLMParams, backend="openai-compatible", base_url="http://generator:8000/v1", model="gen",
                      concurrency=32, prices={"input_per_million": 1.0, "output_per_million": 2.0})
    judge = JudgeParams(llm={"base_url": "http://judge:8000/v1", "model": "judge", "api_key_env": "JUDGE_KEY",
                             "prices": {"output_per_million": 5.0}})
    judging = judge_llm(llm, judge)
    assert (judging.backend, judging.base_url, judging.model, judging.api_key_env) == (
        "openai-compatible", "http://judge:8000/v1", "judge", "JUDGE_KEY")
    # Key by key in a nested section; a concurrency chosen for a server carries over.
    assert (judging.prices.input_per_million, judging.prices.output_per_million) == (1.0, 5.0)
    assert judging.concurrency == 32
    assert judging.model_dump(exclude={"base_url", "model", "api_key_env", "prices"}) == llm.model_dump(
        exclude={"base_url", "model", "api_key_env", "prices"})


def test_a_null_concurrency_follows_the_judges_own_backend() -> None:
    hosted_judge = JudgeParams(llm={"backend": "openai", "model": "gpt-4o-mini"})
    # Three slots on one embedded server: null means 3 for the generator, 8 for a hosted judge.
    embedded = repo_params(LLMParams, backend="local", concurrency=None, local={"parallel": 3, "servers": 1})
    assert (embedded.concurrency, judge_llm(embedded, hosted_judge).concurrency) == (3, HOSTED_CONCURRENCY)
    # A number written for the generator is kept.
    written = repo_params(LLMParams, backend="local", concurrency=5, local={"parallel": 3, "servers": 1})
    assert judge_llm(written, hosted_judge).concurrency == 5
    hosted = repo_params(LLMParams, backend="openai", model="gpt-4o", concurrency=None)
    local_judge = JudgeParams(llm={"backend": "local", "local": {"parallel": 3, "servers": 2}})
    assert judge_llm(hosted, local_judge).concurrency == 6
    assert judge_llm(hosted, JudgeParams(llm={"concurrency": 2})).concurrency == 2


@pytest.mark.parametrize(("judge", "fragments"), [
    ({"modle": "gpt-4o"}, ["judge.llm.modle (merged over llm): Extra inputs are not permitted"]),
    ({"model": ""}, ["judge.llm.model (merged over llm): String should have at least 1 character"]),
    ({"backend": "openai-compatible"}, ["judge.llm (merged over llm)", "needs llm.base_url"]),
])
def test_a_bad_judge_stops_loading_with_one_line_naming_it(tmp_path: Path, judge: dict[str, Any],
                                                            fragments: list[str]) -> None:
    document = yaml.safe_load(PARAMS_FILE.read_text())
    document["judge"]["llm"] = judge
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    with pytest.raises(SynthclfError) as raised:
        load_params(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: field 'judge': ") and "\n" not in message
    for fragment in fragments:
        assert fragment in message


# --- The stages ------------------------------------------------------------------------------------


def write_yaml(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def scratch_project(root: Path, generator: FakeOpenAIServer, judge: FakeOpenAIServer | None) -> Path:
    """Three toy tasks, a synthetic set and a real test set for 'toy', and the tiny profile with the
    generator on ``generator`` and the judge on ``judge`` (None: judge.llm null, the generator judges)."""
    (root / "stages").symlink_to(ROOT / "stages")
    for name, level in (("toy", 2), ("toy2", 3), ("toy3", 4)):
        write_yaml(root / "tasks" / f"{name}.yaml", {**TOY_TASK, "name": name, "subjectivity": level})
    texts = [f"a {word} little example text" for word in ("fine", "bright", "quiet", "gloomy", "sad", "dull")]
    write_jsonl(root / "data/synthetic/toy/zero_shot.jsonl",
                [{"text": text, "label": ("pos", "neg")[i // 3], "replicate": 0} for i, text in enumerate(texts)])
    write_jsonl(root / "data/real/toy/test.jsonl",
                [{"text": f"test text number {i}", "label": ("pos", "neg")[i % 2]} for i in range(6)])
    params = yaml.safe_load((ROOT / "profiles" / "tiny.yaml").read_text())
    params["tasks"], params["methods"] = ["toy"], ["zero_shot"]
    params["llm"].update(backend="openai-compatible", base_url=generator.base_url, model="generator-a",
                         api_key_env="GENERATOR_KEY", timeout_s=5)
    if judge is not None:
        params["judge"]["llm"] = {"base_url": judge.base_url, "model": "judge-b", "api_key_env": "JUDGE_KEY"}
    # The LLM judge only: cleanlab would load an encoder and asks no LLM.
    params["filter"]["label_check"].update(cleanlab=False, llm_judge=True, drop="none")
    params["subjectivity"]["tasks"] = ["toy", "toy2", "toy3"]
    params["agreement_proxy"]["tasks"] = ["toy"]
    write_yaml(root / "params.yaml", params)
    return root


def run_stage(project: Path, stage: str, *args: str) -> str:
    env = tool_env(SYNTHCLF_CACHE_DIR=str(project / "synthclf-cache"), GENERATOR_KEY=GENERATOR_KEY, JUDGE_KEY=JUDGE_KEY)
    proc = subprocess.run([sys.executable, f"stages/{stage}.py", *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def test_the_judging_stages_ask_the_judge_only_and_name_it(tmp_path: Path) -> None:
    with FakeOpenAIServer() as generator, FakeOpenAIServer() as judge:
        project = scratch_project(tmp_path, generator, judge)
        output = "".join([run_stage(project, "filter", "toy", "zero_shot"), run_stage(project, "subjectivity"),
                          run_stage(project, "agreement_proxy", "toy")])
        requests = judge.requests
        assert generator.count == 0
    # 6 label checks, 3 x 2 task comparisons, 3 samples of 6 test texts.
    assert len(requests) == 6 + 6 + 18
    assert {r.body["model"] for r in requests} == {"judge-b"}
    assert {r.headers["authorization"] for r in requests} == {f"Bearer {JUDGE_KEY}"}

    assert read_json(project / "metrics/filter/toy-zero_shot.json")["label_check"]["judge_model"] == "judge-b"
    assert read_json(project / "metrics/subjectivity.json")["model"] == "judge-b"
    assert read_json(project / "metrics/agreement_proxy/toy.json")["model"] == "judge-b"
    # The keys travel as headers only: no output, metric, log, cache row or message holds them.
    for path in (p for p in project.rglob("*") if p.is_file() and not p.is_symlink()):
        assert b"PLANTED" not in path.read_bytes(), path
    assert "PLANTED" not in output


def test_without_a_judge_the_generator_judges(tmp_path: Path) -> None:
    with FakeOpenAIServer() as generator:
        project = scratch_project(tmp_path, generator, judge=None)
        run_stage(project, "subjectivity")
        assert {r.body["model"] for r in generator.requests} == {"generator-a"} and generator.count == 6
    assert read_json(project / "metrics/subjectivity.json")["model"] == "generator-a"


# --- The report ------------------------------------------------------------------------------------


def test_the_report_names_the_judge_and_flags_a_generator_judging() -> None:
    filtering = {"toy/zero_shot": {"label_check": {"judge_model": "judge-b", "llm_judge_flagged": 1}},
                 "toy/few_shot": {"label_check": {"cleanlab_flagged": 2}}}
    estimated, proxies = {"model": "judge-b"}, {"toy": {"model": "gen.gguf"}}
    assert judges_sentence(["gen.gguf"], filtering, estimated, proxies) == (
        " Judge: gen.gguf (agreement proxy; the generator itself), judge-b (label check, subjectivity).")
    assert judges_sentence(["gen.gguf"], {}, None, None) == ""
