"""Digests reach each platform once: Slack through the fake Web API, Teams through the fake Bot Connector as a
proactive message (stored conversation reference, app id), the web chat through the visitor's inbox."""

from __future__ import annotations

import asyncio
from argparse import Namespace
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from botbuilder.core import TurnContext
from botbuilder.schema import Activity
from slack_sdk.web.async_client import AsyncWebClient

from bot.conversation import Conversation
from bot.delivery import Outcome, deliver_due
from bot.digest_render import slack_message, teams_activity
from bot.digests import Digest, Line, Section, process_refresh
from bot.schedule import service_context
from bot.senders import slack_sender, teams_sender, web_sender
from bot.server import create_app
from bot.state import State
from bot.subscriptions import Where, handle, parse
from bot.teams import TeamsSettings, create_adapter
from knowledge import KnowledgeBase
from knowledge.store import Reader
from tests.digest_world import bring_news, roadmap
from tests.fakes.bot_connector import CHANNEL_ID, FakeBotConnector, Posted, TeamsRig
from tests.fakes.jwks import OUTBOUND_TOKEN, LocalCredentialFactory
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack, _Scripted

APP_ID = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"
PASSWORD = "app-password-for-tests"


class World:
    """A knowledge directory over the moving roadmap, its state database, and a way to subscribe channels."""

    def __init__(self, tmp_path: Path):
        self.src = roadmap(tmp_path / "src")
        self.kb = KnowledgeBase(tmp_path / "kb")
        self.kb.refresh([str(self.src)], bundled=False)
        self.state = State(self.kb.path)
        process_refresh(self.kb, self.state)  # the baseline

    def subscribe(self, platform: str, channel: str, text: str, **where: Any) -> str:
        current = self.kb.store.current()
        assert current is not None
        command = parse(text)
        assert command is not None
        place = Where(platform, channel, "UADMIN", **({"direct": False, "admin": True} | where))
        return handle(command, place, self.state, Reader(current))

    def refresh(self, news: bool = True) -> None:
        if news:
            bring_news(self.src)
        self.kb.refresh([str(self.src)], bundled=False)
        process_refresh(self.kb, self.state)


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


@pytest.fixture
async def slack(aiohttp_server: Any) -> FakeSlack:
    fake = FakeSlack()
    await fake.start(aiohttp_server)
    return fake


def slack_client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url + "/")


async def test_slack_channels_get_exactly_one_correct_digest(world: World, slack: FakeSlack) -> None:
    send = slack_sender(slack_client(slack))
    world.subscribe("slack", "C-ALL", "abonner tout")
    world.subscribe("slack", "C-AXIS2", "subscribe axis 2")
    world.subscribe("slack", "C-PHARMA", "abonner porteur PHARMA")  # out of scope: nothing moves for PHARMA
    world.subscribe("slack", "C-LEFT", "abonner tout")
    world.subscribe("slack", "C-LEFT", "désabonner")
    world.refresh()
    assert await deliver_due(world.state, {"slack": send}) == {"delivered": 2}
    posts = slack.of("chat.postMessage")
    assert sorted(p["channel"] for p in posts) == ["C-ALL", "C-AXIS2"]
    axis2 = next(p for p in posts if p["channel"] == "C-AXIS2")
    assert axis2["blocks"] == [
        {"type": "header", "text": {"type": "plain_text", "text": "News on axis 2"}},
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "*Status changes*\n• 007 — Alimenter le DMP avec les comptes rendus d'hospitalisation: "
                "late 20 % → in progress 50 % <https://example.org/ght/bilan-2025-06|↗>",
            },
        },
    ]
    assert slack.calls[-1].token == BOT_TOKEN
    # A second refresh with no change posts nothing; a second delivery run sends nothing again.
    world.refresh(news=False)
    assert await deliver_due(world.state, {"slack": send}) == {}
    assert len(slack.of("chat.postMessage")) == 2


async def test_slack_refusals(world: World, slack: FakeSlack) -> None:
    send = slack_sender(slack_client(slack))
    world.subscribe("slack", "C-GONE", "abonner tout")
    world.subscribe("slack", "C-BUSY", "abonner décisions")
    world.refresh()
    rows = {r.subscription.channel: r for r in world.state.due(float("inf"), {"slack"})}
    gone = await send(rows["C-GONE"].subscription, Digest.from_dict(rows["C-GONE"].payload))
    assert gone.outcome is Outcome.DELIVERED  # the fake accepts by default; now script the refusals
    slack.scripted["chat.postMessage"].append(_Scripted(200, {}, {"ok": False, "error": "channel_not_found"}))
    assert (await send(rows["C-GONE"].subscription, Digest.from_dict(rows["C-GONE"].payload))).outcome is Outcome.GONE
    slack.fail("chat.postMessage", 429, headers={"Retry-After": "12"}, times=4)
    busy = await send(rows["C-BUSY"].subscription, Digest.from_dict(rows["C-BUSY"].payload))
    assert (busy.outcome, busy.retry_after) == (Outcome.RETRY, 12.0)
    slack.scripted["chat.postMessage"].clear()
    slack.fail("chat.postMessage", 503)
    assert (await send(rows["C-BUSY"].subscription, Digest.from_dict(rows["C-BUSY"].payload))).outcome is Outcome.RETRY
    await slack.stop()
    timeout = await send(rows["C-BUSY"].subscription, Digest.from_dict(rows["C-BUSY"].payload))
    assert timeout.outcome is Outcome.RETRY


class ScriptedConnector(FakeBotConnector):
    """The fake Bot Connector, answering the next requests with scripted statuses (403: the bot was removed)."""

    def __init__(self) -> None:
        super().__init__()
        self.statuses: list[int] = []

    async def _handle(self, request: web.Request) -> web.Response:
        response = await super()._handle(request)
        if self.statuses:
            return web.json_response({"error": {"code": "Forbidden"}}, status=self.statuses.pop(0))
        return response


def channel_reference(service_url: str, conversation: str = f"{CHANNEL_ID};messageid=1736933400000") -> dict:
    """The conversation reference a Teams front end stores when a channel subscribes."""
    activity = TeamsRig(None, None, service_url).channel("abonner tout")  # type: ignore[arg-type]
    activity["conversation"]["id"] = conversation
    reference = TurnContext.get_conversation_reference(Activity().deserialize(activity))
    return reference.serialize()


async def test_teams_gets_a_proactive_card_once_and_a_removed_bot_pauses(world: World, aiohttp_server: Any) -> None:
    connector = ScriptedConnector()
    server = await aiohttp_server(connector.app)
    service_url = str(server.make_url("/"))
    adapter = create_adapter(
        TeamsSettings(APP_ID=APP_ID, APP_PASSWORD=PASSWORD), LocalCredentialFactory(APP_ID, PASSWORD)
    )
    send = teams_sender(adapter, APP_ID)
    reference = channel_reference(service_url)
    assert "MicrosoftAppId" in world.subscribe("teams", "19:nope", "subscribe everything", can_post=False)
    world.subscribe("teams", CHANNEL_ID, "abonner axe 1", conversation=reference)
    world.subscribe("teams", "19:removed", "abonner tout", conversation=channel_reference(service_url, "19:removed"))
    world.subscribe("teams", "19:admins", "abonner admin", conversation=channel_reference(service_url, "19:admins"))
    world.refresh()
    connector.statuses = [201, 403]  # the first post (axis 1) goes through; the bot was removed from the second
    counts = await deliver_due(world.state, {"teams": send})
    assert counts == {"delivered": 2, "gone": 1}
    posted: list[Posted] = connector.posted
    by_conversation = {p.conversation_id: p for p in posted}
    card = by_conversation[f"{CHANNEL_ID};messageid=1736933400000"].card
    assert card is not None
    assert [b["text"] for b in card["body"]] == [
        "Du nouveau sur l'axe 1",
        "Statuts qui changent",
        "• 1 — Déployer l'authentification multifacteur pour tous les agents : en cours 40 % → réalisé 100 % "
        "[↗](https://example.org/ght/bilan-2025-06)",
        "Nouvelles décisions",
        "• D-4 — Extension de la double authentification aux prestataires (2025-06-20) "
        "[↗](https://example.org/ght/copil-3#d4)",
    ]
    assert all(p.authorization == f"Bearer {OUTBOUND_TOKEN}" for p in posted)
    notice = by_conversation["19:admins"]
    assert notice.card is not None and notice.card["body"][0]["text"].startswith(
        "Abonnement mis en pause : teams 19:removed"
    )
    assert [s.paused for s in world.state.subscriptions(channel="19:removed")] == [True]
    world.refresh(news=False)
    assert await deliver_due(world.state, {"teams": send}) == {}
    assert len(connector.posted) == 3


async def test_web_visitors_find_their_digests_on_their_next_visit(world: World) -> None:
    world.subscribe("web", "visitor-1", "abonner décisions", direct=True)
    world.subscribe("web", "visitor-2", "abonner objectif 12", direct=True)
    world.refresh()
    send = web_sender(world.state)
    assert await deliver_due(world.state, {"web": send}) == {"delivered": 1}
    [digest] = world.state.take_inbox("visitor-1")
    assert Digest.from_dict(digest).title == "Du nouveau sur les décisions et les comités"
    assert world.state.take_inbox("visitor-1") == [] and world.state.take_inbox("visitor-2") == []
    # A retried delivery of the same digest is kept once.
    await send(world.state.subscriptions(channel="visitor-1")[0], Digest.from_dict(digest))
    assert world.state.take_inbox("visitor-1") == []


def test_rendering_keeps_knowledge_text_inert() -> None:
    digest = Digest(
        "v/1",
        "en",
        "News on <!channel> & *all*",
        [Section("New decisions", [Line("• D-9 — <@U123> *bold* [x](javascript:alert(1))", "javascript:alert(1)")])],
    )
    slack = slack_message(digest)
    assert slack["blocks"][0]["text"]["type"] == "plain_text"  # Slack parses no mention in a plain_text header
    assert "<!channel>" not in slack["text"]  # the notification text is mrkdwn: escaped
    section = slack["blocks"][1]["text"]["text"]
    assert "<@U123>" not in section and "&lt;@U123&gt;" in section
    assert "|↗>" not in section  # a javascript: address is no link
    card = teams_activity(digest)["attachments"][0]["content"]
    line = card["body"][2]["text"]
    assert "[↗]" not in line and "\\[x\\]" in line


async def test_govbot_serve_delivers_after_a_refresh(
    world: World, slack: FakeSlack, aiohttp_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service as `govbot serve` builds it: senders from the environment, the loop in the background."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("GOVBOT_SLACK_API_URL", slack.api_url)
    monkeypatch.setenv("GOVBOT_TEAMS", "0")
    monkeypatch.setattr("bot.schedule.POLL", 0.05)
    world.subscribe("slack", "C-ALL", "abonner tout")
    conv = Conversation(world.kb)
    app = create_app(conv)
    app.cleanup_ctx.append(service_context(app, world.kb, conv, Namespace(refresh_every=None)))
    client = await aiohttp_client(app)
    await asyncio.to_thread(world.refresh)  # e.g. `govbot refresh` in another process: the loop notices
    [posted] = await slack.wait_for("chat.postMessage")
    assert posted["channel"] == "C-ALL" and posted["text"] == "Du nouveau sur toutes les nouveautés"
    feed = await (await client.get("/feed.xml")).text()
    assert feed.count("<entry>") == 5
    for _ in range(200):  # the loop marks the row once Slack accepted it; nothing else is due after that
        if world.state.outbox_counts() == {"delivered": 1}:
            break
        await asyncio.sleep(0.02)
    assert world.state.outbox_counts() == {"delivered": 1}
    assert len(slack.of("chat.postMessage")) == 1


async def test_a_web_visitor_reads_their_digests_once_on_the_next_visit(world: World, aiohttp_client: Any) -> None:
    client = await aiohttp_client(create_app(Conversation(world.kb)))
    assert (await client.get("/")).status == 200
    visitor = client.session.cookie_jar.filter_cookies(client.make_url("/"))["govbot_uid"].value
    world.subscribe("web", visitor, "subscribe decisions", direct=True, admin=False)
    world.subscribe("web", "someone-else", "abonner tout", direct=True, admin=False)
    world.refresh()
    assert await deliver_due(world.state, {"web": web_sender(world.state)}) == {"delivered": 2}
    first = await (await client.get("/api/digests")).json()
    [digest] = first["digests"]
    assert digest["title"] == "News on decisions and councils"
    assert digest["text"].splitlines()[1:3] == [
        "New decisions:",
        "• D-4 — Extension de la double authentification "
        "aux prestataires (2025-06-20) <https://example.org/ght/copil-3#d4>",
    ]
    assert (await (await client.get("/api/digests")).json()) == {"digests": []}
    stranger = await aiohttp_client(create_app(Conversation(world.kb)))
    assert (await (await stranger.get("/api/digests")).json()) == {"digests": []}
