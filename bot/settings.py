"""What every `govbot` command reads from its environment: the knowledge, the log setup, the service's
address and who the admins are. Its own module so front ends, the server and the CLI all import it and
none of them imports another (`import bot.slack` loads neither the CLI nor the server)."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from knowledge import KnowledgeBase, default_path

__all__ = [
    "ADMIN_ENV",
    "DEFAULT_PORT",
    "admins_from_env",
    "configure_logging",
    "default_host",
    "default_port",
    "default_workers",
    "open_kb",
    "rate_limit_from_env",
]

# Which environment variable lists each platform's admins.
ADMIN_ENV = {"slack": "GOVBOT_ADMINS", "teams": "GOVBOT_TEAMS_ADMINS", "web": "GOVBOT_WEB_ADMINS"}
DEFAULT_PORT = 3978  # the Bot Framework's customary port; `govbot serve` and `govbot slack` share it
DEFAULT_RATE_LIMIT = 30  # questions per user per minute: a person never types faster, a script does
# Third-party loggers that print request bodies at INFO (slack_bolt logs rejected Slack bodies).
_QUIET_LOGGERS = ("slack_bolt", "slack_sdk", "botbuilder", "botframework", "msrest", "aiohttp.access")


def open_kb(db: Path | None, *, build: bool = True) -> KnowledgeBase:
    """The knowledge base at `db` (or the default), built from the bundled sources on first use."""
    kb = KnowledgeBase(db or default_path())
    if build and not kb.ready:
        print(f"Building the knowledge base in {kb.path} …", file=sys.stderr)
        kb.ensure()
    return kb


def configure_logging() -> None:
    """INFO for govbot (GOVBOT_LOG_LEVEL to change); chatty SDK loggers only from WARNING unless DEBUG."""
    level = os.environ.get("GOVBOT_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr)
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)


def default_host() -> str:
    """Loopback unless asked: a public bind is a deployment decision (the Procfile and Dockerfile make it)."""
    return os.environ.get("HOST", "127.0.0.1")


def default_port() -> int:
    return int(os.environ.get("PORT", str(DEFAULT_PORT)))


def default_workers() -> int:
    """GOVBOT_WORKERS: listening processes sharing the port (1, the default: the one service process)."""
    raw = os.environ.get("GOVBOT_WORKERS", "").strip()
    try:
        return int(raw) if raw else 1
    except ValueError:
        raise ValueError(f"GOVBOT_WORKERS must be a number of processes, not {raw!r}") from None


def admins_from_env(platform: str) -> frozenset[str]:
    raw = os.environ.get(ADMIN_ENV.get(platform, ""), "")
    return frozenset(part.strip() for part in raw.replace(";", ",").split(",") if part.strip())


def rate_limit_from_env() -> int:
    return int(os.environ.get("GOVBOT_RATE_LIMIT", str(DEFAULT_RATE_LIMIT)))
