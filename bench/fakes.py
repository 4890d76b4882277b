"""Loopback stand-ins for Slack's Web API and Teams' Bot Connector, noting when each answer arrives.

The load benchmark points the server at this (GOVBOT_SLACK_API_URL, the activity's serviceUrl), so answers
posted after Slack's ack, or replies sent during a Teams turn, can be counted and timed.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from aiohttp import web

__all__ = ["FakePlatforms", "BOT_USER"]

BOT_USER = "U0GOVBOT"
_AUTH_TEST = {
    "ok": True,
    "url": "https://bench.example.org/",
    "team": "bench",
    "user": "govbot",
    "team_id": "T0BENCH",
    "user_id": BOT_USER,
    "bot_id": "B0GOVBOT",
    "is_enterprise_install": False,
}


class FakePlatforms:
    """One aiohttp server: POST /api/<method> (Slack) and POST /v3/conversations/... (Bot Connector)."""

    def __init__(self) -> None:
        self.slack_answers: dict[str, float] = {}  # thread_ts of the question -> arrival time (perf_counter)
        self.teams_answers: dict[str, float] = {}  # id of the activity replied to -> arrival time
        self.slack_texts: dict[str, str] = {}  # thread_ts of the question -> text of its first answer
        self.teams_texts: dict[str, str] = {}  # id of the activity replied to -> text of its first reply
        self.calls: Counter[str] = Counter()
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._arrived = asyncio.Event()
        app = web.Application(client_max_size=4 * 1024**2)
        app.router.add_post("/api/{method}", self._slack)
        app.router.add_post("/v3/conversations/{conversation}/activities", self._teams)
        app.router.add_post("/v3/conversations/{conversation}/activities/{reply_to}", self._teams)
        self.app = app

    async def start(self) -> str:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _slack(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        self.calls[f"slack {method}"] += 1
        if method == "auth.test":
            return web.json_response(_AUTH_TEST)
        body = await request.json() if request.content_type == "application/json" else dict(await request.post())
        if method == "chat.postMessage" and body.get("thread_ts"):
            self.slack_answers.setdefault(str(body["thread_ts"]), time.perf_counter())
            self.slack_texts.setdefault(str(body["thread_ts"]), str(body.get("text", "")))
            self._arrived.set()
        return web.json_response({"ok": True, "channel": body.get("channel", ""), "ts": f"{time.time():.6f}"})

    async def _teams(self, request: web.Request) -> web.Response:
        self.calls["teams reply"] += 1
        body = await request.json()
        reply_to = request.match_info.get("reply_to") or (body or {}).get("replyToId")
        if reply_to:
            self.teams_answers.setdefault(str(reply_to), time.perf_counter())
            self.teams_texts.setdefault(str(reply_to), str((body or {}).get("text", "")))
            self._arrived.set()
        return web.json_response({"id": f"reply-{self.calls['teams reply']}"}, status=201)

    async def wait(self, received: dict[str, float], keys: set[str], timeout: float) -> None:
        """Until every key has arrived in `received`, or `timeout` seconds."""
        deadline = time.perf_counter() + timeout
        while not keys <= received.keys():
            left = deadline - time.perf_counter()
            if left <= 0:
                return
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), min(left, 0.5))
            except TimeoutError:
                continue
