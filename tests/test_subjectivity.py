"""The estimated subjectivity: answers parsed, Bradley-Terry checked on hand-made outcomes with a
known maximum-likelihood answer, the 1-5 mapping, and fake judges with known answers: a perfect one
(rho = +1), a backwards one (rho = -1, levels reversed) and a coin-tossing one (rho near 0)."""

import math
import random
import re

import pytest
from toy_task import TOY_TASK

from synthclf import correlations
from synthclf.llm import BadResponse
from synthclf.report import estimated_subjectivity_section
from synthclf.subjectivity import (
    bradley_terry,
    comparisons,
    describe,
    estimate,
    judge_pairs,
    parse_choice,
    position_consistency,
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


def test_to_levels_matches_the_known_scale_and_clips_to_it():
    levels = to_levels({"x": 2.0, "y": 0.0, "z": 1.0, "w": 3.0}, known={"x": 1, "y": 5})
    assert levels == {"x": pytest.approx(1.0), "y": pytest.approx(5.0), "z": pytest.approx(3.0), "w": 1.0}
    # No known levels to fit: strengths are spread over the scale, the strongest most objective.
    assert to_levels({"x": 2.0, "y": 0.0, "z": 1.0}, known={}) == {"x": 1.0, "y": 5.0, "z": 3.0}


def test_to_levels_keeps_the_judges_direction_when_it_contradicts_the_known_levels():
    # The judge finds x (level 1) least objective and y (level 5) most: a fitted line would flip its
    # slope and agree; the scale keeps the direction, so the levels come out reversed.
    strengths = {"x": 0.0, "y": 2.0, "z": 1.0, "v": 0.5}
    levels = to_levels(strengths, known={"x": 1, "y": 5, "v": 2})
    assert levels["x"] > levels["v"] > levels["z"] > levels["y"]
    # Never more subjective for a task judged more objective, whatever the known levels.
    for known in ({"x": 1, "y": 5}, {"x": 5, "y": 1}, {"x": 3, "y": 4, "z": 1}):
        got = to_levels(strengths, known)
        assert all(got[a] <= got[b] for a in strengths for b in strengths if strengths[a] > strengths[b])


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

    async def complete(self, messages, *, seed, index, parse=None, cut=None):
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
    # Cells, stripped: a table may come as one multi-line entry, its columns padded.
    rows = [[cell.strip() for cell in line.split("|")[1:-1]]
            for line in text.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert [row[0] for row in rows] == ["news", "spam", "**mine**", "emotion", "humor"]
    assert rows[2][:3] == ["**mine**", "★★★☆☆", "analogy"]


def test_position_consistency_counts_every_repeat():
    pairs = comparisons(["a", "b"], repeats=2)  # (a, b), (a, b), (b, a), (b, a)
    # With a shown first the judge says a, then b; with b first, a twice: 2 of the 4 combinations agree
    # in both cases. Keeping only the last answer of each order said 0.0 for the first, 1.0 for the second.
    assert position_consistency(pairs, ["a", "b", "a", "a"]) == 0.5
    assert position_consistency(pairs, ["b", "a", "a", "a"]) == 0.5
    assert position_consistency(pairs, ["a", "a", "a", None]) == 1.0
    assert position_consistency(pairs, ["a", "a", None, None]) is None


# Ten paper-like tasks, levels with ties as the paper's are; single-word names, so the fake judges can
# read them back from the prompt's titles.
LEVELS = {"news": 1, "relation": 1, "reviews": 2, "spam": 2, "finance": 3, "emotions": 3, "tweets": 4,
          "irony": 4, "sarcasm": 5, "humor": 5}
MANY = {name: make_task(name, level, "paper") for name, level in LEVELS.items()}
_SHOWN = re.compile(r"Task A: (\w+)\..*Task B: (\w+)\.", re.DOTALL)


class LevelJudge:
    """A fake ChatModel that answers from the tasks' catalogued levels: ``prefer(level_a, level_b, rng)``
    says "A" or "B"; ``rng`` is seeded by the request, so answers do not depend on the order of calls."""

    model_id = "level-judge"

    def __init__(self, tasks, prefer):
        self.levels = {task.title: task.subjectivity for task in tasks.values()}
        self.prefer = prefer

    async def complete(self, messages, *, seed, index, parse=None, cut=None):
        a, b = (self.levels[title] for title in _SHOWN.search(messages[-1]["content"]).groups())
        answer = self.prefer(a, b, random.Random(seed))
        return parse(answer) if parse else answer


def perfect(a, b, rng):
    return "A" if a < b or (a == b and rng.random() < 0.5) else "B"


def backwards(a, b, rng):
    return "B" if perfect(a, b, rng) == "A" else "A"


def coin(a, b, rng):
    return rng.choice("AB")


def judged(prefer, seed=0, tasks=MANY, repeats=2):
    pairs = comparisons(sorted(tasks), repeats)
    reference = sorted(t for t, task in tasks.items() if task.subjectivity_basis != "analogy")
    return estimate(tasks, pairs, judge_pairs(tasks, pairs, LevelJudge(tasks, prefer), seed), reference)


def _by_strength(result):
    """Estimated levels from the task judged most objective to the least."""
    rows = result["tasks"]
    return [rows[t]["estimated_level"] for t in sorted(rows, key=lambda t: -rows[t]["strength"])]


def test_a_perfect_judge_agrees_with_the_known_levels():
    result = judged(perfect)
    assert result["vs_known_levels"]["spearman_rho"] == pytest.approx(1.0, abs=0.05)
    assert result["vs_known_levels"]["testable"] and result["vs_known_levels"]["p_value"] < 0.01
    rows = result["tasks"]
    assert rows["news"]["estimated_level"] < rows["reviews"]["estimated_level"] < rows["finance"]["estimated_level"] \
        < rows["tweets"]["estimated_level"] < rows["humor"]["estimated_level"]
    assert _by_strength(result) == sorted(_by_strength(result))


def test_a_backwards_judge_disagrees_and_its_levels_come_out_reversed():
    # The flaw this guards against: a line fitted to the known levels flipped its slope and made an
    # inverted ranking look like agreement.
    result = judged(backwards)
    assert result["vs_known_levels"]["spearman_rho"] == pytest.approx(-1.0, abs=0.05)
    assert result["vs_known_levels"]["kendall_tau"] < -0.8
    rows = result["tasks"]
    assert rows["humor"]["estimated_level"] < rows["tweets"]["estimated_level"] < rows["finance"]["estimated_level"] \
        < rows["reviews"]["estimated_level"] < rows["news"]["estimated_level"]
    # Still a level that falls as the judged objectivity rises.
    assert _by_strength(result) == sorted(_by_strength(result))


def test_an_exactly_backwards_judge_of_distinct_levels_gives_rho_minus_one():
    result = judged(backwards, tasks=TASKS, repeats=1)  # no ties among the levels: an exact answer
    assert result["vs_known_levels"]["spearman_rho"] == pytest.approx(-1.0)
    got = result["tasks"]
    assert sorted(got, key=lambda t: got[t]["estimated_level"]) == ["humor", "emotion", "mine", "spam", "news"]


def test_a_coin_tossing_judge_shows_no_agreement_on_average(monkeypatch):
    # rho itself needs no resampling: fewer resamples only make the 50 estimates quick.
    monkeypatch.setattr(correlations, "SAMPLED_PAIRINGS", 99)
    monkeypatch.setattr(correlations, "BOOTSTRAP_RESAMPLES", 10)
    rhos = [judged(coin, seed, repeats=1)["vs_known_levels"]["spearman_rho"] for seed in range(50)]
    # One rho of ten tasks has a standard deviation of about 1/3, a mean of 50 about 0.05. Under the old
    # least-squares line every judge seemed to agree: coin tosses averaged about +0.3.
    assert abs(sum(rhos) / len(rhos)) < 0.15
    assert min(rhos) < -0.3 and max(rhos) > 0.3
