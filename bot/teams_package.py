"""`govbot teams-package`: the Teams app package (manifest.json + two icons, zipped) to upload in Teams admin.

The icons are drawn here with zlib and struct, so the package needs no image files or libraries.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import struct
import sys
import zipfile
import zlib
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from knowledge.phrases import EXAMPLE_CANDIDATES, say

from .conversation import ADMIN_COMMANDS

__all__ = ["main", "build_manifest", "build_package", "png", "MANIFEST_VERSION"]

# The current schema named by the Teams app manifest reference (learn.microsoft.com, resources/schema/manifest-schema).
MANIFEST_VERSION = "1.22"
SCHEMA_URL = f"https://developer.microsoft.com/json-schemas/teams/v{MANIFEST_VERSION}/MicrosoftTeams.schema.json"
ACCENT = (0x1F, 0x5F, 0xAD)
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
Pixel = tuple[int, int, int, int]


def png(width: int, height: int, pixel: Callable[[float, float], Pixel]) -> bytes:
    """An RGBA PNG; `pixel(u, v)` gets the pixel centre in 0..1 coordinates."""
    rows = (
        b"\x00" + bytes(c for x in range(width) for c in pixel((x + 0.5) / width, (y + 0.5) / height))
        for y in range(height)
    )

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA, no interlace
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + chunk(b"IEND", b"")
    )


def _in_bubble(u: float, v: float) -> bool:
    """A speech bubble with three dots cut out: the bot's mark."""
    if any((u - cx) ** 2 + (v - 0.44) ** 2 < 0.055**2 for cx in (0.34, 0.5, 0.66)):
        return False
    left, top, right, bottom, r = 0.16, 0.22, 0.84, 0.66, 0.12
    cx, cy = min(max(u, left + r), right - r), min(max(v, top + r), bottom - r)
    in_body = left <= u <= right and top <= v <= bottom and (u - cx) ** 2 + (v - cy) ** 2 <= r * r
    in_tail = bottom - 0.01 <= v <= 0.84 and 0.28 <= u <= 0.46 - (v - bottom) * 0.9
    return in_body or in_tail


def color_icon() -> bytes:
    """192×192, full-bleed accent colour with a white bubble (Teams' colour icon)."""
    return png(192, 192, lambda u, v: (255, 255, 255, 255) if _in_bubble(u, v) else (*ACCENT, 255))


def outline_icon() -> bytes:
    """32×32, white on transparent (Teams' outline icon)."""
    return png(32, 32, lambda u, v: (255, 255, 255, 255) if _in_bubble(u, v) else (255, 255, 255, 0))


def _version() -> str:
    try:
        return version("govbot")
    except PackageNotFoundError:
        return "0.1.0"


def build_manifest(app_id: str, lang: str = "fr") -> dict[str, Any]:
    """The manifest: one bot, in personal chats, group chats and teams, with its command list."""
    website = os.environ.get("GOVBOT_TEAMS_WEBSITE", "https://example.org/govbot")
    commands = [{"title": "help", "description": say("teams_command_help", lang)}]
    commands += [{"title": name, "description": say(f"teams_command_{name}", lang)} for name in ADMIN_COMMANDS]
    examples = [
        q for q in EXAMPLE_CANDIDATES[lang] if len(q) <= 32
    ]  # the manifest caps command titles at 32 characters
    commands += [{"title": q, "description": say("teams_command_example", lang)} for q in examples][
        : 10 - len(commands)
    ]
    scopes = ["personal", "team", "groupChat"]
    return {
        "$schema": SCHEMA_URL,
        "manifestVersion": MANIFEST_VERSION,
        "version": _version(),
        "id": app_id,
        "developer": {
            "name": os.environ.get("GOVBOT_TEAMS_DEVELOPER", "govbot"),
            "websiteUrl": website,
            "privacyUrl": os.environ.get("GOVBOT_TEAMS_PRIVACY_URL", website),
            "termsOfUseUrl": os.environ.get("GOVBOT_TEAMS_TERMS_URL", website),
        },
        "name": {"short": "govbot", "full": say("home_title", lang)},
        "description": {"short": say("teams_description_short", lang), "full": say("teams_description_full", lang)},
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": "#{:02X}{:02X}{:02X}".format(*ACCENT),
        "bots": [
            {
                "botId": app_id,
                "scopes": scopes,
                "supportsFiles": False,
                "isNotificationOnly": False,
                "commandLists": [{"scopes": scopes, "commands": commands}],
            }
        ],
        "validDomains": [],
    }


def build_package(app_id: str, out: Path) -> Path:
    """Write the zip Teams admin accepts: manifest.json and the two icons at its root."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(build_manifest(app_id), ensure_ascii=False, indent=2))
        archive.writestr("color.png", color_icon())
        archive.writestr("outline.png", outline_icon())
    return out


def main(args: argparse.Namespace) -> int:
    app_id = args.app_id.strip()
    if not _GUID.match(app_id):
        print(f"--app-id must be the bot's Microsoft App ID (a GUID), not {app_id!r}", file=sys.stderr)
        return 2
    if "GOVBOT_TEAMS_WEBSITE" not in os.environ:
        print("Note: set GOVBOT_TEAMS_WEBSITE (and optionally GOVBOT_TEAMS_PRIVACY_URL, ", end="", file=sys.stderr)
        print("GOVBOT_TEAMS_TERMS_URL) to your own pages before publishing the app.", file=sys.stderr)
    print(build_package(app_id, args.out))
    return 0
