"""KnowledgeBase: the one object front ends use (ask, refresh, stats)."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

from . import roadmaps
from .answer import compose, examples
from .lastgood import LastGood
from .model import Answer, RefreshReport
from .roadmaps import name_roadmaps
from .sources import BUNDLED_DATA, read_sources
from .store import KnowledgeMissing, Reader, Store
from .understand import understand

__all__ = ["KnowledgeBase", "default_sources", "default_path"]

REMEMBERED = "sources.json"


def default_path() -> Path:
    """GOVBOT_DB, else the user's data directory (XDG)."""
    if env := os.environ.get("GOVBOT_DB"):
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "govbot"


def default_sources(extra: list[str] | None = None, bundled: bool = True) -> list[str]:
    """The bundled data (unless left out), then GOVBOT_SOURCES (whitespace-separated), then `extra`."""
    specs = [str(BUNDLED_DATA)] if bundled else []
    specs += os.environ.get("GOVBOT_SOURCES", "").split()
    specs += extra or []
    return specs


def fingerprint(specs: list[str]) -> str:
    """Changes when a local source file changes (size or time) or the list of sources changes."""
    digest = hashlib.sha256()
    for spec in specs:
        digest.update(spec.encode() + b"\0")
        path = Path(spec.partition("?")[0])  # "objectifs.csv?roadmap=ars" is the file objectifs.csv
        if spec.startswith(("http://", "https://")) or not path.exists():
            continue
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            st = f.stat()
            digest.update(f"{f}:{st.st_size}:{st.st_mtime_ns}\0".encode())
    return digest.hexdigest()


def _absolute(spec: str) -> str:
    """A local source as an absolute path (a nightly job runs from another directory); URLs as given."""
    if spec.startswith(("http://", "https://")):
        return spec
    path, mark, query = spec.partition("?")
    return str(Path(path).expanduser().absolute()) + mark + query


class KnowledgeBase:
    """A knowledge data directory, ready to answer.

    >>> kb = KnowledgeBase("/tmp/govbot")          # doctest: +SKIP
    >>> kb.refresh(["my-roadmap.yaml"])             # doctest: +SKIP
    >>> kb.ask("qui pilote HospiConnect ?").text    # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike[str] | None = None):
        self.store = Store(path or default_path())
        self._local = threading.local()

    @property
    def path(self) -> Path:
        return self.store.root

    def _reader(self) -> Reader:
        """This thread's reader on the current version, reopened when the pointer moves."""
        stamp = self.store.pointer_stamp()
        reader: Reader | None = getattr(self._local, "reader", None)
        if reader is not None and getattr(self._local, "stamp", None) == stamp:
            return reader
        current = self.store.current()
        if current is None:
            raise KnowledgeMissing(f"no knowledge built yet in {self.store.root} (run `govbot refresh`)")
        if reader is None or reader.path != current:
            if reader is not None:
                reader.close()
            reader = Reader(current)
            self._local.reader = reader
        self._local.stamp = stamp
        return reader

    @property
    def ready(self) -> bool:
        return self.store.current() is not None

    def ask(self, question: str, roadmap: str = "") -> Answer:
        """Answer a question (French or English); any text gets an Answer (KnowledgeMissing before the first
        refresh). `roadmap` is the one meant when the question names none (a channel's preference)."""
        reader = self._reader()
        token = roadmaps.preferred.set(roadmap)
        try:
            answer = compose(understand(question, reader), reader)
        finally:
            roadmaps.preferred.reset(token)
        return name_roadmaps(answer, reader)

    def roadmaps(self) -> dict[str, str]:
        """The loaded roadmaps, id -> title (KnowledgeMissing before the first refresh)."""
        return roadmaps.loaded(self._reader())

    def examples(self, lang: str) -> list[str]:
        """Example questions in `lang` this knowledge answers directly (KnowledgeMissing before the first
        refresh)."""
        return examples(self._reader(), lang)

    @property
    def _remembered_path(self) -> Path:
        return self.store.root / REMEMBERED

    def _settings(self) -> dict[str, Any]:
        try:
            data = json.loads(self._remembered_path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return {"sources": [], "bundled": True}
        return {"sources": [str(s) for s in data.get("sources", [])], "bundled": bool(data.get("bundled", True))}

    def remembered(self) -> list[str]:
        """Sources an admin added in earlier refreshes: every later refresh reads them again."""
        return self._settings()["sources"]

    def _remember(self, settings: dict[str, Any]) -> None:
        self.store.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self._remembered_path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(settings, out)
        os.replace(tmp, self._remembered_path)

    def forget_source(self, which: str) -> str | None:
        """Stop reading an added source from the next refresh on: its number in `remembered()` (from 1), its
        URL or path. Returns the source forgotten, or None when nothing matches."""
        saved = self._settings()
        listed = saved["sources"]
        chosen = None
        if which.strip().isdigit() and 1 <= int(which) <= len(listed):
            chosen = listed[int(which) - 1]
        elif which.strip() in listed:
            chosen = which.strip()
        elif (absolute := _absolute(which.strip())) in listed:
            chosen = absolute
        if chosen is None:
            return None
        self._remember({**saved, "sources": [s for s in listed if s != chosen]})
        LastGood(self.path).forget(chosen)
        return chosen

    def _specs(self, sources: list[str] | None, bundled: bool | None, forget: bool) -> tuple[list[str], dict]:
        saved = self._settings()
        given = [_absolute(s) for s in sources or []]
        added = list(dict.fromkeys([*([] if forget else saved["sources"]), *given]))
        use_bundled = saved["bundled"] if bundled is None else bundled
        return default_sources(added, use_bundled), {"sources": added, "bundled": use_bundled}

    def refresh(
        self, sources: list[str] | None = None, bundled: bool | None = None, forget: bool = False
    ) -> RefreshReport:
        """Rebuild from the bundled data, GOVBOT_SOURCES, the sources added before and `sources`.

        The added sources, and whether the bundled data is in (`bundled=None`: as last time, at first yes),
        are remembered for the next refreshes; `forget=True` starts the list again from `sources`.
        On error nothing changes and the current version keeps answering.
        """
        specs, settings = self._specs(sources, bundled, forget)
        last_good = LastGood(self.path)
        bundle = read_sources(specs, last_good)
        report = self.store.build(bundle, fingerprint(specs))
        for url, (body, content_type) in bundle.fetched.items():
            last_good.save(url, body, content_type)
        if settings != self._settings():
            self._remember(settings)
        return report

    def ensure(self, sources: list[str] | None = None, bundled: bool | None = None) -> RefreshReport | None:
        """Build only when nothing is built yet or the local sources changed since the last build."""
        specs, _ = self._specs(sources, bundled, forget=False)
        current = self.store.current()
        if current is not None:
            reader = Reader(current)
            try:
                if reader.fingerprint == fingerprint(specs):
                    return None
            finally:
                reader.close()
        return self.refresh(sources, bundled)

    def info(self) -> dict[str, Any]:
        """Version, build time, newest source date and counts of the current knowledge."""
        reader = self._reader()
        return {
            "version": reader.version,
            "built_at": reader.built_at,
            "latest_date": reader.latest_date,
            "counts": dict(reader.counts),
        }

    def sources(self) -> list[dict[str, str]]:
        return self._reader().rows("SELECT url, title, fetched_at, sha256 FROM sources ORDER BY url")
