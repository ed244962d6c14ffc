"""A real SSH server speaking SFTP on 127.0.0.1, for DVC's `ssh://` remotes (dvc-ssh) in tests.

It is asyncssh's own server, run in this process on a thread with its own event loop: public-key
authentication only (no password, no keyboard-interactive, no agent), SFTP only (no shell, no exec,
no scp, no forwarding), confined to one directory, on a free port of the loopback interface."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh


@dataclass
class SSHKeyPair:
    private: Path
    public: Path


def generate_key_pair(folder: Path, name: str) -> SSHKeyPair:
    """A new unencrypted ed25519 key pair in ``folder`` (``name`` and ``name.pub``, private key 0600)."""
    folder.mkdir(parents=True, exist_ok=True)
    key = asyncssh.generate_private_key("ssh-ed25519", comment=f"synthclf-tests-{name}")
    private, public = folder / name, folder / f"{name}.pub"
    key.write_private_key(private)
    private.chmod(0o600)
    key.write_public_key(public)
    return SSHKeyPair(private, public)


@dataclass
class _Events:
    """What clients did, as the server saw it (for assertions)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    connections: int = 0
    logins: list[str] = field(default_factory=list)
    open: set = field(default_factory=set)  # touched on the server's event loop only

    def connected(self, conn: asyncssh.SSHServerConnection) -> None:
        self.open.add(conn)
        with self.lock:
            self.connections += 1

    def disconnected(self, conn: asyncssh.SSHServerConnection) -> None:
        self.open.discard(conn)

    def logged_in(self, username: str) -> None:
        with self.lock:
            self.logins.append(username)


class _Server(asyncssh.SSHServer):
    def __init__(self, events: _Events):
        self._events = events
        self._username = ""
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._events.connected(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        self._events.disconnected(self._conn)

    def begin_auth(self, username: str) -> bool:
        self._username = username
        return True  # authentication is required

    def public_key_auth_supported(self) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def auth_completed(self) -> None:
        self._events.logged_in(self._username)


class SFTPServer:
    """``with SFTPServer(root, host_key, authorized_keys) as server:`` serves ``root`` (as ``/``) at
    ``127.0.0.1:server.port`` to clients holding a private key whose public key is in
    ``authorized_keys`` (OpenSSH ``authorized_keys`` format)."""

    def __init__(self, root: Path, host_key: Path, authorized_keys: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._host_key = host_key
        self._authorized_keys = authorized_keys
        self.events = _Events()
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self._thread: threading.Thread | None = None

    async def _start(self) -> None:
        root = str(self.root)
        self._acceptor = await asyncssh.listen(
            "127.0.0.1",
            0,
            server_factory=lambda: _Server(self.events),
            server_host_keys=[str(self._host_key)],
            authorized_client_keys=str(self._authorized_keys),
            sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=root),
            allow_scp=False,
            agent_forwarding=False,
            allow_pty=False,
            x11_forwarding=False,
            gss_kex=False,
            gss_auth=False,
            # Never read the user's own OpenSSH server configuration.
            config=[],
        )
        self.port = self._acceptor.get_port()

    def __enter__(self) -> SFTPServer:
        loop = asyncio.new_event_loop()
        started = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._start())
            except BaseException as exc:  # reported to the caller below
                failure.append(exc)
                started.set()
                loop.close()
                return
            started.set()
            loop.run_forever()
            loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=serve, name="sftp-server", daemon=True)
        self._thread.start()
        if not started.wait(timeout=30) or failure:
            raise RuntimeError(f"the SFTP server did not start: {failure[0] if failure else 'timeout'}")
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._loop is not None and self._thread is not None

        async def stop() -> None:
            assert self._acceptor is not None
            self._acceptor.close()  # stops listening; open connections stay open, so close them
            for conn in list(self.events.open):
                conn.close()
                await conn.wait_closed()
            await self._acceptor.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
