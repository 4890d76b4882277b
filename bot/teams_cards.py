"""Answer -> Adaptive Card 1.5 (the version Teams renders), plus the plain text sent beside it.

Plain dicts only, no SDK: the card survives a move to the Microsoft 365 Agents SDK unchanged.
Teams renders a Markdown subset in TextBlock and Fact text, so every piece of knowledge text is escaped
there; button titles are plain text and link targets are only ever http(s).
"""

from __future__ import annotations

import json
import re
from typing import Any

from knowledge import Answer
from knowledge.phrases import say
from knowledge.text import clip

from .render import cut_items, cut_text, safe_sources, wants_feedback
from .turn import Action, Choice, Feedback, payload

__all__ = ["CARD_CONTENT_TYPE", "answer_card", "answer_text", "welcome_answer", "escape_markdown", "card_size"]

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
# Teams refuses messages over about 28 KB; the plain text travels in the same activity.
CARD_BUDGET = 24_000
TEXT_LIMIT = 3_000
MAX_URL = 1_000
# (lines of text, facts, choices, characters per line): tried in turn until the card fits the budget.
_LEVELS = ((40, 15, 6, 1_000), (15, 8, 4, 500), (5, 4, 3, 300))

_MARKDOWN = re.compile(r"([\\`*_~\[\]<>&#|])")
_BULLET = re.compile(r"^(\s*)([-+])(?=\s)", re.MULTILINE)
_NUMBERED = re.compile(r"^(\s*\d+)\.(?=\s)", re.MULTILINE)


def escape_markdown(text: str) -> str:
    """Make knowledge text inert in a TextBlock: no emphasis, link, list, mention or HTML can form."""
    escaped = _BULLET.sub(r"\1\\\2", _MARKDOWN.sub(r"\\\1", text))
    return _NUMBERED.sub(r"\1\\.", escaped)  # "1\." : a backslash before a digit would not escape


def _link_target(url: str) -> str:
    # A ")" would end the Markdown link early; percent-encoding keeps the same address.
    return url.replace("(", "%28").replace(")", "%29")


def _sources(answer: Answer) -> list[dict[str, str]]:
    return [s for s in safe_sources(answer) if len(s["url"]) <= MAX_URL]


def _text_block(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def _submit(title: str, action: Action) -> dict[str, Any]:
    return {"type": "Action.Submit", "title": clip(title, 80), "data": payload(action)}


def _details(answer: Answer) -> dict[str, Any]:
    """ "More": the whole text, unfolded in the card itself (Action.ShowCard needs no round trip)."""
    lines = [line for line in (answer.details or answer.text).splitlines() if line.strip()]
    card = {"type": "AdaptiveCard", "body": [_text_block(escape_markdown(line), spacing="Small") for line in lines]}
    return {"type": "Action.ShowCard", "title": say("more_details", answer.lang), "card": card}


def _build(answer: Answer, question: str, level: tuple[int, int, int, int], as_of: str = "") -> dict[str, Any]:
    max_lines, max_facts, max_choices, line_chars = level
    lang = answer.lang
    body: list[dict[str, Any]] = []
    if answer.title:
        body.append(_text_block(escape_markdown(clip(answer.title, 200)), weight="Bolder", size="Medium"))
    lines, more = cut_items([line for line in answer.text.splitlines() if line.strip()], max_lines, lang)
    body += [_text_block(escape_markdown(clip(line, line_chars)), spacing="Small") for line in lines]
    facts, more_facts = cut_items(answer.labelled_fields(), max_facts, lang)
    if facts:
        body.append(
            {
                "type": "FactSet",
                "facts": [
                    {"title": escape_markdown(clip(k, 60)), "value": escape_markdown(clip(v, 300))} for k, v in facts
                ],
            }
        )
    choices, more_choices = cut_items(answer.choices, max_choices, lang)
    if choices:
        body.append({"type": "ActionSet", "actions": [_submit(c["label"], Choice(c["query"])) for c in choices]})
    sources = _sources(answer)
    if sources:
        links = " · ".join(f"[{escape_markdown(clip(s['title'], 120))}]({_link_target(s['url'])})" for s in sources)
        body.append(_text_block(say("sources_word", lang), weight="Bolder", size="Small", spacing="Medium"))
        body.append(_text_block(links, size="Small", spacing="None"))
    if as_of:
        body.append(_text_block(escape_markdown(say("knowledge_date", lang, date=as_of)), isSubtle=True, size="Small"))
    if more or more_facts or more_choices:
        body.append(_text_block(escape_markdown(say("more_hint", lang)), isSubtle=True, size="Small"))
    actions: list[dict[str, Any]] = [
        {"type": "Action.OpenUrl", "title": clip(s["title"], 60), "url": s["url"]} for s in sources[:3]
    ]
    if answer.details or more or any(len(line) > line_chars for line in lines):
        actions.insert(0, _details(answer))
    if question and wants_feedback(answer):
        actions += [
            _submit("👍 " + say("feedback_up", lang), Feedback("up", question)),
            _submit("👎 " + say("feedback_down", lang), Feedback("down", question)),
        ]
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.5",
        "body": body,
        "msteams": {"width": "Full"},
    }
    if actions:
        card["actions"] = actions
    return card


def card_size(card: dict[str, Any]) -> int:
    return len(json.dumps(card, ensure_ascii=False).encode())


def answer_card(answer: Answer, question: str = "", as_of: str = "") -> dict[str, Any]:
    """The card for `answer`; `question` (what was asked) rides on the 👍/👎 buttons, which only show with it;
    `as_of` is the knowledge date shown under the sources."""
    for level in _LEVELS:
        card = _build(answer, question, level, as_of)
        if card_size(card) <= CARD_BUDGET:
            return card
    # Pathological text (long lines of 4-byte characters): one short block is all that is sure to fit.
    short = Answer(
        intent=answer.intent,
        lang=answer.lang,
        title=answer.title,
        text=cut_text(answer.text, 1_500, answer.lang),
        sources=answer.sources,
    )
    return _build(short, question[:200], (20, 0, 0, 1_500))


def answer_text(answer: Answer) -> str:
    """Plain text for notifications and clients without cards: the answer, then its source links."""
    lines = [answer.title, answer.text]
    lines += [
        f"{label} : {value}" if answer.lang == "fr" else f"{label}: {value}"
        for label, value in answer.labelled_fields()
    ]
    lines += [f"• {choice['label']}" for choice in answer.choices]
    body = cut_text("\n".join(line for line in lines if line), TEXT_LIMIT, answer.lang)
    links = [f"→ {clip(s['title'], 120)} — {s['url']}" for s in _sources(answer)]
    return "\n".join([body, *links])


def welcome_answer(lang: str, examples: list[str]) -> Answer:
    """The welcome on install: who the bot is, and example questions one click away."""
    choices = [{"label": q, "query": q} for q in examples]
    text = say("welcome", lang) + (" " + say("welcome_try", lang) if choices else "")
    return Answer(intent="help", lang=lang, title=say("home_title", lang), text=text, choices=choices)
