"""Documents to passages: HTML reduced to the article's text, then split under the nearest heading."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

__all__ = ["Passage", "split_passages", "html_to_blocks"]

MAX_PASSAGE = 1200
# Elements whose content is never article text.
_SKIP = {
    "script",
    "style",
    "noscript",
    "nav",
    "header",
    "footer",
    "aside",
    "form",
    "iframe",
    "svg",
    "template",
}
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_BLOCKS = _HEADINGS | {"p", "li", "blockquote", "pre", "td", "th", "dd", "dt", "figcaption", "div", "section"}
# Class/id words of boxes that are not the article: ads, "read also", share bars, cookie banners.
_JUNK = re.compile(r"\b(ad|ads|advert\w*|pub\w*|promo\w*|related|read-?also|a-lire|lire-aussi|share|social|"
                   r"cookie\w*|newsletter|sidebar|breadcrumb\w*|menu|comments?)\b", re.I)  # fmt: skip
# Plain-text tails that start the page furniture after an article.
_TAIL = re.compile(r"^(a lire (également|aussi)|à lire (également|aussi)|lire aussi|read also|related articles?"
                   r"|avez-vous apprécié)", re.I)  # fmt: skip


@dataclass(frozen=True)
class Passage:
    heading: str
    text: str


class _Reducer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[str, str]] = []  # (kind: 'h' | 'p', text)
        self._skip_depth = 0
        self._stack: list[tuple[str, bool]] = []
        self._buf: list[str] = []
        self._heading = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"br", "img", "hr", "meta", "link", "input"}:
            return
        marks = " ".join(v or "" for k, v in attrs if k in ("class", "id", "role"))
        skip = tag in _SKIP or bool(_JUNK.search(marks)) or "navigation" in marks
        self._stack.append((tag, skip))
        if skip:
            self._skip_depth += 1
        if tag in _BLOCKS:
            self._flush()
            self._heading = tag in _HEADINGS

    def handle_endtag(self, tag: str) -> None:
        if not any(t == tag for t, _ in self._stack):
            return
        while self._stack:
            open_tag, skip = self._stack.pop()
            if skip:
                self._skip_depth -= 1
            if open_tag == tag:
                break
        if tag in _BLOCKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self._buf.append(data)

    def _flush(self) -> None:
        text = " ".join("".join(self._buf).split())
        self._buf = []
        if text:
            self.blocks.append(("h" if self._heading else "p", text))
        self._heading = False

    def close(self) -> None:
        super().close()
        self._flush()


def html_to_blocks(html: str) -> list[tuple[str, str]]:
    """(kind, text) blocks of the page's main text; kind is 'h' for headings, 'p' otherwise."""
    body = re.search(r"<(article|main)\b.*?</\1>", html, re.S | re.I)
    parser = _Reducer()
    parser.feed(body.group(0) if body else html)
    parser.close()
    return parser.blocks


def _text_blocks(text: str, markdown: bool) -> list[tuple[str, str]]:
    blocks: list[tuple[str, str]] = []
    for chunk in re.split(r"\n\s*\n|\n(?=#)", text):
        chunk = chunk.strip()
        if not chunk:
            continue
        if markdown and chunk.startswith("#"):
            blocks.append(("h", chunk.lstrip("#").strip()))
            continue
        for line in chunk.splitlines() if not markdown else [chunk]:
            line = " ".join(line.split())
            if not line:
                continue
            # In plain text a short line without final punctuation reads as a heading.
            is_heading = not markdown and len(line) < 90 and not line.endswith((".", ":", ";", "!", "?", "…"))
            blocks.append(("h" if is_heading else "p", line))
    return blocks


def split_passages(content: str, fmt: str, title: str = "") -> list[Passage]:
    """Cut a document into passages of at most MAX_PASSAGE characters, each under its nearest heading."""
    blocks = html_to_blocks(content) if fmt == "html" else _text_blocks(content, fmt == "markdown")
    passages: list[Passage] = []
    heading = title
    for kind, text in blocks:
        if _TAIL.match(text):
            break
        if kind == "h":
            heading = text
            continue
        while text:
            cut = text if len(text) <= MAX_PASSAGE else _cut(text)
            passages.append(Passage(heading, cut))
            text = text[len(cut) :].strip()
    return passages


def _cut(text: str) -> str:
    """The longest prefix under MAX_PASSAGE that ends a sentence (or a word)."""
    window = text[:MAX_PASSAGE]
    end = max(window.rfind(". "), window.rfind("? "), window.rfind("! "))
    if end > MAX_PASSAGE // 2:
        return window[: end + 1]
    space = window.rfind(" ")
    return window[:space] if space > 0 else window
