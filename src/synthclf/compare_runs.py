"""Kept runs side by side: which generation method and which filter setting helped, in numbers.

Each run under ``reports/runs/`` (see :mod:`synthclf.runs`) holds its params and metrics. This puts
them into one Markdown table per task (Macro-F1 of every classifier, what the filters removed, the
diversity figures) and a table of means over tasks, each figure beside its change from the first run
named, the baseline. The params in which the runs differ say what each setting is.

Command line: ``synthclf compare-runs BASELINE OTHER... [--output FILE]``.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from synthclf.errors import SynthclfError
from synthclf.io import atomic_write, read_json
from synthclf.runs import RUNS
from synthclf.titles import CLASSIFIER_TITLES, SOURCE_TITLES, fraction, percent

# Filter outcomes shown per row (the rest, such as empty texts, are rare and stay in the run's report).
REMOVED = ("near_duplicate", "contaminated", "label_issue")
DIVERSITY = {"remote_clique": "Remote-Clique", "chamfer": "Chamfer", "similarity_to_real": "Sim. to real", "distinct_2": "distinct-2"}

HELP = "put kept runs side by side in one Markdown report: which method and filter setting helped"
DESCRIPTION = (
    "Put kept runs (reports/runs/NAME, see synthclf keep-run) side by side in one Markdown report: the params "
    "in which they differ, the mean Macro-F1 over tasks and per task, what the filters removed, the diversity "
    "figures. The first run named is the baseline."
)
EXAMPLE = """example:
  synthclf compare-runs filters_off filters_default filters_cleanlab --output reports/runs/COMPARISON.md"""


@dataclass(frozen=True)
class KeptRun:
    name: str
    params: dict[str, Any]
    summary: dict[str, Any]
    filtering: dict[str, dict[str, Any]]  # "<task>/<method>" -> metrics/filter record

    @property
    def methods(self) -> list[str]:
        return list(self.params["methods"])


def load_run(folder: Path) -> KeptRun:
    """A kept run's params, summary and filter metrics; a clear error if the folder is not one."""
    if not (folder / "params.yaml").is_file():
        raise SynthclfError(f"{folder}: not a kept run (no params.yaml; keep one with synthclf keep-run)")
    params = yaml.safe_load((folder / "params.yaml").read_text(encoding="utf-8"))
    summary = read_json(folder / "metrics" / "summary.json")
    filtering = {
        f"{task}/{method}": read_json(folder / "metrics" / "filter" / f"{task}-{method}.json")
        for task in params["tasks"]
        for method in params["methods"]
    }
    return KeptRun(folder.name, params, summary, filtering)


def _flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def settings(runs: Sequence[KeptRun]) -> dict[str, dict[str, str]]:
    """Each run's values of the params in which the runs differ (methods aside: they are rows)."""
    flat = [_flatten(r.params) for r in runs]
    keys = sorted({k for f in flat for k in f if k != "methods"})
    differing = [k for k in keys if len({yaml.safe_dump(f.get(k)) for f in flat}) > 1]
    return {
        run.name: {k: yaml.safe_dump(f.get(k), default_flow_style=True).strip().removesuffix("...").strip() for k in differing}
        for run, f in zip(runs, flat)
    }


def settings_table(runs: Sequence[KeptRun]) -> list[str]:
    """One row per run, one column per param in which the runs differ."""
    described = settings(runs)
    keys = list(described[runs[0].name])
    if not keys:
        return ["The runs differ in no params."]
    lines = ["| Run | " + " | ".join(f"`{k}`" for k in keys) + " |", "|---|" + "---|" * len(keys)]
    lines += [f"| {run.name} | " + " | ".join(described[run.name][k] for k in keys) + " |" for run in runs]
    return lines


def _score(run: KeptRun, task: str, source: str, classifier: str) -> dict[str, Any] | None:
    return run.summary["tasks"].get(task, {}).get("scores", {}).get(source, {}).get(classifier)


def _f1(run: KeptRun, task: str, source: str, classifier: str) -> float | None:
    score = _score(run, task, source, classifier)
    return None if score is None else score["macro_f1"]


def _f1_shown(run: KeptRun, task: str, source: str, classifier: str) -> str:
    """Macro-F1 in percent, ± its standard deviation where the classifier was trained with several seeds."""
    score = _score(run, task, source, classifier)
    if score is None:
        return percent(None)
    # The summary (report.build_summary) carries the spread only where there were several seeds.
    return percent(score["macro_f1"], score.get("macro_f1_std"))


def _points(x: float | None, base: float | None) -> str:
    """The change from ``base`` in percentage points."""
    return "" if x is None or base is None else f"{100 * (x - base):+.1f}"


def _delta(x: float | None, base: float | None) -> str:
    change = _points(x, base)
    return f" ({change})" if change else ""


def _classifiers(runs: Sequence[KeptRun]) -> list[str]:
    shared = [c for c in runs[0].params["train"]["classifiers"] if all(c in r.params["train"]["classifiers"] for r in runs)]
    if not shared:
        raise SynthclfError("the runs share no classifier (train.classifiers): nothing to compare")
    return shared


def task_table(runs: Sequence[KeptRun], task: str) -> list[str]:
    """One row for real data, then one per run x method; F1 in brackets: the change from the baseline run."""
    base, classifiers = runs[0], _classifiers(runs)
    head = ("| Run | Method | Kept | Removed (" + " / ".join(r.replace("_", " ") for r in REMOVED) + ") | "
            + " | ".join(f"{CLASSIFIER_TITLES.get(c, c)} F1" for c in classifiers) + " | " + " | ".join(DIVERSITY.values()) + " |")
    lines = [head, "|---|---|---:|---|" + "---:|" * (len(classifiers) + len(DIVERSITY))]
    real_diversity = base.summary["tasks"][task]["diversity"]["real"]
    lines.append(
        f"| (all) | Real | {real_diversity['n']} | | " + " | ".join(_f1_shown(base, task, "real", c) for c in classifiers)
        + " | " + " | ".join(fraction(real_diversity[k]) for k in DIVERSITY) + " |"
    )
    for run in runs:
        for method in run.methods:
            f = run.filtering.get(f"{task}/{method}", {})
            removed = " / ".join(str(f.get("removed", {}).get(r, 0)) for r in REMOVED)
            scores = [_f1_shown(run, task, method, c) + (_delta(_f1(run, task, method, c), _f1(base, task, method, c)) if run is not base else "")
                      for c in classifiers]
            diversity = run.summary["tasks"][task]["diversity"].get(method, {})
            figures = [fraction(diversity.get(k)) for k in DIVERSITY]
            lines.append(f"| {run.name} | {SOURCE_TITLES.get(method, method)} | {f.get('kept', '–')} | {removed} | "
                         + " | ".join(scores) + " | " + " | ".join(figures) + " |")
    return lines


def mean_table(runs: Sequence[KeptRun], tasks: Sequence[str]) -> list[str]:
    """Mean Macro-F1 over the tasks per run x method, with the change from the same method in the
    baseline run and from the paper's zero-shot in the baseline run."""
    base, classifiers = runs[0], _classifiers(runs)

    def mean(run: KeptRun, source: str, classifier: str) -> float | None:
        values = [_f1(run, t, source, classifier) for t in tasks]
        return None if any(v is None for v in values) else float(np.mean(values))

    head = "| Run | Method | " + " | ".join(
        f"{CLASSIFIER_TITLES.get(c, c)}: mean F1 | vs baseline | vs baseline zero-shot" for c in classifiers) + " |"
    lines = [head, "|---|---|" + "---:|---:|---:|" * len(classifiers)]
    lines.append("| (all) | Real | " + " | ".join(f"{percent(mean(base, 'real', c))} | | " for c in classifiers) + " |")
    for run in runs:
        for method in run.methods:
            cells = []
            for c in classifiers:
                value = mean(run, method, c)
                cells += [percent(value), _points(value, mean(base, method, c)) if run is not base else "",
                          _points(value, mean(base, "zero_shot", c))]
            lines.append(f"| {run.name} | {SOURCE_TITLES.get(method, method)} | " + " | ".join(cells) + " |")
    return lines


def compare(runs: Sequence[KeptRun]) -> str:
    """The Markdown comparison of ``runs``; the first is the baseline."""
    tasks = [t for t in runs[0].params["tasks"] if all(t in r.summary["tasks"] for r in runs)]
    if not tasks:
        raise SynthclfError("the runs share no task: nothing to compare")
    lines = [
        "# Kept runs compared",
        "",
        f"Baseline: **{runs[0].name}**. Macro-F1 on each task's real test set, in percent (± its standard "
        "deviation over seeds where a run trained several); in brackets, the change in points from the same "
        "method in the baseline run.",
        "",
        "## Settings",
        "",
        "The params in which the runs differ:",
        "",
        *settings_table(runs),
        "",
        "## Mean over tasks",
        "",
        f"Tasks: {', '.join(tasks)}.",
        "",
        *mean_table(runs, tasks),
        "",
    ]
    for task in tasks:
        lines += [f"## {task}", "", *task_table(runs, task), ""]
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``synthclf compare-runs``."""
    parser.add_argument("runs", nargs="+", help="run names under reports/runs/ (or folders); the first is the baseline")
    parser.add_argument("--output", help="write here instead of printing")


def run(args: argparse.Namespace) -> None:
    """``synthclf compare-runs``: a :class:`SynthclfError` for the caller to report."""
    folders = [Path(name) if Path(name).is_dir() and not (RUNS / name).is_dir() else RUNS / name for name in args.runs]
    text = compare([load_run(folder) for folder in folders])
    if args.output:
        with atomic_write(args.output) as fh:
            fh.write(text + "\n")
        print(f"wrote {args.output}")
    else:
        print(text)
