"""Ctrl-C in the middle of `dvc repro`, as a terminal sends it (SIGINT to the whole process group),
while the embedded server is answering: no partial output, a cache that still opens with the
answers paid for so far, and a next `dvc repro` that finishes and reuses them. The stages after
generation write their outputs the same way (atomic renames); repro stops at generation to stay quick."""

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml
from repo_helpers import ROOT, init_repo, run, tool_env
from test_pipeline import PROJECT_FILES, private_cache

from synthclf.llm.cache import ResponseCache

OUTPUT_DIRS = ("data", "metrics", "predictions", "reports")
TARGET = "generate@movie_snippets-zero_shot"


def interrupted_project(tmp_path_factory) -> tuple[Path, dict[str, str], Path]:
    repo = tmp_path_factory.mktemp("interrupted")
    for name in PROJECT_FILES:
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, repo / name)
    params = yaml.safe_load((ROOT / "profiles" / "tiny.yaml").read_text())
    # One task and one method, with enough requests that Ctrl-C lands while they are in flight.
    params.update(tasks=["movie_snippets"], methods=["zero_shot"])
    params["generate"].update(per_label=8, diversity_every=4, replicates=1)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    cache = private_cache(tmp_path_factory)
    env = tool_env(SYNTHCLF_CACHE_DIR=str(cache), PYTHONUNBUFFERED="1")
    init_repo(repo, env)
    return repo, env, cache / "llm"


def cached_answers(llm_cache: Path) -> int:
    if not (llm_cache / "responses.sqlite3").exists():
        return 0
    cache = ResponseCache(llm_cache)
    try:
        return len(cache)
    finally:
        cache.close()


def leftovers(repo: Path) -> list[str]:
    """Temporary files that an interrupted write would leave (atomic writes use '.<name>.*.tmp')."""
    return [str(p.relative_to(repo)) for d in OUTPUT_DIRS if (repo / d).exists()
            for p in (repo / d).rglob("*") if p.name.endswith(".tmp")]


@pytest.mark.slow
def test_ctrl_c_during_generation_then_repro_finishes_with_the_paid_answers(tmp_path_factory):
    repo, env, llm_cache = interrupted_project(tmp_path_factory)
    repro = subprocess.Popen(["dvc", "repro", TARGET], cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, start_new_session=True)
    generating = threading.Event()
    log: list[str] = []

    def watch() -> None:
        assert repro.stdout is not None
        for line in repro.stdout:
            log.append(line)
            if "Running stage 'generate@" in line:
                generating.set()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        assert generating.wait(timeout=300), "".join(log)[-3000:]
        before = cached_answers(llm_cache)  # the attributes stage's answers
        # Generous: on a loaded 2-core machine the first answers took over 2 min (a CI run beside a pipeline).
        deadline = time.monotonic() + 600
        while cached_answers(llm_cache) < before + 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        os.killpg(repro.pid, signal.SIGINT)
        repro.wait(timeout=60)
    finally:
        if repro.poll() is None:
            os.killpg(repro.pid, signal.SIGKILL)
    watcher.join(timeout=10)
    output = "".join(log)

    assert repro.returncode != 0, output[-3000:]
    assert not (repo / "data" / "synthetic" / "movie_snippets" / "zero_shot.jsonl").exists(), output[-3000:]
    assert not list(repo.glob("metrics/generate/*"))
    assert leftovers(repo) == []
    paid = cached_answers(llm_cache) - before
    assert paid >= 2

    run(["dvc", "repro", TARGET], repo, env)
    metrics = json.loads((repo / "metrics" / "generate" / "movie_snippets-zero_shot.json").read_text())
    assert metrics["n"] == 16
    run_log = json.loads((repo / "logs" / "generate" / "movie_snippets-zero_shot.json").read_text())
    assert run_log["cache_hits"] >= paid
    assert leftovers(repo) == []
    assert "Data and pipelines are up to date." in run(["dvc", "status", TARGET], repo, env)
