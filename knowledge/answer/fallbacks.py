"""When no record answers directly: a quoted passage, choices to ask back, help, "I don't know"."""

from __future__ import annotations

import re
from typing import Any

from rapidfuzz import fuzz, process

from ..examples import choose
from ..model import Answer
from ..phrases import choice_label, counts_text, say
from ..store import Reader, title_of
from ..text import clip, fold
from ..tuning import NAME_TYPO
from ..understand import Candidate, Question, coverage_of, understand
from ..vocabulary import MONTHS
from .common import PASSAGE_CHARS, _best_sentence, _intent, _result, _source, passage_lacks_fact


def _passage(q: Question, reader: Reader) -> Answer | None:
    words = q.content_words
    if not words:
        return None
    hits = reader.search_text(" ".join(words), limit=5, kinds=("passages",))
    years = set(re.findall(r"\b(?:19|20)\d\d\b", q.folded))
    months = {MONTHS[w] for w in q.folded.split() if w in MONTHS}
    best, best_score = None, 0.0
    for hit in hits:
        haystack = set(fold(f"{hit['title']} {hit['heading']} {hit['body']}").split())
        coverage = coverage_of(words, haystack)
        if q.proper and not all(
            w in haystack or process.extractOne(w, haystack, scorer=fuzz.ratio, score_cutoff=NAME_TYPO)
            for w in q.proper
        ):
            continue
        if years and not years <= set(re.findall(r"\b(?:19|20)\d\d\b", f"{hit['title']} {hit['body']}")):
            continue  # "le budget 2026": a passage about 2025 does not say it
        said = fold(f"{hit['title']} {hit['heading']} {hit['body']}").split()
        if months and not months & {MONTHS[w] for w in said if w in MONTHS}:
            continue  # "le copil de décembre": the minutes of June do not say it
        if passage_lacks_fact(q, hit):
            continue  # a figure or a count asked, or a numbered council: the passage must say it
        if coverage * len(words) >= 2 and coverage > best_score:
            best, best_score = hit, coverage
    if best is None or best_score < 0.5:
        return None
    lang = q.lang
    sentence = _best_sentence(best["body"], words)
    body = clip(best["body"], PASSAGE_CHARS)
    text = sentence if sentence in body else f"{sentence}\n\n{body}"
    intro = say("passage_intro", lang, title=best["title"]) + "\n"
    return Answer(
        intent="passage",
        lang=lang,
        title=best["heading"] or best["title"],
        text=intro + say("passage_quote", lang, text=text),
        details=intro + say("passage_quote", lang, text=best["body"]) if body != best["body"] else "",
        sources=[_source(best["title"], best["url"])],
        confidence=round(0.4 + 0.5 * best_score, 2),
        results=[{"kind": "passages", "id": best["id"], "title": best["title"], "url": best["url"]}],
    )


def _choice(q: Question, reader: Reader, c: Candidate) -> dict[str, str] | None:
    record = reader.record(c.kind, c.id)
    if record is None:
        return None
    intent = _intent(q, c.kind)
    return {"label": clip(_choice_label(reader, c.kind, record, q.lang), 75), "query": f"{intent} {c.kind}:{c.id} [{q.lang}]"}  # fmt: skip


def _choice_label(reader: Reader, kind: str, record: dict[str, Any], lang: str) -> str:
    """The kind and the record: "Objectif 2.1 — …", "Décision du 14e CNS — …" (with several roadmaps loaded,
    roadmaps.name_roadmaps adds the roadmap's name)."""
    council = ""
    if kind == "decisions" and record.get("council"):
        found = reader.record("councils", record["council"])
        # A council's shortest alias is its usual short name ("14e CNS"); its full name otherwise.
        names = [*(found.get("aliases") or []), title_of("councils", found)] if found else [record["council"]]
        council = min(names, key=len)
    return choice_label(kind, lang, id=record.get("id", ""), title=title_of(kind, record), council=council)


def _ask_back(q: Question, reader: Reader, candidates: list[Candidate]) -> Answer:
    choices = [ch for ch in (_choice(q, reader, c) for c in candidates[:5]) if ch]
    results = []
    for c in candidates[:5]:
        record = reader.record(c.kind, c.id)
        if record:
            results.append(_result(c.kind, record))
    intent = _intent(q, candidates[0].kind) if candidates else "unknown"
    return Answer(
        intent=intent,
        lang=q.lang,
        title="",
        text=say("ask_back", q.lang),
        choices=choices,
        confidence=round(candidates[0].score if candidates else 0.0, 2),
        results=results,
    )


def examples(reader: Reader, lang: str) -> list[str]:
    """The example questions this knowledge version answers directly (chosen once per version and thread)."""
    from .route import compose  # route imports this module: compose is looked up when examples are chosen

    key = f"examples:{lang}"
    if key not in reader.memo:
        reader.memo[key] = []  # while choosing, a candidate that falls back on examples finds none
        reader.memo[key] = choose(lambda text: compose(understand(text, reader), reader), lang)
    return reader.memo[key]


def _help(q: Question, reader: Reader) -> Answer:
    lang = q.lang
    shown = examples(reader, lang)
    text = say("help_text", lang, counts=counts_text(reader.counts, lang)) + "\n" + "\n".join(f"• {e}" for e in shown)
    return Answer(
        intent="help",
        lang=lang,
        title=say("help_title", lang),
        text=text,
        confidence=1.0,
        choices=[{"label": e, "query": e} for e in shown[:3]],
    )


def _unknown(q: Question, reader: Reader, candidates: list[Candidate], lead: str = "") -> Answer:
    lang = q.lang
    weak = [c for c in candidates if c.score >= 0.4][:3]
    choices = [ch for ch in (_choice(q, reader, c) for c in weak) if ch]
    if not choices:
        choices = [{"label": e, "query": e} for e in examples(reader, lang)[:3]]
    text = [lead] if lead else []
    text += [say("unknown", lang)] + ([say("unknown_suggest", lang)] if choices else [])
    return Answer(intent="unknown", lang=lang, title="", text="\n".join(text), choices=choices, confidence=0.0)
