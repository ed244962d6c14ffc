"""A small OpenAI-compatible Chat Completions server for tests: real HTTP on 127.0.0.1, scripted faults.

Every request is recorded (path, headers, JSON body) so tests count requests at the server, not at
the client. Replies are deterministic: the content names the last message and the seed, so a test can
tell which request produced which answer. Faults are queued rules, applied to the next ``times``
requests (optionally only those whose last message contains ``match``):

- ``"429"``: rate limited, with ``Retry-After: retry_after`` seconds;
- ``"500"``: internal server error;
- ``"hang"``: sleep ``hang_s`` before answering (longer than the client's timeout);
- ``"drop"``: close the connection without a response;
- ``"empty"``: empty content; ``"length"``: finish_reason "length"; ``"refusal"``: a refusal;
- ``"text"``: a normal answer whose content is ``text`` (a refusal written as plain text, say);
- ``"malformed"``: status 200 with a body that is not JSON;
- ``"400"``: the request itself is rejected (as for a prompt longer than the context);
- ``"401"``: invalid key, with the presented key echoed back the way careless servers do.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from params_helpers import repo_params

from synthclf.params import LLMParams

FAULTS = ("429", "500", "hang", "drop", "empty", "length", "refusal", "text", "malformed", "400", "401")


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float  # time.monotonic() on arrival


@dataclass
class _Rule:
    kind: str
    times: int
    match: str | None
    retry_after: float
    hang_s: float
    text: str


@dataclass
class _State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list[Recorded] = field(default_factory=list)
    rules: list[_Rule] = field(default_factory=list)
    delay_s: float = 0.0
    in_flight: int = 0
    max_in_flight: int = 0


def reply_for(body: dict[str, Any]) -> str:
    """The content the fake server answers a healthy request with."""
    last = body["messages"][-1]["content"]
    return f"reply to [{last}] seed={body.get('seed')}"


class _Handler(BaseHTTPRequestHandler):
    # Keep-alive like real servers, so dropped connections and timeouts hit pooled connections too.
    protocol_version = "HTTP/1.1"
    state: _State  # set on the subclass made per server

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default per-request stderr line."""

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.loads(raw or b"{}")
        headers = {k.lower(): v for k, v in self.headers.items()}
        with self.state.lock:
            self.state.requests.append(Recorded(self.path, headers, body, time.monotonic()))
            rule = self._take_rule(body)
            delay = self.state.delay_s
            self.state.in_flight += 1
            self.state.max_in_flight = max(self.state.max_in_flight, self.state.in_flight)
        try:
            self._answer(body, headers, rule, delay)
        finally:
            with self.state.lock:
                self.state.in_flight -= 1

    def _answer(self, body: dict[str, Any], headers: dict[str, str], rule: _Rule | None, delay: float) -> None:
        if rule is None:
            time.sleep(delay)
            self._completion(body, reply_for(body), "stop")
            return
        kind = rule.kind
        if kind == "429":
            self._json(429, {"error": {"message": "Rate limit reached", "type": "requests"}},
                       {"Retry-After": f"{rule.retry_after:g}"})
        elif kind == "500":
            self._json(500, {"error": {"message": "The server had an error", "type": "server_error"}})
        elif kind == "hang":
            time.sleep(rule.hang_s)
            self.close_connection = True
        elif kind == "drop":
            self.close_connection = True
        elif kind == "empty":
            self._completion(body, "", "stop")
        elif kind == "length":
            self._completion(body, reply_for(body)[:10], "length")
        elif kind == "refusal":
            self._completion(body, None, "stop", refusal="I can't help with that.")
        elif kind == "text":
            self._completion(body, rule.text, "stop")
        elif kind == "malformed":
            self._send(200, b'{"id": "chatcmpl-1", "choices": [', {"Content-Type": "application/json"})
        elif kind == "400":
            self._json(400, {"error": {"message": "This model's maximum context length is 2048 tokens",
                                       "type": "invalid_request_error", "code": "context_length_exceeded"}})
        elif kind == "401":
            key = headers.get("authorization", "").removeprefix("Bearer ")
            self._json(401, {"error": {"message": f"Incorrect API key provided: {key}", "type": "invalid_request_error",
                                       "code": "invalid_api_key"}})

    def _take_rule(self, body: dict[str, Any]) -> _Rule | None:
        last = str(body.get("messages", [{}])[-1].get("content", ""))
        for rule in self.state.rules:
            if rule.times > 0 and (rule.match is None or rule.match in last):
                rule.times -= 1
                return rule
        return None

    def _completion(self, body: dict[str, Any], content: str | None, finish: str, refusal: str | None = None) -> None:
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body["messages"])
        completion_tokens = len((content or "").split())
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if refusal is not None:
            message["refusal"] = refusal
        self._json(200, {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        })

    def _json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), {"Content-Type": "application/json", **(headers or {})})

    def _send(self, status: int, data: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _QuietHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 drops connection attempts when many clients connect at once; the client
    # then waits a full SYN retransmit (1 s), which looks like a timeout and skews request counts.
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that time out or give up reset their connections; that is expected here."""


class FakeOpenAIServer:
    """``with FakeOpenAIServer() as server:`` serves on ``server.base_url`` until the block ends."""

    def __init__(self) -> None:
        self._state = _State()
        handler = type("Handler", (_Handler,), {"state": self._state})
        self._httpd = _QuietHTTPServer(("127.0.0.1", 0), handler)
        # A short poll interval so that leaving the block (shutdown) takes milliseconds, not half a second.
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    @property
    def requests(self) -> list[Recorded]:
        with self._state.lock:
            return list(self._state.requests)

    @property
    def count(self) -> int:
        with self._state.lock:
            return len(self._state.requests)

    @property
    def max_in_flight(self) -> int:
        """The most requests the server was handling at one time."""
        with self._state.lock:
            return self._state.max_in_flight

    def reset_count(self) -> None:
        with self._state.lock:
            self._state.requests.clear()

    def set_delay(self, seconds: float) -> None:
        """Delay every healthy answer, e.g. so a test can kill a client mid-run."""
        with self._state.lock:
            self._state.delay_s = seconds

    def fail(self, kind: str, times: int = 1, *, match: str | None = None, retry_after: float = 1.0,
             hang_s: float = 3.0, text: str = "") -> None:
        """Answer the next ``times`` requests (whose last message contains ``match``) with fault ``kind``."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; expected one of {FAULTS}")
        with self._state.lock:
            self._state.rules.append(_Rule(kind, times, match, retry_after, hang_s, text))

    def clear_faults(self) -> None:
        """The server is fixed: every later request gets a healthy answer."""
        with self._state.lock:
            self._state.rules.clear()

    def __enter__(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def fake_llm_params(server: FakeOpenAIServer, cache_dir: Path, **overrides: Any) -> LLMParams:
    """LLM params that point synthclf at ``server``, with short timeouts so fault tests stay fast; the
    rest from the repo's params.yaml."""
    fields: dict[str, Any] = {"backend": "openai-compatible", "model": "fake-model", "base_url": server.base_url,
                              "cache_dir": str(cache_dir), "timeout_s": 1.0, "max_retries": 3, "concurrency": 4}
    fields.update(overrides)
    return repo_params(LLMParams, **fields)
