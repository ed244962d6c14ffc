"""Scoring a classifier on the real test set, as in the paper: Macro-F1 and accuracy, plus
per-class F1 and, where annotators disagreed, accuracy over items with agreement >= gamma (and the
same over the agreement of sampled LLM labels, where the agreement_proxy stage measured it)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

from synthclf.errors import SynthclfError
from synthclf.intervals import ItemResampler, chance_macro_f1, family_level, relative_gap
from synthclf.params import IntervalParams
from synthclf.replicates import predictions_by_replicate

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


def mean_scores(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Per-class F1 and the agreement curves of several models (replicates x seeds) of one source,
    each figure as the mean over the models."""

    def mean(values: Sequence[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return float(np.mean(known)) if known else None

    combined: dict[str, Any] = {
        "per_class_f1": {label: mean([r["per_class_f1"][label] for r in runs]) for label in runs[0]["per_class_f1"]},
    }
    for key in AGREEMENT_CURVES:
        if key in runs[0]:
            combined[key] = {
                gamma: {"n": point["n"], "accuracy": mean([r[key][gamma]["accuracy"] for r in runs])}
                for gamma, point in runs[0][key].items()
            }
    return combined


def grouped_predictions(rows: Iterable[Mapping[str, Any]], split: str, classifier: str) -> list[list[list[str]]]:
    """The predictions of one source's models on ``split``, grouped by replicate (seeds inside), in
    replicate and seed order: the shape :meth:`synthclf.intervals.ItemResampler.score` takes."""
    return predictions_by_replicate(row for row in rows if row["split"] == split and row["classifier"] == classifier)


def evaluate_sources(
    splits: Mapping[str, Sequence[Mapping[str, Any]]],
    predictions: Mapping[str, Sequence[Mapping[str, Any]]],
    methods: Sequence[str],
    classifiers: Sequence[str],
    labels: Sequence[str],
    intervals: IntervalParams,
    seed: int,
) -> dict[str, Any]:
    """Every source's models on every split of the real data, with intervals, and the paired
    differences the analysis reads: real - method, and later - earlier method of ``methods``.

    ``splits`` maps a split name (validation, test) to its records; ``predictions`` maps a source
    (real and each method) to the train stage's prediction rows. The test split also gets per-class
    F1, accuracy by annotator and proxy agreement, and each model's own scores.

    The real - method differences of the task (every method x classifier) are one family, the
    method - method differences another: each difference's interval is at the ``level`` that keeps
    its family's intervals at ``intervals.level`` together, stored beside it. A real - method
    difference also says whether real data's classifier is detectably above chance: where it is
    not, neither source has learned the task and their difference is no verdict on synthetic data.
    """
    sources = ["real", *methods]
    gaps = [("real", m) for m in methods]
    pairs = gaps + [(b, a) for i, a in enumerate(methods) for b in methods[i + 1:]]
    gap_level = family_level(intervals.level, len(gaps) * len(classifiers), intervals.correction)
    method_level = family_level(intervals.level, (len(pairs) - len(gaps)) * len(classifiers), intervals.correction)
    out: dict[str, Any] = {"n": {split: len(records) for split, records in splits.items()}}
    for split, records in splits.items():
        gold = [r["label"] for r in records]
        chance = chance_macro_f1(gold, labels)
        resampler = ItemResampler(gold, labels, intervals.resamples, seed)
        scores: dict[str, Any] = {}
        differences: dict[str, Any] = {}
        for clf in classifiers:
            resampled = {}
            for source in sources:
                groups = grouped_predictions(predictions[source], split, clf)
                if not groups:
                    raise SynthclfError(f"no {clf} predictions of source '{source}' on the {split} split (run the train stage)")
                if any(len(p) != len(gold) for seeds in groups for p in seeds):
                    raise SynthclfError(f"{clf} predictions of source '{source}' do not cover the {len(gold)} items of the "
                                        f"{split} split: they are from other data (run the train stage)")
                resampled[source] = resampler.score(groups)
                entry = {**resampled[source].summary(intervals.level), "models": sum(map(len, groups)), "replicates": len(groups)}
                if split == "test":
                    agreement = [r.get("agreement") for r in records]
                    proxy = [r.get("proxy_agreement") for r in records]
                    runs = {f"r{row['replicate']}-s{row['seed']}": score(gold, row["predicted"], labels, agreement, proxy)
                            for row in sorted(predictions[source], key=lambda r: (r["replicate"], r["seed"]))
                            if row["split"] == split and row["classifier"] == clf}
                    entry.update(mean_scores(list(runs.values())))
                    entry["by_model"] = {name: {k: run[k] for k in ("macro_f1", "accuracy")} for name, run in runs.items()}
                scores.setdefault(source, {})[clf] = entry
            above_chance = bool(scores["real"][clf]["macro_f1_low"] > chance)
            for a, b in pairs:
                level = gap_level if a == "real" else method_level
                diff = {**(resampled[a] - resampled[b]).summary(level), "level": level}
                if a == "real":
                    relative = relative_gap(resampled[a], resampled[b], chance).summary(level)
                    # A share of a room that may not exist means nothing.
                    if not above_chance:
                        relative = dict.fromkeys(relative)
                    diff.update({f"macro_f1_relative{k[len('macro_f1'):]}": v for k, v in relative.items()})
                    diff["real_above_chance"] = above_chance
                differences.setdefault(f"{a} - {b}", {})[clf] = diff
        out[split] = {"chance_macro_f1": chance, "scores": scores, "differences": differences}
    return out


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
