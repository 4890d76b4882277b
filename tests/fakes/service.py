"""The `govbot serve` app under test: started with a start-up build, and awaited until it is ready."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.conversation import Conversation
from bot.server import build_on_start, create_app


async def wait_ready(client: TestClient, attempts: int = 200) -> None:
    """Poll /readyz until the start-up build has finished (10 s at most)."""
    for _ in range(attempts):
        if (await client.get("/readyz")).status == 200:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the service never became ready")


async def started(
    aiohttp_client: Callable[..., Awaitable[TestClient]], conv: Conversation, build: Callable[[], Any]
) -> TestClient:
    """A client of the service that builds its knowledge with `build` at start-up, as `govbot serve` does."""
    app = create_app(conv)
    app.cleanup_ctx.append(build_on_start(build))
    return await aiohttp_client(app)


async def serve_folder(aiohttp_server: Callable[..., Awaitable[Any]], folder: Any) -> str:
    """Serve a folder over HTTP on loopback (chat refreshes take URLs only); returns its base URL."""
    app = web.Application()
    app.router.add_static("/", folder)
    server = await aiohttp_server(app)
    return str(server.make_url("")).rstrip("/")
