"""Files on disk: JSON Lines and JSON records written atomically so no reader ever sees half a
file, and validated YAML configuration."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, TypeVar

import pydantic
import yaml

from synthclf.errors import SynthclfError, describe_validation_error

ModelT = TypeVar("ModelT", bound=pydantic.BaseModel)
# Read once at import: os.umask can only be read by setting it, which is not thread-safe later on.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


@contextmanager
def atomic_write(path: str | Path, mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; rename it over ``path`` only if the block succeeds.

    A crash, Ctrl-C or exception leaves the previous version of ``path`` untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        encoding = None if "b" in mode else "utf-8"
        with os.fdopen(fd, mode, encoding=encoding) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp makes the file private (0600); outputs get the usual permissions, as open() gives.
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_jsonl(path: str | Path, records: Iterable[dict[str, Any]]) -> int:
    """Write one JSON object per line; return how many were written."""
    n = 0
    with atomic_write(path) as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            n += 1
    return n


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Read a JSON Lines file, naming the file and line of any defect."""
    path = Path(path)
    if not path.is_file():
        raise SynthclfError(f"{path}: file not found")
    records = []
    try:
        with path.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise SynthclfError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
                if not isinstance(record, dict):
                    raise SynthclfError(f"{path}:{lineno}: expected a JSON object")
                records.append(record)
    except UnicodeDecodeError as exc:
        raise SynthclfError(f"{path}: not UTF-8 (byte {exc.start})") from None
    return records


def read_examples(path: str | Path, labels: Collection[str] | None = None) -> list[dict[str, Any]]:
    """Read labelled records (``text`` and ``label`` strings), naming the file and record of any defect.

    With ``labels``, every record's label must be one of them.
    """
    records = read_jsonl(path)
    for number, record in enumerate(records, 1):
        if not (isinstance(record.get("text"), str) and isinstance(record.get("label"), str)):
            raise SynthclfError(f"{path}: record {number}: needs the string fields 'text' and 'label'")
        if labels is not None and record["label"] not in labels:
            raise SynthclfError(
                f"{path}: record {number}: label '{record['label']}' is not one of {', '.join(labels)}"
            )
    return records


def write_json(path: str | Path, obj: Any) -> None:
    """Write pretty, key-sorted JSON so that diffs between commits stay small."""
    with atomic_write(path) as fh:
        json.dump(obj, fh, indent=2, sort_keys=True, ensure_ascii=False)
        fh.write("\n")


def _read_text(path: str | Path) -> str:
    path = Path(path)
    if not path.is_file():
        raise SynthclfError(f"{path}: file not found")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SynthclfError(f"{path}: not UTF-8 (byte {exc.start})") from None


def read_json(path: str | Path) -> Any:
    text = _read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SynthclfError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a key given twice in one mapping is an error: PyYAML would keep
    the last one silently, so a second ``World:`` under labels would replace the first unnoticed."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        self.flatten_mapping(node)  # merge keys (<<) first, as the base class does
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                repeated = key in seen
            except TypeError:
                continue  # an unhashable key: the base class reports it
            if repeated:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} at line {key_node.start_mark.line + 1}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file, naming the file on any defect: missing, not UTF-8, not valid YAML, or a key
    repeated in one mapping."""
    text = _read_text(path)
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    # ValueError: a scalar that looks like a date but is none (2021-13-45); RecursionError: nesting
    # deeper than the parser follows. Both are defects of the file, not of synthclf.
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        first_line = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise SynthclfError(f"{path}: not a readable YAML file ({first_line})") from None


def read_yaml_model(path: str | Path, model: type[ModelT], missing_hint: str) -> ModelT:
    """Read the YAML mapping in ``path`` and validate it as ``model``; every problem is one line
    naming the file (and the field, for validation errors)."""
    path = Path(path)
    if not path.is_file():
        raise SynthclfError(f"{path}: file not found ({missing_hint})")
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise SynthclfError(f"{path}: expected a mapping of fields, got {type(raw).__name__}")
    try:
        return model.model_validate(raw)
    except pydantic.ValidationError as exc:
        raise describe_validation_error(str(path), exc) from None
