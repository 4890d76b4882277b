"""The service's own state, beside the knowledge versions: subscriptions, the outbox of digests, the changes feed.

Knowledge versions are immutable and rebuilt by every refresh; this database is the opposite: small, written
in place, and kept across refreshes and restarts. It is `<knowledge dir>/state.sqlite` (WAL, mode 0600), and
several processes share it: every write is one short `BEGIN IMMEDIATE` transaction on a fresh connection.

Exactly once, on our side: the digests of a refresh are written in the same transaction that records the
refresh as processed, so a crash leaves either both or neither. A row is claimed ('sending') before it is
sent and marked 'delivered' after; a row found 'sending' when the delivery loop starts was interrupted by a
crash during its send and goes back to 'pending' (the only window where a platform may see it twice).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .freshness import Validators

__all__ = ["State", "Subscription", "OutboxRow", "STATE_FILE"]

STATE_FILE = "state.sqlite"
# Seconds a writer waits for another process's transaction (each is a few milliseconds).
BUSY_TIMEOUT_MS = 10_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS subscriptions (
    id INTEGER PRIMARY KEY,
    platform TEXT NOT NULL,
    channel TEXT NOT NULL,
    conversation TEXT NOT NULL DEFAULT '{}',
    scope_kind TEXT NOT NULL,
    scope_value TEXT NOT NULL DEFAULT '',
    scope_label TEXT NOT NULL DEFAULT '',
    lang TEXT NOT NULL DEFAULT 'fr',
    paused INTEGER NOT NULL DEFAULT 0,
    created_by TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    UNIQUE (platform, channel, scope_kind, scope_value)
);
CREATE TABLE IF NOT EXISTS refreshes (
    version TEXT PRIMARY KEY,
    previous TEXT NOT NULL DEFAULT '',
    processed_at TEXT NOT NULL,
    changes INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS changes (
    id INTEGER PRIMARY KEY,
    version TEXT NOT NULL,
    at TEXT NOT NULL,
    roadmap TEXT NOT NULL DEFAULT '',
    item TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_roadmap ON changes (roadmap, id);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    digest_id TEXT NOT NULL UNIQUE,
    subscription INTEGER NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    delivered_at TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, next_attempt);
CREATE TABLE IF NOT EXISTS notices (key TEXT PRIMARY KEY, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS inbox (
    id INTEGER PRIMARY KEY,
    visitor TEXT NOT NULL,
    digest_id TEXT NOT NULL UNIQUE,
    payload TEXT NOT NULL,
    seen INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS inbox_visitor ON inbox (visitor, seen);
CREATE TABLE IF NOT EXISTS validators (url TEXT PRIMARY KEY, etag TEXT, last_modified TEXT, sha256 TEXT);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Subscription:
    """One channel following one scope. `conversation` is what the platform needs to post there unprompted
    (Teams: the conversation reference; Slack: nothing beyond the channel id)."""

    id: int
    platform: str
    channel: str
    scope_kind: str
    scope_value: str = ""
    scope_label: str = ""
    lang: str = "fr"
    paused: bool = False
    created_by: str = ""
    conversation: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Subscription:
        return cls(
            id=row["id"],
            platform=row["platform"],
            channel=row["channel"],
            scope_kind=row["scope_kind"],
            scope_value=row["scope_value"],
            scope_label=row["scope_label"],
            lang=row["lang"],
            paused=bool(row["paused"]),
            created_by=row["created_by"],
            conversation=json.loads(row["conversation"] or "{}"),
        )


@dataclass(frozen=True)
class OutboxRow:
    id: int
    digest_id: str
    subscription: Subscription
    payload: dict[str, Any]
    attempts: int


class State:
    """`<knowledge dir>/state.sqlite`; every method is one transaction (safe from threads and processes)."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)
        self.path = self.root / STATE_FILE
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not self.path.exists():
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        conn.row_factory = sqlite3.Row
        try:
            yield conn
        finally:
            conn.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (IMMEDIATE) so two processes never interleave."""
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # subscriptions

    def subscribe(self, sub: Subscription) -> tuple[Subscription, bool]:
        """Add `sub` (its id is ignored); returns the stored subscription and whether it is new. Subscribing
        again to a paused scope un-pauses it and takes the new conversation reference."""
        with self.transaction() as conn:
            found = conn.execute(
                "SELECT * FROM subscriptions WHERE platform = ? AND channel = ? AND scope_kind = ? AND scope_value = ?",
                (sub.platform, sub.channel, sub.scope_kind, sub.scope_value),
            ).fetchone()
            if found is not None:
                conn.execute(
                    "UPDATE subscriptions SET paused = 0, conversation = ?, lang = ? WHERE id = ?",
                    (json.dumps(sub.conversation), sub.lang, found["id"]),
                )
                conn.execute("DELETE FROM notices WHERE key = ?", (f"paused:{found['id']}",))
                row = conn.execute("SELECT * FROM subscriptions WHERE id = ?", (found["id"],)).fetchone()
                return Subscription.from_row(row), bool(found["paused"])
            cursor = conn.execute(
                "INSERT INTO subscriptions (platform, channel, conversation, scope_kind, scope_value, scope_label, "
                "lang, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    sub.platform,
                    sub.channel,
                    json.dumps(sub.conversation),
                    sub.scope_kind,
                    sub.scope_value,
                    sub.scope_label,
                    sub.lang,
                    sub.created_by,
                    _now(),
                ),
            )
            row = conn.execute("SELECT * FROM subscriptions WHERE id = ?", (cursor.lastrowid,)).fetchone()
            return Subscription.from_row(row), True

    def unsubscribe(self, platform: str, channel: str, scope_kind: str | None, scope_value: str = "") -> int:
        """Remove one scope (or every scope when `scope_kind` is None) of a channel; returns how many went.
        Their undelivered digests go too: nobody wants news from a scope they left."""
        where, params = "platform = ? AND channel = ?", [platform, channel]
        if scope_kind is not None:
            where += " AND scope_kind = ? AND scope_value = ?"
            params += [scope_kind, scope_value]
        with self.transaction() as conn:
            ids = [r["id"] for r in conn.execute(f"SELECT id FROM subscriptions WHERE {where}", params)]
            for sid in ids:
                conn.execute("DELETE FROM outbox WHERE subscription = ? AND status = 'pending'", (sid,))
                conn.execute("DELETE FROM subscriptions WHERE id = ?", (sid,))
            return len(ids)

    def subscriptions(
        self, platform: str | None = None, channel: str | None = None, active: bool = False
    ) -> list[Subscription]:
        where, params = ["1"], []
        if platform is not None:
            where.append("platform = ?")
            params.append(platform)
        if channel is not None:
            where.append("channel = ?")
            params.append(channel)
        if active:
            where.append("paused = 0")
        with self._connect() as conn:
            rows = conn.execute(f"SELECT * FROM subscriptions WHERE {' AND '.join(where)} ORDER BY id", params)
            return [Subscription.from_row(r) for r in rows]

    # refreshes, their changes and digests

    def processed(self, version: str) -> bool:
        with self._connect() as conn:
            return conn.execute("SELECT 1 FROM refreshes WHERE version = ?", (version,)).fetchone() is not None

    def last_version(self) -> str:
        """The last knowledge version whose changes were turned into digests ('' before the first)."""
        with self._connect() as conn:
            row = conn.execute("SELECT version FROM refreshes ORDER BY version DESC LIMIT 1").fetchone()
            return row["version"] if row else ""

    def record_refresh(
        self,
        version: str,
        previous: str,
        changes: list[dict[str, Any]],
        digests: list[tuple[str, int, dict[str, Any]]],
    ) -> bool:
        """Record `version` as processed with its changes and its digests `(digest id, subscription, payload)`,
        all in one transaction; False (and nothing written) when another process already did."""
        at = _now()
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM refreshes WHERE version = ?", (version,)).fetchone():
                return False
            conn.execute(
                "INSERT INTO refreshes (version, previous, processed_at, changes) VALUES (?, ?, ?, ?)",
                (version, previous, at, len(changes)),
            )
            conn.executemany(
                "INSERT INTO changes (version, at, roadmap, item) VALUES (?, ?, ?, ?)",
                [(version, at, c.get("roadmap") or "", json.dumps(c, ensure_ascii=False)) for c in changes],
            )
            self._queue(conn, digests)
            return True

    def _queue(self, conn: sqlite3.Connection, digests: list[tuple[str, int, dict[str, Any]]]) -> None:
        conn.executemany(
            "INSERT OR IGNORE INTO outbox (digest_id, subscription, payload, created_at) VALUES (?, ?, ?, ?)",
            [(did, sid, json.dumps(payload, ensure_ascii=False), _now()) for did, sid, payload in digests],
        )

    def notice_once(self, key: str, digests: list[tuple[str, int, dict[str, Any]]]) -> bool:
        """Queue an admin notice unless `key` was noticed already (until `forget_notice(key)`); True if queued."""
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM notices WHERE key = ?", (key,)).fetchone():
                return False
            conn.execute("INSERT INTO notices (key, at) VALUES (?, ?)", (key, _now()))
            self._queue(conn, digests)
            return True

    def forget_notice(self, key: str) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM notices WHERE key = ?", (key,))

    def recent_changes(self, roadmap: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The latest changes, newest first, each with its row `id`, `version` and `at` (for the feed)."""
        where, params = ("roadmap = ?", [roadmap]) if roadmap is not None else ("1", [])
        with self._connect() as conn:
            rows = conn.execute(
                f"SELECT id, version, at, item FROM changes WHERE {where} ORDER BY id DESC LIMIT ?", [*params, limit]
            ).fetchall()
        return [{**json.loads(r["item"]), "row": r["id"], "version": r["version"], "at": r["at"]} for r in rows]

    # the outbox

    def reset_interrupted(self) -> int:
        """Digests left 'sending' by a crashed deliverer go back to 'pending'; returns how many (each may reach
        its channel twice: the crash came after the send began)."""
        with self.transaction() as conn:
            return conn.execute("UPDATE outbox SET status = 'pending' WHERE status = 'sending'").rowcount

    def due(self, now: float, platforms: set[str], limit: int = 50) -> list[OutboxRow]:
        """Pending digests whose time has come, for platforms that can send, oldest first."""
        if not platforms:
            return []
        marks = ",".join("?" * len(platforms))
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT o.id AS oid, o.digest_id, o.payload, o.attempts, s.* FROM outbox o "
                "JOIN subscriptions s ON s.id = o.subscription "
                f"WHERE o.status = 'pending' AND o.next_attempt <= ? AND s.paused = 0 AND s.platform IN ({marks}) "
                "ORDER BY o.id LIMIT ?",
                [now, *sorted(platforms), limit],
            ).fetchall()
        return [
            OutboxRow(r["oid"], r["digest_id"], Subscription.from_row(r), json.loads(r["payload"]), r["attempts"])
            for r in rows
        ]

    def claim(self, row_id: int) -> bool:
        """Mark one pending digest as being sent; False when another deliverer took it first."""
        with self.transaction() as conn:
            return (
                conn.execute(
                    "UPDATE outbox SET status = 'sending', attempts = attempts + 1 WHERE id = ? AND status = 'pending'",
                    (row_id,),
                ).rowcount
                == 1
            )

    def delivered(self, row_id: int) -> None:
        with self.transaction() as conn:
            conn.execute("UPDATE outbox SET status = 'delivered', delivered_at = ? WHERE id = ?", (_now(), row_id))

    def retry(self, row_id: int, when: float, reason: str, give_up: bool = False) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE outbox SET status = ?, next_attempt = ?, last_error = ? WHERE id = ?",
                ("failed" if give_up else "pending", when, reason[:200], row_id),
            )

    def gone(self, row_id: int, subscription: int, reason: str) -> None:
        """The channel is gone or removed the bot: this digest is dropped and the subscription paused."""
        with self.transaction() as conn:
            conn.execute("UPDATE outbox SET status = 'gone', last_error = ? WHERE id = ?", (reason[:200], row_id))
            conn.execute("UPDATE subscriptions SET paused = 1 WHERE id = ?", (subscription,))

    def outbox_counts(self) -> dict[str, int]:
        with self._connect() as conn:
            return {r[0]: r[1] for r in conn.execute("SELECT status, count(*) FROM outbox GROUP BY status")}

    # scheduled refreshes

    def validators(self) -> dict[str, Validators]:
        with self._connect() as conn:
            rows = conn.execute("SELECT url, etag, last_modified, sha256 FROM validators").fetchall()
        return {r["url"]: Validators(r["etag"] or "", r["last_modified"] or "", r["sha256"] or "") for r in rows}

    def save_validators(self, fresh: dict[str, Validators]) -> None:
        with self.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO validators (url, etag, last_modified, sha256) VALUES (?, ?, ?, ?)",
                [(url, v.etag, v.last_modified, v.sha256) for url, v in fresh.items()],
            )

    def record_run(self, outcome: str, detail: str = "") -> None:
        """One scheduled refresh: 'refreshed', 'unchanged', 'failed' or 'busy' (kept: the last 1000)."""
        with self.transaction() as conn:
            conn.execute("INSERT INTO runs (at, outcome, detail) VALUES (?, ?, ?)", (_now(), outcome, detail[:300]))
            conn.execute("DELETE FROM runs WHERE id <= (SELECT max(id) FROM runs) - 1000")

    def runs(self, limit: int = 20) -> list[dict[str, str]]:
        """The latest scheduled refreshes, newest first."""
        with self._connect() as conn:
            rows = conn.execute("SELECT at, outcome, detail FROM runs ORDER BY id DESC LIMIT ?", (limit,))
            return [dict(r) for r in rows]

    def summary(self) -> dict[str, Any]:
        """For `govbot stats`: subscriptions, the outbox, scheduled refreshes (failures since the last success)."""
        with self._connect() as conn:
            subs = dict(conn.execute("SELECT paused, count(*) FROM subscriptions GROUP BY paused").fetchall())
            last_ok = conn.execute("SELECT max(id) FROM runs WHERE outcome != 'failed'").fetchone()[0] or 0
            failing = conn.execute("SELECT count(*) FROM runs WHERE outcome = 'failed' AND id > ?", (last_ok,))
            failures = failing.fetchone()[0]
        runs = self.runs(1)
        return {
            "subscriptions": subs.get(0, 0),
            "paused": subs.get(1, 0),
            "outbox": self.outbox_counts(),
            "last_scheduled_refresh": runs[0] if runs else None,
            "failed_in_a_row": failures,
        }

    # the web chat's inbox: a visitor cannot be reached unprompted

    def to_inbox(self, visitor: str, digest_id: str, payload: dict[str, Any]) -> None:
        """Idempotent: the same digest twice (a retried delivery) is kept once."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO inbox (visitor, digest_id, payload) VALUES (?, ?, ?)",
                (visitor, digest_id, json.dumps(payload, ensure_ascii=False)),
            )

    def take_inbox(self, visitor: str, limit: int = 20) -> list[dict[str, Any]]:
        """The visitor's unseen digests, oldest first, now marked seen."""
        with self.transaction() as conn:
            rows = conn.execute(
                "SELECT id, payload FROM inbox WHERE visitor = ? AND seen = 0 ORDER BY id LIMIT ?", (visitor, limit)
            ).fetchall()
            conn.executemany("UPDATE inbox SET seen = 1 WHERE id = ?", [(r["id"],) for r in rows])
        return [json.loads(r["payload"]) for r in rows]
