"""`govbot serve --workers 2`: two real listening processes on one loopback port, sharing their state.

Every test reaches both listeners on purpose: it opens connections until each listener has one (which
process holds a connection is read from /proc, the way `ss -p` does), then sends through them, so the
shared rate limits, duplicate filter, question log and knowledge are checked across two processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import signal
import sqlite3
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

pytestmark = pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads /proc to see which process serves")

SECRET = "test-signing-secret"
BOT_USER = "UGOVBOT"
PROXIES = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")
JSON = {"Content-Type": "application/json"}
SOURCE = """\
actors:
  - id: MP-TEST
    name: Cellule des processus jumeaux
    kind: service
    url: https://example.org/jumeaux
"""


class Service:
    """`govbot serve --workers 2` on an OS-assigned port (read from its banner), its log in a file."""

    def __init__(self, db: Path, log: Path, **env: str) -> None:
        self.db, self.log, self.env = db, log, env
        self.url = ""
        self.process: asyncio.subprocess.Process

    async def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if k not in PROXIES and not k.startswith(("GOVBOT_", "SLACK_"))}
        env.update(GOVBOT_DB=str(self.db), GOVBOT_TEAMS="0", GOVBOT_SALT="test-salt", PYTHONUNBUFFERED="1")
        env.update(self.env)
        command = [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", "0", "--workers", "2"]
        self.process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=self.log.open("ab"), env=env
        )
        assert self.process.stdout is not None
        banner = (await asyncio.wait_for(self.process.stdout.readline(), 60)).decode()
        assert "http://127.0.0.1:" in banner, banner + self.log.read_text()
        self.url = banner.split(" on ", 1)[1].split("/ ", 1)[0]
        await self.both_listening()

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def listeners(self) -> list[int]:
        pid = self.process.pid
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]

    async def both_listening(self, timeout: float = 30.0) -> None:
        """Until two listeners hold a listening socket on the port (the banner waits for the first only)."""
        deadline = time.monotonic() + timeout
        while len(_listening(self.port, self.listeners())) < 2:
            assert time.monotonic() < deadline, "the second listener never listened:\n" + self.log.read_text()
            await asyncio.sleep(0.05)

    async def stop(self) -> int:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), 40)


def _sockets(port: int, *, listening: bool) -> set[str]:
    """Inodes of the sockets on the port: the listening ones, or the server side of every connection."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local, state, inode = int(fields[1].rsplit(":", 1)[1], 16), fields[3], fields[9]
                if local == port and (state == "0A") == listening:  # 0A: LISTEN
                    found.add(inode)
    return found


def _socket_inodes(pid: int) -> set[str]:
    """The inodes of the sockets a process holds open (none once it is gone)."""
    found = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    found.add(target[len("socket:[") : -1])
    return found


def _holders(inodes: set[str], pids: list[int]) -> set[int]:
    """Which of `pids` hold one of these socket inodes."""
    return {pid for pid in pids if _socket_inodes(pid) & inodes}


def _held(port: int, pids: list[int]) -> set[str]:
    """The listening socket inodes on the port that one of `pids` holds."""
    return _sockets(port, listening=True) & {inode for pid in pids for inode in _socket_inodes(pid)}


def _listening(port: int, pids: list[int]) -> set[int]:
    return _holders(_sockets(port, listening=True), pids)


@contextlib.asynccontextmanager
async def one_per_listener(service: Service) -> AsyncIterator[dict[int, aiohttp.ClientSession]]:
    """A kept-alive connection to each listener: listener pid -> a session whose one connection it serves."""
    pids = service.listeners()
    reached: dict[int, aiohttp.ClientSession] = {}
    spare: list[aiohttp.ClientSession] = []
    try:
        for _ in range(200):
            before = _sockets(service.port, listening=False)  # the other sessions' connections stay idle meanwhile
            session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1))
            async with session.get(service.url + "/healthz") as response:
                assert response.status == 200
            (owner,) = _holders(_sockets(service.port, listening=False) - before, pids)
            if owner in reached:
                spare.append(session)
            else:
                reached[owner] = session
            if len(reached) == len(pids):
                break
        assert len(reached) == 2, f"could not reach both listeners {pids}: {list(reached)}"
        yield reached
    finally:
        for session in [*reached.values(), *spare]:
            await session.close()


@pytest.fixture
async def slack_api(aiohttp_server: Any) -> tuple[str, list[dict[str, Any]]]:
    """A loopback Slack Web API that records every message posted."""
    posted: list[dict[str, Any]] = []

    async def method(request: web.Request) -> web.Response:
        if request.match_info["method"] == "auth.test":
            return web.json_response({"ok": True, "user_id": BOT_USER, "bot_id": "BGOVBOT", "team_id": "T1"})
        body = await request.json() if request.content_type == "application/json" else dict(await request.post())
        posted.append({"method": request.match_info["method"], **body})
        return web.json_response({"ok": True, "channel": body.get("channel", ""), "ts": f"{time.time():.6f}"})

    app = web.Application()
    app.router.add_post("/api/{method}", method)
    server = await aiohttp_server(app)
    return str(server.make_url("/api/")), posted


@pytest.fixture
async def serve(tmp_path: Path, loop: Any) -> AsyncIterator[Any]:
    """Start `govbot serve --workers 2` with extra environment; stopped (and checked to exit 0) after the test."""
    started: list[Service] = []

    async def start(**env: str) -> Service:
        svc = Service(tmp_path / "db", tmp_path / "serve.log", **env)
        started.append(svc)
        await svc.start()
        return svc

    yield start
    for svc in started:
        assert await svc.stop() == 0, svc.log.read_text()


@pytest.fixture
async def service(serve: Any) -> Service:
    return await serve()


def _event(event_id: str, text: str) -> bytes:
    event = {"type": "app_mention", "user": "UALICE", "text": f"<@{BOT_USER}> {text}", "ts": "1700000000.000100",
             "channel": "C1", "channel_type": "channel", "event_ts": "1700000000.000100"}  # fmt: skip
    return json.dumps({"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": event_id,
                       "event_time": int(time.time()), "event": event}).encode()  # fmt: skip


def _signed(body: bytes, age: int = 0, **extra: str) -> dict[str, str]:
    """Slack's headers for `body` sent `age` seconds ago (a retry is signed again, at its own time)."""
    stamp = str(int(time.time()) - age)
    signature = "v0=" + hmac.new(SECRET.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {**JSON, "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature, **extra}


async def _post(session: aiohttp.ClientSession, url: str, body: Any, headers: dict[str, str] | None = None) -> int:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with session.post(url, data=data, headers=headers or JSON) as response:
        await response.read()
        return response.status


async def test_a_slack_retry_reaching_the_other_listener_is_answered_once(slack_api, serve) -> None:
    api, posted = slack_api
    service = await serve(SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET=SECRET, GOVBOT_SLACK_API_URL=api)
    async with one_per_listener(service) as sessions:
        first, second = sessions.values()
        body = _event("EvTWICE", "Qui pilote le programme CaRE ?")
        assert await _post(first, service.url + "/slack/events", body, _signed(body, age=1)) == 200
        # Slack's retry: the same event signed again at another time, so only its event id tells it apart.
        retry = _signed(body, **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
        assert await _post(second, service.url + "/slack/events", body, retry) == 200
        # A different event afterwards, through the second listener: once it is answered, the first was too.
        later = _event("EvLATER", "Qui pilote HospiConnect ?")
        assert await _post(second, service.url + "/slack/events", later, _signed(later)) == 200
    for _ in range(200):
        if len([p for p in posted if p["method"] == "chat.postMessage"]) >= 2:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # room for a wrongly doubled answer to arrive
    answers = [p for p in posted if p["method"] == "chat.postMessage"]
    assert len(answers) == 2, answers


async def test_the_rate_limit_holds_across_listeners(serve) -> None:
    service = await serve(GOVBOT_RATE_LIMIT="4")
    async with one_per_listener(service) as sessions:
        first, second = sessions.values()
        async with first.get(service.url + "/") as response:  # the page gives the visitor its id
            assert response.status == 200
            visitor = {**JSON, "Cookie": f"govbot_uid={response.cookies['govbot_uid'].value}"}
        # 4 a minute in all, asked through both listeners in turn: the fifth and sixth are refused.
        statuses = [
            await _post(session, service.url + "/api/chat", {"question": f"Question {n} sur CaRE ?"}, visitor)
            for n, session in enumerate([first, second, first, second, first, second])
        ]
    assert statuses == [200, 200, 200, 200, 429, 429]


async def test_the_question_log_has_every_question_once(service: Service) -> None:
    questions = [f"Qui pilote l'objectif {n} ?" for n in range(1, 21)]
    async with one_per_listener(service) as sessions:
        first, second = sessions.values()
        statuses = await asyncio.gather(
            *(
                _post(first if n % 2 else second, service.url + "/api/chat", {"question": q})
                for n, q in enumerate(questions)
            )
        )
    assert set(statuses) == {200}
    with contextlib.closing(sqlite3.connect(service.db / "questions.sqlite")) as conn:
        logged = [row[0] for row in conn.execute("SELECT question FROM questions")]
    assert sorted(logged) == sorted(questions)


async def test_a_killed_listener_leaves_the_service_answering_and_is_replaced(service: Service) -> None:
    victim, survivor = service.listeners()
    os.kill(victim, signal.SIGKILL)
    # Connections queued on its socket when it died are lost with it; once it is gone, none reach it. Its file
    # table goes before the kernel closes its socket (the close is deferred), so wait for the socket itself:
    # until every listening socket on the port is held by a listener alive.
    deadline = time.monotonic() + 30
    while _sockets(service.port, listening=True) - _held(service.port, [p for p in service.listeners() if p != victim]):
        assert time.monotonic() < deadline, "the killed listener's socket never closed"
        await asyncio.sleep(0.01)
    async with aiohttp.ClientSession() as session:  # a new connection: the kernel sends it to the live listener
        assert await _post(session, service.url + "/api/chat", {"question": "Qui pilote l'objectif 1 ?"}) == 200
    await service.both_listening()
    assert survivor in service.listeners() and victim not in service.listeners()
    async with aiohttp.ClientSession() as session:  # and the replacement answers its share too
        for n in range(10):
            assert await _post(session, service.url + "/api/chat", {"question": f"Qui pilote l'objectif {n} ?"}) == 200


async def test_a_refresh_is_seen_by_every_listener(service: Service, tmp_path: Path) -> None:
    async with one_per_listener(service) as sessions:
        before = {pid: await _version(session, service.url) for pid, session in sessions.items()}
        for session in sessions.values():  # asked before: each listener's answer cache holds the old answer
            assert "jumeaux" not in await _title(session, service.url, "Qui est MP-TEST ?")
        (tmp_path / "extra.yaml").write_text(SOURCE, encoding="utf-8")
        refresh = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "--db", str(service.db), "refresh", "--source", str(tmp_path / "extra.yaml"),
            "--json", stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, _ = await refresh.communicate()
        version = json.loads(out)["version"]
        assert version not in before.values()
        assert {pid: await _version(session, service.url) for pid, session in sessions.items()} == dict.fromkeys(
            sessions, version
        )
        for session in sessions.values():
            assert "Cellule des processus jumeaux" in await _title(session, service.url, "Qui est MP-TEST ?")


async def _title(session: aiohttp.ClientSession, url: str, question: str) -> str:
    async with session.post(url + "/api/chat", json={"question": question}) as response:
        return (await response.json())["title"]


async def _version(session: aiohttp.ClientSession, url: str) -> str:
    async with session.get(url + "/readyz") as response:
        return (await response.json())["version"]


async def test_metrics_sum_every_listener(service: Service) -> None:
    async with one_per_listener(service) as sessions:
        for session in sessions.values():
            assert await _post(session, service.url + "/api/chat", {"question": "Qui pilote CaRE ?"}) == 200
        await asyncio.sleep(1.5)  # each listener publishes its counters every second
        for session in sessions.values():
            async with session.get(service.url + "/metrics") as response:
                text = await response.text()
            assert "govbot_processes 2" in text
            assert 'govbot_http_requests_total{route="/api/chat",status="200"} 2' in text
