"""params.yaml is the one home of every setting: the models in params.py hold no defaults, the repo's
params files are complete, and a missing key is a one-line error naming it."""

from __future__ import annotations

import os
import typing
from pathlib import Path
from typing import Any

import pydantic
import pytest
import yaml
from params_helpers import PARAMS_FILE, WHERE, repo_params
from pydantic import BaseModel
from repo_helpers import ROOT

from synthclf import params as params_module
from synthclf.errors import SynthclfError
from synthclf.params import LLMParams, Params, Sampling, load_params, load_section


def section_models() -> list[type[BaseModel]]:
    """Every settings model that params.py defines."""
    return [obj for obj in vars(params_module).values()
            if isinstance(obj, type) and issubclass(obj, BaseModel) and obj.__module__ == params_module.__name__
            and obj is not params_module._Section]


def nested_models(annotation: Any) -> list[type[BaseModel]]:
    """The models inside a field's type: ``X``, ``X | None``, ``list[X]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in typing.get_args(annotation) for model in nested_models(arg)]


def reachable(model: type[BaseModel], seen: set[type[BaseModel]] | None = None) -> set[type[BaseModel]]:
    seen = set() if seen is None else seen
    seen.add(model)
    for field in model.model_fields.values():
        for inner in nested_models(field.annotation):
            if inner not in seen:
                reachable(inner, seen)
    return seen


def key_paths(document: dict, prefix: str = "") -> list[str]:
    """Every dotted key of a params document, sections and their keys alike."""
    found = []
    for key, value in document.items():
        found.append(prefix + key)
        if isinstance(value, dict):
            found += key_paths(value, f"{prefix}{key}.")
    return found


def test_no_setting_has_a_default_in_code() -> None:
    models = section_models()
    assert Params in models and len(models) >= 20
    # Every model is part of params.yaml, so none is checked here that no file could set.
    assert set(models) == reachable(Params)
    defaults = [f"{model.__name__}.{name}" for model in models for name, field in model.model_fields.items()
                if not field.is_required()]
    assert defaults == [], f"defaults in code, which DVC cannot track: {defaults}"


def test_the_test_helper_knows_where_every_model_lives() -> None:
    assert set(WHERE) == set(section_models())
    for model in WHERE:
        assert isinstance(repo_params(model), model)


@pytest.mark.parametrize("path", ["params.yaml", "profiles/tiny.yaml"])
def test_the_repos_params_files_are_complete_and_valid(path: str) -> None:
    params = load_params(ROOT / path)
    document = yaml.safe_load((ROOT / path).read_text())
    # Validation keeps every key it was given: nothing is filled in beyond the file, apart from the
    # documented meaning of a null llm.concurrency.
    assert set(key_paths(params.model_dump())) == set(key_paths(document))


@pytest.mark.parametrize("key", key_paths(yaml.safe_load(PARAMS_FILE.read_text())))
def test_a_missing_key_is_one_line_naming_it(tmp_path: Path, key: str) -> None:
    document = yaml.safe_load(PARAMS_FILE.read_text())
    *parents, last = key.split(".")
    section = document
    for name in parents:
        section = section[name]
    del section[last]
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    with pytest.raises(SynthclfError) as raised:
        load_params(path)
    message = str(raised.value)
    assert message == f"{path}: field '{key}': Field required"
    assert "\n" not in message


def test_a_missing_gguf_pin_names_it() -> None:
    # The example the issue gives: the pin of the embedded model lives in params.yaml only.
    document = yaml.safe_load(PARAMS_FILE.read_text())
    del document["llm"]["local"]["sha256"]
    with pytest.raises(pydantic.ValidationError) as raised:
        Params.model_validate(document)
    assert [error["loc"] for error in raised.value.errors()] == [("llm", "local", "sha256")]


def test_a_null_concurrency_follows_the_settings_it_depends_on() -> None:
    assert yaml.safe_load(PARAMS_FILE.read_text())["llm"]["concurrency"] is None
    local = repo_params(LLMParams, backend="local", concurrency=None, local={"parallel": 3, "servers": 2})
    assert local.concurrency == 6 and local.local.sha256 == load_params(PARAMS_FILE).llm.local.sha256
    # One server per core when servers is null: every slot of every server busy.
    per_core = repo_params(LLMParams, backend="local", concurrency=None, local={"parallel": 1, "servers": None})
    assert per_core.concurrency == per_core.local.server_count == len(os.sched_getaffinity(0))
    hosted = repo_params(LLMParams, backend="openai", concurrency=None)
    assert hosted.concurrency == params_module.HOSTED_CONCURRENCY
    assert repo_params(LLMParams, concurrency=5).concurrency == 5


def test_changes_merge_into_sections_and_replace_everything_else() -> None:
    base = {"a": {"b": 1, "c": [1, 2]}, "d": 2}
    assert params_module.merged(base, {"a": {"c": [3]}}) == {"a": {"b": 1, "c": [3]}, "d": 2}
    assert params_module.merged(base, {"a": None}) == {"a": None, "d": 2}
    assert base == {"a": {"b": 1, "c": [1, 2]}, "d": 2}


def test_a_bad_change_names_the_file_and_section() -> None:
    with pytest.raises(SynthclfError, match=r"params\.yaml: generate\.sampling: field 'top_p': .*\(got 2\)"):
        load_section(Sampling, "generate.sampling", PARAMS_FILE, top_p=2)
    with pytest.raises(SynthclfError, match="no section 'generate.nope'"):
        load_section(Sampling, "generate.nope", PARAMS_FILE)
