"""An estimated subjectivity level for any task, as the paper measured it: pairwise "which task is
more objective?" judgements, aggregated with a Bradley–Terry model and placed on the 1–5 scale.

Li et al. (2023, Sec. 5) asked crowd workers to compare pairs of tasks; here the LLM compares every
ordered pair of the task catalog (both orders, so a preference for "A" cancels out). Bradley–Terry
strengths (``choix``) rank the tasks; a falling line whose centre and spread match the known levels
of the paper's tasks maps them onto stars, so a new task gets a level comparable with the paper's.
The direction always comes from the judge, never from the known levels: a judge that ranks the
tasks backwards must show up as a negative agreement, not be fitted away.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import choix
import numpy as np

from synthclf.correlations import correlation
from synthclf.generation import ChatModel, request_seed
from synthclf.llm import BadResponse, as_is
from synthclf.tasks import Task

# The paper's notion, paraphrased for the judge (Li et al., 2023, Sec. 5).
DEFINITION = (
    "A classification task is objective when the correct label of a text follows from what the text "
    "says, so that different people would choose the same label. It is subjective when the label "
    "depends on personal interpretation, feelings or taste, so that people often disagree."
)
QUESTION = (
    "Task A: {a}\n\nTask B: {b}\n\n"
    "Which task is more objective? Answer with one letter: A or B."
)
_NAMED = re.compile(r"\btask\s*([AB])\b", re.IGNORECASE)
# A bare letter ("B", "**A**.", "B) ..."), but not the article in "A task that ...".
_BARE = re.compile(r"^\W*([AB])\b(?!\s+[a-z])")


_FIRST_SENTENCE = re.compile(r"^.+?[.!?](?=\s|$)", re.DOTALL)


def describe(task: Task) -> str:
    """The task as the judge sees it: title, the first sentence of its description, its labels.
    The rest of a description is detail for people; every token is read 2 x (tasks - 1) times."""
    match = _FIRST_SENTENCE.match(task.description.strip())
    first = match.group(0) if match else task.description.strip()
    return f"{task.title}. {first} Labels: {', '.join(task.labels)}."


def parse_choice(answer: str) -> str:
    """'A' or 'B', the first of the two the answer names; BadResponse if it names neither."""
    match = _NAMED.search(answer) or _BARE.match(answer.strip())
    if not match:
        raise BadResponse("the answer names neither A nor B")
    return match.group(1).upper()


def comparisons(names: Sequence[str], repeats: int) -> list[tuple[str, str]]:
    """Every ordered pair (shown as A, shown as B), ``repeats`` times."""
    return [pair for pair in itertools.permutations(names, 2) for _ in range(repeats)]


def judge_pairs(tasks: Mapping[str, Task], pairs: Sequence[tuple[str, str]], llm: ChatModel, seed: int) -> list[str | None]:
    """For each pair, the name of the task the LLM found more objective (None: no usable answer)."""

    async def ask(i: int, a: str, b: str) -> str | None:
        messages = [{"role": "system", "content": DEFINITION},
                    {"role": "user", "content": QUESTION.format(a=describe(tasks[a]), b=describe(tasks[b]))}]
        # The letter comes first; what the model adds after it may run past max_tokens.
        choice = await llm.complete(messages, seed=request_seed(seed, i), index=i, parse=parse_choice, cut=as_is)
        return None if choice is None else {"A": a, "B": b}[choice]

    async def run() -> list[str | None]:
        return await asyncio.gather(*(ask(i, a, b) for i, (a, b) in enumerate(pairs)))

    return asyncio.run(run())


def bradley_terry(names: Sequence[str], wins: Sequence[tuple[str, str]], alpha: float = 0.1) -> dict[str, float]:
    """Objectivity strengths from ``(more objective, less objective)`` outcomes (higher = more
    objective). ``alpha`` regularises, so a task that never wins or never loses stays finite."""
    index = {name: i for i, name in enumerate(names)}
    data = [(index[winner], index[loser]) for winner, loser in wins]
    strengths = choix.ilsr_pairwise(len(names), data, alpha=alpha)
    return {name: float(strengths[i]) for name, i in index.items()}


def to_levels(strengths: Mapping[str, float], known: Mapping[str, int]) -> dict[str, float]:
    """Place strengths on the 1–5 scale (1 = most objective), clipped to the scale, by a line that
    falls with strength and whose mean and spread over the ``known`` tasks match their levels (a
    standardised major axis with its sign fixed). The known levels fix only the scale: a least-squares
    line would flip its slope for a judge that ranks backwards and so report it as agreeing. With
    fewer than two distinct known levels or strengths, strengths are spread linearly over 1–5."""
    xs = np.array([strengths[t] for t in known], dtype=float)
    ys = np.array([known[t] for t in known], dtype=float)
    if len(known) >= 2 and np.ptp(ys) > 0 and np.ptp(xs) > 0:
        slope = -ys.std() / xs.std()
        intercept = ys.mean() - slope * xs.mean()
    else:
        low, high = min(strengths.values()), max(strengths.values())
        slope = -4 / (high - low) if high > low else 0.0
        intercept = 5 - slope * low if high > low else 3.0
    return {t: float(np.clip(intercept + slope * s, 1, 5)) for t, s in strengths.items()}


def position_consistency(pairs: Sequence[tuple[str, str]], choices: Sequence[str | None]) -> float | None:
    """How often the judge names the same task whichever is shown first: over every pair of tasks,
    the share of (answer with one shown first, answer with the other shown first) combinations that
    agree, taking every repeat of both orders. None if no pair was answered in both orders."""
    answers: dict[tuple[str, str], list[str]] = defaultdict(list)
    for pair, choice in zip(pairs, choices):
        if choice is not None:
            answers[pair].append(choice)
    same = total = 0
    for (a, b), forward in answers.items():
        if a < b:  # each unordered pair once
            backward = answers.get((b, a), [])
            same += sum(x == y for x in forward for y in backward)
            total += len(forward) * len(backward)
    return same / total if total else None


def estimate(
    tasks: Mapping[str, Task], pairs: Sequence[tuple[str, str]], choices: Sequence[str | None], reference: Sequence[str]
) -> dict[str, Any]:
    """The estimate and how well it ranks the ``reference`` tasks (the paper's) against their levels."""
    names = sorted(tasks)
    wins = [(c, b if c == a else a) for (a, b), c in zip(pairs, choices) if c is not None]
    strengths = bradley_terry(names, wins)
    known = {t: tasks[t].subjectivity for t in reference}
    levels = to_levels(strengths, known)
    return {
        "comparisons": len(pairs),
        "answered": len(wins),
        "position_consistency": position_consistency(pairs, choices),
        "tasks": {
            t: {"strength": strengths[t], "estimated_level": levels[t], "level": tasks[t].subjectivity,
                "basis": tasks[t].subjectivity_basis, "wins": sum(w == t for w, _ in wins)}
            for t in names
        },
        # Ranked by negated strength (higher = judged more subjective), straight from the judge: the
        # same order as the estimated levels, but untouched by the scale and its clipping, so a judge
        # that ranks the tasks backwards gets rho = -1.
        "vs_known_levels": correlation([known[t] for t in reference], [-strengths[t] for t in reference]),
        "reference_tasks": list(reference),
    }
