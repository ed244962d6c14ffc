"""The LLM-label proxy for annotator agreement: the agreement statistic, the items sampled, the
independent samples per text, and the check against real raters on known values."""

import pytest
from test_prompts_generation import TASK

from synthclf.agreement_proxy import (
    majority_label,
    proxy_agreement,
    sample_items,
    sample_labels,
    summarize,
    versus_annotators,
)


@pytest.mark.parametrize(
    ("answers", "expected"),
    [(["positive"] * 5, 1.0), (["positive", "positive", "negative", None], 2 / 3),
     (["negative", "positive"], 0.5), ([None, "positive"], None), ([], None)],
)
def test_proxy_agreement_is_the_share_naming_the_most_frequent_label(answers, expected):
    assert proxy_agreement(answers) == (None if expected is None else pytest.approx(expected))


def test_majority_label_breaks_ties_by_first_answer():
    assert majority_label(["negative", "positive", "positive", "negative"]) == "negative"
    assert majority_label([None, "positive", "negative", "positive"]) == "positive"
    assert majority_label([None, None]) is None


def test_sample_items_is_seeded_sorted_and_bounded():
    rows = sample_items(50, 10, seed=3)
    assert rows == sorted(rows) and len(set(rows)) == 10 and all(0 <= r < 50 for r in rows)
    assert sample_items(50, 10, seed=3) == rows != sample_items(50, 10, seed=4)
    assert sample_items(7, None, seed=0) == sample_items(7, 100, seed=0) == list(range(7))


class SeedParityModel:
    """Answers by the parity of the request's seed, and remembers every (seed, index) it was asked."""

    model_id = "parity"

    def __init__(self):
        self.asked = []

    async def complete(self, messages, *, seed, index, parse=None, cut=None):
        self.asked.append((seed, index))
        answer = "positive" if seed % 2 else "The label: negative"
        return parse(answer) if parse else answer


def test_each_text_gets_independent_samples_with_distinct_seeds():
    model = SeedParityModel()
    answers = sample_labels(TASK, ["one", "two", "three"], model, seed=0, samples=4)
    assert len(answers) == 3 and all(len(a) == 4 for a in answers)
    assert all(set(a) <= {"positive", "negative"} for a in answers)
    assert len(model.asked) == 12 and len(set(model.asked)) == 12
    # A text's samples differ in seed, so sampling can disagree with itself.
    assert len({seed for seed, index in model.asked if index == 0}) == 4


def test_versus_annotators_on_hand_computed_ranks():
    # Ranks of y with a tie: [1, 2, 3.5, 5, 3.5]; rho = 8 / sqrt(10 * 9.5).
    result = versus_annotators([0.2, 0.4, 0.6, 0.8, 1.0, None], [0.5, 0.6, 0.7, 0.8, 0.7, 0.9])
    assert result["n"] == 5
    assert result["spearman_rho"] == pytest.approx(8 / (10 * 9.5) ** 0.5)
    # tau-b: 8 concordant, 1 discordant, 1 tied in y only: (8 - 1) / sqrt(10 * 9).
    assert result["kendall_tau"] == pytest.approx(7 / 90**0.5)
    assert 0 < result["p_value"] < 1


def test_versus_annotators_without_variation_has_no_correlation():
    result = versus_annotators([1.0, 1.0, 1.0], [0.5, 0.7, 0.9])
    assert result == {"n": 3, "spearman_rho": None, "p_value": None, "kendall_tau": None, "kendall_p": None}


def test_summary_scores_the_majority_label_and_skips_the_check_without_raters():
    rows = [{"agreement": 1.0, "majority": "positive"}, {"agreement": 0.5, "majority": "negative"},
            {"agreement": None, "majority": None}]
    result = summarize(rows, ["positive", "positive", "negative"], [None, None, None], samples=2)
    assert result["items"] == 3 and result["items_with_proxy"] == 2
    assert result["mean_agreement"] == pytest.approx(0.75) and result["majority_accuracy"] == 0.5
    assert result["vs_annotators"] is None
