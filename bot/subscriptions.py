"""Subscription commands and scopes: `abonner axe 1`, `unsubscribe`, `abonnements`, and what each scope follows.

Platform-neutral: a front end hands over the message text and a `Where` (platform, channel, who, whether
it can post there unprompted); it gets back the reply text. Scopes are resolved against the knowledge
when subscribing, so a digest only compares ids.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from knowledge import KnowledgeBase
from knowledge.phrases import say
from knowledge.store import Reader
from knowledge.text import fold

from .state import State, Subscription

__all__ = ["Command", "Where", "parse", "resolve", "handle", "reply_to", "in_scope", "scope_text", "SCOPE_KINDS"]

# Every scope a channel can follow: the phrase that names it, and the changes it lets through.
SCOPE_KINDS: dict[str, str] = {
    "all": "scope_all",
    "decisions": "scope_decisions",
    "roadmap": "scope_roadmap",
    "axis": "scope_axis",
    "objective": "scope_objective",
    "owner": "scope_owner",
    "admin": "scope_admin",
}
# Command words (folded) -> (action, language of the reply).
_ACTIONS: dict[str, tuple[str, str]] = {
    "abonner": ("subscribe", "fr"),
    "s'abonner": ("subscribe", "fr"),
    "sabonner": ("subscribe", "fr"),
    "abonne": ("subscribe", "fr"),
    "subscribe": ("subscribe", "en"),
    "desabonner": ("unsubscribe", "fr"),
    "se desabonner": ("unsubscribe", "fr"),
    "desabonne": ("unsubscribe", "fr"),
    "unsubscribe": ("unsubscribe", "en"),
    "abonnements": ("list", "fr"),
    "mes abonnements": ("list", "fr"),
    "subscriptions": ("list", "en"),
    "my subscriptions": ("list", "en"),
}
_COMMAND = re.compile(r"^\s*(" + "|".join(sorted(map(re.escape, _ACTIONS), key=len, reverse=True)) + r")\b\s*(.*)$")
# Scope words (folded) that need no record; then prefixes naming the kind of record that follows.
_PLAIN = {
    "": "all",
    "tout": "all",
    "toutes les nouveautes": "all",
    "everything": "all",
    "all": "all",
    "decisions": "decisions",
    "les decisions": "decisions",
    "decisions only": "decisions",
    "decisions seulement": "decisions",
    "admin": "admin",
    "admins": "admin",
    "administration": "admin",
}
_PREFIXES = (
    ("tout ce que porte ", "owner"),
    ("ce que porte ", "owner"),
    ("everything owned by ", "owner"),
    ("owned by ", "owner"),
    ("porteur ", "owner"),
    ("owner ", "owner"),
    ("feuille de route ", "roadmap"),
    ("roadmap ", "roadmap"),
    ("objectif ", "objective"),
    ("objective ", "objective"),
    ("axe ", "axis"),
    ("axis ", "axis"),
)
# A record found by name becomes the scope of its kind.
_KIND_SCOPE = {"actors": "owner", "axes": "axis", "objectives": "objective"}
_TABLE = {"owner": "actors", "axis": "axes", "objective": "objectives"}
_ARTICLES = re.compile(r"^(?:l'|le |la |les |the |de |du |d')")


@dataclass(frozen=True)
class Command:
    action: str  # subscribe | unsubscribe | list
    scope: str  # the scope as typed ('' for none)
    lang: str


@dataclass(frozen=True)
class Where:
    """Where a command was typed. `can_post`: the platform can post there later unprompted (Teams needs an app
    id); `conversation` is what it needs to (a Teams conversation reference)."""

    platform: str
    channel: str
    user: str
    direct: bool
    admin: bool
    can_post: bool = True
    conversation: Mapping[str, Any] = field(default_factory=dict)


def parse(text: str) -> Command | None:
    """The subscription command a whole message is, or None: « abonner axe 1 », « unsubscribe », « abonnements »."""
    match = _COMMAND.match(fold(text).rstrip(" ?!."))
    if not match:
        return None
    action, lang = _ACTIONS[match.group(1)]
    scope = match.group(2).strip()
    if action == "list" and scope:
        return None  # « abonnements de l'ANS » is a question
    # Keep what was typed (accents, case) for messages: drop as many leading words as the command had.
    words = text.split()
    typed = " ".join(words[len(match.group(1).split()) :]).strip(" ?!.")
    return Command(action, typed if scope else "", lang)


def _roadmaps(reader: Reader) -> list[dict[str, Any]]:
    try:
        return reader.records("roadmaps", limit=1000)
    except sqlite3.Error:  # knowledge built before roadmaps existed
        return []


def resolve(scope: str, reader: Reader) -> tuple[str, str, str] | None:
    """`(kind, value, label)` for the scope text, or None when the knowledge has no such thing."""
    folded = fold(scope).strip()
    if folded in _PLAIN:
        return _PLAIN[folded], "", ""
    kind, rest = "", folded
    for prefix, named in _PREFIXES:
        if folded.startswith(prefix):
            kind, rest = named, folded[len(prefix) :].strip()
            break
    rest = _ARTICLES.sub("", rest).strip()
    if not rest:
        return None
    if kind == "roadmap":
        for card in _roadmaps(reader):
            if rest in (fold(card.get("id") or ""), fold(card.get("title") or "")) or rest in fold(
                card.get("title") or ""
            ):
                return "roadmap", card["id"], card.get("title") or card["id"]
        return None
    if kind in _TABLE and (record := reader.record(_TABLE[kind], rest.upper()) or reader.record(_TABLE[kind], rest)):
        return kind, record["id"], _label(kind, record)
    candidates = [rest, f"axe {rest}"] if kind == "axis" else [rest]
    for hit in reader.names(candidates):
        if _KIND_SCOPE.get(hit["kind"]) and kind in ("", _KIND_SCOPE[hit["kind"]]):
            record = reader.record(hit["kind"], hit["id"])
            if record:
                return _KIND_SCOPE[hit["kind"]], record["id"], _label(_KIND_SCOPE[hit["kind"]], record)
    return None


def _label(kind: str, record: dict[str, Any]) -> str:
    if kind == "owner":
        return record.get("name") or record["id"]
    return record["id"]


def scope_text(kind: str, label: str, lang: str) -> str:
    return say(SCOPE_KINDS[kind], lang, label=label)


def may_subscribe(where: Where, kind: str, environ: Mapping[str, str] = os.environ) -> bool:
    """GOVBOT_SUBSCRIBE=everyone|admins; unset: everyone in a direct conversation, admins in a channel. The
    admins' own scope (failed refreshes, paused channels) is always for admins only."""
    if where.admin:
        return True
    if kind == "admin":
        return False
    setting = environ.get("GOVBOT_SUBSCRIBE", "").strip().lower()
    if setting in ("everyone", "admins"):
        return setting == "everyone"
    return where.direct


def handle(command: Command, where: Where, state: State, reader: Reader | None) -> str:
    """Run a subscription command; the reply in the command's language (one line for every refusal)."""
    lang = command.lang
    if command.action == "list":
        subs = state.subscriptions(where.platform, where.channel)
        if not subs:
            return say("subscriptions_none", lang)
        lines = [say("subscriptions_head", lang)]
        for sub in subs:
            paused = say("subscription_paused", lang) if sub.paused else ""
            lines.append(
                say("subscription_line", lang, scope=scope_text(sub.scope_kind, sub.scope_label, lang), paused=paused)
            )
        return "\n".join(lines)
    if command.action == "unsubscribe" and not command.scope:
        if not may_subscribe(where, "all"):
            return say("subscribe_admins_only", lang)
        return say("unsubscribed_all", lang, count=state.unsubscribe(where.platform, where.channel, None))
    found = resolve(command.scope, reader) if reader is not None else None
    if found is None:
        return say("subscribe_unknown", lang, what=command.scope)
    kind, value, label = found
    if not may_subscribe(where, kind):
        return say("subscribe_admins_only", lang)
    scope = scope_text(kind, label, lang)
    if command.action == "unsubscribe":
        if state.unsubscribe(where.platform, where.channel, kind, value):
            return say("unsubscribed", lang, scope=scope)
        return say("unsubscribe_none", lang, scope=scope)
    if not where.can_post:
        return say("subscribe_teams_no_app", lang)
    wanted = Subscription(
        0, where.platform, where.channel, kind, value, label, lang, False, where.user, dict(where.conversation)
    )
    _, new = state.subscribe(wanted)
    return say("subscribed" if new else "subscribed_already", lang, scope=scope)


def reply_to(text: str, where: Where, state: State, kb: KnowledgeBase) -> tuple[str, str] | None:
    """The one call a conversation turn makes: `(language, reply)` when `text` is a subscription command,
    else None (then it is a question or another command)."""
    command = parse(text)
    if command is None:
        return None
    current = kb.store.current()
    reader = Reader(current) if current is not None else None
    try:
        return command.lang, handle(command, where, state, reader)
    finally:
        if reader is not None:
            reader.close()


def in_scope(sub: Subscription, change: Mapping[str, Any]) -> bool:
    """Whether a change (from `Reader.changes_since`) belongs in this subscription's digest."""
    kind, value = sub.scope_kind, sub.scope_value
    if kind == "all":
        return True
    if kind == "decisions":
        return change["kind"] in ("decisions", "councils")
    if kind == "roadmap":
        return change.get("roadmap") == value
    if kind == "axis":
        return value in change.get("axes", ())
    if kind == "objective":
        return value in change.get("objectives", ())
    if kind == "owner":
        return value in change.get("owners", ())
    return False
