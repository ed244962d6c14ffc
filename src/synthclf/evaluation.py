"""Scoring a classifier on the real test set, as in the paper: Macro-F1 and accuracy, plus
per-class F1 and, where annotators disagreed, accuracy over items with agreement >= gamma (and the
same over the agreement of sampled LLM labels, where the agreement_proxy stage measured it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

AGREEMENT_GRID = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


# Curves over agreement thresholds: annotators' agreement, and the LLM-label proxy.
AGREEMENT_CURVES = ("accuracy_by_agreement", "accuracy_by_proxy_agreement")


def score(
    y_true: Sequence[str],
    y_pred: Sequence[str],
    labels: Sequence[str],
    agreement: Sequence[float | None] | None = None,
    proxy_agreement: Sequence[float | None] | None = None,
) -> dict[str, Any]:
    labels = list(labels)
    per_class = f1_score(y_true, y_pred, labels=labels, average=None, zero_division=0)
    result: dict[str, Any] = {
        "n_test": len(y_true),
        "macro_f1": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "per_class_f1": {label: float(f) for label, f in zip(labels, per_class)},
    }
    for key, values in zip(AGREEMENT_CURVES, (agreement, proxy_agreement)):
        if values is not None and any(a is not None for a in values):
            result[key] = accuracy_by_agreement(y_true, y_pred, values)
    return result


def combine_seeds(by_seed: Mapping[int, Mapping[str, Any]]) -> dict[str, Any]:
    """The scores of one classifier trained with several seeds: every figure of ``score`` as the mean
    over seeds, the standard deviation (ddof 1; 0 for one seed) of Macro-F1 and accuracy, and each
    seed's Macro-F1 and accuracy."""
    runs = list(by_seed.values())

    def mean(values: Sequence[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return float(np.mean(known)) if known else None

    def spread(key: str) -> float:
        return float(np.std([r[key] for r in runs], ddof=1)) if len(runs) > 1 else 0.0

    combined: dict[str, Any] = {
        "n_test": runs[0]["n_test"],
        "macro_f1": mean([r["macro_f1"] for r in runs]),
        "accuracy": mean([r["accuracy"] for r in runs]),
        "macro_f1_std": spread("macro_f1"),
        "accuracy_std": spread("accuracy"),
        "per_class_f1": {label: mean([r["per_class_f1"][label] for r in runs]) for label in runs[0]["per_class_f1"]},
        "seeds": {str(seed): {k: r[k] for k in ("macro_f1", "accuracy")} for seed, r in by_seed.items()},
    }
    for key in AGREEMENT_CURVES:
        if key in runs[0]:
            combined[key] = {
                gamma: {"n": point["n"], "accuracy": mean([r[key][gamma]["accuracy"] for r in runs])}
                for gamma, point in runs[0][key].items()
            }
    return combined


def accuracy_by_agreement(
    y_true: Sequence[str], y_pred: Sequence[str], agreement: Sequence[float | None], grid: Sequence[float] = AGREEMENT_GRID
) -> dict[str, dict[str, float | int | None]]:
    """Accuracy over the test items whose annotator agreement is at least gamma, for each gamma."""
    has = np.array([a is not None for a in agreement])
    alpha = np.array([a if a is not None else np.nan for a in agreement], dtype=float)
    correct = np.array([t == p for t, p in zip(y_true, y_pred)])
    curve: dict[str, dict[str, float | int | None]] = {}
    for gamma in grid:
        mask = has & (alpha >= gamma - 1e-9)
        n = int(mask.sum())
        curve[f"{gamma:.1f}"] = {"n": n, "accuracy": float(correct[mask].mean()) if n else None}
    return curve
