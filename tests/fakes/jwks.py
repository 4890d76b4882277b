"""A local Bot Framework signing-key server (OpenID metadata + JWKS) and the tokens a channel would send.

The key is a fresh RSA key per server, generated with `cryptography`; tokens are signed with PyJWT the way
the Bot Framework signs them (RS256, `kid`, issuer https://api.botframework.com, audience = the app id,
`serviceurl` claim). Knobs produce every kind of bad token.

The server runs on its own thread and event loop, like the real one on the internet: a bot that fetched keys
with a blocking call would then stall measurably (and fail the tests) instead of deadlocking them.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from typing import Any

import jwt
from aiohttp import web
from botframework.connector.auth import MicrosoftAppCredentials, PasswordServiceClientCredentialFactory
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://api.botframework.com"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FakeJwks:
    """Serves `/openid` (metadata) and `/keys`; counts requests and answers; `delay` makes both endpoints hang."""

    def __init__(self, endorsements: tuple[str, ...] = ("msteams",)) -> None:
        self.key = new_key()
        self.kid = f"kid-{uuid.uuid4().hex[:8]}"
        self.endorsements = list(endorsements)
        self.requests = 0
        self.answered = 0  # requests whose `delay` is over (a client that gave up earlier saw none of them)
        self.delay = 0.0
        self.base_url = ""
        self.app = web.Application()
        self.app.router.add_get("/openid", self._metadata)
        self.app.router.add_get("/keys", self._keys)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Listen on an ephemeral loopback port, on a thread of its own."""
        ready = threading.Event()

        def serve() -> None:
            loop = self._loop = asyncio.new_event_loop()
            runner = web.AppRunner(self.app, shutdown_timeout=0.1)
            loop.run_until_complete(runner.setup())
            loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", 0).start())
            self.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, name="fake-jwks", daemon=True)
        self._thread.start()
        assert ready.wait(10), "the key server did not start"

    def stop(self) -> None:
        assert self._loop and self._thread
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    @property
    def metadata_url(self) -> str:
        return f"{self.base_url}/openid"

    async def _metadata(self, request: web.Request) -> web.Response:
        self.requests += 1
        await asyncio.sleep(self.delay)
        self.answered += 1
        return web.json_response({"issuer": ISSUER, "jwks_uri": f"{self.base_url}/keys"})

    async def _keys(self, request: web.Request) -> web.Response:
        self.requests += 1
        await asyncio.sleep(self.delay)
        self.answered += 1
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update(kid=self.kid, use="sig", endorsements=self.endorsements)
        return web.json_response({"keys": [jwk]})

    def token(
        self,
        app_id: str,
        service_url: str,
        *,
        issuer: str = ISSUER,
        audience: str | None = None,
        expires_in: float = 3600,
        kid: str | None = None,
        key: rsa.RSAPrivateKey | None = None,
        **claims: Any,
    ) -> str:
        """A channel token; change one argument to spoil it in exactly one way."""
        now = int(time.time())
        payload = {
            "iss": issuer,
            "aud": audience if audience is not None else app_id,
            "serviceurl": service_url,
            "nbf": now - 60,
            "iat": now - 60,
            "exp": int(now + expires_in),
            **claims,
        }
        return jwt.encode(payload, key or self.key, algorithm="RS256", headers={"kid": kid or self.kid})

    def hs256_token(self, app_id: str, service_url: str) -> str:
        """Signed with a shared secret (HS256) under our key id: the classic algorithm-confusion attempt."""
        now = int(time.time())
        payload = {"iss": ISSUER, "aud": app_id, "serviceurl": service_url, "exp": now + 3600, "nbf": now - 60}
        return jwt.encode(
            payload, "a-guessed-secret-that-is-long-enough-32b", algorithm="HS256", headers={"kid": self.kid}
        )


OUTBOUND_TOKEN = "outbound-token-from-the-local-identity"


class _LocalAppCredentials(MicrosoftAppCredentials):
    def get_access_token(self, force_refresh: bool = False) -> str:
        return OUTBOUND_TOKEN


class LocalCredentialFactory(PasswordServiceClientCredentialFactory):
    """The SDK's own app-id checks; outbound tokens come from here instead of Microsoft login (no internet)."""

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> MicrosoftAppCredentials:
        if not await self.is_valid_app_id(app_id):
            raise PermissionError(f"not our app id: {app_id}")
        return _LocalAppCredentials(app_id, self.password, oauth_scope=oauth_scope)
