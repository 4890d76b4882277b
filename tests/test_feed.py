"""`/feed.xml`: a feed reader follows govbot; each change of a refresh is one Atom entry with its source link."""

from __future__ import annotations

from pathlib import Path

import feedparser

from bot.conversation import Conversation
from bot.digests import process_refresh
from bot.server import create_app
from bot.state import State
from knowledge import KnowledgeBase
from tests.digest_world import bring_news, roadmap


def refreshed_twice(tmp_path: Path) -> KnowledgeBase:
    src = roadmap(tmp_path / "src")
    kb = KnowledgeBase(tmp_path / "kb")
    kb.refresh([str(src)], bundled=False)
    state = State(kb.path)
    process_refresh(kb, state)
    bring_news(src)
    kb.refresh([str(src)], bundled=False)
    process_refresh(kb, state)
    return kb


async def test_the_feed_lists_each_change_with_its_link(tmp_path: Path, aiohttp_client) -> None:
    kb = refreshed_twice(tmp_path)
    client = await aiohttp_client(create_app(Conversation(kb)))
    response = await client.get("/feed.xml")
    assert response.status == 200 and response.headers["Content-Type"].startswith("application/atom+xml")
    parsed = feedparser.parse(await response.read())
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.version == "atom10"
    made = {(c["kind"], c["id"], c["url"]) for c in State(kb.path).recent_changes()}
    entries = {(e.tags[0].term, e.title.split(" ")[0], e.link) for e in parsed.entries}
    assert (
        entries
        == made
        == {
            ("objectives", "007", "https://example.org/ght/bilan-2025-06"),
            ("objectives", "1", "https://example.org/ght/bilan-2025-06"),
            ("decisions", "D-4", "https://example.org/ght/copil-3#d4"),
            ("councils", "COPIL-3", "https://example.org/ght/copil-3"),
            ("reports", "R-2025-06", "https://example.org/ght/bilan-2025-06"),
        }
    )
    moved = next(e for e in parsed.entries if e.title.startswith("1 "))
    assert moved.title.endswith("en cours 40 % → réalisé 100 %") and moved.tags[0].label == "Statuts qui changent"
    assert len({e.id for e in parsed.entries}) == 5
    english = feedparser.parse(await (await client.get("/feed.xml?lang=en")).read())
    assert any(e.title.endswith("in progress 40 % → done 100 %") for e in english.entries)


async def test_the_feed_of_one_roadmap(tmp_path: Path, aiohttp_client) -> None:
    kb = KnowledgeBase(tmp_path / "kb")
    state = State(kb.path)
    change = {"change": "new", "kind": "decisions", "title": "Décision", "url": "https://example.org/d"}
    state.record_refresh(
        "V2",
        "V1",
        [{**change, "id": "D-R1", "roadmap": "region"}, {**change, "id": "D-N1", "roadmap": "national"}],
        [],
    )
    client = await aiohttp_client(create_app(Conversation(kb)))
    region = feedparser.parse(await (await client.get("/feed.xml?roadmap=region")).read())
    assert [e.title.split(" ")[0] for e in region.entries] == ["D-R1"]
    assert region.feed.title == "govbot — region"
    everything = feedparser.parse(await (await client.get("/feed.xml")).read())
    assert sorted(e.title.split(" ")[0] for e in everything.entries) == ["D-N1", "D-R1"]
    none = feedparser.parse(await (await client.get("/feed.xml?roadmap=<script>")).read())
    assert not none.bozo and none.entries == []


async def test_no_refresh_yet_is_an_empty_valid_feed(kb: KnowledgeBase, aiohttp_client) -> None:
    client = await aiohttp_client(create_app(Conversation(kb)))
    parsed = feedparser.parse(await (await client.get("/feed.xml")).read())
    assert not parsed.bozo and parsed.entries == [] and parsed.feed.title == "govbot"
