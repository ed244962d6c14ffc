"""End to end: `dvc repro` of the tiny profile in a fresh git + DVC repository, against the real
embedded llama.cpp server, then a second `dvc repro` that has nothing to do."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PROJECT_FILES = ["dvc.yaml", "stages", "src", "tasks"]


def _run(cmd, cwd, env):
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def tiny_repo(tmp_path_factory):
    repo = tmp_path_factory.mktemp("pipeline")
    for name in PROJECT_FILES:
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, repo / name)
    params = yaml.safe_load((ROOT / "profiles" / "tiny.yaml").read_text())
    # A private request cache: this test must really talk to the embedded server.
    params["llm"]["cache_dir"] = str(repo.parent / "llm-cache")
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    _run(["git", "init", "-q"], repo, env)
    _run(["dvc", "init", "-q"], repo, env)
    first = _run(["dvc", "repro"], repo, env)
    return repo, env, params, first


@pytest.mark.slow
def test_repro_produces_every_task_and_source(tiny_repo):
    repo, _, params, _ = tiny_repo
    summary = json.loads((repo / "metrics" / "summary.json").read_text())
    assert set(summary["tasks"]) == set(params["tasks"])
    for task in params["tasks"]:
        scores = summary["tasks"][task]["scores"]
        assert set(scores) == {"real", "zero_shot", "few_shot"}
        for source in scores.values():
            for clf in params["train"]["classifiers"]:
                assert 0.0 <= source[clf]["macro_f1"] <= 1.0 and 0.0 <= source[clf]["accuracy"] <= 1.0
    for task in params["tasks"]:
        for method in params["methods"]:
            records = [json.loads(line) for line in (repo / "data" / "synthetic" / task / f"{method}.jsonl").open()]
            assert records and all(r["method"] == method and r["text"] for r in records)
            gen = json.loads((repo / "metrics" / "generate" / f"{task}-{method}.json").read_text())
            assert gen["requests"] > 0 and gen["tokens_out"] > 0
    for task in params["tasks"]:
        diversity = json.loads((repo / "metrics" / "diversity" / f"{task}.json").read_text())
        assert set(diversity) == {"real", *params["methods"]}
        assert summary["tasks"][task]["diversity"] == diversity
        real = diversity["real"]
        assert real["n"] > 1 and 0 < real["remote_clique"] < 2 and 0 < real["chamfer"] <= real["remote_clique"]
        # Cosine similarities, up to rounding.
        assert 0 < real["similarity_to_real"] <= 1 + 1e-9 and 0 < real["distinct_2"] <= 1
        for method in params["methods"]:
            assert diversity[method]["n"] == 0 or abs(diversity[method]["similarity_to_real"]) <= 1 + 1e-9
    report = (repo / "reports" / "report.md").read_text()
    assert "| Task | Subjectivity |" in report
    assert "| Task | Source | Texts | Remote-Clique |" in report
    assert (repo / "reports" / "figures" / "gap_vs_subjectivity.png").stat().st_size > 1000
    assert (repo / "dvc.lock").is_file()


@pytest.mark.slow
def test_second_repro_has_nothing_to_do(tiny_repo):
    repo, env, _, _ = tiny_repo
    out = _run(["dvc", "repro"], repo, env)
    assert "Running stage" not in out
    assert "up to date" in out
    assert "changed" not in _run(["dvc", "status"], repo, env)
