"""Lists: objectives by status, axis, owner and roadmap; every record of a kind."""

from __future__ import annotations

import re

from .. import roadmaps
from ..model import Answer
from ..phrases import label, say, status_word
from ..store import Reader, title_of
from ..understand import Question
from ..vocabulary import LATE_BUCKETS
from .common import MAX_LIST, _dedupe, _result, _sources, _status_suffix

_PLURAL_OBJECTIVES = re.compile(r"\b(objectifs|objectives|engagements|commitments)\b")


_PLURALS = {
    "objectives": _PLURAL_OBJECTIVES,
    "programmes": re.compile(r"\b(programmes|programs|dispositifs|projets|projects)\b"),
    "councils": re.compile(r"\b(conseils|councils|editions|comites|committees)\b"),
    "actors": re.compile(r"\b(acteurs|actors|agences|agencies|organismes|institutions)\b"),
    "decisions": re.compile(r"\b(decisions)\b"),
    "axes": re.compile(r"\b(axes)\b"),
}


_LIST_WORDS = re.compile(r"^(liste?s?|quel(le)?s|which|all|tous|toutes|show|montre|donne|give|les|the)$")


# How each list is ordered: newest first where records are dated.
_LIST_ORDER = {
    "councils": "date DESC",
    "decisions": "date DESC, id",
    "programmes": "name",
    "actors": "id",
    "axes": "id",
}


_KIND_WORDS = {
    "objectives": re.compile(r"\b(objectifs?|objectives?|engagements?)\b"),
    "programmes": re.compile(r"\b(programmes?|programs?|dispositifs?)\b"),
    "councils": re.compile(r"\b(conseils?|councils?|comites?|committees?)\b"),
    "decisions": re.compile(r"\b(decisions?)\b"),
    "axes": re.compile(r"\b(axes?|axis)\b"),
}


def _named_kind(folded: str) -> str | None:
    """The kind of record the question names first ("l'objectif CaRE de l'axe 4" -> objectives)."""
    found = [(m.start(), kind) for kind, pattern in _KIND_WORDS.items() if (m := pattern.search(folded))]
    return min(found)[1] if found else None


def _plural_kind(folded: str) -> str | None:
    return next((kind for kind, pattern in _PLURALS.items() if pattern.search(folded)), None)


def _objective_list(q: Question, reader: Reader, owner: str | None = None, axis: str | None = None) -> Answer:
    """Objectives filtered by status, axis (its number in the question, or `axis`, a stored key), roadmap and
    owner."""
    lang = q.lang
    where, params, what = ["1"], [], []
    if q.status:
        # "En retard" also finds the postponed (their first date was missed); see docs/sources.md.
        buckets = LATE_BUCKETS.get(q.status, (q.status,))
        where.append(f"status IN ({','.join('?' * len(buckets))})")
        params += buckets
        what.append(say("objectives_status", lang, status=status_word(q.status, lang)))
    if q.axis:
        axes = roadmaps.axis_keys(q, reader, q.axis)
        where.append(f"axis IN ({','.join('?' * len(axes))})")
        params += axes
        what.append(say("objectives_axis", lang, axis=q.axis))
    elif axis:
        where.append("axis = ?")
        params.append(axis)
        record = reader.record("axes", axis)
        what.append(say("objectives_axis", lang, axis=title_of("axes", record) if record else axis))
    scoped, asked = roadmaps.scope_clause(q, reader)
    where.append(scoped)
    params += asked
    if owner:
        where.append("id IN (SELECT id FROM owners WHERE kind = 'objectives' AND actor = ?)")
        params.append(owner)
        what.append(say("objectives_owner", lang, owner=owner))
    if not what:
        what.append(say("objectives_word", lang))
    clause = " AND ".join(where)
    total = reader.count("objectives", clause, tuple(params))
    rows = reader.records("objectives", clause + " ORDER BY id", tuple(params), limit=MAX_LIST)
    heading = " · ".join(what)
    lines = [f"• {r['id']} — {r['title']}" + _status_suffix(r, lang) for r in rows]
    if total > len(rows):
        lines.append(say("list_more", lang, more=total - len(rows)))
    if not rows:
        lines.append(say("list_empty", lang, what=heading))
        if q.status:
            missing = reader.count("objectives", "status IS NULL")
            if missing:
                lines.append(say("no_status_count", lang, count=missing))
    sources = _dedupe([s for r in rows for s in _sources("objectives", r)])[:5]
    return Answer(
        intent="list",
        lang=lang,
        title=say("list_title", lang, what=heading, count=total),
        text="\n".join(lines),
        sources=sources,
        confidence=0.95 if rows else 0.8,
        results=[_result("objectives", r) for r in rows],
    )


def _kind_list(q: Question, reader: Reader, kind: str, owner: str | None = None) -> Answer:
    """Every record of a kind (councils, programmes...), or those an actor owns."""
    lang = q.lang
    scoped, asked = roadmaps.scope_clause(q, reader)
    where, params = scoped, tuple(asked)
    heading = label(kind, lang).capitalize()
    if owner:
        where, params = f"id IN (SELECT id FROM owners WHERE kind = '{kind}' AND actor = ?)", (owner,)
        heading = say("owned_by", lang, what=heading, owner=owner)
    total = reader.count(kind, where, params)
    rows = reader.records(kind, f"{where} ORDER BY {_LIST_ORDER[kind]}", params, limit=MAX_LIST)
    lines = [f"• {title_of(kind, r)}" + (f" ({r['date']})" if r.get("date") else "") for r in rows]
    if total > len(rows):
        lines.append(say("list_more", lang, more=total - len(rows)))
    if not rows:
        lines.append(say("list_empty", lang, what=heading))
    return Answer(
        intent="list",
        lang=lang,
        title=say("list_title", lang, what=heading, count=total),
        text="\n".join(lines),
        sources=_dedupe([s for r in rows for s in _sources(kind, r)])[:5],
        confidence=0.9 if rows else 0.7,
        results=[_result(kind, r) for r in rows],
    )
