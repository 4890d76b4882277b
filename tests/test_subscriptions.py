"""Subscriptions, digests and the outbox, platform-neutral: a channel follows a scope; a refresh that moves
something in it queues one digest; the delivery loop sends it once, retries refusals, pauses gone channels."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import pytest

from bot.delivery import MAX_ATTEMPTS, Outcome, Sent, backoff, deliver_due
from bot.digests import Digest, digest_for, process_refresh, queue_notice
from bot.state import State, Subscription
from bot.subscriptions import Where, handle, parse, reply_to, resolve
from knowledge import KnowledgeBase
from knowledge.store import Reader
from tests.digest_world import bring_news, roadmap


@pytest.fixture
def world(tmp_path: Path) -> tuple[KnowledgeBase, State, Path]:
    src = roadmap(tmp_path / "src")
    kb = KnowledgeBase(tmp_path / "kb")
    kb.refresh([str(src)], bundled=False)
    return kb, State(kb.path), src


def reader_of(kb: KnowledgeBase) -> Reader:
    current = kb.store.current()
    assert current is not None
    return Reader(current)


def where(channel: str = "C1", *, admin: bool = True, direct: bool = False, platform: str = "slack") -> Where:
    return Where(platform, channel, "U1", direct=direct, admin=admin)


def subscribe(kb: KnowledgeBase, state: State, text: str, channel: str = "C1", platform: str = "slack") -> str:
    command = parse(text)
    assert command is not None, text
    return handle(command, where(channel, platform=platform), state, reader_of(kb))


# commands


@pytest.mark.parametrize(
    ("text", "action", "scope", "lang"),
    [
        ("abonner axe 1", "subscribe", "axe 1", "fr"),
        ("Abonner", "subscribe", "", "fr"),
        ("subscribe decisions", "subscribe", "decisions", "en"),
        ("désabonner", "unsubscribe", "", "fr"),
        ("se désabonner objectif 12", "unsubscribe", "objectif 12", "fr"),
        ("unsubscribe axis 2", "unsubscribe", "axis 2", "en"),
        ("abonnements", "list", "", "fr"),
        ("subscriptions?", "list", "", "en"),
        ("abonner tout ce que porte l'ANS", "subscribe", "tout ce que porte l'ANS", "fr"),
    ],
)
def test_commands_in_french_and_english(text: str, action: str, scope: str, lang: str) -> None:
    command = parse(text)
    assert command is not None
    assert (command.action, command.scope, command.lang) == (action, scope, lang)


@pytest.mark.parametrize("text", ["abonnements de l'ANS ?", "qui pilote l'abonnement ?", "où en est l'objectif 1 ?"])
def test_questions_are_not_commands(text: str) -> None:
    assert parse(text) is None


def test_scopes_resolve_against_the_knowledge(world) -> None:
    kb, _, _ = world
    reader = reader_of(kb)
    assert resolve("tout", reader) == ("all", "", "")
    assert resolve("décisions", reader) == ("decisions", "", "")
    assert resolve("axe 2", reader) == ("axis", "2", "2")
    assert resolve("objectif 007", reader) == ("objective", "007", "007")
    assert resolve("tout ce que porte la cellule cybersécurité", reader)[:2] == ("owner", "CYBER")
    assert resolve("porteur RSSI", reader)[:2] == ("owner", "CYBER")  # an alias
    assert resolve("MFA", reader)[:2] == ("objective", "1")  # a bare name finds its kind
    assert resolve("axe 9", reader) is None
    assert resolve("feuille de route inconnue", reader) is None


def test_subscribe_list_unsubscribe_in_a_channel(world) -> None:
    kb, state, _ = world
    assert subscribe(kb, state, "abonner axe 2").startswith("C'est noté")
    assert subscribe(kb, state, "abonner axe 2").startswith("Ce canal suit déjà")
    assert "decisions and councils" in subscribe(kb, state, "subscribe decisions")
    listing = subscribe(kb, state, "abonnements")
    assert "l'axe 2" in listing and "les décisions et les comités" in listing
    assert subscribe(kb, state, "abonnements", channel="C2").startswith("Ce canal ne suit rien")
    assert subscribe(kb, state, "désabonner axe 2") == "Ce canal ne suit plus l'axe 2."
    assert subscribe(kb, state, "unsubscribe axis 2") == "This channel does not follow axis 2."
    assert subscribe(kb, state, "désabonner").startswith("Ce canal ne suit plus rien (1 ")
    assert state.subscriptions() == []


def test_bad_scope_and_refusals_are_one_line_in_the_users_language(world, monkeypatch) -> None:
    kb, state, _ = world
    reader = reader_of(kb)
    unknown = handle(parse("subscribe axis 42"), where(), state, reader)
    assert unknown.startswith("I cannot find “axis 42”") and "\n" not in unknown
    # A channel: admins only by default; a direct conversation: anyone.
    member = Where("slack", "C9", "U2", direct=False, admin=False)
    assert handle(parse("abonner axe 1"), member, state, reader).startswith("Seul un administrateur")
    assert handle(parse("abonner axe 1"), Where("slack", "D9", "U2", direct=True, admin=False), state, reader)
    monkeypatch.setenv("GOVBOT_SUBSCRIBE", "everyone")
    assert handle(parse("abonner axe 1"), member, state, reader).startswith("C'est noté")
    monkeypatch.setenv("GOVBOT_SUBSCRIBE", "admins")
    direct = Where("slack", "D8", "U2", direct=True, admin=False)
    assert handle(parse("abonner axe 1"), direct, state, reader).startswith("Seul un administrateur")
    assert handle(parse("abonner admin"), where(admin=False, direct=True), state, reader).startswith("Seul")
    no_app = Where("teams", "19:x", "U2", direct=True, admin=True, can_post=False)
    assert "MicrosoftAppId" in handle(parse("subscribe everything"), no_app, state, reader)
    assert [s.channel for s in state.subscriptions()] == ["D9", "C9"]


def test_the_state_database_is_private_and_survives_restarts(world) -> None:
    kb, state, _ = world
    subscribe(kb, state, "abonner axe 1")
    path = kb.path / "state.sqlite"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert [s.scope_value for s in State(kb.path).subscriptions()] == ["1"]


# digests


def follow(kb: KnowledgeBase, state: State) -> dict[str, int]:
    """Six channels, one scope each; returns channel -> subscription id."""
    for channel, text in [
        ("ALL", "abonner tout"),
        ("AXIS2", "subscribe axis 2"),
        ("CYBER", "abonner porteur CYBER"),
        ("PHARMA", "abonner porteur PHARMA"),
        ("DEC", "abonner décisions"),
        ("OBJ12", "abonner objectif 12"),
    ]:
        subscribe(kb, state, text, channel)
    return {s.channel: s.id for s in state.subscriptions()}


def queued(state: State) -> dict[str, Digest]:
    by_id = {s.id: s.channel for s in state.subscriptions()}
    rows = state.due(float("inf"), {"slack"}, limit=1000)
    return {by_id[r.subscription.id]: Digest.from_dict(r.payload) for r in rows}


def test_a_refresh_queues_one_digest_per_channel_whose_scope_moved(world) -> None:
    kb, state, src = world
    follow(kb, state)
    assert process_refresh(kb, state) == 0  # the first version seen is the baseline: nothing to tell
    bring_news(src)
    kb.refresh([str(src)], bundled=False)
    assert process_refresh(kb, state) == 4
    assert process_refresh(kb, state) is None  # processed once
    digests = queued(state)
    assert sorted(digests) == ["ALL", "AXIS2", "CYBER", "DEC"]  # PHARMA and objective 12 did not move
    everything = digests["ALL"].to_text()
    assert everything.splitlines() == [
        "Du nouveau sur toutes les nouveautés",
        "Statuts qui changent :",
        "• 007 — Alimenter le DMP avec les comptes rendus d'hospitalisation : en retard 20 % → en cours 50 % "
        "<https://example.org/ght/bilan-2025-06>",
        "• 1 — Déployer l'authentification multifacteur pour tous les agents : en cours 40 % → réalisé 100 % "
        "<https://example.org/ght/bilan-2025-06>",
        "Nouvelles décisions :",
        "• D-4 — Extension de la double authentification aux prestataires (2025-06-20) "
        "<https://example.org/ght/copil-3#d4>",
        "Nouveaux comités :",
        "• COPIL-3 — 3e comité de pilotage SI (2025-06-20) <https://example.org/ght/copil-3>",
        "Nouveau rapport d'avancement :",
        "• R-2025-06 — Bilan semestriel juin 2025 (2025-06-30) <https://example.org/ght/bilan-2025-06>",
    ]
    assert [line.text.split(" —")[0] for s in digests["AXIS2"].sections for line in s.lines] == ["• 007"]
    assert [line.text.split(" —")[0] for s in digests["CYBER"].sections for line in s.lines] == ["• 1", "• D-4"]
    assert [s.heading for s in digests["DEC"].sections] == ["Nouvelles décisions", "Nouveaux comités"]
    assert digests["AXIS2"].title == "News on axis 2"  # the language of the command that subscribed


def test_a_refresh_with_no_change_queues_nothing(world) -> None:
    kb, state, src = world
    follow(kb, state)
    process_refresh(kb, state)
    kb.refresh([str(src)], bundled=False)  # a new version, the same records
    assert process_refresh(kb, state) == 0
    assert queued(state) == {}


def test_a_long_digest_is_capped_with_a_link(world, monkeypatch) -> None:
    kb, state, _ = world
    monkeypatch.setenv("GOVBOT_PUBLIC_URL", "https://govbot.example.org/")
    sub = Subscription(7, "slack", "C1", "all", lang="en")
    changes = [
        {
            "change": "new",
            "kind": "decisions",
            "id": f"D-{i}",
            "title": f"Decision {i}",
            "url": f"https://example.org/{i}",
        }
        for i in range(12)
    ]
    digest = digest_for(sub, changes, "V1")
    assert digest is not None
    assert sum(len(s.lines) for s in digest.sections) == 8
    assert digest.to_text().splitlines()[-1] == "… and 4 more: https://govbot.example.org/feed.xml"


# delivery


class Recorder:
    """A platform: answers each send from a script of outcomes (then delivered), records what arrived."""

    def __init__(self, *script: Sent):
        self.script = list(script)
        self.arrived: list[tuple[str, str]] = []

    async def send(self, sub: Subscription, digest: Digest) -> Sent:
        sent = self.script.pop(0) if self.script else Sent(Outcome.DELIVERED)
        if sent.outcome is Outcome.DELIVERED:
            self.arrived.append((sub.channel, digest.id))
        return sent


def news(kb: KnowledgeBase, state: State, src: Path) -> None:
    process_refresh(kb, state)
    bring_news(src)
    kb.refresh([str(src)], bundled=False)
    process_refresh(kb, state)


def test_each_digest_is_delivered_once(world) -> None:
    kb, state, src = world
    follow(kb, state)
    news(kb, state, src)
    slack = Recorder()
    counts = asyncio.run(deliver_due(state, {"slack": slack.send}))
    assert counts == {"delivered": 4}
    assert sorted(c for c, _ in slack.arrived) == ["ALL", "AXIS2", "CYBER", "DEC"]
    assert asyncio.run(deliver_due(state, {"slack": slack.send})) == {}
    assert len(slack.arrived) == 4
    assert state.outbox_counts() == {"delivered": 4}


def test_refusals_are_retried_with_backoff(world) -> None:
    kb, state, src = world
    subscribe(kb, state, "abonner tout")
    news(kb, state, src)
    clock = [1000.0]
    slack = Recorder(Sent(Outcome.RETRY, "429", retry_after=7), Sent(Outcome.RETRY, "HTTP 503"))
    run = lambda: asyncio.run(deliver_due(state, {"slack": slack.send}, now=lambda: clock[0]))  # noqa: E731
    assert run() == {"retry": 1}
    clock[0] += 6
    assert run() == {}  # Retry-After honoured
    clock[0] += 1
    assert run() == {"retry": 1}
    clock[0] += backoff(2) - 1
    assert run() == {}
    clock[0] += 1
    assert run() == {"delivered": 1}
    assert len(slack.arrived) == 1
    assert backoff(1) < backoff(2) < backoff(MAX_ATTEMPTS) <= 3600


def test_a_gone_channel_is_paused_and_the_admins_told_once(world) -> None:
    kb, state, src = world
    subscribe(kb, state, "abonner tout", channel="C1")
    subscribe(kb, state, "subscribe admin", channel="ADMINS")
    news(kb, state, src)
    slack = Recorder(Sent(Outcome.GONE, "channel_not_found"))
    assert asyncio.run(deliver_due(state, {"slack": slack.send})) == {"gone": 1, "delivered": 1}
    [(channel, digest_id)] = slack.arrived
    assert channel == "ADMINS" and digest_id.startswith("notice/paused:")
    assert [s.paused for s in state.subscriptions(channel="C1")] == [True]
    assert "(en pause" in subscribe(kb, state, "abonnements", channel="C1")
    # Told once: the same pause again queues nothing; subscribing again resumes the channel.
    assert not queue_notice(
        state, "paused:1", "admin_subscription_paused", platform="", channel="", scope="", reason=""
    )
    assert subscribe(kb, state, "abonner tout", channel="C1").startswith("C'est noté")
    assert [s.paused for s in state.subscriptions(channel="C1")] == [False]


def test_a_sender_that_raises_loses_nothing(world) -> None:
    kb, state, src = world
    subscribe(kb, state, "abonner tout")
    news(kb, state, src)

    async def broken(sub: Subscription, digest: Digest) -> Sent:
        raise ConnectionResetError

    assert asyncio.run(deliver_due(state, {"slack": broken})) == {"retry": 1}
    assert state.outbox_counts() == {"pending": 1}


def test_unsubscribing_drops_the_pending_digests(world) -> None:
    kb, state, src = world
    subscribe(kb, state, "abonner tout")
    news(kb, state, src)
    subscribe(kb, state, "désabonner tout")
    slack = Recorder()
    assert asyncio.run(deliver_due(state, {"slack": slack.send})) == {}
    assert slack.arrived == []


def test_reply_to_is_the_one_call_a_turn_makes(world) -> None:
    kb, state, _ = world
    assert reply_to("où en est l'objectif 1 ?", where(), state, kb) is None
    assert reply_to("subscribe axis 1", where(), state, kb) == (
        "en",
        "Done: this channel will get a digest after every refresh that touches axis 1.",
    )
    empty = KnowledgeBase(kb.path.parent / "empty")
    lang, text = reply_to("abonner axe 1", where(), State(empty.path), empty)
    assert lang == "fr" and text.startswith("Je ne trouve pas « axe 1 »")


def test_a_roadmap_scope_follows_only_that_roadmap(tmp_path: Path) -> None:
    """Two roadmaps side by side: news on the national one reaches its followers, not the region's."""
    src = roadmap(tmp_path / "src")
    region = str(Path(__file__).parent / "data" / "roadmaps" / "region-val-de-brume")
    kb = KnowledgeBase(tmp_path / "kb")
    kb.refresh([str(src), region], bundled=False)
    state = State(kb.path)
    reader = reader_of(kb)
    assert resolve("feuille de route Val-de-Brume", reader)[:2] == ("roadmap", "ars-vdb")
    assert resolve("roadmap national", reader)[:2] == ("roadmap", "national")
    assert resolve("feuille de route de Mars", reader) is None
    subscribe(kb, state, "abonner feuille de route nationale", channel="NAT")
    subscribe(kb, state, "abonner feuille de route Val-de-Brume", channel="VDB")
    process_refresh(kb, state)
    bring_news(src)
    kb.refresh([str(src), region], bundled=False)
    assert process_refresh(kb, state) == 1
    [digest] = queued(state).values()
    assert digest.title == "Du nouveau sur la feuille de route « Feuille de route nationale du numérique en santé »"
    assert sorted(queued(state)) == ["NAT"]
