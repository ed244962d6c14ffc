"""The paper's prompts (Li et al., 2023, Sec. 3): a context prompt that sets the scene, a data
generation prompt per label, a diversity prompt every n outputs, and for few-shot generation real
examples shown before each request with the instruction to imitate them without copying."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from synthclf.tasks import Task

DIVERSITY_PROMPT = "Can you provide something more diverse compared to the previously generated data?"
FEW_SHOT_INSTRUCTION = (
    "Here are some real examples of {label} texts:\n{examples}\n"
    "Imitate their style, topics and length, but do not copy them and do not rewrite them."
)
# A real example longer than this many words is cut: the point is style, and context is scarce.
EXAMPLE_WORDS = 60

Message = dict[str, str]


def generation_prompt(task: Task, label: str) -> str:
    prompts = task.prompts
    return prompts.generation.format(label=label, description=task.labels[label], word_limit=prompts.word_limit)


def shorten(text: str) -> str:
    """A real example as shown to the LLM: at most EXAMPLE_WORDS words."""
    words = text.split()
    return " ".join(words[:EXAMPLE_WORDS]) + (" ..." if len(words) > EXAMPLE_WORDS else "")


def few_shot_block(label: str, examples: Sequence[str]) -> str:
    lines = [f"{i}. {shorten(text)}" for i, text in enumerate(examples, 1)]
    return FEW_SHOT_INSTRUCTION.format(label=label, examples="\n".join(lines))


def prompt_sha256(messages: Sequence[Message]) -> str:
    return hashlib.sha256(json.dumps(list(messages), sort_keys=True).encode("utf-8")).hexdigest()


@dataclass
class Conversation:
    """One ongoing chat that writes examples of one label, as in the paper: after every
    ``diversity_every`` outputs the next request asks for something more diverse, and the model
    sees what it already wrote (the last ``history_turns`` exchanges, to stay inside its context).

    With ``examples`` (the label's real training texts) it is the few-shot variant: ``k`` of them,
    drawn afresh for every request, precede the request. Earlier turns are kept without their
    examples: the model needs its own outputs to vary from them, while old examples would only
    treble the prompt (and the time to read it) and give the model more text to copy.
    """

    task: Task
    label: str
    diversity_every: int
    history_turns: int
    rng: random.Random
    examples: Sequence[str] = ()
    k: int = 0
    outputs: int = 0
    _history: list[Message] = field(default_factory=list)
    _asked: str = ""
    _repeated: bool = False

    def next_messages(self) -> list[Message]:
        """The messages of the next request (the conversation so far plus the new user turn)."""
        ask_for_diversity = self._repeated or (self.outputs > 0 and self.outputs % self.diversity_every == 0)
        request = self._asked = DIVERSITY_PROMPT if ask_for_diversity else generation_prompt(self.task, self.label)
        if self.examples:
            shown = self.rng.sample(list(self.examples), min(self.k, len(self.examples)))
            request = few_shot_block(self.label, shown) + "\n\n" + request
        opening = [{"role": "system", "content": self.task.prompts.context}]
        # The first exchange (its request names the label), then the last history_turns: see record_reply.
        return opening + self._history + [{"role": "user", "content": request}]

    def record_reply(self, reply: str) -> None:
        """The model answered the last request: the chat goes on from there."""
        self._history.extend([{"role": "user", "content": self._asked}, {"role": "assistant", "content": reply}])
        # The first request names the label, so it stays when older turns fall out of the window. Only
        # the window is kept: a chat of many thousand turns must not copy or hold all of them.
        del self._history[2 : len(self._history) - 2 * self.history_turns]
        self.outputs += 1
        self._repeated = False

    def record_repeat(self) -> None:
        """The model wrote again what it wrote before: the next request is the diversity prompt."""
        self._repeated = True
