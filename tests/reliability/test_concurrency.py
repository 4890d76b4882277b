"""Concurrency: waves of 200 concurrent questions over HTTP while the knowledge base is refreshed again and again.

The real `govbot serve` application (`bot.server.create_app`) answers `POST /api/chat` on 127.0.0.1. A thread
refreshes a generated N× knowledge base from version MK1 to MK<n> while waves of 200 concurrent questions
about the marker records keep coming. Every answer must be a 200 with Answer JSON naming exactly one version
tag (two tags = a mixed answer), never a version older than one whose refresh had already returned when the
question was sent; once the refreshes are over, every answer comes from the last version.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from bot.conversation import Conversation
from bot.server import create_app
from knowledge import KnowledgeBase
from knowledge.model import INTENTS
from tests.reliability.helpers import MARKER_QUESTIONS, tags_in, write_sources

WAVE = 200
BLOCKS_PER_X = 5  # five generated blocks hold about as many records as the bundled knowledge (1×)


@dataclass
class Versions:
    """Which version tag was last committed (its refresh returned) and which one is being built."""

    committed: int = 1
    building: int = 1
    done: threading.Event = field(default_factory=threading.Event)
    failure: list[BaseException] = field(default_factory=list)


@dataclass
class Tally:
    questions: int = 0
    errors: list[str] = field(default_factory=list)
    mixed: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    seen: set[int] = field(default_factory=set)
    seconds: list[float] = field(default_factory=list)
    waves_during_refresh: int = 0


def refresher(kb: KnowledgeBase, folder: Path, template: str, last: int, versions: Versions) -> threading.Thread:
    """Refresh to MK2 … MK<last>, one after another, in a thread (as the bot's admin refresh does)."""

    def run() -> None:
        try:
            for number in range(2, last + 1):
                versions.building = number
                (folder / "roadmap.json").write_text(template.replace("MKTAG", f"MK{number}"), encoding="utf-8")
                kb.refresh([str(folder)], bundled=False)
                versions.committed = number
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            versions.failure.append(exc)
        finally:
            versions.done.set()

    return threading.Thread(target=run, daemon=True)


async def ask(client: TestClient, question: str, versions: Versions, tally: Tally) -> None:
    sent = versions.committed
    started = time.perf_counter()
    try:
        response = await client.post("/api/chat", json={"question": question})
        body: dict[str, Any] = await response.json()
    except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
        tally.errors.append(f"{question!r}: {type(exc).__name__}: {exc}")
        return
    finally:
        tally.questions += 1
        tally.seconds.append(time.perf_counter() - started)
    tags = tags_in(body) if response.status == 200 else set()
    if response.status != 200 or body.get("intent") not in INTENTS or not tags:
        tally.errors.append(f"{question!r}: HTTP {response.status} {str(body)[:200]}")
    elif len(tags) > 1:
        tally.mixed.append(f"{question!r}: {sorted(tags)}")
    else:
        number = int(tags.pop()[2:])
        tally.seen.add(number)
        if not sent <= number <= versions.building:
            tally.stale.append(f"{question!r}: MK{number} after MK{sent} was committed")


async def waves(client: TestClient, versions: Versions, tally: Tally) -> int:
    """Waves of WAVE concurrent questions until the refreshes are over, then one more; returns the waves sent."""
    questions = itertools.cycle(MARKER_QUESTIONS)
    count = 0
    while True:
        refreshing = not versions.done.is_set()
        await asyncio.gather(*(ask(client, next(questions), versions, tally) for _ in range(WAVE)))
        count += 1
        tally.waves_during_refresh += refreshing
        if not refreshing:
            return count


async def run_concurrency(
    aiohttp_client: Callable[..., Awaitable[TestClient]], tmp_path: Path, times: int, refreshes: int
) -> Tally:
    folder = write_sources(tmp_path / "src", times * BLOCKS_PER_X, "MKTAG")
    template = (folder / "roadmap.json").read_text(encoding="utf-8")
    (folder / "roadmap.json").write_text(template.replace("MKTAG", "MK1"), encoding="utf-8")
    kb = KnowledgeBase(tmp_path / "kb")
    kb.refresh([str(folder)], bundled=False)
    conv = Conversation(kb, rate_limit=10**9)  # this test is about consistency, not the per-user rate limit
    client = await aiohttp_client(create_app(conv), connector=aiohttp.TCPConnector(limit=0))
    versions = Versions()
    tally = Tally()
    thread = refresher(kb, folder, template, refreshes + 1, versions)
    started = time.perf_counter()
    thread.start()
    sent = await waves(client, versions, tally)
    thread.join()
    assert not versions.failure, versions.failure
    seconds = sorted(tally.seconds)
    print(
        f"\n{times}× knowledge, {refreshes} refreshes: {tally.questions} questions in {sent} waves of {WAVE} "
        f"({tally.waves_during_refresh} during refreshes) in {time.perf_counter() - started:.1f} s; "
        f"versions seen {sorted(tally.seen)}; errors {len(tally.errors)}, mixed {len(tally.mixed)}, "
        f"stale {len(tally.stale)}; p99 {seconds[int(len(seconds) * 0.99)] * 1000:.0f} ms"
    )
    assert tally.errors == [] and tally.mixed == [] and tally.stale == []
    assert tally.waves_during_refresh >= 1 and len(tally.seen) >= 2, "no question overlapped a refresh"
    final = Tally()
    await asyncio.gather(*(ask(client, q, versions, final) for q in MARKER_QUESTIONS * (WAVE // len(MARKER_QUESTIONS))))
    assert final.errors == [] and final.seen == {refreshes + 1}, final
    return tally


async def test_200_concurrent_questions_during_refreshes_of_a_5x_knowledge_base(
    aiohttp_client: Callable[..., Awaitable[TestClient]], tmp_path: Path
) -> None:
    await run_concurrency(aiohttp_client, tmp_path, times=5, refreshes=6)


@pytest.mark.soak
async def test_200_concurrent_questions_during_refreshes_of_a_100x_knowledge_base(
    aiohttp_client: Callable[..., Awaitable[TestClient]], tmp_path: Path
) -> None:
    await run_concurrency(aiohttp_client, tmp_path, times=100, refreshes=3)
