"""One LLM client for every backend: the official ``openai`` package, Chat Completions, cached.

``open_llm`` resolves the backend (the embedded llama.cpp server, the OpenAI API, or any
OpenAI-compatible URL) and yields an :class:`LLM` whose ``complete()`` is the only call the
generation code makes. Every answer goes through the content-addressed cache first, so paid calls
are made once; transport trouble is retried with backoff; unusable answers are retried with a new
seed; and a single item that cannot be completed returns ``None`` instead of ending the run.

The API key is read from the environment when the block opens and handed only to the ``openai``
client; every message this module logs or raises is scrubbed of it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import os
import random
import re
import sys
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, TypeVar

import openai
from tqdm import tqdm

from synthclf.distributions import cache_root, sha256_of
from synthclf.errors import SynthclfError
from synthclf.io import write_json
from synthclf.llm.batch import BatchRunner, Fault
from synthclf.llm.cache import CachedResponse, ResponseCache, request_key
from synthclf.llm.server import EmbeddedServer, embedded_servers, resolve_gguf
from synthclf.params import LLMParams, Sampling

log = logging.getLogger(__name__)

OPENAI_BASE_URL = "https://api.openai.com/v1"
# Run logs: ignored by git and DVC (see .gitignore and .dvcignore).
RUN_LOG_DIR = Path("logs")
# Backoff for transport errors without a Retry-After: 0.5 s, 1 s, 2 s, ... capped, with jitter.
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 30.0
# A server asking for a longer pause than this is out of quota, not briefly overloaded: stop and say so.
RETRY_AFTER_MAX_S = 120.0
RETRYABLE_STATUS = (408, 409, 429)  # and every 5xx
FATAL_STATUS = {401: "the API key was rejected", 403: "access denied", 404: "model or URL not found"}

Messages = list[dict[str, Any]]
T = TypeVar("T")


class BadResponse(Exception):
    """Raised by a ``parse`` function for content it cannot use; the request is retried with a new seed."""


@dataclass
class Cost:
    """Tokens and US dollars spent on answers."""

    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0

    def add(self, tokens_in: int, tokens_out: int, usd: float) -> None:
        self.tokens_in += tokens_in
        self.tokens_out += tokens_out
        self.cost_usd += usd

    def as_dict(self) -> dict[str, int | float]:
        return {"tokens_in": self.tokens_in, "tokens_out": self.tokens_out, "cost_usd": round(self.cost_usd, 6)}


@dataclass
class Usage:
    """What this run did: it depends on the cache's state and the clock, so it belongs in a run log,
    never in a tracked output. Tokens and cost count only answers requested in this run."""

    # HTTP requests attempted, retries included (a cached answer makes none); with llm.batch: uploads,
    # batch creations, status checks and downloads
    requests: int = 0
    cache_hits: int = 0  # answers (attempts) served from the cache
    failures: int = 0  # complete() calls that returned None
    retries: int = 0  # requests repeated after a transport error (429, 5xx, timeout, dropped, malformed)
    bad_responses: int = 0  # answers rejected as empty, truncated, refused, or by the caller's parser
    cut_kept: int = 0  # answers cut off at max_tokens of which the caller's ``cut`` kept a part
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    wall_s: float = 0.0

    def as_dict(self) -> dict[str, int | float]:
        record = asdict(self)
        record["cost_usd"] = round(self.cost_usd, 6)
        record["wall_s"] = round(self.wall_s, 3)
        return record


@dataclass(frozen=True)
class _Endpoint:
    identity: dict[str, str]  # the model's part of every cache key
    model_id: str
    base_url: str | None  # None for the embedded servers until start_servers() has run
    api_key: str
    start_servers: Callable[[], list[EmbeddedServer]] | None = None


@dataclass
class _Session:
    """The clients of one event loop (asyncio objects cannot cross loops), and the gate on concurrency:
    ``free`` holds one entry per request allowed in flight, each naming the client (server) it goes to."""

    loop: asyncio.AbstractEventLoop
    free: asyncio.Queue[openai.AsyncOpenAI]
    closer: AsyncGenerator[None, None]


class _Pacer:
    """Spreads a per-minute budget evenly: each acquire reserves its share of the next free time.

    Even spacing, not a burst allowance, because hosted APIs enforce per-minute limits over shorter
    windows (a 600 RPM limit may be checked as 10 per second).
    """

    def __init__(self, per_minute: int) -> None:
        self._seconds_per_unit = 60.0 / per_minute
        self._next_free = 0.0

    async def acquire(self, units: int = 1) -> None:
        now = time.monotonic()
        start = max(now, self._next_free)
        self._next_free = start + units * self._seconds_per_unit
        if start > now:
            await asyncio.sleep(start - now)


class _Malformed(Exception):
    """A 200 answer that is not a chat completion; retried like a transport error."""


class LLM:
    """Chat completions through the cache; make one with :func:`open_llm`."""

    def __init__(self, params: LLMParams, sampling: Sampling, endpoint: _Endpoint, cache: ResponseCache,
                 bar: tqdm) -> None:
        self.model_id = endpoint.model_id
        assert params.concurrency is not None, "LLMParams' validation fills in a null concurrency"
        # Requests in flight at most: callers plan enough parallel work to fill them.
        self.concurrency: int = params.concurrency
        self.usage = Usage()
        # What every answer used cost whoever paid for it, now or in an earlier run: the cost of the
        # data, the same whether it came from the server or the cache.
        self.data_cost = Cost()
        # Why the latest item came back None, so that a run stopped by too many failures can say why.
        self.last_failure: str | None = None
        self._unusable_items: list[str] = []  # items whose every attempt was unusable, for retry_unusable_next_run
        self._params = params
        if sampling.max_tokens is None:
            raise SynthclfError("sampling.max_tokens is null: resolve it first (synthclf.generation.generation_sampling)")
        # No stop sequence is the request as it was before stop sequences existed: the same cache key.
        self._sampling = {key: value for key, value in sampling.model_dump().items() if key != "stop" or value}
        self._identity = endpoint.identity
        self._base_urls = [endpoint.base_url] if endpoint.base_url else []
        self._api_key = endpoint.api_key
        self._start_servers = endpoint.start_servers
        self._local = endpoint.start_servers is not None
        self._cache = cache
        self._bar = bar
        self._session: _Session | None = None
        self._rpm = _Pacer(params.requests_per_minute) if params.requests_per_minute else None
        self._tpm = _Pacer(params.tokens_per_minute) if params.tokens_per_minute else None
        # A request that exhausts its retries fails alone; this many in a row means the server is down
        # or misconfigured, and waiting out the retries of every remaining item would take hours.
        self._give_up_after = max(8, 2 * params.concurrency)
        self._failed_in_a_row = 0
        self._started = time.monotonic()
        # llm.batch: requests that miss the cache go as batches (LLMParams refuses it for backend local).
        self._batch = BatchRunner(self, params.batch, params.max_retries) if params.batch.enabled else None

    async def complete(self, messages: Messages, *, seed: int, index: int,
                       parse: Callable[[str], str] | None = None,
                       cut: Callable[[str], str] | None = None) -> str | None:
        """The (parsed) content of one chat completion, or None if no usable answer could be had.

        ``index`` tells apart requests that are otherwise identical (the n-th sample of one prompt).
        ``parse`` may raise :class:`BadResponse`; empty and refused answers are rejected before it.
        An answer cut off at max_tokens (finish_reason "length") is rejected too, unless ``cut`` says
        what to keep of it before ``parse`` sees it (it may raise :class:`BadResponse` as well):
        :func:`as_is` for a judge whose verdict is in the first words however long the model goes
        on, the complete sentences for an example. Each rejected answer is retried up to
        ``llm.bad_response_retries`` times with a new seed (the same seed would repeat it).
        Raises :class:`SynthclfError` only for problems no retry can fix (key rejected, model not
        found, quota exhausted, server down).
        """
        # In batch mode, a round of requests is complete when every caller in here waits for its answer.
        collector = self._batch.collector() if self._batch is not None else None
        if collector is not None:
            collector.enter()
        try:
            return await self._complete(messages, seed, index, parse, cut)
        finally:
            if collector is not None:
                collector.leave()
            self.usage.wall_s = time.monotonic() - self._started
            self._bar.set_postfix(cached=self.usage.cache_hits, failed=self.usage.failures, refresh=False)
            self._bar.update(1)

    async def _complete(self, messages: Messages, seed: int, index: int,
                        parse: Callable[[str], str] | None, cut: Callable[[str], str] | None) -> str | None:
        # An item sent back by a failed run starts a new round of attempts: new seeds, not the cached rejects.
        item = request_key(self._identity, messages, self._sampling, seed, index, attempt=-1)
        per_round = self._params.bad_response_retries + 1
        first = self._cache.retry_round(item) * per_round
        for attempt in range(first, first + per_round):
            key = request_key(self._identity, messages, self._sampling, seed, index, attempt)
            response = self._cache.get(key)
            if response is not None:
                self.usage.cache_hits += 1
                usd = response.cost_usd if response.cost_usd is not None else self._price(response)
            elif self._batch is not None:
                # Stored in the cache, at the batch price, and counted in usage as its batch is read back.
                response = await self._batch.request(key, self._body(messages, attempt_seed(seed, attempt)))
                if response is None:
                    self.usage.failures += 1
                    return None
                usd = response.cost_usd if response.cost_usd is not None else self._price(response)
            else:
                response = await self._request(messages, attempt_seed(seed, attempt))
                if response is None:
                    self.usage.failures += 1
                    return None
                usd = self._price(response)
                response = replace(response, cost_usd=usd)
                # Committed before anything else can go wrong: this answer is never paid for twice.
                self._cache.put(key, response)
                self.usage.tokens_in += response.tokens_in
                self.usage.tokens_out += response.tokens_out
                self.usage.cost_usd += usd
            self.data_cost.add(response.tokens_in, response.tokens_out, usd)
            reason = _unusable(response, cut_ok=cut is not None)
            if reason is None:
                assert response.content is not None  # _unusable rejects None
                try:
                    was_cut = response.finish_reason == "length" and cut is not None
                    content = cut(response.content) if was_cut else response.content
                    answer = content if parse is None else parse(content)
                    # Counted once the part is kept: a cut answer the parser rejects is a bad response only.
                    self.usage.cut_kept += was_cut
                    return answer
                except BadResponse as exc:
                    reason = str(exc) or "rejected by the parser"
            self.usage.bad_responses += 1
            log.debug("request %d, attempt %d: unusable answer (%s)", index, attempt, reason)
        self.usage.failures += 1
        self.last_failure = f"unusable answers (last: {reason})"
        self._unusable_items.append(item)
        return None

    def retry_unusable_next_run(self) -> int:
        """Call when this run fails for its unusable answers: the next run asks each item that got
        only unusable answers again, with new seeds, instead of replaying them. Returns how many.

        Only a failed run may do this: a run that succeeded must replay exactly, so that a re-run
        from the cache writes the same data."""
        self._cache.next_retry_round(self._unusable_items)
        return len(self._unusable_items)

    async def _request(self, messages: Messages, seed: int) -> CachedResponse | None:
        """One answer from the server, retrying transport errors; None if this item cannot be had."""
        session = await self._current_session()
        problem = ""
        client = await session.free.get()
        try:
            for retry in range(self._params.max_retries + 1):
                await self._pace(messages)
                self.usage.requests += 1
                try:
                    completion = await client.chat.completions.create(
                        model=self._params.model,
                        messages=messages,  # type: ignore[arg-type]
                        seed=seed,
                        temperature=self._sampling["temperature"],
                        top_p=self._sampling["top_p"],
                        max_tokens=self._sampling["max_tokens"],
                        stop=self._sampling.get("stop", openai.NOT_GIVEN),
                    )
                    response = _to_cached(completion)
                except openai.APIStatusError as exc:
                    problem = f"HTTP {exc.status_code}: {self._scrub(str(exc))}"
                    wait = self._retry_wait(exc, retry)
                    if wait is None:
                        log.warning("request failed, not retrying (%s)", problem)
                        self.last_failure = f"{self._base_url}: {problem}"
                        return None
                except openai.APITimeoutError:
                    problem, wait = f"timed out after {self._params.timeout_s:g} s", _backoff(retry)
                except openai.APIConnectionError as exc:
                    problem, wait = f"connection failed ({self._scrub(_root_cause(exc))})", _backoff(retry)
                except (json.JSONDecodeError, openai.APIResponseValidationError, _Malformed):
                    problem, wait = "the answer was not a chat completion", _backoff(retry)
                else:
                    self._failed_in_a_row = 0
                    return response
                if retry == self._params.max_retries:
                    break
                self.usage.retries += 1
                log.debug("%s; retry %d of %d in %.2f s", problem, retry + 1, self._params.max_retries, wait)
                await asyncio.sleep(wait)
        finally:
            session.free.put_nowait(client)
        self._gave_up(problem)
        return None

    def _gave_up(self, problem: str) -> None:
        """One item failed after all its retries; raises when so many in a row did that the server is down."""
        self._failed_in_a_row += 1
        log.warning("request failed after %d attempts (%s)", self._params.max_retries + 1, problem)
        self.last_failure = f"{self._base_url}: {problem}"
        if self._failed_in_a_row >= self._give_up_after:
            raise SynthclfError(f"{self._base_url}: {self._failed_in_a_row} LLM requests in a row failed after all "
                                f"retries (last: {problem}); answers received so far are cached, re-run to resume")

    def _body(self, messages: Messages, seed: int) -> dict[str, Any]:
        """The JSON body of one chat completion request, as a line of a batch file carries it."""
        body = {"model": self._params.model, "messages": messages, "seed": seed,
                "temperature": self._sampling["temperature"], "top_p": self._sampling["top_p"],
                "max_tokens": self._sampling["max_tokens"]}
        return {**body, "stop": self._sampling["stop"]} if "stop" in self._sampling else body

    async def _api_call(self, what: str, call: Callable[[openai.AsyncOpenAI], Awaitable[T]], *,
                        missing_ok: bool = False) -> T:
        """One call of the files or batches API (``call`` makes it with a client), retried as a chat
        completion is. With ``missing_ok`` a 404 returns None. Raises :class:`SynthclfError` when the
        call cannot be made: batches already created are remembered, so a re-run resumes them."""
        session = await self._current_session()
        problem = ""
        for retry in range(self._params.max_retries + 1):
            self.usage.requests += 1
            client = await session.free.get()
            try:
                return await call(client)
            except openai.NotFoundError as exc:
                if missing_ok:
                    return None  # type: ignore[return-value]
                raise SynthclfError(f"{self._base_url}: cannot {what}: not found (HTTP 404: {self._scrub(str(exc))}); "
                                    "does the server offer the Batch API? Otherwise set llm.batch.enabled: false") from None
            except openai.APIStatusError as exc:
                problem = f"HTTP {exc.status_code}: {self._scrub(str(exc))}"
                wait = self._retry_wait(exc, retry)
                if wait is None:
                    raise SynthclfError(f"{self._base_url}: cannot {what} ({problem})") from None
            except openai.APITimeoutError:
                problem, wait = f"timed out after {self._params.timeout_s:g} s", _backoff(retry)
            except openai.APIConnectionError as exc:
                problem, wait = f"connection failed ({self._scrub(_root_cause(exc))})", _backoff(retry)
            except (json.JSONDecodeError, openai.APIResponseValidationError):
                problem, wait = "the answer was not JSON", _backoff(retry)
            finally:
                session.free.put_nowait(client)
            if retry == self._params.max_retries:
                break
            self.usage.retries += 1
            log.debug("cannot %s (%s); retry %d of %d in %.2f s", what, problem, retry + 1, self._params.max_retries, wait)
            await asyncio.sleep(wait)
        raise SynthclfError(f"{self._base_url}: cannot {what} after {self._params.max_retries + 1} attempts ({problem}); "
                            "answers received so far are cached and batches sent are remembered: re-run to resume")

    def _status_fault(self, status: int, code: str | None, message: str) -> Fault:
        """How an HTTP error inside a batch counts, by the rules of :meth:`_retry_wait` (no wait: the
        retry goes in the next batch). Raises for what no retry can fix."""
        problem = f"HTTP {status}: {self._scrub(message)}"
        if status in FATAL_STATUS:
            raise SynthclfError(f"{self._base_url}: {FATAL_STATUS[status]} in a batch ({problem}); "
                                f"check llm.model, llm.base_url and {self._params.api_key_env}")
        if status == 429 and code == "insufficient_quota":
            raise SynthclfError(f"{self._base_url}: quota exhausted ({problem}); "
                                "answers received so far are cached, re-run once the quota allows")
        return Fault(problem, retryable=status in RETRYABLE_STATUS or status >= 500)

    def _retry_wait(self, exc: openai.APIStatusError, retry: int) -> float | None:
        """Seconds to wait before retrying an HTTP error, None to give this item up; raises if hopeless."""
        status = exc.status_code
        if status in FATAL_STATUS:
            raise SynthclfError(f"{self._base_url}: {FATAL_STATUS[status]} (HTTP {status}: {self._scrub(str(exc))}); "
                                f"check llm.model, llm.base_url and {self._params.api_key_env}")
        if status == 429 and _error_code(exc) == "insufficient_quota":
            raise SynthclfError(f"{self._base_url}: quota exhausted (HTTP 429: {self._scrub(str(exc))}); "
                                "answers received so far are cached, re-run once the quota allows")
        if status not in RETRYABLE_STATUS and status < 500:
            return None  # e.g. 400: this request is at fault (prompt too long), not the server
        retry_after = _retry_after_s(exc.response.headers)
        if retry_after is None:
            return _backoff(retry)
        if retry_after > RETRY_AFTER_MAX_S:
            raise SynthclfError(f"{self._base_url}: rate limited for {retry_after:.0f} s (HTTP {status}); "
                                "answers received so far are cached, re-run later")
        # At least what the server asked for, plus a little jitter so waiting requests do not return at once.
        return retry_after * (1 + 0.1 * random.random())

    async def _pace(self, messages: Messages) -> None:
        if self._rpm:
            await self._rpm.acquire()
        if self._tpm:
            # Hosted APIs count prompt tokens plus max_tokens against the limit when the request arrives;
            # four characters per token is the usual estimate for English.
            await self._tpm.acquire(len(json.dumps(messages)) // 4 + self._sampling["max_tokens"])

    def _price(self, response: CachedResponse) -> float:
        prices = self._params.prices
        return (response.tokens_in * prices.input_per_million + response.tokens_out * prices.output_per_million) / 1e6

    def _scrub(self, text: str) -> str:
        """One line without the key: servers echo keys back in error messages, in part or in full."""
        if self._api_key:
            text = text.replace(self._api_key, "***")
        text = re.sub(r"(?i)(bearer\s+)\S+", r"\1***", text)
        text = re.sub(r"\bsk-[A-Za-z0-9_*.\-]{4,}", "sk-***", text)
        return " ".join(text.split())[:300]

    async def _current_session(self) -> _Session:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.loop is not loop:
            if not self._base_urls:
                # The embedded servers start at the first cache miss: a fully cached re-run never loads the
                # model. Starting blocks the loop for a second or so (for as long as another run's embedded
                # servers hold the machine, see server.machine_gate), but every request is waiting for it.
                # One attempt only: a model that failed to load would fail again, slowly, for every item.
                start, self._start_servers = self._start_servers, None
                if start is None:
                    raise SynthclfError("the embedded LLM server failed to start (see the first error)")
                servers = start()
                self._base_urls, self._api_key = [s.base_url for s in servers], servers[0].api_key
            clients = [
                openai.AsyncOpenAI(
                    api_key=self._api_key,
                    base_url=url,
                    timeout=self._params.timeout_s,
                    max_retries=0,  # retried here instead: counted, and malformed 200 answers are retried too
                    # The embedded server is on loopback: an http_proxy from the environment must not see its
                    # traffic. Hosted backends keep the environment's proxy settings.
                    http_client=openai.DefaultAsyncHttpxClient(trust_env=False) if self._local else None,
                )
                for url in self._base_urls
            ]
            free: asyncio.Queue[openai.AsyncOpenAI] = asyncio.Queue()
            # Round robin, so that concurrency spreads evenly over the embedded servers' slots.
            for i in range(self._params.concurrency):
                free.put_nowait(clients[i % len(clients)])
            closer = _close_with_loop(clients)
            self._session = _Session(loop, free, closer)
            await closer.__anext__()
        return self._session

    @property
    def _base_url(self) -> str:
        """Where requests go, for messages: the URL, or the first of the embedded servers."""
        if len(self._base_urls) > 1:
            return f"{self._base_urls[0]} (and {len(self._base_urls) - 1} more embedded servers)"
        return self._base_urls[0] if self._base_urls else "the embedded LLM server"

    def _finish(self) -> None:
        self.usage.wall_s = time.monotonic() - self._started


async def _close_with_loop(clients: list[openai.AsyncOpenAI]) -> AsyncGenerator[None, None]:
    """Close ``clients`` inside their own event loop when that loop shuts down.

    ``open_llm`` is a plain ``with`` block that may span several ``asyncio.run`` calls, so it cannot
    await the close itself. asyncio.run() finalises every suspended async generator of its loop
    before closing the loop; this one is left suspended at its ``yield`` until then.
    """
    try:
        yield
    finally:
        for client in clients:
            await client.close()


def attempt_seed(seed: int, attempt: int) -> int:
    """The seed sent for an attempt: the caller's seed first, then a distinct one per retry."""
    if attempt == 0:
        return seed
    digest = hashlib.sha256(f"{seed}/{attempt}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF  # llama.cpp takes 32-bit seeds


def as_is(content: str) -> str:
    """``complete(cut=as_is)``: a cut-off answer is used whole, for a judge whose verdict comes first."""
    return content


def _unusable(response: CachedResponse, cut_ok: bool) -> str | None:
    if response.refusal:
        return "refused"
    if response.finish_reason == "length" and not cut_ok:
        return "truncated at max_tokens"
    if response.finish_reason == "content_filter":
        return "withheld by the content filter"
    if not (response.content or "").strip():
        return "empty"
    return None


def _to_cached(completion: Any) -> CachedResponse:
    # The client does not validate answers (neither should it: servers differ), so check the shape here.
    choices = getattr(completion, "choices", None)
    if not isinstance(choices, list) or not choices:
        raise _Malformed
    message = getattr(choices[0], "message", None)
    content = getattr(message, "content", None)
    if message is None or not isinstance(content, (str, type(None))):
        raise _Malformed
    usage = getattr(completion, "usage", None)
    return CachedResponse(
        content=content,
        finish_reason=getattr(choices[0], "finish_reason", None),
        refusal=getattr(message, "refusal", None),
        tokens_in=int(getattr(usage, "prompt_tokens", 0) or 0),
        tokens_out=int(getattr(usage, "completion_tokens", 0) or 0),
    )


def _backoff(retry: int) -> float:
    base = min(BACKOFF_FIRST_S * 2**retry, BACKOFF_MAX_S)
    return base / 2 + random.uniform(0, base / 2)  # "equal jitter": spreads retries, keeps a floor


def _retry_after_s(headers: Any) -> float | None:
    """Retry-After in seconds: the OpenAI-style milliseconds header, delta-seconds, or an HTTP date."""
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / scale
        except ValueError:
            try:
                seconds = parsedate_to_datetime(value).timestamp() - time.time()
            except (TypeError, ValueError):
                continue
        if math.isfinite(seconds):
            return max(seconds, 0.0)
    return None


def _error_code(exc: openai.APIStatusError) -> str | None:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            return error.get("code")
    return None


def _root_cause(exc: BaseException) -> str:
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _hosted_endpoint(params: LLMParams) -> _Endpoint:
    key = os.environ.get(params.api_key_env, "")
    if params.backend == "openai":
        if not key:
            raise SynthclfError(f"llm.backend 'openai' needs an API key in the environment variable "
                                f"{params.api_key_env}, which is not set")
        base_url = params.base_url or OPENAI_BASE_URL
    else:
        assert params.base_url is not None  # LLMParams requires it for openai-compatible
        base_url = params.base_url
        key = key or "unused"  # self-hosted servers (vLLM, Ollama, llama.cpp) often take no key
    identity = {"backend": params.backend, "base_url": base_url.rstrip("/"), "model": params.model}
    return _Endpoint(identity=identity, model_id=params.model, base_url=base_url, api_key=key)


def run_log_path(stage: str, name: str) -> Path:
    """Where a stage's run log goes: untracked, because what a run did depends on the cache and the clock."""
    return RUN_LOG_DIR / stage / f"{name}.json"


@contextmanager
def open_llm(params: LLMParams, sampling: Sampling, *, progress_total: int | None = None,
             progress_desc: str = "LLM requests", run_log: Path | None = None) -> Iterator[LLM]:
    """An :class:`LLM` for ``params.backend``, usable until the block ends.

    For backend local the GGUF is resolved (and fetched once) here, and the embedded server starts at
    the first request that misses the cache and stops when the block ends, Ctrl-C included; if another
    process's embedded servers are running, it first waits for them to stop (one line on stderr says
    so). Hosted backends never wait. The
    response cache lives in ``params.cache_dir`` or ``cache_root()/"llm"``. The progress bar advances
    once per ``complete()`` call. Debug logging on ``synthclf.llm`` also shows llama.cpp's logs.
    When the block ends, however it ends, this run's :class:`Usage` (requests, cache hits, retries,
    what it paid, wall time) is printed as one line and, with ``run_log``, written there as JSON.
    """
    # httpx logs one INFO line per request, which would bury the progress bar when a stage logs at
    # INFO; leave it alone if the user configured it.
    for name in ("httpx", "httpx2"):
        if logging.getLogger(name).level == logging.NOTSET:
            logging.getLogger(name).setLevel(logging.WARNING)
    cache = ResponseCache(Path(params.cache_dir).expanduser() if params.cache_dir else cache_root() / "llm")
    try:
        with ExitStack() as servers:
            if params.backend == "local":
                gguf = resolve_gguf(params.local)
                verbose = log.isEnabledFor(logging.DEBUG)
                endpoint = _Endpoint(
                    # The weights themselves, wherever they were loaded from and whatever port serves them.
                    identity={"backend": "local", "gguf_sha256": sha256_of(gguf)},
                    model_id=gguf.name,
                    base_url=None,
                    api_key="",
                    start_servers=lambda: servers.enter_context(embedded_servers(gguf, params.local, verbose)),
                )
            else:
                endpoint = _hosted_endpoint(params)
            with tqdm(total=progress_total, desc=progress_desc, unit="req", dynamic_ncols=True) as bar:
                llm = LLM(params, sampling, endpoint, cache, bar)
                try:
                    yield llm
                finally:
                    llm._finish()
                    _report_run(progress_desc, llm, run_log)
    finally:
        cache.close()


def _report_run(name: str, llm: LLM, run_log: Path | None) -> None:
    usage = llm.usage
    print(f"{name}: {usage.requests} LLM requests, {usage.cache_hits} answers from the cache, {usage.retries} retries, "
          f"{usage.tokens_out} tokens generated, paid {usage.cost_usd:.4f} USD, {usage.wall_s:.0f} s", file=sys.stderr)
    if run_log is not None:
        write_json(run_log, {"model": llm.model_id, **usage.as_dict(),
                             "finished": datetime.now(timezone.utc).isoformat(timespec="seconds")})
