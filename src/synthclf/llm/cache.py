"""The content-addressed response cache: every paid answer is kept the moment it arrives.

One SQLite file in WAL mode, shared by every process and checkout of a user (its default home is
``cache_root()/"llm"``, outside every DVC output). Each response is committed in its own transaction
as soon as it arrives, so a run killed at any point - SIGKILL included - loses at most the requests
that were in flight, and a re-run with the same inputs is served entirely from here.

Only what the model returned is stored (content, finish reason, refusal, token counts) and what it
cost when it was paid, under the sha256 of the request; never a credential, never a URL with a port or
temp path in it. The stored cost makes the cost of a synthetic set a property of the set: a re-run
served from here reports what producing the data cost, not the zero this run paid.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthclf.errors import SynthclfError

CACHE_FILE = "responses.sqlite3"
SETUP_WAIT_S = 60  # as long as the busy timeout every other statement waits
# Part of every key: a change to what a key means must miss the old entries, not misread them.
KEY_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    content TEXT,
    finish_reason TEXT,
    refusal TEXT,
    tokens_in INTEGER NOT NULL,
    tokens_out INTEGER NOT NULL,
    created REAL NOT NULL,
    cost_usd REAL
) WITHOUT ROWID;
-- Items whose every answer was unusable in a run that failed for it: a re-run asks them again in a
-- new round of attempts (new seeds) instead of replaying the cached rejects.
CREATE TABLE IF NOT EXISTS retry_rounds (
    item TEXT PRIMARY KEY,
    rounds INTEGER NOT NULL
) WITHOUT ROWID;
-- Requests sent in a batch (llm.batch) whose results have not been read back yet, written the moment
-- the batch is created: a run killed while it waits polls the same batch again instead of paying twice.
CREATE TABLE IF NOT EXISTS batch_requests (
    key TEXT PRIMARY KEY,
    batch_id TEXT NOT NULL,
    created REAL NOT NULL
) WITHOUT ROWID
"""
# SQLite's limit on host parameters in one statement is 999 in old builds.
_KEYS_PER_QUERY = 500


@dataclass(frozen=True)
class CachedResponse:
    """One chat completion as the server returned it (the first choice)."""

    content: str | None
    finish_reason: str | None
    refusal: str | None
    tokens_in: int
    tokens_out: int
    # US dollars at the prices in force when it was paid; None for answers cached before costs were kept.
    cost_usd: float | None = None


def request_key(model: dict[str, Any], messages: list[dict[str, Any]], sampling: dict[str, Any],
                seed: int, index: int, attempt: int) -> str:
    """sha256 of the canonical JSON of everything that decides the answer.

    ``model`` identifies the weights, not where they are served from (for the embedded server: the
    GGUF's sha256, never its temp port or path). ``attempt`` is part of the key because a bad answer
    is retried with a new seed, and each attempt's answer is cached on its own.
    """
    payload = {
        "v": KEY_VERSION,
        "model": model,
        "messages": messages,
        "sampling": sampling,
        "seed": seed,
        "index": index,
        "attempt": attempt,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class ResponseCache:
    """Get and put responses by key; safe for concurrent writer processes."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / CACHE_FILE
        try:
            directory.mkdir(parents=True, exist_ok=True)
            # Autocommit (isolation_level=None): each put is its own committed transaction. A long busy
            # timeout lets writers in other processes queue instead of failing with "database is locked".
            self._db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            self._set_up()
        except sqlite3.DatabaseError as exc:
            raise SynthclfError(f"{self.path}: cannot use the LLM response cache ({exc}); "
                                "move the file away or set llm.cache_dir") from None
        except OSError as exc:
            raise SynthclfError(f"{directory}: cannot create the LLM response cache ({exc.strerror})") from None

    def _set_up(self) -> None:
        # Switching to WAL takes an exclusive lock without waiting on the busy timeout, so two
        # processes that open a new cache at the same moment can see "database is locked": wait and
        # try again, as the timeout would.
        deadline = time.monotonic() + SETUP_WAIT_S
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                # In WAL mode NORMAL survives any process crash (SIGKILL included) without corruption or
                # loss; only a power cut may drop the last commits, which are then simply requested again.
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.executescript(_SCHEMA)
                columns = {row[1] for row in self._db.execute("PRAGMA table_info(responses)")}
                if "cost_usd" not in columns:  # a cache written before costs were stored keeps its answers
                    self._db.execute("ALTER TABLE responses ADD COLUMN cost_usd REAL")
                return
            except sqlite3.OperationalError as exc:
                # "duplicate column": another process migrated the same old cache a moment before.
                if not ("locked" in str(exc) or "duplicate column" in str(exc)) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def get(self, key: str) -> CachedResponse | None:
        try:
            row = self._db.execute(
                "SELECT content, finish_reason, refusal, tokens_in, tokens_out, cost_usd FROM responses WHERE key = ?", (key,)
            ).fetchone()
        except sqlite3.Error as exc:
            raise SynthclfError(f"{self.path}: cannot read the LLM response cache ({exc})") from None
        return None if row is None else CachedResponse(*row)

    def put(self, key: str, response: CachedResponse) -> None:
        # Two processes may make the same request at once; the first answer stored is kept, so every
        # reader of a key sees the same answer from then on.
        try:
            self._db.execute(
                "INSERT OR IGNORE INTO responses"
                " (key, content, finish_reason, refusal, tokens_in, tokens_out, created, cost_usd)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (key, response.content, response.finish_reason, response.refusal,
                 response.tokens_in, response.tokens_out, time.time(), response.cost_usd),
            )
        except sqlite3.Error as exc:  # disk full, or another process held the lock for over a minute
            raise SynthclfError(f"{self.path}: cannot write the LLM response cache ({exc})") from None

    def retry_round(self, item: str) -> int:
        """How many times runs that failed have sent ``item`` back for new attempts (0 at first)."""
        try:
            row = self._db.execute("SELECT rounds FROM retry_rounds WHERE item = ?", (item,)).fetchone()
        except sqlite3.Error as exc:
            raise SynthclfError(f"{self.path}: cannot read the LLM response cache ({exc})") from None
        return 0 if row is None else row[0]

    def next_retry_round(self, items: list[str]) -> None:
        """Send ``items`` back: the next run tries them with a new round of attempts."""
        try:
            self._db.executemany(
                "INSERT INTO retry_rounds (item, rounds) VALUES (?, 1) ON CONFLICT(item) DO UPDATE SET rounds = rounds + 1",
                [(item,) for item in items],
            )
        except sqlite3.Error as exc:
            raise SynthclfError(f"{self.path}: cannot write the LLM response cache ({exc})") from None

    def batches_holding(self, keys: list[str]) -> dict[str, list[str]]:
        """The batches not yet read back that hold any of ``keys``: batch id -> those of ``keys``."""
        found: dict[str, list[str]] = {}
        try:
            for start in range(0, len(keys), _KEYS_PER_QUERY):
                chunk = keys[start:start + _KEYS_PER_QUERY]
                rows = self._db.execute(
                    f"SELECT key, batch_id FROM batch_requests WHERE key IN ({','.join('?' * len(chunk))})", chunk
                ).fetchall()
                for key, batch_id in rows:
                    found.setdefault(batch_id, []).append(key)
        except sqlite3.Error as exc:
            raise SynthclfError(f"{self.path}: cannot read the LLM response cache ({exc})") from None
        return found

    def remember_batch(self, batch_id: str, keys: list[str]) -> None:
        """Record that ``keys`` were sent in batch ``batch_id``, all at once (one transaction)."""
        now = time.time()
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("INSERT OR REPLACE INTO batch_requests (key, batch_id, created) VALUES (?, ?, ?)",
                                     [(key, batch_id, now) for key in keys])
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise SynthclfError(f"{self.path}: cannot write the LLM response cache ({exc})") from None

    def forget_batch(self, batch_id: str) -> None:
        """Batch ``batch_id`` was read back (its answers are stored here): no run needs to poll it again."""
        try:
            self._db.execute("DELETE FROM batch_requests WHERE batch_id = ?", (batch_id,))
        except sqlite3.Error as exc:
            raise SynthclfError(f"{self.path}: cannot write the LLM response cache ({exc})") from None

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        self._db.close()
