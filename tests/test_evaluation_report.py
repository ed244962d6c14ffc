import itertools
import random
import re

import pytest
from scipy import stats

from synthclf.correlations import bootstrap_interval, correlation
from synthclf.errors import SynthclfError
from synthclf.evaluation import accuracy_by_agreement, evaluate_sources, score
from synthclf.params import IntervalParams
from synthclf.report import render_report
from synthclf.summary import build_summary
from synthclf.tables import diversity_table, markdown, scores_table


def test_score_matches_hand_computed_values():
    gold = ["a", "a", "b", "b"]
    pred = ["a", "b", "b", "b"]
    s = score(gold, pred, ["a", "b"])
    assert s["accuracy"] == 0.75
    # F1(a) = 2/3, F1(b) = 0.8
    assert s["per_class_f1"]["a"] == pytest.approx(2 / 3)
    assert s["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 2)
    assert "accuracy_by_agreement" not in s


def test_absent_class_counts_as_zero_f1_in_macro_average():
    s = score(["a", "a"], ["a", "a"], ["a", "b"])
    assert s["macro_f1"] == pytest.approx(0.5)


def test_accuracy_by_agreement_uses_items_at_or_above_gamma():
    curve = accuracy_by_agreement(["a", "a", "b", "b"], ["a", "b", "b", "a"], [1.0, 0.6, 0.9, None], grid=(0.5, 0.9, 1.0))
    assert curve["0.5"] == {"n": 3, "accuracy": pytest.approx(2 / 3)}
    assert curve["0.9"] == {"n": 2, "accuracy": 1.0}
    assert curve["1.0"] == {"n": 1, "accuracy": 1.0}


def test_the_llm_label_proxy_gets_its_own_curve_beside_the_annotators():
    gold, pred = ["a", "a", "b", "b"], ["a", "b", "b", "a"]
    s = score(gold, pred, ["a", "b"], agreement=[None] * 4, proxy_agreement=[1.0, 0.6, None, 0.8])
    assert "accuracy_by_agreement" not in s
    assert s["accuracy_by_proxy_agreement"]["0.6"] == {"n": 3, "accuracy": pytest.approx(1 / 3)}
    assert s["accuracy_by_proxy_agreement"]["1.0"] == {"n": 1, "accuracy": 1.0}


@pytest.mark.parametrize(
    ("levels", "key", "p_key", "scipy_statistic"),
    [([1, 2, 3, 4, 5], "spearman_rho", "p_value", stats.spearmanr),
     ([1, 2, 3, 3, 5], "kendall_tau", "kendall_p", stats.kendalltau)],  # tied levels too
)
def test_correlation_equals_scipy_with_an_exact_permutation_p_value(levels, key, p_key, scipy_statistic):
    gaps = [0.01, 0.05, 0.03, 0.2, 0.4]
    got = correlation(levels, gaps)
    assert got[key] == pytest.approx(scipy_statistic(levels, gaps).statistic)
    # Exact two-sided p: the share of the 120 pairings whose |statistic| reaches the observed one.
    null = [scipy_statistic(levels, perm).statistic for perm in itertools.permutations(gaps)]
    assert got[p_key] == pytest.approx(sum(abs(r) >= abs(got[key]) - 1e-12 for r in null) / 120)


def test_correlation_p_value_of_a_perfect_ranking_and_degenerate_input():
    # A perfect ranking of 4 tasks: only it and its reverse reach |rho| = 1, so p = 2/24.
    assert correlation([1, 2, 3, 5], [0.4, 0.3, 0.2, 0.1])["p_value"] == pytest.approx(2 / 24)
    assert correlation([1, 1, 1], [0.1, 0.2, 0.3])["spearman_rho"] is None
    assert correlation([1, 2], [0.1, 0.2])["spearman_rho"] is None


def test_bootstrap_interval_of_rho():
    # Every resample of a perfectly ranked set that can rank at all ranks perfectly.
    assert bootstrap_interval([1, 2, 3, 4, 5], [0.1, 0.2, 0.3, 0.4, 0.5]) == [pytest.approx(1.0), pytest.approx(1.0)]
    levels, gaps = [1, 2, 3, 4, 5, 1], [0.01, 0.05, 0.03, 0.2, 0.4, 0.1]
    got = correlation(levels, gaps)
    low, high = got["spearman_rho_low"], got["spearman_rho_high"]
    assert -1 <= low < stats.spearmanr(levels, gaps).statistic < high <= 1
    # Only constant resamples (one task drawn every time) would be left: no interval.
    assert bootstrap_interval([1], [0.5]) is None


LABELS = ["neg", "pos"]
PARAMS_INTERVALS = IntervalParams(resamples=400, level=0.95, correction="bonferroni")


def _noisy(gold, accuracy, rng):
    return [g if rng.random() < accuracy else ("pos" if g == "neg" else "neg") for g in gold]


def _rows(splits, accuracy, rng, replicates=1):
    """Prediction rows as the train stage writes them: ``accuracy[split]`` per split, one model per replicate."""
    return [{"split": split, "classifier": "enc", "replicate": r, "seed": 0, "n_train": 10,
             "predicted": _noisy([x["label"] for x in records], accuracy[split], rng)}
            for r in range(replicates) for split, records in splits.items()]


def _evaluated(real, zero_shot, few_shot, seed=0):
    rng = random.Random(seed)
    splits = {split: [{"text": f"{split} {i}", "label": LABELS[i % 2]} for i in range(n)]
              for split, n in (("validation", 200), ("test", 300))}
    predictions = {"real": _rows(splits, real, rng), "zero_shot": _rows(splits, zero_shot, rng, 3),
                   "few_shot": _rows(splits, few_shot, rng, 3)}
    return evaluate_sources(splits, predictions, ["zero_shot", "few_shot"], ["enc"], LABELS, PARAMS_INTERVALS, seed)


def test_verdicts_claim_a_gap_only_with_evidence_and_choose_the_method_on_validation():
    evals = {
        # Few-shot is best on validation, zero-shot on test: the verdict must take few-shot.
        "news": _evaluated({"validation": 0.95, "test": 0.95}, {"validation": 0.6, "test": 0.9}, {"validation": 0.9, "test": 0.7}),
        # Synthetic as good as real: no difference can be claimed.
        "humor": _evaluated({"validation": 0.8, "test": 0.8}, {"validation": 0.8, "test": 0.8}, {"validation": 0.5, "test": 0.5}, 1),
        # Real data not detectably above chance: no verdict, whatever the gap.
        "tweets": _evaluated({"validation": 0.55, "test": 0.55}, {"validation": 0.5, "test": 0.5}, {"validation": 0.5, "test": 0.5}, 2),
        # Real data above chance, but by less than 10 points: the relative gap is the one to read.
        "sms": _evaluated({"validation": 0.59, "test": 0.59}, {"validation": 0.5, "test": 0.5}, {"validation": 0.5, "test": 0.5}, 3),
    }
    figures = {"n": 3, "draws": 2, "remote_clique": 0.8, "remote_clique_low": 0.7, "remote_clique_high": 0.9, "chamfer": 0.5,
               "similarity_to_real": 0.6, "distinct_1": 0.7, "distinct_2": None}
    diversity = {t: {"real": figures, "zero_shot": figures, "few_shot": figures} for t in evals}
    methods = ["zero_shot", "few_shot"]
    summary = build_summary({"news": 1, "humor": 5, "tweets": 3, "sms": 2}, evals, methods, ["enc"], diversity)
    news = summary["tasks"]["news"]
    # Each model's own scores, named by its replicate and training seed, for anyone who wants the raw spread.
    assert set(evals["news"]["test"]["scores"]["zero_shot"]["enc"]["by_model"]) == {"r0-s0", "r1-s0", "r2-s0"}
    assert news["best_method"]["enc"] == "few_shot"
    assert news["scores"]["zero_shot"]["enc"]["macro_f1"] > news["scores"]["few_shot"]["enc"]["macro_f1"]
    gap = news["gap"]["few_shot"]["enc"]
    assert gap["macro_f1_low"] > 0.1 and gap["macro_f1"] == pytest.approx(
        news["scores"]["real"]["enc"]["macro_f1"] - news["scores"]["few_shot"]["enc"]["macro_f1"])
    assert summary["tasks"]["humor"]["gap"]["zero_shot"]["enc"]["macro_f1_low"] < 0 < summary["tasks"]["humor"]["gap"]["zero_shot"]["enc"]["macro_f1_high"]
    assert summary["tasks"]["tweets"]["chance_macro_f1"] == pytest.approx(0.5)
    # A share of the room above chance only where real data is detectably above chance.
    assert summary["tasks"]["tweets"]["gap"]["zero_shot"]["enc"]["macro_f1_relative"] is None
    assert 0 < gap["macro_f1_relative_low"] <= gap["macro_f1_relative"] <= gap["macro_f1_relative_high"]
    assert summary["subjectivity_vs_gap"]["zero_shot"]["enc"]["n_tasks"] == 4
    # The two gaps of a task (two methods, one classifier) share the 5%; its one method comparison has it all.
    assert gap["level"] == pytest.approx(0.975) and news["method_differences"]["few_shot - zero_shot"]["enc"]["level"] == 0.95
    assert gap["real_above_chance"] and not summary["tasks"]["tweets"]["gap"]["zero_shot"]["enc"]["real_above_chance"]

    gen = {f"{t}/{m}": {"model": "m.gguf", "wanted": 4, "n": 4, "replicates": 3, "tokens_in": 10, "tokens_out": 5, "cost_usd": 0.0}
           for t in evals for m in methods}
    text = render_report(summary, methods, ["enc"], gen, {}, {"gap": "figures/gap.png"}, {t: "why" for t in evals}, level=0.95)
    section = text.split("## Verdict per task")[1].split("\n## ")[0]
    verdicts = {line.split("**")[1]: line for line in section.splitlines() if line.startswith("- **")}
    assert "Few-shot (chosen over Zero-shot on validation data)" in verdicts["news"]
    assert "synthetic data is worse by" in verdicts["news"]
    assert "no detectable difference at this size" in verdicts["humor"]
    assert "no verdict: the real-data classifier is not detectably above chance (50.0) either" in verdicts["tweets"]
    assert "little room to lose" in verdicts["sms"] and "synthetic data is worse by" in verdicts["sms"]
    assert "97.50% for the 2 real − synthetic gaps" in text
    assert "Generator: m.gguf" in text and "![Gap against subjectivity](figures/gap.png)" in text
    assert "cannot be tested" in text  # 4 tasks: no exact test can reach p < 0.05
    table = scores_table(summary, methods, "enc").splitlines()
    # Rows go from the most objective task to the most subjective one, as in the paper, with intervals.
    assert table[2].startswith("| news ") and table[-1].startswith("| humor ")
    assert re.search(r"\| \d+\.\d \[\d+\.\d, \d+\.\d\] ", table[2])
    rows = diversity_table(summary, methods).splitlines()
    assert "0.800 [0.700, 0.900]" in rows[2] and rows[2] in text


def test_evaluation_refuses_predictions_of_other_data():
    evals_splits = {"validation": [{"text": "v", "label": "pos"}], "test": [{"text": "t", "label": "neg"}] * 3}
    rows = [{"split": s, "classifier": "enc", "replicate": 0, "seed": 0, "n_train": 1, "predicted": ["pos"]} for s in evals_splits]
    with pytest.raises(SynthclfError, match="do not cover the 3 items of the test split"):
        evaluate_sources(evals_splits, {"real": rows}, [], ["enc"], LABELS, PARAMS_INTERVALS, 0)


def test_tables_show_every_cell_as_written_and_right_align_figures():
    table = markdown([{"Task": "news", "ρ": "+0.50", "p": "1.00", "F1": "71.2 [65.0, 77.1]", "Worth": "≥ 400"}]).splitlines()
    # Figures right-aligned, text left; "+0.50" and "1.00" not reprinted as numbers (0.5, 1).
    assert table[1] == "|:-------|------:|-----:|------------------:|--------:|"
    assert table[2] == "| news   | +0.50 | 1.00 | 71.2 [65.0, 77.1] |   ≥ 400 |"
