"""The embedded llama.cpp server: clean errors for bad model files, lazy start, and (slow) the real thing."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from params_helpers import PARAMS_FILE, repo_params, repo_sampling

from synthclf.distributions import sha256_of
from synthclf.errors import SynthclfError
from synthclf.llm import client as client_module
from synthclf.llm import open_llm
from synthclf.llm.cache import CachedResponse, ResponseCache, request_key
from synthclf.llm.server import embedded_server, resolve_gguf
from synthclf.params import LLMParams, LocalModel


def test_missing_gguf_is_reported(tmp_path: Path) -> None:
    with pytest.raises(SynthclfError, match="file not found"):
        resolve_gguf(repo_params(LocalModel, gguf=str(tmp_path / "absent.gguf")))


def test_garbage_file_is_refused_before_llama_cpp(tmp_path: Path) -> None:
    garbage = tmp_path / "model.gguf"
    garbage.write_bytes(os.urandom(100_000))
    params = repo_params(LLMParams, backend="local", model="m", cache_dir=str(tmp_path), local={"gguf": str(garbage)})
    with pytest.raises(SynthclfError, match="not a GGUF model file"):
        with open_llm(params, repo_sampling()):
            pass


def test_corrupt_gguf_fails_cleanly_in_llama_cpp(tmp_path: Path) -> None:
    # A valid header followed by garbage gets past the magic check; llama.cpp must then fail, not hang or crash.
    corrupt = tmp_path / "model.gguf"
    corrupt.write_bytes(b"GGUF" + (3).to_bytes(4, "little") + os.urandom(100_000))
    params = repo_params(LLMParams, backend="local", model="m", cache_dir=str(tmp_path), local={"gguf": str(corrupt)})
    started = time.monotonic()
    with open_llm(params, repo_sampling()) as llm:
        async def main() -> list[object]:
            return await asyncio.gather(*(llm.complete([{"role": "user", "content": "hi"}], seed=0, index=i)
                                          for i in range(3)), return_exceptions=True)
        outcomes = asyncio.run(main())
    assert all(isinstance(outcome, SynthclfError) for outcome in outcomes)
    assert "could not load" in str(outcomes[0])
    assert time.monotonic() - started < 30


def test_cached_local_rerun_never_starts_the_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Weights are identified by content, so a cache filled from one copy of a GGUF serves another copy.
    first, second = tmp_path / "a.gguf", tmp_path / "b.gguf"
    for path in (first, second):
        path.write_bytes(b"GGUF" + (3).to_bytes(4, "little") + b"same weights")
    messages = [{"role": "user", "content": "hello"}]
    key = request_key({"backend": "local", "gguf_sha256": sha256_of(first)}, messages, repo_sampling().model_dump(),
                      seed=1, index=0, attempt=0)
    cache = ResponseCache(tmp_path)
    cache.put(key, CachedResponse("cached answer", "stop", None, 3, 2))
    cache.close()

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the embedded server was started")

    monkeypatch.setattr(client_module, "embedded_servers", refuse)
    params = repo_params(LLMParams, backend="local", model="m", cache_dir=str(tmp_path), local={"gguf": str(second)})
    with open_llm(params, repo_sampling()) as llm:
        assert asyncio.run(llm.complete(messages, seed=1, index=0)) == "cached answer"
    assert llm.usage.requests == 0 and llm.usage.cache_hits == 1


def _listening_addresses(port: int) -> set[str]:
    """Local addresses of the sockets listening on ``port`` (Linux /proc), as dotted or hex strings."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:  # 0A = LISTEN
                found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]) if len(address) == 8 else address)
    return found


@pytest.mark.slow
def test_embedded_server_completes_on_loopback_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    params = repo_params(LLMParams, backend="local", model="smollm2", cache_dir=str(tmp_path),
                         local={"parallel": 2, "context_per_slot": 512})
    with embedded_server(resolve_gguf(params.local), params.local) as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        port = int(server.base_url.rsplit(":", 1)[1].split("/")[0])
        if os.path.exists("/proc/net/tcp"):
            assert _listening_addresses(port) == {"127.0.0.1"}
        # It answers only requests carrying this run's key.
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{server.base_url}/models", timeout=5)
        assert refused.value.code == 401
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)

    # A proxy that refuses everything: loopback traffic must not be sent to it.
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    messages = [{"role": "user", "content": "Write one sentence about the sea."}]
    with open_llm(params, repo_sampling(max_tokens=24)) as llm:
        text = asyncio.run(llm.complete(messages, seed=1, index=0))
    assert llm.model_id.endswith(".gguf")
    assert text and text.strip()
    assert llm.usage.requests >= 1 and llm.usage.tokens_out > 0


@pytest.mark.slow
def test_answers_do_not_depend_on_how_many_servers_share_the_work(tmp_path: Path) -> None:
    """One two-thread server, or a pool of two one-thread servers that take requests as they come free:
    the same answers, byte for byte, because every request decodes alone in its slot."""
    topics = ["the sea", "a train", "bread", "winter", "a library", "chess"]

    def answers(servers: int, threads: int) -> list[str | None]:
        params = repo_params(LLMParams, backend="local", model="smollm2", cache_dir=str(tmp_path / f"{servers}"),
                             local={"servers": servers, "threads": threads, "parallel": 1, "prompt_cache": False,
                                    "context_per_slot": 1024})
        assert params.concurrency == servers
        with open_llm(params, repo_sampling(max_tokens=40)) as llm:
            async def main() -> list[str | None]:
                return await asyncio.gather(*(llm.complete([{"role": "user", "content": f"Write one sentence about {t}."}],
                                                           seed=5, index=i) for i, t in enumerate(topics)))
            out = asyncio.run(main())
        assert llm.usage.requests >= len(topics) and llm.usage.cache_hits == 0
        return out

    one = answers(servers=1, threads=2)
    assert any(one)
    assert answers(servers=2, threads=1) == one


# Starts the server with one request, then keeps it busy with long generations until interrupted.
CTRL_C_CHILD = """
import asyncio, sys
from synthclf.llm import open_llm
from synthclf.params import LLMParams, Sampling, load_section

# The repo's params.yaml (argv[2]) with a small server.
params = load_section(LLMParams, "llm", sys.argv[2], backend="local", model="smollm2", cache_dir=sys.argv[1],
                      local={"parallel": 2, "context_per_slot": 1024})
with open_llm(params, load_section(Sampling, "generate.sampling", sys.argv[2], max_tokens=500)) as llm:
    async def main():
        await llm.complete([{"role": "user", "content": "Say hi."}], seed=0, index=0)
        print("ready", flush=True)
        await asyncio.gather(*(llm.complete([{"role": "user", "content": "Write a long story."}], seed=0, index=i)
                               for i in range(1, 9)))
    asyncio.run(main())
"""


@pytest.mark.slow
def test_ctrl_c_mid_run_stops_the_embedded_server(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", CTRL_C_CHILD, str(tmp_path), str(PARAMS_FILE)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    time.sleep(0.5)  # generations in flight
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=30)  # a stuck server shutdown would hang here
    assert child.returncode != 0
    assert "KeyboardInterrupt" in err
    cache = ResponseCache(tmp_path)
    assert len(cache) >= 1  # the answer that arrived before Ctrl-C is kept
    cache.close()
