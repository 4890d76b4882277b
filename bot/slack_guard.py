"""The door in front of bolt for POST /slack/events: authenticity, shape and replays, on the raw bytes.

Stock bolt parses the body before checking the signature and turns malformed headers or bodies into
500s, and it runs a replayed signed request again and again (both measured on slack-bolt 1.30). This guard
answers 401 for anything not signed by Slack in the last five minutes, 400 for a signed body bolt
could not read, and 200 without running anything for a replay, so only checked requests reach bolt.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from .conversation import Conversation

__all__ = ["check_signature", "events_handler", "WINDOW"]

log = logging.getLogger("govbot.slack.guard")

WINDOW = 300  # seconds either side of now, as Slack documents
_TIMESTAMP = re.compile(r"[0-9]{1,11}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


def check_signature(secret: bytes, timestamp: str, signature: str, body: bytes, now: float) -> str | None:
    """Why the request is not Slack's (a short reason for debug logs), or None when it is.

    Header shapes are checked before any arithmetic, so no header value can raise.
    """
    if not _TIMESTAMP.fullmatch(timestamp):
        return "malformed or missing timestamp"
    if not _SIGNATURE.fullmatch(signature):
        return "malformed or missing signature"
    if abs(now - int(timestamp)) > WINDOW:
        return "stale timestamp"
    expected = "v0=" + hmac.new(secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        return "bad signature"
    return None


def _reject(status: int, reason: str) -> web.Response:
    # The reason goes to debug logs only; the body of a rejected request is never logged.
    log.debug("slack request rejected (%s): %s", status, reason)
    return web.json_response({"error": "invalid request"}, status=status)


def events_handler(
    bolt: AsyncApp, conv: Conversation, signing_secret: str
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The aiohttp handler for /slack/events: guard first, then bolt."""
    secret = signing_secret.encode()

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()  # aiohttp's client_max_size (1 MiB) answers 413 above that
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        if reason := check_signature(secret, timestamp, signature, body, time.time()):
            return _reject(401, reason)
        try:
            text = body.decode("utf-8")
            bolt_request = AsyncBoltRequest(body=text, query=request.query_string, headers=request.headers)  # type: ignore[arg-type]
        except (ValueError, TypeError, AttributeError, KeyError) as exc:  # signed, yet not a body bolt can read
            return _reject(400, type(exc).__name__)
        if not isinstance(bolt_request.body, dict):
            return _reject(400, "body is not an object")
        # The same timestamp and signature twice is a replay (or a duplicate): acknowledged, never run again.
        # On the loop (a small local write): in a worker thread the ack would queue behind answers.
        if not conv.first_time(f"slack:request:{timestamp}:{signature}"):
            log.info("slack request replayed: acknowledged, not run")
            return web.Response(status=200)
        return await to_aiohttp_response(await bolt.async_dispatch(bolt_request))

    return handle
