"""A fake Slack on loopback: the Web API, response_url endpoints and the Socket Mode websocket.

It records what govbot sends, so tests assert on what would have reached Slack. `SlackRig` mounts the
real bolt app (through `bot.slack.mount`, configured from the environment) on a real aiohttp server
and signs requests the way Slack does.

"Nothing more arrives" is never checked by waiting for quiet: `SlackRig.barrier()` sends a later direct
message and waits for its answer, so whatever govbot would have sent about the earlier requests has been
sent by then. Barrier traffic is kept out of `of()`, `attempts()` and `posted()`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import urllib.parse
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from slack_sdk.signature import SignatureVerifier

from bot.conversation import Conversation
from bot.slack import mount
from knowledge import KnowledgeBase

BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"
SECRET = "test-signing-secret"
BOT_USER = "UGOVBOT"
BOT_ID = "BGOVBOT"
ADMIN = "UADMIN"
USER = "UALICE"
BARRIER_USER = "UBARRIER"
BARRIER_CHANNEL = "DBARRIER"


@dataclass
class Call:
    method: str  # a Web API method ("chat.postMessage"), or "respond" for a response_url post
    data: dict[str, Any]
    status: int
    at: float
    seq: int  # the call's place among every call the fake received
    path: str = ""
    token: str = ""

    @property
    def barrier(self) -> bool:
        return self.data.get("channel") == BARRIER_CHANNEL


@dataclass
class _Scripted:
    status: int
    headers: dict[str, str]
    body: dict[str, Any]


class FakeSlack:
    """Answers like Slack and records every call; `fail()` scripts errors for the next calls."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.scripted: dict[str, list[_Scripted]] = defaultdict(list)
        self.envelopes: list[dict[str, Any]] = []  # sent to each Socket Mode connection
        self.acks: list[dict[str, Any]] = []  # what the Socket Mode client sent back
        self.server: TestServer | None = None
        self._ts = 0

    async def start(self, aiohttp_server: Any, port: int | None = None) -> None:
        """Serve on an ephemeral port (or `port` again, after `stop()`); the fixture closes it at the end."""
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_post("/respond/{key}", self._respond)
        app.router.add_get("/socket", self._socket)
        self.server = await aiohttp_server(app, port=port)

    async def stop(self) -> None:
        """Slack unreachable: the port is closed until `start()` again."""
        assert self.server is not None
        await self.server.close()

    @property
    def base(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.port}"

    @property
    def api_url(self) -> str:
        return self.base + "/api"  # no trailing slash on purpose: govbot must add it

    def response_url(self, key: str) -> str:
        return f"{self.base}/respond/{key}"

    def fail(self, method: str, status: int, *, times: int = 1, headers: dict[str, str] | None = None) -> None:
        error = "ratelimited" if status == 429 else "internal_error"
        for _ in range(times):
            self.scripted[method].append(_Scripted(status, headers or {}, {"ok": False, "error": error}))

    def of(self, method: str) -> list[dict[str, Any]]:
        """What Slack accepted for `method` (scripted failures and barriers left out)."""
        return [c.data for c in self.calls if c.method == method and c.status == 200 and not c.barrier]

    def attempts(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and not c.barrier]

    def posted(self) -> list[Call]:
        """Every accepted call that would show something to someone (barriers left out)."""
        return [
            c
            for c in self.calls
            if c.status == 200 and c.method not in ("auth.test", "apps.connections.open") and not c.barrier
        ]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.of(method)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} {method}, got {self.of(method)}")
            await asyncio.sleep(0.01)
        return self.of(method)

    async def wait_for_barrier(self, after: int, timeout: float = 10.0) -> Call:
        """The answer to a barrier message, received after call number `after`."""
        deadline = time.monotonic() + timeout
        while True:
            for call in self.calls[after:]:
                if call.barrier and call.method == "chat.postMessage" and call.status == 200:
                    return call
            if time.monotonic() > deadline:
                raise AssertionError("the barrier message was never answered")
            await asyncio.sleep(0.01)

    def _next_ts(self) -> str:
        self._ts += 1
        return f"1700000000.{self._ts:06d}"

    async def _read(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return await request.json()
        return dict(await request.post())

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        data = await self._read(request)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        status = self.scripted[method][0].status if self.scripted[method] else 200
        self.calls.append(Call(method, data, status, time.monotonic(), len(self.calls), request.path, token))
        if self.scripted[method]:
            scripted = self.scripted[method].pop(0)
            return web.json_response(scripted.body, status=scripted.status, headers=scripted.headers)
        return web.json_response(self._answer(method, data))

    def _answer(self, method: str, data: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "team_id": "T1",
                "team": "Test",
                "user": "govbot",
                "user_id": BOT_USER,
                "bot_id": BOT_ID,
            }
        if method == "apps.connections.open":
            return {"ok": True, "url": self.base.replace("http://", "ws://") + "/socket"}
        if method == "chat.postMessage":
            ts = self._next_ts()
            return {"ok": True, "channel": data.get("channel"), "ts": ts, "message": {"ts": ts}}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._next_ts()}
        return {"ok": True}

    async def _respond(self, request: web.Request) -> web.Response:
        data = await request.json()
        data["_key"] = request.match_info["key"]
        self.calls.append(Call("respond", data, 200, time.monotonic(), len(self.calls), request.path))
        return web.Response(text="ok")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"type": "hello", "num_connections": 1})
        for envelope in self.envelopes:
            await ws.send_json(envelope)
        async for message in ws:
            if message.type == web.WSMsgType.TEXT:
                self.acks.append(json.loads(message.data))
        return ws


def sign(body: bytes | str, timestamp: int | str | None = None, secret: str = SECRET) -> dict[str, str]:
    """Slack's signature headers for `body` (SignatureVerifier; by hand for bodies that are not UTF-8)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
            return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + digest}
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature or ""}


def event_body(event: dict[str, Any], event_id: str) -> str:
    return json.dumps(
        {
            "token": "legacy",
            "team_id": "T1",
            "api_app_id": "A1",
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [{"team_id": "T1", "user_id": BOT_USER, "is_bot": True}],
            "event": event,
        }
    )


def barrier_dm(ts: str) -> dict[str, Any]:
    """A direct message whose answer proves govbot is done with what came before (help: logs no question)."""
    return dm("aide", user=BARRIER_USER, ts=ts, channel=BARRIER_CHANNEL)


def mention(text: str, *, user: str = USER, ts: str = "1700000100.000200", channel: str = "C1") -> dict[str, Any]:
    return {"type": "app_mention", "user": user, "text": f"<@{BOT_USER}> {text}", "ts": ts, "channel": channel}


def dm(text: str, *, user: str = USER, ts: str = "1700000200.000300", **extra: Any) -> dict[str, Any]:
    event = {"type": "message", "channel_type": "im", "channel": "D1", "user": user, "text": text, "ts": ts}
    event.update(extra)
    return event


@dataclass
class SlackRig:
    """govbot's Slack route on a real server, the fake Slack it talks to, and signed requests."""

    fake: FakeSlack
    client: TestClient
    conv: Conversation
    counter: list[int] = field(default_factory=lambda: [0])

    def _id(self, prefix: str) -> str:
        self.counter[0] += 1
        return f"{prefix}{self.counter[0]}"

    async def barrier(self) -> Call:
        """Send a later message and wait for its answer: govbot has then finished with every earlier request."""
        sent = len(self.fake.calls)
        assert await self.event(barrier_dm(f"1700000900.{self.counter[0]:06d}")) == 200
        return await self.fake.wait_for_barrier(sent)

    async def post(
        self,
        body: bytes | str,
        *,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        signed: bool = True,
        timestamp: int | None = None,
    ) -> int:
        sent = {"Content-Type": content_type, **(sign(body, timestamp) if signed else {}), **(headers or {})}
        async with self.client.post("/slack/events", data=body, headers=sent) as response:
            await response.read()
            return response.status

    async def event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry: int | None = None,
        timestamp: int | None = None,
    ) -> int:
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else {}
        return await self.post(event_body(event, event_id or self._id("Ev")), headers=headers, timestamp=timestamp)

    def command_body(self, text: str, user: str = USER) -> str:
        return urllib.parse.urlencode(
            {
                "command": "/govbot",
                "text": text,
                "user_id": user,
                "user_name": user.lower(),
                "team_id": "T1",
                "channel_id": "C1",
                "response_url": self.fake.response_url(self._id("cmd")),
                "trigger_id": self._id("trigger"),
                "api_app_id": "A1",
            }
        )

    async def command(self, text: str, user: str = USER) -> int:
        return await self.post(self.command_body(text, user), content_type="application/x-www-form-urlencoded")

    async def click(self, action: dict[str, Any], *, user: str = USER, ephemeral: bool = False) -> int:
        """A block_actions payload for a button the bot rendered (`action` is the button's element)."""
        payload = {
            "type": "block_actions",
            "team": {"id": "T1"},
            "user": {"id": user},
            "api_app_id": "A1",
            "container": {
                "type": "message",
                "channel_id": "C1",
                "is_ephemeral": ephemeral,
                **({} if ephemeral else {"message_ts": "1700000200.000100"}),  # the message holding the button
            },
            "channel": {"id": "C1"},
            "trigger_id": self._id("trigger"),
            "response_url": self.fake.response_url(self._id("act")),
            "actions": [{**action, "block_id": "b1", "action_ts": "1700000300.000001"}],
        }
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        return await self.post(body, content_type="application/x-www-form-urlencoded")


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Every button in a posted message's blocks."""
    return [e for b in message.get("blocks", []) if b["type"] == "actions" for e in b["elements"]]


def button(message: dict[str, Any], action_prefix: str) -> dict[str, Any]:
    found = [b for b in buttons(message) if b["action_id"].startswith(action_prefix)]
    assert found, f"no {action_prefix} button in {message}"
    return found[0]


def blocks_text(message: dict[str, Any]) -> str:
    """All the text of a message's blocks, as Slack would receive it (mrkdwn, escaped)."""
    return json.dumps(message.get("blocks", []), ensure_ascii=False)


async def start_rig(
    kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch, aiohttp_server: Any, aiohttp_client: Any
) -> SlackRig:
    """Start the fake Slack, configure govbot from the environment as production does, and mount it."""
    fake = FakeSlack()
    await fake.start(aiohttp_server)
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    monkeypatch.setenv("GOVBOT_SLACK_API_URL", fake.api_url)
    monkeypatch.setenv("GOVBOT_ADMINS", f"{ADMIN}, UOTHERADMIN")
    conv = Conversation(kb)
    app = web.Application()
    assert mount(app, conv)
    client = await aiohttp_client(app)
    return SlackRig(fake, client, conv)
