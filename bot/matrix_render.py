"""Answer -> Matrix message: an HTML `formatted_body` in the subset Matrix clients render, and a plain `body`
that reads well on its own (notifications, bridges, text-only clients).

Knowledge text is data, never markup: it is HTML-escaped, "@room" is broken with a word joiner, every
message carries an empty `m.mentions` (so clients apply no legacy name-matching), and no matrix.to link
(a mention "pill") is ever made from a source. Matrix has no buttons: choices are numbered and answered by
their number or words, the rest of a long answer waits for "plus" / "more", feedback is a 👍/👎 reaction.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from knowledge import Answer
from knowledge.phrases import say
from knowledge.text import clip, fold

from .render import safe_sources, wants_feedback

__all__ = [
    "MatrixMessage",
    "answer_message",
    "more_message",
    "text_message",
    "pick_choice",
    "wants_more",
    "reaction_value",
    "escape",
]

LINES_SHOWN = 8  # answer lines in the first message: the asked fact is in the title, first lines and fields
CHARS_SHOWN = 2_500  # of answer text per message: a whole record, still readable on a phone
FIELDS_SHOWN = 8  # a record's facts (status, owners...) shown at once; the others wait for "plus"
CHOICES_SHOWN = 9  # one digit to type
MORE_WORDS = frozenset({"plus", "more", "suite", "la suite", "encore", "next"})
THUMBS = {"👍": "up", "👎": "down"}
_VARIANTS = re.compile("[\ufe0f\U0001f3fb-\U0001f3ff]")  # emoji presentation selector, skin tones
_ROOM_PING = re.compile(r"@(room)\b", re.IGNORECASE)
HTML_FORMAT = "org.matrix.custom.html"


@dataclass(frozen=True)
class MatrixMessage:
    """One message to send; `choices` (label, query) and `rest` (lines held back) wait for the asker's reply."""

    body: str
    html: str
    lang: str = "fr"
    choices: tuple[tuple[str, str], ...] = ()
    rest: tuple[str, ...] = ()

    def content(self) -> dict[str, Any]:
        return {"msgtype": "m.text", "body": self.body, "format": HTML_FORMAT, "formatted_body": self.html} | {
            "m.mentions": {}
        }


def defuse(text: str) -> str:
    """No "@room" ping from data: a word joiner after "@" keeps it readable and inert."""
    return _ROOM_PING.sub("@\u2060\\1", text)


def escape(text: str) -> str:
    return html.escape(defuse(text), quote=True)


def _link(url: str, title: str) -> str:
    return f'<a href="{html.escape(url, quote=True)}">{escape(title or url)}</a>'


def _sources(answer: Answer) -> list[dict[str, str]]:
    """http(s) sources only, and never a matrix.to address: a link there renders as a mention pill."""
    return [s for s in safe_sources(answer) if "matrix.to" not in s["url"].split("/")[2]]


def _fact(label: str, value: str, lang: str) -> str:
    return f"{label} : {value}" if lang == "fr" else f"{label}: {value}"


def _split(lines: list[str], count: int, chars: int) -> tuple[list[str], list[str]]:
    """The first lines (at most `count`, at most `chars` characters, at least one) and the lines left."""
    shown: list[str] = []
    used = 0
    for line in lines:
        if shown and (len(shown) >= count or used + len(line) > chars):
            break
        shown.append(clip(line, chars))
        used += len(line)
    return shown, lines[len(shown) :]


def answer_message(answer: Answer, as_of: str = "") -> MatrixMessage:
    """The answer's title, first lines and facts; numbered choices; source links; hints for what to reply."""
    lang = answer.lang
    # The whole text (`details`): what the first message leaves out waits for "plus", never lost.
    whole = answer.details or answer.text
    lines, rest = _split([line for line in whole.splitlines() if line.strip()], LINES_SHOWN, CHARS_SHOWN)
    facts = answer.labelled_fields()
    rest += [_fact(k, v, lang) for k, v in facts[FIELDS_SHOWN:]]
    facts = facts[:FIELDS_SHOWN]
    choices = tuple((clip(c["label"], 200), c["query"]) for c in answer.choices[:CHOICES_SHOWN])
    sources = _sources(answer)
    body: list[str] = []
    parts: list[str] = []
    if answer.title:
        body.append(clip(answer.title, 300))
        parts.append(f"<p><strong>{escape(clip(answer.title, 300))}</strong></p>")
    if lines:
        body += lines
        parts.append("<p>" + "<br>".join(escape(line) for line in lines) + "</p>")
    if facts:
        body += [f"• {_fact(k, v, lang)}" for k, v in facts]
        items = "".join(
            f"<li><strong>{escape(k)}</strong>{' :' if lang == 'fr' else ':'} {escape(v)}</li>" for k, v in facts
        )
        parts.append(f"<ul>{items}</ul>")
    if choices:
        body += [f"{n}. {label}" for n, (label, _) in enumerate(choices, 1)] + [say("matrix_choose", lang)]
        parts.append("<ol>" + "".join(f"<li>{escape(label)}</li>" for label, _ in choices) + "</ol>")
        parts.append(f"<p><em>{escape(say('matrix_choose', lang))}</em></p>")
    if sources:
        word = say("sources_word", lang)
        body.append(f"{word} :" if lang == "fr" else f"{word}:")
        body += [f"→ {clip(s.get('title') or s['url'], 150)} — {s['url']}" for s in sources]
        links = " · ".join(_link(s["url"], clip(s.get("title", ""), 150)) for s in sources)
        parts.append(f"<p><strong>{escape(word)}</strong>{' :' if lang == 'fr' else ':'} {links}</p>")
    footer = [say("knowledge_date", lang, date=as_of)] if as_of else []
    if rest:
        footer.append(say("matrix_more", lang))
    if wants_feedback(answer) and not choices:
        footer.append(say("matrix_feedback", lang))
    if footer:
        body.append(" · ".join(footer))
        parts.append("<p><em>" + " · ".join(escape(f) for f in footer) + "</em></p>")
    return MatrixMessage(defuse("\n".join(body)), "".join(parts), lang, choices, tuple(rest))


def more_message(rest: tuple[str, ...], lang: str) -> MatrixMessage:
    """The next part of a long answer, and what is still left after it."""
    lines, left = _split(list(rest), LINES_SHOWN * 2, CHARS_SHOWN)
    body = list(lines)
    parts = ["<p>" + "<br>".join(escape(line) for line in lines) + "</p>"]
    if left:
        body.append(say("matrix_more", lang))
        parts.append(f"<p><em>{escape(say('matrix_more', lang))}</em></p>")
    return MatrixMessage(defuse("\n".join(body)), "".join(parts), lang, rest=tuple(left))


def text_message(text: str, lang: str = "fr") -> MatrixMessage:
    """A plain sentence or report (admin replies, welcome): escaped, line breaks kept."""
    text = clip(text, 30_000)
    return MatrixMessage(defuse(text), "<br>".join(escape(line) for line in text.splitlines()), lang)


def pick_choice(text: str, choices: tuple[tuple[str, str], ...]) -> str | None:
    """The query of the choice `text` names: its number ("2", "2.") or its words, else None."""
    words = fold(text)
    if re.fullmatch(r"\d{1,2}", words):
        number = int(words)
        return choices[number - 1][1] if 1 <= number <= len(choices) else None
    if len(words) < 3:
        return None
    exact = [query for label, query in choices if fold(label) == words]
    partial = [query for label, query in choices if words in fold(label)]
    return (exact or partial)[0] if len(exact) == 1 or (not exact and len(partial) == 1) else None


def wants_more(text: str) -> bool:
    return fold(text) in MORE_WORDS


def reaction_value(key: str) -> str | None:
    """'up' / 'down' for a 👍 / 👎 reaction (any skin tone, with or without the emoji selector)."""
    return THUMBS.get(_VARIANTS.sub("", key or "").strip())
