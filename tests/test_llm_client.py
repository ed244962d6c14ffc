"""The LLM client against a real HTTP server that misbehaves on cue (tests/fake_openai_server.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from fake_openai_server import FakeOpenAIServer, fake_llm_params, reply_for
from params_helpers import repo_params, repo_sampling

from synthclf.errors import SynthclfError
from synthclf.llm import BadResponse, as_is, open_llm
from synthclf.params import LLMParams, Sampling


def chat(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def run_all(params: LLMParams, items: list[str], seed: int = 7, sampling: Sampling | None = None,
            parse: Any = None, cut: Any = None) -> tuple[list[str | None], dict[str, float]]:
    """Complete every item in one run; return the answers and the run's usage."""
    with open_llm(params, sampling or repo_sampling(), progress_total=len(items)) as llm:
        async def main() -> list[str | None]:
            return await asyncio.gather(*(llm.complete(chat(text), seed=seed, index=i, parse=parse, cut=cut)
                                          for i, text in enumerate(items)))
        answers = asyncio.run(main())
    return answers, llm.usage.as_dict()


def expected(text: str, seed: int = 7) -> str:
    return reply_for({"messages": chat(text), "seed": seed})


def test_completions_arrive_through_transport_faults(server: FakeOpenAIServer, tmp_path: Path) -> None:
    items = [f"item {i}" for i in range(6)]
    server.fail("429", match="item 0", retry_after=1)
    server.fail("500", match="item 1")
    server.fail("drop", match="item 2")
    server.fail("hang", match="item 3", hang_s=2.5)  # longer than timeout_s=1
    server.fail("malformed", match="item 4")
    server.fail("500", times=2, match="item 5")

    answers, usage = run_all(fake_llm_params(server, tmp_path), items)

    assert answers == [expected(text) for text in items]
    assert usage["retries"] == 7
    assert usage["failures"] == 0
    assert usage["requests"] == server.count == len(items) + 7


def test_retry_waits_at_least_retry_after(server: FakeOpenAIServer, tmp_path: Path) -> None:
    server.fail("429", retry_after=1)
    answers, usage = run_all(fake_llm_params(server, tmp_path), ["hello"])
    first, second = server.requests
    assert answers == [expected("hello")]
    assert second.at - first.at >= 1.0
    assert usage["retries"] == 1


def test_transport_retries_are_bounded(server: FakeOpenAIServer, tmp_path: Path) -> None:
    server.fail("500", times=100, match="doomed")
    answers, usage = run_all(fake_llm_params(server, tmp_path, max_retries=2), ["doomed", "fine"])
    assert answers == [None, expected("fine")]
    assert server.count == 3 + 1  # the first try and two retries, then the healthy item
    assert usage["failures"] == 1
    assert usage["retries"] == 2


def test_rejected_request_fails_alone_without_retry(server: FakeOpenAIServer, tmp_path: Path) -> None:
    server.fail("400", match="too long")
    answers, usage = run_all(fake_llm_params(server, tmp_path), ["too long", "fine"])
    assert answers == [None, expected("fine")]
    assert server.count == 2
    assert usage["failures"] == 1


@pytest.mark.parametrize("fault", ["empty", "length", "refusal"])
def test_unusable_answer_is_retried_with_a_new_seed(server: FakeOpenAIServer, tmp_path: Path, fault: str) -> None:
    server.fail(fault, times=2)
    answers, usage = run_all(fake_llm_params(server, tmp_path), ["hello"])
    seeds = [request.body["seed"] for request in server.requests]
    assert len(seeds) == 3 and len(set(seeds)) == 3 and seeds[0] == 7
    assert answers == [expected("hello", seed=seeds[2])]
    assert usage["bad_responses"] == 2
    assert usage["failures"] == 0


def test_a_judge_may_read_an_answer_cut_at_max_tokens(server: FakeOpenAIServer, tmp_path: Path) -> None:
    server.fail("length", times=1)
    answers, usage = run_all(fake_llm_params(server, tmp_path), ["verdict"], cut=as_is)
    assert server.count == 1 and usage["bad_responses"] == 0
    assert answers == [expected("verdict")[:10]]  # what came before the cut


def test_unusable_answers_end_in_none_not_an_exception(server: FakeOpenAIServer, tmp_path: Path) -> None:
    server.fail("empty", times=100, match="hopeless")
    params = fake_llm_params(server, tmp_path, bad_response_retries=1)
    answers, usage = run_all(params, ["hopeless", "fine"])
    assert answers == [None, expected("fine")]
    assert server.count == 2 + 1
    assert usage["failures"] == 1
    assert usage["bad_responses"] == 2


def test_parse_can_reject_and_transform(server: FakeOpenAIServer, tmp_path: Path) -> None:
    def parse(content: str) -> str:
        if "seed=7" in content:  # reject the first attempt's answer only
            raise BadResponse("not what was asked")
        return content.upper()

    answers, usage = run_all(fake_llm_params(server, tmp_path), ["hello"], parse=parse)
    retry_seed = server.requests[1].body["seed"]
    assert answers == [expected("hello", seed=retry_seed).upper()]
    assert usage["bad_responses"] == 1


def test_usage_counts_tokens_and_cost(server: FakeOpenAIServer, tmp_path: Path) -> None:
    params = fake_llm_params(server, tmp_path, prices={"input_per_million": 1_000_000, "output_per_million": 2_000_000})
    answers, usage = run_all(params, ["one two three"])
    assert answers[0] is not None
    tokens_out = len(answers[0].split())  # the fake server counts words as tokens
    assert usage["tokens_in"] == 3
    assert usage["tokens_out"] == tokens_out
    assert usage["cost_usd"] == pytest.approx(3 * 1.0 + tokens_out * 2.0)
    assert usage["wall_s"] > 0
    assert set(usage) == {"requests", "cache_hits", "failures", "retries", "bad_responses", "cut_kept", "tokens_in",
                          "tokens_out", "cost_usd", "wall_s"}


def test_concurrency_is_bounded(server: FakeOpenAIServer, tmp_path: Path) -> None:
    server.set_delay(0.1)
    answers, _ = run_all(fake_llm_params(server, tmp_path, concurrency=2), [f"q{i}" for i in range(8)])
    assert all(answers)
    assert server.max_in_flight == 2


def test_requests_per_minute_are_paced(server: FakeOpenAIServer, tmp_path: Path) -> None:
    params = fake_llm_params(server, tmp_path, requests_per_minute=600)  # one request per 0.1 s
    run_all(params, [f"q{i}" for i in range(6)])
    arrivals = sorted(request.at for request in server.requests)
    assert arrivals[-1] - arrivals[0] >= 0.45


def test_tokens_per_minute_are_paced(server: FakeOpenAIServer, tmp_path: Path) -> None:
    # Each request is estimated at max_tokens (10) plus ~8 prompt tokens: ~0.18 s of a 6,000 TPM budget.
    params = fake_llm_params(server, tmp_path, tokens_per_minute=6000)
    run_all(params, [f"q{i}" for i in range(5)], sampling=repo_sampling(max_tokens=10))
    arrivals = sorted(request.at for request in server.requests)
    assert arrivals[-1] - arrivals[0] >= 0.4


def test_a_dead_server_ends_the_run(server: FakeOpenAIServer, tmp_path: Path) -> None:
    server.fail("500", times=1000)
    params = fake_llm_params(server, tmp_path, max_retries=0, concurrency=1)
    with open_llm(params, repo_sampling()) as llm:
        async def main() -> list[str | None]:
            return [await llm.complete(chat(f"q{i}"), seed=0, index=i) for i in range(100)]
        with pytest.raises(SynthclfError, match="in a row failed"):
            asyncio.run(main())
    assert llm.usage.failures == 7  # the eighth failure in a row raised instead
    assert server.count == 8


def test_rejected_key_is_fatal(server: FakeOpenAIServer, tmp_path: Path) -> None:
    server.fail("401")
    with pytest.raises(SynthclfError, match="API key was rejected"):
        run_all(fake_llm_params(server, tmp_path), ["hello"])
    assert server.count == 1


def test_openai_backend_needs_its_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SYNTHCLF_TEST_KEY", raising=False)
    params = repo_params(LLMParams, backend="openai", model="gpt-3.5-turbo", api_key_env="SYNTHCLF_TEST_KEY",
                         cache_dir=str(tmp_path))
    with pytest.raises(SynthclfError, match="SYNTHCLF_TEST_KEY"):
        with open_llm(params, repo_sampling()):
            pass


def test_one_block_can_span_event_loops(server: FakeOpenAIServer, tmp_path: Path) -> None:
    with open_llm(fake_llm_params(server, tmp_path), repo_sampling()) as llm:
        first = asyncio.run(llm.complete(chat("a"), seed=1, index=0))
        second = asyncio.run(llm.complete(chat("b"), seed=1, index=0))
    assert (first, second) == (expected("a", 1), expected("b", 1))


def test_progress_bar_advances_once_per_call(server: FakeOpenAIServer, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    server.fail("empty")
    run_all(fake_llm_params(server, tmp_path), ["a", "b", "c"])
    assert "3/3" in capsys.readouterr().err
