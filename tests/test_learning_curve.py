"""Learning curves on real data with several draws per size, real subsets matched in size to each
synthetic set, real subsets with synthetic sets added, and what a synthetic set is worth."""

import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from params_helpers import repo_params
from test_classifiers import HELD_OUT, LABELS, TEXTS

from synthclf.errors import SynthclfError
from synthclf.intervals import ItemResampler
from synthclf.io import write_jsonl
from synthclf.learning_curve import (
    draw_subset,
    learning_curve,
    matched_comparison,
    mix_gain,
    read_predictions,
    real_examples_worth,
    stratified_order,
    task_learning_curve,
)
from synthclf.params import IntervalParams, TrainParams

TRAIN = [{"text": t, "label": y} for t, y in zip(TEXTS, LABELS)]
TEST = [{"text": t, "label": y} for t, y in HELD_OUT]
NAMES = ["cooking", "sports"]
# Small enough for a quick test, large enough for percentiles that mean something.
RESAMPLES = 300
INTERVALS = IntervalParams(resamples=RESAMPLES, level=0.95, correction="bonferroni")


def curve_params(**learning_curve) -> TrainParams:
    return repo_params(TrainParams, classifiers=["tfidf_lr"], tfidf_lr={"C": 10.0}, seeds=[0],
                       learning_curve={"classifiers": ["tfidf_lr"], **learning_curve})


def test_stratified_order_gives_nested_subsets_with_the_label_proportions():
    labels = ["a"] * 30 + ["b"] * 10
    order = stratified_order(labels, seed=0)
    assert sorted(order) == list(range(40))
    for size, expected in [(4, {"a": 3, "b": 1}), (8, {"a": 6, "b": 2}), (20, {"a": 15, "b": 5})]:
        assert Counter(labels[i] for i in order[:size]) == expected
    assert stratified_order(labels, seed=1) != order


def test_draws_are_stratified_repeatable_and_differ():
    labels = ["a"] * 30 + ["b"] * 10
    first = draw_subset(labels, 8, draw=0, seed=0)
    assert draw_subset(labels, 8, draw=0, seed=0) == first
    assert Counter(labels[i] for i in first) == {"a": 6, "b": 2}
    assert len({frozenset(draw_subset(labels, 8, draw, seed=0)) for draw in range(3)}) == 3
    assert set(draw_subset(labels, 8, draw=0, seed=1)) != set(first)
    # Seeded by (seed, draw, size) together: draw 1 at size 8 is not draw 0 at size 9 cut short.
    assert draw_subset(labels, 8, draw=1, seed=0) != draw_subset(labels, 9, draw=0, seed=0)[:8]


def _exact(f1: float) -> dict[str, float]:
    return {"macro_f1": f1, "macro_f1_low": f1, "macro_f1_high": f1}


@pytest.mark.parametrize(
    ("synthetic", "relation", "n"),
    [(0.65, "about", round(math.sqrt(50 * 100))),
     (0.5, "about", 25),
     (0.45, "fewer than", 25),
     (0.8, "at least", 400),
     (0.9, "at least", 400)],
)
def test_worth_on_a_rising_curve_interpolates_on_a_log_scale(synthetic, relation, n):
    points = [(25, 0.5), (50, 0.6), (100, 0.7), (400, 0.8)]
    worth = real_examples_worth(points, _exact(synthetic))
    assert worth == {"relation": relation, "real_examples": n, "relation_low": relation, "real_examples_low": n,
                     "relation_high": relation, "real_examples_high": n}


def test_worth_follows_the_monotone_fit_not_the_first_crossing_of_a_dipping_curve():
    # Like seinfeld: one lucky draw at 50 rises through the synthetic score, every larger subset and
    # the full real set (400) score below it. The first crossing said "about 28".
    points = [(25, 0.40), (25, 0.42), (25, 0.38), (50, 0.58), (50, 0.45), (50, 0.44),
              (100, 0.45), (100, 0.47), (100, 0.43), (200, 0.44), (200, 0.46), (200, 0.45), (400, 0.47)]
    worth = real_examples_worth(points, {"macro_f1": 0.50, "macro_f1_low": 0.43, "macro_f1_high": 0.56})
    assert (worth["relation"], worth["real_examples"]) == ("at least", 400)
    assert (worth["relation_high"], worth["real_examples_high"]) == ("at least", 400)
    assert worth["relation_low"] == "about" and 25 < worth["real_examples_low"] < 50


def test_worth_on_a_flat_fit():
    # A falling curve fits as one flat level: nothing lies between its smallest and largest size.
    points = [(25, 0.6), (50, 0.55), (100, 0.5)]
    above = real_examples_worth(points, _exact(0.56))
    below = real_examples_worth(points, {"macro_f1": 0.5, "macro_f1_low": 0.4, "macro_f1_high": 0.6})
    assert (above["relation"], above["real_examples"]) == ("at least", 100)
    assert (below["relation"], below["real_examples"]) == ("fewer than", 25)
    assert (below["relation_high"], below["real_examples_high"]) == ("at least", 100)


def test_worth_interval_ends_stay_ordered():
    rng = np.random.default_rng(0)
    sizes = [25, 50, 100, 200, 400]
    for _ in range(200):
        points = [(n, f1) for n in sizes for f1 in rng.uniform(0.3, 0.9, size=3)]
        low, high = sorted(rng.uniform(0.2, 1.0, size=2))
        worth = real_examples_worth(points, {"macro_f1": (low + high) / 2, "macro_f1_low": low, "macro_f1_high": high})
        assert 25 <= worth["real_examples_low"] <= worth["real_examples"] <= worth["real_examples_high"] <= 400


def test_each_size_is_scored_over_its_draws_and_the_run_repeats_itself():
    params = curve_params(sizes=[20, 10, 40, 100], draws=3, mixes=False)

    def run() -> dict:
        return learning_curve(TRAIN, {"test": TEST}, NAMES, params, {}, {}, seed=0, intervals=INTERVALS)

    metrics = run()
    assert metrics == run()
    assert (metrics["n_train"], metrics["draws"], metrics["matched"], metrics["mixed"]) == (40, 3, {}, {})
    curve = metrics["curve"]["tfidf_lr"]
    assert list(curve) == ["10", "20"]  # 40 and 100 are not below the training set
    for point in curve.values():
        assert len(point["draws"]) == 3 and point["macro_f1"] == pytest.approx(np.mean(point["draws"]))
        assert point["macro_f1_low"] <= point["macro_f1"] <= point["macro_f1_high"]
        assert point["accuracy_low"] <= point["accuracy"] <= point["accuracy_high"]


GOLD = ["a", "b"] * 10
HALF_RIGHT = ["a"] * 20  # every "a" right, every "b" wrong


def test_matched_difference_is_real_minus_synthetic_on_the_same_items():
    resampler = ItemResampler(GOLD, ["a", "b"], RESAMPLES, seed=0)
    matched = matched_comparison(resampler, [[GOLD], [GOLD]], [[HALF_RIGHT], [HALF_RIGHT]], size=12, level=0.95,
                                 difference_level=0.95)
    assert matched["size"] == 12
    assert matched["real"]["macro_f1"] == 1.0 and matched["synthetic"]["accuracy"] == 0.5
    difference = matched["difference"]
    assert difference["macro_f1"] == pytest.approx(1.0 - matched["synthetic"]["macro_f1"])
    assert 0 < difference["macro_f1_low"] <= difference["macro_f1"] <= difference["macro_f1_high"]


def test_a_mix_that_changes_no_prediction_gains_exactly_nothing():
    resampler = ItemResampler(GOLD, ["a", "b"], RESAMPLES, seed=0)
    # Draws that differ, so that an unpaired interval would be wide; each mix predicts as its draw.
    by_draw = [[GOLD], [HALF_RIGHT], [["b"] * 20]]
    unchanged = mix_gain(resampler, [[seeds] * 2 for seeds in by_draw], by_draw, level=0.95, gain_level=0.95, seed=0)
    assert unchanged["gain"] == {"level": 0.95, **{key: 0.0 for key in ("macro_f1", "macro_f1_low", "macro_f1_high",
                                                                       "accuracy", "accuracy_low", "accuracy_high")}}
    assert unchanged["macro_f1_low"] < unchanged["macro_f1_high"]
    helped = mix_gain(resampler, [[[GOLD]] * 2 for _ in by_draw], by_draw, level=0.95, gain_level=0.95, seed=0)
    assert helped["macro_f1"] == 1.0 and helped["gain"]["accuracy"] == pytest.approx(1 - np.mean([1.0, 0.5, 0.5]))
    assert helped["gain"]["macro_f1_low"] >= 0


def _write_task(root: Path) -> None:
    """A task folder as the prepare, filter and train stages leave it, with two replicates of
    10 and 12 kept synthetic examples and made-up predictions."""
    real = root / "data" / "real" / "toy"
    write_jsonl(real / "train.jsonl", TRAIN)
    write_jsonl(real / "test.jsonl", TEST)
    write_jsonl(real / "validation.jsonl", TEST[::-1][:3])
    synthetic = [dict(TRAIN[i], replicate=0) for i in range(0, 40, 4)] + [dict(TRAIN[i], replicate=1) for i in range(1, 40, 3)][:12]
    write_jsonl(root / "data" / "filtered" / "toy" / "zero_shot.jsonl", synthetic)
    gold = {"test": [r["label"] for r in TEST], "validation": [r["label"] for r in TEST[::-1][:3]]}
    flip = {"sports": "cooking", "cooking": "sports"}
    rows = {
        # The real model is always right; the synthetic models get the first item wrong.
        "real": [{"split": s, "classifier": "tfidf_lr", "replicate": 0, "seed": 0, "n_train": 40, "predicted": g}
                 for s, g in gold.items()],
        "zero_shot": [{"split": s, "classifier": "tfidf_lr", "replicate": r, "seed": 0, "n_train": 10 + 2 * r,
                       "predicted": [flip[g[0]], *g[1:]]} for s, g in gold.items() for r in (0, 1)],
    }
    for source, source_rows in rows.items():
        write_jsonl(root / "predictions" / "toy" / f"{source}.jsonl", source_rows)


def test_the_stage_compares_size_matched_real_subsets_and_mixes_on_test_and_validation(tmp_path):
    _write_task(tmp_path)
    params = curve_params(sizes=[10, 20], draws=2, mixes=True)

    def run() -> dict:
        return task_learning_curve(tmp_path, "toy", NAMES, ["zero_shot"], params, seed=0, intervals=INTERVALS)

    metrics = run()
    assert json.loads(json.dumps(metrics)) == metrics == run()
    for scores in (metrics, metrics["validation"]):
        assert set(scores) >= {"curve", "matched", "mixed"}
        matched = scores["matched"]["zero_shot"]["tfidf_lr"]
        assert matched["size"] == 11  # the mean of the replicates' 10 and 12 kept examples
        assert set(matched) == {"size", "real", "synthetic", "difference"}
        mixed = scores["mixed"]["zero_shot"]["tfidf_lr"]
        assert list(mixed) == ["10", "20", "40"]  # each curve size and the full real set
        # At full size the mix is compared with the train stage's real models, which make no mistake.
        assert mixed["40"]["gain"]["macro_f1"] == pytest.approx(mixed["40"]["macro_f1"] - 1.0)
        for point in [*mixed.values(), *(p["gain"] for p in mixed.values())]:
            assert point["macro_f1_low"] <= point["macro_f1"] <= point["macro_f1_high"]
        # One method, one classifier: the matched difference is a family of one; the three gains
        # (two curve sizes and the full set) share the 5% among them.
        assert matched["difference"]["level"] == 0.95
        assert [p["gain"]["level"] for p in mixed.values()] == [pytest.approx(1 - 0.05 / 3)] * 3
    assert matched["synthetic"]["accuracy"] == pytest.approx(2 / 3)  # validation: one of three items wrong
    assert len(metrics["curve"]["tfidf_lr"]["10"]["draws"]) == 2


def test_predictions_that_do_not_fit_the_split_are_refused(tmp_path):
    path = tmp_path / "zero_shot.jsonl"
    write_jsonl(path, [{"split": "test", "classifier": "tfidf_lr", "replicate": 0, "seed": 0, "n_train": 9,
                        "predicted": ["sports"] * 3}])
    with pytest.raises(SynthclfError, match="3 predictions for 4 test items"):
        read_predictions(path, ["tfidf_lr"], {"test": 4})
    with pytest.raises(SynthclfError, match="no predictions of tfidf_lr on validation"):
        read_predictions(path, ["tfidf_lr"], {"validation": 4})
