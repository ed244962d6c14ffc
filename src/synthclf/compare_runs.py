"""Kept runs side by side: which generation method and which filter setting helped, in numbers.

Each run under ``reports/runs/`` (see :mod:`synthclf.runs`) holds its params and metrics. This ranks
every run x method by its mean **validation** Macro-F1 over the tasks (the held-out split of the real
training data) and names the best: choosing by the test set would fit the choice to it, so the test
figures, with their 95% intervals, are shown for information only. A run kept before the summary held
validation scores cannot be ranked, and says so. One Markdown table per task follows (Macro-F1 of
every classifier, what the filters removed, the diversity figures), each validation figure beside its
change from the first run named, the baseline. The params in which the runs differ say what each
setting is. Last, whether each run repeats the baseline's verdicts: every real - synthetic and
method - method difference that either run calls a difference, side by side.

Command line: ``synthclf compare-runs BASELINE OTHER... [--output FILE]``.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from synthclf.errors import SynthclfError
from synthclf.io import atomic_write, read_json
from synthclf.metrics_diff import CHANGED, NO_INTERVAL, UNCHANGED, Move, combined_noise, half_width
from synthclf.report import called
from synthclf.tables import markdown, points_text
from synthclf.runs import RUNS
from synthclf.titles import CLASSIFIER_TITLES, SOURCE_TITLES, bounds, fraction, percent

# Filter outcomes shown per row (the rest, such as empty texts, are rare and stay in the run's report).
REMOVED = ("near_duplicate", "contaminated", "label_issue")
DIVERSITY = {"remote_clique": "Remote-Clique", "chamfer": "Chamfer", "similarity_to_real": "Sim. to real", "distinct_2": "distinct-2"}
RANKING_COLUMNS = ["Rank", "Run", "Method", "Validation Macro-F1", "vs baseline", "Test Macro-F1 (for information)"]

HELP = "put kept runs side by side in one Markdown report: which method and filter setting helped"
DESCRIPTION = (
    "Put kept runs (reports/runs/NAME, see synthclf keep-run) side by side in one Markdown report: the params "
    "in which they differ, every run x method ranked by mean validation Macro-F1 over tasks (test Macro-F1 with "
    "its interval beside it, for information only), and per task the validation and test Macro-F1, what the "
    "filters removed, the diversity figures. The first run named is the baseline."
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


def settings_table(runs: Sequence[KeptRun]) -> str:
    """One row per run, one column per param in which the runs differ."""
    described = settings(runs)
    keys = list(described[runs[0].name])
    if not keys:
        return "The runs differ in no params."
    frame = pd.DataFrame([[run.name, *(described[run.name][k] for k in keys)] for run in runs],
                         columns=["Run", *(f"`{k}`" for k in keys)])
    return markdown(frame)


@dataclass(frozen=True)
class Figure:
    """A Macro-F1 with its 95% interval where the summary has one, and, in runs kept before intervals,
    the standard deviation over training seeds."""

    value: float | None
    interval: tuple[float, float] | None = None
    std: float | None = None

    def shown(self) -> str:
        return percent(self.value, self.std, self.interval)


def _figure(run: KeptRun, task: str, split: str, source: str, classifier: str) -> Figure:
    """Macro-F1 of ``source`` x ``classifier`` on ``split``: ``scores`` (the real test set) or ``validation``."""
    record = run.summary["tasks"].get(task, {}).get(split, {}).get(source, {}).get(classifier)
    value = (record or {}).get("macro_f1")
    if not isinstance(value, (int, float)):
        return Figure(None)
    return Figure(value, bounds(record, "macro_f1"), record.get("macro_f1_std"))


def _mean(figures: Sequence[Figure]) -> Figure:
    """The mean over tasks, None unless every task has the figure; with an interval only if every task has one."""
    if not figures or any(f.value is None for f in figures):
        return Figure(None)
    mean = float(np.mean([f.value for f in figures]))
    widths = [half_width(f.interval) for f in figures]
    if any(w is None for w in widths):
        return Figure(mean)
    # Each task has its own data and test items, so its estimate is independent of the others': the mean's
    # half-width is theirs in quadrature over the number of tasks (centred on the mean: an approximation
    # where a task's interval is skewed).
    hw = combined_noise(*widths) / len(figures)
    return Figure(mean, (mean - hw, mean + hw))


def _versus(figure: Figure, base: Figure) -> str:
    """The change from ``base`` in points, judged as synthclf pr-comment judges a move between revisions: two
    runs are independent estimates, so a change within both intervals' noise is what regenerating alone can do."""
    if figure.value is None or base.value is None:
        return ""
    move = Move(base.value, figure.value, base.interval, figure.interval)
    change = f"{100 * (figure.value - base.value):+.1f}"
    if move.verdict == UNCHANGED:
        return change
    if move.verdict == NO_INTERVAL:
        return f"{change}, no interval"
    if move.verdict == CHANGED:
        return f"**{change}**, beyond noise ±{100 * move.noise:.1f}"
    return f"{change}, within noise ±{100 * move.noise:.1f}"


def _classifiers(runs: Sequence[KeptRun]) -> list[str]:
    shared = [c for c in runs[0].params["train"]["classifiers"] if all(c in r.params["train"]["classifiers"] for r in runs)]
    if not shared:
        raise SynthclfError("the runs share no classifier (train.classifiers): nothing to compare")
    return shared


def _title(source: str) -> str:
    return SOURCE_TITLES.get(source, source)


def ranking(runs: Sequence[KeptRun], tasks: Sequence[str], classifier: str) -> list[str]:
    """Every run x method by mean validation Macro-F1 over ``tasks``, best first, beside its change from the
    same method in the baseline run and its mean test Macro-F1; then the choice and how sure it is."""
    base = runs[0]

    def mean(run: KeptRun, split: str, source: str) -> Figure:
        return _mean([_figure(run, t, split, source, classifier) for t in tasks])

    rows = [(run, method, mean(run, "validation", method)) for run in runs for method in run.methods]
    # sorted is stable: on a tie the run named first (the baseline) ranks first.
    ranked = sorted((row for row in rows if row[2].value is not None), key=lambda row: -row[2].value)
    unranked = [row for row in rows if row[2].value is None]
    table = [["", "(all)", "Real", mean(base, "validation", "real").shown(), "", mean(base, "scores", "real").shown()]]
    for rank, (run, method, validation) in enumerate(ranked, 1):
        versus = _versus(validation, mean(base, "validation", method)) if run is not base else ""
        table.append([str(rank), run.name, _title(method), validation.shown(), versus, mean(run, "scores", method).shown()])
    for run, method, _ in unranked:
        table.append(["–", run.name, _title(method), "cannot be ranked: no validation scores", "",
                      mean(run, "scores", method).shown()])
    frame = pd.DataFrame(table, columns=RANKING_COLUMNS)
    return [markdown(frame, right=("Rank", "Validation Macro-F1", "Test Macro-F1 (for information)")), "",
            _choice(ranked, unranked)]


def _choice(ranked: Sequence[tuple[KeptRun, str, Figure]], unranked: Sequence[tuple[KeptRun, str, Figure]]) -> str:
    """Which run x method the validation scores choose, whether a second run could choose another, and which
    runs could not take part."""
    if not ranked:
        return ("No run can be ranked: none has validation Macro-F1 on every task (they were kept before the summary "
                "recorded validation scores), and the test set is not for choosing. Rerun them with the current "
                "pipeline and keep them again to choose.")
    (run, method, best), *rest = ranked
    text = f"Chosen by validation Macro-F1: **{run.name}**, {_title(method)} ({best.shown()})."
    if rest:
        second_run, second_method, second = rest[0]
        runner_up = f"the runner-up, {second_run.name}, {_title(second_method)} ({second.shown()})"
        margin = 100 * (best.value - second.value)
        # Both are scored on the same validation items, so a paired interval would be narrower: judging them as
        # independent estimates errs towards "within noise", the safe side for a choice.
        noise = combined_noise(half_width(best.interval), half_width(second.interval))
        if noise is None:
            text += f" Whether it beats {runner_up} by more than noise cannot be told: neither has an interval."
        elif margin > 100 * noise:
            text += f" It leads {runner_up} by {margin:.1f} points, beyond noise (±{100 * noise:.1f})."
        else:
            text += (f" It leads {runner_up} by only {margin:.1f} points, within noise (±{100 * noise:.1f}): "
                     "a second run may well choose differently.")
    if unranked:
        names = ", ".join(dict.fromkeys(run.name for run, _, _ in unranked))
        text += f" Cannot be ranked (no validation Macro-F1 on every task): {names}."
    return text


def task_table(runs: Sequence[KeptRun], task: str) -> str:
    """One row for real data, then one per run x method: validation Macro-F1 with its change from the baseline
    run, test Macro-F1, what the filters removed, the diversity figures."""
    base, classifiers = runs[0], _classifiers(runs)
    scores = [column for c in classifiers for column in (f"{CLASSIFIER_TITLES.get(c, c)}: validation F1", "test F1")]
    columns = ["Run", "Method", "Kept", "Removed (" + " / ".join(r.replace("_", " ") for r in REMOVED) + ")",
               *scores, *DIVERSITY.values()]
    real_diversity = base.summary["tasks"][task]["diversity"]["real"]
    rows = [["(all)", "Real", str(real_diversity["n"]), "",
             *(_figure(base, task, split, "real", c).shown() for c in classifiers for split in ("validation", "scores")),
             *(fraction(real_diversity[k]) for k in DIVERSITY)]]
    for run in runs:
        for method in run.methods:
            f = run.filtering.get(f"{task}/{method}", {})
            removed = " / ".join(str(f.get("removed", {}).get(r, 0)) for r in REMOVED)
            cells = []
            for c in classifiers:
                validation = _figure(run, task, "validation", method, c)
                versus = _versus(validation, _figure(base, task, "validation", method, c)) if run is not base else ""
                cells += [validation.shown() + (f" ({versus})" if versus else ""), _figure(run, task, "scores", method, c).shown()]
            diversity = run.summary["tasks"][task]["diversity"].get(method, {})
            rows.append([run.name, _title(method), str(f.get("kept", "–")), removed, *cells,
                         *(fraction(diversity.get(k)) for k in DIVERSITY)])
    # Two classifiers give two columns named "test F1", each after its classifier's validation column.
    frame = pd.DataFrame(rows, columns=columns)
    return markdown(frame, right=("Kept", *scores, *DIVERSITY.values()))


def _without_intervals(runs: Sequence[KeptRun]) -> list[str]:
    """The runs whose summary holds no interval (kept before the summary recorded them)."""
    return [run.name for run in runs
            if not any(key.endswith("_low") for t in run.summary["tasks"].values()
                       for by_clf in t.get("scores", {}).values() for record in by_clf.values() for key in record)]


def _differences(run: KeptRun, task: str, classifier: str) -> dict[str, Mapping[str, Any]]:
    """A run's test differences of one task and classifier, by their names ("real - few_shot", ...)."""
    t = run.summary["tasks"][task]
    out = {f"real - {m}": by_clf[classifier] for m, by_clf in t.get("gap", {}).items() if classifier in by_clf}
    out.update({pair: by_clf[classifier] for pair, by_clf in t.get("method_differences", {}).items() if classifier in by_clf})
    return out


def verdict_agreement(baseline: KeptRun, other: KeptRun, tasks: Sequence[str]) -> list[str]:
    """The differences either run calls, each run's figure, and whether the other run repeats it."""
    rows, counts = [], {"agree": 0, "opposite": 0, "one run only": 0}
    for task in tasks:
        for classifier in _classifiers([baseline, other]):
            ours, theirs = _differences(baseline, task, classifier), _differences(other, task, classifier)
            for name in [n for n in ours if n in theirs]:
                a, b = called(ours[name]), called(theirs[name])
                if not (a or b):
                    continue
                outcome = "agree" if a == b else "opposite" if a and b else "one run only"
                counts[outcome] += 1
                rows.append({"Task": task, "Classifier": classifier, "Difference": name.replace(" - ", " − "),
                             baseline.name: points_text(ours[name]), other.name: points_text(theirs[name]),
                             "": outcome if outcome == "agree" else f"**{outcome}**"})
    if not rows:
        return [f"Neither {baseline.name} nor {other.name} calls any difference (or they share none)."]
    total = sum(counts.values())
    return [f"Of the {total} differences that either run calls, {counts['agree']} agree in sign and significance, "
            f"{counts['opposite']} have opposite signs and {counts['one run only']} are called by one run only.",
            "", markdown(rows, right=(baseline.name, other.name))]


def compare(runs: Sequence[KeptRun]) -> str:
    """The Markdown comparison of ``runs``; the first is the baseline."""
    tasks = [t for t in runs[0].params["tasks"] if all(t in r.summary["tasks"] for r in runs)]
    if not tasks:
        raise SynthclfError("the runs share no task: nothing to compare")
    old = _without_intervals(runs)
    lines = [
        "# Kept runs compared",
        "",
        f"Baseline: **{runs[0].name}**. Runs and methods are ranked, and the best chosen, by **validation Macro-F1**: "
        "on the validation split held out of each task's real training data. The real test set's Macro-F1 is shown "
        "for information only; choosing by it would fit the choice to the test set. Macro-F1 in percent, its 95% "
        "interval in brackets (a mean over tasks takes the tasks' intervals as independent); in parentheses, the "
        "change in points from the same method in the baseline run, a change only beyond √(h₁² + h₂²) of the two "
        "intervals' half-widths, *within noise* otherwise (as in synthclf pr-comment).",
        *(["", f"Kept before the summary recorded intervals, so their figures have none (± there is the standard "
               f"deviation over training seeds, where several were trained): {', '.join(old)}."] if old else []),
        "",
        "## Settings",
        "",
        "The params in which the runs differ:",
        "",
        settings_table(runs),
        "",
        "## Ranking by validation Macro-F1, mean over tasks",
        "",
        f"Tasks: {', '.join(tasks)}.",
    ]
    for classifier in _classifiers(runs):
        lines += ["", f"### {CLASSIFIER_TITLES.get(classifier, classifier)}", "", *ranking(runs, tasks, classifier)]
    lines.append("")
    for task in tasks:
        lines += [f"## {task}", "", task_table(runs, task), ""]
    for other in runs[1:]:
        lines += [f"## Does {other.name} repeat {runs[0].name}'s verdicts?", "",
                  "The real − synthetic and method − method differences (test Macro-F1, points, with the intervals the "
                  "runs state) that either run calls a difference: its interval excludes zero, and for real − synthetic "
                  "the real-data classifier is above chance. Runs of the same settings with another `seed` should agree "
                  "on every one.", "", *verdict_agreement(runs[0], other, tasks), ""]
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
