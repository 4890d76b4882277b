"""`govbot serve` as an operator runs it: a real process on a loopback port, restarted, stopped with SIGTERM."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import signal
import socket
import sys
import time
from pathlib import Path

import aiohttp
from aiohttp import web

QUESTION = json.dumps({"question": "C'est quoi le programme CaRE ?"}).encode()
JSON = {"Content-Type": "application/json"}
# urllib (the knowledge refresh) would send loopback requests to a proxy named in the environment.
PROXIES = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    """One `govbot serve` process; its log goes to a file so a full pipe can never block it."""

    def __init__(self, db: Path, log: Path, command: str = "serve", **env: str):
        self.db, self.log, self.port = db, log, free_port()
        self.command, self.env = command, env
        self.url = f"http://127.0.0.1:{self.port}"

    async def start(self) -> str:
        """Start the process; returns the banner line it prints once it listens."""
        env = {k: v for k, v in os.environ.items() if k not in PROXIES}
        env.update(
            GOVBOT_DB=str(self.db), GOVBOT_TEAMS="0", GOVBOT_WEB_ADMINS=ADMIN, GOVBOT_SALT=SALT, PYTHONUNBUFFERED="1"
        )
        env["GOVBOT_FETCH_ALLOW"] = "127.0.0.1"  # its test sources are served on loopback
        env.update(self.env)
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            self.command,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            stdout=asyncio.subprocess.PIPE,
            stderr=self.log.open("ab"),
            env=env,
        )
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), 30)
        return line.decode()

    async def wait_ready(self, session: aiohttp.ClientSession) -> dict:
        for _ in range(300):
            async with session.get(self.url + "/readyz") as response:
                if response.status == 200:
                    return await response.json()
            await asyncio.sleep(0.05)
        raise AssertionError("never ready:\n" + self.log.read_text())

    async def stop(self) -> int:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), 30)


SLOW_SOURCE = """\
actors:
  - id: SLOW-TEST
    name: Cellule des sources lentes
    kind: service
    url: https://example.org/slow
"""
SALT = "test-salt"


async def refused(port: int, timeout: float = 10.0) -> None:
    """Wait until the port refuses connections (connections accepted meanwhile are closed at once)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except (ConnectionRefusedError, ConnectionResetError):  # a listener closing resets the handshake
            return
        writer.close()
        assert time.monotonic() < deadline, "still accepting connections after SIGTERM"
        await asyncio.sleep(0.02)


# A visitor id the server issued just now: a token, the time, and their signature keyed on the salt
# (GOVBOT_SALT for the child); admin rights last GOVBOT_WEB_ADMIN_HOURS from that time.
_ISSUED = f"{'a' * 24}.{int(time.time())}"
ADMIN = f"{_ISSUED}.{hmac.new(SALT.encode(), _ISSUED.encode(), hashlib.sha256).hexdigest()[:20]}"


async def test_serve_starts_restarts_without_rebuilding_and_stops_gracefully(tmp_path, aiohttp_server):
    db, log = tmp_path / "kb", tmp_path / "serve.log"
    # A source held back until the test releases it, so a refresh is provably running when SIGTERM comes.
    asked, release = asyncio.Event(), asyncio.Event()

    async def slow_source(request: web.Request) -> web.Response:
        asked.set()
        await release.wait()
        return web.Response(text=SLOW_SOURCE, content_type="application/yaml")

    app = web.Application()
    app.router.add_get("/slow.yaml", slow_source)
    sources = await aiohttp_server(app)
    async with aiohttp.ClientSession() as session:
        first = Service(db, log)
        banner = await first.start()
        try:
            assert banner.startswith(f"govbot: web chat on http://127.0.0.1:{first.port}/")
            async with session.get(first.url + "/readyz") as r:
                assert r.status == 200  # the address is printed once answers can flow
            version = (await first.wait_ready(session))["version"]
            async with session.post(first.url + "/api/chat", data=QUESTION, headers=JSON) as r:
                answer = await r.json()
                assert r.status == 200 and answer["intent"] == "about" and answer["sources"], answer
        finally:
            assert await first.stop() == 0
        assert "knowledge built: version" in log.read_text()

        second = Service(db, log)
        await second.start()
        try:
            assert (await second.wait_ready(session))["version"] == version
            assert "knowledge unchanged since its last build: not rebuilt" in log.read_text()

            # An admin's refresh is in flight when SIGTERM comes: it finishes and is answered, then the process exits.
            refresh = json.dumps({"question": f"refresh {sources.make_url('/slow.yaml')}"})
            in_flight = asyncio.create_task(
                session.post(second.url + "/api/chat", data=refresh, headers={**JSON, "Cookie": f"govbot_uid={ADMIN}"})
            )
            await asyncio.wait_for(asked.wait(), 30)
            second.process.send_signal(signal.SIGTERM)
            await refused(second.port)  # no new connection once stopping, while the refresh is still held
            assert not in_flight.done()
            release.set()
            response = await asyncio.wait_for(in_flight, 10)
            assert response.status == 200
            assert (await response.json())["text"].startswith("Base mise à jour : Version")
            assert await asyncio.wait_for(second.process.wait(), 30) == 0
        finally:
            await second.stop()


async def test_govbot_slack_is_the_service_with_slack_alone(tmp_path):
    """HTTP mode is `govbot serve` with only Slack mounted: the same guards, health and metrics."""
    slack = Service(
        tmp_path / "kb",
        tmp_path / "slack.log",
        "slack",
        SLACK_BOT_TOKEN="xoxb-1",
        SLACK_SIGNING_SECRET="s",
        GOVBOT_TEAMS="1",
    )
    banner = await slack.start()
    try:
        assert banner.startswith(f"govbot: service on http://127.0.0.1:{slack.port}/")
        async with aiohttp.ClientSession() as session:
            for path, status in (("/healthz", 200), ("/metrics", 200), ("/", 404), ("/api/messages", 404)):
                async with session.get(slack.url + path) as r:
                    assert r.status == status, path
            async with session.post(slack.url + "/slack/events", data=b"{}", headers=JSON) as r:
                assert r.status == 401  # unsigned: refused by the same guard as in `govbot serve`
            async with session.post(slack.url + "/api/chat", data=QUESTION, headers=JSON) as r:
                assert r.status == 404  # no web chat
    finally:
        assert await slack.stop() == 0
