"""Rank correlations for a handful of tasks: Spearman and Kendall with exact permutation p-values
and a bootstrap interval, because with four to ten points the usual approximations mislead, and the
smallest p-value the design can reach at all, because with four tasks no ranking is significant."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy import stats


def _finite_or_none(x: float) -> float | None:
    return None if x is None or math.isnan(x) else float(x)


# Up to this many tasks a p-value enumerates every pairing (7! = 5,040); beyond, it samples them.
EXACT_UP_TO = 7
SAMPLED_PAIRINGS = 4999
BOOTSTRAP_RESAMPLES = 2000
# The conventional level below which a trend counts as shown; only used to say whether it could be.
SIGNIFICANCE = 0.05


def _rho(x: Sequence[float], y: Sequence[float]) -> float:
    return stats.spearmanr(x, y).statistic


def _tau(x: Sequence[float], y: Sequence[float]) -> float:
    return stats.kendalltau(x, y).statistic


def _permutation(levels: Sequence[float], gaps: Sequence[float], statistic: Callable[..., float]) -> Any:
    # Only the gaps are shuffled: that alone visits each of the n! pairings once (shuffling both
    # samples would visit each n! times over).
    return stats.permutation_test(
        (list(gaps),), lambda g: statistic(levels, g), permutation_type="pairings", vectorized=False,
        n_resamples=math.inf if len(levels) <= EXACT_UP_TO else SAMPLED_PAIRINGS, rng=np.random.default_rng(0),
    )


def bootstrap_interval(levels: Sequence[float], gaps: Sequence[float], level: float = 0.95) -> list[float] | None:
    """Percentile bootstrap interval of Spearman's rho, resampling tasks with replacement.

    A resample whose levels or gaps are all equal has no rho and is left out (with four tasks, many
    are), so the interval describes the resamples that can rank at all; None if none can.
    """
    x, y = np.asarray(levels, dtype=float), np.asarray(gaps, dtype=float)
    rng = np.random.default_rng(0)
    rhos = []
    for idx in rng.integers(0, len(x), size=(BOOTSTRAP_RESAMPLES, len(x))):
        if np.ptp(x[idx]) > 0 and np.ptp(y[idx]) > 0:
            rhos.append(_rho(x[idx], y[idx]))
    if not rhos:
        return None
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(rhos, [tail, 100 - tail])
    return [float(low), float(high)]


def min_p_value(levels: Sequence[float]) -> float:
    """The smallest two-sided p an exact permutation test of a rank correlation can give for these
    levels, whatever the gaps. Only pairings that order the gaps exactly along the levels, or exactly
    against them, reach the largest |rho| (and |tau|); inside a group of k tied levels every one of
    the k! orders of its gaps does. So p >= 2 * prod(k!) / n!, reached with distinct gaps (tied gaps
    only raise it): 2/24 = 0.083 for four distinct levels. (Beyond EXACT_UP_TO tasks the p-value is
    sampled, which adds a floor of about 2 / SAMPLED_PAIRINGS.)"""
    tied_orders = math.prod(math.factorial(k) for k in Counter(levels).values())
    return min(1.0, 2 * tied_orders / math.factorial(len(levels)))


def correlation(levels: Sequence[float], gaps: Sequence[float]) -> dict[str, Any]:
    """Spearman's rho and Kendall's tau of subjectivity level against the real-minus-synthetic gap,
    each with a two-sided permutation p-value (with a handful of tasks scipy's t-approximation is far
    off: it gives p = 0 for a perfect ranking of 4 tasks, where the exact p is 2/24), a 95%
    bootstrap interval for rho, and ``min_p_value`` / ``testable``: whether any ranking of this many
    tasks could be significant, so that a report does not read a direction into one that cannot."""
    n = len(levels)
    floor = min_p_value(levels)
    design = {"n_tasks": n, "min_p_value": floor, "testable": floor < SIGNIFICANCE}
    if n < 3 or len(set(levels)) < 2 or len(set(gaps)) < 2:
        return {"spearman_rho": None, "p_value": None, "kendall_tau": None, "kendall_p": None,
                "spearman_rho_low": None, "spearman_rho_high": None, **design}
    rho, tau = _permutation(levels, gaps, _rho), _permutation(levels, gaps, _tau)
    # Scalars beside rho, not a list: dvc metrics diff drops lists, and the PR comment reads them.
    low, high = bootstrap_interval(levels, gaps) or (None, None)
    return {
        "spearman_rho": _finite_or_none(rho.statistic),
        "p_value": _finite_or_none(rho.pvalue),
        "kendall_tau": _finite_or_none(tau.statistic),
        "kendall_p": _finite_or_none(tau.pvalue),
        "spearman_rho_low": low,
        "spearman_rho_high": high,
        **design,
    }
