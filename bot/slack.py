"""The Slack front end: mentions, DMs, /govbot, buttons, App Home and admin commands (slack-bolt AsyncApp).

HTTP mode mounts POST /slack/events behind `slack_guard` (signatures checked on the raw bytes, replays
dropped) in `govbot serve`'s application; Socket Mode runs the same app over Slack's websocket. Each
listener turns its event into a `Turn`, awaits `Conversation.handle` and renders the `Reply`; Slack wants
an ack within 3 s, so every answer is computed after the ack, off the event loop.

With answer workers (`govbot serve --answer-workers K`, 1 by default), questions — mentions, direct
messages and /govbot — are not answered by the process that acknowledges them: it checks, queues
(bot/answerqueue.py) and acknowledges, and the answer workers (bot/answering.py, through `answerer`) answer
them in processes of their own at a lower CPU priority, so an ack never waits behind answers. Button clicks
are still answered where they arrive (they are few, and their ack already comes first).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from knowledge.phrases import say

from .answering import Answerer
from .answerqueue import Intake
from .conversation import Conversation, reply_language
from .settings import configure_logging, open_kb
from .slack_blocks import (
    ACTION_CHOICE,
    ACTION_FEEDBACK,
    ACTION_MORE,
    ACTION_SHARE,
    answer_message,
    details_message,
    home_view,
    text_message,
)
from .slack_guard import check_signature, events_handler
from .turn import Action, Choice, Feedback, More, Reply, Share, Turn, read_action

__all__ = [
    "EVENTS_PATH",
    "build_slack_app",
    "mount",
    "config_problem",
    "run_socket_mode",
    "socket_handler",
    "api_base_url",
    "answerer",
]

log = logging.getLogger("govbot.slack")

PLATFORM = "slack"
EVENTS_PATH = "/slack/events"
LANGS = ("fr", "en")  # the App Home speaks both
DEFAULT_API_URL = "https://slack.com/api/"
WEB_API_TIMEOUT = 30  # seconds for one Web API call, retries apart
BACKLOG_LIMIT = 32  # in-process answers in progress before new deliveries wait a little for their ack
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
class Outlet:
    """Where replies go: `post` sends an answer in the conversation, `note` what only the asker sees."""

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


def render(reply: Reply, *, share: bool = False, asked_by: str | None = None) -> Message:
    """The Slack message for a reply: an answer with its blocks and buttons, anything else as text."""
    if reply.answer is None:
        return text_message(reply.text, reply.lang)
    return answer_message(reply.answer, question=reply.question, as_of=reply.as_of, share=share, asked_by=asked_by)


async def _send(outlet: Outlet, reply: Reply, sent: Callable[[], None] | None = None) -> None:
    """An answer where it was asked, everything else to the asker only; a refresh reports when it ends.
    `sent` is called once the reply is out, before any background work."""
    send = outlet.note if reply.private else outlet.post
    await _deliver(send(render(reply, share=outlet.ephemeral)), reply.kind)
    if sent is not None:
        sent()
    if reply.background is not None:
        report = await reply.background()
        await _deliver(outlet.note(text_message(report, reply.lang)), "refresh report")


def _turn(conv: Conversation, user: str, where: str, text: str = "", action: Action | None = None) -> Turn:
    # Slack signed the request that carries `user`: that id is authenticated, so it decides admin rights.
    # A DM's id starts with D; the channel id is all a digest needs later (docs/subscriptions.md).
    admin = conv.is_admin(PLATFORM, user)
    return Turn(PLATFORM, user, where, text, action, admin=admin, direct=where.startswith("D"), reach={})


def _in_channel(client: AsyncWebClient, channel: str, thread_ts: str | None, user: str) -> Outlet:
    """Answers in the conversation (a thread, or the DM); notes as ephemeral messages to the asker."""

    async def post(message: Message) -> Any:
        return await client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, unfurl_links=False, unfurl_media=False, **message
        )

    async def note(message: Message) -> Any:
        return await client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts, **message)

    return Outlet(post, note)


def _in_dm(client: AsyncWebClient, channel: str, thread_ts: str | None, user: str) -> Outlet:
    outlet = _in_channel(client, channel, thread_ts, user)
    return Outlet(outlet.post, outlet.post)  # a DM is already private


def _ephemeral(respond: Callable[..., Awaitable[Any]]) -> Outlet:
    """Slash commands answer through response_url: works in channels the bot was never invited to."""

    async def send(message: Message) -> Any:
        return await respond(response_type="ephemeral", replace_original=False, **message)

    return Outlet(send, send, ephemeral=True)


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


def _job(body: dict[str, Any]) -> dict[str, Any] | None:
    """A question for the answer queue (a mention, a direct message, /govbot), or None for anything else."""
    if body.get("command") == "/govbot":
        return {"platform": PLATFORM, "kind": "command", "user": body.get("user_id", ""), "channel": body.get("channel_id", ""),
                "text": body.get("text", ""), "response_url": body.get("response_url", "")}  # fmt: skip
    event = body.get("event") or {}
    if body.get("type") != "event_callback" or not _is_user_message(event):
        return None
    job = {
        "platform": PLATFORM,
        "user": event["user"],
        "channel": event.get("channel", ""),
        "text": event.get("text", ""),
    }
    if event.get("type") == "app_mention":
        return {"kind": "channel", "thread": event.get("thread_ts") or event.get("ts"), **job}
    if event.get("type") == "message" and event.get("channel_type") == "im":
        return {"kind": "dm", "thread": event.get("thread_ts"), **job}
    return None


def _outlet(job: dict[str, Any], client: AsyncWebClient) -> Outlet:
    """Where a queued question's reply goes: the place `_job` noted."""
    if job["kind"] == "command":
        return _ephemeral(AsyncRespond(response_url=job["response_url"]))
    where = _in_dm if job["kind"] == "dm" else _in_channel
    return where(client, job["channel"], job.get("thread"), job["user"])


class _Queuer:
    """Queues questions for the answer workers, the duplicate filter in the same write (`key`: the
    delivery's id, None for a slash command, which has none). When the queue is full, the workers tell the
    asker to try again (a notice queued in the same write, `_answer` sends it); this process sends it itself
    only when even the notices are past their bound."""

    def __init__(self, intake: Intake, client: AsyncWebClient) -> None:
        self.intake, self.client = intake, client
        self._replying: set[asyncio.Task[None]] = set()

    async def __call__(self, key: str | None, job: Message) -> None:
        if await self.intake.ask(key, job):
            task = asyncio.create_task(_busy(self.client, job))
            self._replying.add(task)
            task.add_done_callback(self._replying.discard)


async def _busy(client: AsyncWebClient, job: Message) -> bool:
    """The BUSY reply in one plain HTTP call: slack_sdk's client costs several times the CPU, and this is
    sent exactly when CPU is short. No retry: it is a courtesy, the question was not answered anyway."""
    lang = reply_language(job["text"])
    message = text_message(say("busy", lang), lang)
    if job["kind"] == "command":
        url, headers = job["response_url"], {}
        payload = {"response_type": "ephemeral", "replace_original": False, **message}
    else:
        url, headers = f"{client.base_url}chat.postMessage", {"Authorization": f"Bearer {client.token}"}
        payload = {"channel": job["channel"], **message}
        if job.get("thread"):
            payload["thread_ts"] = job["thread"]
    if client.session is None:  # the service is stopping
        return False
    try:
        async with client.session.post(url, json=payload, headers=headers) as response:
            await response.read()
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("slack busy reply not delivered: %s", type(exc).__name__)
        return False
    return True


def _queueing(
    guarded: Callable[[web.Request], Awaitable[web.StreamResponse]], queue: _Queuer, secret: str
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """POST /slack/events when answer workers run: a signed event with a question is checked, filtered for
    duplicates, queued and acknowledged here, without bolt (its dispatch costs as much as all the rest of
    an ack); anything else (a slash command, a button, a bad signature) goes through `guarded` as before.
    Unsigned or stale requests are left to `guarded`, which refuses them."""
    key = secret.encode()

    async def handle(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = request.headers
        stamp, signature = headers.get("X-Slack-Request-Timestamp", ""), headers.get("X-Slack-Signature", "")
        if request.content_type == "application/json" and not check_signature(key, stamp, signature, body, time.time()):
            try:
                payload = json.loads(body)
            except ValueError:
                payload = None
            event_id = payload.get("event_id") if isinstance(payload, dict) else None
            if isinstance(event_id, str) and event_id and (job := _job(payload)) is not None:
                await queue(f"slack:event:{event_id}", job)  # a retry or a replay is acknowledged, not run
                return web.Response(status=200)
        return await guarded(request)

    return handle


def _dedupe(
    conv: Conversation, backlog: _Backlog, queue: _Queuer | None
) -> Callable[..., Awaitable[BoltResponse | None]]:
    """A global middleware: one answer per event, whatever Slack redelivers (HTTP retries, Socket Mode
    retry_attempt). It must still ack: a middleware that returns nothing leaves the envelope pending
    and Slack keeps retrying.

    With a `queue`, a question is queued before it is acknowledged (an acked question is never lost) and
    acknowledged without going through bolt's listeners (`_Queuer` says what a full queue does)."""

    async def dedupe(request: AsyncBoltRequest, body: dict[str, Any], next: Callable[[], Awaitable[Any]]) -> Any:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        job = _job(body) if queue is not None else None
        if event_id:
            if job is not None:
                assert queue is not None
                await queue(f"slack:event:{event_id}", job)  # the duplicate filter in the queue's own write
                return BoltResponse(status=200, body="")
            # Called on the loop, not in a worker thread: the ack must not queue behind answers being computed.
            if not conv.first_time(f"slack:event:{event_id}"):
                return BoltResponse(status=200, body="")
        elif request.headers.get("x-slack-retry-num"):
            return BoltResponse(status=200, body="")  # a retry we cannot match to its first delivery
        if job is not None:
            assert queue is not None
            await queue(None, job)
            return BoltResponse(status=200, body="")
        await backlog.room()
        return await next()

    return dedupe


def _is_user_message(event: dict[str, Any]) -> bool:
    """A person's new message: not a bot (nor govbot itself), not an edit, a deletion or a join."""
    return bool(event.get("user")) and not event.get("bot_id") and not event.get("subtype")


def _clicked(body: dict[str, Any], action: dict[str, Any]) -> tuple[str, str, Action | None]:
    """(who clicked, in which channel, what the button stands for) from a block action."""
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "")
    return body["user"]["id"], channel, read_action(action.get("value"))


def _register(app: AsyncApp, conv: Conversation, queue: Intake | None) -> None:
    backlog = _Backlog()
    app.middleware(_dedupe(conv, backlog, _Queuer(queue, app.client) if queue is not None else None))

    async def converse(outlet: Outlet, turn: Turn) -> None:
        async with backlog.answering():
            await _send(outlet, await conv.handle(turn))

    async def on_mention(event: dict[str, Any], client: AsyncWebClient) -> None:
        if not _is_user_message(event):
            return
        thread = event.get("thread_ts") or event.get("ts")
        outlet = _in_channel(client, event["channel"], thread, event["user"])
        await converse(outlet, _turn(conv, event["user"], event["channel"], event.get("text", "")))

    async def on_message(event: dict[str, Any], client: AsyncWebClient) -> None:
        # Only direct messages: in channels govbot answers mentions (app_mention) alone.
        if event.get("channel_type") != "im" or not _is_user_message(event):
            return
        outlet = _in_dm(client, event["channel"], event.get("thread_ts"), event["user"])
        await converse(outlet, _turn(conv, event["user"], event["channel"], event.get("text", "")))

    async def on_home(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home" or not event.get("user"):
            return
        try:
            info, examples = await asyncio.to_thread(lambda: (conv.kb.info(), {g: conv.examples(g) for g in LANGS}))
        except Exception:  # no knowledge yet, or it cannot be read: the Home tab simply stays as it was
            log.exception("slack home view not built")
            return
        await _deliver(client.views_publish(user_id=event["user"], view=home_view(info, examples)), "home view")

    async def on_command(ack: Callable[..., Awaitable[Any]], command: dict[str, Any], respond: Any) -> None:
        await ack()  # at once: the answer follows through response_url
        user = command.get("user_id", "")
        await converse(_ephemeral(respond), _turn(conv, user, command.get("channel_id", ""), command.get("text", "")))

    async def private(respond: Any, reply: Reply, what: str) -> None:
        message = text_message(reply.text, reply.lang)
        await _deliver(respond(response_type="ephemeral", replace_original=False, **message), what)

    async def on_choice(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any) -> None:
        await ack()
        user, channel, choice = _clicked(body, action)
        if not isinstance(choice, Choice):
            return
        reply = await conv.handle(_turn(conv, user, channel, action=choice))
        if reply.private:
            await private(respond, reply, "choice reply")
            return
        ephemeral = bool(body.get("container", {}).get("is_ephemeral"))
        await _deliver(respond(replace_original=True, **render(reply, share=ephemeral)), "choice answer")

    async def on_share(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any) -> None:
        await ack()
        user, channel, share = _clicked(body, action)
        if not isinstance(share, Share):
            return
        reply = await conv.handle(_turn(conv, user, channel, action=share))
        if reply.private:
            await private(respond, reply, "share reply")
            return
        message = render(reply, asked_by=user)
        if await _deliver(respond(response_type="in_channel", replace_original=False, **message), "shared answer"):
            await _deliver(respond(delete_original=True), "ephemeral clean-up")

    async def on_more(
        ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any, client: AsyncWebClient
    ) -> None:
        await ack()
        user, channel, more = _clicked(body, action)
        if not isinstance(more, More):
            return
        reply = await conv.handle(_turn(conv, user, channel, action=more))
        if reply.answer is None:
            await private(respond, reply, "more reply")
            return
        message = details_message(reply.answer)
        container = body.get("container") or {}
        if container.get("is_ephemeral") or not container.get("message_ts"):  # only its asker sees the answer
            await _deliver(respond(response_type="ephemeral", replace_original=False, **message), "details")
            return
        thread = container.get("thread_ts") or container["message_ts"]
        await _deliver(
            client.chat_postMessage(channel=channel, thread_ts=thread, unfurl_links=False, **message), "details"
        )

    async def on_feedback(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any) -> None:
        await ack()
        user, channel, feedback = _clicked(body, action)
        if isinstance(feedback, Feedback):
            await private(respond, await conv.handle(_turn(conv, user, channel, action=feedback)), "feedback thanks")

    app.event("app_mention")(on_mention)
    app.event("message")(on_message)
    app.event("app_home_opened")(on_home)
    app.command("/govbot")(on_command)
    app.action(re.compile(rf"^{ACTION_CHOICE}_\d+$"))(on_choice)
    app.action(ACTION_SHARE)(on_share)
    app.action(ACTION_MORE)(on_more)
    app.action(re.compile(rf"^{ACTION_FEEDBACK}_(up|down)$"))(on_feedback)


def build_slack_app(
    conv: Conversation,
    *,
    token: str,
    signing_secret: str | None = None,
    api_url: str | None = None,
    queue: Intake | None = None,
) -> AsyncApp:
    """The bolt app with govbot's listeners. Without a signing secret it is for Socket Mode only; with a
    `queue`, questions are queued for the answer workers instead of answered here."""
    app = AsyncApp(
        name="govbot-slack",  # also a logger name: must not be "govbot", the project's own logger
        token=token,
        signing_secret=signing_secret or "",
        request_verification_enabled=bool(signing_secret),
        logger=_bolt_logger(),
    )
    # Configured on bolt's own client (passing `client=` warns when SLACK_BOT_TOKEN is set); bolt copies
    # the base URL and retry handlers onto the per-request client every listener receives.
    _configure(app.client, api_url)
    _register(app, conv, queue)
    return app


def _configure(client: AsyncWebClient, api_url: str | None) -> None:
    client.base_url = api_base_url(api_url)
    # The stock client retries connection errors only; a 429 would lose the answer.
    client.retry_handlers = [
        AsyncConnectionErrorRetryHandler(max_retry_count=1),
        AsyncRateLimitErrorRetryHandler(max_retry_count=3),
    ]


def mount(app: web.Application, conv: Conversation, queue: Intake | None = None) -> bool:
    """Add POST /slack/events when SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are set; questions go to `queue`
    when there is one (answer workers run), else are answered in this process."""
    token = os.environ.get("SLACK_BOT_TOKEN")
    secret = os.environ.get("SLACK_SIGNING_SECRET")
    if not (token and secret):
        return False
    bolt = build_slack_app(conv, token=token, signing_secret=secret, queue=queue)
    handler = events_handler(bolt, conv, secret)
    if queue is not None:
        handler = _queueing(handler, _Queuer(queue, bolt.client), secret)
    app.router.add_post(EVENTS_PATH, handler)
    app.cleanup_ctx.append(partial(_web_api_session, bolt))
    return True


async def _web_api_session(bolt: AsyncApp, _app: web.Application | None = None) -> AsyncIterator[None]:
    """One HTTP session (kept-alive connections) for every Web API call: slack_sdk otherwise opens a new
    session, and a new connection, for each message it posts. Bolt hands it to every listener's client."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WEB_API_TIMEOUT)) as session:
        bolt.client.session = session
        yield


@contextlib.asynccontextmanager
async def answerer(conv: Conversation) -> AsyncIterator[Answerer]:
    """How an answer worker answers queued Slack questions (bot/answering.py): one Web API client and one
    HTTP session (kept-alive connections) for the worker's life."""
    client = AsyncWebClient(token=os.environ.get("SLACK_BOT_TOKEN", ""), logger=_bolt_logger())
    _configure(client, None)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WEB_API_TIMEOUT)) as session:
        client.session = session
        yield partial(_answer, conv, client)


async def _answer(conv: Conversation, client: AsyncWebClient, job: Message, sent: Callable[[], None]) -> None:
    if job.get("busy"):  # the queue was full when it was asked (`_Queuer`): only the notice to try again
        if await _busy(client, job):
            sent()
        return
    # Answered on the event loop, not in a thread: this process only answers, and the hand-over to a thread
    # and back costs more than most answers (the cache's); the posts in flight wait a few ms at worst.
    turn = _turn(conv, job["user"], job["channel"], job["text"])
    await _send(_outlet(job, client), conv.respond(turn), sent=sent)


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


def config_problem(socket: bool) -> str | None:
    """Why `govbot slack` cannot start with this environment (one line), or None."""
    if not os.environ.get("SLACK_BOT_TOKEN"):
        return "SLACK_BOT_TOKEN is not set (see docs/slack.md)."
    if socket and not os.environ.get("SLACK_APP_TOKEN"):
        return "Socket Mode needs SLACK_APP_TOKEN (an xapp- app-level token with connections:write)."
    if not socket and not os.environ.get("SLACK_SIGNING_SECRET"):
        return "HTTP mode needs SLACK_SIGNING_SECRET (or run `govbot slack --socket`)."
    return None


def run_socket_mode(args: argparse.Namespace) -> int:
    """`govbot slack --socket`: the Slack app over Slack's websocket, no public URL. (Without --socket,
    the CLI runs `govbot serve` with only Slack mounted.)"""
    configure_logging()  # the same log setup as `govbot serve` (SDK loggers quiet)
    conv = Conversation(open_kb(getattr(args, "db", None)))
    try:
        asyncio.run(_run_socket_mode(conv, os.environ["SLACK_BOT_TOKEN"], os.environ["SLACK_APP_TOKEN"]))
    except KeyboardInterrupt:
        pass
    return 0
