"""Acks never wait behind answers (issue 13, item 3): `govbot serve` with an answer worker process.

A real service (one listener, one answer worker: GOVBOT_ANSWER_WORKERS=1) on a loopback port, posting its
answers to a loopback Slack Web API that can hold them: while it holds them, the answer worker is stuck,
and the listener must still acknowledge and queue; past the queue's bound it tells the asker to come back.
Teams messages take the same way by default (one answer worker unless told otherwise), replies posted to a
loopback Bot Connector after the turn.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web

from knowledge.phrases import say
from tests.fakes.bot_connector import FakeBotConnector, TeamsRig
from tests.reliability.test_multiprocess import PROXIES, SECRET, _event, _listening, _post, _signed

pytestmark = pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads /proc to see which process serves")

QUESTION = "Qui pilote le programme CaRE ?"
RETRY = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}


class SlackApi:
    """A loopback Web API. While `hold` is clear, chat.postMessage waits (the busy reply excepted); a message
    counts as posted only if its sender is still there to get the answer."""

    def __init__(self) -> None:
        self.hold = asyncio.Event()
        self.held = 0  # answers waiting for `hold`
        self.posted: list[dict[str, Any]] = []
        self.app = web.Application()
        self.app.router.add_post("/api/{method}", self.method)

    async def method(self, request: web.Request) -> web.Response:
        if request.match_info["method"] == "auth.test":
            return web.json_response({"ok": True, "user_id": "UGOVBOT", "bot_id": "BGOVBOT", "team_id": "T1"})
        body = await request.json() if request.content_type == "application/json" else dict(await request.post())
        if body.get("text") not in {say("busy", lang) for lang in ("fr", "en")}:
            self.held += 1
            await self.hold.wait()
            self.held -= 1
        if request.transport is None or request.transport.is_closing():
            return web.Response(status=499)  # its sender died waiting: never delivered
        self.posted.append({"method": request.match_info["method"], **body})
        return web.json_response({"ok": True, "channel": body.get("channel", ""), "ts": f"{time.time():.6f}"})

    def answers(self, thread: str) -> list[str]:
        return [p["text"] for p in self.posted if p["method"] == "chat.postMessage" and p.get("thread_ts") == thread]


class Service:
    """`govbot serve --workers 1` with GOVBOT_ANSWER_WORKERS=1: a supervisor, a listener, an answer worker."""

    def __init__(self, process: asyncio.subprocess.Process, url: str, log: Path, db: Path) -> None:
        self.process, self.url, self.log, self.db = process, url, log, db

    def children(self) -> list[int]:
        pid = self.process.pid
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]

    def queued(self) -> int:
        """Questions in the queue (waiting, or answered and not yet marked done), read from its file."""
        with sqlite3.connect(self.db / "answers.sqlite") as db:
            return db.execute("SELECT count(*) FROM jobs").fetchone()[0]

    def answerers(self) -> list[int]:
        port = int(self.url.rsplit(":", 1)[1])
        listeners = _listening(port, self.children())
        return [pid for pid in self.children() if pid not in listeners]


@pytest.fixture
async def api(aiohttp_server: Any) -> AsyncIterator[tuple[SlackApi, str]]:
    fake = SlackApi()
    server = await aiohttp_server(fake.app)
    yield fake, str(server.make_url("/api/"))
    fake.hold.set()


@pytest.fixture
async def service(api: tuple[SlackApi, str], tmp_path: Path, loop: Any) -> AsyncIterator[Service]:
    env = {k: v for k, v in os.environ.items() if k not in PROXIES and not k.startswith(("GOVBOT_", "SLACK_"))}
    env.update(GOVBOT_DB=str(tmp_path / "db"), GOVBOT_TEAMS="0", GOVBOT_SALT="test-salt", PYTHONUNBUFFERED="1")
    env.update(SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET=SECRET, GOVBOT_SLACK_API_URL=api[1])
    env.update(GOVBOT_ANSWER_WORKERS="1", GOVBOT_ANSWER_QUEUE="3")
    log = tmp_path / "serve.log"
    command = [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", "0", "--workers", "1"]
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=log.open("ab"), env=env
    )
    assert process.stdout is not None
    banner = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
    assert "http://127.0.0.1:" in banner, banner + log.read_text()
    svc = Service(process, banner.split(" on ", 1)[1].split("/ ", 1)[0], log, tmp_path / "db")
    yield svc
    api[0].hold.set()
    process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(process.wait(), 40) == 0, log.read_text()


async def _ask(session: aiohttp.ClientSession, service: Service, event_id: str, ts: str) -> int:
    body = _event(event_id, QUESTION).replace(b"1700000000.000100", ts.encode())
    return await _post(session, service.url + "/slack/events", body, _signed(body))


async def _until(condition: Any, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        await asyncio.sleep(0.02)


async def test_acks_return_while_the_answer_worker_is_stuck_and_a_full_queue_says_busy(
    api: tuple[SlackApi, str], service: Service
) -> None:
    fake, api_url = api
    async with aiohttp.ClientSession() as session:
        for n in range(3):  # the answer worker takes each, and is stuck posting it
            assert await _ask(session, service, f"EvSTUCK{n}", f"1700000000.00010{n}") == 200
        await _until(lambda: fake.held == 3, "the answer worker holds three answers")
        retry = _event("EvSTUCK0", QUESTION)  # Slack retries the first: acknowledged, never answered twice
        assert await _post(session, service.url + "/slack/events", retry, _signed(retry, **RETRY)) == 200
        # The queue holds 3 (GOVBOT_ANSWER_QUEUE): the fourth is acknowledged too, and told to come back.
        assert await _ask(session, service, "EvFULL", "1700000000.000109") == 200
        await _until(lambda: fake.answers("1700000000.000109"), "the busy reply")
        assert fake.answers("1700000000.000109") == [say("busy", "fr")], "in the question's language"
        assert fake.held == 3 and not fake.answers("1700000000.000100"), "the three answers are still held"
        fake.hold.set()
        threads = [f"1700000000.00010{n}" for n in range(3)]
        await _until(lambda: all(fake.answers(t) for t in threads), "the three answers")
        await _until(lambda: service.queued() == 0, "the three questions done")  # the queue has room again
        # A slash command goes through the same queue and answers through its response_url.
        form = urlencode({"command": "/govbot", "text": QUESTION, "user_id": "UALICE", "channel_id": "C1",
                          "response_url": api_url + "respond"}).encode()  # fmt: skip
        headers = {**_signed(form), "Content-Type": "application/x-www-form-urlencoded"}
        assert await _post(session, service.url + "/slack/events", form, headers) == 200
        await _until(lambda: any(p["method"] == "respond" for p in fake.posted), "the command's answer")
    await asyncio.sleep(0.3)  # room for a wrongly doubled answer
    assert all(len(fake.answers(t)) == 1 and "CaRE" in fake.answers(t)[0] for t in threads)
    (command,) = [p for p in fake.posted if p["method"] == "respond"]
    assert "CaRE" in command["text"] and command["response_type"] == "ephemeral"
    await asyncio.sleep(1.2)  # the answer worker publishes its counters every second, like a listener
    async with aiohttp.ClientSession() as session, session.get(service.url + "/metrics") as response:
        metrics = await response.text()
    assert 'platform="slack"} 4' in metrics, "the four answers given by the answer worker are counted"


async def test_a_question_whose_answer_worker_is_killed_is_answered_once(
    api: tuple[SlackApi, str], service: Service
) -> None:
    fake, _ = api
    await _until(lambda: len(service.answerers()) == 1, "an answer worker")
    (worker,) = service.answerers()
    async with aiohttp.ClientSession() as session:
        assert await _ask(session, service, "EvKILLED", "1700000000.000200") == 200
        await _until(lambda: fake.held == 1, "the answer on its way")
        os.kill(worker, signal.SIGKILL)  # mid-answer: Slack never got it
        await _until(lambda: fake.held == 2, "a new answer worker answering the same question again")
        assert worker not in service.answerers()
        fake.hold.set()
        await _until(lambda: fake.answers("1700000000.000200"), "the answer")
    await asyncio.sleep(0.3)
    assert len(fake.answers("1700000000.000200")) == 1
    assert "given back to the answer workers" in service.log.read_text()


@pytest.mark.parametrize("answer_workers", [None, "0"])
async def test_teams_messages_are_answered_once_by_the_answer_worker_unless_told_to_answer_in_the_turn(
    answer_workers: str | None, aiohttp_server: Any, tmp_path: Path, loop: Any
) -> None:
    connector = FakeBotConnector()
    connector.service_url = str((await aiohttp_server(connector.app)).make_url("/"))
    env = {k: v for k, v in os.environ.items() if k not in PROXIES and not k.startswith(("GOVBOT_", "SLACK_", "Micro"))}
    env.update(GOVBOT_DB=str(tmp_path / "db"), GOVBOT_TEAMS_LOCAL="1", GOVBOT_SALT="test-salt", PYTHONUNBUFFERED="1")
    with socket.socket() as probe:  # a free port: one process alone announces the port it was given
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--answer-workers", answer_workers] if answer_workers is not None else []  # None: the default
    log = tmp_path / "serve.log"
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=log.open("ab"), env=env
    )
    try:
        assert process.stdout is not None
        banner = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
        assert "http://127.0.0.1:" in banner, banner + log.read_text()
        url = banner.split(" on ", 1)[1].split("/ ", 1)[0]
        pid = process.pid
        if answer_workers is None:  # the supervisor forks the answer worker once the listener listens
            children = Path(f"/proc/{pid}/task/{pid}/children")
            await _until(lambda: len(children.read_text().split()) == 2, "a listener and an answer worker")
        else:
            assert not Path(f"/proc/{pid}/task/{pid}/children").read_text().split(), "one process, no supervisor"
        rig = TeamsRig(None, connector, connector.service_url)  # type: ignore[arg-type]
        activity = rig.personal(QUESTION)
        async with aiohttp.ClientSession() as session:
            for _ in range(2):  # Teams re-sends an activity it thinks timed out: answered once
                async with session.post(url + "/api/messages", json=activity) as response:
                    assert response.status == 201
            [reply] = await connector.wait_for(1, timeout=20)
        assert reply.reply_to == activity["id"] and reply.card and "CaRE" in reply.text
        await asyncio.sleep(0.3)  # room for a wrongly doubled reply
        assert len(connector.posted) == 1
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 40) == 0, log.read_text()
