"""What the default service exposes (issue 11, items 2, 14, 15): no open Teams relay, no admin by assertion,
loopback bind, no version banner, metrics behind a token, no outbound call for an anonymous token.

A fake Bot Connector on loopback records whatever the bot would post; a local key server counts fetches.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.cli import build_parser
from bot.conversation import Conversation
from bot.server import ConfigError, create_app
from knowledge import KnowledgeBase
from knowledge.phrases import say
from tests.fakes.bot_connector import ADMIN_AAD, FakeBotConnector, TeamsRig
from tests.fakes.jwks import FakeJwks

ROOT = Path(__file__).parent.parent.parent
ADMIN = {"id": "29:admin", "name": "Admin", "aadObjectId": ADMIN_AAD}


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A safety net for a regression: no socket of this process may look up or reach anything but loopback
    (the SDK posts with `requests`, which would also honour a proxy from the environment)."""
    attempts: list[str] = []
    real_lookup, real_connect = socket.getaddrinfo, socket.socket.connect

    def check(host: object) -> None:
        if host in (None, "", "localhost"):
            return
        try:
            if ipaddress.ip_address(str(host).split("%")[0]).is_loopback:
                return
        except ValueError:
            pass
        attempts.append(str(host))
        raise OSError(f"test: refused to reach {host}")

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        check(host)
        return real_lookup(host, *args, **kwargs)

    def connect(sock: socket.socket, address: Any) -> Any:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            check(address[0])
        return real_connect(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    return attempts


def admin_actions(conv: Conversation) -> list[tuple[str, str]]:
    with sqlite3.connect(conv.log.path) as db:
        return db.execute("SELECT action, outcome FROM admin_actions ORDER BY ts").fetchall()


async def test_without_an_app_id_teams_is_not_mounted_and_nothing_warns(
    kb: KnowledgeBase, aiohttp_client: Any, connector: FakeBotConnector, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    monkeypatch.setenv("GOVBOT_TEAMS_ADMINS", ADMIN_AAD)
    caplog.set_level(logging.INFO)
    conv = Conversation(kb)
    rig = TeamsRig(await aiohttp_client(create_app(conv)), connector, connector.service_url)
    # The attack of issue 11: an unauthenticated activity claiming an admin's id, replies to the caller's URL.
    assert await rig.post(rig.personal("refresh", **{"from": ADMIN})) == 404
    assert await rig.post(rig.personal("stats", **{"from": ADMIN})) == 404
    assert connector.posted == [] and admin_actions(conv) == [] and conv.refreshes == []
    assert "teams front end not configured (route not mounted)" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and "Teams" in r.getMessage()]


async def test_emulator_mode_replies_only_to_loopback_and_never_runs_admin_commands(
    kb: KnowledgeBase,
    aiohttp_client: Any,
    connector: FakeBotConnector,
    monkeypatch: pytest.MonkeyPatch,
    loopback_only: list[str],
) -> None:
    monkeypatch.setenv("GOVBOT_TEAMS_ADMINS", ADMIN_AAD)
    monkeypatch.setenv("GOVBOT_TEAMS_LOCAL", "1")
    conv = Conversation(kb)
    rig = TeamsRig(await aiohttp_client(create_app(conv)), connector, connector.service_url)
    elsewhere = [
        "http://203.0.113.7/",
        "https://smba.invalid/emea/",
        "http://localhost.invalid/",
        "http://127.0.0.1.invalid/",
        "file:///etc/passwd",
        "http://0x7f000001/",
        None,
        42,
    ]
    for url in elsewhere:
        assert await rig.post(rig.personal("qui pilote le programme Atlas ?", serviceUrl=url)) == 403, url
    assert connector.posted == [] and loopback_only == []

    assert await rig.post(rig.personal("stats", **{"from": ADMIN})) == 201
    assert await rig.post(rig.personal("refresh", **{"from": ADMIN})) == 201
    assert [p.text for p in connector.posted] == [say("not_admin", "fr")] * 2
    assert admin_actions(conv) == [("stats", "refused"), ("refresh", "refused")] and conv.refreshes == []

    assert await rig.post(rig.personal("qui pilote le programme Atlas ?")) == 201  # loopback: answered
    assert connector.posted[-1].card["body"][0]["text"] == "Programme Atlas"


def test_production_refuses_the_emulator_mode(kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVBOT_TEAMS_LOCAL", "1")
    monkeypatch.setenv("MicrosoftAppId", "00000000-0000-0000-0000-000000000001")
    with pytest.raises(ConfigError, match="GOVBOT_TEAMS_LOCAL"):
        create_app(Conversation(kb), production=True)


async def test_with_auth_off_a_token_never_makes_the_server_fetch_signing_keys(
    kb: KnowledgeBase, aiohttp_client: Any, connector: FakeBotConnector, jwks: FakeJwks, monkeypatch
) -> None:
    monkeypatch.setenv("GOVBOT_TEAMS_LOCAL", "1")
    rig = TeamsRig(await aiohttp_client(create_app(Conversation(kb))), connector, connector.service_url)
    for app_id in ("", "00000000-0000-0000-0000-000000000001"):
        token = jwks.token(app_id, rig.service_url)  # well formed and signed: the SDK would go and check it
        assert (
            await rig.post(rig.personal("qui pilote le programme Atlas ?"), {"Authorization": f"Bearer {token}"}) == 401
        )
    await asyncio.sleep(0.2)  # a fetch, if one had started, would have reached the key server by now
    assert jwks.requests == 0 and connector.posted == []


def test_serve_listens_on_loopback_unless_a_host_is_given() -> None:
    assert build_parser().parse_args(["serve"]).host == "127.0.0.1"
    assert build_parser().parse_args(["serve", "--host", "0.0.0.0"]).host == "0.0.0.0"
    assert "govbot serve --host 0.0.0.0" in (ROOT / "Procfile").read_text()
    assert '"serve", "--host", "0.0.0.0"' in (ROOT / "Dockerfile").read_text()


async def test_no_response_names_the_server_software(kb: KnowledgeBase, aiohttp_client: Any) -> None:
    client = await aiohttp_client(create_app(Conversation(kb)))
    for path in ("/healthz", "/", "/nowhere", "/api/nowhere"):
        response = await client.get(path)
        assert response.headers["Server"] == "govbot", path
    reader, writer = await asyncio.open_connection("127.0.0.1", client.server.port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"y" * 9000 + b"\r\n\r\n")  # refused by the parser
    head = (await asyncio.wait_for(reader.read(), 5)).split(b"\r\n\r\n")[0]
    writer.close()
    assert head.startswith(b"HTTP/1.") and b" 400 " in head.split(b"\r\n")[0]
    assert b"Server: govbot" in head and b"aiohttp" not in head and b"Python" not in head


async def test_metrics_need_the_token_when_one_is_set(kb: KnowledgeBase, aiohttp_client: Any, monkeypatch) -> None:
    client = await aiohttp_client(create_app(Conversation(kb)))
    assert (await client.get("/metrics")).status == 200  # no token: a direct loopback scraper is let in...
    proxied = await client.get("/metrics", headers={"X-Forwarded-For": "198.51.100.4"})
    assert proxied.status == 401  # ...but not a request relayed by a proxy from outside

    monkeypatch.setenv("GOVBOT_METRICS_TOKEN", "s3cret-metrics-token")
    client = await aiohttp_client(create_app(Conversation(kb)))
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret-metrics-token"}):
        response = await client.get("/metrics", headers=headers)
        assert response.status == 401 and response.headers["WWW-Authenticate"] == "Bearer", headers
        assert "s3cret" not in await response.text()
    response = await client.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics-token"})
    assert response.status == 200 and "govbot_ready" in await response.text()
