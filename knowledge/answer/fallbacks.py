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
from ..tuning import NAME_TYPO, PASSAGE_AT, TOPIC_COVERED, TOPIC_FROM, TOPIC_SPARE_FROM
from ..understand import Candidate, Question, coverage_of, understand
from ..vocabulary import MONTHS
from ..word_tables import abbreviations
from .common import (
    _DURATION,
    PASSAGE_CHARS,
    QUESTION_WORDS,
    _best_sentence,
    _intent,
    _result,
    _source,
    passage_lacks_fact,
)

# Words that say what is asked of a passage, not what it is about: the question words ("combien", "how long",
# "quand"), the bound asked ("combien de caractères minimum": the text says "au moins"), the kind of answer
# ("what kind of approach") and the things counted ("which three things"); the words naming the document itself
# ("the DSIH article"; "la charte" is its title); and who asks and whose word it is ("chez nous", "selon la
# charte", "according to"). Amounts, budgets and dates stay: a passage about the budget holds that word, and one
# that gives no date is no answer to "la date de publication".
_PASSAGE_ASKING = QUESTION_WORDS | frozenset(
    "minimum minimal minimale maximum maximal maximale min max kind kinds sort sorts type types genre "
    "thing things chose choses truc trucs stuff article articles document documents texte "
    "piece pieces papier chez nous vous selon apres according".split()
    # People counted ("combien de personnes au copil"): a text counts them as participants, members, agents.
    + "personnes gens people persons".split()
)
_ASKED_COUNT = re.compile(r"\b(\w+) (things|choses|trucs)\b")  # "which three things": the count asked with them
_HOW_LONG = re.compile(r"\b(combien de temps|how long|duree|duration)\b")
_WHEN = re.compile(r"\b(quand|when|quel jour|what day|which day)\b")
# How a text gives a date ("le 14 avril", "1er mars 2025", "en 2024"); a duration: common._DURATION.
_DATE = re.compile(rf"\b({'|'.join(sorted(MONTHS, key=len, reverse=True))}|(19|20)\d\d)\b")
# Periods of a year, as a question asks them and a text says them: figures of the first half do not answer
# for the second half, nor for the whole year.
_PERIODS = {
    "s1": re.compile(r"\b(s1|h1|(premier|1er) semestre|first (half|semester))\b"),
    "s2": re.compile(r"\b(s2|h2|(second|deuxieme|2e|2nd) semestre|second (half|semester))\b"),
    "year": re.compile(
        r"\b((toute|sur) l annee|annee entiere|(whole|full|entire) year|annuel\w*|annual\w*|par an|per year)\b"
    ),
}


def _passage_words(q: Question, typed: bool = False) -> list[str]:
    """The question's topic words a passage must hold: its content words less those that ask for the fact,
    which only the passage's sentence answers; with `typed`, its short forms as typed instead of their
    expansions (a document writes "les DSI" as the asker does)."""
    asking = set(_PASSAGE_ASKING)
    for text in (q.folded, " ".join(q.translated)):
        asking.update(m[1] for m in _ASKED_COUNT.finditer(text))
        asking.update(w for pattern in (_HOW_LONG, _WHEN) for m in pattern.finditer(text) for w in m[0].split())
    words = [w for w in q.content_words if w not in asking]
    if not typed:
        return words
    table = abbreviations()
    shorts = [w for w in q.plain.split() if w in table and w not in asking]
    expanded = {w for short in shorts for w in table[short].expansion.split()}
    return [w for w in words if w not in expanded] + [w for w in shorts if w not in words] if expanded else []


def _passage_topic(q: Question, reader: Reader, words: list[str]) -> list[str]:
    """The words a passage must hold, not just share: those that name something in the knowledge (a word of a
    record's name: "nurses can telework…" is not answered by the IT teams' rule), less the words a short form
    was expanded into (the text may spell it short) and whole names of organisations ("GH3R" says whose
    document, which the title may not repeat)."""
    named = reader.name_words()
    plain = q.plain.split()
    expanded = {w for short, entry in abbreviations().items() if short in plain for w in entry.expansion.split()}
    topic = [w for w in words if len(w) >= TOPIC_FROM and w in named and not w.isdigit() and w not in expanded]
    actors = {r["name"] for r in reader.names(topic) if r["kind"] == "actors"}
    return [w for w in topic if w not in actors]


def _holds_topic(topic: list[str], haystack: set[str]) -> bool:
    """The passage holds every topic word (give or take a typo), or all but one of a long topic."""
    missing = sum(w not in haystack and coverage_of([w], haystack) < TOPIC_COVERED for w in topic)
    return missing <= (1 if len(topic) >= TOPIC_SPARE_FROM else 0)


def _lacks_shape(q: Question, said: str) -> bool:
    """A duration asked ("combien de temps", "how long") that the passage gives in no unit of time, or a date
    asked ("quand", "quel jour") that it gives in no month or year: the passage speaks of the topic without
    saying what is asked."""
    if _HOW_LONG.search(q.folded):
        return not _DURATION.search(said)
    if _WHEN.search(q.folded):
        return not _DATE.search(said)
    return False


def _periods(text: str) -> set[str]:
    return {name for name, pattern in _PERIODS.items() if pattern.search(text)}


def _address_words(hit: dict[str, Any]) -> set[str]:
    """The words of a passage's document address past the host: it often names the publisher ("…/trois-rivieres/
    charte-numerique" for a charter whose title leaves the group out)."""
    return set(fold(re.sub(r"^\w+://[^/]*", "", hit["url"] or "")).split())


def _passage(q: Question, reader: Reader) -> Answer | None:
    """The passage that best says what is asked; when none does, the short forms as typed are tried in place of
    their expansions ("que doivent faire les DSI": the article says "les DSI")."""
    return _passage_of(q, reader, _passage_words(q)) or _passage_of(q, reader, _passage_words(q, typed=True))


def _passage_of(q: Question, reader: Reader, words: list[str]) -> Answer | None:
    if not words:
        return None
    hits = reader.search_text(" ".join(words), limit=5, kinds=("passages",))
    years = set(re.findall(r"\b(?:19|20)\d\d\b", q.folded))
    months = {MONTHS[w] for w in q.folded.split() if w in MONTHS}
    topic: list[str] | None = None
    best, best_score = None, 0.0
    for hit in hits:
        said = fold(f"{hit['title']} {hit['heading']} {hit['body']}").split()
        haystack = set(said)
        coverage = coverage_of(words, haystack)
        if coverage < 0.5 or coverage * len(words) < 2 or coverage <= best_score:
            continue  # too little of the question, or no better than a passage already kept: no check needed
        named = haystack | _address_words(hit)
        if q.proper and not all(
            w in named or process.extractOne(w, named, scorer=fuzz.ratio, score_cutoff=NAME_TYPO) for w in q.proper
        ):
            continue  # "l'ARS Bretagne": a document that does not name Bretagne (nor come from it) does not say it
        if years and not years <= set(re.findall(r"\b(?:19|20)\d\d\b", f"{hit['title']} {hit['body']}")):
            continue  # "le budget 2026": a passage about 2025 does not say it
        if months and not months & {MONTHS[w] for w in said if w in MONTHS}:
            continue  # "le copil de décembre": the minutes of June do not say it
        body = fold(hit["body"])
        if not _periods(q.folded) <= _periods(body):
            continue  # "au S2 2025": the figures of the first half do not say it
        if not coverage_of(words, set(fold(hit["heading"]).split()) | set(body.split())):
            continue  # only the document's title matches: every passage of it would, none says more
        topic = _passage_topic(q, reader, words) if topic is None else topic
        if not _holds_topic(topic, named):
            continue
        if passage_lacks_fact(q, hit) or _lacks_shape(q, body):
            continue  # a figure, a count, a duration or a date asked, or a numbered council: the passage must say it
        best, best_score = hit, coverage
    if best is None:
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
        confidence=min(PASSAGE_AT, round(0.4 + 0.5 * best_score, 2)),
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
