"""The paper's generation protocol: prompts, the diversity prompt every n outputs, few-shot
examples from the right label, quotas and failure accounting."""

import random

import pytest
from params_helpers import repo_params

from synthclf.errors import SynthclfError
from synthclf.generation import STRIDE, generate_synthetic, plan_chats, resolve_chats_per_label
from synthclf.params import GenerateParams
from synthclf.prompts import DIVERSITY_PROMPT, Conversation, generation_prompt
from synthclf.tasks import Task

TASK = Task.model_validate(
    {
        "name": "toy",
        "title": "Toy sentiment",
        "description": "two labels",
        "subjectivity": 2,
        "subjectivity_basis": "analogy",
        "subjectivity_note": "test",
        "labels": {"positive": "a review that praises the film", "negative": "a review that pans the film"},
        "prompts": {
            "context": "You are a movie reviewer.",
            "generation": "Write a {label} review: {description}. At most {word_limit} words.",
            "word_limit": 20,
        },
        "sources": [{"kind": "local", "path": "nowhere"}],
    }
)


class ScriptedModel:
    """A chat model that answers from a script and records every request: the LLM itself is
    tested against real servers elsewhere; here we test what synthclf asks it."""

    model_id = "scripted"
    last_failure = "scripted failure"

    def __init__(self, fail_every: int = 0, concurrency: int = 4):
        self.requests: list[list[dict]] = []
        self.fail_every = fail_every
        self.concurrency = concurrency

    def retry_unusable_next_run(self):
        return 0

    async def complete(self, messages, *, seed, index, parse=None, cut=None):
        self.requests.append(messages)
        if self.fail_every and len(self.requests) % self.fail_every == 0:
            return None
        return f"reply {len(self.requests)} seed {seed}"


def test_generation_prompt_fills_label_description_and_limit():
    assert generation_prompt(TASK, "negative") == "Write a negative review: a review that pans the film. At most 20 words."


def test_diversity_prompt_every_n_outputs_in_an_ongoing_chat():
    conv = Conversation(TASK, "positive", diversity_every=2, history_turns=10, rng=random.Random(0))
    asked = []
    for i in range(5):
        messages = conv.next_messages()
        asked.append(messages[-1]["content"])
        conv.record_reply(f"out {i}")
    assert [a == DIVERSITY_PROMPT for a in asked] == [False, False, True, False, True]
    final = conv.next_messages()
    # The chat goes on: the model sees all it wrote so far, after the context prompt.
    assert final[0] == {"role": "system", "content": "You are a movie reviewer."}
    assert [m["content"] for m in final if m["role"] == "assistant"] == [f"out {i}" for i in range(5)]


def test_history_window_keeps_the_first_request_naming_the_label():
    conv = Conversation(TASK, "positive", diversity_every=100, history_turns=1, rng=random.Random(0))
    for i in range(4):
        messages = conv.next_messages()
        conv.record_reply(f"out {i}")
    messages = conv.next_messages()
    assistant = [m["content"] for m in messages if m["role"] == "assistant"]
    assert assistant == ["out 0", "out 3"]
    assert "positive" in messages[1]["content"]


def test_few_shot_shows_fresh_examples_of_the_label_with_the_imitation_instruction():
    examples = [f"real positive example {i}" for i in range(10)]
    conv = Conversation(TASK, "positive", diversity_every=100, history_turns=2, rng=random.Random(1), examples=examples, k=3)
    first = conv.next_messages()[-1]["content"]
    conv.next_messages()
    conv.record_reply("x")
    second = conv.next_messages()[-1]["content"]
    for request in (first, second):
        shown = [e for e in examples if e in request]
        assert len(shown) == 3
        assert "do not copy them" in request
    assert first != second


def test_few_shot_history_keeps_the_requests_and_outputs_but_not_old_examples():
    examples = [f"real positive example {i}" for i in range(10)]
    conv = Conversation(TASK, "positive", diversity_every=2, history_turns=2, rng=random.Random(2), examples=examples, k=3)
    for i in range(3):
        conv.next_messages()
        conv.record_reply(f"out {i}")
    messages = conv.next_messages()
    earlier = messages[1:-1]
    assert [m["content"] for m in earlier if m["role"] == "assistant"] == ["out 0", "out 1", "out 2"]
    assert [m["content"] for m in earlier if m["role"] == "user"][2] == DIVERSITY_PROMPT
    assert not any(e in m["content"] for m in earlier for e in examples)
    assert sum(e in messages[-1]["content"] for e in examples) == 3


def test_plan_chats_spreads_quota_exactly():
    plans = plan_chats(["a", "b"], per_label=7, chats_per_label=3)
    assert sum(p.quota for p in plans if p.label == "a") == 7
    assert len({p.chat for p in plans}) == 6


def test_automatic_chats_give_every_concurrency_slot_a_chat():
    auto = repo_params(GenerateParams, replicates=1, per_label=1000, chats_per_label=None)
    assert resolve_chats_per_label(auto, labels=2, concurrency=500) == 250
    assert len(plan_chats(["a", "b"], 1000, 250)) == 500
    # Every replicate's chats run at the same time, so they share the slots.
    assert resolve_chats_per_label(auto.model_copy(update={"replicates": 2}), labels=2, concurrency=500) == 125
    assert resolve_chats_per_label(auto, labels=3, concurrency=8) == 3  # rounded up: no slot left idle
    # Never more chats than outputs per label.
    small = plan_chats(["a", "b"], per_label=100, chats_per_label=resolve_chats_per_label(auto, 2, 500))
    assert len(small) == 200 and {p.quota for p in small} == {1}


def test_generate_plans_automatic_chats_from_the_models_concurrency():
    params = repo_params(GenerateParams, replicates=1, per_label=5, chats_per_label=None)
    records, _ = generate_synthetic(TASK, "zero_shot", ScriptedModel(concurrency=6), params, seed=0)
    assert len({r["request_index"] // STRIDE for r in records}) == 6  # 3 chats for each of 2 labels


def test_explicit_chats_per_label_keeps_todays_plan():
    default = repo_params(GenerateParams)
    assert default.chats_per_label == 4  # the committed runs' data was written in 4 chats per label
    assert resolve_chats_per_label(default, labels=4, concurrency=500) == 4
    # Today's indices (and so the cached answers of earlier runs): chat * 100_000 + turn.
    plans = plan_chats(["a", "b", "c", "d"], 8, 4)
    assert [(p.label, p.chat, p.quota, p.first_index) for p in plans[:5]] == [
        ("a", 0, 2, 0), ("a", 1, 2, 100_000), ("a", 2, 2, 200_000), ("a", 3, 2, 300_000), ("b", 4, 2, 400_000)]
    # A chat of 50,000 outputs may take 100,000 turns: still no collision, still today's indices.
    assert plan_chats(["a", "b"], 50_000, 1)[1].first_index == 100_000


def test_request_indices_stay_unique_beyond_the_old_stride():
    # A chat takes up to 2 x quota turns: past 50,000 outputs the chats move further apart.
    for per_label, chats in ((50_001, 1), (100_001, 1), (1_000_000, 3)):
        plans = plan_chats(["a", "b", "c"], per_label, chats)
        turns = [range(p.first_index, p.first_index + 2 * p.quota) for p in plans]
        assert all(a.stop <= b.start for a, b in zip(turns, turns[1:]))

    class Instant:
        """Answers at once and keeps nothing: 200,002 requests in a few seconds."""

        model_id = "instant"
        last_failure = None
        concurrency = 2

        async def complete(self, messages, *, seed, index, parse=None, cut=None):
            return f"text {index}"  # a chat's repeat would be asked again

        def retry_unusable_next_run(self):
            return 0

    # One chat per label with a quota above the old stride: chat 0's turn 100,000 was chat 1's first.
    params = repo_params(GenerateParams, replicates=1, per_label=STRIDE + 1, chats_per_label=1)
    records, _ = generate_synthetic(TASK, "zero_shot", Instant(), params, seed=0)
    assert len(records) == 2 * (STRIDE + 1) == len({r["request_index"] for r in records})


def test_generate_delivers_exact_counts_and_records():
    params = repo_params(GenerateParams, replicates=1, per_label=5, chats_per_label=2, diversity_every=2)
    model = ScriptedModel()
    records, summary = generate_synthetic(TASK, "zero_shot", model, params, seed=3)
    assert summary["per_label"] == {"negative": 5, "positive": 5}
    assert len(model.requests) == 10
    assert len({r["id"] for r in records}) == 10
    assert len({r["request_index"] for r in records}) == 10
    # Parallel chats open with identical messages, so each request needs its own seed.
    assert len({r["seed"] for r in records}) == 10
    assert {"text", "label", "method", "model", "prompt_sha256", "seed", "request_index"} <= set(records[0])


def test_replicates_are_independent_samples_of_the_same_plan():
    params = repo_params(GenerateParams, replicates=3, per_label=2, chats_per_label=1)
    model = ScriptedModel()
    records, summary = generate_synthetic(TASK, "zero_shot", model, params, seed=0)
    assert summary["per_replicate"] == {"0": 4, "1": 4, "2": 4} and summary["n"] == summary["wanted"] == 12
    by_replicate = {r: [x for x in records if x["replicate"] == r] for r in range(3)}
    assert all(sorted(x["label"] for x in rs) == ["negative", "negative", "positive", "positive"] for rs in by_replicate.values())
    # Each replicate has its own seeds: no request repeats another replicate's, and ids stay unique.
    seeds = [{x["seed"] for x in rs} for rs in by_replicate.values()]
    assert not (seeds[0] & seeds[1]) and not (seeds[1] & seeds[2])
    assert len({x["id"] for x in records}) == 12 and records[0]["id"].startswith("toy-zero_shot-r0-")
    # The same seed gives the same replicates; another seed other ones.
    again, _ = generate_synthetic(TASK, "zero_shot", ScriptedModel(), params, seed=0)
    assert [x["seed"] for x in again] == [x["seed"] for x in records]
    other, _ = generate_synthetic(TASK, "zero_shot", ScriptedModel(), params, seed=1)
    assert not {x["seed"] for x in other} & {x["seed"] for x in records}


def test_failed_requests_are_replaced_and_counted():
    params = repo_params(GenerateParams, replicates=1, per_label=4, chats_per_label=1, max_failure_rate=0.5)
    records, summary = generate_synthetic(TASK, "zero_shot", ScriptedModel(fail_every=3), params, seed=0)
    assert summary["n"] == 8 and summary["failed_requests"] > 0 and summary["lost"] == 0


def test_too_many_failures_stop_the_run():
    params = repo_params(GenerateParams, replicates=1, per_label=4, chats_per_label=1, max_failure_rate=0.1)
    with pytest.raises(SynthclfError, match="max_failure_rate .*; last failure: scripted failure$"):
        generate_synthetic(TASK, "zero_shot", ScriptedModel(fail_every=2), params, seed=0)


def test_few_shot_requires_real_examples_of_every_label():
    params = repo_params(GenerateParams, replicates=1, per_label=1)
    with pytest.raises(SynthclfError, match="negative"):
        generate_synthetic(TASK, "few_shot", ScriptedModel(), params, seed=0, real_train=[{"text": "t", "label": "positive"}])


# --- methods beyond the paper -------------------------------------------------------------------

ATTRIBUTES = {"values": {"positive": {"subtopic": ["acting", "music"], "style": ["terse"]},
                         "negative": {"subtopic": ["plot"], "style": ["sarcastic", "formal"]}}}


def test_attributed_requests_each_ask_for_one_sampled_combination():
    model = ScriptedModel()
    params = repo_params(GenerateParams, replicates=1, per_label=6, chats_per_label=2)
    records, summary = generate_synthetic(TASK, "attributed", model, params, seed=0, attributes=ATTRIBUTES)
    assert summary["per_label"] == {"negative": 6, "positive": 6}
    asked = [m[-1]["content"] for m in model.requests]
    # Independent requests: a system prompt and one user turn, never a chat history.
    assert all(len(m) == 2 and m[0]["role"] == "system" for m in model.requests)
    positive = [a for a in asked if "praises the film" in a]
    assert len(positive) == 6
    assert all("style: terse" in a and ("subtopic: acting" in a or "subtopic: music" in a) for a in positive)
    assert {"subtopic: acting" in a for a in positive} == {True, False}  # both values get drawn


def test_attributed_needs_values_for_every_label():
    with pytest.raises(SynthclfError, match="positive"):
        generate_synthetic(TASK, "attributed", ScriptedModel(), repo_params(GenerateParams, replicates=1, per_label=1), seed=0,
                           attributes={"values": {"negative": {"subtopic": ["plot"]}}})


def test_grounded_requests_show_one_real_text_of_any_label():
    train = [{"text": f"real text number {i}", "label": "positive" if i % 2 else "negative"} for i in range(6)]
    model = ScriptedModel()
    generate_synthetic(TASK, "grounded", model, repo_params(GenerateParams, replicates=1, per_label=5), seed=0, real_train=train)
    for messages in model.requests:
        shown = [r["text"] for r in train if r["text"] in messages[-1]["content"]]
        assert len(shown) == 1
    negative_requests = [m[-1]["content"] for m in model.requests if "pans the film" in m[-1]["content"]]
    # The grounding text is unlabelled material: a negative request may be grounded in a positive text.
    assert any(any(r["text"] in a for r in train if r["label"] == "positive") for a in negative_requests)


def test_grounded_without_real_texts_is_an_error():
    with pytest.raises(SynthclfError, match="grounded"):
        generate_synthetic(TASK, "grounded", ScriptedModel(), repo_params(GenerateParams, replicates=1, per_label=1), seed=0)


def test_unknown_method_names_the_known_ones():
    with pytest.raises(SynthclfError, match="attributed"):
        generate_synthetic(TASK, "paraphrase", ScriptedModel(), repo_params(GenerateParams, replicates=1, per_label=1), seed=0)
