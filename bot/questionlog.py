"""The question log: every question, feedback click and admin action, with salted user hashes only.

Rows older than `GOVBOT_LOG_DAYS` (default 90) are deleted when the log opens and then about hourly, so
raw question text and its stable user hash are not kept for ever.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from .sqlbatch import Batch

__all__ = ["QuestionLog"]

WEEK = 7 * 24 * 3600
SEEN_TTL = 3600.0
SEEN_SWEEP = 60.0  # seconds between two sweeps of the duplicate filter's expired keys
LOG_DAYS = 90  # default retention: a quarter is enough to see which questions go unanswered
PURGE_EVERY = 3600.0  # seconds between two retention sweeps while the service runs
_BIDI = dict.fromkeys([0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)])
_SCHEMA = """
CREATE TABLE IF NOT EXISTS questions (ts REAL, platform TEXT, user_hash TEXT, question TEXT, intent TEXT,
    confidence REAL, answered INTEGER);
CREATE INDEX IF NOT EXISTS questions_ts ON questions(ts);
CREATE TABLE IF NOT EXISTS feedback (ts REAL, platform TEXT, user_hash TEXT, question TEXT, value TEXT);
CREATE TABLE IF NOT EXISTS admin_actions (ts REAL, platform TEXT, user_hash TEXT, action TEXT, args TEXT,
    outcome TEXT);
CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, ts REAL);
CREATE TABLE IF NOT EXISTS revoked (id_hash TEXT PRIMARY KEY, ts REAL);
CREATE TABLE IF NOT EXISTS places (place_hash TEXT PRIMARY KEY, roadmap TEXT, ts REAL);
CREATE INDEX IF NOT EXISTS seen_ts ON seen(ts);
"""
_QUESTION = "INSERT INTO questions VALUES (?, ?, ?, ?, ?, ?, ?)"
# A new key, or one last seen over an hour ago, is written (rowcount 1); a key seen within the hour is not.
_SEEN = "INSERT INTO seen VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET ts = excluded.ts WHERE seen.ts < ?"


def _retention(raw: str) -> float:
    try:
        return float(raw) if raw.strip() else LOG_DAYS
    except ValueError:
        raise ValueError(f"GOVBOT_LOG_DAYS must be a number of days, not {raw!r}") from None


class QuestionLog:
    """A small SQLite file (WAL) beside the knowledge versions; it survives every refresh."""

    def __init__(self, path: str | os.PathLike[str], *, days: float | None = None):
        self.path = Path(path)
        self.days = days if days is not None else _retention(os.environ.get("GOVBOT_LOG_DAYS", ""))
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not self.path.exists():
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10)
        self._lock = threading.Lock()
        self._batch = Batch(self._conn, self._lock)
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(_SCHEMA)
        self._salt = self._load_salt()
        # The duplicate filter has a connection of its own: it runs on the event loop, before each ack, and must
        # not wait for the lock a worker thread holds while it writes a question on the other one.
        self._seen_conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10)
        self._seen_conn.execute("PRAGMA synchronous=NORMAL")
        self._seen_lock = threading.Lock()
        self._swept = time.time()
        self._purged = 0.0
        self.purge()

    def _load_salt(self) -> bytes:
        """GOVBOT_SALT, else a random salt kept beside the log (0600), shared by every process on the directory."""
        if env := os.environ.get("GOVBOT_SALT"):
            return env.encode()
        path = self.path.parent / "salt"
        try:
            if salt := path.read_bytes():
                return salt
        except FileNotFoundError:
            pass
        # Written whole under a private name, then linked in: two processes starting together agree on one salt,
        # and a crash never leaves an empty salt behind.
        tmp = path.with_name(f"salt.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, secrets.token_hex(16).encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            if path.exists() and not path.read_bytes():
                os.replace(tmp, path)  # an empty salt left by an older crash
            else:
                os.link(tmp, path)
        except FileExistsError:
            pass  # another process won the race: use its salt
        finally:
            tmp.unlink(missing_ok=True)
        return path.read_bytes()

    def user_hash(self, platform: str, user: str) -> str:
        """A salted hash: stable for one user, useless to anyone without the salt."""
        return hashlib.sha256(self._salt + f"{platform}:{user}".encode()).hexdigest()[:24]

    def sign(self, value: str) -> str:
        """A short keyed signature (the salt is the key): lets a front end hand out ids only it can mint."""
        return hmac.new(self._salt, value.encode(), hashlib.sha256).hexdigest()[:20]

    def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        if time.time() - self._purged > PURGE_EVERY:
            self.purge()
        with self._lock:
            self._conn.execute(sql, params)

    async def _write_soon(self, sql: str, params: tuple[Any, ...]) -> None:
        """`_write` from the event loop: committed with the other writes of this loop turn (see sqlbatch)."""
        if time.time() - self._purged > PURGE_EVERY:
            self.purge()
        await self._batch.run(sql, params)

    def purge(self) -> int:
        """Delete questions, feedback and admin actions older than the retention; returns how many rows went."""
        self._purged = time.time()
        cutoff = self._purged - self.days * 86400
        with self._lock:
            return sum(
                self._conn.execute(f"DELETE FROM {table} WHERE ts < ?", (cutoff,)).rowcount
                for table in ("questions", "feedback", "admin_actions")
            )

    def revoke(self, visitor_id: str) -> None:
        """Remember that a web visitor id lost its rights for good (kept as a keyed hash, like user ids)."""
        self._write("INSERT OR REPLACE INTO revoked VALUES (?, ?)", (self.sign(f"revoked:{visitor_id}"), time.time()))

    def revoked(self, visitor_id: str) -> bool:
        return bool(self._read("SELECT 1 FROM revoked WHERE id_hash = ?", (self.sign(f"revoked:{visitor_id}"),)))

    def set_roadmap(self, platform: str, where: str, roadmap: str) -> None:
        """The roadmap a conversation (a channel, a chat, a browser) prefers; a setting, not a log: kept."""
        place = self.user_hash(platform, f"place:{where}")
        self._write("INSERT OR REPLACE INTO places VALUES (?, ?, ?)", (place, roadmap, time.time()))

    def roadmap(self, platform: str, where: str) -> str:
        """The roadmap preferred in that conversation ('' when none was set)."""
        rows = self._read(
            "SELECT roadmap FROM places WHERE place_hash = ?", (self.user_hash(platform, f"place:{where}"),)
        )
        return rows[0][0] if rows else ""

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def question(self, platform: str, user: str, question: str, intent: str, confidence: float, answered: bool) -> None:
        self._write(_QUESTION, self._question_row(platform, user, question, intent, confidence, answered))

    async def question_soon(
        self, platform: str, user: str, question: str, intent: str, confidence: float, answered: bool
    ) -> None:
        """`question`, from the event loop: returns once the row is committed."""
        await self._write_soon(_QUESTION, self._question_row(platform, user, question, intent, confidence, answered))

    def _question_row(
        self, platform: str, user: str, question: str, intent: str, confidence: float, answered: bool
    ) -> tuple[Any, ...]:
        return (
            time.time(),
            platform,
            self.user_hash(platform, user),
            question[:500],
            intent,
            confidence,
            int(answered),
        )

    def feedback(self, platform: str, user: str, question: str, value: str) -> None:
        self._write(
            "INSERT INTO feedback VALUES (?, ?, ?, ?, ?)",
            (time.time(), platform, self.user_hash(platform, user), question[:500], value),
        )

    def admin_action(self, platform: str, user: str, action: str, args: str, outcome: str) -> None:
        self._write(
            "INSERT INTO admin_actions VALUES (?, ?, ?, ?, ?, ?)",
            (time.time(), platform, self.user_hash(platform, user), action, args[:500], outcome[:500]),
        )

    def first_time(self, key: str) -> bool:
        """True the first time `key` is seen (within the hour): the duplicate filter for retried deliveries.

        One statement in SQLite, atomic on its own, so that of every process serving this directory exactly
        one sees True for a key (Slack may deliver a retry to another process than the first delivery).
        """
        now = time.time()
        with self._seen_lock:
            fresh = self._seen_conn.execute(_SEEN, (key, now, now - SEEN_TTL)).rowcount == 1
        if now - self._swept > SEEN_SWEEP:
            self.save_seen()
        return fresh

    def save_seen(self) -> None:
        """Forget the expired keys of the duplicate filter (each is kept an hour)."""
        self._swept = time.time()
        with self._seen_lock:
            self._seen_conn.execute("DELETE FROM seen WHERE ts < ?", (self._swept - SEEN_TTL,))

    def week(self) -> dict[str, int]:
        since = time.time() - WEEK
        answered, unanswered = self._read(
            "SELECT coalesce(sum(answered), 0), coalesce(sum(1 - answered), 0) FROM questions WHERE ts >= ?", (since,)
        )[0]
        return {"answered": answered, "unanswered": unanswered}

    def unanswered(self, limit: int = 10) -> list[tuple[str, int]]:
        rows = self._read(
            "SELECT lower(trim(question)) AS q, count(*) AS n FROM questions WHERE answered = 0 AND ts >= ? "
            "GROUP BY q ORDER BY n DESC, max(ts) DESC LIMIT ?",
            (time.time() - WEEK, limit),
        )
        # Bidi controls would reorder the rest of an admin's message around them (Slack shows them raw).
        return [(q.translate(_BIDI), n) for q, n in rows]

    def close(self) -> None:
        with self._seen_lock:
            self._seen_conn.close()
        with self._lock:
            self._conn.close()
