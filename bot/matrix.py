"""The Matrix front end (Tchap and any homeserver): matrix-nio's AsyncClient and one long-poll sync loop.

Each sync batch is translated into conversation turns: a direct message, a mention or a reply to the bot
is a question; a number or a choice's words after a numbered answer picks that choice; "plus" / "more"
sends the rest of a long answer; a 👍/👎 reaction on an answer is feedback. The answer goes in the
question's thread (rooms) or as a reply (direct messages). The device id, access token and sync token are
kept in `<knowledge>/matrix/state.json` (0600), so a restart neither creates a device nor replays messages;
encryption keys live beside it in nio's store. The homeserver being down, slow or rate-limiting (429 with
`retry_after_ms`) is waited out with backoff; one event is answered once even if a sync delivers it twice.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import re
import secrets
import signal
import sys
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from nio import (
    AsyncClient,
    AsyncClientConfig,
    LoginResponse,
    MatrixRoom,
    RoomLeaveResponse,
    RoomSendResponse,
    SyncResponse,
    WhoamiResponse,
)
from nio.api import Api
from nio.crypto import ENCRYPTION_ENABLED

from knowledge.phrases import say

from .conversation import Conversation
from .matrix_render import (
    MatrixMessage,
    answer_message,
    more_message,
    pick_choice,
    reaction_value,
    text_message,
    wants_more,
)
from .metrics import FRONT_END_HEALTH
from .render import wants_feedback
from .turn import Feedback, Reply, Turn

__all__ = ["MATRIX", "Settings", "SettingsError", "MatrixBot", "mount", "main"]

log = logging.getLogger("govbot.matrix")

PLATFORM = "matrix"
SYNC_TIMEOUT_MS = 30_000  # long poll: the homeserver answers at once when an event arrives
BACKOFF_FIRST = 0.5  # seconds before the first retry of a failed sync or send
BACKOFF_MAX = 30.0  # the longest wait between retries while the homeserver is down or slow
SEND_ATTEMPTS = 6  # a send the homeserver fails (5xx) is retried this often; network errors for ever; 4xx never
NIO_RETRIES = 2  # network errors nio retries itself before handing them to our loops
NETWORK_ERRORS = (aiohttp.ClientError, TimeoutError, OSError)
START_GRACE = 60  # seconds: a question sent during a restart is answered, an older one is not
REMEMBERED = 2_000  # bot messages whose question, choices and rest are kept for replies and reactions
TIMELINE_LIMIT = 30  # events per room in the first sync: enough to find what arrived during a restart
SYNC_FILTER = {
    "room": {"timeline": {"limit": TIMELINE_LIMIT}},
    "presence": {"not_types": ["*"]},
}


class SettingsError(ValueError):
    """A missing or malformed GOVBOT_MATRIX_* setting, or credentials the homeserver refused."""


def _listed(raw: str) -> frozenset[str]:
    return frozenset(part.strip() for part in raw.replace(";", ",").split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    """GOVBOT_MATRIX_HOMESERVER, _USER (a full user id), _TOKEN or _PASSWORD, _ALLOWED_SERVERS, _ADMINS."""

    homeserver: str
    user: str
    token: str = ""
    password: str = ""
    allowed_servers: frozenset[str] = frozenset()
    admins: frozenset[str] = frozenset()

    @property
    def servers(self) -> frozenset[str]:
        """The homeservers whose users may invite the bot: those listed, else the bot's own (the safe default
        for a state messenger)."""
        return self.allowed_servers or frozenset({self.user.split(":", 1)[1]})

    @classmethod
    def from_env(cls, env: dict[str, str] | os._Environ[str] = os.environ) -> Settings:
        homeserver = env.get("GOVBOT_MATRIX_HOMESERVER", "").strip().rstrip("/")
        user = env.get("GOVBOT_MATRIX_USER", "").strip()
        token, password = env.get("GOVBOT_MATRIX_TOKEN", ""), env.get("GOVBOT_MATRIX_PASSWORD", "")
        if not homeserver.startswith(("https://", "http://")):
            raise SettingsError("GOVBOT_MATRIX_HOMESERVER must be the homeserver's https:// address")
        if not re.fullmatch(r"@[^:\s]+:[^\s]+", user):
            raise SettingsError("GOVBOT_MATRIX_USER must be a full user id, like @govbot:agent.tchap.gouv.fr")
        if not (token or password):
            raise SettingsError("set GOVBOT_MATRIX_TOKEN (an access token) or GOVBOT_MATRIX_PASSWORD")
        allowed = _listed(env.get("GOVBOT_MATRIX_ALLOWED_SERVERS", ""))
        admins = _listed(env.get("GOVBOT_MATRIX_ADMINS", ""))
        return cls(homeserver, user, token, password, allowed, admins)


@dataclass
class State:
    """What survives a restart, in one 0600 file: the device, its token (password logins), the sync token."""

    path: Path
    user_id: str = ""
    device_id: str = ""
    access_token: str = ""
    next_batch: str = ""
    pickle_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    @classmethod
    def load(cls, path: Path, user_id: str) -> State:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return cls(path, user_id)
        if data.get("user_id") != user_id:  # another account: nothing of the old one applies
            return cls(path, user_id)
        known = {k: str(v) for k, v in data.items() if k in ("device_id", "access_token", "next_batch", "pickle_key")}
        return cls(path, user_id, **known)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = self.path.with_suffix(".tmp")
        data = {k: v for k, v in asdict(self).items() if k != "path"}
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as out:
            json.dump(data, out)
        os.replace(temporary, self.path)


@dataclass
class Sent:
    """A bot message: the question it answers, and what a reply to it may ask for."""

    question: str
    lang: str
    choices: tuple[tuple[str, str], ...] = ()
    rest: tuple[str, ...] = ()
    feedback: bool = False


@dataclass(frozen=True)
class Incoming:
    """A person's message, translated: where it was, what it answers, what it says."""

    room_id: str
    event_id: str
    sender: str
    text: str
    direct: bool
    thread_root: str | None
    reply_to: str | None


# The one door to the platform-neutral conversation: four calls, kept together.


def _use_admins(conv: Conversation, admins: frozenset[str]) -> None:
    conv.admins[PLATFORM] = admins


def _first_time(conv: Conversation, event_id: str) -> bool:
    return conv.first_time(f"{PLATFORM}:event:{event_id}")


async def _turn(conv: Conversation, user: str, room: str, text: str) -> Reply:
    """The one reply to what `user` said in `room`: an answer, an admin command's output, or a notice."""
    # The homeserver vouches for the sender's id: it decides admin rights (GOVBOT_MATRIX_ADMINS).
    # The room id is all a digest needs later (docs/subscriptions.md).
    return await conv.handle(Turn(PLATFORM, user, room, text, admin=conv.is_admin(PLATFORM, user), reach={}))


async def _feedback(conv: Conversation, user: str, question: str, value: str) -> None:
    await conv.handle(Turn(PLATFORM, user, action=Feedback("up" if value == "up" else "down", question)))


def _backoff(attempt: int, ceiling: float) -> float:
    return min(ceiling, BACKOFF_FIRST * 2**attempt)


def _limit(memory: OrderedDict[Any, Any], size: int = REMEMBERED) -> None:
    while len(memory) > size:
        memory.popitem(last=False)


def _without_reply_fallback(body: str) -> str:
    """A reply's body starts with the quoted original ("> <@x> ...") and a blank line: drop them."""
    lines = body.splitlines()
    if not lines or not lines[0].startswith("> "):
        return body
    while lines and lines[0].startswith(">"):
        lines.pop(0)
    return "\n".join(lines).strip()


class MatrixBot:
    """One account on one homeserver, answering through `conv` until `stop()`."""

    def __init__(self, conv: Conversation, settings: Settings, *, backoff_max: float = BACKOFF_MAX):
        self.conv = conv
        self.settings = settings
        self.backoff_max = backoff_max
        self.root = conv.kb.path / "matrix"
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.root, 0o700)
        self.state = State.load(self.root / "state.json", settings.user)
        config = AsyncClientConfig(
            encryption_enabled=ENCRYPTION_ENABLED,
            pickle_key=self.state.pickle_key,
            store_sync_tokens=False,  # the sync token lives in state.json, saved after each batch is handled
            max_timeouts=NIO_RETRIES,  # then the error comes back to us: counted, shown in health, retried
            max_limit_exceeded=None,  # 429 M_LIMIT_EXCEEDED: nio sleeps retry_after_ms, then retries
            max_timeout_retry_wait_time=backoff_max,
            request_timeout=60,
        )
        self.client = AsyncClient(
            settings.homeserver, settings.user, store_path=str(self.root), config=config, ssl=None
        )
        self.started = time.time()
        self.sent: OrderedDict[str, Sent] = OrderedDict()
        self.latest: OrderedDict[tuple[str, str], str] = OrderedDict()  # (room, thread or "") -> last offer
        self.threads: OrderedDict[str, None] = OrderedDict()  # thread roots the bot answers in
        self.health: dict[str, Any] = {"connected": False, "last_sync": None, "failures": 0}
        self.welcome: set[str] = set()  # rooms just joined, not yet greeted
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopping = asyncio.Event()
        _use_admins(conv, settings.admins)

    # --- session ---------------------------------------------------------------------------------------

    async def login(self) -> None:
        """Reuse the saved device (and token); log in with the password only when there is none."""
        settings, state = self.settings, self.state
        if settings.token:
            self.client.access_token = settings.token
            who = await self.client.whoami()
            if not isinstance(who, WhoamiResponse):
                raise SettingsError(f"the homeserver refused GOVBOT_MATRIX_TOKEN: {who.message}")
            state.device_id, state.access_token = who.device_id or state.device_id, ""
            self.client.restore_login(who.user_id, state.device_id, settings.token)
        else:
            if state.access_token:
                self.client.access_token = state.access_token
                who = await self.client.whoami()
                if isinstance(who, WhoamiResponse):
                    self.client.restore_login(who.user_id, state.device_id, state.access_token)
                    state.save()
                    return
            self.client.device_id = state.device_id or None
            logged = await self.client.login(settings.password, device_name="govbot")
            if not isinstance(logged, LoginResponse):
                raise SettingsError(f"the homeserver refused the login of {settings.user}: {logged.message}")
            state.device_id, state.access_token = logged.device_id, logged.access_token
            self.client.load_store()
        state.save()
        self.client.next_batch = state.next_batch or None
        if ENCRYPTION_ENABLED:
            for store in self.root.glob("*.db"):
                os.chmod(store, 0o600)

    async def run(self) -> None:
        """Log in, then sync and answer until `stop()`; nothing the homeserver does ends the loop."""
        attempt = 0
        while not self._stopping.is_set():
            try:
                await self.login()
                break
            except SettingsError:
                raise
            except Exception as exc:  # homeserver down during start-up: wait and try again
                log.warning("matrix login failed (%s); retrying", type(exc).__name__)
                await self._pause(_backoff(attempt, self.backoff_max))
                attempt += 1
        attempt = 0
        first = True  # the first sync of a run brings the rooms' whole state (members, encryption)
        while not self._stopping.is_set():
            try:
                response = await self._sync(full_state=first)
            except Exception as exc:
                response = exc
            if self._stopping.is_set():
                break
            if not isinstance(response, SyncResponse):
                self._failed()
                log.warning("matrix sync failed: %s", getattr(response, "message", type(response).__name__))
                await self._pause(_backoff(attempt, self.backoff_max))
                attempt += 1
                continue
            attempt, first = 0, False
            self.health.update(connected=True, last_sync=time.time())
            await self._keys()
            await self.handle(response)
            self.state.next_batch = response.next_batch
            self.state.save()

    async def _sync(self, full_state: bool) -> Any:
        """One long poll, abandoned (None) as soon as `stop()` is called."""
        sync = asyncio.ensure_future(
            self.client.sync(
                timeout=SYNC_TIMEOUT_MS, sync_filter=SYNC_FILTER, since=self.client.next_batch, full_state=full_state
            )
        )
        stop = asyncio.ensure_future(self._stopping.wait())
        await asyncio.wait({sync, stop}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if sync.done():
            return sync.result()
        sync.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sync
        return None

    def _failed(self) -> None:
        """The homeserver did not answer: shown in health until the next successful sync."""
        self.health.update(connected=False, failures=self.health["failures"] + 1)

    async def _keys(self) -> None:
        """Encryption housekeeping after a sync: publish our keys, learn the others' (as sync_forever does)."""
        if not self.client.olm:
            return
        try:
            if self.client.should_upload_keys:
                await self.client.keys_upload()
            if self.client.should_query_keys:
                await self.client.keys_query()
            if self.client.should_claim_keys:
                await self.client.keys_claim(self.client.get_users_for_key_claiming())
        except Exception as exc:  # the next sync tries again
            log.warning("matrix key exchange failed: %s", type(exc).__name__)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    def request_stop(self) -> None:
        """Ask the loop to end after the batch in hand (signal handlers cannot await `stop`)."""
        self._stopping.set()

    async def stop(self) -> None:
        self._stopping.set()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.to_thread(self.conv.log.save_seen)
        await self.client.close()

    # --- one sync batch ----------------------------------------------------------------------------------

    async def handle(self, response: SyncResponse) -> None:
        """Invitations, then every room's new events; the batch is done (and its token saved) after."""
        work = [self._invited(room_id, info.invite_state) for room_id, info in response.rooms.invite.items()]
        work += [self._welcome(room_id) for room_id in response.rooms.join if room_id in self.welcome]
        for room_id, info in response.rooms.join.items():
            work += [self._event(room_id, event.source) for event in info.timeline.events]
        for outcome in await asyncio.gather(*work, return_exceptions=True):
            if isinstance(outcome, Exception):
                log.error("matrix event not handled", exc_info=outcome)

    async def _invited(self, room_id: str, invite_state: list[Any]) -> None:
        me = self.client.user_id
        inviter = next(
            (e.sender for e in invite_state if getattr(e, "state_key", None) == me and hasattr(e, "membership")), ""
        )
        server = inviter.split(":", 1)[1] if ":" in inviter else ""
        if server not in self.settings.servers:
            allowed = ", ".join(sorted(self.settings.servers))
            reason = say("matrix_server_refused", "fr", servers=allowed)
            log.info("matrix invitation from %s declined", server or "an unknown server")
            await self._leave(room_id, reason)
            return
        joined = await self.client.join(room_id)
        if hasattr(joined, "room_id"):
            self.welcome.add(room_id)  # said once the next sync has brought the room (its encryption state)
        else:
            log.warning("matrix join failed: %s", getattr(joined, "message", joined))

    async def _welcome(self, room_id: str) -> None:
        self.welcome.discard(room_id)
        text = say("matrix_joined", "fr")
        room = self.client.rooms.get(room_id)
        if room is not None and room.encrypted and not self.client.olm:
            text += " " + say("matrix_unencrypted_only", "fr")
        await self._send(room_id, text_message(text), {}, f"join-{room_id}")

    async def _leave(self, room_id: str, reason: str) -> None:
        """Decline with a reason the inviter sees (nio's room_leave takes none: its own request, same path)."""
        path = Api._build_path(["rooms", room_id, "leave"])
        try:
            await self.client._send(RoomLeaveResponse, "POST", path, json.dumps({"reason": reason}), (room_id,))
        except Exception as exc:
            log.warning("matrix leave failed: %s", type(exc).__name__)

    async def _event(self, room_id: str, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind not in ("m.room.message", "m.reaction") or event.get("sender") == self.client.user_id:
            return
        if event.get("origin_server_ts", 0) / 1000 < self.started - START_GRACE:
            return
        if kind == "m.reaction":
            await self._reaction(event)
            return
        incoming = await self._incoming(room_id, event)
        # The duplicate filter sees only what is for the bot (room chatter would fill it), just before acting.
        if incoming is not None and _first_time(self.conv, incoming.event_id):
            await self._converse(incoming)

    async def _reaction(self, event: dict[str, Any]) -> None:
        relation = event.get("content", {}).get("m.relates_to", {})
        sent = self.sent.get(relation.get("event_id", ""))
        value = reaction_value(relation.get("key", ""))
        if relation.get("rel_type") == "m.annotation" and sent and sent.feedback and value:
            if _first_time(self.conv, event.get("event_id", "")):
                await _feedback(self.conv, event["sender"], sent.question, value)

    async def _incoming(self, room_id: str, event: dict[str, Any]) -> Incoming | None:
        """A person's text message addressed to the bot, or None (notices, edits, room chatter)."""
        content = event.get("content", {})
        body = content.get("body")
        if content.get("msgtype") != "m.text" or not isinstance(body, str):
            return None  # m.notice is what bots send: never answered, so two bots cannot talk for ever
        relation = content.get("m.relates_to") or {}
        if relation.get("rel_type") == "m.replace":
            return None
        thread_root = relation.get("event_id") if relation.get("rel_type") == "m.thread" else None
        reply_to = None if relation.get("is_falling_back") else (relation.get("m.in_reply_to") or {}).get("event_id")
        room = self.client.rooms.get(room_id)
        direct = room is not None and room.member_count <= 2
        text = self._without_mention(_without_reply_fallback(body), room)
        addressed = (
            direct
            or self._mentions_me(content, room)
            or (thread_root is not None and thread_root in self.threads)
            or (reply_to is not None and await self._is_mine(room_id, reply_to))
        )
        if not addressed:
            return None  # an empty mention is a question too: parse_command makes it "help"
        return Incoming(room_id, event["event_id"], event["sender"], text, direct, thread_root, reply_to)

    def _mentions_me(self, content: dict[str, Any], room: MatrixRoom | None = None) -> bool:
        me = self.client.user_id
        mentions = content.get("m.mentions")
        if isinstance(mentions, dict):  # an intentional mention (Matrix 1.7+) is the whole truth
            return me in (mentions.get("user_ids") or [])
        html = str(content.get("formatted_body", ""))
        return me in str(content.get("body", "")) or f"matrix.to/#/{me}" in html or self._named(content["body"], room)

    def _names(self, room: MatrixRoom | None = None) -> list[str]:
        """What people type or pills write for the bot: its user id's local part, its display name here."""
        names = [self.client.user_id[1:].split(":", 1)[0]]
        shown = room.user_name(self.client.user_id) if room is not None else None
        return names + [shown] if shown and shown not in names else names

    def _named(self, body: str, room: MatrixRoom | None = None) -> bool:
        """Older clients write "govbot: question" when the bot is picked from the member list."""
        return any(re.match(rf"\s*{re.escape(name)}\s*[:,]", body, re.IGNORECASE) for name in self._names(room))

    def _without_mention(self, text: str, room: MatrixRoom | None = None) -> str:
        text = text.replace(self.client.user_id, " ")
        for name in self._names(room):
            text = re.sub(rf"^\s*@?{re.escape(name)}\s*[:,]?\s*", "", text, flags=re.IGNORECASE)
        return text.strip()

    async def _is_mine(self, room_id: str, event_id: str) -> bool:
        """A reply to the bot: known from memory, else asked of the homeserver (after a restart)."""
        if event_id in self.sent:
            return True
        got = await self.client.room_get_event(room_id, event_id)
        return getattr(getattr(got, "event", None), "sender", None) == self.client.user_id

    # --- one conversation turn ---------------------------------------------------------------------------

    def _offer(self, incoming: Incoming) -> Sent | None:
        """The bot message a short reply ("2", "plus") refers to: the one replied to, else the latest here."""
        if incoming.reply_to in self.sent:
            return self.sent[incoming.reply_to]
        latest = self.latest.get((incoming.room_id, incoming.thread_root or ""))
        return self.sent.get(latest) if latest else None

    async def _converse(self, incoming: Incoming) -> None:
        offer = self._offer(incoming)
        text = incoming.text
        if offer and offer.rest and wants_more(text):
            message = more_message(offer.rest, offer.lang)
            await self._reply(incoming, message, Sent(offer.question, offer.lang, rest=message.rest))
            return
        if offer and offer.choices:
            text = pick_choice(text, offer.choices) or text
        reply = await _turn(self.conv, incoming.sender, incoming.room_id, text)
        if reply.answer is None:  # admin output, a refusal, a limit, "not ready", an error with its reference
            await self._reply(incoming, text_message(reply.text, reply.lang), None)
            if reply.background is not None:
                self._spawn(self._report(incoming, reply))
            return
        message = answer_message(reply.answer, reply.as_of)
        feedback = wants_feedback(reply.answer)
        await self._reply(incoming, message, Sent(text, reply.lang, message.choices, message.rest, feedback))

    async def _report(self, incoming: Incoming, reply: Reply) -> None:
        assert reply.background is not None
        report = await reply.background()
        await self._reply(incoming, text_message(report, reply.lang), None, part="report")

    def _spawn(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _reply(self, incoming: Incoming, message: MatrixMessage, sent: Sent | None, part: str = "") -> None:
        """In the question's thread (rooms) or as a reply to it (direct messages), and remembered."""
        if incoming.direct and not incoming.thread_root:
            relates: dict[str, Any] = {"m.in_reply_to": {"event_id": incoming.event_id}}
            where = ""
        else:
            root = incoming.thread_root or incoming.event_id
            relates = {
                "rel_type": "m.thread",
                "event_id": root,
                "is_falling_back": True,
                "m.in_reply_to": {"event_id": incoming.event_id},
            }
            where = root
            self.threads[root] = None
            _limit(self.threads)
        event_id = await self._send(incoming.room_id, message, relates, f"{incoming.event_id}-{part}")
        if event_id is None and "rel_type" in relates:  # a thread the homeserver refuses: a plain reply then
            plain = {"m.in_reply_to": {"event_id": incoming.event_id}}
            event_id = await self._send(incoming.room_id, message, plain, f"{incoming.event_id}-{part}-reply")
        if event_id and sent is not None:
            self.sent[event_id] = sent
            _limit(self.sent)
            if sent.choices or sent.rest:  # what a bare "2" or "plus" here refers to: the bot's latest message
                self.latest[(incoming.room_id, where)] = event_id
                _limit(self.latest)
            else:
                self.latest.pop((incoming.room_id, where), None)

    async def _send(self, room_id: str, message: MatrixMessage, relates: dict[str, Any], key: str) -> str | None:
        """Send, retrying with backoff: while the homeserver is unreachable for as long as it takes, a refusal
        a few times. The transaction id (from the question) makes a retried send one message, never two."""
        content = message.content() | ({"m.relates_to": relates} if relates else {})
        tx_id = "govbot-" + re.sub(r"[^A-Za-z0-9._-]", "_", key)[:200]
        attempt = refusals = 0
        while not self._stopping.is_set() and refusals < SEND_ATTEMPTS:
            try:
                response = await self.client.room_send(
                    room_id, "m.room.message", content, tx_id=tx_id, ignore_unverified_devices=True
                )
            except NETWORK_ERRORS as exc:  # the homeserver is away: wait for it, however long
                self._failed()
                log.warning("matrix send failed: %s", type(exc).__name__)
            except Exception as exc:
                refusals += 1
                log.warning("matrix send failed: %r", exc)
            else:
                if isinstance(response, RoomSendResponse):
                    return response.event_id
                refusals += 1
                log.warning("matrix send refused: %s %s", response.status_code, response.message)
                if getattr(getattr(response, "transport_response", None), "status", 500) < 500:
                    break  # the homeserver will not take it (429s are waited out inside nio)
            await self._pause(_backoff(attempt, self.backoff_max))
            attempt += 1
        log.error("matrix message to %s not delivered", room_id)
        return None


# --- running it ---------------------------------------------------------------------------------------------


MATRIX = web.AppKey("govbot.matrix", MatrixBot)


def mount(app: web.Application, conv: Conversation) -> bool:
    """Run the bot inside `govbot serve` when GOVBOT_MATRIX_HOMESERVER is set; `app[MATRIX].health` tells
    /healthz and /metrics how it is doing."""
    if not os.environ.get("GOVBOT_MATRIX_HOMESERVER"):
        return False
    bot = app[MATRIX] = MatrixBot(conv, Settings.from_env())
    if FRONT_END_HEALTH in app:  # inside govbot serve: /healthz and /metrics show the sync loop's state
        app[FRONT_END_HEALTH]["matrix"] = lambda: bot.health

    async def running(_app: web.Application) -> AsyncIterator[None]:
        task = asyncio.ensure_future(bot.run())
        task.add_done_callback(_report_end)
        yield
        await bot.stop()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    app.cleanup_ctx.append(running)
    return True


def _report_end(task: asyncio.Task[None]) -> None:
    """The web service keeps serving if the Matrix bot stops for good (refused credentials): say so loudly."""
    if not task.cancelled() and task.exception() is not None:
        log.error("the Matrix front end stopped: %s", task.exception())


async def _run(bot: MatrixBot) -> None:
    """Until SIGTERM or SIGINT: then the batch in hand is finished and the state saved before exiting."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, bot.request_stop)
    try:
        await bot.run()
    finally:
        await bot.stop()


def main(args: argparse.Namespace) -> int:
    """`govbot matrix`: the Matrix front end alone, until Ctrl-C or SIGTERM."""
    from .settings import configure_logging, open_kb

    configure_logging()
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"{exc} (see docs/matrix.md).", file=sys.stderr)
        return 2
    bot = MatrixBot(Conversation(open_kb(getattr(args, "db", None))), settings)
    try:
        asyncio.run(_run(bot))
    except SettingsError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0
