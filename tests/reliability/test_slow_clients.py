"""Slow and numerous clients (issue 11, item 6): deadlines for headers, bodies and idle keep-alive, a connection cap.

The real service listens through `bot.http_guard.start` (what `govbot serve` uses) on an OS-assigned
loopback port, with the deadlines shortened; raw sockets play the slow clients.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp

from bot.conversation import Conversation
from bot.http_guard import Limits, start
from bot.server import create_app
from knowledge import KnowledgeBase

DRIP = 0.25  # seconds between two bytes of a slow client


async def _drip(port: int, head: bytes, closed: list[float], began: float) -> bytes:
    """Send `head`, then one byte every DRIP seconds until the server closes; returns what it answered."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    answer = b""
    try:
        writer.write(head)
        while True:
            try:
                chunk = await asyncio.wait_for(reader.read(1024), DRIP)
            except TimeoutError:
                writer.write(b"x")  # never completes: a header line, or a body far shorter than announced
                continue
            if not chunk:
                break
            answer += chunk
    except (ConnectionResetError, BrokenPipeError):
        pass
    finally:
        closed.append(time.monotonic() - began)
        writer.close()
    return answer


async def test_300_slow_drip_connections_are_cut_off_while_healthz_keeps_answering(kb: KnowledgeBase) -> None:
    limits = Limits(idle=2.0, body=2.0, connections=1000)
    runner, site = await start(create_app(Conversation(kb), limits=limits), "127.0.0.1", 0)
    url = f"http://127.0.0.1:{site.port}/healthz"
    closed: list[float] = []
    try:
        async with aiohttp.ClientSession() as session:
            began = time.monotonic()
            async with session.get(url) as response:
                assert response.status == 200
            baseline = time.monotonic() - began

            began = time.monotonic()
            headers = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "  # the header block never ends
            body = (
                b"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 9000\r\n\r\n{"
            )
            drips = [
                asyncio.create_task(_drip(site.port, headers if n % 2 else body, closed, began)) for n in range(300)
            ]
            await asyncio.sleep(0.3)  # every slow client has connected and started dripping

            open_then = 300 - len(closed)
            started = time.monotonic()
            async with session.get(url) as response:
                assert response.status == 200 and (await response.json()) == {"ok": True}
            during = time.monotonic() - started
            answers = await asyncio.wait_for(asyncio.gather(*drips), 30)
    finally:
        await runner.cleanup()
    print(f"healthz {baseline * 1000:.1f} ms alone, {during * 1000:.1f} ms beside {open_then} slow clients")
    print(
        f"slow clients closed after {min(closed):.2f}-{max(closed):.2f} s (deadlines {limits.idle} s, {limits.body} s)"
    )
    assert open_then >= 250, "the slow clients were open while /healthz answered"
    assert during < 1.0, f"/healthz took {during:.2f} s beside the slow clients"
    assert len(closed) == 300, "every slow client was cut off"
    assert max(closed) < max(limits.idle, limits.body) + limits.linger + 5.0, "within the deadlines (and a margin)"
    assert min(closed) >= min(limits.idle, limits.body) - 0.1, "no slow client was cut before its deadline"
    body_answers = answers[0::2]
    assert all(a.startswith(b"HTTP/1.1 408") for a in body_answers), body_answers[:2]
    assert all(a == b"" for a in answers[1::2]), "a request without complete headers is closed, not answered"


async def test_connections_past_the_cap_get_503_and_the_open_ones_are_still_served(kb: KnowledgeBase) -> None:
    runner, site = await start(create_app(Conversation(kb), limits=Limits(connections=20)), "127.0.0.1", 0)
    idle = []
    try:
        for _ in range(20):
            idle.append(await asyncio.open_connection("127.0.0.1", site.port))
        await asyncio.sleep(0.05)
        reader, writer = await asyncio.open_connection("127.0.0.1", site.port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        refusal = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        assert refusal.startswith(b"HTTP/1.1 503") and b"too many connections" in refusal

        first_reader, first_writer = idle[0]  # an open connection is still served
        first_writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (await asyncio.wait_for(first_reader.readline(), 5)).startswith(b"HTTP/1.1 200")
        assert site.refused == 1

        for _, w in idle[1:]:
            w.close()
        await asyncio.sleep(0.1)
        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{site.port}/healthz") as r:
            assert r.status == 200, "closing connections makes room again"
    finally:
        for _, w in idle:
            w.close()
        await runner.cleanup()


async def test_an_idle_keep_alive_connection_is_closed_after_the_idle_deadline(kb: KnowledgeBase) -> None:
    runner, site = await start(create_app(Conversation(kb), limits=Limits(idle=0.5)), "127.0.0.1", 0)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", site.port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 200") and b"Server: govbot\r\n" in head
        length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
        assert await asyncio.wait_for(reader.read(), 5) == b"", "the server closed the idle connection"
        writer.close()
    finally:
        await runner.cleanup()
