"""The Slack front end over real HTTP: signed requests into the real bolt app, answers caught by a fake Slack."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from slack_sdk.models.blocks import Block

from bot.cli import main as cli_main
from bot.conversation import Conversation
from bot.slack import api_base_url, mount, socket_handler
from bot.slack_blocks import answer_message
from knowledge import Answer, KnowledgeBase
from knowledge.phrases import say
from tests.fakes.service import serve_folder
from tests.fakes.slack_api import (
    ADMIN,
    APP_TOKEN,
    BOT_ID,
    BOT_TOKEN,
    BOT_USER,
    USER,
    FakeSlack,
    SlackRig,
    barrier_dm,
    blocks_text,
    button,
    buttons,
    dm,
    event_body,
    mention,
    start_rig,
)

ATLAS_SOURCE = "<https://example.org/ght/schema-directeur|"
QUESTION = "qui pilote le programme Atlas ?"
MANIFEST = Path(__file__).parent.parent / "slack" / "manifest.yaml"


@pytest.fixture
async def slack(kb, monkeypatch, aiohttp_server, aiohttp_client) -> SlackRig:
    return await start_rig(kb, monkeypatch, aiohttp_server, aiohttp_client)


def rows(conv: Conversation, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(conv.log.path) as db:
        return db.execute(sql).fetchall()


async def test_mention_is_answered_once_in_its_thread_with_a_source_link(slack: SlackRig) -> None:
    assert await slack.event(mention(QUESTION, ts="1700000100.000200")) == 200
    [posted] = await slack.fake.wait_for("chat.postMessage")
    await slack.barrier()
    assert len(slack.fake.of("chat.postMessage")) == 1
    assert posted["channel"] == "C1" and posted["thread_ts"] == "1700000100.000200"
    assert ATLAS_SOURCE in blocks_text(posted)
    assert "Programme Atlas" in posted["text"]  # the plain fallback is always there
    assert "Base du 2024-12-20" in blocks_text(posted)  # the knowledge date
    assert {b["action_id"] for b in buttons(posted)} == {"govbot_feedback_up", "govbot_feedback_down"}
    # It went through the Web API URL given without its trailing slash, with the bot token.
    call = slack.fake.attempts("chat.postMessage")[0]
    assert call.path == "/api/chat.postMessage" and call.token == BOT_TOKEN


async def test_every_question_is_logged_with_a_user_hash_never_the_id(slack: SlackRig) -> None:
    await slack.event(mention(QUESTION))
    await slack.event(mention("quelle est la couleur du ciel ?"))
    await slack.fake.wait_for("chat.postMessage", 2)
    logged = rows(slack.conv, "SELECT user_hash, question, intent, answered FROM questions ORDER BY question")
    assert [(q, a) for _, q, _, a in logged] == [
        ("quelle est la couleur du ciel ?", 0),
        ("qui pilote le programme Atlas ?", 1),
    ]
    assert all(h != USER and USER not in h for h, *_ in logged)
    assert USER.encode() not in Path(slack.conv.log.path).read_bytes()


async def test_direct_message_is_answered_in_the_dm(slack: SlackRig) -> None:
    assert await slack.event(dm("who owns Atlas?")) == 200
    [posted] = await slack.fake.wait_for("chat.postMessage")
    assert posted["channel"] == "D1" and "thread_ts" not in posted
    assert ATLAS_SOURCE in blocks_text(posted)
    assert "is owned by" in posted["text"]  # English question, English answer


@pytest.mark.parametrize(
    "event",
    [
        dm("hello from a bot", bot_id="B999", subtype="bot_message"),
        dm("my own answer", user=BOT_USER, bot_id=BOT_ID),  # govbot itself
        dm("edited", subtype="message_changed"),
        dm("", subtype="message_deleted"),
        {**dm("a channel message"), "channel_type": "channel"},
        {**mention("from another bot"), "bot_id": "B999"},
    ],
)
async def test_bots_edits_deletions_and_channel_chatter_are_ignored(slack: SlackRig, event: dict) -> None:
    assert await slack.event(event) == 200
    await slack.barrier()
    assert slack.fake.posted() == []
    assert rows(slack.conv, "SELECT count(*) FROM questions") == [(0,)]


async def test_slash_command_answers_ephemerally_and_share_posts_it_in_the_channel(slack: SlackRig) -> None:
    assert await slack.command(QUESTION) == 200  # acked before the answer: test_the_ack_never_waits_for_the_answer
    [private] = await slack.fake.wait_for("respond")
    assert private["response_type"] == "ephemeral" and ATLAS_SOURCE in blocks_text(private)
    share = button(private, "govbot_share")
    assert share["text"]["text"] == say("share", "fr")
    assert slack.fake.of("chat.postMessage") == []  # nothing public yet

    assert await slack.click(share, ephemeral=True) == 200
    responses = await slack.fake.wait_for("respond", 3)
    public, cleanup = responses[1], responses[2]
    assert public["response_type"] == "in_channel" and ATLAS_SOURCE in blocks_text(public)
    assert f"<@{USER}>" in blocks_text(public)  # who asked
    assert "govbot_share" not in blocks_text(public)
    assert cleanup["delete_original"] is True and cleanup["_key"] == public["_key"]
    # Sharing is not a second question.
    assert rows(slack.conv, "SELECT count(*) FROM questions") == [(1,)]


async def test_a_choice_button_answers_that_choice_in_place(slack: SlackRig) -> None:
    await slack.event(mention("dossier patient"))
    [asked_back] = await slack.fake.wait_for("chat.postMessage")
    choices = [b for b in buttons(asked_back) if b["action_id"].startswith("govbot_choice_")]
    assert [c["text"]["text"] for c in choices] == [
        "Objectif 2.10 — Plan de reprise d'activité du dossier patient",
        "Objectif 12 — Interopérabilité du dossier patient avec les laboratoires de…",
    ]
    assert await slack.click(choices[0]) == 200
    [answer] = await slack.fake.wait_for("respond")
    assert answer["replace_original"] is True
    assert answer["text"].startswith("Objectif 2.10 ")  # in the asker's language
    assert "Plan de reprise" in answer["text"] and len(slack.fake.posted()) == 2


async def test_feedback_is_logged_and_thanked(slack: SlackRig) -> None:
    await slack.event(mention(QUESTION))
    [posted] = await slack.fake.wait_for("chat.postMessage")
    assert await slack.click(button(posted, "govbot_feedback_down"), user="UBOB") == 200
    [thanks] = await slack.fake.wait_for("respond")
    assert thanks["response_type"] == "ephemeral" and thanks["replace_original"] is False
    assert say("feedback_thanks", "fr") in thanks["text"]
    [(user_hash, question, value)] = rows(slack.conv, "SELECT user_hash, question, value FROM feedback")
    assert (question, value) == ("qui pilote le programme Atlas ?", "down") and "UBOB" not in user_hash


async def test_help_for_an_empty_mention_and_for_slash_help(slack: SlackRig) -> None:
    await slack.event(mention(""))
    [posted] = await slack.fake.wait_for("chat.postMessage")
    assert posted["text"].startswith(say("help_title", "fr"))
    assert "7 objectifs" in blocks_text(posted)
    assert not [b for b in buttons(posted) if b["action_id"].startswith("govbot_feedback")]
    await slack.command("help")
    [helped] = await slack.fake.wait_for("respond")
    assert say("help_title", "en") in helped["text"] and "7 objectives" in blocks_text(helped)
    assert rows(slack.conv, "SELECT count(*) FROM questions") == [(0,)]  # help is not a question


async def test_app_home_shows_description_examples_date_and_counts(slack: SlackRig) -> None:
    event = {"type": "app_home_opened", "user": USER, "channel": "D1", "tab": "home"}
    assert await slack.event(event) == 200
    [published] = await slack.fake.wait_for("views.publish")
    assert published["user_id"] == USER and published["view"]["type"] == "home"
    home = json.dumps(published["view"], ensure_ascii=False)
    for expected in (say("home_title", "fr"), say("home_title", "en"), *slack.conv.examples("fr")):
        assert expected in home
    assert "Base du 2024-12-20" in home and "7 objectifs" in home and "7 objectives" in home
    await slack.event({**event, "tab": "messages"})
    await slack.barrier()
    assert len(slack.fake.of("views.publish")) == 1


async def test_admin_refresh_acks_then_posts_the_report(
    monkeypatch, aiohttp_server, aiohttp_client, tmp_path: Path
) -> None:
    kb = KnowledgeBase(tmp_path / "kb")
    kb.refresh([], bundled=True)  # an admin refresh adds to the bundled knowledge
    slack = await start_rig(kb, monkeypatch, aiohttp_server, aiohttp_client)
    orion = (
        "source: {title: Feuille Orion, url: 'https://example.org/orion', published: 2025-02-01}\n"
        "programmes:\n  - {id: ORION, name: Programme Orion, summary: Un programme de test.}\n"
    )
    held = asyncio.Event()  # the source is held back until the command has been acked

    async def source(request: web.Request) -> web.Response:
        await held.wait()
        return web.Response(text=orion, content_type="application/yaml")

    sources = web.Application()
    sources.router.add_get("/orion.yaml", source)
    server = await aiohttp_server(sources)
    before = kb.info()["version"]
    monkeypatch.setenv("GOVBOT_FETCH_ALLOW", "127.0.0.1")  # the local source server
    assert await slack.command(f"refresh <{server.make_url('/orion.yaml')}>", user=ADMIN) == 200
    assert kb.info()["version"] == before  # acked while the refresh could not have finished
    held.set()
    started, report = await slack.fake.wait_for("respond", 2)
    assert started["text"] == say("refresh_started", "fr")
    assert report["text"].startswith("Base mise à jour") and "programmes" in report["text"]
    assert kb.info()["version"] != before
    actions = rows(slack.conv, "SELECT user_hash, action, outcome FROM admin_actions ORDER BY ts")
    assert [(a, o) for _, a, o in actions] == [("refresh", "started"), ("refresh", "ok")]
    assert all(ADMIN not in h for h, *_ in actions)
    # The new knowledge answers at once.
    await slack.event(mention("c'est quoi le programme Orion ?"))
    [posted] = await slack.fake.wait_for("chat.postMessage")
    assert "<https://example.org/orion|Feuille Orion>" in blocks_text(posted)


async def test_a_failed_refresh_posts_the_errors_and_the_old_knowledge_answers(
    slack: SlackRig, tmp_path: Path, aiohttp_server, monkeypatch
) -> None:
    monkeypatch.setenv("GOVBOT_FETCH_ALLOW", "127.0.0.1")  # the local source server
    bad = tmp_path / "broken.yaml"
    bad.write_text("programmes: [ {id: X, name: 'unterminated }\n", encoding="utf-8")
    before = slack.conv.kb.info()["version"]
    base = await serve_folder(aiohttp_server, tmp_path)
    await slack.command(f"refresh {base}/broken.yaml", user=ADMIN)
    _, report = await slack.fake.wait_for("respond", 2)
    assert report["text"].startswith("La mise à jour a échoué") and "broken.yaml" in report["text"]
    assert slack.conv.kb.info()["version"] == before
    await slack.event(mention(QUESTION))
    [posted] = await slack.fake.wait_for("chat.postMessage")
    assert ATLAS_SOURCE in blocks_text(posted)


async def test_admin_refresh_refused_for_a_non_admin(slack: SlackRig, tmp_path: Path) -> None:
    before = slack.conv.kb.info()["version"]
    assert await slack.command("refresh https://example.org/plan.yaml", user=USER) == 200
    [refusal] = await slack.fake.wait_for("respond")
    await slack.barrier()
    assert refusal["response_type"] == "ephemeral" and refusal["text"] == say("not_admin", "fr")
    assert len(slack.fake.posted()) == 1
    assert slack.conv.kb.info()["version"] == before and slack.conv.refreshes == []
    assert [r[1:] for r in rows(slack.conv, "SELECT user_hash, action, outcome FROM admin_actions")] == [
        ("refresh", "refused")
    ]


async def test_admin_commands_in_a_channel_answer_privately(slack: SlackRig) -> None:
    await slack.event(mention("stats", user=USER))
    [refusal] = await slack.fake.wait_for("chat.postEphemeral")
    assert refusal["user"] == USER and refusal["text"] == say("not_admin", "fr")
    await slack.event(mention("stats", user=ADMIN))
    stats = (await slack.fake.wait_for("chat.postEphemeral", 2))[1]
    assert stats["user"] == ADMIN and "7 objectifs" in stats["text"]
    await slack.command("sources", user=ADMIN)
    [sources] = await slack.fake.wait_for("respond")
    assert sources["text"].startswith(say("sources_title", "fr")) and "roadmap.yaml" in sources["text"]
    assert slack.fake.of("chat.postMessage") == []  # admin output never goes public


def _validate(message: dict[str, Any]) -> None:
    """slack_sdk's own Block Kit models check every limit Slack enforces."""
    for block in message["blocks"]:
        Block.parse(block).validate_json()


def test_block_kit_limits_are_respected_with_a_more_hint() -> None:
    answer = Answer(
        intent="list",
        lang="fr",
        title="T" * 400,
        text="a & b < c " * 600,
        fields={f"champ {i}": "v" * 2500 for i in range(15)},
        sources=[{"title": f"source {i}", "url": f"https://example.org/{i}"} for i in range(8)]
        + [{"title": "bad", "url": "javascript:alert(1)"}, {"title": "ftp", "url": "ftp://example.org/x"}],
        choices=[{"label": "L" * 120, "query": f"objectif {i} " + '"\\' * 400} for i in range(30)],
    )
    message = answer_message(answer, question='"\\' * 1500, as_of="2025-01-01", share=True)
    _validate(message)
    hint = say("more_hint", "fr")
    [section] = [b for b in message["blocks"] if b["type"] == "section" and "text" in b]
    assert len(section["text"]["text"]) <= 3000 and section["text"]["text"].endswith(hint)
    assert "&amp; b &lt; c" in section["text"]["text"]
    [fields] = [b for b in message["blocks"] if b["type"] == "section" and "fields" in b]
    assert len(fields["fields"]) == 10 and all(len(f["text"]) <= 2000 for f in fields["fields"])
    assert hint in blocks_text(message)
    for actions in (b for b in message["blocks"] if b["type"] == "actions"):
        assert len(actions["elements"]) <= 25
        assert all(len(e["text"]["text"]) <= 75 and len(e["value"]) <= 2000 for e in actions["elements"])
    assert len(message["blocks"][0]["text"]["text"]) <= 150
    assert "javascript:" not in blocks_text(message) and "ftp:" not in blocks_text(message)
    assert len(message["text"]) <= 3000


def test_api_base_url_keeps_its_path() -> None:
    assert api_base_url("http://127.0.0.1:9/api") == "http://127.0.0.1:9/api/"
    assert api_base_url("http://127.0.0.1:9/api/") == "http://127.0.0.1:9/api/"
    assert api_base_url() == "https://slack.com/api/"


def test_mount_needs_both_token_and_signing_secret(kb, monkeypatch: pytest.MonkeyPatch) -> None:
    conv = Conversation(kb)
    app = web.Application()
    assert mount(app, conv) is False
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    assert mount(app, conv) is False
    assert not [r for r in app.router.routes() if r.resource and r.resource.canonical == "/slack/events"]


def test_govbot_slack_without_tokens_explains_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["slack"]) == 2
    assert "SLACK_BOT_TOKEN" in capsys.readouterr().err


async def test_socket_mode_acks_every_envelope_and_answers_once(kb, aiohttp_server) -> None:
    fake = FakeSlack()
    await fake.start(aiohttp_server)
    payload = json.loads(event_body(mention(QUESTION), "EvSocket1"))
    envelope = {"type": "events_api", "envelope_id": "env-1", "payload": payload, "accepts_response_payload": False}
    retry = {**envelope, "envelope_id": "env-2", "retry_attempt": 1, "retry_reason": "timeout"}
    # The barrier: a later message on the same socket; once it is answered, the retry has been dealt with.
    barrier = {**envelope, "envelope_id": "env-3", "payload": json.loads(event_body(barrier_dm("1.1"), "EvBarrier"))}
    fake.envelopes = [envelope, retry, barrier]
    handler = socket_handler(Conversation(kb), token=BOT_TOKEN, app_token=APP_TOKEN, api_url=fake.api_url)
    await handler.connect_async()
    try:
        [posted] = await fake.wait_for("chat.postMessage")
        await fake.wait_for_barrier(0)
        deadline = time.monotonic() + 5
        while len(fake.acks) < 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
    finally:
        await handler.close_async()
    assert sorted(a["envelope_id"] for a in fake.acks) == ["env-1", "env-2", "env-3"]
    assert len(fake.of("chat.postMessage")) == 1 and ATLAS_SOURCE in blocks_text(posted)
    assert fake.attempts("apps.connections.open")[0].token == APP_TOKEN


class SlowKnowledge(KnowledgeBase):
    """A stand-in for knowledge far too big to answer within Slack's 3 s: it answers once released."""

    def __init__(self, path: Path, release: threading.Event):
        super().__init__(path)
        self.release = release

    def ask(self, question: str, roadmap: str = "") -> Answer:
        self.release.wait(10)
        return super().ask(question, roadmap)


async def test_the_ack_never_waits_for_the_answer(kb, monkeypatch, aiohttp_server, aiohttp_client) -> None:
    release = threading.Event()
    slack = await start_rig(SlowKnowledge(kb.path, release), monkeypatch, aiohttp_server, aiohttp_client)
    try:
        # Both acks came back while the knowledge was held: they never waited for an answer.
        assert await slack.command(QUESTION) == 200
        assert await slack.event(mention(QUESTION)) == 200
        assert slack.fake.posted() == []
    finally:
        release.set()
    await slack.fake.wait_for("respond")
    await slack.fake.wait_for("chat.postMessage")


def test_the_manifest_declares_what_the_code_handles() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "app_mentions:read",
        "chat:write",
        "commands",
        "im:history",
        "im:read",
        "im:write",
    }
    settings = manifest["settings"]
    assert set(settings["event_subscriptions"]["bot_events"]) == {"app_mention", "message.im", "app_home_opened"}
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == ["/govbot"]
    urls = {
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
        manifest["features"]["slash_commands"][0]["url"],
    }
    assert urls == {"https://YOUR-HOST/slack/events"} and settings["interactivity"]["is_enabled"] is True
    home = manifest["features"]["app_home"]
    assert home["home_tab_enabled"] and home["messages_tab_enabled"] and settings["socket_mode_enabled"] is False


async def _turns(awaitable: Awaitable[Any]) -> int:
    """How many turns the event loop made while `awaitable` ran (a count of steps, not a time)."""
    turns = 0

    async def count() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    counter = asyncio.create_task(count())
    try:
        await awaitable
        return turns
    finally:
        counter.cancel()


async def test_a_full_backlog_slows_the_ack_a_little_and_never_past_slacks_deadline() -> None:
    from bot.slack import _Backlog

    backlog = _Backlog(limit=2, wait=0.2)
    loop = asyncio.get_running_loop()
    async with backlog.answering():
        assert await _turns(backlog.room()) <= 5  # room left: the ack goes at once
        async with backlog.answering():
            started = loop.time()
            assert await _turns(backlog.room()) > 5
            # Full: it waited `wait` seconds, then went ahead while the backlog was still full.
            assert loop.time() - started >= 0.15 and backlog.pending == 2
        assert await _turns(backlog.room()) <= 5 and backlog.pending == 1


async def test_before_the_first_build_the_asker_is_told_it_is_getting_ready(
    monkeypatch, aiohttp_server, aiohttp_client, tmp_path: Path
) -> None:
    slack = await start_rig(KnowledgeBase(tmp_path / "empty"), monkeypatch, aiohttp_server, aiohttp_client)
    await slack.event(mention(QUESTION))
    [notice] = await slack.fake.wait_for("chat.postEphemeral")
    assert notice["user"] == USER and notice["text"] == say("not_ready", "fr")  # the same words on every platform
    assert slack.fake.of("chat.postMessage") == []


async def test_more_posts_the_whole_answer_in_the_thread(
    bundled_copy: KnowledgeBase, monkeypatch, aiohttp_server, aiohttp_client
) -> None:
    slack = await start_rig(bundled_copy, monkeypatch, aiohttp_server, aiohttp_client)
    await slack.event(mention("C'est quoi le programme CaRE ?"))
    [posted] = await slack.fake.wait_for("chat.postMessage")
    whole = bundled_copy.ask("C'est quoi le programme CaRE ?").details
    assert whole and whole.splitlines()[-1] not in blocks_text(posted)  # cut in the answer...
    more = button(posted, "govbot_more")
    assert more["text"]["text"] == say("more_details", "fr")
    assert await slack.click(more) == 200
    details = (await slack.fake.wait_for("chat.postMessage", 2))[1]
    assert details["thread_ts"] == "1700000200.000100"  # ...and whole in the thread of the answer
    assert whole.splitlines()[-1] in details["text"]
    assert rows(slack.conv, "SELECT count(*) FROM questions") == [(1,)]  # not a second question
