"""The pull-request comment, from real `dvc metrics diff` runs in a git + DVC repository whose
metrics/summary.json changes between commits: summaries with 95% intervals (a move is a change only
beyond the two revisions' noise), and older ones without (their moves say there is no interval)."""

import json
import subprocess
import sys
from importlib import import_module
from pathlib import Path

import pytest
import tomllib
from markdown_helpers import unpadded
from repo_helpers import ROOT, commit_all, init_repo, tool_env
from scipy.stats import spearmanr

from synthclf.metrics_diff import pr_comment, render_comment, summary_changes

DVC_YAML = """\
stages:
  analyze:
    cmd: python stages/analyze.py
    metrics:
    - metrics/summary.json:
        cache: false
"""
SUBJECTIVITY = {"bbc_news": 1, "tweet_sentiment": 3, "seinfeld_humor": 5}
METHODS = ("zero_shot", "few_shot")
# task -> source -> (macro_f1, accuracy) of the one classifier, tfidf_lr.
BEFORE = {
    "bbc_news": {"real": (0.80, 0.85), "zero_shot": (0.60, 0.70), "few_shot": (0.70, 0.75)},
    "tweet_sentiment": {"real": (0.60, 0.65), "zero_shot": (0.50, 0.55), "few_shot": (0.55, 0.60)},
    "seinfeld_humor": {"real": (0.60, 0.62), "zero_shot": (0.40, 0.50), "few_shot": (0.45, 0.52)},
}


def summary(scores: dict, subjectivity: dict = SUBJECTIVITY, half_width: float | None = None) -> dict:
    """metrics/summary.json in the shape synthclf.summary.build_summary gives it. ``half_width``: every score's 95% interval is
    the score ± it, and every gap's ± 0.6 of it (paired on the same items, so narrower), with the validation
    scores and best method beside them; None: the format from before intervals, with ρ's interval a list."""

    def figures(values: dict, hw: float | None) -> dict:
        if hw is None:
            return dict(values)
        return {**values, **{f"{k}_{end}": v + sign * hw for k, v in values.items() for end, sign in (("low", -1), ("high", 1))}}

    tasks = {}
    for task, by_source in scores.items():
        score = {source: {"tfidf_lr": figures({"macro_f1": f1, "accuracy": acc}, half_width)}
                 for source, (f1, acc) in by_source.items()}
        real = by_source["real"]
        gap = {m: {"tfidf_lr": figures({"macro_f1": real[0] - by_source[m][0], "accuracy": real[1] - by_source[m][1]},
                                       None if half_width is None else 0.6 * half_width)} for m in METHODS}
        tasks[task] = {"subjectivity": subjectivity[task], "scores": score, "gap": gap}
        if half_width is not None:
            tasks[task]["validation"] = score
            tasks[task]["best_method"] = {"tfidf_lr": max(METHODS, key=lambda m: by_source[m][0])}
    ordered = sorted(tasks)
    correlations = {}
    for m in METHODS:
        rho = float(spearmanr([subjectivity[t] for t in ordered], [tasks[t]["gap"][m]["tfidf_lr"]["macro_f1"] for t in ordered])[0])
        interval = {"rho_ci95": [-1.0, 1.0]} if half_width is None else {"spearman_rho_low": -1.0, "spearman_rho_high": 1.0}
        correlations[m] = {"tfidf_lr": {"spearman_rho": rho, **interval}}
    return {"tasks": tasks, "subjectivity_vs_gap": correlations}


def write_summary(repo: Path, scores: dict, subjectivity: dict = SUBJECTIVITY, half_width: float | None = None) -> None:
    (repo / "metrics").mkdir(exist_ok=True)
    (repo / "metrics" / "summary.json").write_text(json.dumps(summary(scores, subjectivity, half_width), indent=2))


def comment_cli(repo: Path, *revs: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "synthclf.commands", "pr-comment", *revs], cwd=repo, env=tool_env(),
                          capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def two_commits(tmp_path_factory) -> Path:
    """Commit 1: BEFORE. Commit 2: few-shot bbc_news data got better (Macro-F1 0.70 -> 0.76)."""
    repo = tmp_path_factory.mktemp("metrics-repo")
    env = tool_env()
    init_repo(repo, env)
    (repo / "dvc.yaml").write_text(DVC_YAML)
    write_summary(repo, BEFORE)
    commit_all(repo, env, "first run")
    after = {**BEFORE, "bbc_news": {**BEFORE["bbc_news"], "few_shot": (0.76, 0.75)}}
    write_summary(repo, after)
    commit_all(repo, env, "better few-shot prompts")
    return repo


def test_comment_without_intervals_shows_old_new_and_change_and_says_there_is_no_interval(two_commits):
    """Summaries written before intervals: every move is shown, none called a change."""
    markdown = unpadded(pr_comment("HEAD~1", "HEAD", repo=two_commits))
    assert "`HEAD~1` → `HEAD`" in markdown
    # 3 tasks x (3 sources + 2 gaps) x 2 numbers: the few-shot score and its gap moved.
    assert "0 of 30 scores and gaps changed beyond noise; 2 moved with no interval to judge by." in markdown
    assert "A move counts as a change only when it exceeds √(h_old² + h_new²)" in markdown
    assert "### TF-IDF + logistic regression" in markdown
    assert ("| Task | Trained on | Macro-F1 | Accuracy | Gap, Macro-F1 | Gap, accuracy |\n|---|---|---:|---:|---:|---:|"
            in markdown)
    assert ("| bbc_news | Few-shot | 70.0 → 76.0 (+6.0, no interval) | 75.0 | 10.0 → 4.0 (-6.0, no interval) | 10.0 |"
            in markdown)
    assert "| bbc_news | Real | 80.0 | 85.0 |  |  |" in markdown
    assert "| seinfeld_humor | Zero-shot | 40.0 | 50.0 | 20.0 | 12.0 |" in markdown
    # Few-shot gaps by subjectivity went from 10, 5, 15 points to 4, 5, 15: a perfect rank correlation. The old
    # format's interval of rho is a list, rho_ci95, which dvc metrics leaves out.
    assert "| Few-shot | tfidf_lr | 0.50 → 1.00 (+0.50, no interval) |" in markdown
    # Objective tasks first, sources in the report's order.
    rows = [line for line in markdown.splitlines() if line.startswith("| ") and "|---" not in line][1:]
    assert [row.split(" | ")[0][2:] for row in rows[::3]][:3] == ["bbc_news", "tweet_sentiment", "seinfeld_humor"]
    assert [row.split(" | ")[1] for row in rows[:3]] == ["Real", "Zero-shot", "Few-shot"]


@pytest.fixture(scope="module")
def interval_commits(tmp_path_factory) -> Path:
    """Summaries with intervals (every score ± 5 points, every gap ± 3). Commit 2: few-shot bbc_news fell by
    4 points of Macro-F1, as regenerating alone can do; zero-shot seinfeld_humor rose by 15."""
    repo = tmp_path_factory.mktemp("interval-repo")
    env = tool_env()
    init_repo(repo, env)
    (repo / "dvc.yaml").write_text(DVC_YAML)
    write_summary(repo, BEFORE, half_width=0.05)
    commit_all(repo, env, "first run")
    after = {**BEFORE, "bbc_news": {**BEFORE["bbc_news"], "few_shot": (0.66, 0.75)},
             "seinfeld_humor": {**BEFORE["seinfeld_humor"], "zero_shot": (0.55, 0.50)}}
    write_summary(repo, after, half_width=0.05)
    commit_all(repo, env, "regenerated")
    return repo


def test_a_move_within_noise_is_marked_so_and_one_beyond_it_as_a_change(interval_commits):
    markdown = unpadded(pr_comment("HEAD~1", "HEAD", repo=interval_commits))
    # Scores: independent intervals of ± 5 make a noise of √(5² + 5²) = 7.1 points; gaps: √(3² + 3²) = 4.2.
    assert "2 of 30 scores and gaps changed beyond noise; 2 moved within noise." in markdown
    assert ("| bbc_news | Few-shot | 70.0 [65.0, 75.0] → 66.0 [61.0, 71.0] (-4.0, within noise ±7.1) | "
            "75.0 [70.0, 80.0] | 10.0 [7.0, 13.0] → 14.0 [11.0, 17.0] (+4.0, within noise ±4.2) | 10.0 [7.0, 13.0] |"
            in markdown)
    assert ("| seinfeld_humor | Zero-shot | 40.0 [35.0, 45.0] → 55.0 [50.0, 60.0] (**+15.0**, beyond noise ±7.1) | "
            "50.0 [45.0, 55.0] | 20.0 [17.0, 23.0] → 5.0 [2.0, 8.0] (**-15.0**, beyond noise ±4.2) | 12.0 [9.0, 15.0] |"
            in markdown)
    assert "| bbc_news | Real | 80.0 [75.0, 85.0] | 85.0 [80.0, 90.0] |  |  |" in markdown
    # The validation scores and the best method are not part of the comment.
    assert "validation" not in markdown.lower() and "best" not in markdown.lower()


def test_a_summary_with_intervals_against_one_without_judges_by_the_one_interval():
    """The first run after intervals came: only the new revision has one, and its half-width alone is the noise."""
    old, new = summary(BEFORE), summary({**BEFORE, "bbc_news": {**BEFORE["bbc_news"], "few_shot": (0.76, 0.80)}},
                                        half_width=0.05)

    def flat(d: dict, prefix: str = "") -> dict:
        """Keys as dvc metrics diff --json --all lays them out; it leaves lists out."""
        out = {}
        for k, v in d.items():
            if isinstance(v, dict):
                out.update(flat(v, f"{prefix}{k}."))
            elif not isinstance(v, list):
                out[f"{prefix}{k}"] = v
        return out

    before, after = flat(old), flat(new)
    diff = {"metrics/summary.json": {k: {"old": before.get(k), "new": after.get(k)} for k in {*before, *after}}}
    markdown = unpadded(render_comment(summary_changes(diff), "main", "workspace"))
    assert ("| bbc_news | Few-shot | 70.0 → 76.0 [71.0, 81.0] (**+6.0**, beyond noise ±5.0) | "
            "75.0 → 80.0 [75.0, 85.0] (+5.0, within noise ±5.0) | 10.0 → 4.0 [1.0, 7.0] (**-6.0**, beyond noise ±3.0) | "
            "10.0 → 5.0 [2.0, 8.0] (**-5.0**, beyond noise ±3.0) |" in markdown)
    assert "| bbc_news | Zero-shot | 60.0 [55.0, 65.0] | 70.0 [65.0, 75.0] | 20.0 [17.0, 23.0] | 15.0 [12.0, 18.0] |" in markdown


def test_cli_defaults_to_head_against_the_workspace_and_shows_a_new_task(two_commits):
    scores = {**BEFORE, "imdb": {"real": (0.90, 0.90), "zero_shot": (0.80, 0.81), "few_shot": (0.85, 0.86)}}
    write_summary(two_commits, scores, {**SUBJECTIVITY, "imdb": 2})
    try:
        proc = comment_cli(two_commits)
    finally:
        subprocess.run(["git", "checkout", "--", "metrics"], cwd=two_commits, check=True)
    assert proc.returncode == 0, proc.stderr
    markdown = unpadded(proc.stdout)
    assert "`HEAD` → `workspace`" in markdown
    assert "| imdb | Zero-shot | – → 80.0 | – → 81.0 | – → 10.0 | – → 9.0 |" in markdown
    assert "| bbc_news | Few-shot | 76.0 → 70.0 (-6.0, no interval) |" in markdown
    assert "0 of 40 scores and gaps changed beyond noise; 2 moved with no interval to judge by; 10 appeared" in markdown


def test_bad_revision_is_one_line_and_exit_2(two_commits):
    proc = comment_cli(two_commits, "HEAD", "no-such-branch")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == "error: dvc metrics diff HEAD no-such-branch failed: unknown Git revision 'no-such-branch'\n"


def test_repository_without_a_summary_is_one_line_and_exit_2(tmp_path):
    init_repo(tmp_path, tool_env())
    (tmp_path / "dvc.yaml").write_text(DVC_YAML)
    proc = comment_cli(tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == ("error: metrics/summary.json: in neither revision "
                           "(run the pipeline and commit its metrics)\n")


def test_console_script_is_declared():
    """One entry point, `synthclf`, whose pr-comment subcommand is this module's."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"synthclf": "synthclf.commands:main"}
    module, function = scripts["synthclf"].split(":")
    commands = import_module(module)
    assert callable(getattr(commands, function))
    assert commands.SUBCOMMANDS["pr-comment"] is import_module("synthclf.metrics_diff")
