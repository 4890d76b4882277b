"""Answer -> Slack Block Kit: mrkdwn escaping, Block Kit limits, buttons, and the App Home view.

Knowledge text is data, never markup: `& < >` are escaped everywhere mrkdwn is used, so a record
holding `<!channel>` or `<script>` shows as text and pings no one, and every mrkdwn text object is
`verbatim`, so Slack does not turn bare URLs, channel names or `@here` in the data into links or mentions. Every block stays inside Slack's
limits (a message over a limit is rejected whole), cutting with "…" and the "more" hint.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from knowledge import Answer
from knowledge.phrases import counts_text, say
from knowledge.text import clip

from .conversation import knowledge_date
from .render import cut_items, safe_sources, wants_feedback
from .turn import Action, Choice, Feedback, More, Share, payload_json

__all__ = [
    "ACTION_CHOICE",
    "ACTION_FEEDBACK",
    "ACTION_MORE",
    "ACTION_SHARE",
    "answer_message",
    "details_message",
    "escape",
    "fit",
    "home_view",
    "text_message",
]

# Block Kit limits (https://docs.slack.dev/reference/block-kit/blocks).
SECTION_TEXT = 3000
FIELDS = 10
FIELD_TEXT = 2000
ACTIONS = 25
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
HEADER_TEXT = 150
MESSAGE_TEXT = 3000  # the notification fallback; Slack allows more, nobody reads more
QUESTION_ECHO = 100  # how much of a question is ever echoed back

ACTION_CHOICE = "govbot_choice"  # + "_<n>": action ids must be unique within a block
ACTION_FEEDBACK = "govbot_feedback"  # + "_up" / "_down"
ACTION_SHARE = "govbot_share"
ACTION_MORE = "govbot_more"
DETAILS_BLOCKS = 20  # sections of "More": a record's whole text is a few thousand characters at most


def escape(text: str) -> str:
    """Slack's three control characters; everything else in mrkdwn is harmless text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fit(text: str, limit: int, lang: str) -> str:
    """Escaped mrkdwn of at most `limit` characters; when cut, ends with "…" and the "more" hint.

    The cut is made on the raw text (escaping after), so an entity like `&amp;` is never split.
    """
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    hint = escape(say("more_hint", lang))
    budget = limit - len(hint) - 1
    low, high = 0, len(text)
    while low < high:  # the longest raw prefix whose escaped clip fits the budget
        middle = (low + high + 1) // 2
        if len(escape(clip(text, middle))) <= budget:
            low = middle
        else:
            high = middle - 1
    return escape(clip(text, low)) + "\n" + hint


def _link(url: str, title: str) -> str:
    # The URL was checked by is_http_url (no spaces, no angle brackets); `|` would end it early.
    return f"<{escape(url).replace('|', '%7C')}|{escape(title or url)}>"


def _field(name: str, value: str, lang: str) -> str:
    head = f"*{fit(name, 100, lang)}*\n"
    return head + fit(value, FIELD_TEXT - len(head), lang)


def _sources_line(answer: Answer) -> str:
    """ "Sources <url|title> · <url|title>", only http(s) links, as many as fit one context element."""
    line = f"*{escape(say('sources_word', answer.lang))}*"
    count = 0
    for source in safe_sources(answer):
        link = _link(source["url"], clip(source.get("title", ""), 150))
        if len(line) + len(link) + 3 > SECTION_TEXT:
            break
        line += (" · " if count else "  ") + link
        count += 1
    return line if count else ""


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": clip(text, BUTTON_TEXT), "emoji": True},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _value(make: Callable[[str], Action], text: str) -> str:
    """A button value under Slack's cap: JSON escaping can make a short question long."""
    size = len(text)
    value = payload_json(make(text))
    while len(value) > BUTTON_VALUE and size:
        size //= 2
        value = payload_json(make(text[:size]))
    return value


def _mrkdwn(text: str) -> dict[str, Any]:
    """A mrkdwn text object that Slack renders as written: only our own `<url|title>` links become links."""
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _context(elements: list[str]) -> dict[str, Any]:
    return {"type": "context", "elements": [_mrkdwn(e) for e in elements[:10]]}


def _fallback(answer: Answer) -> str:
    """The plain `text` Slack shows in notifications and to screen readers (also parsed: escaped)."""
    plain = "\n".join(part for part in (answer.title, answer.text) if part) or answer.to_text()
    return fit(plain, MESSAGE_TEXT, answer.lang)


def answer_message(
    answer: Answer,
    *,
    question: str,
    as_of: str = "",
    share: bool = False,
    asked_by: str | None = None,
) -> dict[str, Any]:
    """{'text', 'blocks'} for chat.postMessage, respond() or views: the answer, its sources and buttons.

    `as_of` is the knowledge date shown under the sources; `share` adds the "Share in channel" button
    (ephemeral answers); `asked_by` (a Slack user id) heads a shared answer with who asked what.
    """
    lang = answer.lang
    blocks: list[dict[str, Any]] = []
    hints: list[str] = []
    if asked_by:
        echo = escape(clip(question, QUESTION_ECHO))
        blocks.append(_context([say("asked_by", lang, user=f"<@{asked_by}>", question=echo)]))
    if answer.title:
        title = clip(answer.title, HEADER_TEXT)
        blocks.append({"type": "header", "text": {"type": "plain_text", "text": title, "emoji": False}})
    if answer.text:
        blocks.append({"type": "section", "text": _mrkdwn(fit(answer.text, SECTION_TEXT, lang))})
    fields, hint = cut_items(answer.labelled_fields(), FIELDS, lang)
    hints.append(hint)
    if fields:
        blocks.append({"type": "section", "fields": [_mrkdwn(_field(k, v, lang)) for k, v in fields]})

    context: list[str] = []
    if sources := _sources_line(answer):
        context.append(sources)
    if as_of:
        context.append(escape(say("knowledge_date", lang, date=as_of)))

    choices, hint = cut_items(answer.choices, ACTIONS, lang)
    hints.append(hint)
    context += [escape(h) for h in dict.fromkeys(hints) if h]
    if context:
        blocks.append(_context(context))
    if choices:
        buttons = [
            _button(c.get("label") or c.get("query", ""), f"{ACTION_CHOICE}_{i}", _value(Choice, c["query"]))
            for i, c in enumerate(choices)
            if c.get("query")
        ]
        if buttons:
            blocks.append({"type": "actions", "elements": buttons})

    tail: list[dict[str, Any]] = []
    if answer.details or len(escape(answer.text)) > SECTION_TEXT:
        tail.append(_button(say("more_details", lang), ACTION_MORE, _value(More, question)))
    if share:
        tail.append(_button(say("share", lang), ACTION_SHARE, _value(Share, question), "primary"))
    if wants_feedback(answer):
        for value, emoji in (("up", "👍"), ("down", "👎")):
            text = f"{emoji} {say('feedback_' + value, lang)}"
            payload = _value(partial(Feedback, value), question)
            tail.append(_button(text, f"{ACTION_FEEDBACK}_{value}", payload))
    if tail:
        blocks.append({"type": "actions", "elements": tail})
    return {"text": _fallback(answer), "blocks": blocks}


def details_message(answer: Answer) -> dict[str, Any]:
    """The whole text of an answer (its "More"), in as many sections as it takes."""
    whole = answer.details or answer.text
    chunks: list[str] = []
    for line in whole.splitlines():
        if chunks and len(escape(chunks[-1])) + len(escape(line)) + 1 <= SECTION_TEXT:
            chunks[-1] += "\n" + line
        else:
            chunks.append(line)
    sections = [
        {"type": "section", "text": {"type": "mrkdwn", "text": fit(c, SECTION_TEXT, answer.lang)}} for c in chunks if c
    ]
    return {"text": fit(whole, MESSAGE_TEXT, answer.lang), "blocks": sections[:DETAILS_BLOCKS]}


def text_message(text: str, lang: str = "fr") -> dict[str, Any]:
    """A plain reply (admin output, refusals, thanks) as one escaped mrkdwn section."""
    body = fit(text, SECTION_TEXT, lang)
    return {
        "text": fit(text, MESSAGE_TEXT, lang),
        "blocks": [{"type": "section", "text": _mrkdwn(body)}],
    }


def home_view(info: dict[str, Any], examples: dict[str, list[str]]) -> dict[str, Any]:
    """The App Home tab, in French then English: what govbot is, how to ask, `examples` (by language),
    the knowledge."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": clip(say("home_title", "fr"), HEADER_TEXT)}}
    ]
    date = knowledge_date(info)
    for lang in ("fr", "en"):
        if lang == "en":
            blocks.append({"type": "divider"})
            blocks.append({"type": "section", "text": _mrkdwn(f"*{escape(say('home_title', 'en'))}*")})
        listed = "\n".join(f"• {q}" for q in examples.get(lang, []))
        text = f"{say('welcome', lang)}\n{listed}\n\n{say('slack_usage', lang)}"
        blocks.append({"type": "section", "text": _mrkdwn(fit(text, SECTION_TEXT, lang))})
        facts = [escape(say("knowledge_date", lang, date=date))] if date else []
        if counts := counts_text(info.get("counts", {}), lang):
            facts.append(fit(counts, 1000, lang))
        if facts:
            blocks.append(_context(facts))
    return {"type": "home", "blocks": blocks}
