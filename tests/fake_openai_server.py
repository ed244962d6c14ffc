"""A small OpenAI-compatible Chat Completions server for tests: real HTTP on 127.0.0.1, scripted faults.

Every request is recorded (path, headers, JSON body) so tests count requests at the server, not at
the client. Replies are deterministic: the content names the last message and the seed, so a test can
tell which request produced which answer. Faults are queued rules, applied to the next ``times``
requests (optionally only those whose last message contains ``match``):

- ``"429"``: rate limited, with ``Retry-After: retry_after`` seconds;
- ``"500"``: internal server error;
- ``"hang"``: sleep ``hang_s`` before answering (longer than the client's timeout);
- ``"drop"``: close the connection without a response;
- ``"empty"``: empty content; ``"length"``: finish_reason "length", with ``text`` as the content
  cut off if given; ``"refusal"``: a refusal;
- ``"text"``: a normal answer whose content is ``text`` (a refusal written as plain text, say);
- ``"malformed"``: status 200 with a body that is not JSON;
- ``"400"``: the request itself is rejected (as for a prompt longer than the context);
- ``"401"``: invalid key, with the presented key echoed back the way careless servers do.

It also serves the Batch API (files upload with purpose "batch", ``POST /batches``, ``GET /batches/{id}``,
``GET /files/{id}/content``). A batch is "validating" when created, "in_progress" at the first status
check and ends at the second (or later, while ``hold_batches(True)``). Its lines meet the same fault
rules as synchronous requests: a 429/500/400/401 goes to the error file with that status, "drop" and
"hang" leave the line out of both files (a partial batch), "malformed" writes an output line that is not
a chat completion, the answer faults write such answers. ``batch_outcome("failed" | "expired" |
"cancelled")`` ends the next batch so: failed without any file, expired and cancelled with the first
half of its lines answered and the rest in the error file as not run.
"""

from __future__ import annotations

import json
import threading
import time
from email.parser import BytesParser
from email.policy import default as default_policy
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from params_helpers import repo_params

from synthclf.params import LLMParams

FAULTS = ("429", "500", "hang", "drop", "empty", "length", "refusal", "text", "malformed", "400", "401")
BATCH_OUTCOMES = ("completed", "failed", "expired", "cancelled")


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float  # time.monotonic() on arrival
    method: str = "POST"


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
    # The Batch API: uploaded files (bytes, purpose), batches (the JSON the API returns), how each ends.
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    batches: dict[str, dict[str, Any]] = field(default_factory=dict)
    batch_ends: dict[str, str] = field(default_factory=dict)
    outcomes: list[str] = field(default_factory=list)  # for the next batches created, in order
    hold: bool = False
    batch_lines: list[dict[str, Any]] = field(default_factory=list)  # request bodies run in batches


def completion_payload(body: dict[str, Any], content: str | None, finish: str, refusal: str | None = None) -> dict[str, Any]:
    """The chat completion the fake server answers ``body`` with."""
    prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body["messages"])
    completion_tokens = len((content or "").split())
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if refusal is not None:
        message["refusal"] = refusal
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


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
        headers = {k.lower(): v for k, v in self.headers.items()}
        if self.path.endswith("/files"):
            self._upload(raw, headers)
            return
        body = json.loads(raw or b"{}")
        if self.path.endswith("/batches"):
            self._create_batch(body, headers)
            return
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
            self._completion(body, rule.text or reply_for(body)[:10], "length")
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
        self._json(200, completion_payload(body, content, finish, refusal))

    # --- The Batch API ---------------------------------------------------------------------------

    def _upload(self, raw: bytes, headers: dict[str, str]) -> None:
        message = BytesParser(policy=default_policy).parsebytes(
            f"Content-Type: {headers.get('content-type', '')}\r\n\r\n".encode() + raw)
        fields: dict[str, bytes] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            fields[str(name)] = part.get_payload(decode=True) or b""
        with self.state.lock:
            file_id = f"file-{len(self.state.files) + 1}"
            purpose = fields.get("purpose", b"").decode()
            self.state.files[file_id] = (fields.get("file", b""), purpose)
            self.state.requests.append(Recorded(self.path, headers, {"purpose": purpose, "id": file_id}, time.monotonic()))
        self._json(200, {"id": file_id, "object": "file", "bytes": len(fields.get("file", b"")),
                         "created_at": int(time.time()), "filename": "input.jsonl", "purpose": purpose})

    def _create_batch(self, body: dict[str, Any], headers: dict[str, str]) -> None:
        with self.state.lock:
            self.state.requests.append(Recorded(self.path, headers, body, time.monotonic()))
            upload = self.state.files.get(body.get("input_file_id", ""))
            if (upload is None or upload[1] != "batch" or body.get("endpoint") != "/v1/chat/completions"
                    or body.get("completion_window") != "24h"):
                problem = "unknown input file, or not a batch file, endpoint or window the API offers"
                self._json(400, {"error": {"message": problem, "type": "invalid_request_error"}})
                return
            batch_id = f"batch_{len(self.state.batches) + 1}"
            self.state.batches[batch_id] = {
                "id": batch_id, "object": "batch", "endpoint": body["endpoint"], "input_file_id": body["input_file_id"],
                "completion_window": "24h", "status": "validating", "created_at": int(time.time()),
                "output_file_id": None, "error_file_id": None, "errors": None,
                "request_counts": {"total": 0, "completed": 0, "failed": 0},
            }
            self.state.batch_ends[batch_id] = self.state.outcomes.pop(0) if self.state.outcomes else "completed"
            answer = dict(self.state.batches[batch_id])
        self._json(200, answer)

    def do_GET(self) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        parts = self.path.rstrip("/").split("/")
        with self.state.lock:
            self.state.requests.append(Recorded(self.path, headers, {}, time.monotonic(), "GET"))
            if len(parts) >= 2 and parts[-2] == "batches" and parts[-1] in self.state.batches:
                batch = self.state.batches[parts[-1]]
                if batch["status"] == "validating":
                    batch["status"] = "in_progress"
                elif batch["status"] == "in_progress" and not self.state.hold:
                    self._end_batch(batch)
                answer: dict[str, Any] | bytes = dict(batch)
            elif len(parts) >= 3 and parts[-1] == "content" and parts[-3] == "files" and parts[-2] in self.state.files:
                answer = self.state.files[parts[-2]][0]
            else:
                answer = b""
        if isinstance(answer, dict):
            self._json(200, answer)
        elif answer:
            self._send(200, answer, {"Content-Type": "application/octet-stream"})
        else:
            self._json(404, {"error": {"message": f"No such object: {self.path}", "type": "invalid_request_error"}})

    def _end_batch(self, batch: dict[str, Any]) -> None:
        """Run the batch's lines (under the state lock) and end it as its outcome says."""
        end = self.state.batch_ends[batch["id"]]
        batch["status"] = end
        if end == "failed":
            batch["errors"] = {"object": "list", "data": [{"code": "invalid_request", "message": "the batch failed", "line": None}]}
            return
        lines = [json.loads(line) for line in self.state.files[batch["input_file_id"]][0].decode().splitlines()]
        custom_ids = [line["custom_id"] for line in lines]
        assert len(set(custom_ids)) == len(custom_ids), "custom_id must be unique within a batch"
        assert all(line["method"] == "POST" and line["url"] == "/v1/chat/completions" for line in lines)
        run = len(lines) if end == "completed" else len(lines) // 2
        output, errors = [], []
        for i, line in enumerate(lines):
            if i >= run:
                errors.append({"id": "batch_req_x", "custom_id": line["custom_id"], "response": None,
                               "error": {"code": f"batch_{end}", "message": "not run before the batch ended"}})
                continue
            self.state.batch_lines.append(line["body"])
            done, failed = self._batch_line(line)
            output += done
            errors += failed
        for name, rows in (("output_file_id", output), ("error_file_id", errors)):
            if rows:
                file_id = f"file-{len(self.state.files) + 1}"
                self.state.files[file_id] = ("".join(json.dumps(row) + "\n" for row in rows).encode(), "batch_output")
                batch[name] = file_id
        batch["request_counts"] = {"total": len(lines), "completed": len(output), "failed": len(errors)}

    def _batch_line(self, line: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The output and error file rows of one line of a batch."""
        body = line["body"]
        rule = self._take_rule(body)
        kind = rule.kind if rule else None

        def answer(payload: dict[str, Any]) -> list[dict[str, Any]]:
            return [{"id": "batch_req_x", "custom_id": line["custom_id"],
                     "response": {"status_code": 200, "request_id": "req_x", "body": payload}, "error": None}]

        if kind in ("drop", "hang"):
            return [], []
        if kind in ("429", "500", "400", "401"):
            code = "invalid_api_key" if kind == "401" else None
            return [], [{"id": "batch_req_x", "custom_id": line["custom_id"],
                         "response": {"status_code": int(kind), "request_id": "req_x",
                                      "body": {"error": {"message": f"fault {kind}", "type": "error", "code": code}}},
                         "error": None}]
        if kind == "malformed":
            return answer({"id": "chatcmpl-1", "choices": "nonsense"}), []
        content, finish, refusal = reply_for(body), "stop", None
        if kind == "empty":
            content = ""
        elif kind == "length":
            content, finish = (rule.text if rule is not None and rule.text else reply_for(body)[:10]), "length"
        elif kind == "refusal":
            content, refusal = None, "I can't help with that."
        elif kind == "text":
            assert rule is not None
            content = rule.text
        return answer(completion_payload(body, content, finish, refusal)), []

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

    def batch_outcome(self, outcome: str, times: int = 1) -> None:
        """End the next ``times`` batches created with ``outcome`` instead of "completed"."""
        if outcome not in BATCH_OUTCOMES:
            raise ValueError(f"unknown batch outcome {outcome!r}; expected one of {BATCH_OUTCOMES}")
        with self._state.lock:
            self._state.outcomes += [outcome] * times

    def hold_batches(self, hold: bool) -> None:
        """While held, batches stay in progress, however often their status is checked."""
        with self._state.lock:
            self._state.hold = hold

    def calls(self, method: str, endpoint: str) -> list[Recorded]:
        """The recorded requests to the Batch API: ``calls("POST", "batches")``, ``calls("GET", "batches")``,
        ``calls("POST", "files")``, ``calls("GET", "files")`` (downloads of results)."""
        found = []
        for request in self.requests:
            parts = request.path.rstrip("/").split("/")
            if request.method == method == "POST" and parts[-1] == endpoint:
                found.append(request)
            elif request.method == method == "GET" and endpoint in parts[:-1]:
                found.append(request)
        return found

    def file_lines(self, file_id: str) -> list[dict[str, Any]]:
        """The JSON lines of an uploaded (or result) file."""
        with self._state.lock:
            data = self._state.files[file_id][0]
        return [json.loads(line) for line in data.decode().splitlines()]

    @property
    def batch_lines(self) -> list[dict[str, Any]]:
        """The request bodies the batches ran, in order."""
        with self._state.lock:
            return list(self._state.batch_lines)

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
