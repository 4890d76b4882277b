"""Fixtures the Teams reliability tests share: a local Bot Connector and a local signing-key server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botframework.connector.auth import ChannelValidation

from tests.fakes.bot_connector import FakeBotConnector
from tests.fakes.jwks import FakeJwks


@pytest.fixture
async def connector(aiohttp_server: Any) -> FakeBotConnector:
    fake = FakeBotConnector()
    fake.service_url = str((await aiohttp_server(fake.app)).make_url("/"))
    return fake


@pytest.fixture
def jwks(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeJwks]:
    fake = FakeJwks()
    fake.start()
    # Production reads https://login.botframework.com/v1/.well-known/openidconfiguration; the SDK's one knob for it.
    monkeypatch.setattr(ChannelValidation, "open_id_metadata_endpoint", fake.metadata_url)
    yield fake
    fake.stop()
