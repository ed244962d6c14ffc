"""The machine-wide gate on embedded LLM servers: runs on one machine take turns, a killed holder frees
it, hosted backends never wait, and Ctrl-C ends a wait. Real processes and the real lock; each test
points the gate at a temp dir of its own (TMPDIR), so runs elsewhere on the machine do not meet it."""

from __future__ import annotations

import fcntl
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from fake_openai_server import FakeOpenAIServer
from params_helpers import PARAMS_FILE
from repo_helpers import tool_env

from synthclf.llm.server import GATE_FILE

WAITING = "waiting for another synthclf run's embedded LLM on this machine"
# Generous: a loaded 2-core machine; only a hang should reach these.
TIMEOUT_S = 180

# Opens the embedded LLM, says "ready", waits for a line on stdin (so that two of them ask at the same
# moment), then asks four questions at once and prints the answers as JSON. The server module's log
# lines carry wall-clock times, so the test can tell when each process's servers started and stopped.
RUN_CHILD = """
import asyncio, json, logging, sys
from synthclf.llm import open_llm
from synthclf.params import LLMParams, Sampling, load_section

handler = logging.StreamHandler(sys.stderr)
handler.setFormatter(logging.Formatter("@%(created).6f %(message)s"))
server_log = logging.getLogger("synthclf.llm.server")
server_log.addHandler(handler)
server_log.setLevel(logging.DEBUG)
params = load_section(LLMParams, "llm", sys.argv[2], backend="local", model="smollm2", cache_dir=sys.argv[1],
                      concurrency=None, local={"servers": None, "threads": None, "parallel": 1, "prompt_cache": False,
                                               "context_per_slot": 512})
sampling = load_section(Sampling, "generate.sampling", sys.argv[2], max_tokens=48)
topics = ["the sea", "a train", "bread", "winter"]
with open_llm(params, sampling) as llm:
    print("ready", flush=True)
    sys.stdin.readline()
    async def main():
        return await asyncio.gather(*(llm.complete([{"role": "user", "content": f"Write one sentence about {t}."}],
                                                   seed=3, index=i) for i, t in enumerate(topics)))
    answers = asyncio.run(main())
print(json.dumps(answers), flush=True)
"""

# Holds the gate, with one embedded server ("servers") or without ("gate"), until stdin closes.
HOLD_CHILD = """
import sys
from synthclf.llm.server import embedded_servers, machine_gate, resolve_gguf
from synthclf.params import LocalModel, load_section

if sys.argv[1] == "servers":
    local = load_section(LocalModel, "llm.local", sys.argv[2], servers=1, threads=1, parallel=1, context_per_slot=256)
    holding = embedded_servers(resolve_gguf(local), local)
else:
    holding = machine_gate()
with holding:
    print("holding", flush=True)
    sys.stdin.read()
print("released", flush=True)
"""

# The embedded LLM asked one question inside asyncio.run, as every stage does.
ASK_CHILD = """
import asyncio, sys
from synthclf.llm import open_llm
from synthclf.params import LLMParams, Sampling, load_section

params = load_section(LLMParams, "llm", sys.argv[2], backend="local", model="smollm2", cache_dir=sys.argv[1],
                      local={"servers": 1, "threads": 1, "parallel": 1, "context_per_slot": 256})
with open_llm(params, load_section(Sampling, "generate.sampling", sys.argv[2], max_tokens=8)) as llm:
    print(asyncio.run(llm.complete([{"role": "user", "content": "Say hi."}], seed=0, index=0)), flush=True)
"""

# A hosted (OpenAI-compatible) backend at argv[3], asked two questions.
HOSTED_CHILD = """
import asyncio, json, sys
from synthclf.llm import open_llm
from synthclf.params import LLMParams, Sampling, load_section

params = load_section(LLMParams, "llm", sys.argv[2], backend="openai-compatible", model="fake-model",
                      base_url=sys.argv[3], cache_dir=sys.argv[1], timeout_s=5, concurrency=2)
with open_llm(params, load_section(Sampling, "generate.sampling", sys.argv[2], max_tokens=8)) as llm:
    async def main():
        return await asyncio.gather(*(llm.complete([{"role": "user", "content": f"q{i}"}], seed=1, index=i)
                                      for i in range(2)))
    print(json.dumps(asyncio.run(main())), flush=True)
"""


class Child:
    """A Python process whose stdout and stderr are collected as they come, so a test can wait for a line."""

    def __init__(self, script: str, *args: str, gate_dir: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", script, *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=tool_env(TMPDIR=str(gate_dir), PYTHONUNBUFFERED="1"))
        self.pid = self.proc.pid
        self._text = {"stdout": "", "stderr": ""}
        self._changed = threading.Condition()
        self._readers = [threading.Thread(target=self._read, args=(name,), daemon=True) for name in self._text]
        for reader in self._readers:
            reader.start()

    def _read(self, name: str) -> None:
        for line in getattr(self.proc, name):
            with self._changed:
                self._text[name] += line
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def stdout(self) -> str:
        with self._changed:
            return self._text["stdout"]

    @property
    def stderr(self) -> str:
        with self._changed:
            return self._text["stderr"]

    def wait_for(self, name: str, text: str, timeout: float = TIMEOUT_S) -> None:
        """Until ``text`` appears on stream ``name``; fails the test if the process ends or time runs out first."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while text not in self._text[name]:
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not any(r.is_alive() for r in self._readers)):
                    raise AssertionError(f"no {text!r} on {name} of pid {self.pid}:\n"
                                         f"{self._text['stdout'][-2000:]}\n{self._text['stderr'][-3000:]}")
                self._changed.wait(min(left, 0.2))

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line)
        self.proc.stdin.flush()

    def finish(self, timeout: float = TIMEOUT_S) -> int:
        """Close stdin and wait for the process to end (and its output to be read)."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()
            except BrokenPipeError:
                pass
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"pid {self.pid} did not end:\n{self.stdout[-2000:]}\n{self.stderr[-3000:]}") from None
        for reader in self._readers:
            reader.join(timeout=10)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)


@pytest.fixture
def children():
    """Every child a test starts, killed at the end if it is still running."""
    started: list[Child] = []
    yield started
    for child in started:
        child.kill()


def start(children: list[Child], script: str, *args: str, gate_dir: Path) -> Child:
    child = Child(script, *args, gate_dir=gate_dir)
    children.append(child)
    return child


def server_lifetime(stderr: str) -> tuple[float, float]:
    """Wall-clock (first server starting, last server stopped) from a RUN_CHILD's log lines."""
    starts = [float(t) for t in re.findall(r"@(\d+\.\d+) starting an embedded LLM server", stderr)]
    stops = [float(t) for t in re.findall(r"@(\d+\.\d+) embedded LLM server stopped", stderr)]
    assert starts and len(stops) == len(starts), stderr[-3000:]
    return min(starts), max(stops)


def waiting_pid(stderr: str) -> int:
    match = re.search(re.escape(WAITING) + r" \(pid (\d+)\) to finish", stderr)
    assert match, stderr[-3000:]
    return int(match.group(1))


def gate_is_held(gate_dir: Path) -> bool:
    fd = os.open(gate_dir / GATE_FILE, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


@pytest.mark.slow
def test_two_runs_at_once_take_turns_and_give_the_same_answers(tmp_path: Path, children: list[Child]) -> None:
    # Two caches, as two pipelines with different SYNTHCLF_CACHE_DIRs: both really generate, and the
    # gate, which lives in the temp dir, is shared all the same.
    runs = [start(children, RUN_CHILD, str(tmp_path / f"cache{i}"), str(PARAMS_FILE), gate_dir=tmp_path)
            for i in range(2)]
    for run in runs:
        run.wait_for("stdout", "ready")
    for run in runs:
        run.send("go\n")  # both ask at once
    for run in runs:
        assert run.finish() == 0, run.stderr[-3000:]

    waiters = [run for run in runs if WAITING in run.stderr]
    assert len(waiters) == 1, [run.stderr[-2000:] for run in runs]
    waiter = waiters[0]
    first = runs[1] if waiter is runs[0] else runs[0]
    assert waiting_pid(waiter.stderr) == first.pid
    assert waiter.stderr.count(WAITING) == 1  # said once, not at every attempt
    first_start, first_stop = server_lifetime(first.stderr)
    second_start, second_stop = server_lifetime(waiter.stderr)
    # The waiter's servers started only after the first run's had all stopped.
    assert first_start < first_stop <= second_start < second_stop
    assert waiter.stderr.index(WAITING) < waiter.stderr.index("starting an embedded LLM server")

    answers = [json.loads(run.stdout.strip().splitlines()[-1]) for run in runs]
    assert len(answers[0]) == 4 and any(isinstance(text, str) and text.strip() for text in answers[0]), answers
    assert answers[0] == answers[1]


@pytest.mark.slow
def test_a_killed_holder_frees_the_gate(tmp_path: Path, children: list[Child]) -> None:
    holder = start(children, HOLD_CHILD, "servers", str(PARAMS_FILE), gate_dir=tmp_path)
    holder.wait_for("stdout", "holding")
    waiter = start(children, HOLD_CHILD, "servers", str(PARAMS_FILE), gate_dir=tmp_path)
    waiter.wait_for("stderr", WAITING)
    assert waiting_pid(waiter.stderr) == holder.pid
    time.sleep(1.0)  # time enough to go ahead, were the gate not keeping it back
    assert "holding" not in waiter.stdout

    holder.proc.send_signal(signal.SIGKILL)  # no cleanup of any kind: only the OS can release the lock
    assert holder.proc.wait(timeout=30) == -signal.SIGKILL
    waiter.wait_for("stdout", "holding")
    assert waiter.finish() == 0, waiter.stderr[-3000:]
    assert "released" in waiter.stdout


def test_a_hosted_backend_does_not_wait_for_the_gate(tmp_path: Path, children: list[Child],
                                                      server: FakeOpenAIServer) -> None:
    holder = start(children, HOLD_CHILD, "gate", str(PARAMS_FILE), gate_dir=tmp_path)
    holder.wait_for("stdout", "holding")
    assert gate_is_held(tmp_path)

    hosted = start(children, HOSTED_CHILD, str(tmp_path / "cache"), str(PARAMS_FILE), server.base_url,
                   gate_dir=tmp_path)
    assert hosted.finish(timeout=60) == 0, hosted.stderr[-3000:]
    assert WAITING not in hosted.stderr
    answers = json.loads(hosted.stdout.strip().splitlines()[-1])
    assert len(answers) == 2 and all(answers) and server.count == 2
    assert gate_is_held(tmp_path)  # it was held all along
    assert holder.finish() == 0


def test_ctrl_c_ends_the_wait_for_the_gate(tmp_path: Path, children: list[Child]) -> None:
    holder = start(children, HOLD_CHILD, "gate", str(PARAMS_FILE), gate_dir=tmp_path)
    holder.wait_for("stdout", "holding")
    asking = start(children, ASK_CHILD, str(tmp_path / "cache"), str(PARAMS_FILE), gate_dir=tmp_path)
    asking.wait_for("stderr", WAITING)
    asking.proc.send_signal(signal.SIGINT)
    # Within asyncio.run, Ctrl-C only cancels the main task, which a wait in the event loop never
    # notices: without the gate's own handling this waits until the holder ends.
    code = asking.finish(timeout=30)
    assert code != 0 and "KeyboardInterrupt" in asking.stderr, asking.stderr[-3000:]
    assert asking.stdout == ""  # no answer: it never got to start a server
    assert gate_is_held(tmp_path)  # the holder still has it
    assert holder.finish() == 0
