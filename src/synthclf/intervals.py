"""Scores with their uncertainty: a two-stage bootstrap over test items and training replicates.

A score from one run varies with three things: which texts the LLM happened to write (generation
replicates, or which real subset was drawn), how training went (seeds), and which texts happen to be
in the test set. The point estimate averages over every trained model; the interval resamples the
test items with replacement and, within each resample, the replicates of each source with
replacement (the seeds of one replicate stay together), then takes percentiles.

Two sources scored on the same test items are compared on the *same* resampled items: the
difference's interval then leaves out the test-set noise both share, which is why a paired
comparison can detect a gap that two overlapping intervals would hide. Replicates of different
sources are independent samples and are resampled independently.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

METRICS = ("macro_f1", "accuracy")
# One model's predicted labels for the items of a split; a source's models grouped by replicate.
Predictions = Sequence[str]
Replicates = Sequence[Sequence[Predictions]]


@dataclass(frozen=True)
class Resampled:
    """A statistic's value on the data as observed (``point``) and on every bootstrap resample."""

    point: dict[str, float]
    draws: dict[str, np.ndarray]

    def __sub__(self, other: Resampled) -> Resampled:
        return self.combine(other, np.subtract)

    def combine(self, other: Resampled, op: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Resampled:
        """``op`` applied metric by metric, to the points and to the resamples pair by pair."""
        return Resampled(
            point={k: float(op(np.float64(self.point[k]), np.float64(other.point[k]))) for k in self.point},
            draws={k: op(self.draws[k], other.draws[k]) for k in self.draws},
        )

    def summary(self, level: float) -> dict[str, float | None]:
        """``{metric, metric_low, metric_high}`` per metric: the point and its percentile interval;
        None where undefined (a relative gap where real data is at chance), as JSON has no NaN."""
        tail = 100 * (1 - level) / 2
        out: dict[str, float | None] = {}
        for key, value in self.point.items():
            finite = self.draws[key][np.isfinite(self.draws[key])]
            low, high = np.percentile(finite, [tail, 100 - tail]) if finite.size and np.isfinite(value) else (None, None)
            out.update({key: value if np.isfinite(value) else None,
                        f"{key}_low": None if low is None else float(low), f"{key}_high": None if high is None else float(high)})
        return out


def family_level(level: float, comparisons: int, correction: str) -> float:
    """The level of each of ``comparisons`` intervals that make one family of claims, such that all of
    them hold together at ``level``: with ``"bonferroni"``, 1 - (1 - level) / comparisons.

    A table of m differences each at 95% calls some difference real in about m x 5% of runs where none
    is; two runs then disagree on it. Bonferroni needs no assumption about how the comparisons
    depend on each other, at the price of wider intervals. ``"none"`` keeps ``level`` for each.
    """
    if correction == "none" or comparisons <= 1:
        return level
    if correction != "bonferroni":
        raise ValueError(f"unknown correction {correction!r}: bonferroni or none")
    return 1 - (1 - level) / comparisons


def excludes_zero(summary: Mapping[str, float | None], metric: str = "macro_f1") -> bool:
    """Whether the interval of a difference lies wholly on one side of zero (False if unknown)."""
    low, high = summary.get(f"{metric}_low"), summary.get(f"{metric}_high")
    return low is not None and high is not None and (low > 0 or high < 0)


class ItemResampler:
    """Scores sources on one labelled split, on the observed items and on ``resamples`` bootstrap
    resamples of them, drawn once so that every source is scored on the same resamples."""

    def __init__(self, gold: Sequence[str], labels: Sequence[str], resamples: int, seed: int) -> None:
        if resamples < 1:
            raise ValueError(f"resamples must be at least 1, got {resamples}")
        self.labels = list(labels)
        self._index = {label: i for i, label in enumerate(self.labels)}
        self.gold = self._encode(gold)
        n = len(self.gold)
        self._rng = np.random.default_rng(seed)
        # How often each item occurs in each resample; row 0 of `_all` is the observed data itself.
        counts = self._rng.multinomial(n, np.full(n, 1 / n), size=resamples) if n else np.zeros((resamples, 0))
        self._all = np.vstack([np.ones((1, n)), counts]).astype(np.float64)

    def _encode(self, labels: Sequence[str]) -> np.ndarray:
        try:
            return np.array([self._index[label] for label in labels], dtype=np.int64)
        except KeyError as exc:
            raise ValueError(f"unknown label {exc.args[0]!r}; the task's labels are {self.labels}") from None

    def model_scores(self, predicted: Predictions) -> dict[str, np.ndarray]:
        """Macro-F1 and accuracy of one model on the observed items (index 0) and every resample.

        Macro-F1 as scikit-learn computes it with ``labels`` given and ``zero_division=0``: the mean
        over the task's labels of 2tp / (2tp + fp + fn), 0 for a label neither predicted nor present.
        """
        pred = self._encode(predicted)
        if pred.shape != self.gold.shape:
            raise ValueError(f"{len(pred)} predictions for {len(self.gold)} items")
        k = len(self.labels)
        hit = pred == self.gold
        tp = self._all @ (np.eye(k)[self.gold] * hit[:, None])
        predicted_as = self._all @ np.eye(k)[pred]
        actual = self._all @ np.eye(k)[self.gold]
        denominator = predicted_as + actual
        f1 = np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
        total = self._all.sum(axis=1)
        accuracy = np.divide(self._all @ hit, total, out=np.zeros_like(total), where=total > 0)
        return {"macro_f1": f1.mean(axis=1), "accuracy": accuracy}

    def score(self, replicates: Replicates) -> Resampled:
        """The mean over all models of a source (replicates x seeds) with its bootstrap resamples.

        Within a resample, the replicates are drawn with replacement and each drawn replicate
        contributes the mean of its seeds; a source with one replicate varies with the items only.
        """
        if not replicates or any(not seeds for seeds in replicates):
            raise ValueError("a source needs at least one replicate with at least one model")
        per_replicate = {
            key: np.stack([np.mean([self.model_scores(p)[key] for p in seeds], axis=0) for seeds in replicates], axis=1)
            for key in METRICS
        }  # metric -> (1 + resamples, replicates)
        count = len(replicates)
        drawn = self._rng.integers(count, size=(self._all.shape[0] - 1, count))
        rows = np.arange(drawn.shape[0])[:, None] + 1
        return Resampled(
            point={key: float(values[0].mean()) for key, values in per_replicate.items()},
            draws={key: values[rows, drawn].mean(axis=1) for key, values in per_replicate.items()},
        )


def chance_macro_f1(gold: Sequence[str], labels: Sequence[str]) -> float:
    """The expected Macro-F1 of guessing labels uniformly at random: label c, with share p_c of the
    items, gets precision p_c and recall 1/k, so F1 2 p_c (1/k) / (p_c + 1/k); 1/k when balanced."""
    k = len(labels)
    n = len(gold)
    if not n or not k:
        return 0.0
    shares = [sum(g == label for g in gold) / n for label in labels]
    return float(np.mean([2 * p / k / (p + 1 / k) for p in shares]))


def relative_gap(real: Resampled, synthetic: Resampled, chance: float) -> Resampled:
    """(real - synthetic) / (real - chance) for Macro-F1: the share of the room above chance that
    real data reaches and synthetic data loses. A task whose real classifier is near chance has
    little room to lose, so the absolute gap understates what synthetic data costs there."""

    def ratio(r: np.ndarray, s: np.ndarray) -> np.ndarray:
        room = r - chance
        return np.divide(r - s, room, out=np.full_like(np.asarray(room, dtype=np.float64), np.nan), where=room > 1e-9)

    key = "macro_f1"
    return Resampled(point={key: float(ratio(np.float64(real.point[key]), np.float64(synthetic.point[key])))},
                     draws={key: ratio(real.draws[key], synthetic.draws[key])})
