"""The report's figures, drawn from ``metrics/summary.json``'s shape; every score with its interval."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # stages run headless
import matplotlib.pyplot as plt  # noqa: E402

from synthclf.io import atomic_write  # noqa: E402
from synthclf.tables import DIVERSITY_TITLES, by_subjectivity, stars  # noqa: E402
from synthclf.titles import CLASSIFIER_TITLES, SOURCE_TITLES, bounds  # noqa: E402

# A value and, where known, its interval.
Estimate = tuple[float | None, tuple[float, float] | None]


def _estimate(record: Mapping[str, Any], key: str, scale: float = 1.0) -> Estimate:
    value, interval = record.get(key), bounds(record, key)
    return (None if value is None else scale * value, None if interval is None else (scale * interval[0], scale * interval[1]))


def _grouped_bars(ax: Any, tasks: Mapping[str, Any], sources: Sequence[str], value: Callable[[str, str], Estimate]) -> None:
    """One group of bars per task (most objective first), one bar per source with its interval as an
    error bar; None leaves a gap."""
    names = by_subjectivity(tasks)
    width = 0.8 / len(sources)
    for i, source in enumerate(sources):
        estimates = [value(t, source) for t in names]
        heights = [math.nan if v is None else v for v, _ in estimates]
        below = [0 if ci is None or v is None else v - ci[0] for v, ci in estimates]
        above = [0 if ci is None or v is None else ci[1] - v for v, ci in estimates]
        ax.bar([x + i * width for x in range(len(names))], heights, width, yerr=[below, above], capsize=2,
               error_kw={"linewidth": 0.8}, label=SOURCE_TITLES.get(source, source))
    ax.set_xticks([x + width * (len(sources) - 1) / 2 for x in range(len(names))])
    ax.set_xticklabels([f"{t}\n{stars(tasks[t]['subjectivity'])}" for t in names], fontsize=8)


def plot_scores(summary: Mapping[str, Any], methods: Sequence[str], classifier: str, path: Path) -> None:
    tasks = summary["tasks"]
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(tasks)), 4))
    _grouped_bars(ax, tasks, ["real", *methods], lambda t, s: _estimate(tasks[t]["scores"][s][classifier], "macro_f1", 100))
    ax.set_ylabel("Macro-F1 on real test data (%)")
    ax.set_ylim(0, 100)
    ax.set_title(f"Trained on real vs synthetic data ({CLASSIFIER_TITLES.get(classifier, classifier)}; 95% intervals)")
    ax.legend(fontsize=8)
    _save(fig, path)


def plot_diversity(summary: Mapping[str, Any], methods: Sequence[str], path: Path) -> None:
    """Remote-Clique, Chamfer distance and similarity to real data, one panel each, per task and
    source, on size-matched samples (the bars span the draws)."""
    tasks = summary["tasks"]
    keys = ("remote_clique", "chamfer", "similarity_to_real")
    fig, axes = plt.subplots(len(keys), 1, figsize=(max(6, 1.6 * len(tasks)), 2.4 * len(keys)), sharex=True)
    for ax, key in zip(axes, keys):
        _grouped_bars(ax, tasks, ["real", *methods], lambda t, s: _estimate(tasks[t]["diversity"][s], key))
        ax.set_ylabel(DIVERSITY_TITLES[key], fontsize=9)
    axes[0].set_title("Diversity of each training set, and its closeness to the real one")
    # Below the last panel, where no bar can hide it.
    axes[-1].legend(fontsize=8, ncol=len(methods) + 1, loc="upper center", bbox_to_anchor=(0.5, -0.3))
    _save(fig, path)


def plot_gap(summary: Mapping[str, Any], methods: Sequence[str], classifier: str, path: Path) -> None:
    """The gap in points and relative to the room above chance, against subjectivity, with intervals."""
    tasks = summary["tasks"]
    names = sorted(tasks)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    panels = (("macro_f1", 100, "Macro-F1 gap: real minus synthetic (points)"),
              ("macro_f1_relative", 100, "Gap as % of real's room above chance"))
    for ax, (key, scale, ylabel) in zip(axes, panels):
        for offset, method in enumerate(methods):
            shift = 0.08 * (offset - (len(methods) - 1) / 2)  # side by side at one level
            for t in names:
                value, ci = _estimate(tasks[t]["gap"][method][classifier], key, scale)
                if value is None:
                    continue
                x = tasks[t]["subjectivity"] + shift
                err = None if ci is None else [[value - ci[0]], [ci[1] - value]]
                ax.errorbar([x], [value], yerr=err, fmt="o", color=f"C{offset}", capsize=2, linewidth=0.8,
                            label=SOURCE_TITLES.get(method, method) if t == names[0] else None)
                ax.annotate(t, (x, value), fontsize=7, xytext=(3, 3), textcoords="offset points")
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.set_xlabel("Task subjectivity (1 = most objective, 5 = most subjective)")
        ax.set_ylabel(ylabel)
        ax.set_xticks(range(1, 6))
        ax.legend(fontsize=8)
    axes[0].set_title("The gap against subjectivity (95% intervals)")
    _save(fig, path)


def plot_agreement(
    evals: Mapping[str, Any], methods: Sequence[str], classifier: str, path: Path, curve_key: str = "accuracy_by_agreement"
) -> bool:
    """Accuracy over test items with agreement >= gamma (the paper's Fig. 2), by the annotators'
    agreement or (``curve_key`` accuracy_by_proxy_agreement) the LLM-label proxy, averaged over the
    models of each source; False if no task has it."""
    scores = {t: e["test"]["scores"] for t, e in evals.items()}
    tasks = [t for t in sorted(scores) if curve_key in scores[t]["real"][classifier]]
    if not tasks:
        return False
    who = "LLM labels'" if curve_key == "accuracy_by_proxy_agreement" else "annotator"
    fig, axes = plt.subplots(1, len(tasks), figsize=(4 * len(tasks), 3.5), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        for source in ["real", *methods]:
            curve = scores[task][source][classifier][curve_key]
            points = [(float(g), 100 * c["accuracy"]) for g, c in curve.items() if c["accuracy"] is not None]
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=SOURCE_TITLES.get(source, source))
        _finish_panel(ax, task, f"{who} agreement threshold γ", "accuracy (%)")
    _save(fig, path)
    return True


def plot_learning_curves(summary: Mapping[str, Any], methods: Sequence[str], classifier: str, path: Path) -> bool:
    """Macro-F1 against real training examples (mean over draws, its interval shaded), with each
    synthetic set's score as a level line and, where measured, the curve of the real subsets with
    that synthetic set added."""
    tasks = [t for t in by_subjectivity(summary["tasks"]) if classifier in summary["tasks"][t].get("learning_curve", {})]
    if not tasks:
        return False
    fig, axes = plt.subplots(1, len(tasks), figsize=(3.6 * len(tasks), 3.4), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        curve = summary["tasks"][task]["learning_curve"][classifier]
        sizes = [int(n) for n in curve]
        ax.plot(sizes, [100 * p["macro_f1"] for p in curve.values()], marker="o", color="black", label="Real (n examples)")
        spans = [bounds(p, "macro_f1") for p in curve.values()]
        if all(spans):
            ax.fill_between(sizes, [100 * s[0] for s in spans], [100 * s[1] for s in spans], color="black", alpha=0.12)
        for method in methods:
            level = summary["tasks"][task]["scores"][method][classifier]["macro_f1"]
            color = f"C{methods.index(method)}"
            ax.axhline(100 * level, linestyle="--", linewidth=1, color=color, label=SOURCE_TITLES.get(method, method))
            mixed = summary["tasks"][task].get("mixed_curve", {}).get(method, {}).get(classifier)
            if mixed:
                ax.plot([int(n) for n in mixed], [100 * p["macro_f1"] for p in mixed.values()], marker="s", markersize=3,
                        linewidth=1, color=color, label=f"Real + {SOURCE_TITLES.get(method, method).lower()}")
        ax.set_xscale("log")
        _finish_panel(ax, task, "real training examples", "Macro-F1 (%)")
    _save(fig, path)
    return True


def _finish_panel(ax: Any, title: str, xlabel: str, ylabel: str) -> None:
    """One task's panel of a figure of small multiples."""
    ax.set_title(title, fontsize=9)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7)


def _save(fig: Any, path: Path) -> None:
    fig.tight_layout()
    with atomic_write(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=110)
    plt.close(fig)
