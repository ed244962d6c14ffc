"""Pull-request comments: how the real-vs-synthetic results moved between two revisions.

``dvc metrics diff --json`` lists every number of ``metrics/summary.json`` (see
``report.build_summary``) under a flattened key such as ``tasks.imdb.scores.few_shot.encoder.macro_f1``.
A reviewer needs three of its parts, laid out like the report: the score of each task x training
source, the real-minus-synthetic gap, and the subjectivity-vs-gap correlation.

Command line: ``synthclf pr-comment [A] [B]`` compares revision A (default HEAD) with B (default the
workspace), as ``dvc metrics diff`` does, and prints Markdown.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from synthclf.errors import SynthclfError, dvc_error
from synthclf.titles import CLASSIFIER_TITLES, SOURCE_TITLES

SUMMARY = "metrics/summary.json"
SCORES = ("macro_f1", "accuracy")
# (old, new): None where the revision has no such number (a task added or removed).
Change = tuple[float | None, float | None]

HELP = "print Markdown of how the real-vs-synthetic results moved between two revisions (for a PR comment)"
DESCRIPTION = (
    "Print Markdown comparing the real-vs-synthetic results of revision A (default HEAD) with B (default the "
    "workspace), as dvc metrics diff does: each task x training source's scores, the real-minus-synthetic "
    "gap, and the subjectivity-vs-gap correlation."
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
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def render_comment(changes: Mapping[tuple[str, ...], Change], old_label: str, new_label: str) -> str:
    """Markdown: one scores-and-gap table per classifier, then the subjectivity correlation."""
    tasks = _tasks_by_subjectivity(changes)
    score_keys = [key for key in changes
                  if len(key) == 6 and key[0] == "tasks" and key[2] in ("scores", "gap") and key[5] in SCORES]
    classifiers = _ordered(key[4] for key in score_keys)
    moved = sum(1 for key in score_keys if changes[key][0] != changes[key][1])
    lines = [
        f"## synthclf: real vs synthetic training data, `{old_label}` → `{new_label}`",
        "",
        (f"{moved} of {len(score_keys)} scores and gaps changed. Percent on the real test set; "
         "the gap is real minus synthetic, in points (smaller is better for synthetic data)."),
    ]
    for clf in classifiers:
        lines += ["", f"### {CLASSIFIER_TITLES.get(clf, clf)}", "", *_scores_table(changes, tasks, clf)]
    rho_keys = sorted(key for key in changes if len(key) == 4 and key[0] == "subjectivity_vs_gap" and key[3] == "spearman_rho")
    if rho_keys:
        lines += ["", "### Does the gap grow with subjectivity?", "",
                  "| Method | Classifier | Spearman ρ (subjectivity vs Macro-F1 gap) |", "|---|---|---:|"]
        for key in rho_keys:
            lines.append(f"| {SOURCE_TITLES.get(key[1], key[1])} | {key[2]} | {_cell(changes, key, scale=1, digits=2)} |")
    return "\n".join(lines) + "\n"


def _scores_table(changes: Mapping[tuple[str, ...], Change], tasks: Sequence[str], clf: str) -> list[str]:
    rows = ["| Task | Trained on | Macro-F1 | Accuracy | Gap, Macro-F1 | Gap, accuracy |",
            "|---|---|---:|---:|---:|---:|"]
    for task in tasks:
        sources = _ordered((key[3] for key in changes if len(key) == 6 and key[:3] == ("tasks", task, "scores")),
                           first=list(SOURCE_TITLES))
        for source in sources:
            # Real data has no gap to itself: those two cells stay empty.
            cells = [_cell(changes, ("tasks", task, part, source, clf, metric))
                     for part in ("scores", "gap") for metric in SCORES]
            rows.append(f"| {task} | {SOURCE_TITLES.get(source, source)} | " + " | ".join(cells) + " |")
    return rows


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
    """``old → new (change)`` of the number at ``key`` (shares shown as percent and points by default);
    one value when nothing moved; empty when neither revision has it."""
    if key not in changes:
        return ""
    old, new = changes[key]

    def show(x: float | None) -> str:
        return "–" if x is None else f"{scale * x:.{digits}f}"

    if old == new:
        return show(new)
    if old is None or new is None:
        return f"{show(old)} → {show(new)}"
    return f"{show(old)} → {show(new)} ({scale * (new - old):+.{digits}f})"


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
