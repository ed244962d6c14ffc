"""Whether a rank correlation over a handful of tasks could be significant at all: the smallest
p-value an exact permutation test can reach, checked against counting the permutations."""

import itertools
import math

import pytest
from scipy import stats

from synthclf.correlations import correlation, min_p_value


def _exact_floor(levels):
    """The smallest two-sided p over every ordering of distinct gaps, by enumeration."""
    gaps = range(len(levels))
    null = [stats.spearmanr(levels, perm).statistic for perm in itertools.permutations(gaps)]
    top = max(abs(r) for r in null)
    return sum(abs(r) >= top - 1e-12 for r in null) / len(null)


@pytest.mark.parametrize("levels", [[1, 2, 3, 5], [1, 2, 3, 4, 5], [1, 1, 3, 5, 5], [1, 2, 2, 2, 4, 5], [2, 2, 4]])
def test_min_p_value_matches_the_permutation_count(levels):
    assert min_p_value(levels) == pytest.approx(_exact_floor(levels))


def test_four_tasks_cannot_show_a_trend():
    got = correlation([1, 2, 3, 5], [0.1, 0.2, 0.3, 0.4])
    # Only the perfect ranking and its reverse reach |rho| = 1: 2 of 4! = 24 orderings.
    assert got["min_p_value"] == pytest.approx(2 / 24) and got["min_p_value"] > 0.05
    assert got["testable"] is False
    # Even a perfect ranking stays at that floor.
    assert got["spearman_rho"] == pytest.approx(1.0) and got["p_value"] == pytest.approx(got["min_p_value"])
    # The paper's ten tasks, with its tied levels, could.
    assert correlation([1, 1, 2, 2, 3, 3, 4, 4, 5, 5], [0.1 * i for i in range(10)])["testable"] is True


def test_ten_distinct_levels_are_testable():
    got = correlation(list(range(1, 11)), [0.3, 0.1, 0.2, 0.5, 0.4, 0.7, 0.6, 0.9, 0.8, 1.0])
    assert got["min_p_value"] == pytest.approx(2 / math.factorial(10)) and got["testable"] is True


def test_the_design_is_reported_even_without_a_correlation():
    # All levels tied: no ordering of the gaps can rank them, so p can never drop below 1.
    got = correlation([3, 3, 3], [0.1, 0.2, 0.3])
    assert got["spearman_rho"] is None and got["min_p_value"] == 1.0 and got["testable"] is False
    assert correlation([1, 2], [0.1, 0.2])["min_p_value"] == 1.0
