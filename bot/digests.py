"""Digests: after a refresh, one message per subscribed channel saying what moved in its scope.

`process_refresh` is the one step between a refresh and the outbox: it reads what changed between the last
processed version and the current one (`Reader.changes_since`), builds each subscription's digest, and
records the version as processed together with the digests, in one transaction. Any process may call it
after any refresh (the CLI's, an admin's, the schedule's); the first one to commit wins.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from knowledge import KnowledgeBase
from knowledge.phrases import say, shown_status
from knowledge.store import Reader
from knowledge.text import clip

from .state import State, Subscription
from .subscriptions import in_scope, scope_text

__all__ = ["Digest", "Line", "Section", "digest_for", "line_for", "notice", "process_refresh", "feed_url", "SECTIONS"]

log = logging.getLogger("govbot.digests")

# A digest is read at a glance in a chat: beyond this many lines, "and N more" with a link.
MAX_LINES = 8
# Titles are clipped so that one line stays one line in a chat window.
TITLE_CHARS = 90
# The sections of a digest, in order: which changes go in each, and the phrase that heads it.
SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("moved", "objectives", "digest_moved"),
    ("new", "objectives", "digest_new_objectives"),
    ("new", "decisions", "digest_new_decisions"),
    ("new", "councils", "digest_new_councils"),
    ("new", "reports", "digest_new_reports"),
)


@dataclass
class Line:
    text: str
    url: str = ""


@dataclass
class Section:
    heading: str
    lines: list[Line] = field(default_factory=list)


@dataclass
class Digest:
    """A platform-neutral digest; each front end renders it (`to_text` is the plain rendering)."""

    id: str
    lang: str
    title: str
    sections: list[Section] = field(default_factory=list)
    more: int = 0
    more_url: str = ""
    kind: str = "digest"  # or "notice" (a message for admins)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Digest:
        sections = [Section(s["heading"], [Line(**line) for line in s["lines"]]) for s in data.get("sections", [])]
        return cls(**{**data, "sections": sections})

    @property
    def more_text(self) -> str:
        if not self.more:
            return ""
        if self.more_url:
            return say("digest_more", self.lang, more=self.more, url=self.more_url)
        return say("digest_more_no_link", self.lang, more=self.more)

    def to_text(self) -> str:
        out = [self.title]
        for section in self.sections:
            out.append(f"{section.heading} :" if self.lang == "fr" and section.heading else section.heading + ":")
            out += [line.text + (f" <{line.url}>" if line.url else "") for line in section.lines]
        if self.more:
            out.append(self.more_text)
        return "\n".join(out)


def _state(status: str | None, text: str, progress: float | None, lang: str) -> str:
    word = shown_status({"status": status, "status_text": text}, lang) or "—"
    return word + (f" {progress:g} %" if progress is not None else "")


def line_for(change: dict[str, Any], lang: str) -> Line:
    """One change as a digest line (and a feed entry): status moves say old → new."""
    name = f"{change['id']} — {clip(change['title'], TITLE_CHARS)}" if change["title"] != change["id"] else change["id"]
    if change["change"] == "moved":
        was = _state(change["was_status"], change["was_text"], change["was_progress"], lang)
        now = _state(change["status"], change["status_text"], change["progress"], lang)
        return Line(say("change_line", lang, name=name, was=was, now=now), change["url"])
    dated = f" ({change['date']})" if change.get("date") and change["kind"] != "objectives" else ""
    return Line(f"• {name}{dated}", change["url"])


def feed_url(sub: Subscription) -> str:
    """The public feed for a subscription's scope, when the service knows its own address (GOVBOT_PUBLIC_URL)."""
    base = os.environ.get("GOVBOT_PUBLIC_URL", "").strip().rstrip("/")
    if not base:
        return ""
    return f"{base}/feed.xml" + (f"?roadmap={sub.scope_value}" if sub.scope_kind == "roadmap" else "")


def digest_for(sub: Subscription, changes: list[dict[str, Any]], version: str) -> Digest | None:
    """This subscription's digest of `changes`, or None when nothing in its scope changed."""
    mine = [c for c in changes if in_scope(sub, c)]
    if not mine:
        return None
    lang = sub.lang
    digest = Digest(
        id=f"{version}/{sub.id}",
        lang=lang,
        title=say("digest_title", lang, scope=scope_text(sub.scope_kind, sub.scope_label, lang)),
    )
    room = MAX_LINES
    omitted: list[dict[str, Any]] = []
    for change_kind, record_kind, heading in SECTIONS:
        found = [c for c in mine if c["change"] == change_kind and c["kind"] == record_kind]
        if not found:
            continue
        shown, rest = found[:room], found[room:]
        omitted += rest
        room -= len(shown)
        if shown:
            digest.sections.append(Section(say(heading, lang), [line_for(c, lang) for c in shown]))
    digest.more = len(omitted)
    if omitted:
        digest.more_url = feed_url(sub) or omitted[0]["url"]
    return digest


def notice(sub: Subscription, key: str, phrase: str, **values: Any) -> Digest:
    """A message for an admins' subscription (a failed refresh, a paused channel). The same notice may be
    told again after it was forgotten, so its id carries the moment it was made."""
    made = time.time_ns()
    return Digest(f"notice/{key}/{made}/{sub.id}", sub.lang, say(phrase, sub.lang, **values), kind="notice")


def queue_notice(state: State, key: str, phrase: str, **values: Any) -> bool:
    """Tell every admins' subscription once (until the notice is forgotten); True when queued now."""
    subs = [s for s in state.subscriptions(active=True) if s.scope_kind == "admin"]
    digests = [(d.id, s.id, d.to_dict()) for s in subs for d in [notice(s, key, phrase, **values)]]
    return state.notice_once(key, digests)


def _version_of(path: Path) -> str:
    return path.name.removeprefix("kb-").removesuffix(".sqlite")


def _baseline(kb: KnowledgeBase, previous: str, current: Path) -> Path | None:
    """The version to compare against: the last processed one, or (if a later refresh already deleted it)
    the store's kept previous version; None on the first refresh seen."""
    if not previous:
        return None
    path = kb.path / f"kb-{previous}.sqlite"
    if path.exists():
        return path
    others = sorted(p for p in kb.path.glob("kb-*.sqlite") if p != current)
    if others:
        log.warning(
            "version %s is gone: digests compare against %s (changes in between are merged)", previous, others[-1].name
        )
        return others[-1]
    return None


def process_refresh(kb: KnowledgeBase, state: State) -> int | None:
    """Turn the current version's changes into digests; returns how many were queued, or None when this
    version was processed already (by this or another process)."""
    current = kb.store.current()
    if current is None:
        return None
    version = _version_of(current)
    if state.processed(version):
        return None
    previous = state.last_version()
    baseline = _baseline(kb, previous, current)
    changes: list[dict[str, Any]] = []
    if baseline is not None:
        reader = Reader(current)
        try:
            changes = reader.changes_since(baseline)
        finally:
            reader.close()
    digests = []
    for sub in state.subscriptions(active=True):
        digest = digest_for(sub, changes, version)
        if digest is not None:
            digests.append((digest.id, sub.id, digest.to_dict()))
    if not state.record_refresh(version, previous, changes, digests):
        return None
    # A version that changes nothing anyone follows is not news (nor the first build's line after the banner).
    level = logging.INFO if changes or digests else logging.DEBUG
    log.log(level, "version %s: %d change(s), %d digest(s) queued", version, len(changes), len(digests))
    return len(digests)
