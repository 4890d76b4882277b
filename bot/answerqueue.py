"""Questions acknowledged but not yet answered, kept in SQLite beside the knowledge (`govbot serve
--answer-workers K`).

A listening process only checks a question, `offer`s it here and acknowledges; answer workers (separate
processes at a lower CPU priority, bot/workers.py) `take` some, answer them, post the replies and give
their ids back as done at their next `take`. So an ack never waits for CPU behind answers, and a question
outlives the process answering it: a job whose worker died is taken again once the supervisor `release`s
it (or, should the supervisor be gone too, once its lease has run out).

Writes are few because every writer holds the same lock: an offer is the duplicate filter and the insert
in one transaction, and a listener's `Intake` writes all the offers of one event-loop turn together; a
worker's `take` deletes what it finished and takes what it has room for in one transaction. A listener
never waits on that lock on its event loop (the Intake writes in a thread), even when a worker at its
lower priority holds it.

The one loss that remains: a worker killed after the platform accepted its reply but before its next
`take` leaves the job to be answered a second time. Nothing is lost; the reply may arrive twice.

The queue is bounded: past `limit` jobs, `offer` refuses, rather than letting answers arrive minutes late,
and the asker is told to try again. The answer workers send that notice (a job of its own, outside the bound,
queued in the same write), not the listener: a full queue means a flood, when the listener's CPU is worth
most to the acks. Only past `NOTICE_LIMIT` notices does the front end send it itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from enum import Enum
from pathlib import Path
from typing import Any

log = logging.getLogger("govbot.answerqueue")

__all__ = [
    "AnswerQueue",
    "Intake",
    "Offer",
    "QUEUE_FILE",
    "QUEUE_LIMIT",
    "NOTICE_LIMIT",
    "LEASE",
    "SEEN_TTL",
    "limit_from_env",
]

QUEUE_FILE = "answers.sqlite"  # in the knowledge directory, beside limits.sqlite
# Jobs waiting or being answered. Two cores answer about 400 questions a second (docs/benchmarks.md), so a
# full queue is about half a second of their work: a question further back would wait longer for its answer
# than the asker for a "try again".
QUEUE_LIMIT = 200
# "Busy, try again" notices waiting for the answer workers to send them. One is a single small POST (a
# fraction of a millisecond of a worker), so 5,000 are cleared within seconds once a flood ebbs; past them
# the listener sends the notice itself rather than keep an unbounded backlog of late ones.
NOTICE_LIMIT = 5000
# Seconds a taken job may go without `done` before another worker takes it: far longer than any answer
# (a refresh is a background task of its own), only for when no supervisor is left to release it.
LEASE = 300.0
# Seconds a delivery's key is remembered by the duplicate filter: Slack and Teams retry within minutes.
SEEN_TTL = 3600.0
FULL_LOG_EVERY = 10.0  # seconds between two warnings that the queue is full (not one per question)
SEEN_SWEEP = 60.0  # seconds between two sweeps of the expired keys


class Offer(Enum):
    """What became of a question offered to the queue."""

    QUEUED = "queued"
    DUPLICATE = "duplicate"  # its delivery was offered before (a retry, a replay): acknowledged, not run
    BUSY = "busy"  # a new question the queue had no room for: its busy notice is queued for the workers
    FULL = "full"  # the same, with no notice queued: the front end tells the asker itself to try again


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
    id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL, queued REAL NOT NULL, owner INTEGER, taken REAL,
    notice INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_owner ON jobs (owner);
CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, at REAL NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS seen_at ON seen (at);
"""
# A new key, or one last seen over SEEN_TTL ago, is written (rowcount 1); a key seen since is not.
_SEEN = "INSERT INTO seen VALUES (:key, :now) ON CONFLICT (key) DO UPDATE SET at = excluded.at WHERE seen.at < :expired"
# Counted on the `notice` index. A flood leaves thousands of notices, and counting them at every offer
# tripled its cost at 3,000: they are counted at most every NOTICE_RECOUNT seconds, and the ones this process
# queued since are added (the workers' sending only lowers the true figure, so the bound still holds).
_QUESTIONS = "SELECT count(*) FROM jobs WHERE notice = 0"
_NOTICES = "SELECT count(*) FROM jobs WHERE notice = 1"
NOTICE_RECOUNT = 1.0
_WAITING = "SELECT 1 FROM jobs WHERE owner IS NULL OR taken < :expired LIMIT 1"
# One statement: two workers can never take the same job.
_TAKE = """
UPDATE jobs SET owner = :owner, taken = :now
WHERE id IN (SELECT id FROM jobs WHERE owner IS NULL OR taken < :expired ORDER BY id LIMIT :room)
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
        self._swept = 0.0
        self._notices, self._counted = 0, float("-inf")  # notices as last counted (plus ours since), and when

    def offer(self, offers: Sequence[tuple[str | None, dict[str, Any], dict[str, Any] | None]]) -> list[Offer]:
        """Each `(key, job, notice)`: a duplicate when `key` (the delivery's id; None: one that has none) was
        offered within SEEN_TTL, else queued while the queue has room. Past its bound, `notice` (the job that
        tells the asker to try again; None: the front end tells it) is queued in its place while there is
        room for notices (BUSY), else nothing is (FULL). One transaction for them all (the duplicate filter
        and the queue are one write); the same key twice in `offers` is a duplicate the second time."""
        now = self._clock()
        outcomes = []
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            if now - self._swept > SEEN_SWEEP:
                self._swept = now
                self._conn.execute("DELETE FROM seen WHERE at < ?", (now - SEEN_TTL,))
            room = self.limit - self._conn.execute(_QUESTIONS).fetchone()[0]
            for key, job, notice in offers:
                seen = {"key": key, "now": now, "expired": now - SEEN_TTL}
                if key is not None and self._conn.execute(_SEEN, seen).rowcount != 1:
                    outcomes.append(Offer.DUPLICATE)
                elif room > 0:
                    self._insert(job, now)
                    room -= 1
                    outcomes.append(Offer.QUEUED)
                elif notice is None:
                    outcomes.append(Offer.FULL)
                elif self._notice_room(now):
                    self._insert(notice, now, notice=True)
                    self._notices += 1
                    outcomes.append(Offer.BUSY)
                else:
                    outcomes.append(Offer.FULL)
        return outcomes

    def _notice_room(self, now: float) -> bool:
        if abs(now - self._counted) > NOTICE_RECOUNT:
            self._notices, self._counted = self._conn.execute(_NOTICES).fetchone()[0], now
        return self._notices < NOTICE_LIMIT

    def _insert(self, job: dict[str, Any], now: float, *, notice: bool = False) -> None:
        self._conn.execute("INSERT INTO jobs (body, queued, notice) VALUES (?, ?, ?)", (json.dumps(job), now, notice))

    def take(self, owner: int, room: int = 1, done: Iterable[int] = ()) -> list[tuple[int, dict[str, Any]]]:
        """Delete the `done` jobs, and give `owner` (a process id) up to `room` of the oldest jobs nobody is
        answering, oldest first: one transaction."""
        now = self._clock()
        finished = [(job_id,) for job_id in done]
        values = {"owner": owner, "now": now, "expired": now - LEASE, "room": room}
        with self._lock:
            # A read first: an idle worker's look must not take the write lock a listener's offer waits for.
            if not finished and (room < 1 or self._conn.execute(_WAITING, values).fetchone() is None):
                return []
            with self._conn:
                self._conn.execute("BEGIN IMMEDIATE")
                self._conn.executemany("DELETE FROM jobs WHERE id = ?", finished)
                rows = self._conn.execute(_TAKE, values).fetchall() if room > 0 else []
        return sorted((row[0], json.loads(row[1])) for row in rows)

    def done(self, *job_ids: int) -> None:
        with self._lock:
            self._conn.executemany("DELETE FROM jobs WHERE id = ?", [(job_id,) for job_id in job_ids])

    def release(self, owner: int) -> int:
        """Give back the jobs of a worker that died; how many."""
        with self._lock:
            return self._conn.execute("UPDATE jobs SET owner = NULL, taken = NULL WHERE owner = ?", (owner,)).rowcount

    def release_all(self) -> int:
        """Give back every taken job: at a supervisor's start, when no worker of its can hold one."""
        with self._lock:
            return self._conn.execute("UPDATE jobs SET owner = NULL, taken = NULL WHERE owner IS NOT NULL").rowcount

    def count(self) -> int:
        """Questions waiting or being answered (busy notices apart)."""
        with self._lock:
            return self._conn.execute(_QUESTIONS).fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class Intake:
    """A listener's side of the queue: `await offer(key, job)` from the event loop. The offers made while a
    write is in progress are written together by the next one, in a thread of its own: acks arriving
    together cost one transaction, the event loop never waits for the lock an answer worker may hold, and
    an ack never waits for a thread behind the answers the listener computes (the web chat's)."""

    def __init__(self, queue: AnswerQueue) -> None:
        self.queue = queue
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="govbot-intake")  # started on first use
        self._full_logged = 0.0
        self._waiting: list[tuple[str | None, dict[str, Any], dict[str, Any] | None, asyncio.Future[Offer]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def offer(self, key: str | None, job: dict[str, Any], notice: dict[str, Any] | None = None) -> Offer:
        """Queue `job` (`AnswerQueue.offer` says what becomes of it and of `notice`)."""
        outcome: asyncio.Future[Offer] = asyncio.get_running_loop().create_future()
        self._waiting.append((key, job, notice, outcome))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write())
        return await outcome

    async def ask(self, key: str | None, job: dict[str, Any]) -> bool:
        """Queue a question (`job["platform"]` names its front end) with its notice to come back should the queue
        be full; True when the caller must send that notice itself (even the notices are past their bound). A full
        queue is logged at most every FULL_LOG_EVERY seconds, not once per question."""
        outcome = await self.offer(key, job, {**job, "busy": True})
        if outcome in (Offer.BUSY, Offer.FULL) and time.monotonic() - self._full_logged > FULL_LOG_EVERY:
            self._full_logged = time.monotonic()
            log.warning(
                "%s answer queue full (%d questions): askers are told to try again", job["platform"], self.queue.limit
            )
        return outcome is Offer.FULL

    async def _write(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    offers = [(key, job, notice) for key, job, notice, _ in batch]
                    outcomes = await asyncio.get_running_loop().run_in_executor(self._thread, self.queue.offer, offers)
                except Exception as exc:  # the database cannot be written: every ack waiting on it fails
                    for *_, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (*_, future), outcome in zip(batch, outcomes, strict=True):
                    if not future.done():
                        future.set_result(outcome)
        finally:
            self._writer = None

    def close(self) -> None:
        """At shutdown, once the server has stopped (no offer in progress)."""
        self._thread.shutdown()
        self.queue.close()


def _open(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():  # questions are personal data: readable by the service alone
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
    conn.execute("PRAGMA journal_mode=WAL")
    # NORMAL: a power cut may lose the last jobs committed; a process that dies loses none (WAL is in the OS).
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.executescript(_SCHEMA)
    columns = {row[1] for row in conn.execute("PRAGMA table_info(jobs)")}
    if "notice" not in columns:  # a queue file from before busy notices were queued
        with contextlib.suppress(sqlite3.OperationalError):  # another process added it first
            conn.execute("ALTER TABLE jobs ADD COLUMN notice INTEGER NOT NULL DEFAULT 0")
    conn.execute("CREATE INDEX IF NOT EXISTS jobs_notice ON jobs (notice)")
    return conn
