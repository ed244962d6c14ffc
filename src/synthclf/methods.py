"""Generation methods beyond the paper. Each request stands alone (no ongoing chat): its variety
comes from what is sampled into it, one attribute combination (``attributed``) or one real text to
ground it in (``grounded``), rather than from asking the model to be more diverse."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from synthclf.io import read_yaml_model
from synthclf.prompts import Message, generation_prompt, shorten
from synthclf.tasks import Task

METHOD_PROMPTS_FILE = Path("prompts/methods.yaml")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AttributedPrompts(_Strict):
    dimensions: str
    values: str
    request: str


class GroundedPrompts(_Strict):
    request: str


class MethodPrompts(_Strict):
    attributed: AttributedPrompts
    grounded: GroundedPrompts


def load_method_prompts(path: str | Path = METHOD_PROMPTS_FILE) -> MethodPrompts:
    return read_yaml_model(path, MethodPrompts, "the prompts of the generation methods")


@dataclass
class AttributedRequests:
    """AttrPrompt: every request asks for one randomly drawn combination of attribute values
    (``values`` maps each dimension to the values proposed for this label)."""

    task: Task
    label: str
    values: Mapping[str, Sequence[str]]
    template: str
    rng: random.Random

    def next_messages(self) -> list[Message]:
        drawn = "; ".join(f"{dimension}: {self.rng.choice(list(options))}" for dimension, options in self.values.items() if options)
        request = self.template.format(generation=generation_prompt(self.task, self.label), attributes=drawn)
        return [{"role": "system", "content": self.task.prompts.context}, {"role": "user", "content": request.strip()}]

    def record_reply(self, reply: str) -> None:
        """Requests are independent: nothing carries over."""

    def record_repeat(self) -> None:
        """The next request draws anew anyway."""


@dataclass
class GroundedRequests:
    """Grounding: every request shows one real text of the task (its label is not used) and asks for
    a new text with the wanted label on the same topic and in the same style."""

    task: Task
    label: str
    examples: Sequence[str]
    template: str
    rng: random.Random

    def next_messages(self) -> list[Message]:
        request = self.template.format(
            example=shorten(self.rng.choice(list(self.examples))),
            description=self.task.labels[self.label],
            label=self.label,
            word_limit=self.task.prompts.word_limit,
        )
        return [{"role": "system", "content": self.task.prompts.context}, {"role": "user", "content": request.strip()}]

    def record_reply(self, reply: str) -> None:
        """Requests are independent: nothing carries over."""

    def record_repeat(self) -> None:
        """The next request draws anew anyway."""
