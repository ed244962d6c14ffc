"""Synthetic data generation: many ongoing conversations per label, run concurrently."""

from __future__ import annotations

import asyncio
import math
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from synthclf.answers import complete_sentences, example_key, refusal_or_meta
from synthclf.errors import SynthclfError
from synthclf.llm import BadResponse
from synthclf.methods import AttributedRequests, GroundedRequests, MethodPrompts, load_method_prompts
from synthclf.params import GenerateParams, Sampling, check_method
from synthclf.prompts import Conversation, prompt_sha256
from synthclf.tasks import Task

# A chat asks at most this many requests per output it owes: a failed one is replaced, but not forever.
TURNS_PER_OUTPUT = 2
# Request indices are chat * stride + turn, so every request of a run has its own stable index. The
# stride is STRIDE unless a chat may take more turns than that; then the next multiple of it that
# holds every turn, so that runs without such long chats keep their indices (and cached answers).
STRIDE = 100_000


class ChatModel(Protocol):
    model_id: str
    last_failure: str | None  # why the latest complete() returned None
    concurrency: int  # requests it serves at once (llm.concurrency, resolved)

    async def complete(
        self, messages: list[dict[str, str]], *, seed: int, index: int, parse: Any = None, cut: Any = None
    ) -> str | None: ...

    def retry_unusable_next_run(self) -> int: ...


@dataclass(frozen=True)
class ChatPlan:
    label: str
    chat: int  # ordinal over the whole run: stable request indices and seeds
    quota: int
    first_index: int  # the request index of its first turn; its turns never reach the next chat's


def resolve_chats_per_label(params: GenerateParams, labels: int, concurrency: int) -> int:
    """``params.chats_per_label``, or where that is null the fewest chats per label that give each of
    ``concurrency`` request slots a chat: every label's and replicate's chats run at once, each with
    one request in flight. No more than that, since each chat is the paper's conversation that goes
    on, and shorter ones would add no throughput. :func:`plan_chats` caps it at ``per_label``."""
    if params.chats_per_label is not None:
        return params.chats_per_label
    return math.ceil(concurrency / (labels * params.replicates))


def plan_chats(labels: Sequence[str], per_label: int, chats_per_label: int) -> list[ChatPlan]:
    """Spread ``per_label`` outputs of each label over up to ``chats_per_label`` conversations."""
    chats = min(chats_per_label, per_label)
    base, extra = divmod(per_label, chats)
    quotas = [base + (1 if c < extra else 0) for c in range(chats)]
    stride = STRIDE * math.ceil(TURNS_PER_OUTPUT * quotas[0] / STRIDE)  # quotas[0] is the largest
    return [ChatPlan(label=label, chat=li * chats + c, quota=quota, first_index=(li * chats + c) * stride)
            for li, label in enumerate(labels) for c, quota in enumerate(quotas)]


def request_seed(seed: int, index: int) -> int:
    """Distinct per request: identical opening messages in parallel chats must not yield identical text."""
    return random.Random(f"{seed}:{index}").randrange(2**31)


def generation_sampling(task: Task, params: GenerateParams) -> Sampling:
    """``params.sampling`` for ``task``, its max_tokens resolved from the task's word limit where null."""
    max_tokens = params.sampling.max_tokens or math.ceil(task.prompts.word_limit * params.tokens_per_word)
    return params.sampling.model_copy(update={"max_tokens": max_tokens})


def _complete_sentences(content: str) -> str:
    """generate.cut_off keep_sentences: what a cut-off answer keeps."""
    kept = complete_sentences(content)
    if not kept:
        raise BadResponse("cut off at max_tokens inside its first sentence")
    return kept


def _example(content: str) -> str:
    """The answer as an example, or :class:`BadResponse` (retried with a new seed) if it holds none."""
    text = content.strip()
    if not text:
        raise BadResponse("empty content")
    reason = refusal_or_meta(text)
    if reason:
        raise BadResponse(reason)
    return text


class RequestStream(Protocol):
    """Where a chat's requests come from: the paper's ongoing conversation, or independent requests."""

    def next_messages(self) -> list[dict[str, str]]: ...

    def record_reply(self, reply: str) -> None: ...

    def record_repeat(self) -> None:
        """The model wrote again what it already wrote in this stream, instead of a new example."""


@dataclass(frozen=True)
class MethodInputs:
    """What a method draws on besides the task: real train texts by label, attribute values by label."""

    examples: Mapping[str, Sequence[str]] = field(default_factory=dict)
    attributes: Mapping[str, Mapping[str, Sequence[str]]] = field(default_factory=dict)
    prompts: MethodPrompts | None = None


def _method_inputs(
    task: Task, method: str, real_train: Sequence[dict[str, Any]], attributes: Mapping[str, Any] | None, prompts: MethodPrompts | None
) -> MethodInputs:
    examples: dict[str, list[str]] = {label: [] for label in task.labels}
    for record in real_train:
        examples.setdefault(record["label"], []).append(record["text"])
    if method == "few_shot":
        missing = [label for label in task.labels if not examples[label]]
        if missing:
            raise SynthclfError(f"few-shot generation for '{task.name}' has no real train examples of {missing}")
    if method == "grounded" and not real_train:
        raise SynthclfError(f"grounded generation for '{task.name}' needs real train texts to ground in")
    values = dict((attributes or {}).get("values", {}))
    if method == "attributed":
        missing = [label for label in task.labels if not values.get(label)]
        if missing:
            raise SynthclfError(f"attributed generation for '{task.name}' has no attribute values for {missing} "
                                f"(data/attributes/{task.name}.json)")
    if method in ("attributed", "grounded") and prompts is None:
        prompts = load_method_prompts()
    return MethodInputs(examples=examples, attributes=values, prompts=prompts)


def _stream(task: Task, method: str, label: str, params: GenerateParams, rng: random.Random, inputs: MethodInputs) -> RequestStream:
    if method in ("zero_shot", "few_shot"):
        return Conversation(task=task, label=label, diversity_every=params.diversity_every,
                            history_turns=params.history_turns, rng=rng,
                            examples=inputs.examples.get(label, ()) if method == "few_shot" else (), k=params.few_shot_k)
    assert inputs.prompts is not None, "generate_synthetic loads the method prompts"
    if method == "attributed":
        return AttributedRequests(task, label, inputs.attributes[label], inputs.prompts.attributed.request, rng)
    unlabelled = [text for texts in inputs.examples.values() for text in texts]
    return GroundedRequests(task, label, unlabelled, inputs.prompts.grounded.request, rng)


async def _run_chat(
    task: Task,
    method: str,
    plan: ChatPlan,
    params: GenerateParams,
    llm: ChatModel,
    seed: int,
    inputs: MethodInputs,
) -> tuple[list[dict[str, Any]], int, int]:
    conversation = _stream(task, method, plan.label, params, random.Random(f"{seed}:{task.name}:{method}:{plan.chat}"), inputs)
    records: list[dict[str, Any]] = []
    failures = 0
    turn = 0
    cut = _complete_sentences if params.cut_off == "keep_sentences" else None
    written: set[str] = set()
    repeats = 0
    while len(records) < plan.quota and turn < TURNS_PER_OUTPUT * plan.quota:
        messages = conversation.next_messages()
        index = plan.first_index + turn
        turn += 1
        per_request_seed = request_seed(seed, index)
        text = await llm.complete(messages, seed=per_request_seed, index=index, parse=_example, cut=cut)
        if text is None:
            failures += 1
            continue
        # Small models copy what they see of their own chat, and asking the same again mostly copies again:
        # the chat asks for something more diverse instead. The filter would drop the copy anyway.
        key = example_key(text)
        if key in written:
            repeats += 1
            conversation.record_repeat()
            continue
        written.add(key)
        conversation.record_reply(text)
        records.append(
            {
                "text": text,
                "label": plan.label,
                "method": method,
                "model": llm.model_id,
                "prompt_sha256": prompt_sha256(messages),
                "seed": per_request_seed,
                "request_index": index,
            }
        )
    return records, failures, repeats


def replicate_seed(seed: int, replicate: int) -> int:
    """The generation seed of one replicate: independent samples of the same task and method."""
    return random.Random(f"{seed}:replicate:{replicate}").randrange(2**31)


def generate_synthetic(
    task: Task,
    method: str,
    llm: ChatModel,
    params: GenerateParams,
    seed: int,
    real_train: Sequence[dict[str, Any]] = (),
    attributes: Mapping[str, Any] | None = None,
    prompts: MethodPrompts | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Write ``params.per_label`` examples of every label of ``task`` with ``method``, in each of
    ``params.replicates`` independent samples (records carry their ``replicate``).

    ``real_train`` (train records) feeds ``few_shot`` (examples of the label) and ``grounded`` (texts
    of any label); ``attributes`` (from :func:`synthclf.attributes.propose_attributes`) feeds
    ``attributed``. Returns the records and a summary (counts per replicate and label, failures).
    Raises if the share of failed requests exceeds ``params.max_failure_rate``: everything paid for
    is in the LLM cache, so the next run resumes for free.
    """
    check_method(method)
    inputs = _method_inputs(task, method, real_train, attributes, prompts)
    plans = plan_chats(list(task.labels), params.per_label,
                       resolve_chats_per_label(params, len(task.labels), llm.concurrency))
    seeds = [replicate_seed(seed, r) for r in range(params.replicates)]

    async def run_all() -> list[tuple[list[dict[str, Any]], int, int]]:
        return await asyncio.gather(*(_run_chat(task, method, plan, params, llm, s, inputs) for s in seeds for plan in plans))

    results = asyncio.run(run_all())
    records: list[dict[str, Any]] = []
    per_replicate = {}
    for r in range(params.replicates):
        chats = results[r * len(plans):(r + 1) * len(plans)]
        replicate = [{**record, "replicate": r} for chat_records, _, _ in chats for record in chat_records]
        for i, record in enumerate(replicate):
            record["id"] = f"{task.name}-{method}-r{r}-{i:05d}"
        per_replicate[str(r)] = len(replicate)
        records += replicate
    failures = sum(f for _, f, _ in results)
    repeats = sum(r for _, _, r in results)
    attempts = len(records) + failures + repeats
    wanted = params.per_label * len(task.labels) * params.replicates
    summary = {
        "n": len(records),
        "wanted": wanted,
        "lost": wanted - len(records),
        "replicates": params.replicates,
        "per_replicate": per_replicate,
        "failed_requests": failures,
        # Answers that repeated their chat word for word; they count as failed in failure_rate too.
        "repeats": repeats,
        "failure_rate": (failures + repeats) / attempts if attempts else 0.0,
        "per_label": dict(sorted(Counter(r["label"] for r in records).items())),
    }
    if summary["failure_rate"] > params.max_failure_rate:
        unusable = llm.retry_unusable_next_run()
        raise SynthclfError(
            f"{task.name}/{method}: {failures + repeats} of {attempts} requests failed "
            f"({summary['failure_rate']:.0%} > generate.max_failure_rate {params.max_failure_rate:.0%}; "
            f"{repeats} of them repeated their chat); "
            f"every answer is cached: a re-run asks only the {unusable} request(s) whose answers were unusable again, "
            f"with new seeds, and any that failed in transport"
            + ("; repeats are answers like any other and come back from the cache: for them raise "
               "generate.max_failure_rate or change seed" if repeats else "")
            + f"; last failure: {llm.last_failure}"
        )
    return records, summary
