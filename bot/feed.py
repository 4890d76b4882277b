"""`GET /feed.xml`: the changes of the latest refreshes as an Atom feed, one entry per change with its source link.

`?roadmap=<id>` keeps one roadmap's changes; `?lang=en` words the entries in English (French by default).
Entries come from the state database, written when a refresh is processed into digests, so the feed and
the digests always tell the same story.
"""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from knowledge import KnowledgeBase
from knowledge.phrases import say

from .digests import SECTIONS, line_for
from .state import State

__all__ = ["add_routes", "render"]

ATOM = "http://www.w3.org/2005/Atom"
CONTENT_TYPE = "application/atom+xml; charset=utf-8"
# Entries in one feed: a feed reader keeps what it has seen, so the latest changes are enough.
MAX_ENTRIES = 100
_HEADING = {(change, kind): heading for change, kind, heading in SECTIONS}
_STATE = web.AppKey("govbot.feed_state", list)


def _utc(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if iso else ""


def render(changes: list[dict[str, Any]], self_url: str, lang: str, roadmap: str = "") -> bytes:
    """The Atom document for `changes` (newest first, as `State.recent_changes` gives them)."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed", {"xml:lang": lang})

    def child(parent: ET.Element, tag: str, text: str = "", **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text:
            element.text = text
        return element

    title = "govbot" + (f" — {roadmap}" if roadmap else "")
    child(feed, "title", title)
    child(feed, "id", f"tag:govbot,2026:feed/{roadmap or 'all'}/{lang}")
    child(feed, "updated", _utc(changes[0]["at"]) if changes else datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    child(feed, "link", rel="self", href=self_url)
    child(child(feed, "author"), "name", "govbot")
    for change in changes:
        entry = child(feed, "entry")
        line = line_for(change, lang)
        child(entry, "title", line.text.removeprefix("• "))
        child(
            entry, "id", f"tag:govbot,2026:change/{change['version']}/{change['kind']}/{change['id']}/{change['row']}"
        )
        child(entry, "updated", _utc(change["at"]))
        if line.url:
            child(entry, "link", href=line.url)
        child(entry, "category", term=change["kind"], label=say(_HEADING[(change["change"], change["kind"])], lang))
        child(entry, "summary", line.text.removeprefix("• "))
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def add_routes(app: web.Application, kb: KnowledgeBase) -> None:
    """Mount `/feed.xml` over the state database beside `kb` (opened at the first request)."""
    app[_STATE] = []

    async def feed(request: web.Request) -> web.Response:
        roadmap = request.query.get("roadmap", "")[:200]
        lang = "en" if request.query.get("lang") == "en" else "fr"
        if not app[_STATE]:
            app[_STATE].append(await asyncio.to_thread(State, kb.path))
        state: State = app[_STATE][0]
        changes = await asyncio.to_thread(state.recent_changes, roadmap or None, MAX_ENTRIES)
        body = render(changes, str(request.url), lang, roadmap)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE, "Cache-Control": "max-age=300"})

    app.router.add_get("/feed.xml", feed)
