"""Last good copies of remote sources, kept in the knowledge directory.

A nightly refresh must not fail for good because one remote source is down: when a fetch fails, the copy
the last successful refresh read is used instead (the refresh report says so). Only a source never
fetched successfully blocks a refresh. Each copy is saved with its sha256 and the date it was fetched,
only after the refresh that read it succeeded (a broken download never becomes the "good" copy).
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["LastGood"]

FOLDER = "last-good"


class LastGood:
    """Copies under `<knowledge directory>/last-good/`, one body and one JSON card per URL."""

    def __init__(self, root: Path):
        self.folder = Path(root) / FOLDER

    def _paths(self, url: str) -> tuple[Path, Path]:
        name = hashlib.sha256(url.encode()).hexdigest()[:32]
        return self.folder / f"{name}.body", self.folder / f"{name}.json"

    def load(self, url: str) -> tuple[bytes, str, str] | None:
        """(body, content type, when it was fetched) of the last good copy, or None (or if it is damaged)."""
        body_path, card_path = self._paths(url)
        try:
            card = json.loads(card_path.read_text(encoding="utf-8"))
            body = body_path.read_bytes()
        except (OSError, ValueError):
            return None
        if card.get("url") != url or hashlib.sha256(body).hexdigest() != card.get("sha256"):
            return None
        return body, str(card.get("content_type") or ""), str(card.get("fetched_at") or "?")

    def save(self, url: str, body: bytes, content_type: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        body_path, card_path = self._paths(url)
        card = {
            "url": url,
            "sha256": hashlib.sha256(body).hexdigest(),
            "bytes": len(body),
            "content_type": content_type,
            "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        _write(body_path, body)
        _write(card_path, json.dumps(card).encode())

    def forget(self, url: str) -> None:
        for path in self._paths(url):
            path.unlink(missing_ok=True)


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(tmp, path)
