"""Kept runs side by side: the settings named by the params that differ, every run x method ranked and
the best chosen by validation Macro-F1 (never by the test set), test figures with their intervals for
information, runs kept before validation scores existed named as unrankable, per-task rows with what the
filters removed, and the command's errors."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from markdown_helpers import unpadded

from synthclf.compare_runs import compare, load_run, settings

DIVERSITY = {"n": 10, "remote_clique": 0.8, "chamfer": 0.3, "similarity_to_real": 0.4, "distinct_1": 0.3, "distinct_2": 0.6}


def kept_run(root: Path, name: str, near_duplicates: bool, f1: dict[str, dict[str, float]], removed: int,
             validation: dict[str, dict[str, float]] | None = None, half_width: float | None = None) -> Path:
    """A folder as synthclf keep-run leaves it, with test Macro-F1 per task and source (TF-IDF only) and, for
    runs kept since the summary records them, validation Macro-F1 and intervals of ± ``half_width``."""
    folder = root / name
    params = {"tasks": ["news", "humor"], "methods": ["zero_shot", "few_shot"], "seed": 0,
              "filter": {"near_duplicates": {"enabled": near_duplicates, "threshold": 0.7}},
              "train": {"classifiers": ["tfidf_lr"]}}

    def record(v: float) -> dict:
        bounds = {} if half_width is None else {"macro_f1_low": v - half_width, "macro_f1_high": v + half_width}
        return {"tfidf_lr": {"macro_f1": v, "accuracy": v, **bounds}}

    tasks = {
        task: {"scores": {source: record(v) for source, v in by_source.items()},
               "diversity": {source: DIVERSITY for source in by_source}}
        for task, by_source in f1.items()
    }
    for task, by_source in (validation or {}).items():
        tasks[task]["validation"] = {source: record(v) for source, v in by_source.items()}
    (folder / "metrics" / "filter").mkdir(parents=True)
    (folder / "params.yaml").write_text(yaml.safe_dump(params))
    (folder / "metrics" / "summary.json").write_text(json.dumps({"tasks": tasks}))
    for task in f1:
        for method in params["methods"]:
            record = {"kept": 10 - removed, "removed": {"near_duplicate": removed, "contaminated": 0}}
            (folder / "metrics" / "filter" / f"{task}-{method}.json").write_text(json.dumps(record))
    return folder


PLAIN_TEST = {"news": {"real": 0.9, "zero_shot": 0.5, "few_shot": 0.6}, "humor": {"real": 0.7, "zero_shot": 0.3, "few_shot": 0.4}}
DEDUP_TEST = {"news": {"real": 0.9, "zero_shot": 0.7, "few_shot": 0.6}, "humor": {"real": 0.7, "zero_shot": 0.5, "few_shot": 0.3}}
# On validation the order differs: plain few-shot is best, dedup zero-shot (the test set's best) third.
PLAIN_VALIDATION = {"news": {"real": 0.85, "zero_shot": 0.5, "few_shot": 0.7}, "humor": {"real": 0.65, "zero_shot": 0.3, "few_shot": 0.5}}
DEDUP_VALIDATION = {"news": {"real": 0.85, "zero_shot": 0.55, "few_shot": 0.6}, "humor": {"real": 0.65, "zero_shot": 0.35, "few_shot": 0.4}}


@pytest.fixture
def two_runs(tmp_path):
    """Runs kept before the summary held validation scores and intervals."""
    plain = kept_run(tmp_path, "plain", False, {"news": {"real": 0.9, "zero_shot": 0.5, "few_shot": 0.6},
                                                "humor": {"real": 0.7, "zero_shot": 0.3, "few_shot": 0.4}}, removed=0)
    deduplicated = kept_run(tmp_path, "dedup", True, {"news": {"real": 0.9, "zero_shot": 0.6, "few_shot": 0.6},
                                                      "humor": {"real": 0.7, "zero_shot": 0.4, "few_shot": 0.3}}, removed=2)
    return plain, deduplicated


@pytest.fixture
def validated_runs(tmp_path):
    """Runs with validation scores and intervals: every figure ± 4 points."""
    plain = kept_run(tmp_path, "plain", False, PLAIN_TEST, removed=0, validation=PLAIN_VALIDATION, half_width=0.04)
    dedup = kept_run(tmp_path, "dedup", True, DEDUP_TEST, removed=2, validation=DEDUP_VALIDATION, half_width=0.04)
    return plain, dedup


def test_settings_are_the_params_that_differ(two_runs):
    runs = [load_run(folder) for folder in two_runs]
    assert settings(runs) == {"plain": {"filter.near_duplicates.enabled": "false"},
                              "dedup": {"filter.near_duplicates.enabled": "true"}}
    text = unpadded(compare(runs))
    assert "| Run | `filter.near_duplicates.enabled` |\n|---|---|\n| plain | false |\n| dedup | true |" in text


def test_runs_are_ranked_and_chosen_by_validation_not_test_macro_f1(validated_runs):
    text = unpadded(compare([load_run(folder) for folder in validated_runs]))
    assert "ranked, and the best chosen, by **validation Macro-F1**" in text
    assert "shown for information only; choosing by it would fit the choice to the test set" in text
    assert "## Ranking by validation Macro-F1, mean over tasks" in text
    # Means over the two tasks; the tasks' ± 4 make ± √(4² + 4²) / 2 = 2.8 for a mean, and a noise of
    # √(2.8² + 2.8²) = 4.0 between two runs' means.
    ranking = [line for line in text.splitlines() if line.startswith(("| 1 |", "| 2 |", "| 3 |", "| 4 |"))]
    assert ranking == [
        "| 1 | plain | Few-shot | 60.0 [57.2, 62.8] |  | 50.0 [47.2, 52.8] |",
        "| 2 | dedup | Few-shot | 50.0 [47.2, 52.8] | **-10.0**, beyond noise ±4.0 | 45.0 [42.2, 47.8] |",
        "| 3 | dedup | Zero-shot | 45.0 [42.2, 47.8] | **+5.0**, beyond noise ±4.0 | 60.0 [57.2, 62.8] |",
        "| 4 | plain | Zero-shot | 40.0 [37.2, 42.8] |  | 40.0 [37.2, 42.8] |",
    ]
    assert "|  | (all) | Real | 75.0 [72.2, 77.8] |  | 80.0 [77.2, 82.8] |" in text
    # The test set's best (dedup zero-shot, 60.0) is not the choice.
    assert ("Chosen by validation Macro-F1: **plain**, Few-shot (60.0 [57.2, 62.8]). It leads the runner-up, dedup, "
            "Few-shot (50.0 [47.2, 52.8]) by 10.0 points, beyond noise (±4.0).") in text
    assert "cannot be ranked" not in text.lower() and "Kept before the summary recorded intervals" not in text
    # Per task: validation F1 with its change from the baseline (noise √(4² + 4²) = 5.7), test F1 with its interval.
    assert "| dedup | Zero-shot | 8 | 2 / 0 / 0 | 55.0 [51.0, 59.0] (+5.0, within noise ±5.7) | 70.0 [66.0, 74.0] |" in text
    assert "| dedup | Few-shot | 8 | 2 / 0 / 0 | 60.0 [56.0, 64.0] (**-10.0**, beyond noise ±5.7) | 60.0 [56.0, 64.0] |" in text
    assert "| plain | Zero-shot | 10 | 0 / 0 / 0 | 50.0 [46.0, 54.0] | 50.0 [46.0, 54.0] |" in text


def test_a_choice_within_noise_of_the_runner_up_says_a_second_run_may_choose_differently(validated_runs):
    summary_file = validated_runs[1] / "metrics" / "summary.json"
    summary = json.loads(summary_file.read_text())
    for task, value in (("news", 0.68), ("humor", 0.5)):
        summary["tasks"][task]["validation"]["few_shot"]["tfidf_lr"].update(
            macro_f1=value, macro_f1_low=value - 0.04, macro_f1_high=value + 0.04)
    summary_file.write_text(json.dumps(summary))
    text = unpadded(compare([load_run(folder) for folder in validated_runs]))
    assert ("Chosen by validation Macro-F1: **plain**, Few-shot (60.0 [57.2, 62.8]). It leads the runner-up, dedup, "
            "Few-shot (59.0 [56.2, 61.8]) by only 1.0 points, within noise (±4.0): a second run may well choose "
            "differently.") in text


def test_runs_without_validation_scores_cannot_be_ranked_and_test_scores_do_not_stand_in(two_runs):
    text = unpadded(compare([load_run(folder) for folder in two_runs]))
    assert "Chosen" not in text
    assert ("No run can be ranked: none has validation Macro-F1 on every task (they were kept before the summary "
            "recorded validation scores), and the test set is not for choosing.") in text
    # The test means are still there, for information: zero-shot (0.6 + 0.4) / 2 = 50.0, few-shot 45.0.
    assert "| – | dedup | Zero-shot | cannot be ranked: no validation scores |  | 50.0 |" in text
    assert "| – | dedup | Few-shot | cannot be ranked: no validation scores |  | 45.0 |" in text
    assert "|  | (all) | Real | – |  | 80.0 |" in text
    assert "so their figures have none (± there is the standard deviation over training seeds" in text
    assert "plain, dedup." in text
    # Per task: kept texts, near-duplicates removed, no validation F1, the test F1 without an interval.
    assert "| dedup | Zero-shot | 8 | 2 / 0 / 0 | – | 60.0 |" in text
    assert "| plain | Zero-shot | 10 | 0 / 0 / 0 | – | 50.0 |" in text
    # Figures keep the digits they were written with (0.800, not tabulate's reading of it as the number 0.8).
    assert ("| Run | Method | Kept | Removed (near duplicate / contaminated / label issue) | TF-IDF + logistic regression: "
            "validation F1 | test F1 | Remote-Clique | Chamfer | Sim. to real | distinct-2 |\n"
            "|---|---|---:|---|---:|---:|---:|---:|---:|---:|\n"
            "| (all) | Real | 10 |  | – | 90.0 | 0.800 | 0.300 | 0.400 | 0.600 |") in text


def test_a_run_without_validation_scores_is_left_out_of_the_ranking_beside_ranked_ones(tmp_path):
    plain = kept_run(tmp_path, "plain", False, PLAIN_TEST, removed=0, validation=PLAIN_VALIDATION, half_width=0.04)
    old = kept_run(tmp_path, "old", True, DEDUP_TEST, removed=2)
    text = unpadded(compare([load_run(plain), load_run(old)]))
    assert "| 1 | plain | Few-shot | 60.0 [57.2, 62.8] |  | 50.0 [47.2, 52.8] |" in text
    assert "| – | old | Zero-shot | cannot be ranked: no validation scores |  | 60.0 |" in text
    assert ("Chosen by validation Macro-F1: **plain**, Few-shot (60.0 [57.2, 62.8]). It leads the runner-up, plain, "
            "Zero-shot (40.0 [37.2, 42.8]) by 20.0 points, beyond noise (±4.0). Cannot be ranked (no validation "
            "Macro-F1 on every task): old.") in text
    assert "Kept before the summary recorded intervals, so their figures have none" in text and "seeds, where several were trained): old." in text


def test_scores_over_several_seeds_show_their_spread(two_runs):
    summary_file = two_runs[1] / "metrics" / "summary.json"
    summary = json.loads(summary_file.read_text())
    summary["tasks"]["news"]["scores"]["zero_shot"]["tfidf_lr"].update(
        {"macro_f1_std": 0.05, "accuracy_std": 0.05, "n_seeds": 2})
    summary_file.write_text(json.dumps(summary))
    text = unpadded(compare([load_run(folder) for folder in two_runs]))
    assert "| dedup | Zero-shot | 8 | 2 / 0 / 0 | – | 60.0 ± 5.0 |" in text
    # One seed: no spread shown.
    assert "| dedup | Few-shot | 8 | 2 / 0 / 0 | – | 60.0 |" in text


def test_the_command_writes_a_file_or_fails_in_one_line(two_runs, tmp_path):
    out = tmp_path / "COMPARISON.md"
    args = [sys.executable, "-m", "synthclf.commands", "compare-runs"]
    done = subprocess.run([*args, *map(str, two_runs), "--output", str(out)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert out.read_text().startswith("# Kept runs compared")

    missing = subprocess.run([*args, str(two_runs[0]), str(tmp_path / "nope")], capture_output=True, text=True, check=False)
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [f"error: {tmp_path / 'nope'}: not a kept run (no params.yaml; keep one with synthclf keep-run)"]


def _with_differences(folder: Path, differences: dict[str, dict[str, tuple]]) -> Path:
    """Adds test differences to a kept run's summary: task -> name -> (value, low, high[, real above chance])."""
    path = folder / "metrics" / "summary.json"
    summary = json.loads(path.read_text())
    for task, by_name in differences.items():
        for name, (value, low, high, *above) in by_name.items():
            record = {"macro_f1": value, "macro_f1_low": low, "macro_f1_high": high, "level": 0.9875}
            if name.startswith("real - "):
                record["real_above_chance"] = above[0] if above else True
                summary["tasks"][task].setdefault("gap", {})[name[len("real - "):]] = {"tfidf_lr": record}
            else:
                summary["tasks"][task].setdefault("method_differences", {})[name] = {"tfidf_lr": record}
    path.write_text(json.dumps(summary))
    return folder


def test_a_second_run_is_checked_against_the_verdicts_of_the_baseline(tmp_path):
    seed0 = _with_differences(kept_run(tmp_path, "seed0", True, PLAIN_TEST, 0, PLAIN_VALIDATION, 0.04), {
        "news": {"real - zero_shot": (0.40, 0.30, 0.50), "few_shot - zero_shot": (0.07, 0.001, 0.14)},
        "humor": {"real - few_shot": (0.12, 0.07, 0.17, False), "real - zero_shot": (-0.05, -0.08, -0.02)},
    })
    seed1 = _with_differences(kept_run(tmp_path, "seed1", True, PLAIN_TEST, 0, PLAIN_VALIDATION, 0.04), {
        "news": {"real - zero_shot": (0.35, 0.25, 0.45), "few_shot - zero_shot": (0.003, -0.09, 0.09)},
        "humor": {"real - few_shot": (0.01, -0.05, 0.07), "real - zero_shot": (0.05, 0.02, 0.08)},
    })
    text = unpadded(compare([load_run(seed0), load_run(seed1)]))
    section = text.split("## Does seed1 repeat seed0's verdicts?")[1]
    assert ("Of the 3 differences that either run calls, 1 agree in sign and significance, 1 have opposite signs "
            "and 1 are called by one run only.") in section
    assert "| news | tfidf_lr | real − zero_shot | +40.0 [+30.0, +50.0] | +35.0 [+25.0, +45.0] | agree |" in section
    assert "| news | tfidf_lr | few_shot − zero_shot | +7.0 [+0.1, +14.0] | +0.3 [-9.0, +9.0] | **one run only** |" in section
    assert "| humor | tfidf_lr | real − zero_shot | -5.0 [-8.0, -2.0] | +5.0 [+2.0, +8.0] | **opposite** |" in section
    # A gap where real data is not above chance is no verdict, in either run.
    assert "real − few_shot" not in section
