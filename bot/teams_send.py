"""Teams replies posted after their turn (the answer workers' answers, the "busy" reply), one aiohttp request each.

The SDK's Bot Connector client sends through `requests` in a thread: about 3 ms of CPU a reply against
0.6 ms for one aiohttp request (docs/benchmarks.md), and an answer worker posts every Teams answer. The
request is the one the SDK makes (`POST {serviceUrl}/v3/conversations/{id}/activities/{replyToId}`, the
activity as the SDK serialises it), signed by the SDK's own credentials for that service URL (the kept
connector client's: MSAL, tokens cached), so it is authenticated the same way. No retry, like the SDK's.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import quote

import aiohttp
import requests
from botbuilder.core import TurnContext
from botbuilder.core.cloud_adapter_base import CloudAdapterBase
from botbuilder.schema import Activity, ConversationReference

__all__ = ["Replies", "ConnectorError", "SEND_TIMEOUT"]

SEND_TIMEOUT = 30.0  # seconds for one reply, like the Slack Web API's
# Seconds an Authorization header is reused before the credentials are asked again: asking costs a thread
# hop each time, and MSAL hands out a cached token until 5 minutes before it expires, so 2 are safe.
SIGNED_FOR = 120.0


class ConnectorError(Exception):
    """The Bot Connector refused a reply (its HTTP status is in the message)."""


class Replies:
    """Posts activities as replies in conversations, for the bot `app_id` ("" in the emulator mode)."""

    def __init__(self, adapter: CloudAdapterBase, app_id: str) -> None:
        self._adapter, self._app_id = adapter, app_id
        self._session: aiohttp.ClientSession | None = None
        self._signed: dict[int, tuple[float, str | None]] = {}  # id of the credentials -> (when, header)

    async def send(self, reference: ConversationReference, activity: Activity) -> None:
        """Post `activity` to `reference`'s conversation, as a reply to its activity when it names one."""
        identity = self._adapter.create_claims_identity(self._app_id)
        factory = self._adapter.bot_framework_authentication.create_connector_factory(identity)
        connector = await factory.create(reference.service_url, None)
        authorization = await self._authorization(connector.config.credentials)
        addressed = TurnContext.apply_conversation_reference(activity, reference)
        addressed.id = None
        addressed.input_hint = addressed.input_hint or "acceptingInput"  # as the SDK's turn sends it
        path = f"v3/conversations/{quote(reference.conversation.id, safe='')}/activities"
        if reference.activity_id:
            path += f"/{quote(reference.activity_id, safe='')}"
        headers = {"Authorization": authorization} if authorization else {}
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=SEND_TIMEOUT))
        url = f"{reference.service_url.rstrip('/')}/{path}"
        async with self._session.post(url, json=_wire(addressed), headers=headers) as response:
            await response.read()
            if response.status >= 400:
                raise ConnectorError(f"HTTP {response.status} from the Bot Connector")

    async def _authorization(self, credentials: Any) -> str | None:
        """The Authorization header the SDK's credentials give (none when the bot has no app id)."""
        signed = self._signed.get(id(credentials))
        if signed is None or time.monotonic() - signed[0] > SIGNED_FOR:
            # MSAL may have to fetch a new token over the network: never on the event loop.
            session = await asyncio.to_thread(credentials.signed_session, requests.Session())
            signed = self._signed[id(credentials)] = (time.monotonic(), session.headers.get("Authorization"))
        return signed[1]

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def _wire(activity: Activity) -> dict[str, Any]:
    """The activity as the SDK serialises it, but for its attachments' content (an Adaptive Card, already
    plain JSON), put in as it is: msrest would walk every node of the card for the same result."""
    attachments = activity.attachments or []
    contents = [attachment.content for attachment in attachments]
    for attachment in attachments:
        attachment.content = None
    try:
        body = activity.serialize()
    finally:
        for attachment, content in zip(attachments, contents, strict=True):
            attachment.content = content
    for item, content in zip(body.get("attachments", []), contents, strict=True):
        item["content"] = content
    return body
