import itertools
import math

import pytest
from scipy import stats

from synthclf.correlations import bootstrap_interval, correlation
from synthclf.evaluation import accuracy_by_agreement, score
from synthclf.report import build_summary, diversity_table, render_report, scores_table


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
    low, high = correlation(levels, gaps)["rho_ci95"]
    assert -1 <= low < stats.spearmanr(levels, gaps).statistic < high <= 1
    # Only constant resamples (one task drawn every time) would be left: no interval.
    assert bootstrap_interval([1], [0.5]) is None


def _scores(f1):
    return {"macro_f1": f1, "accuracy": f1 + 0.01}


def test_summary_gap_and_report_table():
    evals = {
        "news": {"real": {"enc": _scores(0.9)}, "zero_shot": {"enc": _scores(0.8)}},
        "humor": {"real": {"enc": _scores(0.7)}, "zero_shot": {"enc": _scores(0.5)}},
        "tweets": {"real": {"enc": _scores(0.6)}, "zero_shot": {"enc": _scores(0.45)}},
    }
    figures = {"n": 3, "remote_clique": 0.8, "chamfer": 0.5, "similarity_to_real": 0.6, "distinct_1": 0.7, "distinct_2": None}
    diversity = {t: {"real": figures, "zero_shot": figures} for t in evals}
    summary = build_summary({"news": 1, "humor": 5, "tweets": 3}, evals, ["zero_shot"], ["enc"], diversity)
    assert summary["tasks"]["humor"]["gap"]["zero_shot"]["enc"]["macro_f1"] == pytest.approx(0.2)
    assert summary["tasks"]["humor"]["gap"]["zero_shot"]["enc"]["macro_f1_relative"] == pytest.approx(0.2 / 0.7)
    corr = summary["subjectivity_vs_gap"]["zero_shot"]["enc"]
    assert corr["n_tasks"] == 3 and math.isclose(corr["spearman_rho"], 1.0)
    table = scores_table(summary, ["zero_shot"], "enc").splitlines()
    # Rows go from the most objective task to the most subjective one, as in the paper.
    assert table[2].startswith("| news | ★☆☆☆☆ | 90.0 | 91.0 | 80.0 | 81.0 |")
    assert table[-1].startswith("| humor | ★★★★★")
    gen = {f"{t}/zero_shot": {"model": "m.gguf", "wanted": 4, "n": 4, "tokens_in": 10, "tokens_out": 5, "cost_usd": 0.0} for t in evals}
    text = render_report(summary, ["zero_shot"], ["enc"], gen, {}, {"gap": "figures/gap.png"}, {t: "why" for t in evals})
    assert "Generator: m.gguf" in text and "![Gap against subjectivity](figures/gap.png)" in text
    assert "| humor | ★★★★★ | +20.0 (29%) |" in text
    assert "| Zero-shot | enc | +1.00 | 0.33 | [+1.00, +1.00] | +1.00 | 0.33 | 3 |" in text
    assert summary["tasks"]["news"]["diversity"] == diversity["news"]
    rows = diversity_table(summary, ["zero_shot"]).splitlines()
    assert rows[2] == "| news | Real | 3 | 0.800 | 0.500 | 0.600 | 0.700 | – |"
    assert rows[-1].startswith("| humor | Zero-shot |") and rows[2] in text
