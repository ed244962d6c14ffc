"""The estimated subjectivity: answers parsed, Bradley-Terry checked on hand-made outcomes with a
known maximum-likelihood answer, the 1-5 mapping, and an oracle judge that must rank tasks right."""

import math

import pytest
from toy_task import TOY_TASK

from synthclf.llm import BadResponse
from synthclf.report import estimated_subjectivity_section
from synthclf.subjectivity import (
    bradley_terry,
    comparisons,
    describe,
    estimate,
    judge_pairs,
    parse_choice,
    to_levels,
)
from synthclf.tasks import Task


def make_task(name: str, level: int, basis: str = "paper") -> Task:
    return Task(**{**TOY_TASK, "name": name, "title": name.title(), "subjectivity": level, "subjectivity_basis": basis})


TASKS = {
    "news": make_task("news", 1),
    "spam": make_task("spam", 2, "reconstructed"),
    "emotion": make_task("emotion", 4, "reconstructed"),
    "humor": make_task("humor", 5),
    "mine": make_task("mine", 3, "analogy"),
}


@pytest.mark.parametrize(
    ("answer", "choice"),
    [("A", "A"), ("**B**.", "B"), ("B) the spam task", "B"), ("Task A is more objective.", "A"),
     ("I think task b, because labels are facts.", "B"), ("\n A", "A")],
)
def test_parse_choice(answer, choice):
    assert parse_choice(answer) == choice


@pytest.mark.parametrize("answer", ["A task about news is objective.", "Both are subjective.", ""])
def test_parse_choice_refuses_answers_without_a_letter(answer):
    with pytest.raises(BadResponse):
        parse_choice(answer)


def test_the_judge_sees_title_first_sentence_and_labels():
    task = make_task("long", 2).model_copy(update={"description": "Sorts news. It has 4 classes!\nMore detail here."})
    assert describe(task) == "Long. Sorts news. Labels: pos, neg."


def test_comparisons_ask_every_ordered_pair():
    pairs = comparisons(["a", "b", "c"], repeats=2)
    assert len(pairs) == 12 and pairs.count(("a", "b")) == pairs.count(("b", "a")) == 2


def test_bradley_terry_matches_the_maximum_likelihood_answer():
    # 3 wins to 1: the maximum-likelihood strengths differ by log 3.
    s = bradley_terry(["x", "y"], [("x", "y")] * 3 + [("y", "x")], alpha=0.0)
    assert s["x"] - s["y"] == pytest.approx(math.log(3), abs=1e-4)
    # A chain of wins orders the items; regularisation keeps an unbeaten item finite.
    s = bradley_terry(["a", "b", "c"], [("a", "b"), ("b", "c"), ("a", "c")])
    assert s["a"] > s["b"] > s["c"] and all(math.isfinite(v) for v in s.values())


def test_to_levels_fits_a_line_to_known_levels_and_clips_to_the_scale():
    levels = to_levels({"x": 2.0, "y": 0.0, "z": 1.0, "w": 3.0}, known={"x": 1, "y": 5})
    assert levels == {"x": pytest.approx(1.0), "y": pytest.approx(5.0), "z": pytest.approx(3.0), "w": 1.0}
    # No known levels to fit: strengths are spread over the scale, the strongest most objective.
    assert to_levels({"x": 2.0, "y": 0.0, "z": 1.0}, known={}) == {"x": 1.0, "y": 5.0, "z": 3.0}


def test_an_oracle_judge_recovers_the_known_order():
    pairs = comparisons(sorted(TASKS), repeats=1)
    # Prefers the task with the lower level, as a perfect judge of the paper's definition would.
    choices = [a if TASKS[a].subjectivity <= TASKS[b].subjectivity else b for a, b in pairs]
    result = estimate(TASKS, pairs, choices, reference=["emotion", "humor", "news", "spam"])
    got = result["tasks"]
    assert [t for t in sorted(got, key=lambda t: got[t]["estimated_level"])] == ["news", "spam", "mine", "emotion", "humor"]
    assert result["vs_known_levels"]["spearman_rho"] == pytest.approx(1.0)
    assert result["position_consistency"] == 1.0
    assert result["answered"] == result["comparisons"] == 20
    assert got["news"]["wins"] == 8 and got["humor"]["wins"] == 0


class AlwaysB:
    """A judge with a position bias: whatever it is shown second wins."""

    model_id = "always-b"

    def __init__(self):
        self.prompts = []

    async def complete(self, messages, *, seed, index, parse=None, cut_ok=False):
        self.prompts.append(messages[-1]["content"])
        return parse("B") if parse else "B"


def test_a_position_biased_judge_cancels_out_when_both_orders_are_asked():
    pairs = comparisons(sorted(TASKS), repeats=1)
    model = AlwaysB()
    choices = judge_pairs(TASKS, pairs, model, seed=0)
    assert choices == [b for _, b in pairs]
    assert model.prompts[0].startswith("Task A: Emotion.") and "Labels: pos, neg." in model.prompts[0]
    result = estimate(TASKS, pairs, choices, reference=["emotion", "humor", "news", "spam"])
    assert result["position_consistency"] == 0.0
    strengths = {t: r["strength"] for t, r in result["tasks"].items()}
    assert max(strengths.values()) - min(strengths.values()) == pytest.approx(0.0, abs=1e-6)


def test_report_section_lists_tasks_from_objective_to_subjective_with_the_run_in_bold():
    pairs = comparisons(sorted(TASKS), repeats=1)
    choices = [a if TASKS[a].subjectivity <= TASKS[b].subjectivity else b for a, b in pairs]
    result = {"model": "judge.gguf", **estimate(TASKS, pairs, choices, reference=["emotion", "humor", "news", "spam"])}
    lines = estimated_subjectivity_section(result, run_tasks={"mine"})
    text = "\n".join(lines)
    assert "The LLM (judge.gguf) compared every ordered pair of 5 tasks" in text
    assert "Spearman ρ = +1.00" in text
    rows = [line for line in lines if line.startswith("| ") and "---" not in line][1:]
    assert [row.split(" | ")[0] for row in rows] == ["| news", "| spam", "| **mine**", "| emotion", "| humor"]
    assert rows[2].startswith("| **mine** | ★★★☆☆ | analogy |")
