"""Subscribing from each front end, through the one conversation turn: Slack (fake Web API), Teams (fake Bot
Connector), the web chat; then refreshes: each subscribed channel gets exactly one correct digest, the others
nothing, and a refresh with no change posts nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from botframework.connector.auth import ChannelValidation
from slack_sdk.web.async_client import AsyncWebClient

from bot.conversation import Conversation
from bot.delivery import deliver_due
from bot.digests import process_refresh
from bot.senders import slack_sender, teams_sender, web_sender
from bot.server import create_app
from bot.state import State
from bot.teams import TeamsSettings, add_routes, create_adapter
from bot.teams import mount as mount_teams
from knowledge import KnowledgeBase
from tests.digest_world import bring_news, roadmap
from tests.fakes.bot_connector import ADMIN_AAD, CHANNEL_ID, FakeBotConnector, TeamsRig
from tests.fakes.jwks import FakeJwks, LocalCredentialFactory
from tests.fakes.slack_api import ADMIN, BOT_TOKEN, USER, dm, mention, start_rig


@pytest.fixture
def moving(tmp_path: Path) -> tuple[KnowledgeBase, Path]:
    src = roadmap(tmp_path / "src")
    kb = KnowledgeBase(tmp_path / "kb")
    kb.refresh([str(src)], bundled=False)
    return kb, src


def refresh(kb: KnowledgeBase, src: Path, state: State, news: bool = True) -> None:
    if news:
        bring_news(src)
    kb.refresh([str(src)], bundled=False)
    process_refresh(kb, state)


async def test_slack_channels_subscribe_and_get_one_digest_each(
    moving, monkeypatch, aiohttp_server, aiohttp_client
) -> None:
    kb, src = moving
    slack = await start_rig(kb, monkeypatch, aiohttp_server, aiohttp_client)
    state = slack.conv.subscriptions = State(kb.path)
    process_refresh(kb, state)  # the baseline
    assert await slack.event(mention("abonner tout", user=ADMIN, channel="CALL")) == 200
    assert await slack.event(mention("subscribe axis 2", user=ADMIN, channel="CAXIS")) == 200
    assert await slack.event(mention("abonner porteur PHARMA", user=ADMIN, channel="CPHARMA")) == 200
    assert await slack.event(mention("abonner tout", user=USER, channel="CMEMBER")) == 200  # a member: refused
    assert await slack.event(dm("abonner décisions", user=USER)) == 200  # a DM: anyone
    # Events are handled concurrently: a barrier's quick help answer may come before the subscriptions' replies,
    # so wait for the replies themselves (3 acks and a refusal in the channels, 1 ack in the DM).
    await slack.fake.wait_for("chat.postEphemeral", 4)
    await slack.fake.wait_for("chat.postMessage", 1)
    notes = [c["text"] for c in slack.fake.of("chat.postEphemeral")]
    assert (
        sum(t.startswith(("C'est noté", "Done")) for t in notes)
        + len([c for c in slack.fake.of("chat.postMessage") if "C'est noté" in str(c)])
        == 4
    )
    assert any(t.startswith("Seul un administrateur") for t in notes)
    assert sorted(s.channel for s in state.subscriptions()) == ["CALL", "CAXIS", "CPHARMA", "D1"]
    send = slack_sender(AsyncWebClient(token=BOT_TOKEN, base_url=slack.fake.api_url + "/"))
    before = len(slack.fake.of("chat.postMessage"))
    refresh(kb, src, state)
    assert await deliver_due(state, {"slack": send}) == {"delivered": 3}
    digests = slack.fake.of("chat.postMessage")[before:]
    assert sorted(d["channel"] for d in digests) == ["CALL", "CAXIS", "D1"]
    by_channel = {d["channel"]: d for d in digests}
    assert by_channel["CAXIS"]["text"] == "News on axis 2"
    assert "• 007" in str(by_channel["CAXIS"]["blocks"]) and "• 1 " not in str(by_channel["CAXIS"]["blocks"])
    assert by_channel["D1"]["text"] == "Du nouveau sur les décisions et les comités"
    refresh(kb, src, state, news=False)
    assert await deliver_due(state, {"slack": send}) == {}
    assert len(slack.fake.of("chat.postMessage")) == before + 3


async def test_teams_without_an_app_id_refuses_subscriptions_with_the_reason(
    moving, aiohttp_server, aiohttp_client, monkeypatch
) -> None:
    kb, _ = moving
    monkeypatch.setenv("GOVBOT_TEAMS_LOCAL", "1")  # the emulator mode: no app id
    connector = FakeBotConnector()
    server = await aiohttp_server(connector.app)
    connector.service_url = str(server.make_url("/"))
    conv = Conversation(kb)
    conv.subscriptions = State(kb.path)
    app = web.Application()
    assert mount_teams(app, conv)
    teams = TeamsRig(await aiohttp_client(app), connector, connector.service_url)
    assert await teams.post(teams.personal("subscribe everything")) in (200, 201)
    [reply] = await connector.wait_for(1)
    assert "MicrosoftAppId" in reply.text
    assert conv.subscriptions.subscriptions() == []


async def test_a_web_visitor_subscribes_in_the_chat_and_reads_the_digest_next_visit(moving, aiohttp_client) -> None:
    kb, src = moving
    conv = Conversation(kb)
    state = conv.subscriptions = State(kb.path)
    process_refresh(kb, state)
    client = await aiohttp_client(create_app(conv))
    assert (await client.get("/")).status == 200
    said: dict[str, Any] = await (await client.post("/api/chat", json={"question": "abonner objectif 1"})).json()
    assert said["text"].startswith("C'est noté : ce canal recevra un résumé") or "C'est noté" in str(said)
    listing = await (await client.post("/api/chat", json={"question": "abonnements"})).json()
    assert "l'objectif 1" in str(listing)
    refresh(kb, src, state)
    assert await deliver_due(state, {"web": web_sender(state)}) == {"delivered": 1}
    [digest] = (await (await client.get("/api/digests")).json())["digests"]
    assert digest["title"] == "Du nouveau sur l'objectif 1"
    assert "réalisé 100 %" in digest["text"] and "D-4" in digest["text"]
    assert (await (await client.get("/api/digests")).json())["digests"] == []


async def test_a_teams_channel_subscribes_and_gets_a_proactive_card(
    moving, aiohttp_server, aiohttp_client, monkeypatch
):
    """With an app id (authentication on, a local key server): the reference is stored, the card arrives once."""
    kb, src = moving
    monkeypatch.setenv("GOVBOT_TEAMS_ADMINS", ADMIN_AAD)
    connector = FakeBotConnector()
    server = await aiohttp_server(connector.app)
    connector.service_url = str(server.make_url("/"))
    conv = Conversation(kb)
    state = conv.subscriptions = State(kb.path)
    process_refresh(kb, state)
    jwks = FakeJwks()
    jwks.start()
    try:
        monkeypatch.setattr(ChannelValidation, "open_id_metadata_endpoint", jwks.metadata_url)
        settings = TeamsSettings(APP_ID=APP_ID, APP_PASSWORD="pw")
        app = web.Application()
        add_routes(app, conv, settings, LocalCredentialFactory(APP_ID, "pw"))
        teams = TeamsRig(await aiohttp_client(app), connector, connector.service_url)
        admin = {"id": "29:admin", "name": "Admin", "aadObjectId": ADMIN_AAD}
        token = {"Authorization": "Bearer " + jwks.token(APP_ID, teams.service_url)}
        assert await teams.post(teams.channel("abonner axe 1", **{"from": admin}), token) in (200, 201)
        [said] = await connector.wait_for(1)
        assert "C'est noté" in json.dumps(said.activity, ensure_ascii=False)
        [sub] = state.subscriptions()
        assert sub.conversation["conversation"]["id"] == CHANNEL_ID  # the channel itself, not the thread
        refresh(kb, src, state)
        send = teams_sender(create_adapter(settings, LocalCredentialFactory(APP_ID, "pw")), APP_ID)
        assert await deliver_due(state, {"teams": send}) == {"delivered": 1}
        card = (await connector.wait_for(2))[1]
        assert card.conversation_id == CHANNEL_ID and card.card is not None
        assert card.card["body"][0]["text"] == "Du nouveau sur l'axe 1"
        refresh(kb, src, state, news=False)
        assert await deliver_due(state, {"teams": send}) == {}
        assert len(connector.posted) == 2
    finally:
        jwks.stop()


APP_ID = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"
