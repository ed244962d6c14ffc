"""Whatever a task file or params.yaml holds, loading it either succeeds or raises SynthclfError
with one line naming the file: never a traceback of another exception type.

The examples start from the real files and break them (drop, retype or misspell fields), or are
arbitrary bytes, so that most of them reach the deeper validators rather than failing at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from repo_helpers import ROOT

from synthclf.errors import SynthclfError
from synthclf.params import Params, load_params
from synthclf.tasks import Task, load_task

TASK_NAME = "movie_snippets"
VALID_TASK = yaml.safe_load((ROOT / "tasks" / f"{TASK_NAME}.yaml").read_text())
VALID_PARAMS = yaml.safe_load((ROOT / "params.yaml").read_text())

SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                      max_leaves=6)
# derandomize: the same documents on every run, so CI fails for a change and never for a lucky draw;
# a defect found another way gets its own test (see test_tasks.py for keys with line breaks).
PROPERTY = settings(max_examples=100, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path into nested dicts and lists, the root included."""
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths(child, (*prefix, index))
    return found


@st.composite
def broken(draw: st.DrawFn, valid: dict) -> Any:
    """``valid`` after one to three edits: a value replaced or deleted, or a key misspelled or added."""
    document = yaml.safe_load(yaml.safe_dump(valid))  # a deep copy
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths(document)))
        if not path:
            return draw(VALUES)
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        key = path[-1]
        edit = draw(st.sampled_from(["replace", "delete", "misspell", "add"]))
        if edit == "replace":
            parent[key] = draw(VALUES)
        elif edit == "delete":
            del parent[key]
        elif isinstance(parent, dict):
            value = parent.pop(key) if edit == "misspell" else draw(VALUES)
            parent[f"{key}{draw(st.text(min_size=1, max_size=3))}"] = value
    return document


def write(path: Path, document: Any) -> None:
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")


def assert_valid_or_one_line_error(load: Any, path: Path, model: type) -> None:
    try:
        assert isinstance(load(), model)
    except SynthclfError as exc:
        message = str(exc)
        assert "\n" not in message and str(path) in message, message


@PROPERTY
@given(document=broken(VALID_TASK))
def test_any_task_document_loads_or_is_one_line_naming_the_file(tmp_path: Path, document: Any) -> None:
    path = tmp_path / f"{TASK_NAME}.yaml"
    write(path, document)
    assert_valid_or_one_line_error(lambda: load_task(TASK_NAME, tmp_path), path, Task)


@PROPERTY
@given(document=broken(VALID_PARAMS))
# llm.local as a list once crashed the concurrency default with an AttributeError.
@example(document={**VALID_PARAMS, "llm": {**VALID_PARAMS["llm"], "local": [4]}})
def test_any_params_document_loads_or_is_one_line_naming_the_file(tmp_path: Path, document: Any) -> None:
    path = tmp_path / "params.yaml"
    write(path, document)
    assert_valid_or_one_line_error(lambda: load_params(path), path, Params)


@PROPERTY
@given(content=st.binary(max_size=200))
@example(content=b"tasks: [a]\nseed: 2021-13-45\n")  # a date YAML recognises but cannot build
@example(content=b"seed: \xff\xfe\n")  # not UTF-8
@example(content=b"[" * 1000)  # nested deeper than the parser follows
def test_any_bytes_load_or_are_one_line_naming_the_file(tmp_path: Path, content: bytes) -> None:
    (tmp_path / f"{TASK_NAME}.yaml").write_bytes(content)
    assert_valid_or_one_line_error(lambda: load_task(TASK_NAME, tmp_path), tmp_path / f"{TASK_NAME}.yaml", Task)
    (tmp_path / "params.yaml").write_bytes(content)
    assert_valid_or_one_line_error(lambda: load_params(tmp_path / "params.yaml"), tmp_path / "params.yaml", Params)
