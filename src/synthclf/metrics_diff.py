"""Pull-request comments: how the real-vs-synthetic results moved between two revisions.

``dvc metrics diff --json`` lists every number of ``metrics/summary.json`` (see
``synthclf.summary.build_summary``) under a flattened key such as ``tasks.imdb.scores.few_shot.encoder.macro_f1``.
A reviewer needs three of its parts, laid out like the report: the score of each task x training
source, the real-minus-synthetic gap, and the subjectivity-vs-gap correlation.

Regenerating the synthetic data alone moves these numbers by a few points, so a move is called a change
only when it exceeds the noise of the two revisions' estimates: the 95% intervals that the summary keeps
beside each number (``macro_f1_low`` and ``macro_f1_high`` beside ``macro_f1``), combined as for two
independent estimates. Summaries written before intervals existed still compare; their moves say so.

Command line: ``synthclf pr-comment [A] [B]`` compares revision A (default HEAD) with B (default the
workspace), as ``dvc metrics diff`` does, and prints Markdown.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from synthclf.errors import SynthclfError, dvc_error
from synthclf.tables import markdown
from synthclf.titles import CLASSIFIER_TITLES, SOURCE_TITLES

SUMMARY = "metrics/summary.json"
SCORES = ("macro_f1", "accuracy")
# The comment's table per classifier: the scores, then the gaps, in the order of SCORES.
SCORE_COLUMNS = ["Task", "Trained on", "Macro-F1", "Accuracy", "Gap, Macro-F1", "Gap, accuracy"]
# (old, new): None where the revision has no such number (a task added or removed).
Change = tuple[float | None, float | None]
Interval = tuple[float, float]

# What a number's move between the revisions means.
UNCHANGED, CHANGED, WITHIN_NOISE, NO_INTERVAL, ADDED_OR_REMOVED = (
    "unchanged", "changed", "within noise", "no interval", "added or removed")
RULE = ("A move counts as a change only when it exceeds √(h_old² + h_new²), h being the half-width of each "
        "revision's 95% interval (in brackets; 0 for a revision without one), as the two runs are independent "
        "estimates: a smaller move is what regenerating the data alone can produce, and is marked *within noise*. "
        "Moves of numbers with no interval in either revision (summaries written before intervals) are marked "
        "*no interval*.")

HELP = "print Markdown of how the real-vs-synthetic results moved between two revisions (for a PR comment)"
DESCRIPTION = (
    "Print Markdown comparing the real-vs-synthetic results of revision A (default HEAD) with B (default the "
    "workspace), as dvc metrics diff does: each task x training source's scores and the real-minus-synthetic "
    "gap with their 95% intervals, a move marked as a change only when it exceeds the two revisions' noise "
    "(within noise otherwise), and the subjectivity-vs-gap correlation."
)
EXAMPLE = """examples:
  synthclf pr-comment main              # main against the workspace
  synthclf pr-comment main my-branch    # two revisions
  synthclf pr-comment origin/main > comment.md && gh pr comment --body-file comment.md"""


def dvc_metrics_diff(a_rev: str | None, b_rev: str | None, repo: Path | None = None) -> dict[str, Any]:
    """``dvc metrics diff --json --all`` of the summary, run with this interpreter's DVC in ``repo``."""
    revs = [rev for rev in (a_rev, b_rev) if rev]
    # --all: unchanged numbers too, so the comment shows the whole table rather than only what moved.
    cmd = [sys.executable, "-m", "dvc", "metrics", "diff", *revs, "--json", "--all", "--targets", SUMMARY]
    proc = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SynthclfError(f"dvc metrics diff {' '.join(revs)} failed: {dvc_error(proc.stderr)}")
    try:
        return json.loads(proc.stdout or "{}")
    except json.JSONDecodeError:
        raise SynthclfError(f"dvc metrics diff printed no JSON: {proc.stdout[:200]!r}") from None


def summary_changes(diff: Mapping[str, Any]) -> dict[tuple[str, ...], Change]:
    """The summary's numbers by key path, e.g. ``("tasks", "imdb", "gap", "few_shot", "encoder", "accuracy")``."""
    flat = diff.get(SUMMARY)
    if not flat:
        raise SynthclfError(f"{SUMMARY}: in neither revision (run the pipeline and commit its metrics)")
    return {tuple(key.split(".")): (_number(v.get("old")), _number(v.get("new"))) for key, v in flat.items()}


def _number(value: Any) -> float | None:
    """A finite number, else None (a missing value, a string, or the NaN of a bootstrap without finite draws)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None


def half_width(interval: Interval | None) -> float | None:
    """Half the width of a 95% interval; None without one."""
    return None if interval is None else (interval[1] - interval[0]) / 2


def combined_noise(*half_widths: float | None) -> float | None:
    """How far apart independent estimates of one quantity fall by chance alone: their intervals' half-widths
    in quadrature, over those known (so one estimate's own half-width if only it has an interval); None
    if none has an interval."""
    known = [h for h in half_widths if h is not None]
    return math.sqrt(sum(h * h for h in known)) if known else None


@dataclass(frozen=True)
class Move:
    """One number in the old and the new revision, each with its 95% interval if the summary had one."""

    old: float | None
    new: float | None
    old_interval: Interval | None
    new_interval: Interval | None

    @property
    def noise(self) -> float | None:
        return combined_noise(half_width(self.old_interval), half_width(self.new_interval))

    @property
    def change(self) -> float | None:
        return None if self.old is None or self.new is None else self.new - self.old

    @property
    def verdict(self) -> str:
        if self.old == self.new:
            return UNCHANGED
        if self.change is None:
            return ADDED_OR_REMOVED
        if self.noise is None:
            return NO_INTERVAL
        return CHANGED if abs(self.change) > self.noise else WITHIN_NOISE


def move_at(changes: Mapping[tuple[str, ...], Change], key: tuple[str, ...]) -> Move:
    """The number at ``key`` (which must be in ``changes``) with the intervals from the keys beside it."""
    old, new = changes[key]
    lows = changes.get((*key[:-1], f"{key[-1]}_low"), (None, None))
    highs = changes.get((*key[:-1], f"{key[-1]}_high"), (None, None))
    intervals = [(low, high) if low is not None and high is not None else None for low, high in zip(lows, highs)]
    return Move(old, new, *intervals)


def render_comment(changes: Mapping[tuple[str, ...], Change], old_label: str, new_label: str) -> str:
    """Markdown: one scores-and-gap table per classifier, then the subjectivity correlation."""
    tasks = _tasks_by_subjectivity(changes)
    score_keys = [key for key in changes
                  if len(key) == 6 and key[0] == "tasks" and key[2] in ("scores", "gap") and key[5] in SCORES]
    classifiers = _ordered(key[4] for key in score_keys)
    verdicts = Counter(move_at(changes, key).verdict for key in score_keys)
    others = [f"{verdicts[verdict]} {what}" for verdict, what in (
        (WITHIN_NOISE, "moved within noise"), (NO_INTERVAL, "moved with no interval to judge by"),
        (ADDED_OR_REMOVED, "appeared or disappeared")) if verdicts[verdict]]
    lines = [
        f"## synthclf: real vs synthetic training data, `{old_label}` → `{new_label}`",
        "",
        (f"{verdicts[CHANGED]} of {len(score_keys)} scores and gaps changed beyond noise"
         + "".join(f"; {other}" for other in others) + ". Percent on the real test set, 95% interval in brackets; "
         "the gap is real minus synthetic, in points (smaller is better for synthetic data)."),
        "",
        RULE,
    ]
    for clf in classifiers:
        table = _scores_table(changes, tasks, clf)
        lines += ["", f"### {CLASSIFIER_TITLES.get(clf, clf)}", "", markdown(table, right=SCORE_COLUMNS[2:])]
    rho_keys = sorted(key for key in changes if len(key) == 4 and key[0] == "subjectivity_vs_gap" and key[3] == "spearman_rho")
    if rho_keys:
        rho = "Spearman ρ (subjectivity vs Macro-F1 gap)"
        trend = pd.DataFrame([{"Method": SOURCE_TITLES.get(key[1], key[1]), "Classifier": key[2],
                               rho: _cell(changes, key, scale=1, digits=2)} for key in rho_keys])
        lines += ["", "### Does the gap grow with subjectivity?", "", markdown(trend, right=[rho])]
    return "\n".join(lines) + "\n"


def _scores_table(changes: Mapping[tuple[str, ...], Change], tasks: Sequence[str], clf: str) -> pd.DataFrame:
    """One row per task x training source: its scores and its gap to real data, each as :func:`_cell` shows it."""
    rows = []
    for task in tasks:
        sources = _ordered((key[3] for key in changes if len(key) == 6 and key[:3] == ("tasks", task, "scores")),
                           first=list(SOURCE_TITLES))
        for source in sources:
            # Real data has no gap to itself: those two cells stay empty.
            cells = [_cell(changes, ("tasks", task, part, source, clf, metric))
                     for part in ("scores", "gap") for metric in SCORES]
            rows.append([task, SOURCE_TITLES.get(source, source), *cells])
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)


def _tasks_by_subjectivity(changes: Mapping[tuple[str, ...], Change]) -> list[str]:
    """Objective tasks first, as in the report; the newer revision's level wins."""
    levels = {key[1]: value[1] if value[1] is not None else value[0]
              for key, value in changes.items() if key[0] == "tasks" and key[2:] == ("subjectivity",)}
    return sorted(levels, key=lambda task: (levels[task] or 0, task))


def _ordered(names: Iterable[str], first: Sequence[str] = ()) -> list[str]:
    """Distinct names in order of appearance, those listed in ``first`` leading in that order."""
    seen = list(dict.fromkeys(names))
    return [n for n in first if n in seen] + [n for n in seen if n not in first]


def _cell(changes: Mapping[tuple[str, ...], Change], key: tuple[str, ...], scale: float = 100, digits: int = 1) -> str:
    """The number at ``key`` (shares shown as percent and points by default) with its interval: one value
    when nothing moved, else ``old → new (change, verdict)``; empty when neither revision has it."""
    if key not in changes:
        return ""
    m = move_at(changes, key)

    def show(x: float | None, interval: Interval | None) -> str:
        if x is None:
            return "–"
        shown = f"{scale * x:.{digits}f}"
        return shown if interval is None else f"{shown} [{scale * interval[0]:.{digits}f}, {scale * interval[1]:.{digits}f}]"

    verdict = m.verdict
    if verdict == UNCHANGED:
        return show(m.new, m.new_interval)
    moved = f"{show(m.old, m.old_interval)} → {show(m.new, m.new_interval)}"
    if m.change is None:  # added or removed: nothing to subtract
        return moved
    change = f"{scale * m.change:+.{digits}f}"
    if verdict == NO_INTERVAL:
        return f"{moved} ({change}, no interval)"
    threshold = f"±{scale * m.noise:.{digits}f}"
    if verdict == CHANGED:
        return f"{moved} (**{change}**, beyond noise {threshold})"
    return f"{moved} ({change}, within noise {threshold})"


def pr_comment(a_rev: str | None = None, b_rev: str | None = None, repo: Path | None = None) -> str:
    """The Markdown comparing revision ``a_rev`` (default HEAD) with ``b_rev`` (default the workspace)."""
    changes = summary_changes(dvc_metrics_diff(a_rev, b_rev, repo))
    return render_comment(changes, a_rev or "HEAD", b_rev or "workspace")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``synthclf pr-comment``."""
    parser.add_argument("a_rev", nargs="?", help="old revision (default: HEAD)")
    parser.add_argument("b_rev", nargs="?", help="new revision (default: the workspace)")


def run(args: argparse.Namespace) -> None:
    """``synthclf pr-comment``: a :class:`SynthclfError` for the caller to report."""
    print(pr_comment(args.a_rev, args.b_rev), end="")
