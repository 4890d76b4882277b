"""Rendering pieces every front end shares: which links are safe, how long lists are cut.

Each platform's own format (Block Kit, Adaptive Cards, HTML) lives in its front end; what they have in
common lives here so the platforms stay one behaviour.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from knowledge import Answer
from knowledge.phrases import say
from knowledge.text import clip

__all__ = [
    "is_http_url",
    "safe_sources",
    "cut_items",
    "cut_text",
    "wants_feedback",
]


def is_http_url(url: object) -> bool:
    """Only http(s) links with a host are ever rendered."""
    if not isinstance(url, str):
        return False
    parsed = urllib.parse.urlparse(url)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc) and not any(c in url for c in '\n\r\t <>"')


def safe_sources(answer: Answer, limit: int = 5) -> list[dict[str, str]]:
    """The answer's sources with an http(s) URL, at most `limit`."""
    return [s for s in answer.sources if is_http_url(s.get("url"))][:limit]


def cut_items(items: list[Any], limit: int, lang: str) -> tuple[list[Any], str]:
    """At most `limit` items, and the "more" hint to show when some were cut ('' otherwise)."""
    if len(items) <= limit:
        return items, ""
    return items[:limit], say("more_hint", lang)


def cut_text(text: str, limit: int, lang: str) -> str:
    """Text under `limit` characters; when cut, ends with "…" and the "more" hint."""
    if len(text) <= limit:
        return text
    hint = say("more_hint", lang)
    return clip(text, max(1, limit - len(hint) - 1)) + "\n" + hint


def wants_feedback(answer: Answer) -> bool:
    """👍 / 👎 under every answer but help (help is not an answer to judge)."""
    return answer.intent not in ("help", "admin")
