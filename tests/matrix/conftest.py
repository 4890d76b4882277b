"""One real Synapse for the whole test session (started once: about 10 s), shared by every Matrix test.

Tests that need the homeserver ask for `homeserver`; if Synapse cannot start, they skip and say why.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.homeserver import Homeserver, HomeserverUnavailable


@pytest.fixture(scope="session")
def _synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Homeserver | str]:
    server = Homeserver(Path(tmp_path_factory.mktemp("synapse")))
    try:
        server.start()
    except HomeserverUnavailable as exc:
        yield str(exc)
        return
    yield server
    server.stop()


@pytest.fixture
def homeserver(_synapse: Homeserver | str) -> Iterator[Homeserver]:
    """The session's Synapse, running (a test that kills it must start it again, and this checks)."""
    if isinstance(_synapse, str):
        pytest.skip(f"no Synapse homeserver for the Matrix tests: {_synapse}")
    yield _synapse
    if not _synapse.running:
        _synapse.start()
