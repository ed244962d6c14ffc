"""Kept runs side by side: the settings named by the params that differ, means over tasks with their
changes from the baseline, per-task rows with what the filters removed, and the command's errors."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from synthclf.compare_runs import compare, load_run, settings

DIVERSITY = {"n": 10, "remote_clique": 0.8, "chamfer": 0.3, "similarity_to_real": 0.4, "distinct_1": 0.3, "distinct_2": 0.6}


def kept_run(root: Path, name: str, near_duplicates: bool, f1: dict[str, dict[str, float]], removed: int) -> Path:
    """A folder as synthclf keep-run leaves it, with Macro-F1 per task and source (TF-IDF only)."""
    folder = root / name
    params = {"tasks": ["news", "humor"], "methods": ["zero_shot", "few_shot"], "seed": 0,
              "filter": {"near_duplicates": {"enabled": near_duplicates, "threshold": 0.7}},
              "train": {"classifiers": ["tfidf_lr"]}}
    tasks = {
        task: {"scores": {source: {"tfidf_lr": {"macro_f1": v, "accuracy": v}} for source, v in by_source.items()},
               "diversity": {source: DIVERSITY for source in by_source}}
        for task, by_source in f1.items()
    }
    (folder / "metrics" / "filter").mkdir(parents=True)
    (folder / "params.yaml").write_text(yaml.safe_dump(params))
    (folder / "metrics" / "summary.json").write_text(json.dumps({"tasks": tasks}))
    for task in f1:
        for method in params["methods"]:
            record = {"kept": 10 - removed, "removed": {"near_duplicate": removed, "contaminated": 0}}
            (folder / "metrics" / "filter" / f"{task}-{method}.json").write_text(json.dumps(record))
    return folder


@pytest.fixture
def two_runs(tmp_path):
    plain = kept_run(tmp_path, "plain", False, {"news": {"real": 0.9, "zero_shot": 0.5, "few_shot": 0.6},
                                                "humor": {"real": 0.7, "zero_shot": 0.3, "few_shot": 0.4}}, removed=0)
    deduplicated = kept_run(tmp_path, "dedup", True, {"news": {"real": 0.9, "zero_shot": 0.6, "few_shot": 0.6},
                                                      "humor": {"real": 0.7, "zero_shot": 0.4, "few_shot": 0.3}}, removed=2)
    return plain, deduplicated


def test_settings_are_the_params_that_differ(two_runs):
    runs = [load_run(folder) for folder in two_runs]
    assert settings(runs) == {"plain": {"filter.near_duplicates.enabled": "false"},
                              "dedup": {"filter.near_duplicates.enabled": "true"}}
    text = compare(runs)
    assert "| Run | `filter.near_duplicates.enabled` |\n|---|---|\n| plain | false |\n| dedup | true |" in text


def test_means_over_tasks_with_changes_from_the_baseline(two_runs):
    text = compare([load_run(folder) for folder in two_runs])
    rows = [line for line in text.splitlines() if line.startswith("| dedup | ")][1:]  # after the settings row
    # Zero-shot: mean (0.6 + 0.4) / 2 = 50.0, +10.0 on the baseline's zero-shot (40.0);
    # few-shot: mean 45.0, -5.0 on the baseline's few-shot (50.0), +5.0 on its zero-shot.
    assert rows[0] == "| dedup | Zero-shot | 50.0 | +10.0 | +10.0 |"
    assert rows[1] == "| dedup | Few-shot | 45.0 | -5.0 | +5.0 |"
    assert "| (all) | Real | 80.0 |" in text
    # Per task: kept texts, near-duplicates removed, F1 with its change from the baseline.
    assert "| dedup | Zero-shot | 8 | 2 / 0 / 0 | 60.0 (+10.0) |" in text
    assert "| plain | Zero-shot | 10 | 0 / 0 / 0 | 50.0 |" in text


def test_scores_over_several_seeds_show_their_spread(two_runs):
    summary_file = two_runs[1] / "metrics" / "summary.json"
    summary = json.loads(summary_file.read_text())
    summary["tasks"]["news"]["scores"]["zero_shot"]["tfidf_lr"].update(
        {"macro_f1_std": 0.05, "accuracy_std": 0.05, "n_seeds": 2})
    summary_file.write_text(json.dumps(summary))
    text = compare([load_run(folder) for folder in two_runs])
    assert "| dedup | Zero-shot | 8 | 2 / 0 / 0 | 60.0 ± 5.0 (+10.0) |" in text
    # One seed: no spread shown.
    assert "| dedup | Few-shot | 8 | 2 / 0 / 0 | 60.0 (+0.0) |" in text


def test_the_command_writes_a_file_or_fails_in_one_line(two_runs, tmp_path):
    out = tmp_path / "COMPARISON.md"
    args = [sys.executable, "-m", "synthclf.commands", "compare-runs"]
    done = subprocess.run([*args, *map(str, two_runs), "--output", str(out)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert out.read_text().startswith("# Kept runs compared")

    missing = subprocess.run([*args, str(two_runs[0]), str(tmp_path / "nope")], capture_output=True, text=True, check=False)
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [f"error: {tmp_path / 'nope'}: not a kept run (no params.yaml; keep one with synthclf keep-run)"]
