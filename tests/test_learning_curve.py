"""Learning curves on real data and what a synthetic set is worth on them; scores over seeds."""

import math
from collections import Counter

import pytest
from params_helpers import repo_params
from test_classifiers import HELD_OUT, LABELS, TEXTS

from synthclf.evaluation import combine_seeds
from synthclf.learning_curve import (
    learning_curve,
    real_examples_worth,
    stratified_order,
)
from synthclf.params import TrainParams
from synthclf.report import (
    build_summary,
    mixes_table,
    render_report,
    verdicts,
    worth_table,
)


def test_stratified_order_gives_nested_subsets_with_the_label_proportions():
    labels = ["a"] * 30 + ["b"] * 10
    order = stratified_order(labels, seed=0)
    assert sorted(order) == list(range(40))
    for size, expected in [(4, {"a": 3, "b": 1}), (8, {"a": 6, "b": 2}), (20, {"a": 15, "b": 5})]:
        assert Counter(labels[i] for i in order[:size]) == expected
    assert stratified_order(labels, seed=1) != order


@pytest.mark.parametrize(
    ("synthetic", "expected"),
    [(0.65, {"relation": "about", "real_examples": round(math.sqrt(50 * 100))}),
     (0.5, {"relation": "about", "real_examples": 25}),
     (0.45, {"relation": "fewer than", "real_examples": 25}),
     (0.8, {"relation": "at least", "real_examples": 400}),
     (0.9, {"relation": "at least", "real_examples": 400})],
)
def test_worth_in_real_examples_interpolates_on_a_log_scale(synthetic, expected):
    curve = {25: 0.5, 50: 0.6, 100: 0.7, 400: 0.8}
    assert real_examples_worth(curve, synthetic) == expected


def test_learning_curve_trains_on_each_size_below_the_training_set():
    train = [{"text": t, "label": y} for t, y in zip(TEXTS, LABELS)]
    test = [{"text": t, "label": y} for t, y in HELD_OUT]
    params = repo_params(TrainParams, classifiers=["tfidf_lr"], tfidf_lr={"C": 10.0}, seeds=[0, 1])
    curve = learning_curve(train, test, ["cooking", "sports"], [20, 10, 40, 100], ["tfidf_lr"], params, seed=0)
    assert list(curve["tfidf_lr"]) == ["10", "20"]
    # TF-IDF + LR is deterministic: one model, whatever the seeds.
    assert list(curve["tfidf_lr"]["20"]["seeds"]) == ["0"]
    assert curve["tfidf_lr"]["20"]["accuracy"] == 1.0


def test_combine_seeds_means_and_spreads():
    def run(f1, acc, agree):
        return {"n_test": 4, "macro_f1": f1, "accuracy": acc, "per_class_f1": {"a": f1, "b": acc},
                "accuracy_by_agreement": {"0.5": {"n": 3, "accuracy": agree}}}

    combined = combine_seeds({0: run(0.6, 0.7, 0.5), 1: run(0.8, 0.9, None), 2: run(0.7, 0.8, 1.0)})
    assert combined["macro_f1"] == pytest.approx(0.7) and combined["accuracy"] == pytest.approx(0.8)
    assert combined["macro_f1_std"] == pytest.approx(0.1) and combined["accuracy_std"] == pytest.approx(0.1)
    assert combined["per_class_f1"] == {"a": pytest.approx(0.7), "b": pytest.approx(0.8)}
    assert combined["accuracy_by_agreement"]["0.5"] == {"n": 3, "accuracy": pytest.approx(0.75)}
    assert combined["seeds"]["1"] == {"macro_f1": 0.8, "accuracy": 0.9}
    assert combine_seeds({0: run(0.6, 0.7, 0.5)})["macro_f1_std"] == 0.0


def _eval(f1, std=None):
    scores = {"macro_f1": f1, "accuracy": f1, "seeds": {"0": {}}}
    if std is not None:
        scores.update(macro_f1_std=std, accuracy_std=std, seeds={"0": {}, "1": {}, "2": {}})
    return {"enc": scores}


def test_summary_and_report_say_what_synthetic_data_is_worth():
    evals = {
        "news": {"real": _eval(0.9, 0.01), "zero_shot": _eval(0.65, 0.02), "few_shot": _eval(0.85, 0.03)},
        "humor": {"real": _eval(0.6, 0.02), "zero_shot": _eval(0.59, 0.01), "few_shot": _eval(0.4, 0.05)},
    }
    curves = {
        "news": {"n_train": 400, "curve": {"enc": {"25": {"macro_f1": 0.5}, "50": {"macro_f1": 0.6}, "100": {"macro_f1": 0.7}}}},
        "humor": {"n_train": 400, "curve": {"enc": {"25": {"macro_f1": 0.5}, "100": {"macro_f1": 0.55}}}},
    }
    methods = ["zero_shot", "few_shot"]
    figures = {"n": 3, "remote_clique": 0.8, "chamfer": 0.5, "similarity_to_real": 0.6, "distinct_1": 0.7, "distinct_2": 0.9}
    diversity = {task: {source: figures for source in ["real", *methods]} for task in evals}
    summary = build_summary({"news": 1, "humor": 5}, evals, methods, ["enc"], diversity, curves)
    news = summary["tasks"]["news"]
    assert news["learning_curve"]["enc"] == {"25": 0.5, "50": 0.6, "100": 0.7, "400": 0.9}
    assert news["worth_real_examples"]["zero_shot"]["enc"] == {"relation": "about", "real_examples": 71}
    assert news["worth_real_examples"]["few_shot"]["enc"] == {"relation": "about", "real_examples": round(100 * 4 ** 0.75)}
    table = worth_table(summary, methods, "enc").splitlines()
    assert table[2] == "| news | ★☆☆☆☆ | 400 | ≈ 71 | ≈ 283 |"
    assert table[3] == "| humor | ★★★★★ | 400 | ≈ 303 | < 25 |"
    said = verdicts(summary, methods, "enc")
    assert said[0].startswith("- **news** (★☆☆☆☆): real data 90.0, the best synthetic set (Few-shot) 85.0, 5.0 points lower, "
                              "worth about 283 real examples; synthetic data comes close")
    assert "humor" in said[1] and said[1].endswith("does as well as real data here.")
    text = render_report(summary, methods, ["enc"], {}, {}, {}, {"news": "why", "humor": "why"})
    assert "mean ± standard deviation over 3 seeds" in text
    assert "| news | ★☆☆☆☆ | 90.0 ± 1.0 | 90.0 ± 1.0 | 65.0 ± 2.0 |" in text
    assert "## How many real examples is the synthetic data worth?" in text


def test_verdict_warns_when_the_real_data_classifier_learnt_little():
    evals = {"sitcom": {"real": _eval(0.41), "zero_shot": _eval(0.42)}}
    summary = build_summary({"sitcom": 5}, evals, ["zero_shot"], ["enc"], {"sitcom": {}})
    (said,) = verdicts(summary, ["zero_shot"], "enc")
    assert said.endswith("does as well as real data here (but the real-data classifier itself scores only 41.0: little to lose).")


def test_mixes_add_the_synthetic_set_to_every_subset_and_to_the_full_set():
    train = [{"text": t, "label": y} for t, y in zip(TEXTS, LABELS)]
    test = [{"text": t, "label": y} for t, y in HELD_OUT]
    params = repo_params(TrainParams, classifiers=["tfidf_lr"], tfidf_lr={"C": 10.0})
    # A synthetic set whose every label is wrong outweighs a few real examples and drags them down.
    swapped = [{"text": r["text"], "label": {"sports": "cooking", "cooking": "sports"}[r["label"]]} for r in train]
    real = learning_curve(train, test, ["cooking", "sports"], [4, 100], ["tfidf_lr"], params, seed=0)["tfidf_lr"]
    mixed = learning_curve(train, test, ["cooking", "sports"], [4, 100], ["tfidf_lr"], params, seed=0, added=swapped)["tfidf_lr"]
    assert list(real) == ["4"] and list(mixed) == ["4", "40"]
    assert real["4"]["accuracy"] == 0.75 and mixed["4"]["accuracy"] == 0.0


def test_the_report_shows_real_subsets_with_synthetic_data_added():
    evals = {"news": {"real": _eval(0.9), "zero_shot": _eval(0.65)}}
    curves = {"news": {"n_train": 400, "curve": {"enc": {"25": {"macro_f1": 0.5}}},
                       "mixed": {"zero_shot": {"enc": {"25": {"macro_f1": 0.7}, "400": {"macro_f1": 0.88}}}}}}
    summary = build_summary({"news": 1}, evals, ["zero_shot"], ["enc"], {"news": {}}, curves)
    assert summary["tasks"]["news"]["mixed_curve"] == {"zero_shot": {"enc": {"25": 0.7, "400": 0.88}}}
    table = mixes_table(summary, ["zero_shot"], "enc").splitlines()
    assert table[2:] == ["| news | 25 | 50.0 | 70.0 (+20.0) |", "| news | 400 | 90.0 | 88.0 (-2.0) |"]
    assert mixes_table(build_summary({"news": 1}, evals, ["zero_shot"], ["enc"], {"news": {}}), ["zero_shot"], "enc") is None
