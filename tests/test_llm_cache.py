"""The response cache: re-runs are free, interrupted runs resume, and processes share it safely."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from fake_openai_server import FakeOpenAIServer, fake_llm_params, reply_for
from params_helpers import PARAMS_FILE, repo_sampling

from synthclf.errors import SynthclfError
from synthclf.llm import open_llm
from synthclf.llm.cache import CACHE_FILE, ResponseCache, request_key
from synthclf.params import LLMParams, Sampling

# A generation run in a separate process, so it can be killed (SIGKILL) or run beside another one.
CHILD = """
import asyncio, sys
from pathlib import Path
from synthclf.llm import open_llm
from synthclf.params import LLMParams, load_section

base_url, cache_dir, first, last, params_file = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
params = load_section(LLMParams, "llm", params_file, backend="openai-compatible", model="fake-model", base_url=base_url,
                      cache_dir=cache_dir, concurrency=4, timeout_s=5)
sys.path.insert(0, str(Path(params_file).parent / "tests"))
from params_helpers import repo_sampling

async def main(llm):
    answers = await asyncio.gather(*(llm.complete([{"role": "user", "content": f"item {i}"}], seed=7, index=i)
                                     for i in range(first, last)))
    assert all(answers), answers

with open_llm(params, repo_sampling(), progress_total=last - first) as llm:
    asyncio.run(main(llm))
"""


make_params = partial(fake_llm_params, max_retries=2, concurrency=8)


def chat(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def run_items(params: LLMParams, items: range, sampling: Sampling | None = None,
              text: str = "item {}", seed: int = 7) -> tuple[list[str | None], dict[str, float]]:
    with open_llm(params, sampling or repo_sampling()) as llm:
        async def main() -> list[str | None]:
            return await asyncio.gather(*(llm.complete(chat(text.format(i)), seed=seed, index=i) for i in items))
        answers = asyncio.run(main())
    return answers, llm.usage.as_dict()


def start_child(server: FakeOpenAIServer, cache_dir: Path, first: int, last: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", CHILD, server.base_url, str(cache_dir), str(first), str(last), str(PARAMS_FILE)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_cached_rerun_makes_zero_requests(server: FakeOpenAIServer, tmp_path: Path) -> None:
    params = make_params(server, tmp_path)
    cold, cold_usage = run_items(params, range(10))
    assert server.count == cold_usage["requests"] == 10

    server.reset_count()
    warm, warm_usage = run_items(params, range(10))
    assert warm == cold
    assert server.count == 0
    assert warm_usage["requests"] == 0
    assert warm_usage["cache_hits"] == 10
    assert warm_usage["tokens_in"] == warm_usage["tokens_out"] == warm_usage["cost_usd"] == 0


@pytest.mark.parametrize("change", ["prompt", "seed", "index", "temperature", "max_tokens", "model"])
def test_a_changed_input_misses_the_cache(server: FakeOpenAIServer, tmp_path: Path, change: str) -> None:
    params = make_params(server, tmp_path)
    run_items(params, range(3))
    server.reset_count()

    kwargs: dict[str, Any] = {}
    if change == "prompt":
        kwargs["text"] = "item {} (reworded)"
    elif change == "seed":
        kwargs["seed"] = 8
    elif change == "index":
        kwargs["items"] = range(3, 6)
    elif change == "temperature":
        kwargs["sampling"] = repo_sampling(temperature=0.5)
    elif change == "max_tokens":
        kwargs["sampling"] = repo_sampling(max_tokens=64)
    elif change == "model":
        params = make_params(server, tmp_path, model="another-model")
    run_items(params, **{"items": range(3), **kwargs})
    assert server.count == 3


def test_unusable_answers_are_cached_too(server: FakeOpenAIServer, tmp_path: Path) -> None:
    # A bad answer was paid for as well: the re-run must replay the same attempts from the cache.
    server.fail("length", match="item 0")
    params = make_params(server, tmp_path)
    cold, _ = run_items(params, range(2))
    server.reset_count()
    warm, usage = run_items(params, range(2))
    assert warm == cold and all(warm)
    assert server.count == 0
    assert usage["cache_hits"] == 3


def test_killed_run_resumes_with_only_the_missing_requests(server: FakeOpenAIServer, tmp_path: Path) -> None:
    total = 40
    server.set_delay(0.05)
    child = start_child(server, tmp_path, 0, total)
    deadline = time.monotonic() + 30
    while server.count < 12 and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL

    cache = ResponseCache(tmp_path)
    stored = len(cache)
    cache.close()
    assert 0 < stored < total

    server.set_delay(0)
    server.reset_count()
    answers, usage = run_items(make_params(server, tmp_path, timeout_s=10), range(total))
    assert answers == [reply_for({"messages": chat(f"item {i}"), "seed": 7}) for i in range(total)]
    assert server.count == usage["requests"] == total - stored
    assert usage["cache_hits"] == stored


def test_two_processes_share_one_cache(server: FakeOpenAIServer, tmp_path: Path) -> None:
    # Overlapping ranges: both processes write, and some keys are written by both.
    children = [start_child(server, tmp_path, 0, 60), start_child(server, tmp_path, 30, 90)]
    for child in children:
        _, err = child.communicate(timeout=60)
        assert child.returncode == 0, err.decode()

    with sqlite3.connect(tmp_path / CACHE_FILE) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT COUNT(*) FROM responses").fetchone() == (90,)

    server.reset_count()
    answers, _ = run_items(make_params(server, tmp_path), range(90))
    assert all(answers)
    assert server.count == 0


def test_request_key_is_canonical() -> None:
    model = {"backend": "local", "gguf_sha256": "ab" * 32}
    sampling = {"temperature": 1.0, "top_p": 1.0, "max_tokens": 128}
    messages = [{"role": "user", "content": "hi"}]
    key = request_key(model, messages, sampling, seed=1, index=0, attempt=0)
    assert key == request_key(dict(reversed(model.items())), [{"content": "hi", "role": "user"}],
                              dict(reversed(sampling.items())), seed=1, index=0, attempt=0)
    assert key != request_key(model, messages, sampling, seed=1, index=0, attempt=1)
    assert len(key) == 64


def test_a_file_that_is_not_a_cache_is_reported(tmp_path: Path) -> None:
    (tmp_path / CACHE_FILE).write_bytes(os.urandom(4096))
    with pytest.raises(SynthclfError, match="LLM response cache"):
        ResponseCache(tmp_path)
