"""The pull-request comment, from real `dvc metrics diff` runs in a git + DVC repository whose
metrics/summary.json (written by report.build_summary) changes between commits."""

import json
import subprocess
import sys
from importlib import import_module
from pathlib import Path

import pytest
import tomllib
from repo_helpers import ROOT, commit_all, init_repo, tool_env

from synthclf.metrics_diff import pr_comment
from synthclf.report import build_summary

DVC_YAML = """\
stages:
  analyze:
    cmd: python stages/analyze.py
    metrics:
    - metrics/summary.json:
        cache: false
"""
SUBJECTIVITY = {"bbc_news": 1, "tweet_sentiment": 3, "seinfeld_humor": 5}
# task -> source -> (macro_f1, accuracy) of the one classifier, tfidf_lr.
BEFORE = {
    "bbc_news": {"real": (0.80, 0.85), "zero_shot": (0.60, 0.70), "few_shot": (0.70, 0.75)},
    "tweet_sentiment": {"real": (0.60, 0.65), "zero_shot": (0.50, 0.55), "few_shot": (0.55, 0.60)},
    "seinfeld_humor": {"real": (0.60, 0.62), "zero_shot": (0.40, 0.50), "few_shot": (0.45, 0.52)},
}


def write_summary(repo: Path, scores: dict, subjectivity: dict = SUBJECTIVITY) -> None:
    evals = {
        task: {source: {"tfidf_lr": {"macro_f1": f1, "accuracy": acc}} for source, (f1, acc) in by_source.items()}
        for task, by_source in scores.items()
    }
    summary = build_summary(subjectivity, evals, ["zero_shot", "few_shot"], ["tfidf_lr"], {task: {} for task in evals})
    (repo / "metrics").mkdir(exist_ok=True)
    (repo / "metrics" / "summary.json").write_text(json.dumps(summary, indent=2))


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


def test_comment_shows_old_new_and_change_of_scores_gaps_and_correlation(two_commits):
    markdown = pr_comment("HEAD~1", "HEAD", repo=two_commits)
    assert "`HEAD~1` → `HEAD`" in markdown
    # 3 tasks x (3 sources + 2 gaps) x 2 numbers: the few-shot score and its gap moved.
    assert "2 of 30 scores and gaps changed" in markdown
    assert "### TF-IDF + logistic regression" in markdown
    assert "| bbc_news | Few-shot | 70.0 → 76.0 (+6.0) | 75.0 | 10.0 → 4.0 (-6.0) | 10.0 |" in markdown
    assert "| bbc_news | Real | 80.0 | 85.0 |  |  |" in markdown
    assert "| seinfeld_humor | Zero-shot | 40.0 | 50.0 | 20.0 | 12.0 |" in markdown
    # Few-shot gaps by subjectivity went from 10, 5, 15 points to 4, 5, 15: a perfect rank correlation.
    assert "| Few-shot | tfidf_lr | 0.50 → 1.00 (+0.50) |" in markdown
    # Objective tasks first, sources in the report's order.
    rows = [line for line in markdown.splitlines() if line.startswith("| ") and "|---" not in line][1:]
    assert [row.split(" | ")[0][2:] for row in rows[::3]][:3] == ["bbc_news", "tweet_sentiment", "seinfeld_humor"]
    assert [row.split(" | ")[1] for row in rows[:3]] == ["Real", "Zero-shot", "Few-shot"]


def test_cli_defaults_to_head_against_the_workspace_and_shows_a_new_task(two_commits):
    scores = {**BEFORE, "imdb": {"real": (0.90, 0.90), "zero_shot": (0.80, 0.81), "few_shot": (0.85, 0.86)}}
    write_summary(two_commits, scores, {**SUBJECTIVITY, "imdb": 2})
    try:
        proc = comment_cli(two_commits)
    finally:
        subprocess.run(["git", "checkout", "--", "metrics"], cwd=two_commits, check=True)
    assert proc.returncode == 0, proc.stderr
    assert "`HEAD` → `workspace`" in proc.stdout
    assert "| imdb | Zero-shot | – → 80.0 | – → 81.0 | – → 10.0 | – → 9.0 |" in proc.stdout
    assert "| bbc_news | Few-shot | 76.0 → 70.0 (-6.0) |" in proc.stdout


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
