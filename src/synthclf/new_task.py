"""A new task file from your own labelled data: ``tasks/<name>.yaml`` scaffolded from train and test CSVs.

It finds the labels and their counts, points a ``local`` source at the files' folder and sizes the word
limit from the texts; what only you can say (what each label means, the prompts, a subjectivity level)
is left as a TODO. Each TODO stands where a required value is missing (null), so the task loads, and a
stage runs with it, only once every TODO is filled in.

Command line: ``synthclf new-task NAME --train DIR/train.csv --test DIR/test.csv [--text-column C]
[--label-column C]``, in the project's root.
"""

from __future__ import annotations

import argparse
import math
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pydantic
import yaml

from synthclf.errors import SynthclfError, describe_validation_error
from synthclf.io import atomic_write
from synthclf.raw_data import Columns
from synthclf.sources import clean_text, read_records
from synthclf.tasks import TASKS_DIR, Task

HELP = "scaffold tasks/NAME.yaml from your labelled train and test CSV files"
DESCRIPTION = (
    "Write tasks/NAME.yaml for your own data: the labels found in the label column (with their counts), a "
    "local source reading train.csv and test.csv from the files' folder, and a word limit that fits the "
    "texts. What each label means, the prompts and the subjectivity level are left as TODOs to fill in; "
    "the task loads only once they are. Run it in the project's root."
)
EXAMPLE = """example:
  synthclf new-task support_tickets --train ../tickets/train.csv --test ../tickets/test.csv \\
      --text-column body --label-column team
  # then fill in every TODO in tasks/support_tickets.yaml, add support_tickets to tasks in
  # params.yaml, and run dvc repro"""

NAME = re.compile(r"[a-z0-9_]+")  # as Task.name: the file name and the task's name in params.yaml
SUFFIXES = (".csv", ".jsonl")  # what the local source reads
MAX_LABELS = 100  # more is almost surely the wrong column (every label gets its own generation requests)
# Stand-ins for the TODOs, to check that the scaffold is a valid task once they are filled in.
FILLED = {"title": "x", "description": "x", "subjectivity": 3, "subjectivity_note": "x"}


def read_table(path: Path, text_column: str, label_column: str) -> Any:
    """The file as a pandas DataFrame of strings, read by the local source's own reader (so a file this
    command accepts is one ``prepare`` can read), its columns checked."""
    import pandas as pd  # only this command needs pandas

    if not path.is_file():
        raise SynthclfError(f"{path}: file not found")
    try:
        records = read_records(path, Columns(text=text_column, label=label_column, agreement=None))
    except SynthclfError as exc:
        if "missing column" not in str(exc):
            raise
        raise SynthclfError(f"{exc}; name yours with --text-column / --label-column") from None
    return pd.DataFrame([{k: "" if v is None else str(v) for k, v in record.items()} for _, record in records])


def label_counts(frame: Any, path: Path, text_column: str, label_column: str) -> Counter[str]:
    """How many rows carry each label, over the rows the local source keeps (those with a text)."""
    kept = frame[frame[text_column].map(lambda t: bool(clean_text(str(t))))]
    labels = kept[label_column].map(str)
    empty = int((labels.str.strip() == "").sum())
    if empty:
        raise SynthclfError(f"{path}: {empty} row(s) with a text but no label in column '{label_column}': label or remove them")
    return Counter(labels)


def _is_agreement(frame: Any, column: str) -> bool:
    """Whether ``column`` holds annotator agreement as the local source reads it: a share in [0, 1] or a
    percentage, or nothing."""
    if column not in frame.columns:
        return False
    for value in frame[column]:
        if str(value).strip():
            try:
                share = float(value)
            except ValueError:
                return False
            if not 0 <= share <= 100:
                return False
    return True


def _check_files(train: Path, test: Path) -> None:
    """The local source reads ``train`` and ``test`` (.csv or .jsonl) from one folder."""
    for path in (train, test):
        if not path.is_file():
            raise SynthclfError(f"{path}: file not found")
    for path, split in ((train, "train"), (test, "test")):
        if path.stem != split or path.suffix not in SUFFIXES:
            raise SynthclfError(f"{path}: name it {split}.csv (or {split}.jsonl): the task's local source "
                                f"reads train.csv and test.csv from one folder")
        if path.suffix == ".jsonl" and path.with_suffix(".csv").exists():
            raise SynthclfError(f"{path}: {path.with_suffix('.csv')} is beside it, and the local source reads that one")
    if train.resolve().parent != test.resolve().parent:
        raise SynthclfError(f"{train} and {test} are in different folders: the task's local source reads "
                            "train.csv and test.csv from one folder")


def source_path(folder: Path, root: Path) -> str:
    """The folder as the task file names it: relative to the project root when it is near (inside the
    project or beside it, as ../shared/datasets/<task>), absolute otherwise."""
    folder, root = folder.resolve(), root.resolve()
    if folder.is_relative_to(root) or folder.is_relative_to(root.parent):
        return Path(os.path.relpath(folder, root)).as_posix()
    return folder.as_posix()


def word_limit(texts: Any) -> int:
    """The 90th percentile of the texts' word counts, rounded up to a multiple of 5."""
    counts = sorted(len(clean_text(str(t)).split()) for t in texts if clean_text(str(t)))
    q90 = counts[min(len(counts) - 1, math.ceil(0.9 * len(counts)) - 1)]
    return max(5, 5 * math.ceil(q90 / 5))


def _scalar(value: Any) -> str:
    """``value`` as one YAML scalar (quoted where YAML would read it as something else: '1', 'yes')."""
    return yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=1 << 20).strip().removesuffix("...").strip()


def _comment(text: str) -> str:
    return " ".join(str(text).split())  # a comment stays on its line


def render(name: str, train: Path, test: Path, path: str, text_column: str, label_column: str,
           agreement_column: str | None, train_counts: Counter[str], test_counts: Counter[str], limit: int) -> str:
    """The task file's text."""
    labels = sorted(set(train_counts) | set(test_counts))
    codes = all(re.fullmatch(r"-?\d+", label) for label in labels)
    lines = [
        f"# tasks/{name}.yaml, scaffolded by `synthclf new-task` from {_comment(train)} and {_comment(test)}.",
        "# Fill in every TODO: each stands where a value is missing (null), so the task does not load, and no",
        "# stage runs with it, until you have. tasks/movie_snippets.yaml is a complete example. Then add",
        f"# {name} to `tasks` in params.yaml and run `dvc repro`.",
        f"name: {name}",
        "# TODO: a short title for tables and figures, e.g. \"Support tickets by team\".",
        "title: null",
        "# TODO: what the texts are, what the labels mean and where the data comes from (a few lines).",
        "description: null",
        "stands_in_for: null  # your own task: it stands in for none of the paper's",
        "# Subjectivity: how much people would disagree on the right label, from 1 (objective, like news",
        "# topics) to 5 (subjective, like humor or sarcasm); see README, \"Subjectivity and the statistics\".",
        "# Put your best guess here: the `subjectivity` stage (dvc repro) estimates it from the LLM's pairwise",
        "# \"which task is more objective?\" judgements and writes the estimate to metrics/subjectivity.json",
        "# and the report, where you can check your guess.",
        "# TODO: 1 to 5",
        "subjectivity: null",
        "# analogy: a level you placed yourself (paper and reconstructed are for the paper's own tasks, whose",
        "# levels anchor the scale of the subjectivity stage's estimates).",
        "subjectivity_basis: analogy",
        "# TODO: a sentence or two on why that level.",
        "subjectivity_note: null",
        f"# Found in column '{_comment(label_column)}'; the comment after each label: its train / test rows.",
        "# TODO: for every label, one line saying what it means: the LLM is asked for texts that express it",
        "# ({description} in prompts.generation), e.g. \"a positive opinion of the movie\".",
    ]
    if codes:
        lines += ["# The labels are codes: say in each description what the code stands for (or map the codes",
                  "# to names with label_map under the source, and list those names here)."]
    lines.append("labels:")
    lines += [f"  {_scalar(label)}: null  # {train_counts[label]} / {test_counts[label]}" for label in labels]
    lines += [
        "prompts:",
        "  # TODO: the scene for the LLM, e.g. \"You are a movie critic writing reviews for Rotten Tomatoes.\"",
        "  context: null",
        "  # TODO: the request for one text; it may use {label}, {description} and {word_limit}, e.g.",
        "  #   Write one sentence from a movie review that expresses {description}. Use at most",
        "  #   {word_limit} words. Write only the sentence.",
        "  generation: null",
        f"  word_limit: {limit}  # 90% of the training texts have at most this many words",
        "sources:",
        "  # The prepare stage reads train and test from this folder (relative to the project root).",
        "  - kind: local",
        f"    path: {_scalar(path)}",
    ]
    if text_column != "text":
        lines.append(f"    text_column: {_scalar(text_column)}")
    if label_column != "label":
        lines.append(f"    label_column: {_scalar(label_column)}")
    if agreement_column:
        lines.append(f"    agreement_column: {_scalar(agreement_column)}  # the share of annotators who chose the label")
    return "\n".join(lines) + "\n"


def todos(raw: dict[str, Any]) -> int:
    """How many values the scaffold leaves for the user to fill in (each null, marked TODO)."""
    top = sum(raw[key] is None for key in FILLED)
    return top + sum(v is None for v in raw["labels"].values()) + sum(raw["prompts"][k] is None for k in ("context", "generation"))


def check_scaffold(text: str, name: str, labels: list[str]) -> dict[str, Any]:
    """The scaffold parses, names every label, and is a valid task once its TODOs are filled in."""
    raw = yaml.safe_load(text)
    if not isinstance(raw, dict) or list(raw.get("labels") or {}) != labels:
        raise SynthclfError(f"tasks/{name}.yaml: the scaffold lost labels (a bug in synthclf new-task)")
    filled = {**raw, **FILLED, "labels": {label: "x" for label in labels},
              "prompts": {**raw["prompts"], "context": "x", "generation": "x {description}"}}
    try:
        Task.model_validate(filled)
    except pydantic.ValidationError as exc:
        raise describe_validation_error(f"tasks/{name}.yaml (scaffold, a bug in synthclf new-task)", exc) from None
    return raw


def new_task(name: str, train: Path, test: Path, text_column: str = "text", label_column: str = "label",
             root: Path = Path(".")) -> tuple[Path, Counter[str], Counter[str], int]:
    """Write ``root/tasks/<name>.yaml``; return it, the label counts of train and test, and how many
    values are left to fill in."""
    if not NAME.fullmatch(name):
        raise SynthclfError(f"task name {name!r}: use lower-case letters, digits and '_' (it names the file and the task)")
    tasks_dir = root / TASKS_DIR
    if not tasks_dir.is_dir():
        raise SynthclfError(f"no {TASKS_DIR}/ folder in {root.resolve()}: run synthclf new-task in the project's root")
    target = tasks_dir / f"{name}.yaml"
    if target.exists():
        raise SynthclfError(f"{target} exists: choose another name (or edit that file)")
    _check_files(train, test)
    frames = {path: read_table(path, text_column, label_column) for path in (train, test)}
    train_counts, test_counts = (label_counts(frames[p], p, text_column, label_column) for p in (train, test))
    if not train_counts:
        raise SynthclfError(f"{train}: no row with a text in column '{text_column}'")
    labels = sorted(set(train_counts) | set(test_counts))
    untrained = sorted(set(test_counts) - set(train_counts))
    if untrained:
        raise SynthclfError(f"{test}: label {untrained[0]!r} is not in {train}: every label needs training examples")
    if len(labels) < 2:
        raise SynthclfError(f"found {len(labels)} label in column '{label_column}' ({', '.join(map(repr, labels))}): "
                            "a classification task needs at least 2")
    if len(labels) > MAX_LABELS:
        raise SynthclfError(f"found {len(labels)} labels in column '{label_column}': is that the label column? "
                            f"(more than {MAX_LABELS} is refused)")
    agreement = "agreement" if all(_is_agreement(frame, "agreement") for frame in frames.values()) else None
    text = render(name, train, test, source_path(train.parent, root), text_column, label_column, agreement,
                  train_counts, test_counts, word_limit(frames[train][text_column]))
    raw = check_scaffold(text, name, labels)
    with atomic_write(target) as fh:
        fh.write(text)
    return target, train_counts, test_counts, todos(raw)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``synthclf new-task``."""
    parser.add_argument("name", help="the task's name: lower-case letters, digits and '_' (tasks/NAME.yaml)")
    parser.add_argument("--train", required=True, type=Path, help="the labelled training data: a file named train.csv")
    parser.add_argument("--test", required=True, type=Path, help="the labelled test data: test.csv in the same folder")
    parser.add_argument("--text-column", default="text", help="the column holding the texts (default: text)")
    parser.add_argument("--label-column", default="label", help="the column holding the labels (default: label)")


def run(args: argparse.Namespace) -> None:
    target, train_counts, test_counts, missing = new_task(args.name, args.train, args.test, args.text_column, args.label_column)
    labels = sorted(set(train_counts) | set(test_counts))
    print(f"wrote {target}: {len(labels)} labels ("
          + ", ".join(f"{label} {train_counts[label]}/{test_counts[label]}" for label in labels) + " train/test rows)")
    for label in labels:
        if not test_counts[label]:
            print(f"note: label {label!r} has no test rows, so the test set cannot measure it")
    print(f"next: fill in the {missing} values marked TODO (until then the task does not load, and the subjectivity "
          f"stage, which reads every task file, stops with an error naming it), add {args.name} to tasks in "
          "params.yaml, then dvc repro")
