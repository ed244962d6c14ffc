"""Answers that hold no example: refusals and meta-answers are retried and never become data, and a run
that failed for unusable answers is not stuck replaying them from the cache."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_openai_server import FakeOpenAIServer, fake_llm_params
from params_helpers import repo_params, repo_sampling
from test_prompts_generation import TASK

from synthclf.answers import refusal_or_meta
from synthclf.errors import SynthclfError
from synthclf.filters import filter_synthetic
from synthclf.generation import generate_synthetic
from synthclf.llm import open_llm
from synthclf.params import FilterParams, GenerateParams

REFUSALS = [
    "I'm sorry, but I can't help with that request.",
    "As an AI language model, I cannot write movie reviews.",
    "I apologize, but I cannot generate content that is offensive.",
    "Sorry, but I can't assist with that.",
    "I cannot fulfill this request.",
    "Unfortunately, I am unable to provide that.",
    '"I\'m sorry, but as an AI I cannot do that."',
    "My apologies, here is another one.",
]
META_ANSWERS = [
    "Here is a headline:",
    "Sure! Here's a tweet:",
    "Headline: Markets rally\nFirst sentence: Stocks rose on Monday.",
    "headline: Storm hits coast first sentence: A storm hit the coast.",
    "Can you provide something more diverse compared to the previously generated data.",
]
EXAMPLES = [
    "I can't believe how good this film was!",
    "I'm sorry for anyone who paid to see this.",
    "Sorry Manchester, you lost again",
    "Here is why the market fell: rates rose sharply.",
    "Headline: Apple unveils new iPhone",
    "I will not watch this director again, what a waste.",
    "Unfortunately the plot never takes off.",
]


@pytest.mark.parametrize("text", REFUSALS + META_ANSWERS)
def test_refusals_and_meta_answers_are_recognised(text: str) -> None:
    assert refusal_or_meta(text)


@pytest.mark.parametrize("text", EXAMPLES)
def test_examples_that_merely_look_alike_are_kept(text: str) -> None:
    assert refusal_or_meta(text) is None


def generate(server: FakeOpenAIServer, cache: Path, **generate_changes: object) -> tuple[list[dict], dict, dict]:
    params = fake_llm_params(server, cache, bad_response_retries=1)
    gen = repo_params(GenerateParams, replicates=1, per_label=2, chats_per_label=1, **generate_changes)
    with open_llm(params, repo_sampling()) as llm:
        records, summary = generate_synthetic(TASK, "zero_shot", llm, gen, seed=0)
    return records, summary, llm.usage.as_dict()


def test_a_refusal_in_plain_text_is_retried_and_never_written(server: FakeOpenAIServer, tmp_path: Path) -> None:
    for text in REFUSALS[:3] + META_ANSWERS[:1]:
        server.fail("text", text=text)
    records, summary, usage = generate(server, tmp_path, max_failure_rate=1.0)
    assert usage["bad_responses"] == 4
    assert summary["n"] == 4
    assert not [r["text"] for r in records if refusal_or_meta(r["text"])]


def test_the_filter_names_a_refusal_that_reaches_it() -> None:
    records = [{"text": t, "label": "positive"} for t in [REFUSALS[0], META_ANSWERS[2], EXAMPLES[0]]]
    kept, counts = filter_synthetic(records, repo_params(FilterParams))
    assert [r["text"] for r in kept] == [EXAMPLES[0]]
    assert counts["removed"]["refusal_or_meta"] == 2


def test_a_run_that_failed_for_unusable_answers_asks_again_with_new_seeds(server: FakeOpenAIServer, tmp_path: Path) -> None:
    server.fail("text", times=1000, text=REFUSALS[0])  # a broken server: every answer a refusal
    # 2 labels x 1 chat x 4 turns (each wanted output may be replaced once), each answered unusably twice.
    with pytest.raises(SynthclfError, match=r"a re-run asks only the 8 request\(s\) whose answers were unusable again"):
        generate(server, tmp_path, max_failure_rate=0.5)
    assert server.count == 16
    first = {(str(r.body["messages"]), r.body["seed"]) for r in server.requests}

    server.clear_faults()  # the server is fixed; the same command runs again
    server.reset_count()
    records, summary, usage = generate(server, tmp_path, max_failure_rate=0.5)
    assert summary["n"] == 4 and usage["requests"] == server.count > 0 and usage["cache_hits"] == 0
    # The same prompts as before, asked with seeds they were not asked with: no cached reject replayed.
    again = {(str(r.body["messages"]), r.body["seed"]) for r in server.requests}
    assert not again & first
    assert {m for m, _ in again} & {m for m, _ in first}

    # That run succeeded, so a third one replays it from the cache: the same data, no request.
    server.reset_count()
    again, _, usage = generate(server, tmp_path, max_failure_rate=0.5)
    assert again == records and server.count == 0 and usage["requests"] == 0
