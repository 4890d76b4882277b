"""Microsoft Teams front end: Bot Framework activities in, Adaptive Cards out, `POST /api/messages`.

Personal chats, group chats and channel @mentions are answered through the shared `Conversation`, in the
same thread; card buttons (choices, 👍/👎) come back as message activities carrying a `value`.

With answer workers (`govbot serve --answer-workers K`, 1 by default) a message is not answered within its
turn: the listener authenticates it, decides whether it is for the bot, queues it (bot/answerqueue.py, the
duplicate filter in the same write) and returns 200 at once; an answer worker answers it and posts the reply
to the conversation afterwards through the Bot Connector (`answerer`), as a reply to the message, the way
the Bot Framework lets a bot answer later than its turn. The Teams
code is three small modules (this one, `teams_cards`, `teams_auth`) so that a move from the Bot Framework
SDK, now archived, to the Microsoft 365 Agents SDK never touches `conversation` or `knowledge`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from botbuilder.core import BotAdapter, TurnContext, serializer_helper
from botbuilder.core.teams import TeamsActivityHandler
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationServiceClientCredentialFactory
from botbuilder.schema import Activity, ActivityTypes, Attachment, ConversationReference, TextFormatTypes
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import (
    AuthenticateRequestResult,
    ClaimsIdentity,
    ConnectorFactory,
    JwtTokenValidation,
    ServiceClientCredentialsFactory,
    UserTokenClient,
)
from msrest.universal_http.requests import ClientRetryPolicy

from knowledge import Answer
from knowledge.phrases import say

from .answering import Answerer
from .answerqueue import Intake
from .conversation import Conversation, reply_language
from .teams_auth import (
    ReusedCredentials,
    SigningKeysUnavailable,
    StrictAuthentication,
    authenticated,
    loopback_url,
    use_async_signing_keys,
)
from .teams_cards import CARD_CONTENT_TYPE, answer_card, answer_text, welcome_answer
from .teams_send import Replies
from .turn import Reply, Turn, read_action

__all__ = [
    "TeamsSettings",
    "GovbotTeamsBot",
    "create_adapter",
    "add_routes",
    "mount",
    "answer_activity",
    "reply_activity",
    "answerer",
]

log = logging.getLogger("govbot.teams")

PLATFORM = "teams"
# The request body of the activity this task's turn is about: queued as it came, because serialising the
# SDK's Activity again costs as much as all the rest of queueing it.
_BODY: ContextVar[dict[str, Any]] = ContextVar("govbot_teams_body")
APP_TYPES = ("MultiTenant", "SingleTenant", "UserAssignedMSI")

# The SDK builds two Bot Connector clients per activity, and each client's retry policy tests 999 status codes
# for membership in this 500-item list: 3.7 ms of CPU each time, over half of a whole Teams turn (py-spy,
# docs/benchmarks.md). The same codes as a set give the same policy in 0.05 ms.
ClientRetryPolicy.safe_codes = frozenset(ClientRetryPolicy.safe_codes)


@dataclass(frozen=True)
class TeamsSettings:
    """The Bot Framework samples' settings, named as the SDK's configuration classes read them."""

    APP_ID: str = ""
    APP_PASSWORD: str = ""
    APP_TYPE: str = "MultiTenant"
    APP_TENANTID: str = ""

    @classmethod
    def from_env(cls) -> TeamsSettings:
        app_type = os.environ.get("MicrosoftAppType") or "MultiTenant"
        if app_type.lower() not in (t.lower() for t in APP_TYPES):
            # The SDK silently falls back to MultiTenant on a typo; a wrong auth mode must not start quietly.
            raise ValueError(f"MicrosoftAppType must be one of {', '.join(APP_TYPES)}, not {app_type!r}")
        return cls(
            APP_ID=os.environ.get("MicrosoftAppId", ""),
            APP_PASSWORD=os.environ.get("MicrosoftAppPassword", ""),
            APP_TYPE=app_type,
            APP_TENANTID=os.environ.get("MicrosoftAppTenantId", ""),
        )


def answer_activity(answer: Answer, question: str, as_of: str = "") -> Activity:
    """The card, and the same answer as plain text for notifications and clients without cards."""
    return Activity(
        type=ActivityTypes.message,
        text=answer_text(answer),
        text_format=TextFormatTypes.plain,
        attachments=[Attachment(content_type=CARD_CONTENT_TYPE, content=answer_card(answer, question, as_of))],
    )


def reply_activity(reply: Reply) -> Activity:
    """An answer as its card; anything else as plain text."""
    if reply.answer is None:
        return _plain(reply.text)
    return answer_activity(reply.answer, reply.question, reply.as_of)


def _plain(text: str) -> Activity:
    return Activity(type=ActivityTypes.message, text=text, text_format=TextFormatTypes.plain)


def _conversation_type(activity: Activity) -> str:
    return activity.conversation.conversation_type or "personal"


def _mentions_bot(activity: Activity) -> bool:
    return any(
        (mention.additional_properties.get("mentioned") or {}).get("id") == activity.recipient.id
        for mention in TurnContext.get_mentions(activity)
    )


def _user(activity: Activity) -> str:
    sender = activity.from_property
    return (sender.aad_object_id or sender.id or "") if sender else ""


def _answerable(activity: Activity) -> bool:
    """What every channel activity carries, and what a reply needs: where to send it, in which conversation."""
    return bool(
        activity.service_url
        and activity.conversation
        and activity.conversation.id
        and activity.recipient
        and activity.recipient.id
    )


class GovbotTeamsBot(TeamsActivityHandler):
    """Turns Teams activities into `Conversation` calls and posts what comes back; with an `intake`, messages
    are queued for the answer workers instead (`answer_queued` answers them there). What is posted after
    a turn, or instead of one, goes through `replies`."""

    def __init__(
        self, conv: Conversation, app_id: str = "", intake: Intake | None = None, replies: Replies | None = None
    ):
        self.conv = conv
        self.app_id = app_id
        self.intake = intake
        self.replies = replies
        self._background: set[asyncio.Task[None]] = set()

    async def on_turn(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        if not _answerable(activity):  # only a hand-made request (auth off) lacks these: nothing to reply to
            log.warning("Teams activity without a conversation, recipient or serviceUrl ignored")
            return
        try:
            if self.intake is not None and activity.type == ActivityTypes.message:
                await self._queue(turn_context)
                return
            # Teams re-sends an activity it thinks timed out: the same id never gets a second answer.
            if activity.id and not self.conv.first_time(_delivery(activity)):
                log.info("duplicate Teams activity %s ignored", activity.id)
                return
            await super().on_turn(turn_context)
        except Exception:
            ref = secrets.token_hex(4)
            log.exception("Teams turn failed (ref %s, activity %s)", ref, activity.id)
            await self._send(turn_context, _plain(say("error", reply_language(activity.text or ""), ref=ref)))

    def _turn(self, activity: Activity, admin: bool) -> Turn | None:
        """The turn a message activity stands for; None when it is not addressed to the bot."""
        action = read_action(activity.value) if isinstance(activity.value, dict | str) else None
        text = ""
        if action is None:  # typed text; a clicked card button carries an action instead
            if _conversation_type(activity) != "personal" and not _mentions_bot(activity):
                return None  # a group or channel message not addressed to the bot
            text = TurnContext.remove_recipient_mention(activity) or ""
        personal = _conversation_type(activity) == "personal"
        where, reach = activity.conversation.id, self._reach(activity)
        return Turn(PLATFORM, _user(activity), where, text, action, admin=admin, direct=personal, reach=reach)

    def _admin(self, turn_context: TurnContext) -> bool:
        # Admins are listed by AAD object id, the one id Teams gives that is stable across chats and teams; it
        # is believed only when the channel's token vouched for the activity (never in emulator mode).
        sender = turn_context.activity.from_property
        aad = (sender.aad_object_id or "") if sender else ""
        return authenticated(turn_context) and self.conv.is_admin(PLATFORM, aad)

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        turn = self._turn(activity, self._admin(turn_context))
        if turn is None:
            return
        reply = await self.conv.handle(turn)
        await self._send(turn_context, reply_activity(reply))
        if reply.background is not None:
            reference = TurnContext.get_conversation_reference(activity)
            task = asyncio.create_task(self._report(turn_context.adapter, reference, reply.background))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _queue(self, turn_context: TurnContext) -> None:
        """A message for the answer workers: queued (once per activity id); when the queue is full, the
        workers tell the asker to come back (a notice queued in the same write: posting it here cost a turn
        five times its CPU just when CPU is short), or this turn does once even the notices are past their
        bound. The activity travels as the Bot Framework serialises it, with whether its sender is an admin
        (only this turn, whose token was checked, can say)."""
        activity = turn_context.activity
        if self._turn(activity, admin=False) is None:
            return
        assert self.intake is not None
        job = {"platform": PLATFORM, "activity": _BODY.get(), "admin": self._admin(turn_context)}
        if await self.intake.ask(_delivery(activity) if activity.id else None, job):
            busy = _plain(say("busy", reply_language(activity.text or "")))
            await self._post(TurnContext.get_conversation_reference(activity), busy)

    async def answer_queued(self, adapter: BotAdapter, job: dict[str, Any], sent: Callable[[], None]) -> None:
        """In an answer worker: answer a queued message and post the reply to its conversation, as a reply
        to it; a failure is the one-line reply with a reference, as within a turn. (`adapter` posts what a
        refresh reports when it ends.)"""
        activity = Activity().deserialize(job["activity"])
        reference = TurnContext.get_conversation_reference(activity)
        if job.get("busy"):  # the queue was full when it came (`_queue`): only the notice to come back
            await self._post(reference, _plain(say("busy", reply_language(activity.text or ""))))
            sent()
            return
        reply: Reply | None = None
        try:
            turn = self._turn(activity, bool(job.get("admin")))
            if turn is None:
                return
            reply = self.conv.respond(turn)  # on the loop: this process only answers (see bot/slack.py)
            message = reply_activity(reply)
        except Exception:
            ref = secrets.token_hex(4)
            log.exception("Teams queued message failed (ref %s, activity %s)", ref, activity.id)
            message = _plain(say("error", reply_language(activity.text or ""), ref=ref))

        await self._post(reference, message)
        sent()
        if reply is not None and reply.background is not None:
            await self._report(adapter, reference, reply.background)

    def _reach(self, activity: Activity) -> dict[str, Any] | None:
        """The conversation reference a digest is posted with later (the channel itself, not this thread);
        None without an app id: the Bot Connector takes proactive messages only from an identified bot."""
        if not self.app_id:
            return None
        reference = TurnContext.get_conversation_reference(activity)
        reference.conversation.id = reference.conversation.id.split(";messageid=")[0]
        return reference.serialize()

    async def on_conversation_update_activity(self, turn_context: TurnContext) -> None:
        # Not the SDK's Teams dispatch, which calls the Bot Connector about every member who joins.
        activity = turn_context.activity
        added = activity.members_added or []
        bot_added = any(member.id == activity.recipient.id for member in added)
        if bot_added or (added and _conversation_type(activity) == "personal"):
            await self._welcome(turn_context)

    async def on_installation_update(self, turn_context: TurnContext) -> None:
        if turn_context.activity.action == "add":  # not "add-upgrade": an app update is no reason to greet again
            await self._welcome(turn_context)

    async def _welcome(self, turn_context: TurnContext) -> None:
        # An install arrives as both conversationUpdate and installationUpdate: welcome once.
        if self.conv.first_time(f"teams-welcome:{turn_context.activity.conversation.id}"):
            examples = await asyncio.to_thread(self.conv.examples, "fr")
            await self._send(turn_context, answer_activity(welcome_answer("fr", examples), ""))

    async def _report(
        self, adapter: BotAdapter, reference: ConversationReference, work: Callable[[], Awaitable[str]]
    ) -> None:
        """Post a long job's report later, as a proactive message: a Teams turn only has 15 seconds."""
        text = await work()

        async def post(turn_context: TurnContext) -> None:
            await turn_context.send_activity(_plain(text))

        try:
            await adapter.continue_conversation(reference, post, self.app_id)
        except Exception:
            log.exception("could not post a proactive message to Teams")

    async def _post(self, reference: ConversationReference, activity: Activity) -> None:
        """Post a reply outside the SDK's turn (`replies`); a Bot Connector failure is logged, as in `_send`."""
        assert self.replies is not None
        try:
            await self.replies.send(reference, activity)
        except Exception:
            log.exception("could not post to the Bot Connector at %s", reference.service_url)

    async def _send(self, turn_context: TurnContext, activity: Activity) -> None:
        """Post a reply; a Bot Connector failure is logged and the turn ends normally."""
        try:
            await turn_context.send_activity(activity)
        except Exception:
            log.exception("could not post to the Bot Connector at %s", turn_context.activity.service_url)

    async def close(self, _app: web.Application | None = None) -> None:
        """Stop waiting for background reports (at shutdown)."""
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        if self.replies is not None:
            await self.replies.close()


# Bot Connector clients kept (one per bot app id, service URL and audience): service URLs come from activities.
MAX_CLIENTS = 64


class _KeptClients(StrictAuthentication):
    """The SDK builds a Bot Connector client and a user-token client for every activity, and never closes
    them: two HTTP client configurations, a third of a Teams turn's CPU (py-spy, docs/benchmarks.md), and a new
    connection for every reply. Here each is built once per (bot app id, service URL, audience) and kept, least recently used out past
    MAX_CLIENTS; the credentials inside were already kept (`ReusedCredentials`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._kept: OrderedDict[tuple[str, ...], Any] = OrderedDict()

    async def _once(self, key: tuple[str, ...], make: Callable[[], Awaitable[Any]]) -> Any:
        if key in self._kept:
            self._kept.move_to_end(key)
            return self._kept[key]
        made = self._kept[key] = await make()
        if len(self._kept) > MAX_CLIENTS:
            self._kept.popitem(last=False)
        return made

    async def authenticate_request(self, activity: Activity, auth_header: str) -> AuthenticateRequestResult:
        result = await super().authenticate_request(activity, auth_header)
        if result.connector_factory is not None:
            result.connector_factory = _KeptFactory(self, result.connector_factory, _app_id(result.claims_identity))
        return result

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        # A reply posted after its turn (answer workers, refresh reports) asks for a factory of its own.
        return _KeptFactory(self, super().create_connector_factory(claims_identity), _app_id(claims_identity))

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> UserTokenClient:
        make = super().create_user_token_client
        return await self._once(("token", _app_id(claims_identity)), lambda: make(claims_identity))


class _KeptFactory(ConnectorFactory):
    def __init__(self, kept: _KeptClients, inner: ConnectorFactory, app_id: str) -> None:
        self.kept, self.inner, self.app_id = kept, inner, app_id

    async def create(self, service_url: str, audience: str | None = None) -> ConnectorClient:
        key = ("connector", self.app_id, service_url, audience or "")
        return await self.kept._once(key, lambda: self.inner.create(service_url, audience))


def _delivery(activity: Activity) -> str:
    """The duplicate filter's key for an activity (Teams re-sends one it thinks timed out, same id)."""
    return f"teams:{activity.conversation.id}:{activity.id}"


def _app_id(identity: ClaimsIdentity | None) -> str:
    return (JwtTokenValidation.get_app_id_from_claims(identity.claims) or "") if identity else ""


def create_adapter(
    settings: TeamsSettings,
    credentials_factory: ServiceClientCredentialsFactory | None = None,
    *,
    key_timeout: float = 10.0,
) -> CloudAdapter:
    """The SDK's CloudAdapter with the hardening of `teams_auth` (401 on any bad token, non-blocking keys)."""
    use_async_signing_keys(key_timeout)
    inner = credentials_factory or ConfigurationServiceClientCredentialFactory(settings)
    return CloudAdapter(_KeptClients(settings, credentials_factory=ReusedCredentials(inner)))


def _messages_handler(
    adapter: CloudAdapter, bot: GovbotTeamsBot, *, local: bool = False
) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def messages(request: web.Request) -> web.Response:
        # The SDK answers 500 to a missing content type or a malformed body; these are the client's errors.
        if "application/json" not in request.headers.get("Content-Type", ""):
            return web.Response(status=415)
        try:
            body = await request.json()
            if not isinstance(body, dict) or not isinstance(body.get("type"), str) or not body["type"]:
                return web.Response(status=400)
            activity = Activity().deserialize(body)
        except Exception:  # any undecodable body: bad JSON, bad UTF-8, fields of the wrong type
            return web.Response(status=400)
        if local and not loopback_url(body.get("serviceUrl")):
            # Emulator mode replies to whatever serviceUrl the caller names: only to this machine.
            return web.Response(status=403, text="emulator mode replies to loopback serviceUrls only")
        token = _BODY.set(body)
        try:
            # What the SDK's `CloudAdapter.process` does, on the activity read once (it would read it again).
            auth_header = request.headers.get("Authorization", "")
            invoke = await adapter.process_activity(auth_header, activity, bot.on_turn)
            if invoke:
                return web.json_response(serializer_helper(invoke.body), status=invoke.status)
            return web.Response(status=201)
        except PermissionError:
            return web.Response(status=401)
        except web.HTTPException:
            raise
        except SigningKeysUnavailable:
            return web.Response(status=503, headers={"Retry-After": "30"})
        except Exception:
            ref = secrets.token_hex(4)
            log.exception("Teams request failed outside a turn (ref %s)", ref)
            return web.Response(status=500, text=f"error {ref}")
        finally:
            _BODY.reset(token)

    return messages


def add_routes(
    app: web.Application,
    conv: Conversation,
    settings: TeamsSettings,
    credentials_factory: ServiceClientCredentialsFactory | None = None,
    *,
    key_timeout: float = 10.0,
    queue: Intake | None = None,
) -> GovbotTeamsBot:
    """Add `POST /api/messages` to `app`; returns the bot (tests and metrics may look at it).

    `credentials_factory` replaces how outbound tokens are obtained (default: from the settings, through
    Microsoft login); `key_timeout` bounds each fetch of the channel's signing keys. With a `queue`, messages
    are queued for the answer workers.
    """
    adapter = create_adapter(settings, credentials_factory, key_timeout=key_timeout)
    bot = GovbotTeamsBot(conv, settings.APP_ID, queue, Replies(adapter, settings.APP_ID) if queue else None)
    app.router.add_post("/api/messages", _messages_handler(adapter, bot, local=not settings.APP_ID))
    app.on_cleanup.append(bot.close)
    return bot


def mount(app: web.Application, conv: Conversation, queue: Intake | None = None) -> bool:
    """The front-end contract: serve Teams when it has an app id, or in explicit emulator mode; never half-open.
    Messages go to `queue` when there is one (answer workers run), else are answered within their turn.

    Without MicrosoftAppId nothing could authenticate an activity, so the route is not mounted unless
    GOVBOT_TEAMS_LOCAL=1 asks for the Bot Framework Emulator mode: loopback serviceUrls only, no admins.
    """
    if os.environ.get("GOVBOT_TEAMS", "1") == "0":
        return False
    settings = TeamsSettings.from_env()
    if not settings.APP_ID:
        if os.environ.get("GOVBOT_TEAMS_LOCAL", "").strip() != "1":
            return False
        log.warning("Teams emulator mode (GOVBOT_TEAMS_LOCAL=1): unauthenticated, loopback serviceUrls only, no admins")
    add_routes(app, conv, settings, queue=queue)
    return True


@contextlib.asynccontextmanager
async def answerer(conv: Conversation) -> AsyncIterator[Answerer]:
    """How an answer worker answers queued Teams messages (bot/answering.py): through an adapter of its own,
    with the same settings and credentials as the listeners'."""
    settings = TeamsSettings.from_env()
    adapter = create_adapter(settings)
    bot = GovbotTeamsBot(conv, settings.APP_ID, replies=Replies(adapter, settings.APP_ID))
    try:
        yield lambda job, sent: bot.answer_queued(adapter, job, sent)
    finally:
        await bot.close()
