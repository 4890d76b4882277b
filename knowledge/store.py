"""The SQLite knowledge base on disk: immutable versioned files, a pointer to the current one, queries.

A data directory holds `kb-<stamp>.sqlite` versions and a `current` pointer. A refresh builds a new
version under a temporary name, checks it (integrity, tables, counts), renames it, then rewrites the
pointer atomically. A version is never written again once renamed, so no `-wal` file can ever pair
with it, readers keep a consistent version, and a crash at any point leaves the old pointer valid.
"""

from __future__ import annotations

import bisect
import contextlib
import fcntl
import hashlib
import json
import logging
import math
import os
import sqlite3
import stat
import threading
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils
from rapidfuzz import fuzz, process

from .model import ENTITY_KINDS, RECORD_TYPES, RefreshReport, SourceErrors, SourceProblem
from .sources import Bundle
from .text import fold, fts_terms

__all__ = ["Store", "Reader", "RefreshBusy", "KnowledgeMissing"]

log = logging.getLogger("govbot.store")

POINTER = "current"
RECORD_WORDS_CACHED = 4096  # records whose words a reader keeps (a few MB at most; cleared when full)
LOCK = "refresh.lock"
# The kinds whose news people follow (`Reader.changes_since`), in the order a digest lists them.
CHANGE_KINDS = ("objectives", "decisions", "councils", "reports")
EXPECTED_TABLES = {
    *ENTITY_KINDS,
    *("entities", "entities_fts", "names", "owners", "links", "history", "sources", "meta", "roadmaps"),
}
# A search leaves out terms held by more than this share of the records (never when there are few records).
RECORDS_KEPT = 512  # decoded records a reader keeps (a few hundred kB; a 100x report's statuses are the most)
COMMON_SHARE = 0.1
COMMON_FLOOR = 2000
# The field that names each kind of record.
TITLE_FIELD = {"actors": "name", "programmes": "name", "councils": "name"}


class RefreshBusy(RuntimeError):
    """Another refresh holds the lock; refreshes run one at a time."""


class KnowledgeMissing(RuntimeError):
    """No version has been built yet."""


def title_of(kind: str, record: dict[str, Any]) -> str:
    return str(record.get(TITLE_FIELD.get(kind, "title")) or record.get("id") or "")


def name_phrases(kind: str, record: dict[str, Any]) -> list[str]:
    """What a record is called, folded: its title or name, then its aliases (a stored record may have none)."""
    return [n for n in (fold(str(n)) for n in [title_of(kind, record), *(record.get("aliases") or [])]) if n]


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _open_version(path: Path) -> sqlite3.Connection:
    """A read-only connection to a version file as it is on disk.

    `immutable=1`: SQLite never looks for a journal or WAL beside the file, so a stale one can never be
    replayed into it (it would be, with plain `mode=ro`). The path is percent-encoded because '?', '#'
    and '%' are URI syntax.
    """
    uri = f"file:{urllib.parse.quote(str(path))}?mode=ro&immutable=1"
    return sqlite3.connect(uri, uri=True, check_same_thread=False)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _tighten(root: Path) -> None:
    """An existing directory made 0700: the question log and salt inside must not be listable by others."""
    try:
        mode = stat.S_IMODE(root.stat().st_mode)
    except OSError:
        return  # not there yet: the first refresh creates it 0700
    if not root.is_dir() or not mode & 0o077:
        return
    try:
        root.chmod(0o700)
    except OSError as exc:  # not ours to change (a shared read-only copy): say so; the files inside are 0600
        log.warning("knowledge directory %s is mode %03o and could not be tightened: %s", root, mode, exc)
    else:
        log.warning("knowledge directory %s was mode %03o: tightened to 700", root, mode)


class Store:
    """A knowledge data directory: builds versions and says which one is current."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)
        _tighten(self.root)

    @property
    def pointer(self) -> Path:
        return self.root / POINTER

    def current(self) -> Path | None:
        """The current version's file, or None before the first refresh."""
        try:
            name = self.pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        path = self.root / name
        return path if name and path.exists() else None

    def pointer_stamp(self) -> tuple[int, int]:
        """Changes whenever the pointer is rewritten (cheap to poll): a rename gives a new inode, even when two
        refreshes land within the filesystem's time resolution."""
        try:
            st = self.pointer.stat()
            return st.st_ino, st.st_mtime_ns
        except FileNotFoundError:
            return 0, 0

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.root / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RefreshBusy("a refresh is already running") from None
            yield
        finally:
            os.close(fd)

    def build(self, bundle: Bundle, fingerprint: str = "") -> RefreshReport:
        """Write the bundle as a new version and make it current. Raises SourceErrors, RefreshBusy."""
        if bundle.problems:
            raise SourceErrors(bundle.problems)
        started = time.perf_counter()
        with self.lock():
            previous = self.current()
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
            final = self.root / f"kb-{stamp}.sqlite"
            tmp = final.with_suffix(".sqlite.tmp")
            try:
                report = _write_version(tmp, bundle, fingerprint, stamp)
                _check_version(tmp, report.counts, len(bundle.passages))
                os.replace(tmp, final)
                _fsync_dir(self.root)
                if previous is not None:
                    _diff(previous, final, report)
                self._point_to(final.name)
            finally:
                tmp.unlink(missing_ok=True)
            self._clean(keep={final.name, previous.name if previous else ""})
        report.duration = time.perf_counter() - started
        report.version = stamp
        return report

    def _point_to(self, name: str) -> None:
        tmp = self.root / (POINTER + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, name.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.pointer)
        _fsync_dir(self.root)

    def _clean(self, keep: set[str]) -> None:
        """Delete every version but the current and previous ones, and leftovers of crashed refreshes.

        A version renamed by a refresh killed before its pointer switch is never current: it goes too.
        Versions are never written, so any journal, WAL or shm beside one is stale by definition.
        """
        for path in self.root.glob("kb-*.sqlite"):
            if path.name not in keep:
                path.unlink(missing_ok=True)
        for leftover in [*self.root.glob("kb-*.sqlite.tmp*"), *self.root.glob("kb-*.sqlite-*")]:
            leftover.unlink(missing_ok=True)


_BOOKKEEPING = frozenset({"origin", "position", "row"})
# Columns every kind gets besides its source fields: the roadmap it belongs to and its id as written there.
_ROADMAP_COLUMNS = {"roadmap": str, "local_id": str}
# Objectives and decisions keep the source's status word beside its bucket; objectives a due range.
_KIND_COLUMNS: dict[str, dict[str, type]] = {
    "objectives": {"progress": float, "status_text": str, "due_start": str, "due_end": str}
    | {"status_report": str, "status_date": str, "status_url": str, "status_comment": str},
    "decisions": {"status_text": str},
    "councils": {"number": int},
}


def _record_row(kind: str, record: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for key, value in record.items():
        if key in _BOOKKEEPING:
            continue
        row[key] = _json(value) if isinstance(value, (list, dict)) else value
    for key in (*RECORD_TYPES[kind], "disputed", "sources", "extra", "source_title", *_ROADMAP_COLUMNS):
        row.setdefault(key, None)
    row["hash"] = hashlib.sha256(_json({k: v for k, v in record.items() if k not in _BOOKKEEPING}).encode()).hexdigest()
    return row


def _entity_body(kind: str, record: dict[str, Any]) -> str:
    parts = [
        str(record.get(k) or "")
        for k in ("role", "summary", "description", "kind", "budget", "amount", "participants", "place")
    ]
    parts += [p.get("name", "") + " " + p.get("title", "") for p in record.get("people") or []]
    parts += [str(v) for v in (record.get("extra") or {}).values() if isinstance(v, str)]
    return " ".join(p for p in parts if p)


def _names(kind: str, record: dict[str, Any]) -> list[str]:
    names = [title_of(kind, record), record["id"], record.get("local_id") or "", *record.get("aliases", [])]
    if kind == "actors":
        people = [p["name"] for p in record.get("people") or []]
        # A surname alone names its person in chat ("Benali c'est qui ?"); first names alone do not.
        names += people + [p.split()[-1] for p in people if len(p.split()) > 1 and len(p.split()[-1]) >= 4]
    return list(dict.fromkeys(n for n in (fold(str(n)) for n in names) if n))


def _effective_statuses(bundle: Bundle) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """The latest report's word on each objective, and one history row per objective per report."""
    latest: dict[str, dict[str, Any]] = {}
    history: list[dict[str, Any]] = []
    for report in sorted(bundle.records["reports"], key=lambda r: r.get("published") or ""):
        for row in report.get("statuses", []):
            entry = {
                "objective": row["objective"],
                "report": report["id"],
                "published": report.get("published") or "",
                "status": row["status"],
                "status_text": row.get("status_text") or "",
                "progress": row["progress"],
                "comment": row["comment"],
                "url": report["url"],
            }
            history.append(entry)
            latest[row["objective"]] = entry
    return latest, history


def _write_version(path: Path, bundle: Bundle, fingerprint: str, stamp: str) -> RefreshReport:
    path.unlink(missing_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    report = RefreshReport(warnings=list(bundle.warnings))
    problems: list[SourceProblem] = []
    latest, history = _effective_statuses(bundle)
    ids: dict[str, set[str]] = {kind: set() for kind in RECORD_TYPES}
    first: dict[tuple[str, str], str] = {}
    rows: dict[str, list[dict[str, Any]]] = {kind: [] for kind in ENTITY_KINDS}
    for kind in ENTITY_KINDS:
        for record in bundle.records[kind]:
            if record["id"] in ids[kind]:
                where = first[(kind, record["id"])]
                problems.append(
                    SourceProblem(
                        record["origin"],
                        f"duplicate id (also in {where})",
                        record["position"],
                        record.get("local_id") or record["id"],
                        "id",
                        kind,
                        record.get("row"),
                        tabular=record.get("row") is not None,
                    ),
                )
                continue
            ids[kind].add(record["id"])
            row = record.get("row")
            first[(kind, record["id"])] = f"{record['origin']}, " + (
                f"row {row}" if row is not None else f"{kind}[{record['position']}]"
            )
            if kind == "objectives" and record["id"] in latest:
                word = latest[record["id"]]
                record = {**record, "status": word["status"] or record.get("status")}
                if word["status"]:
                    record["status_text"] = word["status_text"]
                if word["progress"] is not None:
                    record["progress"] = word["progress"]
                record["status_report"] = word["report"]
                record["status_date"] = word["published"]
                record["status_url"] = word["url"]
                record["status_comment"] = word["comment"]
            rows[kind].append(record)
    if problems:
        raise SourceErrors(problems)
    _warn_dangling(rows, ids, report)
    db = sqlite_utils.Database(sqlite3.connect(path))
    db.execute("PRAGMA journal_mode=DELETE")
    with db.atomic():
        entities: list[dict[str, Any]] = []
        names: list[dict[str, str]] = []
        owners: list[dict[str, str]] = []
        links: list[dict[str, str]] = []
        for kind in ENTITY_KINDS:
            db[kind].create(
                {k: str for k in (*RECORD_TYPES[kind], "disputed", "sources", "extra", "source_title", "hash")}
                | _ROADMAP_COLUMNS
                | _KIND_COLUMNS.get(kind, {}),
                pk="id",
            )
            db[kind].insert_all((_record_row(kind, r) for r in rows[kind]), batch_size=1000, alter=True)
            for record in rows[kind]:
                entities.append(
                    {
                        "kind": kind,
                        "id": record["id"],
                        "title": title_of(kind, record),
                        "names": " ".join(_names(kind, record)),
                        "body": _entity_body(kind, record),
                        "url": record["url"],
                        "heading": "",
                        "date": record.get("date") or record.get("published") or "",
                    }
                )
                names += [{"name": n, "kind": kind, "id": record["id"]} for n in _names(kind, record)]
                owners += [{"kind": kind, "id": record["id"], "actor": a} for a in record.get("owners") or []]
                if kind == "actors" and record.get("parent"):
                    links.append({"kind": "parent", "src": record["id"], "dst": record["parent"]})
                if kind == "decisions":
                    links += [
                        {"kind": "objective", "src": record["id"], "dst": o} for o in record.get("objectives") or []
                    ]
                    if record.get("council"):
                        links.append({"kind": "council", "src": record["id"], "dst": record["council"]})
        # Passages come after every record, so a search of records alone stops at the first passage's rowid.
        for passage in bundle.passages:
            entities.append(
                {
                    "kind": "passages",
                    "id": passage["id"],
                    "title": passage["title"],
                    "names": "",
                    "body": passage["text"],
                    "url": passage["url"],
                    "heading": passage["heading"],
                    "date": passage["published"],
                }
            )
        db["entities"].create(
            {"rowid": int, "kind": str, "id": str, "title": str, "names": str, "body": str, "url": str}
            | {"heading": str, "date": str},
            pk="rowid",
        )
        _insert_many(db, "entities", entities)
        db["objectives"].create_index(["local_id"])
        db["entities"].create_index(["kind", "id"])
        db["names"].create({"name": str, "kind": str, "id": str})
        _insert_many(db, "names", names)
        db["names"].create_index(["name"])
        db["owners"].create({"kind": str, "id": str, "actor": str})
        _insert_many(db, "owners", owners)
        db["owners"].create_index(["actor", "kind"])
        db["owners"].create_index(["kind", "id"])
        db["links"].create({"kind": str, "src": str, "dst": str})
        _insert_many(db, "links", links)
        db["links"].create_index(["kind", "dst"])
        db["links"].create_index(["kind", "src"])
        db["history"].create(
            {"objective": str, "report": str, "published": str, "status": str, "status_text": str}
            | {"progress": float, "comment": str, "url": str}
        )
        _insert_many(db, "history", history)
        db["history"].create_index(["report", "objective"])
        fetched_at = datetime.now(UTC).isoformat(timespec="seconds")
        db["sources"].create({"url": str, "title": str, "fetched_at": str, "sha256": str, "bytes": str})
        db["sources"].insert_all({**s, "fetched_at": fetched_at} for s in bundle.sources)
        for kind in ENTITY_KINDS:
            report.counts[kind] = len(rows[kind])
        report.counts["passages"] = len(bundle.passages)
        report.sources = [{"url": s["url"], "title": s["title"]} for s in bundle.sources]
        latest_source = max((r.get("published") or r.get("date") or "" for k in rows for r in rows[k]), default="")
        held = {r.get("roadmap") for k in rows for r in rows[k]}
        db["roadmaps"].create({"id": str, "title": str, "owner": str, "url": str}, pk="id")
        db["roadmaps"].insert_all(card for rid, card in bundle.roadmaps.items() if rid in held)
        db["meta"].create({"key": str, "value": str}, pk="key")
        db["meta"].insert_all(
            [
                {"key": "version", "value": stamp},
                {"key": "built_at", "value": fetched_at},
                {"key": "fingerprint", "value": fingerprint},
                {"key": "counts", "value": _json(report.counts)},
                {"key": "latest_date", "value": latest_source},
                {"key": "warnings", "value": _json(report.warnings)},
            ]
        )
    db.execute(
        "CREATE VIRTUAL TABLE entities_fts USING fts5(title, names, body, heading, content='entities', "
        "content_rowid='rowid', tokenize='unicode61 remove_diacritics 2')"
    )
    db.execute("INSERT INTO entities_fts(entities_fts) VALUES ('rebuild')")
    # Typo-tolerant recall: the folded names of every record, indexed by trigrams (SQLite >= 3.34).
    db.execute("CREATE VIRTUAL TABLE names_trigram USING fts5(name, tokenize='trigram')")
    db.conn.executemany(
        "INSERT INTO names_trigram(rowid, name) VALUES (?, ?)",
        (
            (r[0], fold(f"{r[1]} {r[2] or ''} {r[3] or ''}"))
            for r in db.conn.execute(
                "SELECT rowid, title, names, heading FROM entities WHERE kind != 'passages'"
            ).fetchall()
        ),
    )
    # How many records hold each term: lets a search leave out words that are everywhere.
    db.execute("CREATE VIRTUAL TABLE entities_vocab USING fts5vocab(entities_fts, 'row')")
    db.conn.commit()
    db.execute("PRAGMA optimize")
    db.close()
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return report


def _insert_many(db: sqlite_utils.Database, table: str, rows: list[dict[str, Any]]) -> None:
    """Plain rows of text and numbers into a created table, with one executemany: the big tables (names,
    search entities, report history) hold hundreds of thousands of rows, and sqlite-utils' per-value
    checks cost more than the insert itself."""
    if not rows:
        return
    columns = list(rows[0])
    marks = ", ".join("?" * len(columns))
    names = ", ".join(f"[{c}]" for c in columns)
    db.conn.executemany(
        f"INSERT INTO [{table}] ({names}) VALUES ({marks})", (tuple(r[c] for c in columns) for r in rows)
    )


def _warn_dangling(rows: dict[str, list[dict[str, Any]]], ids: dict[str, set[str]], report: RefreshReport) -> None:
    for kind in ("objectives", "decisions", "programmes"):
        for record in rows[kind]:
            for actor in record.get("owners") or []:
                if actor not in ids["actors"]:
                    report.warnings.append(f"{kind} {record['id']!r}: owner {actor!r} names no actor")
    for record in rows["actors"]:
        if record.get("parent") and record["parent"] not in ids["actors"]:
            report.warnings.append(f"actors {record['id']!r}: parent {record['parent']!r} names no actor")
    for record in rows["decisions"]:
        if record.get("council") and record["council"] not in ids["councils"]:
            report.warnings.append(f"decisions {record['id']!r}: council {record['council']!r} names no council")
        for objective in record.get("objectives") or []:
            if objective not in ids["objectives"]:
                report.warnings.append(f"decisions {record['id']!r}: objective {objective!r} names no objective")
    for record in rows["reports"]:
        for row in record.get("statuses") or []:
            if row["objective"] not in ids["objectives"]:
                report.warnings.append(f"reports {record['id']!r}: objective {row['objective']!r} names no objective")


def _check_version(path: Path, counts: dict[str, int], passages: int) -> None:
    conn = _open_version(path)
    try:
        problems = []
        verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if verdict != "ok":
            problems.append(f"integrity check failed: {verdict}")
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
        if missing := EXPECTED_TABLES - tables:
            problems.append(f"missing tables: {sorted(missing)}")
        else:
            for kind in ENTITY_KINDS:
                if conn.execute(f"SELECT count(*) FROM [{kind}]").fetchone()[0] != counts[kind]:
                    problems.append(f"table {kind} does not hold the {counts[kind]} records read")
            total = conn.execute("SELECT count(*) FROM entities").fetchone()[0]
            if total != sum(counts[k] for k in ENTITY_KINDS) + passages:
                problems.append("the search index does not hold every record")
    finally:
        conn.close()
    if problems:
        raise SourceErrors([SourceProblem("new version", p) for p in problems])


def _diff(old_path: Path, new_path: Path, report: RefreshReport) -> None:
    """Fill the report's added / changed / removed counts by comparing record hashes."""
    with contextlib.closing(_open_version(old_path)) as old:
        with contextlib.closing(_open_version(new_path)) as new:
            for kind in ENTITY_KINDS:
                try:
                    before = dict(old.execute(f"SELECT id, hash FROM [{kind}]").fetchall())
                except sqlite3.Error:
                    before = {}
                after = dict(new.execute(f"SELECT id, hash FROM [{kind}]").fetchall())
                report.added[kind] = len(after.keys() - before.keys())
                report.removed[kind] = len(before.keys() - after.keys())
                report.changed[kind] = sum(1 for k in after.keys() & before.keys() if after[k] != before[k])


class Reader:
    """Read-only queries on one immutable version (a lock serialises the threads that share one)."""

    def __init__(self, path: Path):
        self.path = path
        self.conn = _open_version(path)
        self.conn.row_factory = sqlite3.Row
        self.lock = threading.Lock()
        meta = dict(self.conn.execute("SELECT key, value FROM meta").fetchall())
        self.version: str = meta.get("version", "")
        self.built_at: str = meta.get("built_at", "")
        self.fingerprint: str = meta.get("fingerprint", "")
        self.latest_date: str = meta.get("latest_date", "")
        self.counts: dict[str, int] = json.loads(meta.get("counts", "{}"))
        self.total = sum(self.counts.values())
        self.memo: dict[str, Any] = {}  # values derived from this version once (e.g. the example questions)
        self._fuzzy: tuple[list[str], list[int], list[tuple[str, str]]] | None = None
        self._name_words: frozenset[str] | None = None
        self._record_words: dict[tuple[str, str], frozenset[str]] = {}
        self._records: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()

    def close(self) -> None:
        self.conn.close()

    def rows(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(r) for r in self.conn.execute(sql, params).fetchall()]

    def record(self, kind: str, record_id: str) -> dict[str, Any] | None:
        """One record, decoded (a copy: callers may add to it). Recently read ones are kept, since one answer
        looks at the same few candidates several times and a report's statuses are long to decode."""
        key = (kind, record_id)
        with self.lock:
            if key in self._records:
                self._records.move_to_end(key)
                return dict(self._records[key])
        found = self.rows(f"SELECT * FROM [{kind}] WHERE id = ?", (record_id,))
        if not found:
            return None
        decoded = _decode(found[0])
        with self.lock:
            self._records[key] = decoded
            if len(self._records) > RECORDS_KEPT:
                self._records.popitem(last=False)
        return dict(decoded)

    def records(self, kind: str, where: str = "1", params: tuple[Any, ...] = (), limit: int = 50) -> list[dict]:
        return [_decode(r) for r in self.rows(f"SELECT * FROM [{kind}] WHERE {where} LIMIT {int(limit)}", params)]

    def count(self, kind: str, where: str = "1", params: tuple[Any, ...] = ()) -> int:
        return self.rows(f"SELECT count(*) AS n FROM [{kind}] WHERE {where}", params)[0]["n"]

    # --- Named queries of the answers (knowledge/answer/) ------------------------------------------------

    def council_decisions(self, council: str, limit: int) -> list[dict[str, Any]]:
        """The decisions taken at a council, by id."""
        return self.records("decisions", "council = ? ORDER BY id", (council,), limit=limit)

    def decisions_about(self, key: str) -> list[dict[str, Any]]:
        """The decisions an actor owns or that name an objective, by the record's stored key."""
        return self.records(
            "decisions",
            "id IN (SELECT id FROM owners WHERE kind = 'decisions' AND actor = ?) "
            "OR id IN (SELECT src FROM links WHERE kind = 'objective' AND dst = ?)",
            (key, key),
        )

    def decisions_since(self, date: str, limit: int, where: str = "1", params: tuple[Any, ...] = ()) -> list[dict]:
        """Decisions dated on or after `date` (ISO prefix), newest first; `where` narrows them (a roadmap)."""
        return self.records("decisions", f"date >= ? AND {where} ORDER BY date DESC, id", (date, *params), limit)

    def record_words(self, kind: str, record_id: str) -> frozenset[str]:
        """Every folded word of a record, all fields (names, aliases, people, text, references): what a
        question's words are checked against. Cached per version, a bounded number of records."""
        cached = self._record_words.get((kind, record_id))
        if cached is None:
            record = self.record(kind, record_id)
            cached = frozenset(fold(json.dumps(record, ensure_ascii=False)).split()) if record else frozenset()
            if len(self._record_words) >= RECORD_WORDS_CACHED:
                self._record_words.clear()
            self._record_words[(kind, record_id)] = cached
        return cached

    def units_of(self, actor: str) -> list[dict[str, Any]]:
        """The actors directly under an organisation (its `parent`)."""
        return self.records("actors", "id IN (SELECT src FROM links WHERE kind = 'parent' AND dst = ?)", (actor,))

    def axis_objective_count(self, axis: str) -> int:
        return self.count("objectives", "axis = ?", (axis,))

    def latest_report(self) -> dict[str, Any] | None:
        """The most recently published status report, if any."""
        found = self.records("reports", "1 ORDER BY published DESC", limit=1)
        return found[0] if found else None

    def names(self, candidates: list[str]) -> list[dict[str, str]]:
        """Records whose folded name, id or alias is exactly one of the candidates."""
        if not candidates:
            return []
        marks = ",".join("?" * len(candidates))
        return self.rows(f"SELECT DISTINCT name, kind, id FROM names WHERE name IN ({marks})", candidates)

    def search(self, expression: str, limit: int = 20, kinds: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """Full-text search (bm25 over title, names, body, heading); `expression` is an OR of `fts_terms`."""
        where = ""
        params: list[Any] = [expression]
        if kinds:
            where = f" AND e.kind IN ({','.join('?' * len(kinds))})"
            params += list(kinds)
            # A rowid bound lets FTS5 skip the other side's rows instead of scoring them (passages are last).
            if "passages" not in kinds:
                where += " AND entities_fts.rowid < ?"
                params.append(self._first_passage())
            elif kinds == ("passages",):
                where += " AND entities_fts.rowid >= ?"
                params.append(self._first_passage())
        params.append(limit)
        return self.rows(
            "SELECT e.kind, e.id, e.title, e.url, e.heading, e.body, e.date, "
            "bm25(entities_fts, 8.0, 6.0, 1.0, 2.0) AS rank FROM entities_fts "
            "JOIN entities e ON e.rowid = entities_fts.rowid "
            f"WHERE entities_fts MATCH ?{where} ORDER BY rank LIMIT ?",
            params,
        )

    def _first_passage(self) -> int:
        if "first_passage" not in self.memo:
            found = self.rows("SELECT min(rowid) AS first FROM entities WHERE kind = 'passages'")[0]["first"]
            self.memo["first_passage"] = found if found is not None else 2**62
        return self.memo["first_passage"]

    def search_text(self, text: str, limit: int = 20, kinds: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """Full-text search for user text, leaving out terms that most records hold (they only cost time).

        On a large knowledge base a word like "santé" matches tens of thousands of rows, and ranking them all
        is what makes a search slow; such a word adds almost nothing to bm25's ranking anyway.
        """
        terms = fts_terms(text)
        if not terms:
            return []
        ceiling = max(COMMON_FLOOR, int(self.total * COMMON_SHARE))
        if self.total > COMMON_FLOOR:
            frequency = {term: self._frequency(term) for term in terms}
            kept = [t for t in terms if frequency[t] <= ceiling]
            terms = kept or [min(terms, key=frequency.__getitem__)]
        return self.search(" OR ".join(terms), limit, kinds)

    def search_trigrams(self, word: str, limit: int = 8, kinds: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """Records (not passages) whose names share most trigrams with a folded word: a typo-tolerant recall.

        Every trigram is quoted, so nothing in the word is an FTS5 operator; a version built before this index
        existed finds nothing.
        """
        grams = list(dict.fromkeys(word[i : i + 3] for i in range(len(word) - 2) if " " not in word[i : i + 3]))
        if not grams:
            return []
        where = f" AND e.kind IN ({','.join('?' * len(kinds))})" if kinds else ""
        try:
            return self.rows(
                "SELECT e.kind, e.id, e.title, e.heading FROM names_trigram "
                "JOIN entities e ON e.rowid = names_trigram.rowid "
                f"WHERE names_trigram MATCH ?{where} ORDER BY bm25(names_trigram) LIMIT ?",
                [" OR ".join('"' + g.replace('"', '""') + '"' for g in grams), *kinds, limit],
            )
        except sqlite3.OperationalError:
            return []

    def _frequency(self, term: str) -> int:
        """How many records hold a term (`"word"`) or any word starting with a prefix (`"pre"*`)."""
        word = term.strip('"*').replace('""', '"')
        try:
            if term.endswith("*"):
                sql, params = (
                    "SELECT coalesce(sum(doc), 0) FROM entities_vocab WHERE term >= ? AND term < ?",
                    (
                        word,
                        word + "\U0010ffff",
                    ),
                )
            else:
                sql, params = "SELECT coalesce(sum(doc), 0) FROM entities_vocab WHERE term = ?", (word,)
            with self.lock:
                return int(self.conn.execute(sql, params).fetchone()[0])
        except sqlite3.OperationalError:  # a version built before the vocabulary table existed
            return 0

    def name_words(self) -> frozenset[str]:
        """Every word of a record's name, title, id or alias (built once per version): the words a question
        uses to name what it is about."""
        if self._name_words is None:
            rows = self.rows("SELECT DISTINCT name FROM names")
            self._name_words = frozenset(w for r in rows for w in r["name"].split())
        return self._name_words

    def fuzzy_names(self, text: str, cutoff: float, limit: int) -> list[tuple[str, float, str, str]]:
        """Names and aliases of actors, programmes, councils and axes within `cutoff` (rapidfuzz ratio) of a
        text, best first, as (name, score, kind, id).

        Objectives and decisions are long titles found by full-text search; typos in them are caught there by
        prefixes, which keeps this list a few thousand names at most. Only names of a length that can reach the
        cutoff are scored: a ratio of c needs the shorter string to be at least c / (2 - c) of the longer one,
        which spares most of the list on a large knowledge base.
        """
        if self._fuzzy is None:
            rows = self.rows(
                "SELECT n.name, n.kind, n.id FROM names n "
                "WHERE n.kind IN ('actors', 'programmes', 'councils', 'axes') AND length(n.name) <= 60 "
                "ORDER BY length(n.name), n.rowid"
            )
            self._fuzzy = (
                [r["name"] for r in rows],
                [len(r["name"]) for r in rows],
                [(r["kind"], r["id"]) for r in rows],
            )
        names, lengths, keys = self._fuzzy
        share = cutoff / 100 / (2 - cutoff / 100)
        start = bisect.bisect_left(lengths, math.ceil(len(text) * share))
        end = bisect.bisect_right(lengths, math.floor(len(text) / share))
        found = process.extract(text, names[start:end], scorer=fuzz.ratio, score_cutoff=cutoff, limit=limit)
        return [(name, score, *keys[start + index]) for name, score, index in found]

    def changes_since(self, previous: Path) -> list[dict[str, Any]]:
        """What a refresh changed, read against the version `previous`: one dict per change, for digests and feeds.

        `change` is "moved" (an objective's status or progress differs: `was_status`, `was_progress` beside the
        new ones) or "new" (an objective, decision, council or report that `previous` lacked). Each carries the
        record's `kind`, `id`, `title`, `url` (a moved objective's: the report that moved it), `roadmap`,
        `axes`, `objectives` and `owners`, so that a subscription's scope can be matched without reading the version again.
        """
        with contextlib.closing(_open_version(previous)) as old:
            old.row_factory = sqlite3.Row
            before: dict[str, dict[str, dict[str, Any]]] = {}
            for kind in CHANGE_KINDS:
                try:
                    before[kind] = {r["id"]: dict(r) for r in old.execute(f"SELECT * FROM [{kind}]")}
                except sqlite3.Error:  # a version written before this kind existed
                    before[kind] = {}
        axis_of = {r["id"]: r["axis"] for r in self.rows("SELECT id, axis FROM objectives")}
        changes: list[dict[str, Any]] = []
        for kind in CHANGE_KINDS:
            order = "published" if kind == "reports" else ("date" if kind in ("decisions", "councils") else "id")
            for row in self.rows(f"SELECT * FROM [{kind}] ORDER BY {order}, id"):
                was = before[kind].get(row["id"])
                moved = (
                    kind == "objectives"
                    and was is not None
                    and (was["status"] != row["status"] or was["progress"] != row["progress"])
                )
                if was is not None and not moved:
                    continue
                record = _decode(row)
                objectives = [record["id"]] if kind == "objectives" else list(record.get("objectives") or [])
                changes.append(
                    {
                        "change": "moved" if moved else "new",
                        "kind": kind,
                        "id": record["id"],
                        "title": title_of(kind, record),
                        "url": (moved and record.get("status_url")) or record.get("url") or "",
                        "date": record.get("status_date" if moved else "date") or record.get("published") or "",
                        "roadmap": record.get("roadmap") or "",
                        "axes": sorted({axis_of[o] for o in objectives if axis_of.get(o)}),
                        "objectives": objectives,
                        "owners": list(record.get("owners") or []),
                        "status": record.get("status"),
                        "status_text": record.get("status_text") or "",
                        "progress": record.get("progress"),
                        "was_status": was["status"] if was else None,
                        "was_text": (was.get("status_text") or "") if was else "",
                        "was_progress": was["progress"] if was else None,
                    }
                )
        return changes


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    for key in ("people", "aliases", "owners", "objectives", "statuses", "sources", "extra"):
        if isinstance(row.get(key), str):
            try:
                row[key] = json.loads(row[key])
            except ValueError:
                pass
    return row
