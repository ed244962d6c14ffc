"""llm.batch: the Batch API as transport, against a local HTTP server that implements it
(tests/fake_openai_server.py: file upload, batch create and status, output and error files)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from fake_openai_server import FakeOpenAIServer, fake_llm_params, reply_for
from params_helpers import PARAMS_FILE, repo_params, repo_sampling

from synthclf.errors import SynthclfError
from synthclf.llm import BadResponse, open_llm
from synthclf.llm.batch import Collector, Fault, Outcome
from synthclf.llm.cache import ResponseCache, request_key
from synthclf.params import LLMParams

BATCH = {"enabled": True, "window_s": 0.5, "poll_s": 0.02}

# A run in a separate process, so that it can be killed (SIGKILL) while its batch is in progress.
CHILD = """
import asyncio, sys
from pathlib import Path
from synthclf.llm import open_llm
from synthclf.params import LLMParams, load_section

base_url, cache_dir, n, params_file = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
params = load_section(LLMParams, "llm", params_file, backend="openai-compatible", model="fake-model", base_url=base_url,
                      cache_dir=cache_dir, timeout_s=5, batch={"enabled": True, "window_s": 0.5, "poll_s": 0.02})
sys.path.insert(0, str(Path(params_file).parent / "tests"))
from params_helpers import repo_sampling

async def main(llm):
    await asyncio.gather(*(llm.complete([{"role": "user", "content": f"item {i}"}], seed=7, index=i) for i in range(n)))

with open_llm(params, repo_sampling()) as llm:
    asyncio.run(main(llm))
"""


def batch_params(server: FakeOpenAIServer, cache_dir: Path, **overrides: Any) -> LLMParams:
    return fake_llm_params(server, cache_dir, batch=BATCH, **overrides)


def chat(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def expected(text: str, seed: int = 7) -> str:
    return reply_for({"messages": chat(text), "seed": seed})


def run_all(params: LLMParams, items: list[str], seed: int = 7, parse: Any = None) -> tuple[list[str | None], dict[str, float]]:
    """Complete every item at once (one round); the answers and the run's usage."""
    with open_llm(params, repo_sampling()) as llm:
        async def main() -> list[str | None]:
            return await asyncio.gather(*(llm.complete(chat(text), seed=seed, index=i, parse=parse)
                                          for i, text in enumerate(items)))
        answers = asyncio.run(main())
    return answers, llm.usage.as_dict()


def key_of(server: FakeOpenAIServer, text: str, index: int, seed: int = 7, attempt: int = 0) -> str:
    identity = {"backend": "openai-compatible", "base_url": server.base_url, "model": "fake-model"}
    return request_key(identity, chat(text), repo_sampling().model_dump(), seed, index, attempt)


def batch_contents(server: FakeOpenAIServer) -> list[list[str]]:
    """The last user message of every line of each batch created, in order."""
    return [sorted(line["body"]["messages"][-1]["content"] for line in server.file_lines(create.body["input_file_id"]))
            for create in server.calls("POST", "batches")]


def test_a_round_goes_as_one_batch_and_lands_in_the_cache(server: FakeOpenAIServer, tmp_path: Path) -> None:
    prices = {"input_per_million": 1_000_000, "output_per_million": 2_000_000}
    params = batch_params(server, tmp_path, prices=prices)
    items = [f"item {i}" for i in range(6)]
    answers, usage = run_all(params, items)

    assert answers == [expected(text) for text in items]
    uploads, creates = server.calls("POST", "files"), server.calls("POST", "batches")
    assert len(uploads) == len(creates) == 1
    assert uploads[0].body["purpose"] == "batch"
    assert creates[0].body["input_file_id"] == uploads[0].body["id"]
    assert creates[0].body["endpoint"] == "/v1/chat/completions" and creates[0].body["completion_window"] == "24h"
    lines = server.file_lines(uploads[0].body["id"])
    assert sorted(line["custom_id"] for line in lines) == sorted(key_of(server, text, i) for i, text in enumerate(items))
    assert all(line["method"] == "POST" and line["url"] == "/v1/chat/completions" for line in lines)
    assert all(line["body"]["model"] == "fake-model" and line["body"]["seed"] == 7 for line in lines)
    assert not server.calls("POST", "completions")  # nothing went synchronously
    assert usage["requests"] == server.count  # upload, create, status checks, download
    # Half the listed price (llm.batch.price_factor), for every token of every answer.
    tokens_out = sum(len(answer.split()) for answer in answers if answer)
    assert usage["tokens_in"] == 2 * len(items) and usage["tokens_out"] == tokens_out
    assert usage["cost_usd"] == pytest.approx(0.5 * (2 * len(items) * 1.0 + tokens_out * 2.0))

    server.reset_count()
    warm, warm_usage = run_all(params, items)
    assert warm == answers
    assert server.count == 0 and warm_usage["requests"] == 0
    assert warm_usage["cache_hits"] == len(items)
    cache = ResponseCache(tmp_path)
    assert cache.batches_holding([line["custom_id"] for line in lines]) == {}  # read back: nothing left to poll
    cache.close()


def test_each_turn_of_every_chat_is_one_round(server: FakeOpenAIServer, tmp_path: Path) -> None:
    chats, turns = 3, 2
    with open_llm(batch_params(server, tmp_path), repo_sampling()) as llm:
        async def one_chat(c: int) -> list[str | None]:
            messages: list[dict[str, str]] = []
            answers = []
            for t in range(turns):
                messages = messages + chat(f"chat {c} turn {t}")
                answer = await llm.complete(messages, seed=c, index=c * 100 + t)
                answers.append(answer)
                messages = messages + [{"role": "assistant", "content": answer or ""}]
            return answers

        async def main() -> list[list[str | None]]:
            return await asyncio.gather(*(one_chat(c) for c in range(chats)))
        answers = asyncio.run(main())

    assert [a[0] for a in answers] == [expected(f"chat {c} turn 0", seed=c) for c in range(chats)]
    assert all(a[1] and a[1].startswith(f"reply to [chat {c} turn 1]") for c, a in enumerate(answers))
    assert batch_contents(server) == [[f"chat {c} turn {t}" for c in range(chats)] for t in range(turns)]


def test_the_same_request_asked_twice_at_once_is_sent_once(server: FakeOpenAIServer, tmp_path: Path) -> None:
    with open_llm(batch_params(server, tmp_path), repo_sampling()) as llm:
        async def main() -> list[str | None]:
            return await asyncio.gather(*(llm.complete(chat("same"), seed=7, index=0) for _ in range(3)))
        answers = asyncio.run(main())
    assert answers == [expected("same")] * 3
    assert batch_contents(server) == [["same"]]


def test_a_killed_run_resumes_polling_the_same_batch(server: FakeOpenAIServer, tmp_path: Path) -> None:
    n = 5
    server.hold_batches(True)
    child = subprocess.Popen([sys.executable, "-c", CHILD, server.base_url, str(tmp_path), str(n), str(PARAMS_FILE)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while len(server.calls("GET", "batches")) < 3 and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    _, stderr = child.communicate()
    assert child.returncode == -signal.SIGKILL, stderr.decode()
    assert len(server.calls("POST", "batches")) == 1
    batch_id = server.calls("GET", "batches")[0].path.rsplit("/", 1)[-1]
    keys = [key_of(server, f"item {i}", i) for i in range(n)]
    cache = ResponseCache(tmp_path)
    assert len(cache) == 0
    assert {b: sorted(k) for b, k in cache.batches_holding(keys).items()} == {batch_id: sorted(keys)}
    cache.close()

    server.hold_batches(False)
    server.reset_count()
    answers, usage = run_all(batch_params(server, tmp_path), [f"item {i}" for i in range(n)])
    assert answers == [expected(f"item {i}") for i in range(n)]
    assert not server.calls("POST", "files") and not server.calls("POST", "batches")  # not paid again
    assert {request.path for request in server.calls("GET", "batches")} == {f"/v1/batches/{batch_id}"}
    assert usage["tokens_out"] > 0

    server.reset_count()
    again, _ = run_all(batch_params(server, tmp_path), [f"item {i}" for i in range(n)])
    assert again == answers and server.count == 0


@pytest.mark.parametrize("outcome", ["failed", "expired", "cancelled"])
def test_a_batch_that_ends_early_is_sent_again(server: FakeOpenAIServer, tmp_path: Path, outcome: str) -> None:
    items = [f"item {i}" for i in range(4)]
    server.batch_outcome(outcome)
    answers, usage = run_all(batch_params(server, tmp_path), items)
    assert answers == [expected(text) for text in items]
    first, second = batch_contents(server)
    assert first == items
    # A failed batch answered nothing; an expired or cancelled one the first half of its lines.
    assert len(second) == (4 if outcome == "failed" else 2)
    assert {line["seed"] for line in server.batch_lines} == {7}  # a transport retry keeps the seed
    assert usage["retries"] == len(second) and usage["failures"] == 0


def test_error_file_and_missing_items_are_retried_or_given_up(server: FakeOpenAIServer, tmp_path: Path) -> None:
    server.fail("500", match="item 1")  # error file, retryable
    server.fail("400", match="item 2")  # error file, the request itself is at fault: not retried
    server.fail("drop", match="item 3")  # in neither file: a partial batch
    server.fail("malformed", match="item 4")  # an output line that is not a chat completion
    items = [f"item {i}" for i in range(5)]
    answers, usage = run_all(batch_params(server, tmp_path), items)
    assert answers == [expected("item 0"), expected("item 1"), None, expected("item 3"), expected("item 4")]
    assert batch_contents(server) == [items, ["item 1", "item 3", "item 4"]]
    assert usage["retries"] == 3 and usage["failures"] == 1


def test_retries_are_bounded(server: FakeOpenAIServer, tmp_path: Path) -> None:
    server.fail("500", times=100, match="doomed")
    answers, usage = run_all(batch_params(server, tmp_path, max_retries=2), ["doomed", "fine"])
    assert answers == [None, expected("fine")]
    assert batch_contents(server) == [["doomed", "fine"], ["doomed"], ["doomed"]]
    assert usage["failures"] == 1 and usage["retries"] == 2


def test_unusable_answers_are_asked_again_with_a_new_seed_in_the_next_round(server: FakeOpenAIServer,
                                                                             tmp_path: Path) -> None:
    def parse(content: str) -> str:
        if content == expected("item 1"):  # the first attempt's answer to item 1 only
            raise BadResponse("not what was asked")
        return content

    server.fail("empty", match="item 0")
    answers, usage = run_all(batch_params(server, tmp_path), ["item 0", "item 1", "item 2"], parse=parse)
    assert batch_contents(server) == [["item 0", "item 1", "item 2"], ["item 0", "item 1"]]
    retry_seeds = {line["messages"][-1]["content"]: line["seed"] for line in server.batch_lines[3:]}
    assert 7 not in retry_seeds.values()
    assert answers == [expected("item 0", retry_seeds["item 0"]), expected("item 1", retry_seeds["item 1"]),
                       expected("item 2")]
    assert usage["bad_responses"] == 2 and usage["failures"] == 0


def test_a_rejected_key_in_a_batch_ends_the_run(server: FakeOpenAIServer, tmp_path: Path) -> None:
    server.fail("401")
    with pytest.raises(SynthclfError, match="API key was rejected"):
        run_all(batch_params(server, tmp_path), ["hello"])


def test_the_local_backend_refuses_batch() -> None:
    with pytest.raises(SynthclfError, match="llm.batch.enabled needs backend"):
        repo_params(LLMParams, backend="local", batch={"enabled": True})


def test_a_caller_that_does_not_ask_holds_a_round_back_for_window_s_at_most() -> None:
    sent: list[list[str]] = []

    async def send(requests: dict[str, dict[str, Any]]) -> dict[str, Outcome]:
        sent.append(sorted(requests))
        return {key: Fault("no server here", False) for key in requests}

    async def main() -> tuple[float, Outcome]:
        collector = Collector(0.2, send)
        collector.enter()
        collector.enter()  # a second caller inside complete() that never asks
        start = time.monotonic()
        outcome = await collector.submit("a", {})
        return time.monotonic() - start, outcome

    waited, outcome = asyncio.run(main())
    assert 0.2 <= waited < 1.0
    assert sent == [["a"]] and outcome == Fault("no server here", False)
