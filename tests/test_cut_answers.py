"""Less waste per example: answers stop near the task's word limit, a cut-off answer keeps its complete
sentences instead of being paid for again, and a chat's word-for-word repeat is asked again at once."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest
from fake_openai_server import FakeOpenAIServer, fake_llm_params
from params_helpers import repo_params
from test_prompts_generation import TASK

from synthclf.answers import complete_sentences
from synthclf.generation import generate_synthetic, generation_sampling
from synthclf.llm import open_llm
from synthclf.params import GenerateParams
from synthclf.prompts import DIVERSITY_PROMPT


@pytest.mark.parametrize(("cut", "kept"), [
    ("Stocks rose on Monday. Markets cheered as the", "Stocks rose on Monday."),
    ("What a film! I laughed and cried and then the", "What a film!"),
    ('He said "stop." Then the', 'He said "stop."'),
    ("Best day ever #blessed\nThis tweet expresses jo", "Best day ever #blessed"),
    ("Wait... what? No way I am going to", "Wait... what?"),
    ("One long sentence that never ends before the cu", ""),
    ("Version 2.0 of the app came out toda", ""),  # a dot inside a word ends no sentence
])
def test_a_cut_answer_keeps_its_complete_sentences(cut: str, kept: str) -> None:
    assert complete_sentences(cut) == kept


def generate(server: FakeOpenAIServer, cache: Path, **changes: object) -> tuple[list[dict], dict]:
    params = fake_llm_params(server, cache, bad_response_retries=1)
    gen = repo_params(GenerateParams, replicates=1, per_label=2, chats_per_label=1, max_failure_rate=1.0, **changes)
    with open_llm(params, generation_sampling(TASK, gen)) as llm:
        records, _ = generate_synthetic(TASK, "zero_shot", llm, gen, seed=0)
    return records, llm.usage.as_dict()


def test_generation_keeps_the_sentences_of_a_cut_answer_without_asking_again(
        server: FakeOpenAIServer, tmp_path: Path) -> None:
    server.fail("length", text="A gripping, tender film. The lead actor gives the perf", match="positive")
    records, usage = generate(server, tmp_path)
    assert "A gripping, tender film." in [r["text"] for r in records]
    assert usage["cut_kept"] == 1 and usage["bad_responses"] == 0
    assert server.count == 4  # two labels x two examples, not one request more


def test_an_answer_cut_inside_its_first_sentence_is_asked_again(server: FakeOpenAIServer, tmp_path: Path) -> None:
    server.fail("length", text="A gripping, tender film whose lead actor gives the perf", match="positive")
    records, usage = generate(server, tmp_path)
    assert all("perf" not in r["text"] for r in records) and len(records) == 4
    assert usage["bad_responses"] == 1 and server.count == 5


def test_a_cut_answer_whose_sentences_are_refused_counts_as_unusable_only(
        server: FakeOpenAIServer, tmp_path: Path) -> None:
    server.fail("length", text="I'm sorry, but I can't help with that request. Here is a film rev", match="positive")
    records, usage = generate(server, tmp_path)
    assert all("sorry" not in r["text"] for r in records) and len(records) == 4
    assert usage["bad_responses"] == 1 and usage["cut_kept"] == 0 and server.count == 5


def test_cut_off_retry_pays_for_a_new_answer_instead(server: FakeOpenAIServer, tmp_path: Path) -> None:
    server.fail("length", text="A gripping, tender film. The lead actor gives the perf", match="positive")
    records, usage = generate(server, tmp_path, cut_off="retry")
    assert "A gripping, tender film." not in [r["text"] for r in records]
    assert usage["bad_responses"] == 1 and usage["cut_kept"] == 0 and server.count == 5


def test_a_chat_that_repeats_itself_is_asked_for_something_more_diverse(
        server: FakeOpenAIServer, tmp_path: Path) -> None:
    # The chat's second answer repeats its first, but for case, quotes and punctuation.
    server.fail("text", text="What a wonderful film!", match="positive")
    server.fail("text", text='"What a WONDERFUL film"', match="positive")
    params = fake_llm_params(server, tmp_path)
    gen = repo_params(GenerateParams, replicates=1, per_label=2, chats_per_label=1, max_failure_rate=1.0)
    with open_llm(params, generation_sampling(TASK, gen)) as llm:
        records, summary = generate_synthetic(TASK, "zero_shot", llm, gen, seed=0)
    positive = [r["text"] for r in records if r["label"] == "positive"]
    assert positive[0] == "What a wonderful film!" and len(set(positive)) == 2 == len(positive)
    assert summary["repeats"] == 1 and llm.usage.bad_responses == 0
    asked = [r.body["messages"][-1]["content"] for r in server.requests if "positive" in r.body["messages"][1]["content"]]
    assert asked[2] == DIVERSITY_PROMPT and DIVERSITY_PROMPT not in asked[:2]


def test_max_tokens_follows_the_task_word_limit_unless_set(server: FakeOpenAIServer, tmp_path: Path) -> None:
    generate(server, tmp_path)
    gen = repo_params(GenerateParams)
    assert {r.body["max_tokens"] for r in server.requests} == {math.ceil(TASK.prompts.word_limit * gen.tokens_per_word)}
    fixed = repo_params(GenerateParams, sampling={"max_tokens": 200})
    assert generation_sampling(TASK, fixed).max_tokens == 200


def test_an_example_ends_at_a_blank_line_and_a_verdict_does_not(server: FakeOpenAIServer, tmp_path: Path) -> None:
    generate(server, tmp_path / "generate")
    assert {tuple(r.body["stop"]) for r in server.requests} == {("\n\n",)}
    judge = repo_params(GenerateParams).sampling.model_copy(update={"max_tokens": 16, "stop": []})
    with open_llm(fake_llm_params(server, tmp_path / "judge"), judge) as llm:
        asyncio.run(llm.complete([{"role": "user", "content": "Which is it?"}], seed=1, index=0))
    assert "stop" not in server.requests[-1].body and server.requests[-1].body["max_tokens"] == 16
