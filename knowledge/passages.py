"""Documents to passages: HTML reduced to the article's text, then split under the nearest heading."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lxml import etree

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


# A class/id/role list longer than this is not a layout hint (and is not worth scanning).
_MAX_MARKS = 1000
# Elements read from one page: a long article has a few thousand; walking them costs ~7 µs each in Python.
MAX_ELEMENTS = 200_000
# Tags ('<') a page may hold before it is parsed at all: libxml2 frees a tree while holding the GIL (0.3 s
# for the 6 million elements 20 MB can open), which would stall the event loop; counting '<' takes ~10 ms.
MAX_TAGS = 2 * MAX_ELEMENTS
# libxml2 compares each attribute with every earlier one of its tag (quadratic): a tag longer than this
# loses its attributes before parsing (none of them is article text; a long `src` or `style` loses nothing).
MAX_TAG = 1024
_TAG_START = re.compile(r"<[a-zA-Z][^\s/<>\"'=]*")
_TAG_DELIMITERS = re.compile(r"[<>\"']")


def _parse_html(html: str) -> Any:
    """The page's tree, from libxml2's HTML parser: C, linear, tolerant of broken markup, and it releases
    the GIL while parsing, so a refresh in a worker thread never stalls the event loop. libxml2 stops
    descending at 256 levels, which bounds the tree a hostile page of nested tags can build."""
    parser = etree.HTMLParser(
        encoding="utf-8", recover=True, no_network=True, remove_comments=True, remove_pis=True, collect_ids=False
    )
    try:
        return etree.fromstring(_strip_long_tags(html).encode("utf-8", "replace"), parser)
    except etree.XMLSyntaxError:  # nothing but whitespace
        return None


def _strip_long_tags(html: str) -> str:
    """The page with the attributes of its very long tags removed.

    Tags are found one after the other, as a tokenizer would (quoted values skipped with str.find), so each
    character is looked at once; no single call scans the whole page holding the GIL (and the event loop).
    """
    pieces: list[str] = []
    done = position = 0
    while start := _TAG_START.search(html, position):
        end = _tag_end(html, start.end())
        if end - start.start() > MAX_TAG:
            pieces += (html[done : start.start()], start.group())
            done = end
        position = end
    pieces.append(html[done:])
    return "".join(pieces)


def _tag_end(html: str, position: int) -> int:
    """Where a tag whose name ends at `position` ends: its '>' (or a '<') outside quotes, or the page's end."""
    while delimiter := _TAG_DELIMITERS.search(html, position):
        if delimiter.group() in "<>":
            return delimiter.start()
        closing = html.find(delimiter.group(), delimiter.end())
        if closing < 0:
            return len(html)
        position = closing + 1
    return len(html)


def _skipped(element: Any) -> bool:
    marks = " ".join(element.get(k) or "" for k in ("class", "id", "role"))[:_MAX_MARKS]
    return element.tag in _SKIP or bool(_JUNK.search(marks)) or "navigation" in marks


def html_to_blocks(html: str) -> list[tuple[str, str]]:
    """(kind, text) blocks of the page's main text; kind is 'h' for headings, 'p' otherwise.

    ValueError for a page of more than MAX_TAGS tags or MAX_ELEMENTS elements (generated or hostile, not an
    article).
    """
    if html.count("<") > MAX_TAGS:
        raise ValueError(f"a page of more than {MAX_TAGS} tags (not an article)")
    root = _parse_html(html)
    if root is None:
        return []
    body = next(root.iter("article", "main"), root)
    blocks: list[tuple[str, str]] = []
    buf: list[str] = []
    heading = False
    skips: list[bool] = []  # for each open element: is its content left out?
    skipping = 0  # how many open elements leave their content out
    seen = 0

    def flush() -> None:
        nonlocal heading
        text = " ".join("".join(buf).split())
        buf.clear()
        if text:
            blocks.append(("h" if heading else "p", text))
        heading = False

    for event, element in etree.iterwalk(body, events=("start", "end")):
        tag = element.tag if isinstance(element.tag, str) else ""
        if event == "start":
            seen += 1
            if seen > MAX_ELEMENTS:
                raise ValueError(f"a page of more than {MAX_ELEMENTS} HTML elements (not an article)")
            skips.append(_skipped(element))
            skipping += skips[-1]
            if tag in _BLOCKS:
                flush()
                heading = tag in _HEADINGS
            if not skipping:
                buf.append(" " if tag == "br" else element.text or "")
            continue
        skipping -= skips.pop()
        if tag in _BLOCKS:
            flush()
        if not skipping and element is not body and element.tail:
            buf.append(element.tail)
    flush()
    return blocks


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
