"""The Slack front end: mentions, DMs, /govbot, buttons, App Home and admin commands (slack-bolt AsyncApp).

HTTP mode mounts POST /slack/events behind `slack_guard` (signatures checked on the raw bytes, replays
dropped); Socket Mode runs the same app over Slack's websocket. Slack wants an ack within 3 s, so every
answer is computed after the ack, the knowledge lookups in a worker thread (`Conversation.ask_async`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import re
import secrets
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from knowledge.phrases import say

from .cli import open_kb
from .conversation import Command, Conversation, parse_command, reply_language
from .render import knowledge_date, read_payload
from .server import configure_logging
from .slack_blocks import (
    ACTION_CHOICE,
    ACTION_FEEDBACK,
    ACTION_SHARE,
    answer_message,
    home_view,
    text_message,
)
from .slack_guard import events_handler

__all__ = ["EVENTS_PATH", "build_slack_app", "mount", "main", "socket_handler", "api_base_url"]

log = logging.getLogger("govbot.slack")

PLATFORM = "slack"
EVENTS_PATH = "/slack/events"
DEFAULT_API_URL = "https://slack.com/api/"
WEB_API_TIMEOUT = 30  # seconds for one Web API call, retries apart
BACKLOG_LIMIT = 32  # answers in progress before new deliveries wait a little for their ack
BACKLOG_WAIT = 1.5  # the longest that wait lasts: Slack wants its ack within 3 s
Message = dict[str, Any]


def api_base_url(url: str | None = None) -> str:
    """The Web API base URL (GOVBOT_SLACK_API_URL, else Slack's), always ending with "/".

    slack_sdk joins method names onto it, so "http://proxy/api" without the slash would lose "/api".
    """
    url = url or os.environ.get("GOVBOT_SLACK_API_URL") or DEFAULT_API_URL
    return url if url.endswith("/") else url + "/"


def _bolt_logger() -> logging.Logger:
    """bolt's loggers inherit this level: at INFO its request verification would log rejected bodies."""
    logger = logging.getLogger("govbot.slack.bolt")
    logger.setLevel(logging.WARNING)
    return logger


@dataclass
class Reply:
    """Where an answer goes: `post` sends an answer message, `note` a short text only the asker sees."""

    user: str
    post: Callable[[Message], Awaitable[Any]]
    note: Callable[[Message], Awaitable[Any]]
    ephemeral: bool = False


async def _deliver(sending: Awaitable[Any], what: str) -> bool:
    """Send to Slack; an outage is logged, never raised (the next question must still be answered)."""
    try:
        await sending
    except Exception as exc:  # slack_sdk errors, connection errors, timeouts: all the same to the user
        log.warning("slack %s not delivered: %s", what, type(exc).__name__)
        return False
    return True


async def _answered(conv: Conversation, question: str, answer: Callable[[], Any], **options: Any) -> Message:
    """The message for `answer()` (run in a worker thread), or a short apology with a reference the logs
    share when the knowledge fails: every way of asking (message, command, click) gets one or the other."""

    def build() -> Message:
        return answer_message(answer(), question=question, as_of=knowledge_date(conv.kb.info()), **options)

    try:
        return await asyncio.to_thread(build)
    except Exception:
        ref = secrets.token_hex(4)
        log.exception("slack answer failed (ref %s)", ref)
        lang = reply_language(question)
        return text_message(say("error", lang, ref=ref), lang)


async def _converse(conv: Conversation, reply: Reply, text: str) -> None:
    """One message from a user: help, an admin command or a question, answered where it was asked."""
    command = parse_command(text)
    if command.name not in ("ask", "help"):
        await _admin(conv, reply, command)
        return
    message = await _answered(
        conv, command.text, partial(conv.ask, PLATFORM, reply.user, command.text), share=reply.ephemeral
    )
    await _deliver(reply.post(message), "answer")


async def _admin(conv: Conversation, reply: Reply, command: Command) -> None:
    """Admin commands answer privately; a refresh reports again when its background work ends."""
    result = await conv.admin_async(PLATFORM, reply.user, command)
    await _deliver(reply.note(text_message(result.text, result.lang)), "admin reply")
    if result.background is not None:
        report = await result.background()
        await _deliver(reply.note(text_message(report, result.lang)), "refresh report")


def _in_channel(client: AsyncWebClient, channel: str, thread_ts: str | None, user: str) -> Reply:
    """Answers in the conversation (a thread, or the DM); notes as ephemeral messages to the asker."""

    async def post(message: Message) -> Any:
        return await client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, unfurl_links=False, unfurl_media=False, **message
        )

    async def note(message: Message) -> Any:
        return await client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts, **message)

    return Reply(user, post, note)


def _in_dm(client: AsyncWebClient, channel: str, thread_ts: str | None, user: str) -> Reply:
    reply = _in_channel(client, channel, thread_ts, user)
    return Reply(user, reply.post, reply.post)  # a DM is already private


def _ephemeral(respond: Callable[..., Awaitable[Any]], user: str) -> Reply:
    """Slash commands answer through response_url: works in channels the bot was never invited to."""

    async def send(message: Message) -> Any:
        return await respond(response_type="ephemeral", replace_original=False, **message)

    return Reply(user, send, send, ephemeral=True)


class _Backlog:
    """Answers accepted but not yet sent. Past `limit`, a new delivery waits (at most `wait` seconds, well
    inside Slack's 3) before it is acknowledged: under a burst the answers keep up instead of piling up."""

    def __init__(self, limit: int = BACKLOG_LIMIT, wait: float = BACKLOG_WAIT):
        self.limit, self.wait, self.pending = limit, wait, 0
        self._room = asyncio.Event()
        self._room.set()

    async def room(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._room.wait(), self.wait)

    @contextlib.asynccontextmanager
    async def answering(self) -> AsyncIterator[None]:
        self.pending += 1
        if self.pending >= self.limit:
            self._room.clear()
        try:
            yield
        finally:
            self.pending -= 1
            if self.pending < self.limit:
                self._room.set()


def _dedupe(conv: Conversation, backlog: _Backlog) -> Callable[..., Awaitable[BoltResponse | None]]:
    """A global middleware: one answer per event, whatever Slack redelivers (HTTP retries, Socket Mode
    retry_attempt). It must still ack: a middleware that returns nothing leaves the envelope pending
    and Slack keeps retrying."""

    async def dedupe(request: AsyncBoltRequest, body: dict[str, Any], next: Callable[[], Awaitable[Any]]) -> Any:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id:
            # Called on the loop, not in a worker thread: the ack must not queue behind answers being computed.
            if not conv.first_time(f"slack:event:{event_id}"):
                return BoltResponse(status=200, body="")
        elif request.headers.get("x-slack-retry-num"):
            return BoltResponse(status=200, body="")  # a retry we cannot match to its first delivery
        await backlog.room()
        return await next()

    return dedupe


def _is_user_message(event: dict[str, Any]) -> bool:
    """A person's new message: not a bot (nor govbot itself), not an edit, a deletion or a join."""
    return bool(event.get("user")) and not event.get("bot_id") and not event.get("subtype")


def _register(app: AsyncApp, conv: Conversation) -> None:
    backlog = _Backlog()
    app.middleware(_dedupe(conv, backlog))

    async def converse(reply: Reply, text: str) -> None:
        async with backlog.answering():
            await _converse(conv, reply, text)

    async def on_mention(event: dict[str, Any], client: AsyncWebClient) -> None:
        if not _is_user_message(event):
            return
        thread = event.get("thread_ts") or event.get("ts")
        await converse(_in_channel(client, event["channel"], thread, event["user"]), event.get("text", ""))

    async def on_message(event: dict[str, Any], client: AsyncWebClient) -> None:
        # Only direct messages: in channels govbot answers mentions (app_mention) alone.
        if event.get("channel_type") != "im" or not _is_user_message(event):
            return
        reply = _in_dm(client, event["channel"], event.get("thread_ts"), event["user"])
        await converse(reply, event.get("text", ""))

    async def on_home(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home" or not event.get("user"):
            return
        try:
            info = await asyncio.to_thread(conv.kb.info)
        except Exception:  # no knowledge yet, or it cannot be read: the Home tab simply stays as it was
            log.exception("slack home view not built")
            return
        await _deliver(client.views_publish(user_id=event["user"], view=home_view(info)), "home view")

    async def on_command(ack: Callable[..., Awaitable[Any]], command: dict[str, Any], respond: Any) -> None:
        await ack()  # at once: the answer follows through response_url
        await converse(_ephemeral(respond, command.get("user_id", "")), command.get("text", ""))

    async def on_choice(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any) -> None:
        await ack()
        query = read_payload(action.get("value")).get("choice")
        if not query:
            return
        ephemeral = bool(body.get("container", {}).get("is_ephemeral"))
        message = await _answered(conv, query, partial(conv.ask, PLATFORM, body["user"]["id"], query), share=ephemeral)
        await _deliver(respond(replace_original=True, **message), "choice answer")

    async def on_share(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any) -> None:
        await ack()
        question = read_payload(action.get("value")).get("question")
        if not question:
            return
        # Sharing repeats an answer already given: not a new question for the log or the rate limit.
        message = await _answered(conv, question, partial(conv.kb.ask, question), asked_by=body["user"]["id"])
        if await _deliver(respond(response_type="in_channel", replace_original=False, **message), "shared answer"):
            await _deliver(respond(delete_original=True), "ephemeral clean-up")

    async def on_feedback(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any) -> None:
        await ack()
        data = read_payload(action.get("value"))
        value = "up" if action.get("action_id", "").endswith("_up") else "down"
        question = data.get("question", "")
        thanks = await conv.feedback_async(PLATFORM, body["user"]["id"], question, value)
        if thanks:
            message = text_message(thanks, reply_language(question))
            await _deliver(respond(response_type="ephemeral", replace_original=False, **message), "feedback thanks")

    app.event("app_mention")(on_mention)
    app.event("message")(on_message)
    app.event("app_home_opened")(on_home)
    app.command("/govbot")(on_command)
    app.action(re.compile(rf"^{ACTION_CHOICE}_\d+$"))(on_choice)
    app.action(ACTION_SHARE)(on_share)
    app.action(re.compile(rf"^{ACTION_FEEDBACK}_(up|down)$"))(on_feedback)


def build_slack_app(
    conv: Conversation, *, token: str, signing_secret: str | None = None, api_url: str | None = None
) -> AsyncApp:
    """The bolt app with govbot's listeners. Without a signing secret it is for Socket Mode only."""
    app = AsyncApp(
        name="govbot-slack",  # also a logger name: must not be "govbot", the project's own logger
        token=token,
        signing_secret=signing_secret or "",
        request_verification_enabled=bool(signing_secret),
        logger=_bolt_logger(),
    )
    # Configured on bolt's own client (passing `client=` warns when SLACK_BOT_TOKEN is set); bolt copies
    # the base URL and retry handlers onto the per-request client every listener receives.
    app.client.base_url = api_base_url(api_url)
    # The stock client retries connection errors only; a 429 would lose the answer.
    app.client.retry_handlers = [
        AsyncConnectionErrorRetryHandler(max_retry_count=1),
        AsyncRateLimitErrorRetryHandler(max_retry_count=3),
    ]
    _register(app, conv)
    return app


def mount(app: web.Application, conv: Conversation) -> bool:
    """Add POST /slack/events when SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are set."""
    token = os.environ.get("SLACK_BOT_TOKEN")
    secret = os.environ.get("SLACK_SIGNING_SECRET")
    if not (token and secret):
        return False
    bolt = build_slack_app(conv, token=token, signing_secret=secret)
    app.router.add_post(EVENTS_PATH, events_handler(bolt, conv, secret))
    app.cleanup_ctx.append(partial(_web_api_session, bolt))
    return True


async def _web_api_session(bolt: AsyncApp, _app: web.Application | None = None) -> AsyncIterator[None]:
    """One HTTP session (kept-alive connections) for every Web API call: slack_sdk otherwise opens a new
    session, and a new connection, for each message it posts. Bolt hands it to every listener's client."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WEB_API_TIMEOUT)) as session:
        bolt.client.session = session
        yield


def socket_handler(
    conv: Conversation, *, token: str, app_token: str, api_url: str | None = None, ping_interval: float = 10
) -> AsyncSocketModeHandler:
    """Socket Mode: the same app over Slack's websocket (no public URL; SLACK_APP_TOKEN is `xapp-…`)."""
    app = build_slack_app(conv, token=token, api_url=api_url)
    return AsyncSocketModeHandler(app, app_token, ping_interval=ping_interval)


async def _run_socket_mode(conv: Conversation, token: str, app_token: str) -> None:
    handler = socket_handler(conv, token=token, app_token=app_token)
    async with contextlib.asynccontextmanager(_web_api_session)(handler.app):
        try:
            await handler.start_async()
        finally:
            await handler.close_async()


def main(args: argparse.Namespace) -> int:
    """`govbot slack [--socket]`: the Slack front end alone (HTTP on $PORT, or Socket Mode)."""
    configure_logging()  # the same log setup as `govbot serve` (SDK loggers quiet)
    token = os.environ.get("SLACK_BOT_TOKEN")
    if not token:
        print("SLACK_BOT_TOKEN is not set (see the Slack section of README.md).", file=sys.stderr)
        return 2
    if args.socket and not os.environ.get("SLACK_APP_TOKEN"):
        print("Socket Mode needs SLACK_APP_TOKEN (an xapp- app-level token with connections:write).", file=sys.stderr)
        return 2
    if not args.socket and not os.environ.get("SLACK_SIGNING_SECRET"):
        print("HTTP mode needs SLACK_SIGNING_SECRET (or run `govbot slack --socket`).", file=sys.stderr)
        return 2
    conv = Conversation(open_kb(getattr(args, "db", None)))
    if args.socket:
        try:
            asyncio.run(_run_socket_mode(conv, token, os.environ["SLACK_APP_TOKEN"]))
        except KeyboardInterrupt:
            pass
        return 0
    app = web.Application()
    mount(app, conv)
    web.run_app(app, host=os.environ.get("HOST", "0.0.0.0"), port=int(os.environ.get("PORT", "3000")))
    return 0
