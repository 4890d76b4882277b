"""Hardening of the Bot Framework SDK's authentication (botframework-connector 4.17), as measured on loopback.

- Every token the SDK cannot validate becomes a 401: stock 4.17 answers 500 for garbage, expired, HS256,
  unknown-key and bad-signature tokens.
- Signing keys are fetched with aiohttp and a timeout: the SDK's own fetch is a blocking `requests.get`
  with no timeout, run on the event loop. An unreachable key server gives 503, never an unchecked turn.
- Outbound credentials are built once per app id instead of once per turn, so the MSAL token cache is
  reused and Microsoft login is called about hourly (with a timeout) rather than on every reply.
- With authentication off (emulator mode), a request carrying a token is refused before the SDK would
  fetch Microsoft's signing keys to check it: an anonymous caller cannot make the server call out.
- `authenticated(turn)` says whether the channel's token vouched for a turn: only then is the sender's
  identity believed (admin rights).

Only this module knows these SDK internals; porting to the Microsoft 365 Agents SDK deletes it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from botbuilder.core import BotAdapter, TurnContext
from botbuilder.integration.aiohttp import ConfigurationBotFrameworkAuthentication
from botbuilder.schema import Activity
from botframework.connector.auth import (
    AuthenticateRequestResult,
    AuthenticationConstants,
    ClaimsIdentity,
    MicrosoftAppCredentials,
    ServiceClientCredentialsFactory,
)
from botframework.connector.auth.jwt_token_extractor import JwtTokenExtractor
from jwt.algorithms import RSAAlgorithm
from msal import ConfidentialClientApplication

__all__ = [
    "SigningKeysUnavailable",
    "StrictAuthentication",
    "ReusedCredentials",
    "use_async_signing_keys",
    "authenticated",
    "loopback_url",
]

log = logging.getLogger("govbot.teams")

KEYS_MAX_AGE = 24 * 3600  # the SDK's policy: keys are refreshed daily...
UNKNOWN_KEY_REFRESH = 3600  # ...and at most hourly when a token names a key we do not have
RETRY_AFTER = 30  # after a failed fetch, requests fail fast instead of each waiting for the timeout


class SigningKeysUnavailable(Exception):
    """No signing key could be fetched yet: the request cannot be checked (503, so the channel retries)."""


@dataclass(frozen=True)
class _Key:
    """What the SDK's JwtTokenExtractor reads from its key cache."""

    public_key: Any
    endorsements: list[str]


@dataclass
class _SigningKeys:
    """One OpenID metadata URL's keys, in place of the SDK's blocking `_OpenIdMetadata`."""

    url: str
    timeout: float
    keys: dict[str, _Key] = field(default_factory=dict)
    fetched_at: float = float("-inf")
    retry_at: float = float("-inf")
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def get(self, key_id: str | None) -> _Key:
        if time.monotonic() - self.fetched_at > KEYS_MAX_AGE:
            await self._refresh()
        key = self.keys.get(key_id or "")
        if key is None and time.monotonic() - self.fetched_at > UNKNOWN_KEY_REFRESH:
            await self._refresh()
            key = self.keys.get(key_id or "")
        if key is not None:
            return key
        if not self.keys:
            raise SigningKeysUnavailable(self.url)
        raise PermissionError("unknown signing key")

    async def _refresh(self) -> None:
        asked = time.monotonic()
        async with self.lock:
            # Concurrent requests share one fetch, and a failing server is not asked again at once.
            if self.fetched_at >= asked or time.monotonic() < self.retry_at:
                return
            try:
                self.keys = await asyncio.wait_for(self._fetch(), self.timeout)
                self.fetched_at = time.monotonic()
            except (aiohttp.ClientError, TimeoutError, ValueError, KeyError, TypeError) as exc:
                log.warning("cannot fetch Bot Framework signing keys from %s: %s", self.url, type(exc).__name__)
                self.retry_at = time.monotonic() + RETRY_AFTER

    async def _fetch(self) -> dict[str, _Key]:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout)) as session:
            async with session.get(self.url) as response:
                response.raise_for_status()
                jwks_uri = (await response.json(content_type=None))["jwks_uri"]
            async with session.get(jwks_uri) as response:
                response.raise_for_status()
                listed = (await response.json(content_type=None))["keys"]
        keys = {}
        for jwk in listed:
            try:
                keys[jwk["kid"]] = _Key(RSAAlgorithm.from_jwk(json.dumps(jwk)), list(jwk.get("endorsements", [])))
            except (KeyError, TypeError, ValueError) as exc:  # one odd key must not hide the others
                log.warning("skipping a signing key from %s: %s", jwks_uri, type(exc).__name__)
        return keys


class _KeyCache(dict[str, _SigningKeys]):
    """The SDK looks keys up with `metadataCache.get(url)`; this answers with non-blocking fetchers."""

    def __init__(self, timeout: float):
        super().__init__()
        self.timeout = timeout

    def get(self, url: str, default: Any = None) -> _SigningKeys:  # type: ignore[override]
        if url not in self:
            self[url] = _SigningKeys(url, self.timeout)
        return self[url]


def use_async_signing_keys(timeout: float = 10.0) -> None:
    """Install the fetcher in the SDK's process-wide key cache (a fresh cache: keys are fetched again)."""
    JwtTokenExtractor.metadataCache = _KeyCache(timeout)


class StrictAuthentication(ConfigurationBotFrameworkAuthentication):
    """The SDK's configuration-driven authentication, where any failure to authenticate is a PermissionError.

    `CloudAdapter.process` turns PermissionError into 401; anything else it lets through as a 500.
    """

    def __init__(self, configuration: Any, *, credentials_factory: ServiceClientCredentialsFactory, **kwargs: Any):
        super().__init__(configuration, credentials_factory=credentials_factory, **kwargs)
        self._credentials = credentials_factory

    async def authenticate_request(self, activity: Activity, auth_header: str) -> AuthenticateRequestResult:
        if auth_header and await self._credentials.is_authentication_disabled():
            # The SDK would validate it, fetching Microsoft's keys on an anonymous caller's behalf.
            raise PermissionError("a token was sent but authentication is off (no MicrosoftAppId)")
        try:
            return await super().authenticate_request(activity, auth_header)
        except (PermissionError, SigningKeysUnavailable):
            raise
        except Exception as exc:
            raise PermissionError(f"invalid token ({type(exc).__name__})") from exc


def authenticated(turn_context: TurnContext) -> bool:
    """True when a valid channel token was checked for this turn (not the SDK's anonymous identity)."""
    identity = turn_context.turn_state.get(BotAdapter.BOT_IDENTITY_KEY)
    return (
        isinstance(identity, ClaimsIdentity)
        and identity.authentication_type != AuthenticationConstants.ANONYMOUS_AUTH_TYPE
        and bool(identity.claims)
    )


def loopback_url(url: object) -> bool:
    """An http(s) URL whose host is this machine, written as a loopback address or `localhost`."""
    if not isinstance(url, str):
        return False
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return False
    if parts.scheme not in ("http", "https"):
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ReusedCredentials(ServiceClientCredentialsFactory):
    """Outbound credentials made once per (app id, audience) and kept, with a timeout on Microsoft login."""

    def __init__(self, inner: ServiceClientCredentialsFactory, timeout: float = 5.0):
        self._inner = inner
        self._timeout = timeout
        self._made: dict[tuple[str, str, str, bool], Any] = {}

    async def is_valid_app_id(self, app_id: str) -> bool:
        return await self._inner.is_valid_app_id(app_id)

    async def is_authentication_disabled(self) -> bool:
        return await self._inner.is_authentication_disabled()

    async def create_credentials(self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool):
        key = (app_id, oauth_scope, login_endpoint, validate_authority)
        if key not in self._made:
            credentials = await self._inner.create_credentials(app_id, oauth_scope, login_endpoint, validate_authority)
            if type(credentials) is MicrosoftAppCredentials and credentials.microsoft_app_id:
                # The SDK builds its MSAL client lazily with no timeout; this is the same client with one.
                credentials.app = ConfidentialClientApplication(
                    client_id=credentials.microsoft_app_id,
                    client_credential=credentials.microsoft_app_password,
                    authority=credentials.oauth_endpoint,
                    timeout=self._timeout,
                )
            self._made[key] = credentials
        return self._made[key]
