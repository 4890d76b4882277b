"""Teams, end to end: activities POSTed to the real /api/messages, replies caught by a fake Bot Connector.

Authentication is off here (no MicrosoftAppId, GOVBOT_TEAMS_LOCAL=1: the emulator mode) except for admin
commands, which are only ever run for an authenticated activity (`secured`, signed by a local key server);
tests/reliability/test_teams_auth.py covers authentication itself. The turn logic also runs under the SDK's
TestAdapter at the end, without HTTP.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sqlite3
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp import web
from botbuilder.core import BotAdapter, Middleware, TurnContext
from botbuilder.core.adapters import TestAdapter
from botbuilder.schema import Activity, ChannelAccount, ConversationAccount, Entity
from botframework.connector.auth import ChannelValidation, ClaimsIdentity

from bot import answerqueue
from bot.answering import answer
from bot.answerqueue import AnswerQueue, Intake
from bot.conversation import Conversation
from bot.teams import GovbotTeamsBot, TeamsSettings, add_routes, create_adapter, mount
from bot.teams_cards import CARD_BUDGET, answer_card, answer_text, card_size, escape_markdown
from bot.teams_package import main as package_main
from bot.teams_send import Replies
from knowledge import Answer, KnowledgeBase
from knowledge.phrases import EXAMPLE_CANDIDATES, say
from tests.fakes.bot_connector import ADMIN_AAD, BOT_ID, CHANNEL_ID, USER_AAD, FakeBotConnector, TeamsRig
from tests.fakes.jwks import FakeJwks, LocalCredentialFactory

SOURCE_URL = "https://example.org/ght/schema-directeur"
ATLAS = "qui pilote le programme Atlas ?"


@pytest.fixture
async def connector(aiohttp_server: Any) -> FakeBotConnector:
    fake = FakeBotConnector()
    server = await aiohttp_server(fake.app)
    fake.service_url = str(server.make_url("/"))  # like Teams' own serviceUrl, it ends with "/"
    return fake


@pytest.fixture
def conv(kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> Conversation:
    monkeypatch.setenv("GOVBOT_TEAMS_ADMINS", ADMIN_AAD)
    monkeypatch.setenv("GOVBOT_TEAMS_LOCAL", "1")
    return Conversation(kb)


@pytest.fixture
async def teams(aiohttp_client: Any, connector: FakeBotConnector, conv: Conversation) -> TeamsRig:
    app = web.Application()
    assert mount(app, conv)
    return TeamsRig(await aiohttp_client(app), connector, connector.service_url)


APP_ID = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"


@pytest.fixture
async def secured(
    aiohttp_client: Any, connector: FakeBotConnector, conv: Conversation, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[TeamsRig, Callable[[], dict[str, str]]]]:
    """The route with authentication on, and a function giving a valid channel token's header."""
    jwks = FakeJwks()
    jwks.start()
    monkeypatch.setattr(ChannelValidation, "open_id_metadata_endpoint", jwks.metadata_url)
    app = web.Application()
    add_routes(app, conv, TeamsSettings(APP_ID=APP_ID, APP_PASSWORD="pw"), LocalCredentialFactory(APP_ID, "pw"))
    rig = TeamsRig(await aiohttp_client(app), connector, connector.service_url)
    yield rig, lambda: {"Authorization": "Bearer " + jwks.token(APP_ID, rig.service_url)}
    jwks.stop()


def texts(card: dict[str, Any]) -> list[str]:
    """Every TextBlock and fact text of a card, in order."""
    found = []
    for element in card["body"]:
        if element["type"] == "TextBlock":
            found.append(element["text"])
        elif element["type"] == "FactSet":
            found += [part for fact in element["facts"] for part in (fact["title"], fact["value"])]
    return found


def actions(card: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    found = [a for a in card.get("actions", []) if a["type"] == kind]
    for element in card["body"]:
        if element["type"] == "ActionSet":
            found += [a for a in element["actions"] if a["type"] == kind]
    return found


def questions_logged(conv: Conversation) -> list[str]:
    with sqlite3.connect(conv.log.path) as db:
        return [q for (q,) in db.execute("SELECT question FROM questions ORDER BY ts")]


# --- messages, cards and threads ---------------------------------------------------------------------------


async def test_personal_question_gets_a_card_with_the_answer_and_its_source(teams: TeamsRig) -> None:
    activity = teams.personal(ATLAS)
    assert await teams.post(activity) == 201

    [reply] = teams.connector.posted
    assert reply.reply_to == activity["id"] and reply.conversation_id == "a:personal-chat-alice"
    card = reply.card
    assert card and card["type"] == "AdaptiveCard" and card["version"] == "1.5"
    assert card["body"][0]["text"] == "Programme Atlas"
    assert any("porté par" in t and "DSI-GHT" in t for t in texts(card))
    facts = next(e for e in card["body"] if e["type"] == "FactSet")["facts"]
    assert {"title": "Budget", "value": "3 M€"} in facts
    assert [a["url"] for a in actions(card, "Action.OpenUrl")] == [SOURCE_URL]
    assert any(f"]({SOURCE_URL})" in t for t in texts(card)), "the source is also a link in the card text"
    feedback = [a["data"] for a in actions(card, "Action.Submit")]
    assert {"feedback": "up", "question": ATLAS} in feedback and {"feedback": "down", "question": ATLAS} in feedback
    # The plain text travels with the card, for notifications and clients without cards.
    assert reply.activity["textFormat"] == "plain"
    assert reply.text.startswith("Programme Atlas") and SOURCE_URL in reply.text


async def test_channel_mention_is_answered_in_the_same_thread(teams: TeamsRig, conv: Conversation) -> None:
    activity = teams.channel(ATLAS, thread="1736933400000")
    assert await teams.post(activity) == 201

    [reply] = teams.connector.posted
    assert reply.conversation_id == f"{CHANNEL_ID};messageid=1736933400000"
    assert reply.reply_to == activity["id"]
    assert reply.card and reply.card["body"][0]["text"] == "Programme Atlas"
    assert questions_logged(conv) == [ATLAS], "the @mention is stripped before asking"


async def test_channel_message_without_a_mention_is_left_alone(teams: TeamsRig, conv: Conversation) -> None:
    activity = teams.channel(ATLAS)
    activity["entities"] = [e for e in activity["entities"] if e["type"] != "mention"]
    activity["text"] = ATLAS
    assert await teams.post(activity) == 201
    assert teams.connector.posted == [] and questions_logged(conv) == []


async def test_clicking_a_choice_answers_that_choice(teams: TeamsRig) -> None:
    await teams.post(teams.personal("comité de pilotage"))
    [asked_back] = teams.connector.posted
    buttons = {a["title"]: a["data"] for a in actions(asked_back.card, "Action.Submit")}
    assert "1er comité de pilotage SI" in buttons

    assert await teams.post(teams.submit(buttons["1er comité de pilotage SI"])) == 201
    answer = teams.connector.posted[-1]
    assert answer.card["body"][0]["text"] == "1er comité de pilotage SI"
    assert SOURCE_URL in answer.text


async def test_clicking_feedback_is_recorded_and_thanked(teams: TeamsRig, conv: Conversation) -> None:
    await teams.post(teams.personal(ATLAS))
    [down] = [a["data"] for a in actions(teams.connector.posted[0].card, "Action.Submit") if "👎" in a["title"]]

    assert await teams.post(teams.submit(down)) == 201
    assert teams.connector.posted[-1].text == say("feedback_thanks", "fr")
    with sqlite3.connect(conv.log.path) as db:
        assert db.execute("SELECT question, value FROM feedback").fetchall() == [(ATLAS, "down")]


async def test_install_is_welcomed_once_in_french_with_example_questions(teams: TeamsRig, conv: Conversation) -> None:
    update = teams.activity(
        "conversationUpdate",
        membersAdded=[{"id": BOT_ID}, {"id": "29:alice-teams-id"}],
        channelData={"tenant": {"id": "t"}, "eventType": "teamMemberAdded"},
    )
    assert await teams.post(update) == 201
    [welcome] = teams.connector.posted
    assert welcome.text.startswith(say("home_title", "fr")) and say("welcome", "fr") in welcome.text
    examples = [a["data"] for a in actions(welcome.card, "Action.Submit")]
    assert examples == [
        {"choice": q} for q in conv.examples("fr")
    ]  # those the knowledge answers (tests/test_examples.py)

    # Teams also sends installationUpdate for the same install, and another on each app update: no second welcome.
    assert await teams.post(teams.activity("installationUpdate", action="add")) == 201
    assert await teams.post(teams.activity("installationUpdate", action="add-upgrade")) == 201
    assert len(teams.connector.posted) == 1


async def test_an_install_in_a_team_is_welcomed(teams: TeamsRig) -> None:
    install = teams.channel("", type="installationUpdate", action="add")
    assert await teams.post(install) == 201
    [welcome] = teams.connector.posted
    assert welcome.card and say("welcome", "fr") in welcome.text


async def test_a_new_person_in_a_team_is_not_greeted_in_the_channel(teams: TeamsRig) -> None:
    update = teams.channel("", type="conversationUpdate", membersAdded=[{"id": "29:bob", "aadObjectId": "b0b"}])
    assert await teams.post(update) == 201
    assert teams.connector.posted == []


# --- admin commands ---------------------------------------------------------------------------------------


async def test_admin_refresh_replies_at_once_then_posts_the_report_proactively(secured) -> None:
    teams, token = secured
    activity = teams.channel("refresh", **{"from": {"id": "29:admin", "name": "Admin", "aadObjectId": ADMIN_AAD}})
    assert await teams.post(activity, token()) == 201
    assert teams.connector.posted[0].text == say("refresh_started", "fr")

    first, report = await teams.connector.wait_for(2)
    assert report.conversation_id == first.conversation_id, "the report arrives in the same thread"
    done, failed = say("refresh_done", "fr", summary=""), say("refresh_failed", "fr", errors="")
    assert report.text.startswith(done) or report.text.startswith(failed.split("\n")[0])


async def test_admin_commands_are_refused_to_others_and_nothing_runs(teams: TeamsRig, conv: Conversation) -> None:
    assert await teams.post(teams.personal("refresh")) == 201
    assert await teams.post(teams.personal("stats")) == 201
    assert [p.text for p in teams.connector.posted] == [say("not_admin", "fr")] * 2
    assert conv.refreshes == []
    with sqlite3.connect(conv.log.path) as db:
        assert db.execute("SELECT action, outcome FROM admin_actions").fetchall() == [
            ("refresh", "refused"),
            ("stats", "refused"),
        ]


async def test_admin_stats_answers_in_the_turn(secured) -> None:
    teams, token = secured
    admin = {"id": "29:admin", "name": "Admin", "aadObjectId": ADMIN_AAD}
    assert await teams.post(teams.personal("stats", **{"from": admin}), token()) == 201
    [reply] = teams.connector.posted
    assert "2 programmes" in reply.text and not reply.activity.get("attachments")


# --- with answer workers: the turn queues, another process answers afterwards ------------------------------


@dataclass
class Queued:
    rig: TeamsRig
    queue: AnswerQueue
    worker: Conversation  # the answer worker's own, as in its own process

    @asynccontextmanager
    async def answering(self, settings: TeamsSettings | None = None, credentials: Any = None) -> AsyncIterator[None]:
        """An answer worker's loop, as `govbot serve --answer-workers 1` runs it, for the block's duration."""
        settings = settings or TeamsSettings()
        adapter = create_adapter(settings, credentials)
        bot = GovbotTeamsBot(self.worker, settings.APP_ID, replies=Replies(adapter, settings.APP_ID))
        stop = asyncio.Event()
        task = asyncio.create_task(answer(self.queue, {"teams": partial(bot.answer_queued, adapter)}, stop))
        try:
            yield
        finally:
            stop.set()
            await task
            await bot.close()


@pytest.fixture
async def queued(aiohttp_client: Any, connector: FakeBotConnector, conv: Conversation, tmp_path: Path) -> Queued:
    queue = AnswerQueue(tmp_path / "answers.sqlite", limit=2)
    app = web.Application()
    assert mount(app, conv, Intake(queue))
    rig = TeamsRig(await aiohttp_client(app), connector, connector.service_url)
    return Queued(rig, AnswerQueue(queue.path), Conversation(conv.kb))


async def test_a_queued_message_is_acknowledged_at_once_then_answered_once_in_its_thread(queued: Queued) -> None:
    teams = queued.rig
    activity = teams.channel(ATLAS, thread="1736933400000")
    assert [await teams.post(activity) for _ in range(3)] == [201, 201, 201], "a redelivery is acknowledged too"
    assert teams.connector.posted == [] and queued.queue.count() == 1, "queued once, not answered in the turn"
    async with queued.answering():
        [reply] = await teams.connector.wait_for(1)
    assert reply.conversation_id == f"{CHANNEL_ID};messageid=1736933400000" and reply.reply_to == activity["id"]
    assert reply.card and reply.card["body"][0]["text"] == "Programme Atlas"
    assert queued.queue.count() == 0 and questions_logged(queued.worker) == [ATLAS]
    await asyncio.sleep(0.2)
    assert len(teams.connector.posted) == 1


async def test_a_queued_reply_is_the_reply_the_turn_would_have_sent(queued: Queued, teams: TeamsRig) -> None:
    activity = teams.channel(ATLAS, thread="1736933400000")
    assert await teams.post(activity) == 201  # answered within its turn, through the SDK
    assert await queued.rig.post(activity) == 201
    async with queued.answering():
        in_turn, after = await teams.connector.wait_for(2)
    assert after.path == in_turn.path and after.activity == in_turn.activity


async def test_a_queued_message_that_fails_gets_the_apology_with_a_reference(
    queued: Queued, caplog: pytest.LogCaptureFixture
) -> None:
    def broken_hook(platform: str, answer: Answer, seconds: float) -> None:
        raise RuntimeError("boom")

    queued.worker.on_answer.append(broken_hook)
    assert await queued.rig.post(queued.rig.personal(ATLAS)) == 201
    with caplog.at_level(logging.ERROR):
        async with queued.answering():
            [apology] = await queued.rig.connector.wait_for(1)
    ref = re.search(r"réf\. ([0-9a-f]+)\)", apology.text).group(1)
    assert apology.text == say("error", "fr", ref=ref) and apology.reply_to
    assert any(ref in record.getMessage() and record.exc_info for record in caplog.records)


async def test_a_full_queue_says_busy_through_the_workers_and_a_message_not_for_the_bot_is_not_queued(
    queued: Queued, conv: Conversation, monkeypatch: pytest.MonkeyPatch
) -> None:
    teams = queued.rig
    aside = teams.channel(ATLAS)
    aside["entities"], aside["text"] = [], ATLAS  # no @mention
    assert await teams.post(aside) == 201 and queued.queue.count() == 0
    for question in ("qui pilote le programme Atlas ?", "c'est quoi Atlas ?"):
        assert await teams.post(teams.personal(question)) == 201
    assert await teams.post(teams.personal("and the budget of Atlas?")) == 201  # the queue holds 2
    assert not teams.connector.posted and queued.queue.count() == 2, "the turn only queued its busy notice"
    monkeypatch.setattr(answerqueue, "NOTICE_LIMIT", 1)  # the notices are full too: the turn says it itself
    assert await teams.post(teams.personal("and the budget of Atlas in 2025?")) == 201
    [busy] = teams.connector.posted
    assert busy.text == say("busy", "en")
    async with queued.answering():
        posted = await teams.connector.wait_for(4)
    assert sorted(p.text == say("busy", "en") for p in posted) == [False, False, True, True]


async def test_a_queued_admin_command_from_an_unchecked_sender_is_refused(queued: Queued) -> None:
    admin = {"id": "29:admin", "name": "Admin", "aadObjectId": ADMIN_AAD}  # listed, but no token: emulator mode
    assert await queued.rig.post(queued.rig.personal("stats", **{"from": admin})) == 201
    async with queued.answering():
        [reply] = await queued.rig.connector.wait_for(1)
    assert reply.text == say("not_admin", "fr")


async def test_a_queued_admin_command_is_run_as_admin_when_the_token_was_checked(
    aiohttp_client: Any, connector: FakeBotConnector, conv: Conversation, tmp_path: Path, monkeypatch: Any
) -> None:
    jwks = FakeJwks()
    jwks.start()
    monkeypatch.setattr(ChannelValidation, "open_id_metadata_endpoint", jwks.metadata_url)
    queue = AnswerQueue(tmp_path / "answers.sqlite")
    settings, credentials = TeamsSettings(APP_ID=APP_ID, APP_PASSWORD="pw"), LocalCredentialFactory(APP_ID, "pw")
    app = web.Application()
    add_routes(app, conv, settings, credentials, queue=Intake(queue))
    teams = TeamsRig(await aiohttp_client(app), connector, connector.service_url)
    admin = {"id": "29:admin", "name": "Admin", "aadObjectId": ADMIN_AAD}
    token = {"Authorization": "Bearer " + jwks.token(APP_ID, teams.service_url)}
    assert await teams.post(teams.personal("stats", **{"from": admin}), token) == 201
    assert await teams.post(teams.personal("stats"), token) == 201  # Alice: authenticated, not an admin
    async with Queued(teams, queue, Conversation(conv.kb)).answering(settings, credentials):
        replies = await connector.wait_for(2)
    jwks.stop()
    assert "2 programmes" in replies[0].text and replies[1].text == say("not_admin", "fr")
    assert replies[0].authorization and replies[0].authorization.startswith("Bearer ")


# --- duplicates, errors and outages -----------------------------------------------------------------------


async def test_a_redelivered_activity_is_answered_once(teams: TeamsRig, conv: Conversation) -> None:
    activity = teams.personal(ATLAS)
    assert [await teams.post(activity) for _ in range(3)] == [201, 201, 201]
    assert len(teams.connector.posted) == 1 and questions_logged(conv) == [ATLAS]


async def test_an_error_in_a_turn_sends_an_apology_with_a_reference_and_serving_goes_on(
    teams: TeamsRig, conv: Conversation, caplog: pytest.LogCaptureFixture
) -> None:
    def broken_hook(platform: str, answer: Answer, seconds: float) -> None:
        conv.on_answer.remove(broken_hook)  # fails once, like a transient bug
        raise RuntimeError("boom")

    conv.on_answer.append(broken_hook)
    with caplog.at_level(logging.ERROR, logger="govbot.teams"):
        assert await teams.post(teams.personal(ATLAS)) == 201
    [apology] = teams.connector.posted
    ref = re.search(r"réf\. ([0-9a-f]+)\)", apology.text).group(1)
    assert apology.text == say("error", "fr", ref=ref)
    assert any(ref in record.getMessage() and record.exc_info for record in caplog.records)

    assert await teams.post(teams.personal(ATLAS)) == 201
    assert teams.connector.posted[-1].card["body"][0]["text"] == "Programme Atlas"


async def test_a_bot_connector_outage_is_logged_and_never_stops_the_bot(
    teams: TeamsRig, caplog: pytest.LogCaptureFixture
) -> None:
    teams.connector.outage = True
    with caplog.at_level(logging.ERROR, logger="govbot.teams"):
        assert await teams.post(teams.personal(ATLAS)) == 201
    assert len(teams.connector.posted) == 1, "one attempt, no apology storm"
    assert any("could not post to the Bot Connector" in r.getMessage() for r in caplog.records)

    teams.connector.outage = False
    assert await teams.post(teams.personal(ATLAS)) == 201
    assert teams.connector.posted[-1].card["body"][0]["text"] == "Programme Atlas"


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        (None, b'{"type": "message"}', 415),
        ("text/plain", b'{"type": "message"}', 415),
        ("application/json", b"{not json", 400),
        ("application/json", b"[1, 2]", 400),
        ("application/json", b'{"text": "no type"}', 400),
        ("application/json", b'{"type": "message", "from": "not an object"}', 400),
        ("application/json", b'{"type": "message", "text": "\xff\xfe"}', 400),
    ],
)
async def test_malformed_requests_are_client_errors(
    teams: TeamsRig, content_type: str | None, body: bytes, status: int
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = await teams.client.post("/api/messages", data=body, headers=headers, skip_auto_headers=["Content-Type"])
    assert response.status == status
    assert teams.connector.posted == []


async def test_an_activity_with_nowhere_to_reply_is_ignored_quietly(
    teams: TeamsRig, conv: Conversation, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="govbot.teams"):
        assert await teams.post({"type": "message", "id": "x1", "text": ATLAS, "serviceUrl": teams.service_url}) == 201
    assert teams.connector.posted == [] and questions_logged(conv) == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_teams_is_not_mounted_when_switched_off(conv: Conversation, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVBOT_TEAMS", "0")
    app = web.Application()
    assert mount(app, conv) is False
    assert not [r for r in app.router.routes() if r.resource and r.resource.canonical == "/api/messages"]


def test_an_unknown_app_type_is_refused(conv: Conversation, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MicrosoftAppType", "MultiTenent")
    with pytest.raises(ValueError, match="MicrosoftAppType"):
        mount(web.Application(), conv)


# --- cards: hostile knowledge and size --------------------------------------------------------------------

HOSTILE_SOURCE = """
source: {title: "Note <b>interne</b>", url: "https://example.org/note"}
programmes:
  - id: PIRATE
    name: Programme Pirate
    owners: []
    summary: "<script>alert(1)</script> @everyone **bold** [clic](javascript:alert(1)) <at>Admin</at>"
    budget: "**1 M€** <img src=x onerror=alert(1)>"
"""


def test_hostile_knowledge_text_renders_inert_in_the_card(tmp_path: Path) -> None:
    (tmp_path / "hostile.yaml").write_text(HOSTILE_SOURCE, encoding="utf-8")
    kb = KnowledgeBase(tmp_path / "kb")
    kb.refresh([str(tmp_path / "hostile.yaml")], bundled=False)
    answer = kb.ask("c'est quoi le programme Pirate ?")
    assert "<script>" in answer.text, "the hostile text reached the answer, so the card must neutralise it"

    card = answer_card(answer, "c'est quoi le programme Pirate ?")
    *shown, links = texts(card)  # the last block is the one link govbot writes itself
    shown = "\n".join(shown)
    assert not re.search(r"(?<!\\)[<>*_\[\]`]", shown), "every markup character is escaped"
    assert links == r"[Note \<b\>interne\</b\>](https://example.org/note)"
    assert r"\<script\>" in shown and r"\*\*bold\*\*" in shown and "@everyone" in shown
    assert "msteams" not in card or "entities" not in card["msteams"], "no mention can be formed"
    assert all(a["url"].startswith("https://") for a in actions(card, "Action.OpenUrl"))
    assert answer_text(answer).count("<script>") == 1  # the plain text is sent with textFormat "plain"


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("**gras** _it_ ~barré~ `code`", r"\*\*gras\*\* \_it\_ \~barré\~ \`code\`"),
        ("[lien](https://x.org)", r"\[lien\](https://x.org)"),
        ("- liste\n1. numérotée\n+ plus", "\\- liste\n1\\. numérotée\n\\+ plus"),
        ("# titre | table &amp;", r"\# titre \| table \&amp;"),
        ("2.1 et 2024-2027 (DSI)", "2.1 et 2024-2027 (DSI)"),
    ],
)
def test_markdown_is_escaped_but_ordinary_text_is_left_readable(raw: str, escaped: str) -> None:
    assert escape_markdown(raw) == escaped


def test_a_huge_answer_is_cut_to_fit_teams_with_the_more_hint() -> None:
    answer = Answer(
        intent="list",
        lang="fr",
        title="Objectifs (400)",
        text="\n".join(f"• Objectif {i} — " + "é" * 300 for i in range(400)),
        fields={f"Champ {i}": "🙂" * 250 for i in range(40)},
        sources=[{"title": f"Source {i}", "url": f"https://example.org/{'x' * 900}/{i}"} for i in range(9)],
        choices=[{"label": f"Choix {i}", "query": "q" * 600} for i in range(30)],
    )
    card = answer_card(answer, "tous les objectifs")
    assert card_size(card) <= CARD_BUDGET
    assert say("more_hint", "fr") in "\n".join(texts(card)).replace("\\", "")
    assert len(answer_text(answer)) < 10_000


# --- the app package --------------------------------------------------------------------------------------


def test_teams_package_builds_an_uploadable_zip(tmp_path: Path) -> None:
    app_id = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"
    out = tmp_path / "govbot-teams.zip"
    assert package_main(SimpleNamespace(app_id=app_id, out=out)) == 0

    with zipfile.ZipFile(out) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(archive.read("manifest.json"))
        sizes = {name: png_size(archive.read(name)) for name in ("color.png", "outline.png")}
    major, minor = (int(n) for n in manifest["manifestVersion"].split("."))
    assert (major, minor) >= (1, 17) and manifest["manifestVersion"] in manifest["$schema"]
    assert manifest["id"] == app_id
    [bot] = manifest["bots"]
    assert bot["botId"] == app_id and sorted(bot["scopes"]) == ["groupChat", "personal", "team"]
    [commands] = bot["commandLists"]
    titles = [c["title"] for c in commands["commands"]]
    assert {"help", "refresh", "stats", "unanswered", "sources"} <= set(titles)
    assert any(title in EXAMPLE_CANDIDATES["fr"] for title in titles)
    assert all(len(c["title"]) <= 32 and len(c["description"]) <= 128 for c in commands["commands"])
    assert len(manifest["name"]["short"]) <= 30 and len(manifest["description"]["short"]) <= 80
    assert manifest["icons"] == {"color": "color.png", "outline": "outline.png"}
    assert sizes == {"color.png": (192, 192), "outline.png": (32, 32)}


def test_teams_package_refuses_an_app_id_that_is_not_a_guid(tmp_path: Path) -> None:
    assert package_main(SimpleNamespace(app_id="my-bot", out=tmp_path / "x.zip")) == 2
    assert not (tmp_path / "x.zip").exists()


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


# --- the turn logic alone, under the SDK's TestAdapter ----------------------------------------------------


class _Authenticated(Middleware):
    """What CloudAdapter records after checking a channel token (TestAdapter checks none)."""

    async def on_turn(self, context: TurnContext, logic: Callable[[], Awaitable[None]]) -> None:
        context.turn_state[BotAdapter.BOT_IDENTITY_KEY] = ClaimsIdentity({"aud": APP_ID}, True)
        await logic()


def adapter_for(conv: Conversation) -> TestAdapter:
    adapter = TestAdapter(GovbotTeamsBot(conv).on_turn)
    adapter.use(_Authenticated())
    adapter.template.channel_id = "msteams"
    adapter.template.recipient = ChannelAccount(id=BOT_ID, name="govbot")
    adapter.template.from_property = ChannelAccount(id="29:alice", name="Alice", aad_object_id=USER_AAD)
    return adapter


def message(text: str, **fields: Any) -> Activity:
    return Activity(type="message", text=text, **fields)


async def test_turn_answers_with_a_card(conv: Conversation) -> None:
    adapter = adapter_for(conv)
    await adapter.receive_activity(message(ATLAS))
    reply = adapter.get_next_activity()
    assert reply.attachments[0].content["body"][0]["text"] == "Programme Atlas" and SOURCE_URL in reply.text


async def test_turn_strips_the_mention_in_a_group_chat(conv: Conversation) -> None:
    adapter = adapter_for(conv)
    mention = Entity().deserialize(
        {"type": "mention", "mentioned": {"id": BOT_ID, "name": "govbot"}, "text": "<at>govbot</at>"}
    )
    group = ConversationAccount(id="19:group@thread.v2", conversation_type="groupChat", is_group=True)
    await adapter.receive_activity(message(f"<at>govbot</at> {ATLAS}", entities=[mention], conversation=group))
    assert adapter.get_next_activity().attachments[0].content["body"][0]["text"] == "Programme Atlas"
    assert questions_logged(conv) == [ATLAS]

    await adapter.receive_activity(message(ATLAS, conversation=group))  # not addressed to the bot
    assert adapter.get_next_activity() is None


async def test_turn_refuses_admin_commands_and_ignores_duplicates(conv: Conversation) -> None:
    adapter = adapter_for(conv)
    await adapter.receive_activity(message("sources", id="dup-1"))
    assert adapter.get_next_activity().text == say("not_admin", "fr")
    await adapter.receive_activity(message("sources", id="dup-1"))
    assert adapter.get_next_activity() is None


async def test_turn_lets_an_admin_list_the_sources(conv: Conversation) -> None:
    adapter = adapter_for(conv)
    admin = ChannelAccount(id="29:admin", name="Admin", aad_object_id=ADMIN_AAD)
    await adapter.receive_activity(message("sources", from_property=admin))
    reply = adapter.get_next_activity()
    assert reply.text.startswith(say("sources_title", "fr")) and "roadmap.yaml" in reply.text


async def test_before_the_first_build_the_reply_says_it_is_getting_ready(tmp_path: Path) -> None:
    adapter = adapter_for(Conversation(KnowledgeBase(tmp_path / "empty")))
    await adapter.receive_activity(message(ATLAS))
    reply = adapter.get_next_activity()
    assert reply.text == say("not_ready", "fr") and not reply.attachments


def test_more_unfolds_the_whole_answer_in_the_card(bundled_kb: KnowledgeBase) -> None:
    answer = bundled_kb.ask("C'est quoi le programme CaRE ?")
    card = answer_card(answer, "C'est quoi le programme CaRE ?")
    last = escape_markdown(answer.details.splitlines()[-1])
    assert last not in texts(card)  # cut in the card...
    [more] = actions(card, "Action.ShowCard")
    assert more["title"] == say("more_details", "fr")
    assert last in [block["text"] for block in more["card"]["body"]]  # ...and whole one click away
    assert card_size(card) <= CARD_BUDGET
