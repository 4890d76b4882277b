"""A digest in each platform's format: Slack blocks, a Teams Adaptive Card, a Matrix message, plain text (web).

Knowledge text is data, never markup: it is escaped as the answer renderers do, and a link whose address
is not plain http(s) is left out (the line stays, without its link).
"""

from __future__ import annotations

from typing import Any

from knowledge.text import clip

from .digests import Digest
from .render import is_http_url
from .slack_blocks import escape
from .teams_cards import CARD_CONTENT_TYPE, escape_markdown

__all__ = ["slack_message", "teams_card", "teams_activity", "plain_text", "matrix_content"]

# Slack: a section's text is at most 3,000 characters, a header's 150.
SLACK_SECTION_CHARS = 3000
SLACK_HEADER_CHARS = 150


def _url(url: str) -> str:
    return url if url and is_http_url(url) else ""


def _slack_line(text: str, url: str) -> str:
    url = _url(url)
    shown = escape(text)
    return f"{shown} <{escape(url).replace('|', '%7C')}|↗>" if url else shown


def slack_message(digest: Digest) -> dict[str, Any]:
    """`chat.postMessage` arguments (text for notifications, blocks for the channel)."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": clip(digest.title, SLACK_HEADER_CHARS)}}
    ]
    for section in digest.sections:
        lines = [f"*{escape(section.heading)}*", *(_slack_line(line.text, line.url) for line in section.lines)]
        text = "\n".join(lines)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SLACK_SECTION_CHARS)}})
    if digest.more:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": escape(digest.more_text)}]})
    return {"text": escape(digest.title), "blocks": blocks, "unfurl_links": False, "unfurl_media": False}


def teams_card(digest: Digest) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": escape_markdown(digest.title), "wrap": True, "weight": "Bolder", "size": "Medium"}
    ]
    for section in digest.sections:
        body.append({"type": "TextBlock", "text": escape_markdown(section.heading), "wrap": True, "weight": "Bolder"})
        for line in section.lines:
            text = escape_markdown(line.text)
            if url := _url(line.url):
                text += f" [↗]({url.replace('(', '%28').replace(')', '%29')})"
            body.append({"type": "TextBlock", "text": text, "wrap": True, "spacing": "Small"})
    if digest.more:
        body.append({"type": "TextBlock", "text": escape_markdown(digest.more_text), "wrap": True, "isSubtle": True})
    return {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.5",
        "body": body,
        "msteams": {"width": "Full"},
    }


def teams_activity(digest: Digest) -> dict[str, Any]:
    """The activity to post (a card, with the plain text as the notification's summary)."""
    return {
        "type": "message",
        "summary": clip(digest.title, 200),
        "text": "",
        "attachments": [{"contentType": CARD_CONTENT_TYPE, "content": teams_card(digest)}],
    }


def plain_text(digest: Digest) -> str:
    return digest.to_text()


def matrix_content(digest: Digest) -> dict[str, Any]:
    """An `m.room.message`: the plain text as `body`, HTML with the links, no ping (`m.mentions` empty)."""
    from .matrix_render import HTML_FORMAT, defuse
    from .matrix_render import escape as html

    parts = [f"<p><strong>{html(digest.title)}</strong></p>"]
    for section in digest.sections:
        items = "".join(
            f"<li>{html(line.text.removeprefix('• '))}"
            + (f' <a href="{html(url)}">↗</a>' if (url := _url(line.url)) else "")
            + "</li>"
            for line in section.lines
        )
        parts.append(f"<p><strong>{html(section.heading)}</strong></p><ul>{items}</ul>")
    if digest.more:
        parts.append(f"<p><em>{html(digest.more_text)}</em></p>")
    return {
        "msgtype": "m.notice",
        "body": defuse(digest.to_text()),
        "format": HTML_FORMAT,
        "formatted_body": "".join(parts),
        "m.mentions": {},
    }
