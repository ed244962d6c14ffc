"""synthclf.results: the evaluate stage's scores as tidy DataFrame rows, one per model and metric (the
validation split and older eval files as means), the summary with intervals, a groupby that gives back
the eval file's mean, the kept runs in this repository, and one-line errors naming the file."""

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from repo_helpers import ROOT

from synthclf.errors import SynthclfError
from synthclf.results import load, summary


def scores(f1: float, accuracy: float, half_width: float | None = None, **extra) -> dict:
    """A score record as the evaluate stage writes it, with an interval of ± ``half_width``."""
    record = {"macro_f1": f1, "accuracy": accuracy, **extra}
    if half_width is not None:
        record.update({f"{m}_{end}": v + sign * half_width for m, v in (("macro_f1", f1), ("accuracy", accuracy))
                       for end, sign in (("low", -1), ("high", 1))})
    return record


# metrics/eval/news.json: real data trained with seeds 2 and 10 (one sample, replicate 0); few-shot data in
# two generation replicates x the same two seeds. Each test mean is the mean of its models.
NEWS = {
    "n": {"validation": 4, "test": 8},
    "validation": {
        "chance_macro_f1": 0.5,
        "scores": {"real": {"tfidf_lr": scores(0.75, 0.8, 0.1, models=2, replicates=1)},
                   "few_shot": {"tfidf_lr": scores(0.5, 0.55, 0.1, models=4, replicates=2)}},
        "differences": {"real - few_shot": {"tfidf_lr": scores(0.25, 0.25, 0.05)}},
    },
    "test": {
        "chance_macro_f1": 0.5,
        "scores": {
            "real": {"tfidf_lr": scores(0.85, 0.9, 0.05, models=2, replicates=1, per_class_f1={"a": 0.8, "b": 0.9},
                                        by_model={"r0-s2": scores(0.8, 0.85), "r0-s10": scores(0.9, 0.95)})},
            "few_shot": {"tfidf_lr": scores(0.65, 0.7, 0.1, models=4, replicates=2, per_class_f1={"a": 0.6, "b": 0.7},
                                            by_model={"r0-s2": scores(0.5, 0.6), "r0-s10": scores(0.6, 0.7),
                                                      "r1-s2": scores(0.7, 0.7), "r1-s10": scores(0.8, 0.8)})},
        },
        "differences": {"real - few_shot": {"tfidf_lr": scores(0.2, 0.2, 0.05)}},
    },
}
NA = None


def write_eval(folder: Path, task: str, data: dict) -> None:
    """As synthclf.io.write_json writes it: keys sorted, so "r0-s10" comes before "r0-s2" and few_shot before real."""
    (folder / "metrics" / "eval").mkdir(parents=True, exist_ok=True)
    (folder / "metrics" / "eval" / f"{task}.json").write_text(json.dumps(data, indent=2, sort_keys=True))


def as_lists(frame: pd.DataFrame) -> list[list]:
    """The frame's rows as plain lists, None for a missing value."""
    return frame.astype(object).where(frame.notna(), None).values.tolist()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_eval(tmp_path, "news", NEWS)
    return tmp_path


def test_load_gives_one_row_per_model_and_metric_and_the_validation_means(project):
    rows = load(project)
    assert list(rows.columns) == ["task", "source", "method", "classifier", "split", "replicate", "seed", "metric", "value"]
    # Real data first; models in replicate and seed order (seed 2 before 10); the test split before validation.
    assert as_lists(rows) == [
        ["news", "real", NA, "tfidf_lr", "test", 0, 2, "macro_f1", 0.8],
        ["news", "real", NA, "tfidf_lr", "test", 0, 2, "accuracy", 0.85],
        ["news", "real", NA, "tfidf_lr", "test", 0, 10, "macro_f1", 0.9],
        ["news", "real", NA, "tfidf_lr", "test", 0, 10, "accuracy", 0.95],
        ["news", "few_shot", "few_shot", "tfidf_lr", "test", 0, 2, "macro_f1", 0.5],
        ["news", "few_shot", "few_shot", "tfidf_lr", "test", 0, 2, "accuracy", 0.6],
        ["news", "few_shot", "few_shot", "tfidf_lr", "test", 0, 10, "macro_f1", 0.6],
        ["news", "few_shot", "few_shot", "tfidf_lr", "test", 0, 10, "accuracy", 0.7],
        ["news", "few_shot", "few_shot", "tfidf_lr", "test", 1, 2, "macro_f1", 0.7],
        ["news", "few_shot", "few_shot", "tfidf_lr", "test", 1, 2, "accuracy", 0.7],
        ["news", "few_shot", "few_shot", "tfidf_lr", "test", 1, 10, "macro_f1", 0.8],
        ["news", "few_shot", "few_shot", "tfidf_lr", "test", 1, 10, "accuracy", 0.8],
        # No per-model scores on validation: the source's mean, replicate and seed missing.
        ["news", "real", NA, "tfidf_lr", "validation", NA, NA, "macro_f1", 0.75],
        ["news", "real", NA, "tfidf_lr", "validation", NA, NA, "accuracy", 0.8],
        ["news", "few_shot", "few_shot", "tfidf_lr", "validation", NA, NA, "macro_f1", 0.5],
        ["news", "few_shot", "few_shot", "tfidf_lr", "validation", NA, NA, "accuracy", 0.55],
    ]


def test_text_is_string_dtype_replicate_and_seed_nullable_integers(project):
    rows = load(project)
    text = ["task", "source", "method", "classifier", "split", "metric"]
    assert all(isinstance(rows[c].dtype, pd.StringDtype) and rows[c].dtype.na_value is pd.NA for c in text)
    assert rows.dtypes[["replicate", "seed", "value"]].astype(str).tolist() == ["Int64", "Int64", "float64"]
    assert rows.loc[rows.source == "real", "method"].isna().all()
    assert rows.loc[rows.split == "validation", ["replicate", "seed"]].isna().all().all()


def test_a_groupby_of_the_rows_gives_back_the_eval_files_means(project):
    rows = load(project)
    means = rows.groupby(["split", "source", "classifier", "metric"]).value.mean()
    for split in ("test", "validation"):
        for source, by_classifier in NEWS[split]["scores"].items():
            for metric in ("macro_f1", "accuracy"):
                assert means[split, source, "tfidf_lr", metric] == pytest.approx(by_classifier["tfidf_lr"][metric], abs=1e-12)
    # The mean over replicates of each replicate's mean over seeds, as the eval file takes it, is the same.
    test = rows[rows.split == "test"]
    per_replicate = test.groupby(["source", "metric", "replicate"]).value.mean()
    assert per_replicate.groupby(level=["source", "metric"]).mean()["few_shot", "macro_f1"] == pytest.approx(0.65, abs=1e-12)


def test_summary_gives_each_source_and_classifier_its_mean_and_interval(project):
    table = summary(project)
    assert list(table.columns) == ["task", "source", "method", "classifier", "split", "metric", "mean", "low", "high"]
    assert table.dtypes[["mean", "low", "high"]].astype(str).tolist() == ["float64"] * 3
    assert as_lists(table.round(12)) == [
        ["news", "real", NA, "tfidf_lr", "test", "macro_f1", 0.85, 0.8, 0.9],
        ["news", "real", NA, "tfidf_lr", "test", "accuracy", 0.9, 0.85, 0.95],
        ["news", "few_shot", "few_shot", "tfidf_lr", "test", "macro_f1", 0.65, 0.55, 0.75],
        ["news", "few_shot", "few_shot", "tfidf_lr", "test", "accuracy", 0.7, 0.6, 0.8],
        ["news", "real", NA, "tfidf_lr", "validation", "macro_f1", 0.75, 0.65, 0.85],
        ["news", "real", NA, "tfidf_lr", "validation", "accuracy", 0.8, 0.7, 0.9],
        ["news", "few_shot", "few_shot", "tfidf_lr", "validation", "macro_f1", 0.5, 0.4, 0.6],
        ["news", "few_shot", "few_shot", "tfidf_lr", "validation", "accuracy", 0.55, 0.45, 0.65],
    ]


def test_older_eval_files_of_kept_runs_load_as_test_scores(tmp_path):
    """Before the validation split: source -> classifier -> test scores; per seed (replicate 0, one sample of
    each source) where several seeds were trained, else the one model's scores with its seed unknown."""
    write_eval(tmp_path, "news", {"real": {"tfidf_lr": {
        "macro_f1": 0.85, "macro_f1_std": 0.05, "accuracy": 0.9, "accuracy_std": 0.05, "n_test": 8,
        "seeds": {"0": scores(0.8, 0.85), "1": scores(0.9, 0.95)}}}})
    write_eval(tmp_path, "humor", {"real": {"tfidf_lr": scores(0.7, 0.75, n_test=4)},
                                   "zero_shot": {"tfidf_lr": scores(0.4, 0.5, n_test=4)}})
    assert as_lists(load(tmp_path)) == [
        ["humor", "real", NA, "tfidf_lr", "test", NA, NA, "macro_f1", 0.7],
        ["humor", "real", NA, "tfidf_lr", "test", NA, NA, "accuracy", 0.75],
        ["humor", "zero_shot", "zero_shot", "tfidf_lr", "test", NA, NA, "macro_f1", 0.4],
        ["humor", "zero_shot", "zero_shot", "tfidf_lr", "test", NA, NA, "accuracy", 0.5],
        ["news", "real", NA, "tfidf_lr", "test", 0, 0, "macro_f1", 0.8],
        ["news", "real", NA, "tfidf_lr", "test", 0, 0, "accuracy", 0.85],
        ["news", "real", NA, "tfidf_lr", "test", 0, 1, "macro_f1", 0.9],
        ["news", "real", NA, "tfidf_lr", "test", 0, 1, "accuracy", 0.95],
    ]
    # Written before intervals: the summary's bounds are missing.
    assert as_lists(summary(tmp_path))[-1] == ["news", "real", NA, "tfidf_lr", "test", "accuracy", 0.9, NA, NA]


KEPT_RUNS = sorted(folder for folder in (ROOT / "reports" / "runs").glob("*") if (folder / "metrics" / "eval").is_dir())


@pytest.mark.parametrize("run", KEPT_RUNS, ids=[folder.name for folder in KEPT_RUNS])
def test_every_kept_run_in_this_repository_loads_and_its_models_average_to_its_scores(run):
    rows, table = load(run), summary(run)
    keys = ["task", "source", "classifier", "split", "metric"]
    means = rows.groupby(keys).value.mean()
    assert means.to_numpy() == pytest.approx(table.set_index(keys)["mean"].loc[means.index].to_numpy(), abs=1e-9)


def test_a_folder_without_metrics_is_one_line_naming_it(tmp_path):
    with pytest.raises(SynthclfError) as missing:
        load(tmp_path / "nope")
    assert str(missing.value) == (f"{tmp_path / 'nope'}: no such folder (name a synthclf project or a kept run, "
                                  "reports/runs/NAME)")
    with pytest.raises(SynthclfError) as empty:
        summary(tmp_path)
    assert str(empty.value) == (f"{tmp_path / 'metrics' / 'eval'}: no <task>.json files (run dvc repro, or name a "
                                "synthclf project or a kept run, reports/runs/NAME)")


def test_a_file_that_is_not_an_eval_file_is_one_line_naming_it(tmp_path):
    write_eval(tmp_path, "news", {"test": {"scores": {"real": {"tfidf_lr": {"accuracy": 0.5}}}}})
    news = tmp_path / "metrics" / "eval" / "news.json"
    with pytest.raises(SynthclfError) as lacking:
        load(tmp_path)
    assert str(lacking.value) == f"{news}: test scores of real/tfidf_lr: macro_f1 and accuracy must be numbers"
    write_eval(tmp_path, "news", {"test": {"scores": {"real": {"tfidf_lr": scores(0.5, 0.5, by_model={"seed0": scores(0.5, 0.5)})}}}})
    with pytest.raises(SynthclfError) as misnamed:
        load(tmp_path)
    assert str(misnamed.value) == f"{news}: by_model entry 'seed0': want 'r<replicate>-s<seed>' with numbers macro_f1 and accuracy"
    news.write_text("{")
    with pytest.raises(SynthclfError, match=f"^{re.escape(str(news))}: not valid JSON"):
        load(tmp_path)
