"""Teams authenticity (issue 7, item 3): with an app id, only a valid Bot Framework token gets a turn.

A local OpenID metadata + JWKS server signs tokens like the Bot Framework; the SDK's channel validation is
pointed at it, so the real production path (CloudAdapter -> JwtTokenValidation -> ChannelValidation) checks
every token. Each bad token must give 401 — stock botbuilder 4.17 gives 500 for several (RELIABILITY H6) —
run no turn and send nothing to the Bot Connector.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from aiohttp import web

from bot.conversation import Conversation
from bot.teams import TeamsSettings, add_routes, mount
from bot.teams_auth import ReusedCredentials
from knowledge import KnowledgeBase
from tests.fakes.bot_connector import FakeBotConnector, TeamsRig
from tests.fakes.jwks import ISSUER, OUTBOUND_TOKEN, FakeJwks, LocalCredentialFactory, new_key

APP_ID = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"
PASSWORD = "app-password-for-tests"
ATLAS = "qui pilote le programme Atlas ?"


@pytest.fixture
def conv(kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> Conversation:
    monkeypatch.setenv("MicrosoftAppId", APP_ID)
    monkeypatch.setenv("MicrosoftAppPassword", PASSWORD)
    return Conversation(kb)


async def secured_rig(aiohttp_client: Any, connector: FakeBotConnector, conv: Conversation, **options: Any) -> TeamsRig:
    """The real route with auth on; outbound tokens come from a local identity instead of Microsoft login."""
    app = web.Application()
    add_routes(app, conv, TeamsSettings.from_env(), LocalCredentialFactory(APP_ID, PASSWORD), **options)
    return TeamsRig(await aiohttp_client(app), connector, connector.service_url)


@pytest.fixture
async def teams(aiohttp_client: Any, connector: FakeBotConnector, conv: Conversation, jwks: FakeJwks) -> TeamsRig:
    return await secured_rig(aiohttp_client, connector, conv)


def turns_run(conv: Conversation) -> int:
    with sqlite3.connect(conv.log.path) as db:
        return db.execute("SELECT count(*) FROM questions").fetchone()[0]


def alg_none(jwks: FakeJwks, url: str) -> str:
    payload = {"iss": ISSUER, "aud": APP_ID, "serviceurl": url, "exp": int(time.time()) + 600}
    return "Bearer " + jwt.encode(payload, None, algorithm="none", headers={"kid": jwks.kid})


BAD_HEADERS: dict[str, Callable[[FakeJwks, str], str | None]] = {
    "missing": lambda j, url: None,
    "empty": lambda j, url: "",
    "bearer without a token": lambda j, url: "Bearer ",
    "basic scheme": lambda j, url: "Basic dXNlcjpwYXNzd29yZA==",
    "three parts": lambda j, url: "Bearer " + j.token(APP_ID, url) + " extra",
    "garbage": lambda j, url: "Bearer abc.def.ghi",
    "not a jwt": lambda j, url: "Bearer not-a-token-at-all",
    "malformed json inside": lambda j, url: "Bearer eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOi.c2ln",
    "expired 10 minutes ago": lambda j, url: "Bearer " + j.token(APP_ID, url, expires_in=-600),
    "wrong audience": lambda j, url: "Bearer " + j.token(APP_ID, url, audience="another-bot-app-id"),
    "no audience": lambda j, url: "Bearer " + j.token(APP_ID, url, audience=""),
    "wrong issuer": lambda j, url: "Bearer " + j.token(APP_ID, url, issuer="https://attacker.example"),
    "unknown key id": lambda j, url: "Bearer " + j.token(APP_ID, url, kid="kid-nobody-published"),
    "bad signature": lambda j, url: "Bearer " + j.token(APP_ID, url, key=new_key()),
    "HS256": lambda j, url: "Bearer " + j.hs256_token(APP_ID, url),
    "alg none": alg_none,
    "issued for another serviceUrl": lambda j, url: "Bearer " + j.token(APP_ID, "https://attacker.example/"),
}


@pytest.mark.parametrize("case", list(BAD_HEADERS))
async def test_bad_tokens_get_401_no_turn_and_nothing_sent(
    teams: TeamsRig, conv: Conversation, jwks: FakeJwks, case: str
) -> None:
    header = BAD_HEADERS[case](jwks, teams.service_url)
    headers = {} if header is None else {"Authorization": header}
    assert await teams.post(teams.personal(ATLAS), headers) == 401
    assert teams.connector.posted == [] and turns_run(conv) == 0


async def test_a_valid_token_is_answered_and_the_reply_is_signed(
    teams: TeamsRig, conv: Conversation, jwks: FakeJwks
) -> None:
    for expires_in in (3600, -120):  # the SDK allows 5 minutes of clock skew
        token = jwks.token(APP_ID, teams.service_url, expires_in=expires_in)
        assert await teams.post(teams.personal(ATLAS), {"Authorization": f"Bearer {token}"}) == 201
    assert [p.card["body"][0]["text"] for p in teams.connector.posted] == ["Programme Atlas"] * 2
    assert {p.authorization for p in teams.connector.posted} == {f"Bearer {OUTBOUND_TOKEN}"}
    assert jwks.requests == 2, "metadata and keys are fetched once, then cached"


async def test_the_production_wiring_requires_a_token(
    aiohttp_client: Any, connector: FakeBotConnector, conv: Conversation
) -> None:
    app = web.Application()
    assert mount(app, conv)  # MicrosoftAppId comes from the environment, as in production
    rig = TeamsRig(await aiohttp_client(app), connector, connector.service_url)
    assert await rig.post(rig.personal(ATLAS)) == 401
    assert await rig.post(rig.personal(ATLAS), {"Authorization": "Bearer abc.def.ghi"}) == 401
    assert connector.posted == [] and turns_run(conv) == 0


async def test_a_junk_token_is_401_even_with_auth_off(
    aiohttp_client: Any, connector: FakeBotConnector, kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOVBOT_TEAMS_LOCAL", "1")
    app = web.Application()
    assert mount(app, Conversation(kb))  # no MicrosoftAppId: the emulator mode
    rig = TeamsRig(await aiohttp_client(app), connector, connector.service_url)
    assert await rig.post(rig.personal(ATLAS), {"Authorization": "Bearer abc.def.ghi"}) == 401  # stock: 500
    assert connector.posted == []


async def test_a_hanging_key_server_neither_blocks_the_loop_nor_lets_requests_through(
    aiohttp_client: Any, connector: FakeBotConnector, conv: Conversation, jwks: FakeJwks
) -> None:
    teams = await secured_rig(aiohttp_client, connector, conv, key_timeout=1.0)
    jwks.delay = 3.0
    token = {"Authorization": "Bearer " + jwks.token(APP_ID, teams.service_url)}
    order: list[str] = []

    async def post(name: str, headers: dict[str, str]) -> int:
        status = await teams.post(teams.personal(ATLAS), headers)
        order.append(name)
        return status

    keyed = asyncio.create_task(post("keyed", token))
    deadline = time.monotonic() + 10
    while jwks.requests == 0:  # the key fetch has started (the key server runs on a thread of its own)
        assert time.monotonic() < deadline, "the key server was never asked"
        await asyncio.sleep(0.01)
    assert await post("junk", {"Authorization": "Bearer abc.def.ghi"}) == 401
    assert await keyed == 503
    assert order == ["junk", "keyed"], "the loop answered another request while the key fetch was pending"
    assert jwks.answered == 0, "the 503 came from the bot's own timeout, before the key server answered"
    assert await teams.post(teams.personal(ATLAS), token) == 503
    assert jwks.requests == 1, "a failing key server is not asked (and waited for) again at once"
    assert connector.posted == [] and turns_run(conv) == 0


async def test_outbound_credentials_are_made_once_not_per_turn(loop: asyncio.AbstractEventLoop) -> None:
    # The SDK makes new credentials, hence a new MSAL client with an empty token cache, for every reply.
    factory = ReusedCredentials(LocalCredentialFactory(APP_ID, PASSWORD))
    scope = "https://api.botframework.com"
    first = await factory.create_credentials(APP_ID, scope, "https://login.microsoftonline.com/", True)
    again = await factory.create_credentials(APP_ID, scope, "https://login.microsoftonline.com/", True)
    assert first is again and first.get_access_token() == OUTBOUND_TOKEN
    with pytest.raises(PermissionError):
        await factory.create_credentials("someone-else", scope, "https://login.microsoftonline.com/", True)
