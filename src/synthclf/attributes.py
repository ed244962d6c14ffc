"""AttrPrompt's first step (Yu et al., 2023): the LLM proposes the dimensions along which the
task's texts vary, then values of each dimension for each label. The result is a small JSON file
that a person can review before it shapes every generation request."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from synthclf.answers import QUOTES
from synthclf.errors import SynthclfError
from synthclf.generation import ChatModel, request_seed
from synthclf.llm import BadResponse
from synthclf.methods import AttributedPrompts
from synthclf.params import AttributesParams
from synthclf.tasks import Task

# An item is a short name or phrase; a longer line is prose around the list, not part of it.
MAX_ITEM_WORDS = 12
MAX_DIMENSION_WORDS = 3
# Unlike synthetic texts, lists of attributes may be lettered ("a) formal").
_LIST_MARK = re.compile(r"^\s*(?:\d{1,3}[.)]|[-*\u2022]|[a-z][.)])\s+", re.IGNORECASE)
_CHATTER = re.compile(r"^(?:sure|certainly|of course|okay|ok|here|below|these|i hope|let me)\b", re.IGNORECASE)


def parse_list(text: str) -> list[str]:
    """The items of a list the LLM wrote: one per line (numbered, bulleted or bare) or, on a single
    line, separated by commas. Chatter, headings and repeats are dropped; order is kept."""
    lines = [line for line in text.replace("**", "").splitlines() if line.strip()]
    if len(lines) == 1 and "," in lines[0]:
        lines = lines[0].split(",")
    items: list[str] = []
    for line in lines:
        if line.rstrip().endswith(":") or _CHATTER.match(line.strip()):
            continue
        item = _LIST_MARK.sub("", line).strip().strip(QUOTES).rstrip(".;,").strip().strip(QUOTES)
        # "Subtopic: football" -> the value, when the model repeats the dimension's name.
        item = item.split(":", 1)[1].strip() if ":" in item else item
        if item and len(item.split()) <= MAX_ITEM_WORDS and item.lower() not in {i.lower() for i in items}:
            items.append(item)
    return items


def _some_item(content: str) -> str:
    if not parse_list(content):
        raise BadResponse("no list of short items in the answer")
    return content


def _echoes(item: str, prompt: str) -> bool:
    """Small models repeat the instruction ("a list of 1 more ways ..."): an item of several words
    that the prompt itself contains is not an answer."""
    return len(item.split()) >= 3 and item.lower() in prompt.lower()


async def _ask_list(llm: ChatModel, prompt: str, seed: int, index: int, most: int) -> list[str]:
    messages = [{"role": "user", "content": prompt.strip()}]
    content = await llm.complete(messages, seed=request_seed(seed, index), index=index, parse=_some_item)
    items = parse_list(content) if content is not None else []
    return [item for item in items if not _echoes(item, prompt)][:most]


def propose_attributes(task: Task, llm: ChatModel, params: AttributesParams, prompts: AttributedPrompts, seed: int) -> dict[str, Any]:
    """``{"dimensions": [...], "values": {label: {dimension: [values]}}, "missing": [...]}``.

    A dimension the LLM gave no usable values for under a label is left out for that label and
    listed under ``missing``; a label left with no dimension at all is an error.
    """

    async def run() -> dict[str, Any]:
        dimensions = list(params.dimensions)
        if params.proposed_dimensions:
            prompt = prompts.dimensions.format(context=task.prompts.context, count=params.proposed_dimensions)
            known = {d.lower() for d in dimensions}
            proposed = await _ask_list(llm, prompt, seed, index=0, most=params.proposed_dimensions + len(known))
            # The prompt asks for one or two words; a longer item is a sentence the model drifted into.
            named = [d.lower() for d in proposed if d.lower() not in known and len(d.split()) <= MAX_DIMENSION_WORDS]
            dimensions += named[: params.proposed_dimensions]
        cells = [(label, dimension) for label in task.labels for dimension in dimensions]
        answers = await asyncio.gather(
            *(
                _ask_list(
                    llm,
                    prompts.values.format(context=task.prompts.context, count=params.values_per_dimension,
                                          dimension=dimension, description=task.labels[label], label=label),
                    seed,
                    index=1 + i,
                    most=params.values_per_dimension,
                )
                for i, (label, dimension) in enumerate(cells)
            )
        )
        values: dict[str, dict[str, list[str]]] = {label: {} for label in task.labels}
        missing = []
        for (label, dimension), options in zip(cells, answers):
            if options:
                values[label][dimension] = options
            else:
                missing.append(f"{label}/{dimension}")
        empty = [label for label, by_dimension in values.items() if not by_dimension]
        if empty:
            raise SynthclfError(f"{task.name}: the LLM proposed no usable attribute values for labels {empty}; "
                                "check prompts/methods.yaml (attributed.values) or use a stronger model")
        return {"task": task.name, "model": llm.model_id, "dimensions": dimensions, "values": values, "missing": missing}

    return asyncio.run(run())
