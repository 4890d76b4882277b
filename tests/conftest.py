"""Shared fixtures: an isolated environment, a knowledge base built from the test source."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from knowledge import KnowledgeBase
from knowledge.store import Reader

pytest_plugins = ["aiohttp.pytest_plugin"]

DATA = Path(__file__).parent / "data"
TEST_SOURCE = DATA / "source"
_ENV_PREFIXES = ("GOVBOT_", "SLACK_", "Microsoft", "MICROSOFT")


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """Say which random order ran (`-q` hides pytest-randomly's header), so a failing order can be replayed."""
    seed = config.getoption("randomly_seed", None)
    if isinstance(seed, int):
        terminalreporter.write_line(f"random order: replay with --randomly-seed={seed}")


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's tokens or knowledge directory."""
    for name in list(os.environ):
        if name.startswith(_ENV_PREFIXES):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GOVBOT_DB", str(tmp_path / "default-kb"))


@pytest.fixture(scope="session")
def _built_test_kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("test-kb")
    KnowledgeBase(root).refresh([str(TEST_SOURCE)], bundled=False)
    return root


@pytest.fixture
def kb(_built_test_kb: Path, tmp_path: Path) -> KnowledgeBase:
    """A knowledge base over the test source only (a private copy: tests may refresh it)."""
    root = tmp_path / "kb"
    shutil.copytree(_built_test_kb, root)
    return KnowledgeBase(root)


@pytest.fixture
def reader(kb: KnowledgeBase) -> Iterator[Reader]:
    """A reader on the test knowledge's current version, for tests of the core's queries."""
    current = kb.store.current()
    assert current is not None
    opened = Reader(current)
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def _built_bundled_kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bundled-kb")
    KnowledgeBase(root).refresh([], bundled=True)
    return root


@pytest.fixture
def bundled_kb(_built_bundled_kb: Path) -> KnowledgeBase:
    """The bundled knowledge (read-only: do not refresh it)."""
    return KnowledgeBase(_built_bundled_kb)


@pytest.fixture
def bundled_copy(_built_bundled_kb: Path, tmp_path: Path) -> KnowledgeBase:
    """A private copy of the bundled knowledge (a conversation over it writes its question log there)."""
    root = tmp_path / "bundled"
    shutil.copytree(_built_bundled_kb, root)
    return KnowledgeBase(root)
