"""Each platform's `send(subscription, digest) -> Sent`, for the delivery loop, built from the environment.

Slack posts with `chat.postMessage` (its own Web API client, same token and base URL as the front end);
Teams continues the conversation whose reference was stored when the channel subscribed (an app id is
required: without one the Bot Connector takes no proactive message); Matrix sends through the running bot's
client; the web chat keeps each visitor's digests in the state database until the visitor's page fetches them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Mapping
from typing import Any

import aiohttp
from botbuilder.core import BotAdapter, TurnContext
from botbuilder.schema import Activity, ConversationReference
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from .delivery import Outcome, Sender, Sent
from .digest_render import matrix_content, slack_message, teams_activity
from .digests import Digest
from .state import State, Subscription

__all__ = [
    "slack_sender",
    "teams_sender",
    "matrix_sender",
    "web_sender",
    "senders_from_env",
    "SLACK_GONE",
    "TEAMS_GONE",
    "MATRIX_GONE",
]

log = logging.getLogger("govbot.senders")

# Slack errors that mean the channel will never take this bot's messages again (until someone acts).
SLACK_GONE = frozenset(
    {"channel_not_found", "not_in_channel", "is_archived", "channel_is_archived", "account_inactive", "team_not_found"}
)
# Matrix errors that mean the bot left, was kicked or banned, or the room is gone.
MATRIX_GONE = frozenset({"M_FORBIDDEN", "M_NOT_FOUND", "M_UNKNOWN_ROOM"})
# Bot Connector statuses that mean the bot was removed or the conversation no longer exists.
TEAMS_GONE = frozenset({403, 404})


def slack_sender(client: AsyncWebClient) -> Sender:
    async def send(sub: Subscription, digest: Digest) -> Sent:
        try:
            await client.chat_postMessage(channel=sub.channel, **slack_message(digest))
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "")
            if error in SLACK_GONE:
                return Sent(Outcome.GONE, error)
            if exc.response.status_code == 429:
                wait = exc.response.headers.get("Retry-After") or exc.response.headers.get("retry-after")
                return Sent(Outcome.RETRY, "429", float(wait) if str(wait or "").isdigit() else None)
            return Sent(Outcome.RETRY, error or f"HTTP {exc.response.status_code}")
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return Sent(Outcome.RETRY, type(exc).__name__)
        return Sent(Outcome.DELIVERED)

    return send


def _status(exc: BaseException) -> int | None:
    """The HTTP status behind a Bot Connector error (msrest and aiohttp errors carry it differently)."""
    response = getattr(exc, "response", None)
    for holder in (response, exc):
        for name in ("status_code", "status"):
            value = getattr(holder, name, None)
            if isinstance(value, int):
                return value
    return None


def teams_sender(adapter: BotAdapter, app_id: str) -> Sender:
    async def send(sub: Subscription, digest: Digest) -> Sent:
        reference = ConversationReference().deserialize(sub.conversation)

        async def post(turn_context: TurnContext) -> None:
            await turn_context.send_activity(Activity().deserialize(teams_activity(digest)))

        try:
            await adapter.continue_conversation(reference, post, app_id)
        except Exception as exc:  # the SDK raises msrest, aiohttp or plain errors depending on the layer
            status = _status(exc)
            if status in TEAMS_GONE:
                return Sent(Outcome.GONE, f"HTTP {status}")
            return Sent(Outcome.RETRY, f"HTTP {status}" if status else type(exc).__name__)
        return Sent(Outcome.DELIVERED)

    return send


def matrix_sender(client: Any) -> Sender:
    """Sends with a transaction id made from the digest id: the homeserver keeps one event per transaction id
    and device, so a digest sent again after a crash (the after-send window) is still one message."""
    from nio import RoomSendResponse

    async def send(sub: Subscription, digest: Digest) -> Sent:
        tx_id = "govbot-digest-" + re.sub(r"[^A-Za-z0-9._-]", "_", digest.id)[:180]
        try:
            response = await client.room_send(
                sub.channel, "m.room.message", matrix_content(digest), tx_id=tx_id, ignore_unverified_devices=True
            )
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return Sent(Outcome.RETRY, type(exc).__name__)
        except Exception as exc:  # not logged in yet, no keys for an encrypted room yet...
            return Sent(Outcome.RETRY, type(exc).__name__)
        if isinstance(response, RoomSendResponse):
            return Sent(Outcome.DELIVERED)
        code = str(getattr(response, "status_code", "") or "")
        if code in MATRIX_GONE:
            return Sent(Outcome.GONE, code)
        wait = getattr(response, "retry_after_ms", None)
        return Sent(Outcome.RETRY, code or type(response).__name__, wait / 1000 if isinstance(wait, int) else None)

    return send


def web_sender(state: State) -> Sender:
    """The web chat cannot be reached unprompted: a digest waits in the visitor's inbox for their next visit."""

    async def send(sub: Subscription, digest: Digest) -> Sent:
        await asyncio.to_thread(state.to_inbox, sub.channel, digest.id, digest.to_dict())
        return Sent(Outcome.DELIVERED)

    return send


def senders_from_env(
    state: State, environ: Mapping[str, str] = os.environ, matrix_client: Any = None
) -> dict[str, Sender]:
    """The senders of every platform configured in the environment (the same settings as the front ends);
    Matrix's when the service runs the Matrix bot (`matrix_client`, its logged-in client)."""
    found: dict[str, Sender] = {"web": web_sender(state)}
    if matrix_client is not None:
        found["matrix"] = matrix_sender(matrix_client)
    if token := environ.get("SLACK_BOT_TOKEN", "").strip():
        from .slack import api_base_url

        found["slack"] = slack_sender(AsyncWebClient(token=token, base_url=api_base_url()))
    if environ.get("GOVBOT_TEAMS", "1") != "0" and (app_id := environ.get("MicrosoftAppId", "").strip()):
        from .teams import TeamsSettings, create_adapter

        found["teams"] = teams_sender(create_adapter(TeamsSettings.from_env()), app_id)
    return found
