"""Per-key rate limiters: in memory for one process (`RateLimiter`), in SQLite for several (`SharedRateLimiter`).

`RateLimiter` costs O(1) per call and holds at most `max_keys` keys.

Each key is a token bucket (a burst of `per_minute`, refilled at `per_minute` a minute), kept in an
insertion-ordered table: a key that is used moves to the end, and past `max_keys` the least recently used
key is forgotten. Forgetting a key only ever gives it a fresh quota, so the bound costs no safety for the
keys that matter (the busy ones stay at the end) and an attacker who floods keys gains nothing.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from .sqlbatch import Batch

__all__ = ["RateLimiter", "SharedRateLimiter", "MAX_KEYS", "LIMITS_FILE"]

LIMITS_FILE = "limits.sqlite"  # beside the knowledge versions: its own file, so its writes never queue behind the log's

# 100,000 buckets are about 15 MB: more distinct users a minute than a governance bot will ever see.
MAX_KEYS = 100_000


class RateLimiter:
    """`allow(key)` is True while `key` has quota; called from the event loop and from worker threads."""

    def __init__(
        self, per_minute: int, *, max_keys: int = MAX_KEYS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_minute = per_minute
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._buckets)

    def refund(self, key: str) -> None:
        """Give one use back (a refresh that failed: fixing a source and retrying is normal work)."""
        with self._lock:
            if key in self._buckets:
                tokens, at = self._buckets[key]
                self._buckets[key] = (min(float(self.per_minute), tokens + 1.0), at)

    def allow(self, key: str) -> bool:
        now = self._clock()
        rate = self.per_minute / 60.0
        with self._lock:
            tokens, at = self._buckets.pop(key, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - at) * rate)
            allowed = tokens >= 1.0
            self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
            return allowed


class SharedRateLimiter:
    """The same token buckets, kept in SQLite so that every process serving one knowledge directory shares
    them (`govbot serve --workers N`: a user's requests reach any of the N processes).

    `allow` is one UPSERT statement, atomic on its own: it takes a token when the refilled bucket has one and
    changes nothing otherwise, so two processes can never both spend the last token. A bucket untouched for
    a minute is full again, the same as no row: those rows are swept once a minute, which bounds the table by
    the keys active in the last minute. Times are Unix times (`time.time`), the one clock every process shares.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        per_minute: int,
        *,
        name: str = "questions",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.per_minute = per_minute
        self.name = name
        self._clock = clock
        self._lock = threading.Lock()
        self._conn = _open(Path(path))
        self._batch = Batch(self._conn, self._lock)
        self._swept = 0.0

    def allow(self, key: str) -> bool:
        params = self._take(key)
        with self._lock:
            return self._conn.execute(_TAKE, params).rowcount == 1

    async def allow_soon(self, key: str) -> bool:
        """`allow`, from the event loop: committed with the other writes of this loop turn (see sqlbatch)."""
        return await self._batch.run(_TAKE, self._take(key)) == 1

    def _take(self, key: str) -> dict[str, object]:
        """The parameters of one take now (sweeping the full buckets first when a minute has passed)."""
        now = self._clock()
        if now - self._swept > SWEEP_EVERY:
            self._swept = now
            with self._lock:
                self._conn.execute("DELETE FROM buckets WHERE at < ?", (now - FULL_AFTER,))
        return {
            "name": self.name,
            "key": key,
            "now": now,
            "cap": float(self.per_minute),
            "rate": self.per_minute / 60.0,
        }

    def refund(self, key: str) -> None:
        """Give one use back (a refresh that failed: fixing a source and retrying is normal work)."""
        with self._lock:
            self._conn.execute(
                "UPDATE buckets SET tokens = min(?, tokens + 1.0) WHERE name = ? AND key = ?",
                (float(self.per_minute), self.name, key),
            )

    def close(self) -> None:
        with self._lock:
            self._conn.close()


# Seconds after which an untouched bucket is full (it refills `per_minute` tokens a minute), and between sweeps.
FULL_AFTER = 60.0
SWEEP_EVERY = 60.0
_SCHEMA = """
CREATE TABLE IF NOT EXISTS buckets (
    name TEXT NOT NULL, key TEXT NOT NULL, tokens REAL NOT NULL, at REAL NOT NULL, PRIMARY KEY (name, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS buckets_at ON buckets (at);
"""
# A new key starts full and spends one; a known key is refilled for the time since `at` (never less than
# nothing, should the wall clock step back) and spends one only when that leaves at least one: rowcount 0.
_REFILLED = "min(:cap, tokens + max(:now - at, 0.0) * :rate)"
_TAKE = f"""
INSERT INTO buckets (name, key, tokens, at) VALUES (:name, :key, :cap - 1.0, :now)
ON CONFLICT (name, key) DO UPDATE SET tokens = {_REFILLED} - 1.0, at = :now WHERE {_REFILLED} >= 1.0
"""


def _open(path: Path) -> sqlite3.Connection:
    """This process's connection (WAL: readers never block the writer; a writer waits for another's few µs)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # a crash may lose the last buckets: a fresh quota, nothing more
    conn.executescript(_SCHEMA)
    return conn
