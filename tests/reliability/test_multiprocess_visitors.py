"""New web visitor ids are rationed for the whole service, not per process (`govbot serve --workers N`).

Two applications over one knowledge directory stand for two listening processes: each has its own
Conversation and Visitors, and they share only what is on disk.
"""

from __future__ import annotations

from typing import Any

from bot.conversation import Conversation
from bot.server import create_app
from bot.visitors import ISSUE_PER_ADDRESS
from bot.web import COOKIE
from knowledge import KnowledgeBase


async def test_new_ids_per_address_are_counted_across_processes(kb: KnowledgeBase, aiohttp_client: Any) -> None:
    first = await aiohttp_client(create_app(Conversation(kb)))
    second = await aiohttp_client(create_app(Conversation(kb)))
    issued = 0
    for n in range(2 * ISSUE_PER_ADDRESS):  # page loads without a cookie, through both processes in turn
        client = first if n % 2 else second
        client.session.cookie_jar.clear()
        response = await client.get("/")
        issued += COOKIE in response.cookies and bool(response.cookies[COOKIE].value)
    assert issued == ISSUE_PER_ADDRESS, "the address's quota is one, whichever process it reaches"
