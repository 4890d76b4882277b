"""Councils and their decisions: by number or date, about a topic, since a date."""

from __future__ import annotations

from typing import Any

from .. import roadmaps
from ..model import Answer
from ..phrases import date_words, say, shown_status
from ..store import Reader, title_of
from ..text import clip, fold
from ..tuning import ANSWER_AT
from ..understand import Candidate, Question, coverage_of
from .common import (
    _FRAME_WORDS,
    _NUMBER_WORD,
    MAX_LIST,
    _asked_fact,
    _covers,
    _dedupe,
    _disputed,
    _fact_first,
    _lacks_asked_fact,
    _result,
    _says_fact,
    _sources,
)
from .fallbacks import _passage, _unknown
from .records import _about_candidate, _about_record

# Words about councils and deciding, not about what was decided.
_COUNCIL_TALK = frozenset(
    "comite comites pilotage copil conseil conseils council committee steering regional regionale national "
    "nationale decide decision decisions decided decider pris prises prise taken made ete dernier derniere "
    "latest last agenda ordre jour programme".split()
)


def _council(q: Question, reader: Reader, council: dict[str, Any] | None = None) -> Answer:
    """A council by number or date; asked for "the latest", the newest one known, said to be only that."""
    latest = council is None and not q.council
    answer = _council_answer(q, reader, council)
    if latest and answer.results and answer.results[0]["kind"] == "councils":
        newest = reader.record("councils", answer.results[0]["id"])
        name = title_of("councils", newest) if newest else answer.results[0]["id"]
        known = reader.latest_date or reader.built_at[:10]
        note = say("council_latest_known", q.lang, council=name, date=date_words(known, q.lang))
        answer.text = "\n".join([note, answer.text]).strip()
    return answer


def _council_answer(q: Question, reader: Reader, council: dict[str, Any] | None) -> Answer:
    lang = q.lang
    # The numbered, latest or dated council of the roadmap asked about ("dernier copil": a copil).
    council = council or roadmaps.council_asked(q, reader)
    if council is None:
        return _unknown(q, reader, [], lead=say("council_missing", lang, number=q.council) if q.council else "")
    if _asked_fact(q) and "decisions" not in q.cues:  # "où s'est tenu le copil de février": its place
        if _lacks_asked_fact(q, council):
            return _passage(q, reader) or _unknown(q, reader, [])
        passage = _passage(q, reader)  # the passage that says it, in its own words, else the record's field
        if passage and _says_fact(q, council, passage.text):
            return passage
        return _fact_first(q, council, _about_record(q, reader, "councils", council, "about"))
    if "decisions" not in q.cues:
        named = set(fold(title_of("councils", council)).split()) | set(
            fold(" ".join(council.get("aliases") or [])).split()
        )
        words = [w for w in q.content_words if not w[0].isdigit() and w not in named and w not in _COUNCIL_TALK]
        if words:
            passage = _passage(q, reader)
            if passage and passage.confidence >= 0.6:
                return passage
        if "list" not in q.cues:
            return _about_record(q, reader, "councils", council, "about")
    decisions = reader.council_decisions(council["id"], MAX_LIST)
    name = title_of("councils", council)
    council_words = set(fold(f"{name} {' '.join(council.get('aliases') or [])}").split())
    # "du GH3R" says whose council; "de l'URPS", when the URPS carries some of its decisions, what about.
    org = roadmaps.org_words(reader, roadmaps.family(council))
    carried = {w for d in decisions for w in fold(" ".join(d.get("owners") or [])).split()}
    if topic := _decision_topic(q, council_words | (org - carried)):
        # "qu'a décidé le copil de juin sur les sauvegardes": the decision about that, not the whole council.
        about = _on_topic(decisions, topic)
        if not about:
            passage = _passage(q, reader)
            if passage and passage.confidence >= 0.6:
                return passage
            return _unknown(q, reader, [], lead=say("decisions_none_topic", lang, topic=" ".join(topic)))
        if len(about) == 1:
            answer = _about_record(q, reader, "decisions", about[0], "decisions")
            answer.confidence = 0.9
            return answer
        decisions = about + [d for d in decisions if d not in about]
    heading = say("decisions_of", lang, council=name + (f" ({council['date']})" if council.get("date") else ""))
    if not decisions:
        answer = _about_record(q, reader, "councils", council, "decisions")
        answer.text = "\n".join([say("decisions_none_council", lang, council=name), answer.text]).strip()
        return answer
    lines = [_decision_line(d, lang) for d in decisions]
    text_lines = lines[:]
    _disputed(text_lines, council, lang)
    sources = _sources("councils", council) + [s for d in decisions for s in _sources("decisions", d)]
    fields = {k: str(council[k]) for k in ("date", "place", "participants") if council.get(k)}
    return Answer(
        intent="decisions",
        lang=lang,
        title=heading,
        text="\n".join(text_lines),
        fields=fields,
        sources=_dedupe(sources)[:6],
        confidence=1.0,
        results=[_result("councils", council)] + [_result("decisions", d) for d in decisions],
    )


def _decisions_since(q: Question, reader: Reader) -> Answer:
    """Decisions dated on or after the question's date, in the roadmaps asked about, newest first."""
    lang = q.lang
    clause, params = roadmaps.scope_clause(q, reader)
    since = q.since or ""
    rows = reader.decisions_since(since, MAX_LIST, clause, tuple(params))
    heading = say("decisions_since", lang, date=date_words(since, lang))
    if not rows:
        return _unknown(q, reader, [], lead=say("list_empty", lang, what=heading))
    lines = []
    for d in rows:
        council = reader.record("councils", d["council"]) if d.get("council") else None
        where = f" ({title_of('councils', council)})" if council else f" ({d['date']})"
        lines.append(_decision_line(d, lang) + where)
    return Answer(
        intent="decisions",
        lang=lang,
        title=heading,
        text="\n".join(lines),
        sources=_dedupe([s for d in rows for s in _sources("decisions", d)])[:6],
        confidence=0.9,
        results=[_result("decisions", d) for d in rows],
    )


def _decision_topic(q: Question, council_words: set[str]) -> list[str]:
    """What a decisions question is about: its content words less the council's name, kind, status, month
    and council words, and numbers ("qu'a décidé le copil de juin sur les sauvegardes" -> sauvegardes)."""
    skip = council_words | _FRAME_WORDS | _COUNCIL_TALK
    return [w for w in q.content_words if not _NUMBER_WORD.match(w) and w not in skip]


def _on_topic(decisions: list[dict[str, Any]], topic: list[str]) -> list[dict[str, Any]]:
    """The decisions holding the topic's words (nearly all of them), best covered first."""
    scored = []
    for d in decisions:
        words = set(fold(" ".join(str(d.get(k) or "") for k in ("title", "summary", "aliases"))).split())
        words |= set(fold(" ".join(d.get("owners") or [])).split())  # "les décisions de l'URPS": it carries them
        if (cover := coverage_of(topic, words)) >= 0.75:
            scored.append((cover, d))
    return [d for _, d in sorted(scored, key=lambda pair: -pair[0])]


def _decision_line(d: dict[str, Any], lang: str = "fr") -> str:
    amount = f" — {d['amount']}" if d.get("amount") else ""
    status = f" — {shown_status(d, lang, decision=True)}" if d.get("status") else ""
    return f"• {d['title']}{status}{amount}"


def _decisions_on(q: Question, reader: Reader, candidates: list[Candidate]) -> Answer:
    lang = q.lang
    topic = clip(" ".join(q.content_words) or q.text, 80)
    direct = [c for c in candidates if c.kind == "decisions" and c.score >= ANSWER_AT]
    if len(direct) == 1:
        return _about_candidate(q, reader, direct[0])
    named = [c for c in candidates if c.score >= ANSWER_AT and c.kind in ("programmes", "actors", "objectives")]
    wanted = _decision_topic(q, set())
    if wanted:  # a record named in passing ("les hôpitaux") is not the topic when it leaves words of it out
        named = [c for c in named if _covers(reader, c, [wanted])]
    decisions: dict[str, dict[str, Any]] = {}
    for c in named[:2]:
        for d in reader.decisions_about(c.id):
            decisions[d["id"]] = d
    if topic and wanted:
        for hit in reader.search_text(topic, limit=10, kinds=("decisions",)):
            words = set(fold(hit["title"] + " " + hit["body"]).split())
            # Most of the topic, and every word of it when it is one or two words ("la 5G dans les hôpitaux"
            # is not any decision about hospitals).
            if coverage_of(wanted, words) >= (0.75 if len(wanted) <= 2 else 0.5):
                record = reader.record("decisions", hit["id"])
                if record:
                    decisions.setdefault(record["id"], record)
    if not decisions:
        text = say("decisions_none_topic", lang, topic=topic)
        return _unknown(q, reader, candidates, lead=text)
    rows = sorted(decisions.values(), key=lambda d: d.get("date") or "", reverse=True)[:MAX_LIST]
    if len(rows) == 1:
        answer = _about_record(q, reader, "decisions", rows[0], "decisions")
        answer.confidence = 0.85
        return answer
    lines = []
    for d in rows:
        council = reader.record("councils", d["council"]) if d.get("council") else None
        where = f" ({title_of('councils', council)})" if council else (f" ({d['date']})" if d.get("date") else "")
        lines.append(_decision_line(d, lang) + where)
    sources = _dedupe([s for d in rows for s in _sources("decisions", d)])[:6]
    return Answer(
        intent="decisions",
        lang=lang,
        title=say("decisions_on", lang, topic=topic),
        text="\n".join(lines),
        sources=sources,
        confidence=0.8,
        results=[_result("decisions", d) for d in rows],
    )
