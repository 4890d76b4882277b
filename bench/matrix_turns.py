"""`python -m bench.matrix_turns`: turn latency over a real Synapse on loopback (question sent -> answer seen).

Starts the test homeserver (tests/homeserver.py), the bot on the test knowledge, and a person driven with
matrix-nio who asks one question at a time, in a direct message and in an encrypted one. Latency is what
the person sees: from their send returning to the answer arriving through their own sync.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bot.conversation import Conversation
from bot.matrix import MatrixBot, Settings
from knowledge import KnowledgeBase
from tests.homeserver import Homeserver
from tests.matrix.person import Person

from .machine import describe

QUESTIONS = ("Où en est l'objectif 12 ?", "Qui dirige l'ANS ?", "quels objectifs sont en retard ?", "aide")


async def _measure(root: Path, homeserver: Homeserver, count: int) -> dict[str, list[float]]:
    kb = KnowledgeBase(root / "kb")
    kb.refresh([str(Path("tests/data/source"))], bundled=False)
    me, human = homeserver.register("govbot"), homeserver.register("alice")
    bot = MatrixBot(Conversation(kb, admins={}), Settings(homeserver.url, me.user_id, password=me.password))
    task = asyncio.ensure_future(bot.run())
    alice = Person(homeserver, human, store=root / "alice-keys")
    results: dict[str, list[float]] = {}
    try:
        while not bot.health["connected"]:
            await asyncio.sleep(0.05)
        await alice.sync()
        for label, encrypted in (("direct message", False), ("encrypted direct message", True)):
            room = await alice.room(me.user_id, direct=True, encrypted=encrypted)
            await alice.joined(room, me.user_id)
            timings = results.setdefault(label, [])
            for n in range(count):
                asked = await alice.send(room, QUESTIONS[n % len(QUESTIONS)])
                started = time.perf_counter()
                await alice.answer_to(asked, me.user_id)
                timings.append(time.perf_counter() - started)
    finally:
        await alice.close()
        await bot.stop()
        await task
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.matrix_turns", description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=30, help="questions per kind of room (default 30)")
    args = parser.parse_args(argv)
    print(describe())
    print(f"command: python -m bench.matrix_turns {' '.join(argv if argv is not None else sys.argv[1:])}".rstrip())
    with tempfile.TemporaryDirectory() as tmp:
        homeserver = Homeserver(Path(tmp) / "synapse")
        homeserver.start()
        try:
            results = asyncio.run(_measure(Path(tmp), homeserver, args.questions))
        finally:
            homeserver.stop()
    print("| room | turns | median ms | p95 ms | max ms |")
    print("|---|---:|---:|---:|---:|")
    for label, timings in results.items():
        ms = sorted(t * 1000 for t in timings)
        p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
        print(f"| {label} | {len(ms)} | {statistics.median(ms):.0f} | {p95:.0f} | {ms[-1]:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
