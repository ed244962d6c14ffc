"""The bootstrap behind every interval: checked against scikit-learn and against cases whose answer
is known (coverage of a true accuracy, a zero difference, pairing, replicate spread, chance, the
family-wise error of several differences)."""

import random

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score

from synthclf.intervals import ItemResampler, chance_macro_f1, excludes_zero, family_level, relative_gap

LABELS = ["a", "b", "c"]


def _noisy(gold: list[str], accuracy: float, rng: random.Random) -> list[str]:
    """Predictions right with probability ``accuracy``, otherwise another label at random."""
    return [g if rng.random() < accuracy else rng.choice([x for x in LABELS if x != g]) for g in gold]


@pytest.mark.parametrize("seed", range(5))
def test_observed_scores_equal_scikit_learn(seed):
    rng = random.Random(seed)
    gold = [rng.choice(LABELS[:2]) for _ in range(60)]  # label c never occurs, and is sometimes predicted
    predicted = _noisy(gold, 0.6, rng)
    scores = ItemResampler(gold, LABELS, 10, seed).model_scores(predicted)
    assert scores["macro_f1"][0] == pytest.approx(f1_score(gold, predicted, labels=LABELS, average="macro", zero_division=0))
    assert scores["accuracy"][0] == pytest.approx(accuracy_score(gold, predicted))


def test_the_interval_covers_a_true_accuracy_about_95_times_in_100():
    rng = random.Random(0)
    covered = 0
    runs = 200
    for run in range(runs):
        gold = [rng.choice(LABELS) for _ in range(150)]
        # Each item is right with probability 0.7, so the true accuracy is 0.7.
        summary = ItemResampler(gold, LABELS, 400, run).score([[_noisy(gold, 0.7, rng)]]).summary(0.95)
        covered += summary["accuracy_low"] <= 0.7 <= summary["accuracy_high"]
    assert 0.89 <= covered / runs <= 0.99


def test_a_source_against_itself_differs_by_exactly_zero():
    rng = random.Random(1)
    gold = [rng.choice(LABELS) for _ in range(80)]
    predicted = _noisy(gold, 0.7, rng)
    resampler = ItemResampler(gold, LABELS, 300, 0)
    diff = (resampler.score([[predicted]]) - resampler.score([[predicted]])).summary(0.95)
    assert diff["macro_f1"] == diff["macro_f1_low"] == diff["macro_f1_high"] == 0
    assert not excludes_zero(diff)


def test_pairing_detects_a_small_consistent_difference_that_overlapping_intervals_hide():
    rng = random.Random(2)
    gold = [rng.choice(LABELS) for _ in range(300)]
    worse = _noisy(gold, 0.6, rng)
    # The better model fixes 20 of the worse model's errors and is otherwise identical.
    wrong = [i for i, (g, p) in enumerate(zip(gold, worse)) if g != p][:20]
    better = [gold[i] if i in wrong else p for i, p in enumerate(worse)]
    resampler = ItemResampler(gold, LABELS, 1000, 0)
    a, b = resampler.score([[better]]), resampler.score([[worse]])
    sa, sb = a.summary(0.95), b.summary(0.95)
    assert sa["accuracy_low"] < sb["accuracy_high"]  # the two intervals overlap ...
    diff = (a - b).summary(0.95)
    assert diff["accuracy"] == pytest.approx(20 / 300)
    assert excludes_zero(diff, "accuracy") and excludes_zero(diff)  # ... yet the paired difference is clear


def test_replicates_that_disagree_widen_the_interval():
    rng = random.Random(3)
    gold = [rng.choice(LABELS) for _ in range(200)]
    steady = [_noisy(gold, 0.6, rng)] * 3
    varied = [_noisy(gold, accuracy, rng) for accuracy in (0.3, 0.6, 0.9)]
    resampler = ItemResampler(gold, LABELS, 1000, 0)

    def width(replicates):
        s = resampler.score([[p] for p in replicates]).summary(0.95)
        return s["macro_f1_high"] - s["macro_f1_low"]

    assert width(varied) > 2 * width(steady)


def test_seeds_of_a_replicate_are_averaged_and_the_point_is_the_mean_over_models():
    rng = random.Random(4)
    gold = [rng.choice(LABELS) for _ in range(50)]
    models = [[_noisy(gold, 0.5, rng), _noisy(gold, 0.8, rng)], [_noisy(gold, 0.7, rng), _noisy(gold, 0.6, rng)]]
    point = ItemResampler(gold, LABELS, 100, 0).score(models).point["accuracy"]
    assert point == pytest.approx(np.mean([accuracy_score(gold, p) for seeds in models for p in seeds]))


def test_chance_is_one_over_k_when_balanced_and_matches_guessing_otherwise():
    assert chance_macro_f1(["a", "b", "c"] * 10, LABELS) == pytest.approx(1 / 3)
    gold = ["a"] * 70 + ["b"] * 20 + ["c"] * 10
    rng = np.random.default_rng(0)
    guessed = [f1_score(gold, rng.choice(LABELS, size=len(gold)), labels=LABELS, average="macro", zero_division=0)
               for _ in range(2000)]
    assert chance_macro_f1(gold, LABELS) == pytest.approx(np.mean(guessed), abs=0.01)


def test_relative_gap_is_undefined_where_real_data_is_at_chance():
    gold = ["a", "b", "c"] * 20
    resampler = ItemResampler(gold, LABELS, 200, 0)
    perfect, constant = resampler.score([[gold]]), resampler.score([[["a"] * 60]])
    gap = relative_gap(perfect, constant, chance_macro_f1(gold, LABELS)).summary(0.95)
    assert gap["macro_f1"] == pytest.approx((1 - 1 / 6) / (1 - 1 / 3))
    at_chance = relative_gap(constant, constant, 0.9).summary(0.95)
    assert at_chance == {"macro_f1": None, "macro_f1_low": None, "macro_f1_high": None}


def test_family_level_shares_the_error_among_the_comparisons():
    assert family_level(0.95, 4, "bonferroni") == pytest.approx(0.9875)
    assert family_level(0.95, 1, "bonferroni") == family_level(0.95, 4, "none") == 0.95
    with pytest.raises(ValueError, match="unknown correction 'holm'"):
        family_level(0.95, 4, "holm")


def test_a_family_of_differences_that_are_all_zero_calls_one_real_about_5_times_in_100():
    """Four sources against four others, every one right with probability 0.7 on the same items: no
    true difference. Each interval at 95% on its own lets some difference through in about
    1 - 0.95^4 = 19% of runs; the family's intervals, at 98.75% each, in at most about 5%."""
    rng = random.Random(2)
    runs, comparisons = 150, 4
    any_called = {"bonferroni": 0, "none": 0}
    for run in range(runs):
        gold = [rng.choice(LABELS) for _ in range(150)]
        resampler = ItemResampler(gold, LABELS, 2000, run)
        differences = [resampler.score([[_noisy(gold, 0.7, rng)]]) - resampler.score([[_noisy(gold, 0.7, rng)]])
                       for _ in range(comparisons)]
        for correction in any_called:
            level = family_level(0.95, comparisons, correction)
            any_called[correction] += any(excludes_zero(d.summary(level)) for d in differences)
    assert any_called["bonferroni"] / runs <= 0.09
    assert any_called["none"] / runs >= 0.11


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="unknown label 'z'"):
        ItemResampler(["a", "z"], LABELS, 10, 0)
    with pytest.raises(ValueError, match="2 predictions for 3 items"):
        ItemResampler(["a", "b", "c"], LABELS, 10, 0).model_scores(["a", "b"])
