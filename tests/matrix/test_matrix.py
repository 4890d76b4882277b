"""govbot on a real Synapse: a person (matrix-nio) talks to the bot as on Tchap, over loopback."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import signal
import sqlite3
import stat
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

import bot.matrix as matrix
import bot.matrix_render as matrix_render
from bot.conversation import Conversation
from bot.matrix import MATRIX, MatrixBot, Settings, mount
from bot.server import create_app
from knowledge import KnowledgeBase
from knowledge.phrases import say
from tests.homeserver import Account, Homeserver
from tests.matrix.person import Person, thread_of


def account(homeserver: Homeserver, name: str, *, admin: bool = False) -> Account:
    return homeserver.register(f"{name}-{secrets.token_hex(3)}", admin=admin)


@contextlib.asynccontextmanager
async def running(
    kb: KnowledgeBase, homeserver: Homeserver, me: Account, *, token: bool = False, **settings: Any
) -> AsyncIterator[MatrixBot]:
    """The bot, logged in and through its first sync."""
    credentials = {"token": me.access_token} if token else {"password": me.password}
    settings = Settings(homeserver.url, me.user_id, **credentials, **settings)
    bot = MatrixBot(Conversation(kb, admins={}), settings, backoff_max=1.0)
    task = asyncio.ensure_future(bot.run())
    try:
        deadline = time.monotonic() + 60
        while not bot.health["connected"]:
            assert not task.done(), task.exception()
            assert time.monotonic() < deadline, "the bot never synced"
            await asyncio.sleep(0.05)
        yield bot
    finally:
        await bot.stop()
        await task


@contextlib.asynccontextmanager
async def person(homeserver: Homeserver, who: Account) -> AsyncIterator[Person]:
    someone = Person(homeserver, who)
    try:
        yield someone
    finally:
        await someone.close()


async def direct_room(alice: Person, bot: Account) -> str:
    room = await alice.room(bot.user_id, direct=True)
    await alice.joined(room, bot.user_id)
    return room


def body(event: dict[str, Any]) -> str:
    return event["content"]["body"]


async def test_a_direct_message_gets_a_sourced_answer_as_a_reply(kb: KnowledgeBase, homeserver: Homeserver) -> None:
    me, human = account(homeserver, "govbot"), account(homeserver, "alice")
    async with running(kb, homeserver, me), person(homeserver, human) as alice:
        room = await direct_room(alice, me)
        asked = await alice.send(room, "Où en est l'objectif 12 ?")
        answer = await alice.answer_to(asked, me.user_id)
    content = answer["content"]
    assert content["msgtype"] == "m.text" and content["format"] == "org.matrix.custom.html"
    assert (
        '<a href="https://example.org/ght/bilan-2024-12">Bilan semestriel décembre 2024</a>'
        in content["formatted_body"]
    )
    assert "Statut : en cours" in content["body"] and "https://example.org/ght/bilan-2024-12" in content["body"]
    assert content["m.mentions"] == {}  # pings no one
    assert thread_of(answer) is None  # a direct message is answered as a reply, not in a thread


async def test_a_mention_in_a_room_gets_an_answer_in_its_thread(kb: KnowledgeBase, homeserver: Homeserver) -> None:
    me, human, other = account(homeserver, "govbot"), account(homeserver, "alice"), account(homeserver, "carol")
    homeserver.set_display_name(me, "govbot")
    async with running(kb, homeserver, me), person(homeserver, human) as alice:
        room = await alice.room(me.user_id, other.user_id)
        await alice.joined(room, me.user_id)
        chatter = await alice.send(room, "Où en est l'objectif 12 ? (entre nous)")
        pill = f'<a href="https://matrix.to/#/{me.user_id}">govbot</a>'
        asked = await alice.send(
            room,
            "govbot: Où en est l'objectif 12 ?",
            format="org.matrix.custom.html",
            formatted_body=f"{pill}: Où en est l'objectif 12 ?",
            **{"m.mentions": {"user_ids": [me.user_id]}},
        )
        answer = await alice.answer_to(asked, me.user_id)
        assert thread_of(answer) == asked and "Statut : en cours" in body(answer)
        # In the thread the bot answers, a follow-up needs no mention.
        relates = {"rel_type": "m.thread", "event_id": asked, "is_falling_back": True}
        follow = await alice.send(
            room,
            "Qui dirige l'ANS ?",
            **{"m.relates_to": relates | {"m.in_reply_to": {"event_id": answer["event_id"]}}},
        )
        second = await alice.answer_to(follow, me.user_id)
        assert thread_of(second) == asked and kb.ask("Qui dirige l'ANS ?").text.split(".")[0] in body(second)
        assert alice.replies_to(chatter, me.user_id) == []  # room chatter is not for the bot
    logged = sqlite3.connect(kb.path / "questions.sqlite").execute("SELECT question FROM questions ORDER BY ts")
    assert [q for (q,) in logged] == ["Où en est l'objectif 12 ?", "Qui dirige l'ANS ?"]  # the pill's name is dropped


async def test_a_numbered_choice_is_answered_by_its_number_or_its_words(
    kb: KnowledgeBase, homeserver: Homeserver
) -> None:
    me, human = account(homeserver, "govbot"), account(homeserver, "alice")
    offered = kb.ask("dossier patient").choices  # two objectives match: govbot asks which one
    assert len(offered) >= 2
    async with running(kb, homeserver, me), person(homeserver, human) as alice:
        room = await direct_room(alice, me)
        asked = await alice.send(room, "dossier patient")
        choices = await alice.answer_to(asked, me.user_id)
        assert f"2. {offered[1]['label']}" in body(choices) and "<ol>" in choices["content"]["formatted_body"]
        second = await alice.send(room, "2")
        picked = await alice.answer_to(second, me.user_id)
        assert kb.ask(offered[1]["query"]).text.splitlines()[0] in body(picked)
        # The choice's words, as a reply to the choices message.
        words = next(w for w in offered[0]["label"].split() if len(w) > 4 and w not in offered[1]["label"])
        reply = {"m.relates_to": {"m.in_reply_to": {"event_id": choices["event_id"]}}}
        named = await alice.send(room, f"> <{me.user_id}> …\n\n{words}", **reply)
        first = await alice.answer_to(named, me.user_id)
        assert kb.ask(offered[0]["query"]).text.splitlines()[0] in body(first)


async def test_a_long_answer_in_a_thread_continues_on_plus(
    kb: KnowledgeBase, homeserver: Homeserver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(matrix_render, "LINES_SHOWN", 1)  # the test knowledge has no answer long enough
    me, human, other = account(homeserver, "govbot"), account(homeserver, "alice"), account(homeserver, "carol")
    lines = kb.ask("quels objectifs sont en retard ?").text.splitlines()
    assert len(lines) == 2
    async with running(kb, homeserver, me), person(homeserver, human) as alice:
        room = await alice.room(me.user_id, other.user_id)
        await alice.joined(room, me.user_id)
        mention = {"m.mentions": {"user_ids": [me.user_id]}}
        asked = await alice.send(room, f"{me.user_id} quels objectifs sont en retard ?", **mention)
        first = await alice.answer_to(asked, me.user_id)
        assert lines[0] in body(first) and lines[1] not in body(first) and say("matrix_more", "fr") in body(first)
        relates = {"rel_type": "m.thread", "event_id": asked, "is_falling_back": True}
        more = await alice.send(room, "plus", **{"m.relates_to": relates | {"m.in_reply_to": {"event_id": asked}}})
        rest = await alice.answer_to(more, me.user_id)
        assert thread_of(rest) == asked and body(rest) == lines[1]
        # All said: "plus" is now a question like any other, not the same part again.
        again = await alice.send(room, "plus", **{"m.relates_to": relates | {"m.in_reply_to": {"event_id": asked}}})
        assert body(await alice.answer_to(again, me.user_id)) != lines[1]


async def test_a_thumbs_reaction_on_an_answer_is_recorded_as_feedback(
    kb: KnowledgeBase, homeserver: Homeserver
) -> None:
    me, human = account(homeserver, "govbot"), account(homeserver, "alice")
    feedback = sqlite3.connect(kb.path / "questions.sqlite")
    async with running(kb, homeserver, me), person(homeserver, human) as alice:
        room = await direct_room(alice, me)
        asked = await alice.send(room, "Où en est l'objectif 12 ?")
        answer = await alice.answer_to(asked, me.user_id)
        assert say("matrix_feedback", "fr") in body(answer)
        await alice.react(room, asked, "👎")  # on the question, not an answer: not feedback
        await alice.react(room, answer["event_id"], "👍️")  # with the emoji selector, as Element sends it
        deadline = time.monotonic() + 30
        while not feedback.execute("SELECT value FROM feedback").fetchall() and time.monotonic() < deadline:
            await alice.sync()
    assert feedback.execute("SELECT value FROM feedback").fetchall() == [("up",)]


async def test_refresh_is_refused_to_a_member_and_run_and_reported_for_an_admin(
    kb: KnowledgeBase, homeserver: Homeserver
) -> None:
    me, member, boss = account(homeserver, "govbot"), account(homeserver, "bob"), account(homeserver, "admin")
    async with (
        running(kb, homeserver, me, admins=frozenset({boss.user_id})),
        person(homeserver, member) as bob,
        person(homeserver, boss) as admin,
    ):
        room = await direct_room(bob, me)
        refused = await bob.answer_to(await bob.send(room, "refresh"), me.user_id)
        assert body(refused) == say("not_admin", "fr")
        room = await direct_room(admin, me)
        asked = await admin.send(room, "refresh")
        started = await admin.answer_to(asked, me.user_id)
        assert body(started) == say("refresh_started", "fr")
        await admin.wait_for(
            lambda e: any(body(r).startswith("Base mise à jour") for r in admin.replies_to(asked, me.user_id))
        )
    outcomes = sqlite3.connect(kb.path / "questions.sqlite").execute("SELECT outcome FROM admin_actions").fetchall()
    assert sorted(o for (o,) in outcomes) == ["ok", "refused", "started"]


async def test_an_invitation_from_a_server_not_allowed_is_declined_with_a_reason(
    kb: KnowledgeBase, homeserver: Homeserver
) -> None:
    me, human = account(homeserver, "govbot"), account(homeserver, "alice")
    async with running(kb, homeserver, me, allowed_servers=frozenset({"agent.tchap.gouv.fr"})):
        async with person(homeserver, human) as alice:
            room = await alice.room(me.user_id, direct=True)
            left = await alice.wait_for(
                lambda e: (
                    e.get("room_id") == room
                    and e.get("state_key") == me.user_id
                    and e.get("content", {}).get("membership") == "leave"
                )
            )
    assert left["content"]["reason"] == say("matrix_server_refused", "fr", servers="agent.tchap.gouv.fr")


async def test_a_restarted_bot_keeps_its_device_and_answers_nothing_twice(
    kb: KnowledgeBase, homeserver: Homeserver
) -> None:
    me, human = account(homeserver, "govbot"), account(homeserver, "alice")
    state = kb.path / "matrix" / "state.json"
    async with person(homeserver, human) as alice:
        async with running(kb, homeserver, me):
            room = await direct_room(alice, me)
            before = state.read_bytes()  # a sync token from before the question
            first = await alice.send(room, "Où en est l'objectif 12 ?")
            await alice.answer_to(first, me.user_id)
        devices = homeserver.devices(me)
        assert stat.S_IMODE(state.stat().st_mode) == 0o600 and json.loads(state.read_text())["next_batch"]
        # As if the bot had crashed after answering but before saving its token: the sync delivers again.
        state.write_bytes(before)
        async with running(kb, homeserver, me):
            second = await alice.send(room, "Qui dirige l'ANS ?")
            await alice.answer_to(second, me.user_id)
        async with running(kb, homeserver, me):
            third = await alice.send(room, "aide")
            await alice.answer_to(third, me.user_id)
        assert len(alice.replies_to(first, me.user_id)) == 1
        assert len(alice.replies_to(second, me.user_id)) == 1
    assert homeserver.devices(me) == devices  # no new device for a restart


async def test_notices_and_messages_from_before_the_start_are_not_answered(
    kb: KnowledgeBase, homeserver: Homeserver, monkeypatch: pytest.MonkeyPatch
) -> None:
    me, human = account(homeserver, "govbot"), account(homeserver, "alice")
    monkeypatch.setattr(matrix, "START_GRACE", 0)
    async with person(homeserver, human) as alice:
        async with running(kb, homeserver, me):
            room = await direct_room(alice, me)
        old = await alice.send(room, "Où en est l'objectif 12 ?")  # while the bot is away
        await asyncio.sleep(1.1)  # timestamps are in milliseconds; the next start is strictly later
        async with running(kb, homeserver, me):
            notice = await alice.send(room, "Où en est l'objectif 12 ?", msgtype="m.notice")
            asked = await alice.send(room, "Qui dirige l'ANS ?")
            await alice.answer_to(asked, me.user_id)
        assert alice.replies_to(old, me.user_id) == [] and alice.replies_to(notice, me.user_id) == []
        bots = [e for e in alice.events if e.get("sender") == me.user_id and e.get("type") == "m.room.message"]
        mine = {e["event_id"] for e in bots}
        replied = [e["content"].get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id") for e in bots]
        assert mine and not mine & set(replied)  # the bot never answered one of its own messages


async def test_killing_the_homeserver_mid_conversation_loses_no_question(
    kb: KnowledgeBase, homeserver: Homeserver
) -> None:
    me, human = account(homeserver, "govbot"), account(homeserver, "alice")
    async with running(kb, homeserver, me) as bot, person(homeserver, human) as alice:
        room = await direct_room(alice, me)
        await alice.answer_to(await alice.send(room, "aide"), me.user_id)
        during = await alice.send(room, "Où en est l'objectif 12 ?")
        homeserver.kill()
        await asyncio.to_thread(homeserver.start)
        after = await alice.send(room, "Qui dirige l'ANS ?")
        await alice.answer_to(after, me.user_id)
        await alice.answer_to(during, me.user_id)
        assert bot.health["failures"] > 0  # the bot did see the homeserver go
        await alice.sync(timeout=1000)
    assert len(alice.replies_to(during, me.user_id)) == 1 and len(alice.replies_to(after, me.user_id)) == 1


async def test_a_rate_limited_bot_waits_and_answers_every_question_once(
    kb: KnowledgeBase, homeserver: Homeserver, caplog: pytest.LogCaptureFixture
) -> None:
    me, human, boss = account(homeserver, "govbot"), account(homeserver, "alice"), account(homeserver, "op", admin=True)
    homeserver.limit_messages(me, boss, per_second=1, burst=1)
    async with running(kb, homeserver, me, token=True), person(homeserver, human) as alice:
        room = await direct_room(alice, me)
        caplog.set_level(logging.WARNING, logger="nio")
        asked = [await alice.send(room, q) for q in ("aide", "Qui dirige l'ANS ?", "Où en est l'objectif 12 ?")]
        for question in asked:
            await alice.answer_to(question, me.user_id)
        await alice.sync(timeout=1000)
    assert any("429" in r.getMessage() for r in caplog.records)  # Synapse did refuse, and the bot waited
    assert [len(alice.replies_to(q, me.user_id)) for q in asked] == [1, 1, 1]


async def test_an_encrypted_direct_message_gets_an_encrypted_answer(
    kb: KnowledgeBase, homeserver: Homeserver, tmp_path: Any
) -> None:
    me, human = account(homeserver, "govbot"), account(homeserver, "alice")
    alice = Person(homeserver, human, store=tmp_path / "alice-keys")
    try:
        async with running(kb, homeserver, me):
            await alice.sync()  # publishes alice's device keys
            room = await alice.room(me.user_id, direct=True, encrypted=True)
            await alice.joined(room, me.user_id)
            asked = await alice.send(room, "Où en est l'objectif 12 ?")
            answer = await alice.answer_to(asked, me.user_id)
    finally:
        await alice.close()
    assert "Statut : en cours" in body(answer)
    on_the_server = homeserver.event(human, room, answer["event_id"])
    assert on_the_server["type"] == "m.room.encrypted" and "body" not in on_the_server["content"]
    keys = list((kb.path / "matrix").glob("*.db"))
    assert keys and all(stat.S_IMODE(k.stat().st_mode) == 0o600 for k in keys)


async def test_inside_the_web_service_the_bot_starts_and_stops_with_it(
    kb: KnowledgeBase, homeserver: Homeserver, monkeypatch: pytest.MonkeyPatch
) -> None:
    conv = Conversation(kb, admins={})
    assert not mount(web.Application(), conv)  # not configured: nothing runs
    me, human = account(homeserver, "govbot"), account(homeserver, "alice")
    monkeypatch.setenv("GOVBOT_MATRIX_HOMESERVER", homeserver.url)
    monkeypatch.setenv("GOVBOT_MATRIX_USER", me.user_id)
    monkeypatch.setenv("GOVBOT_MATRIX_PASSWORD", me.password)
    app = create_app(conv, front_ends=("matrix",))  # what govbot serve mounts when Matrix is configured
    assert MATRIX in app
    server = TestServer(app, host="127.0.0.1")
    async with TestClient(server) as client:
        async with person(homeserver, human) as alice:
            room = await direct_room(alice, me)
            asked = await alice.send(room, "Où en est l'objectif 12 ?")
            await alice.answer_to(asked, me.user_id)
        health = await (await client.get("/healthz")).json()
        assert health["front_ends"]["matrix"]["connected"] is True
        metrics = await (await client.get("/metrics")).text()
        assert 'govbot_front_end_connected{front_end="matrix"} 1' in metrics
    assert app[MATRIX].client.client_session is None  # stopped with the service


async def test_govbot_matrix_answers_and_ends_cleanly_on_sigterm(kb: KnowledgeBase, homeserver: Homeserver) -> None:
    me, human = account(homeserver, "govbot"), account(homeserver, "alice")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVBOT_")} | {
        "GOVBOT_DB": str(kb.path),
        "GOVBOT_MATRIX_HOMESERVER": homeserver.url,
        "GOVBOT_MATRIX_USER": me.user_id,
        "GOVBOT_MATRIX_PASSWORD": me.password,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "matrix", env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        async with person(homeserver, human) as alice:
            room = await direct_room(alice, me)
            await alice.answer_to(await alice.send(room, "Où en est l'objectif 12 ?"), me.user_id)
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert json.loads((kb.path / "matrix" / "state.json").read_text())["next_batch"]
    assert me.password not in (await process.stderr.read()).decode()  # type: ignore[union-attr]


def test_govbot_matrix_without_settings_says_what_is_missing(capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import main

    assert main(["matrix"]) == 2
    assert "GOVBOT_MATRIX_HOMESERVER" in capsys.readouterr().err


async def test_without_encryption_support_the_bot_says_so_when_it_joins_an_encrypted_room(
    kb: KnowledgeBase, homeserver: Homeserver, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setattr(matrix, "ENCRYPTION_ENABLED", False)  # as if vodozemac could not be installed
    me, human = account(homeserver, "govbot"), account(homeserver, "alice")
    alice = Person(homeserver, human, store=tmp_path / "alice-keys")
    try:
        async with running(kb, homeserver, me) as bot:
            assert bot.client.olm is None
            room = await alice.room(me.user_id, direct=True, encrypted=True)
            hello = await alice.wait_for(
                lambda e: (
                    e.get("room_id") == room and e.get("sender") == me.user_id and e.get("type") == "m.room.message"
                )
            )
    finally:
        await alice.close()
    assert body(hello).endswith(say("matrix_unencrypted_only", "fr"))
