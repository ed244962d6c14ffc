"""The Batch API as the LLM client's transport (``llm.batch``): cheaper answers, a long wait per round.

The callers do not change: they still ``await llm.complete(...)`` concurrently, one chat per caller,
each chat's turns in sequence. A :class:`Collector` holds the requests that miss the cache until every
caller inside ``complete()`` has asked (the n-th turn of every chat: a *round*) or until no new request
came for ``llm.batch.window_s``, and sends them as one batch: one JSONL file uploaded with purpose
"batch", one ``POST /batches`` for ``/v1/chat/completions`` with a 24 h completion window, each line's
``custom_id`` the request's cache key. The batch id is written to the response cache before the first
status check, so a run killed while it waits polls the same batch again instead of paying twice.

When the batch ends (completed, failed, expired or cancelled) every answer in its output file goes
into the response cache, as a synchronous answer would; a line of the error file, or a request the
batch left unanswered, counts as the synchronous path counts a transport fault: retried (in the next
batch, with the same seed) up to ``llm.max_retries`` times if a retry can help, given up otherwise.
An unusable answer is retried by ``complete()`` with a new seed, which joins the next round.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from synthclf.errors import SynthclfError
from synthclf.llm.cache import CachedResponse
from synthclf.params import BatchParams

if TYPE_CHECKING:
    import openai

    from synthclf.llm.client import LLM

log = logging.getLogger(__name__)

ENDPOINT = "/v1/chat/completions"
COMPLETION_WINDOW = "24h"  # the only window the API offers
MAX_REQUESTS = 50_000  # per batch file (OpenAI's limit)
TERMINAL = ("completed", "failed", "expired", "cancelled")
_KEY = re.compile(r"^[0-9a-f]{64}$")  # a cache key (request_key)


@dataclass(frozen=True)
class Fault:
    """Why a request sent in a batch came back without an answer, and whether sending it again may help."""

    problem: str
    retryable: bool


Outcome = CachedResponse | Fault


@dataclass
class _Entry:
    key: str
    body: dict[str, Any]
    waiters: list[asyncio.Future[Outcome]] = field(default_factory=list)


class Collector:
    """Gathers the requests of one event loop into batches; ``send`` turns them into outcomes by key.

    A round is complete when every caller inside ``complete()`` (``enter``/``leave``) waits for an
    answer: then the requests go at once. ``window_s`` bounds the wait for callers that have not asked.
    """

    def __init__(self, window_s: float,
                 send: Callable[[dict[str, dict[str, Any]]], Awaitable[dict[str, Outcome]]]) -> None:
        self.loop = asyncio.get_running_loop()
        self._window_s = window_s
        self._send = send
        self._active = 0  # callers inside complete()
        self._waiting = 0  # callers waiting for an outcome
        self._pending: dict[str, _Entry] = {}  # not sent yet
        self._in_flight: dict[str, _Entry] = {}  # sent, outcome not known yet
        self._last = 0.0  # when the latest new request arrived
        self._wake = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None
        self._senders: set[asyncio.Task[None]] = set()

    def enter(self) -> None:
        self._active += 1

    def leave(self) -> None:
        self._active -= 1
        self._wake.set()

    async def submit(self, key: str, body: dict[str, Any]) -> Outcome:
        """The outcome of request ``body`` (cache key ``key``) once the batch it goes in has ended."""
        future: asyncio.Future[Outcome] = self.loop.create_future()
        entry = self._pending.get(key) or self._in_flight.get(key)
        if entry is None:  # the same request asked twice at once is sent once
            entry = self._pending[key] = _Entry(key, body)
            self._last = time.monotonic()
        entry.waiters.append(future)
        self._waiting += 1
        self._wake.set()
        if self._flusher is None or self._flusher.done():
            self._flusher = self.loop.create_task(self._flush_when_ready())
        try:
            return await future
        except asyncio.CancelledError:
            if future.cancelled():  # this caller was cancelled while it waited
                self._waiting -= 1
            raise

    async def _flush_when_ready(self) -> None:
        while self._pending:
            # Callers resumed together with the last one (the previous round's answers) ask first.
            await asyncio.sleep(0)
            self._wake.clear()
            quiet = time.monotonic() - self._last
            if self._waiting >= self._active or quiet >= self._window_s:
                self._flush()
                return
            try:
                await asyncio.wait_for(self._wake.wait(), self._window_s - quiet)
            except asyncio.TimeoutError:
                pass

    def _flush(self) -> None:
        entries = list(self._pending.values())
        self._pending.clear()
        self._in_flight.update((entry.key, entry) for entry in entries)
        task = self.loop.create_task(self._send_and_answer(entries))
        self._senders.add(task)  # a reference, so the task is not collected while it runs
        task.add_done_callback(self._senders.discard)

    async def _send_and_answer(self, entries: list[_Entry]) -> None:
        try:
            outcomes = await self._send({entry.key: entry.body for entry in entries})
        except BaseException as exc:
            for entry in entries:
                self._in_flight.pop(entry.key, None)
                self._answer(entry, exc)
            if not isinstance(exc, Exception):  # cancelled, or Ctrl-C
                raise
            return
        for entry in entries:
            self._in_flight.pop(entry.key, None)
            self._answer(entry, outcomes.get(entry.key) or Fault("the batch returned no answer to it", True))

    def _answer(self, entry: _Entry, outcome: Outcome | BaseException) -> None:
        for future in entry.waiters:
            if future.done():
                continue
            if isinstance(outcome, Exception):
                future.set_exception(outcome)
            elif isinstance(outcome, BaseException):
                future.cancel()  # submit() counts its caller out
                continue
            else:
                future.set_result(outcome)
            self._waiting -= 1


class BatchRunner:
    """Sends, resumes and reads back batches for an :class:`~synthclf.llm.client.LLM`."""

    def __init__(self, llm: LLM, params: BatchParams, max_retries: int) -> None:
        self._llm = llm
        self._params = params
        self._max_retries = max_retries
        self._collector: Collector | None = None

    def collector(self) -> Collector:
        """The collector of the running event loop (asyncio objects cannot cross loops)."""
        loop = asyncio.get_running_loop()
        if self._collector is None or self._collector.loop is not loop:
            self._collector = Collector(self._params.window_s, self._send)
        return self._collector

    async def request(self, key: str, body: dict[str, Any]) -> CachedResponse | None:
        """The answer to ``body`` through batches (stored in the cache and counted in usage when its
        batch is read back), retrying faults as a synchronous request would; None if it cannot be had."""
        llm = self._llm
        problem = ""
        for retry in range(self._max_retries + 1):
            outcome = await self.collector().submit(key, body)
            if isinstance(outcome, CachedResponse):
                llm._failed_in_a_row = 0
                return outcome
            problem = outcome.problem
            if not outcome.retryable:
                log.warning("batch request failed, not retrying (%s)", problem)
                llm.last_failure = f"{llm._base_url}: {problem}"
                return None
            if retry < self._max_retries:
                llm.usage.retries += 1
                log.debug("%s; retry %d of %d in the next batch", problem, retry + 1, self._max_retries)
        llm._gave_up(problem)
        return None

    async def _send(self, requests: dict[str, dict[str, Any]]) -> dict[str, Outcome]:
        """Outcomes by key: requests already in a batch of an earlier run wait for that batch."""
        known = self._llm._cache.batches_holding(list(requests))
        sent = {key for keys in known.values() for key in keys}
        fresh = [key for key in requests if key not in sent]
        jobs = [self._resume(batch_id, keys) for batch_id, keys in known.items()]
        jobs += [self._create({key: requests[key] for key in fresh[start:start + MAX_REQUESTS]})
                 for start in range(0, len(fresh), MAX_REQUESTS)]
        outcomes: dict[str, Outcome] = {}
        for result in await asyncio.gather(*jobs):
            outcomes.update(result)
        return outcomes

    async def _create(self, requests: dict[str, dict[str, Any]]) -> dict[str, Outcome]:
        llm = self._llm
        data = "".join(json.dumps({"custom_id": key, "method": "POST", "url": ENDPOINT, "body": body},
                                  ensure_ascii=False) + "\n" for key, body in requests.items()).encode()

        def upload(client: openai.AsyncOpenAI) -> Awaitable[Any]:
            return client.files.create(file=("synthclf-batch.jsonl", data, "application/jsonl"), purpose="batch")

        uploaded = await llm._api_call("upload a batch file", upload)

        def create(client: openai.AsyncOpenAI) -> Awaitable[Any]:
            return client.batches.create(input_file_id=uploaded.id, endpoint=ENDPOINT,
                                         completion_window=COMPLETION_WINDOW)

        batch = await llm._api_call("create a batch", create)
        # Before anything else: from here on a killed run polls this batch instead of paying again.
        llm._cache.remember_batch(batch.id, list(requests))
        log.info("batch %s: %d requests sent, status checked every %g s", batch.id, len(requests),
                 self._params.poll_s)
        return await self._read_back(batch.id, list(requests))

    async def _resume(self, batch_id: str, keys: list[str]) -> dict[str, Outcome]:
        log.info("batch %s: waiting for %d requests sent by an earlier run", batch_id, len(keys))
        return await self._read_back(batch_id, keys)

    async def _read_back(self, batch_id: str, keys: list[str]) -> dict[str, Outcome]:
        """Wait for batch ``batch_id`` to end; store its answers; the outcome of each of ``keys``."""
        llm = self._llm

        def retrieve(client: openai.AsyncOpenAI) -> Awaitable[Any]:
            return client.batches.retrieve(batch_id)

        while True:
            batch = await llm._api_call(f"check batch {batch_id}", retrieve, missing_ok=True)
            if batch is None:  # the server no longer knows it (another account, or deleted): send again
                llm._cache.forget_batch(batch_id)
                return {key: Fault(f"batch {batch_id} is unknown to the server", True) for key in keys}
            if batch.status in TERMINAL:
                break
            await asyncio.sleep(self._params.poll_s)
        wanted = set(keys)
        outcomes: dict[str, Outcome] = {}
        fatal: list[SynthclfError] = []  # raised once every answer of the batch is stored
        for file_id in (batch.output_file_id, batch.error_file_id):
            if not file_id:
                continue

            def content(client: openai.AsyncOpenAI, file_id: str = file_id) -> Awaitable[Any]:
                return client.files.content(file_id)

            text = (await llm._api_call(f"download the results of batch {batch_id}", content)).text
            for custom_id, outcome in self._outcomes(text, fatal):
                if isinstance(outcome, CachedResponse):
                    outcome = replace(outcome, cost_usd=llm._price(outcome) * self._params.price_factor)
                    llm._cache.put(custom_id, outcome)  # every answer paid for, wanted now or not
                    if custom_id in wanted and custom_id not in outcomes:
                        llm.usage.tokens_in += outcome.tokens_in
                        llm.usage.tokens_out += outcome.tokens_out
                        llm.usage.cost_usd += outcome.cost_usd or 0.0
                outcomes.setdefault(custom_id, outcome)
        # Only now: a run killed before this line reads the same batch back again.
        llm._cache.forget_batch(batch_id)
        if fatal:
            raise fatal[0]
        missing = Fault(f"batch {batch_id} ended {batch.status} without an answer to it{_errors(batch, llm)}", True)
        answered = sum(isinstance(outcomes.get(key), CachedResponse) for key in keys)
        log.info("batch %s %s: %d of %d requests answered", batch_id, batch.status, answered, len(keys))
        return {key: outcomes.get(key, missing) for key in keys}

    def _outcomes(self, text: str, fatal: list[SynthclfError]) -> Iterator[tuple[str, Outcome]]:
        """(custom_id, outcome) for each line of a batch's output or error file; an error no retry can
        fix (key rejected, quota exhausted) is appended to ``fatal``."""
        for raw in text.splitlines():
            try:
                line = json.loads(raw)
            except json.JSONDecodeError:
                continue
            custom_id = line.get("custom_id") if isinstance(line, dict) else None
            if not isinstance(custom_id, str) or not _KEY.match(custom_id):
                continue  # not a request of ours: it cannot be matched to one
            response = line.get("response") if isinstance(line.get("response"), dict) else {}
            status = response.get("status_code")
            body = response.get("body")
            if status == 200:
                answer: Outcome
                try:
                    answer = from_body(body)
                except ValueError:
                    answer = Fault("the answer was not a chat completion", True)
                yield custom_id, answer
                continue
            error = line.get("error") or (body.get("error") if isinstance(body, dict) else None) or {}
            if not isinstance(error, dict):
                error = {"message": str(error)}
            message = str(error.get("message") or error.get("code") or "no message")
            if isinstance(status, int):
                try:
                    fault = self._llm._status_fault(status, error.get("code"), message)
                except SynthclfError as exc:
                    fatal.append(exc)
                    fault = Fault(str(exc), False)
            else:  # not run at all, e.g. "batch_expired": the request itself is fine
                fault = Fault(f"{error.get('code') or 'not run'}: {self._llm._scrub(message)}", True)
            yield custom_id, fault


def from_body(body: Any) -> CachedResponse:
    """A chat completion's JSON as a :class:`CachedResponse`; ValueError if it is not one."""
    if not isinstance(body, dict):
        raise ValueError("not an object")
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise ValueError("no choices")
    message = choices[0].get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(message, dict) or not isinstance(content, (str, type(None))):
        raise ValueError("no message")
    usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
    return CachedResponse(
        content=content,
        finish_reason=choices[0].get("finish_reason"),
        refusal=message.get("refusal"),
        tokens_in=int(usage.get("prompt_tokens") or 0),
        tokens_out=int(usage.get("completion_tokens") or 0),
    )


def _errors(batch: Any, llm: LLM) -> str:
    """The batch's own errors (why it failed), scrubbed, for the message of the requests it left."""
    errors = getattr(getattr(batch, "errors", None), "data", None) or []
    messages = [llm._scrub(str(getattr(error, "message", None) or getattr(error, "code", None) or error))
                for error in errors[:3]]
    return f" ({'; '.join(messages)})" if messages else ""
