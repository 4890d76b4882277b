"""A fake Bot Connector on loopback: the Teams service a bot posts its replies to (the activity's serviceUrl).

It records every request, so tests assert on what would have reached Teams, and can play an outage.
`TeamsRig` posts Teams-shaped activities to the real `/api/messages` of a real aiohttp server.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

BOT_ID = "28:govbot-bot-id"
BOT_NAME = "govbot"
USER_ID = "29:alice-teams-id"
USER_AAD = "00000000-0000-0000-0000-00000000a11c"
ADMIN_AAD = "00000000-0000-0000-0000-0000000ad111"
TENANT = "00000000-0000-0000-0000-0000000000te"
TEAM_ID = "19:team-general@thread.tacv2"
CHANNEL_ID = "19:channel-projects@thread.tacv2"


@dataclass
class Posted:
    """One request the bot made to the connector."""

    method: str
    path: str
    conversation_id: str
    reply_to: str | None
    authorization: str | None
    activity: dict[str, Any]

    @property
    def text(self) -> str:
        return self.activity.get("text") or ""

    @property
    def card(self) -> dict[str, Any] | None:
        for attachment in self.activity.get("attachments") or []:
            if attachment.get("contentType") == "application/vnd.microsoft.card.adaptive":
                return attachment["content"]
        return None


class FakeBotConnector:
    """Answers like the Bot Connector (`{"id": ...}`) and records every request; `outage` answers 503."""

    def __init__(self) -> None:
        self.posted: list[Posted] = []
        self.outage = False
        self.service_url = ""  # set by whoever starts the server
        self._ids = itertools.count(1)
        self._arrived = asyncio.Condition()
        self.app = web.Application()
        self.app.router.add_route("*", "/{tail:.*}", self._handle)

    async def _handle(self, request: web.Request) -> web.Response:
        parts = request.path.split("/")  # /v3/conversations/{id}/activities[/{reply_to}]
        body = await request.json() if request.can_read_body else {}
        posted = Posted(
            method=request.method,
            path=request.path,
            conversation_id=parts[3] if len(parts) > 3 else "",
            reply_to=parts[5] if len(parts) > 5 and parts[4] == "activities" else None,
            authorization=request.headers.get("Authorization"),
            activity=body if isinstance(body, dict) else {},
        )
        async with self._arrived:
            self.posted.append(posted)
            self._arrived.notify_all()
        if self.outage:
            return web.json_response({"error": {"code": "ServiceUnavailable"}}, status=503)
        return web.json_response({"id": f"reply-{next(self._ids)}"}, status=201)

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Posted]:
        """The first `count` requests, waiting for them to arrive (proactive messages come later)."""
        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(lambda: len(self.posted) >= count), timeout)
        return self.posted[:count]


class TeamsRig:
    """Builds Teams-shaped activities and posts them to the bot's `/api/messages`."""

    def __init__(self, client: TestClient, connector: FakeBotConnector, service_url: str):
        self.client = client
        self.connector = connector
        self.service_url = service_url
        self._ids = itertools.count(1000)

    def activity(self, kind: str = "message", **fields: Any) -> dict[str, Any]:
        """A personal-chat activity from Alice; `fields` override or add to it."""
        activity: dict[str, Any] = {
            "type": kind,
            "id": f"act-{next(self._ids)}",
            "timestamp": "2025-01-15T09:30:00.000Z",
            "channelId": "msteams",
            "serviceUrl": self.service_url,
            "from": {"id": USER_ID, "name": "Alice Martin", "aadObjectId": USER_AAD},
            "recipient": {"id": BOT_ID, "name": BOT_NAME},
            "conversation": {"id": "a:personal-chat-alice", "conversationType": "personal", "tenantId": TENANT},
            "channelData": {"tenant": {"id": TENANT}},
            "locale": "fr-FR",
        }
        activity.update(fields)
        return activity

    def personal(self, text: str, **fields: Any) -> dict[str, Any]:
        return self.activity(text=text, textFormat="plain", **fields)

    def channel(self, text: str, thread: str = "1736933400000", **fields: Any) -> dict[str, Any]:
        """A channel post that @mentions the bot, inside the reply chain of message `thread`."""
        mention = f"<at>{BOT_NAME}</at>"
        return self.activity(
            text=f"{mention} {text}",
            textFormat="plain",
            conversation={
                "id": f"{CHANNEL_ID};messageid={thread}",
                "conversationType": "channel",
                "isGroup": True,
                "tenantId": TENANT,
            },
            entities=[
                {"type": "mention", "mentioned": {"id": BOT_ID, "name": BOT_NAME}, "text": mention},
                {"type": "clientInfo", "locale": "fr-FR", "country": "FR", "platform": "Web"},
            ],
            channelData={
                "teamsChannelId": CHANNEL_ID,
                "teamsTeamId": TEAM_ID,
                "channel": {"id": CHANNEL_ID},
                "team": {"id": TEAM_ID},
                "tenant": {"id": TENANT},
            },
            **fields,
        )

    def submit(self, value: dict[str, Any], **fields: Any) -> dict[str, Any]:
        """What Teams sends when a card's Action.Submit is clicked: a message with the button's data."""
        return self.activity(value=value, **fields)

    async def post(self, activity: dict[str, Any], headers: dict[str, str] | None = None) -> int:
        response = await self.client.post("/api/messages", json=activity, headers=headers or {})
        await response.read()
        return response.status
