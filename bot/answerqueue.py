"""Questions acknowledged but not yet answered, kept in SQLite beside the knowledge (`govbot serve
--answer-workers K`).

A listening process only checks, acknowledges and `put`s a question here; answer workers (separate
processes at a lower CPU priority, bot/workers.py) `take` one, answer it, post the reply and mark it
`done`. So an ack never waits for CPU behind answers, and a question outlives the process answering it:
a job whose worker died is taken again once the supervisor `release`s it (or, should the supervisor be
gone too, once its lease has run out).

The one loss that remains: a worker killed after Slack accepted its reply but before `done` leaves the
job to be answered a second time. Nothing is lost; the reply may arrive twice.

The queue is bounded: past `limit` jobs, `put` refuses and the front end tells the asker at once to try
again, rather than letting answers arrive minutes late.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["AnswerQueue", "QUEUE_FILE", "QUEUE_LIMIT", "LEASE", "limit_from_env"]

QUEUE_FILE = "answers.sqlite"  # in the knowledge directory, beside limits.sqlite
# Jobs waiting or being answered. Two cores answer about 400 questions a second (docs/benchmarks.md), so a
# full queue is about half a second of their work: a question further back would wait longer for its answer
# than the asker for a "try again".
QUEUE_LIMIT = 200
# Seconds a taken job may go without `done` before another worker takes it: far longer than any answer
# (a refresh is a background task of its own), only for when no supervisor is left to release it.
LEASE = 300.0


def limit_from_env() -> int:
    """GOVBOT_ANSWER_QUEUE: the queue's bound (QUEUE_LIMIT unless set); a ValueError names a bad value."""
    raw = os.environ.get("GOVBOT_ANSWER_QUEUE", "").strip()
    if not raw:
        return QUEUE_LIMIT
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"GOVBOT_ANSWER_QUEUE must be a number of questions (1 or more), not {raw!r}")
    return int(raw)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL, queued REAL NOT NULL, owner INTEGER, taken REAL
);
CREATE INDEX IF NOT EXISTS jobs_owner ON jobs (owner);
"""
_PUT = "INSERT INTO jobs (body, queued) SELECT :body, :now WHERE (SELECT count(*) FROM jobs) < :limit"
_WAITING = "SELECT 1 FROM jobs WHERE owner IS NULL OR taken < :expired LIMIT 1"
# One statement: two workers can never take the same job.
_TAKE = """
UPDATE jobs SET owner = :owner, taken = :now
WHERE id = (SELECT id FROM jobs WHERE owner IS NULL OR taken < :expired ORDER BY id LIMIT 1)
RETURNING id, body
"""


class AnswerQueue:
    """One process's handle on the shared queue (any thread; each call is one short SQLite statement)."""

    def __init__(
        self, path: str | os.PathLike[str], limit: int = QUEUE_LIMIT, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.path, self.limit, self._clock = Path(path), limit, clock
        self._lock = threading.Lock()
        self._conn = _open(self.path)

    def put(self, job: dict[str, Any]) -> bool:
        """Queue `job` (JSON); False when the queue is full."""
        values = {"body": json.dumps(job), "now": self._clock(), "limit": self.limit}
        with self._lock:
            return self._conn.execute(_PUT, values).rowcount == 1

    def take(self, owner: int) -> tuple[int, dict[str, Any]] | None:
        """The oldest job nobody is answering, now `owner`'s (a process id)."""
        now = self._clock()
        values = {"owner": owner, "now": now, "expired": now - LEASE}
        with self._lock:
            # A read first: an idle worker's look must not take the write lock a listener's `put` waits for.
            if self._conn.execute(_WAITING, values).fetchone() is None:
                return None
            row = self._conn.execute(_TAKE, values).fetchone()
        return None if row is None else (row[0], json.loads(row[1]))

    def done(self, job_id: int) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    def release(self, owner: int) -> int:
        """Give back the jobs of a worker that died; how many."""
        with self._lock:
            return self._conn.execute("UPDATE jobs SET owner = NULL, taken = NULL WHERE owner = ?", (owner,)).rowcount

    def release_all(self) -> int:
        """Give back every taken job: at a supervisor's start, when no worker of its can hold one."""
        with self._lock:
            return self._conn.execute("UPDATE jobs SET owner = NULL, taken = NULL WHERE owner IS NOT NULL").rowcount

    def count(self) -> int:
        """Jobs waiting or being answered."""
        with self._lock:
            return self._conn.execute("SELECT count(*) FROM jobs").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _open(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():  # questions are personal data: readable by the service alone
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
    conn.execute("PRAGMA journal_mode=WAL")
    # NORMAL: a power cut may lose the last jobs committed; a process that dies loses none (WAL is in the OS).
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.executescript(_SCHEMA)
    return conn
