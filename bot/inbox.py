"""`GET /api/digests`: a web visitor's digests, waiting since the refresh that made them (each shown once).

The web chat cannot be reached unprompted, so its sender keeps digests in the state database; the page asks
for them when it opens. Only a visitor id the server signed has an inbox (an address-keyed visitor has none).
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from knowledge import KnowledgeBase

from .digests import Digest
from .state import State
from .web import COOKIE, VISITORS

__all__ = ["add_routes"]

_STATE = web.AppKey("govbot.inbox_state", list)


def add_routes(app: web.Application, kb: KnowledgeBase) -> None:
    """Mount the inbox; the web chat must be mounted first (its visitor ids key the inboxes)."""
    app[_STATE] = []

    async def digests(request: web.Request) -> web.Response:
        visitor = request.app[VISITORS].identify(request, request.cookies.get(COOKIE, ""))
        if visitor.issued is None:
            return web.json_response({"digests": []}, headers={"Cache-Control": "no-store"})
        if not app[_STATE]:
            app[_STATE].append(await asyncio.to_thread(State, kb.path))
        waiting = await asyncio.to_thread(app[_STATE][0].take_inbox, visitor.user)
        shown = [{**d, "text": Digest.from_dict(d).to_text()} for d in waiting]
        return web.json_response({"digests": shown}, headers={"Cache-Control": "no-store"})

    app.router.add_get("/api/digests", digests)
