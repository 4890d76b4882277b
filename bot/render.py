"""Rendering pieces every front end shares: which links are safe, how long lists are cut, button payloads.

Each platform's own format (Block Kit, Adaptive Cards, HTML) lives in its front end; what they have in
common lives here so the platforms stay one behaviour.
"""

from __future__ import annotations

import json
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
    "choice_payload",
    "knowledge_date",
    "share_payload",
    "wants_feedback",
    "feedback_payload",
    "read_payload",
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


def knowledge_date(info: dict[str, Any]) -> str:
    """The date the knowledge speaks for: its newest source date, else the day it was built."""
    return str(info.get("latest_date") or str(info.get("built_at", ""))[:10])


def wants_feedback(answer: Answer) -> bool:
    """👍 / 👎 under every answer but help (help is not an answer to judge)."""
    return answer.intent not in ("help", "admin")


def share_payload(question: str) -> str:
    """The value of Slack's "Share in channel" button: the question to answer again, publicly."""
    return json.dumps({"question": question[:500]}, ensure_ascii=False)


def choice_payload(query: str) -> str:
    """The value a choice button carries (kept small: platforms cap button values)."""
    return json.dumps({"choice": query[:500]}, ensure_ascii=False)


def feedback_payload(value: str, question: str) -> str:
    return json.dumps({"feedback": "up" if value == "up" else "down", "question": question[:500]}, ensure_ascii=False)


def read_payload(raw: str | dict[str, Any] | None) -> dict[str, str]:
    """Decode a button value back to {'choice': ...} or {'feedback': ..., 'question': ...}; {} when malformed."""
    try:
        data = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: str(v)[:500] for k, v in data.items() if k in ("choice", "feedback", "question") and v is not None}
