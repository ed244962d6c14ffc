"""The statistics of the analysis: per task, the test scores with their intervals, the paired gaps,
the method chosen on validation data, what a synthetic set is worth in real examples, and the gap's
trend against subjectivity, in the shape of ``metrics/summary.json``.

Convention: every number ``k`` with an uncertainty has its interval beside it as ``k_low``/``k_high``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from synthclf.correlations import correlation
from synthclf.learning_curve import real_examples_worth

SCORE_KEYS = tuple(f"{m}{end}" for m in ("macro_f1", "accuracy") for end in ("", "_low", "_high"))
# A difference also carries the level of its interval (its family's share, synthclf.intervals.family_level).
DIFFERENCE_KEYS = SCORE_KEYS + ("level",)
GAP_KEYS = DIFFERENCE_KEYS + ("macro_f1_relative", "macro_f1_relative_low", "macro_f1_relative_high", "real_above_chance")


def _pick(record: Mapping[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    return {k: record[k] for k in keys if k in record}


def best_method(validation: Mapping[str, Mapping[str, Any]], methods: Sequence[str], classifier: str) -> str:
    """The method whose synthetic data scores highest on the *validation* split (ties: the first in
    ``methods``): choosing by test scores would make the chosen method look better than it is."""
    return max(methods, key=lambda m: (validation[m][classifier]["macro_f1"], -methods.index(m)))


def task_summary(
    level: int,
    evaluated: Mapping[str, Any],
    methods: Sequence[str],
    classifiers: Sequence[str],
    diversity: Mapping[str, Any],
    curve: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """One task's part of the summary, from the evaluate stage's output (``evaluated``), the
    diversity figures and the learning_curve stage's output (``curve``, if run)."""
    test, validation = evaluated["test"], evaluated["validation"]
    sources = ["real", *methods]
    scores = {s: {c: _pick(test["scores"][s][c], SCORE_KEYS + ("models", "replicates")) for c in classifiers} for s in sources}
    out: dict[str, Any] = {
        "subjectivity": level,
        "chance_macro_f1": test["chance_macro_f1"],
        "scores": scores,
        "validation": {s: {c: _pick(validation["scores"][s][c], SCORE_KEYS) for c in classifiers} for s in sources},
        "gap": {m: {c: _pick(test["differences"][f"real - {m}"][c], GAP_KEYS) for c in classifiers} for m in methods},
        "method_differences": {pair: {c: _pick(by_clf[c], DIFFERENCE_KEYS) for c in classifiers}
                               for pair, by_clf in test["differences"].items() if not pair.startswith("real - ")},
        "best_method": {c: best_method(validation["scores"], methods, c) for c in classifiers},
        "diversity": diversity,
    }
    if curve:
        out.update(_learning_curve(curve, scores, methods))
    return out


def _learning_curve(curve: Mapping[str, Any], scores: Mapping[str, Any], methods: Sequence[str]) -> dict[str, Any]:
    """The real-data learning curve of each classifier (Macro-F1 with its interval by number of real
    examples; the full set's from the ``real`` source), what each synthetic set is worth on it, the
    size-matched comparison and the real + synthetic mixes."""
    points: dict[str, dict[str, Any]] = {}
    worth: dict[str, dict[str, Any]] = {m: {} for m in methods}
    for clf, by_size in curve["curve"].items():
        if clf not in scores["real"]:
            continue
        full = {k: scores["real"][clf][k] for k in ("macro_f1", "macro_f1_low", "macro_f1_high")}
        points[clf] = {**{n: _pick(s, ("macro_f1", "macro_f1_low", "macro_f1_high")) for n, s in by_size.items()},
                       str(curve["n_train"]): full}
        # Every draw of every size, and the full set, feed the monotone fit.
        fitted = [(int(n), f) for n, s in by_size.items() for f in s.get("draws", [s["macro_f1"]])]
        fitted.append((curve["n_train"], full["macro_f1"]))
        for m in methods:
            worth[m][clf] = real_examples_worth(fitted, scores[m][clf])
    out: dict[str, Any] = {
        "learning_curve": {clf: dict(sorted(p.items(), key=lambda item: int(item[0]))) for clf, p in points.items()},
        "worth_real_examples": worth,
    }
    if curve.get("matched"):
        out["size_matched"] = {m: by_clf for m, by_clf in curve["matched"].items() if m in methods}
    if curve.get("mixed"):
        out["mixed_curve"] = {m: by_clf for m, by_clf in curve["mixed"].items() if m in methods}
    return out


def build_summary(
    subjectivity: Mapping[str, int],
    evals: Mapping[str, Mapping[str, Any]],
    methods: Sequence[str],
    classifiers: Sequence[str],
    diversity: Mapping[str, Mapping[str, Any]],
    curves: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """``evals[task]`` is the evaluate stage's output, ``diversity[task]`` the diversity stage's,
    ``curves[task]`` the learning_curve stage's. The trend of the gap against subjectivity is
    measured twice: on the gap in points (the paper's claim), and on the gap relative to the room
    the real-data classifier has above chance, which a floor effect cannot shrink."""
    tasks = {
        task: task_summary(subjectivity[task], evals[task], methods, classifiers, diversity[task], (curves or {}).get(task))
        for task in evals
    }
    ordered = sorted(tasks)
    levels = [tasks[t]["subjectivity"] for t in ordered]

    def trend(key: str) -> dict[str, Any]:
        return {m: {c: correlation(*_known(levels, [tasks[t]["gap"][m][c].get(key) for t in ordered])) for c in classifiers}
                for m in methods}

    return {"tasks": tasks, "subjectivity_vs_gap": trend("macro_f1"), "subjectivity_vs_relative_gap": trend("macro_f1_relative")}


def _known(levels: Sequence[float], gaps: Sequence[float | None]) -> tuple[list[float], list[float]]:
    """The tasks whose gap is defined (a relative gap is not where real data is at chance)."""
    pairs = [(x, y) for x, y in zip(levels, gaps) if y is not None and y == y]
    return [x for x, _ in pairs], [y for _, y in pairs]
