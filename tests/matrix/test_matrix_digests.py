"""Digests on a real Synapse: a subscribed room gets one digest; a room the bot is no longer in is paused."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.delivery import deliver_due
from bot.digests import Digest, process_refresh
from bot.senders import matrix_sender
from bot.state import State
from bot.subscriptions import Where, handle, parse
from knowledge import KnowledgeBase
from knowledge.store import Reader
from tests.digest_world import bring_news, roadmap
from tests.homeserver import Homeserver
from tests.matrix.test_matrix import account, direct_room, person, running


def subscribe(kb: KnowledgeBase, state: State, room: str, user: str, text: str) -> str:
    current = kb.store.current()
    assert current is not None
    command = parse(text)
    assert command is not None
    return handle(command, Where("matrix", room, user, direct=True, admin=False), state, Reader(current))


async def test_a_subscribed_room_gets_one_digest_and_a_room_left_pauses(tmp_path: Path, homeserver: Homeserver) -> None:
    src = roadmap(tmp_path / "src")
    kb = KnowledgeBase(tmp_path / "kb")
    kb.refresh([str(src)], bundled=False)
    state = State(kb.path)
    process_refresh(kb, state)
    me, human = account(homeserver, "govbot"), account(homeserver, "alice")
    async with running(kb, homeserver, me) as bot, person(homeserver, human) as alice:
        room = await direct_room(alice, me)
        gone = await direct_room(alice, me)
        assert subscribe(kb, state, room, alice.user_id, "abonner tout").startswith("C'est noté")
        subscribe(kb, state, gone, alice.user_id, "subscribe decisions")
        await bot.client.room_leave(gone)  # removed from the room (in a direct chat both have the same power)
        bring_news(src)
        await asyncio.to_thread(kb.refresh, [str(src)], bundled=False)
        await asyncio.to_thread(process_refresh, kb, state)
        send = matrix_sender(bot.client)
        counts = await deliver_due(state, {"matrix": send})
        assert counts == {"delivered": 1, "gone": 1}, counts
        digest = await alice.wait_for(
            lambda e: e.get("room_id") == room and e.get("sender") == me.user_id and "Du nouveau" in str(e["content"])
        )
        content = digest["content"]
        assert content["msgtype"] == "m.notice" and content["m.mentions"] == {}
        assert content["body"].startswith("Du nouveau sur toutes les nouveautés\nStatuts qui changent :")
        assert '<a href="https://example.org/ght/copil-3#d4">↗</a>' in content["formatted_body"]
        assert [s.paused for s in state.subscriptions(channel=gone)] == [True]
        # The after-send window: the same digest sent again is the same event (transaction id), not a second one.
        row = [r for r in state.due(float("inf"), {"matrix"}) if r.subscription.channel == room]
        assert row == []
        [sub] = state.subscriptions(channel=room)
        again = Digest.from_dict(digest_payload(state, sub.id))
        assert (await send(sub, again)).outcome.value == "delivered"
        await alice.sync()
        mine = [
            e
            for e in alice.events
            if e.get("room_id") == room and e.get("sender") == me.user_id and "Du nouveau" in str(e)
        ]
        assert len({e["event_id"] for e in mine}) == 1


def digest_payload(state: State, subscription: int) -> dict:
    import json
    import sqlite3

    with sqlite3.connect(state.path) as conn:
        (payload,) = conn.execute("SELECT payload FROM outbox WHERE subscription = ?", (subscription,)).fetchone()
    return json.loads(payload)
