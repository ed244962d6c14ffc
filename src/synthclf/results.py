"""Results as pandas DataFrames: the evaluate stage's scores as tidy rows for a notebook, and the Markdown
rendering that the commands' tables share.

``load(path)`` reads the ``metrics/eval/<task>.json`` files of a project folder, or of a kept run
(``reports/runs/<name>/``, see :mod:`synthclf.runs`), into one row per trained model and metric;
``summary(path)`` gives each task x source x classifier's mean with its 95% interval. A notebook::

    import synthclf.results

    rows = synthclf.results.load(".")                       # or "reports/runs/filters_off"
    test = rows[rows.split == "test"]
    test.groupby(["task", "source", "classifier", "metric"]).value.mean().unstack("metric")
    synthclf.results.summary(".").query("metric == 'macro_f1'")  # with 95% intervals

No stage imports this module.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from synthclf.errors import SynthclfError
from synthclf.io import read_json

EVAL = Path("metrics/eval")
SPLITS = ("test", "validation")
METRICS = ("macro_f1", "accuracy")
ROW_COLUMNS = ["task", "source", "method", "classifier", "split", "replicate", "seed", "metric", "value"]
SUMMARY_COLUMNS = ["task", "source", "method", "classifier", "split", "metric", "mean", "low", "high"]
TEXT_COLUMNS = ["task", "source", "method", "classifier", "split", "metric"]
# The evaluate stage names each model of a source "r<replicate>-s<seed>" under by_model.
_MODEL = re.compile(r"r(\d+)-s(-?\d+)")

# (split, source, classifier, record): one score record of an eval file.
Record = tuple[str, str, str, Mapping[str, Any]]
# (replicate, seed, scores) of one model; None where the file did not record them.
Model = tuple[int | None, int | None, Mapping[str, Any]]


def load(path: str | Path = ".") -> pd.DataFrame:
    """Every trained model's Macro-F1 and accuracy as tidy rows, for a project folder or a kept run.

    Columns: ``task``, ``source`` (``real`` or a method), ``method`` (the source, missing for real data),
    ``classifier``, ``split``, ``replicate`` and ``seed`` (nullable integers), ``metric`` (``macro_f1``
    or ``accuracy``) and ``value``. The text columns are pandas' ``string`` dtype, so a missing method
    is ``pd.NA``.

    On the test split there is one row per model (generation replicate x training seed) and metric. The
    evaluate stage records no per-model scores on the validation split, so its rows are each source's
    mean over its models, with ``replicate`` and ``seed`` missing; so are the test rows of eval files
    written before per-seed scores were kept (older kept runs). Keep the splits apart before averaging.

    The eval file's score is the mean over replicates of each replicate's mean over seeds; every replicate
    is trained on the same seeds, so that is the plain mean of the rows::

        rows = synthclf.results.load("reports/runs/four_methods")
        test = rows[rows.split == "test"]
        test.groupby(["task", "source", "classifier", "metric"]).value.mean()
        # the spread over training seeds within one replicate:
        test.groupby(["task", "source", "classifier", "metric", "replicate"]).value.std()
    """
    rows = [
        (task, source, _method(source), classifier, split, replicate, seed, metric, scores[metric])
        for task, file in _eval_files(path).items()
        for split, source, classifier, record in _records(file)
        for replicate, seed, scores in _models(file, record)
        for metric in METRICS
    ]
    return _typed(pd.DataFrame(rows, columns=ROW_COLUMNS), {"replicate": "Int64", "seed": "Int64", "value": "float64"})


def summary(path: str | Path = ".") -> pd.DataFrame:
    """Each task x source x classifier's score on each split, with its 95% interval, for a project folder
    or a kept run.

    Columns: ``task``, ``source``, ``method``, ``classifier``, ``split``, ``metric`` as in :func:`load`,
    then ``mean`` (over the models), ``low`` and ``high`` (the bootstrap interval over test items and
    generation replicates; missing in eval files written before intervals). Read from the eval files, as
    :func:`load` is, so the two always agree, and usable as soon as the evaluate stage has run::

        scores = synthclf.results.summary(".")
        scores[(scores.split == "test") & (scores.metric == "macro_f1")].pivot(
            index="task", columns=["classifier", "source"], values="mean")
    """
    rows = [
        (task, source, _method(source), classifier, split, metric, record[metric],
         record.get(f"{metric}_low"), record.get(f"{metric}_high"))
        for task, file in _eval_files(path).items()
        for split, source, classifier, record in _records(file)
        for metric in METRICS
    ]
    return _typed(pd.DataFrame(rows, columns=SUMMARY_COLUMNS), dict.fromkeys(("mean", "low", "high"), "float64"))


def _eval_files(path: str | Path) -> dict[str, Path]:
    """Each task's eval file in the folder ``path``, by task name, in name order."""
    folder = Path(path)
    if not folder.is_dir():
        raise SynthclfError(f"{folder}: no such folder (name a synthclf project or a kept run, reports/runs/NAME)")
    files = sorted((folder / EVAL).glob("*.json"))
    if not files:
        raise SynthclfError(f"{folder / EVAL}: no <task>.json files (run dvc repro, or name a synthclf project or "
                            "a kept run, reports/runs/NAME)")
    return {file.stem: file for file in files}


def _records(file: Path) -> list[Record]:
    """The score records of one eval file, real data first, the test split before validation."""
    data = read_json(file)
    if isinstance(data, dict) and "test" in data:
        by_split = {split: data[split].get("scores") for split in SPLITS if isinstance(data.get(split), dict)}
    else:
        # Written before the validation split existed (older kept runs): source -> classifier -> test scores.
        by_split = {"test": data}
    records: list[Record] = []
    for split, by_source in by_split.items():
        if not isinstance(by_source, dict) or not by_source:
            raise SynthclfError(f"{file}: no {split} scores: not an output of the evaluate stage")
        for source in sorted(by_source, key=lambda s: s != "real"):
            by_classifier = by_source[source]
            if not isinstance(by_classifier, dict):
                raise SynthclfError(f"{file}: {split} scores of '{source}' are not a mapping of classifiers")
            for classifier, record in by_classifier.items():
                if not _has_scores(record):
                    raise SynthclfError(f"{file}: {split} scores of {source}/{classifier}: {' and '.join(METRICS)} "
                                        "must be numbers")
                records.append((split, source, classifier, record))
    return records


def _models(file: Path, record: Mapping[str, Any]) -> list[Model]:
    """(replicate, seed, scores) of each model behind ``record``, in replicate and seed order; the record
    itself, with neither known, where the file kept no per-model scores (the validation split, the
    oldest eval files)."""
    if "by_model" in record:
        models: dict[tuple[int, int], Mapping[str, Any]] = {}
        for name, scores in record["by_model"].items():
            match = _MODEL.fullmatch(name)
            if match is None or not _has_scores(scores):
                raise SynthclfError(f"{file}: by_model entry {name!r}: want 'r<replicate>-s<seed>' with numbers "
                                    f"{' and '.join(METRICS)}")
            models[int(match[1]), int(match[2])] = scores
        # Sorted as numbers: the file's keys are sorted as text, which puts r0-s10 before r0-s2.
        return [(replicate, seed, scores) for (replicate, seed), scores in sorted(models.items())]
    if "seeds" in record:
        # Eval files from before generation replicates: each source was one sample, replicate 0.
        return [(0, int(seed), record["seeds"][seed]) for seed in sorted(record["seeds"], key=int)]
    return [(None, None, record)]


def _has_scores(record: Any) -> bool:
    return isinstance(record, dict) and all(isinstance(record.get(m), (int, float)) for m in METRICS)


def _method(source: str) -> str | None:
    return None if source == "real" else source


def _typed(frame: pd.DataFrame, dtypes: Mapping[str, str]) -> pd.DataFrame:
    """The same dtypes whatever the rows hold (none, or only missing values) and whichever pandas infers
    text as: ``string`` text with ``pd.NA`` for missing, and ``dtypes`` for the rest."""
    return frame.astype({**dict.fromkeys(TEXT_COLUMNS, "string"), **dtypes})
