"""One record's answer, by kind: objectives (status, owners, missing numbers), people and any record."""

from __future__ import annotations

import re
from typing import Any

from .. import roadmaps
from ..model import Answer
from ..phrases import date_words, label, say, shown_status
from ..store import Reader, title_of
from ..text import fold
from ..understand import Candidate, Question, resolve
from .common import (
    MAX_LIST,
    _actor_names,
    _best_sentence,
    _dedupe,
    _disputed,
    _extra_fields,
    _fact_first,
    _intent,
    _lacks_asked_fact,
    _Lines,
    _result,
    _source,
    _sources,
    lacks_asked_role,
    lacks_current_post,
    lacks_members,
    lacks_part,
    lacks_people,
    lacks_post,
    lacks_predecessor,
    lacks_tenure,
    named_plan,
)
from .fallbacks import _ask_back, _passage, _unknown


def _about_candidate(q: Question, reader: Reader, c: Candidate) -> Answer:
    record = reader.record(c.kind, c.id)
    if record is None:
        return _unknown(q, reader, [])
    if _lacks_asked_fact(q, record):
        return _passage(q, reader) or _unknown(q, reader, [])
    if lacks_part(q, record) or lacks_members(q, record):  # "action 31 de Ma santé 2022", "liste des …"
        return _unknown(q, reader, [])
    if c.kind != "actors" and lacks_post(q, record):  # "le chef de projet de X": a post X's record never names
        return _unknown(q, reader, [])
    if c.kind == "actors" and (
        lacks_asked_role(q, record, reader.units_of(c.id))
        or lacks_predecessor(q, record)
        or lacks_tenure(q, record, c.matched)
        or lacks_current_post(q, record, c.matched)
        or lacks_people(q, record, reader.units_of(c.id))
    ):  # "le DRH du groupe", "son prédécesseur": a post or a person this organisation's record does not name
        return _unknown(q, reader, [])
    answer = _fact_first(q, record, _about_record(q, reader, c.kind, record, _intent(q, c.kind), matched=c.matched))
    answer.confidence = round(min(1.0, c.score), 2)
    return answer


# How long a person has held a post: asked by these words, answered by the tenure the record gives.
_SINCE_WHEN = re.compile(r"\b(depuis quand|depuis combien de temps|since when|how long ha(s|ve))\b")
# A date asked of a person ("partie quand", "nommée à quelle date"): the dates of the post the record gives.
_DATE_ASKED = re.compile(r"\b(quand|when|quelle date|what date|which date|en quelle annee|what year|which year)\b")


def _about_record(
    q: Question, reader: Reader, kind: str, record: dict[str, Any], intent: str, matched: str = ""
) -> Answer:
    lang = q.lang
    if kind == "objectives":
        return _objective_answer(q, reader, record, intent)
    title = title_of(kind, record)
    text = _Lines()
    fields: dict[str, str] = {}
    sources = _sources(kind, record)
    if kind == "actors":
        if record["name"] != record["id"]:
            title = f"{record['id']} — {record['name']}"
        person = next(
            (p for p in record.get("people") or [] if matched in (fold(p["name"]), fold(p["name"]).split()[-1])), None
        )
        people = record.get("people") or []
        if person:
            tenure = _tenure(person, lang)
            text.append(say("person_is", lang, person=person["name"], title=person["title"], actor=title, since=tenure))
            # "Depuis quand X dirige le groupe ?" asks the start date the record gives, not who leads it.
            intent = "about" if tenure and (_SINCE_WHEN.search(q.folded) or _DATE_ASKED.search(q.folded)) else "owner"
        elif intent == "owner":
            if people:
                text += _led_by(record["name"], people, lang)
            else:
                text.append(say("led_by_none", lang, name=record["name"]))
            if record.get("role"):
                text.brief(record["role"])
        else:
            text.brief(record.get("role") or "")
        if people:
            fields["people"] = _people(people, lang)
        if record.get("parent"):
            fields["parent"] = _actor_names(reader, [record["parent"]])
        if record.get("kind"):
            fields["kind"] = record["kind"]
    elif kind in ("programmes", "decisions"):
        owners = record.get("owners") or []
        if intent == "owner":
            name = title.split(" — ")[0]  # the title line already spells it out: "CaRE — Cybersécurité…"
            if owners:
                text.append(say("owners_are", lang, name=name, owners=_actor_names(reader, owners)))
            else:
                text.append(say("owners_none", lang, name=name))
        text.brief(record.get("summary") or "")
        if owners:
            fields["owners"] = _actor_names(reader, owners)
        for key in ("budget", "start", "end", "date", "amount"):
            if record.get(key):
                fields[key] = str(record[key])
        if kind == "decisions" and record.get("status"):
            fields["status"] = shown_status(record, lang, decision=True)
        if kind == "decisions" and record.get("council"):
            council = reader.record("councils", record["council"])
            fields["council"] = title_of("councils", council) if council else record["council"]
            if council:
                sources += _sources("councils", council)
    elif kind == "councils":
        text.brief(record.get("summary") or "")
        for key in ("date", "place", "participants"):
            if record.get(key):
                fields[key] = str(record[key])
        decisions = reader.council_decisions(record["id"], MAX_LIST)
        if decisions:
            fields["decisions"] = "; ".join(title_of("decisions", d) for d in decisions)
    elif kind == "axes":
        title = f"{label('axis', lang)} {record['id']} — {record['title']}"
        text.brief(record.get("summary") or "")
        count = reader.axis_objective_count(record["id"])
        if count:
            fields["objectives"] = str(count)
    elif kind == "reports":
        fields["published"] = record.get("published") or ""
    _extra_fields(fields, record, lang)
    _disputed(text, record, lang)
    return Answer(
        intent=intent if intent in ("owner", "decisions", "status") else "about",
        lang=lang,
        title=title,
        text="\n".join(t for t in text if t),
        fields=fields,
        sources=_dedupe(sources),
        confidence=1.0,
        results=[_result(kind, record)],
        details=text.details(),
    )


def _tenure(person: dict[str, str], lang: str) -> str:
    """' (depuis le 7 juin 2023)' only for someone in post; a former holder gets ' (2019 – mai 2023)'."""
    since, until = person.get("since") or "", person.get("until") or ""
    if until == "unknown" and not since:
        return say("tenure_ended", lang)
    if until:
        start = date_words(since, lang) if since else say("tenure_open", lang)
        end = say("tenure_end_unknown", lang) if until == "unknown" else date_words(until, lang)
        return say("tenure", lang, since=start, until=end)
    if since:
        return say("since_day" if since.count("-") == 2 else "since", lang, date=date_words(since, lang))
    return say("tenure_undated", lang) if person.get("dates") else ""


def _person_line(p: dict[str, str], lang: str, tenure: bool = True) -> str:
    shown = _tenure(p, lang) if tenure else ""
    return f"{p['name']} ({p['title']}){shown}" if p.get("title") else f"{p['name']}{shown}"


def _people_groups(people: list[dict[str, str]]) -> tuple[list[dict], list[dict], list[dict]]:
    """In post (dated, no end), former (an end, dated or not), and named without dates of office."""
    former = [p for p in people if p.get("until")]
    undated = [p for p in people if not p.get("until") and not p.get("since")]
    current = [p for p in people if p.get("since") and not p.get("until")]
    return current, former, undated


def _led_by(name: str, people: list[dict[str, str]], lang: str) -> list[str]:
    """Who is in post first; former and undated holders follow, each under its own words."""
    current, former, undated = _people_groups(people)
    lines = [
        say("led_by", lang, name=name, people="; ".join(_person_line(p, lang) for p in current))
        if current
        else say("led_by_none_current", lang, name=name)
    ]
    if former:
        lines.append(say("people_former", lang, people="; ".join(_person_line(p, lang) for p in former)))
    if undated:
        lines.append(say("people_undated", lang, people="; ".join(_person_line(p, lang, False) for p in undated)))
    return lines


def _people(people: list[dict[str, str]], lang: str) -> str:
    current, former, undated = _people_groups(people)
    return "; ".join(_person_line(p, lang) for p in current + former + undated)


def _objective(q: Question, reader: Reader) -> Answer:
    found = roadmaps.numbered_objectives(q, reader, q.objective or "")
    if len(found) > 1:  # "objectif 2.1" in two roadmaps: which one?
        return _ask_back(q, reader, [Candidate("objectives", r["id"], 1.0, "", "exact") for r in found])
    record = found[0] if found else None
    if record is None or _of_another_plan(q, reader, record):
        return _objective_missing(q, reader)
    return _fact_first(q, record, _objective_answer(q, reader, record, _intent(q, "objectives")))


def _of_another_plan(q: Question, reader: Reader, record: dict[str, Any]) -> bool:
    """ "L'objectif n°12 de la feuille de route 2023-2027": the question names a plan by its name, and the
    objective numbered so belongs to another one (a hospital group's plan loaded in the national roadmap)."""
    named = named_plan(reader, [c for c in resolve(q, reader, ("programmes",)) if c.how == "exact"])
    return named is not None and (record.get("extra") or {}).get("roadmap") != named[1]


def _objective_answer(q: Question, reader: Reader, record: dict[str, Any], intent: str) -> Answer:
    lang = q.lang
    fields: dict[str, str] = {}
    text = _Lines()
    sources = _sources("objectives", record)
    owners = record.get("owners") or []
    if intent == "owner":
        name = say("objective_word", lang, id=record["id"])
        text.append(
            say("owners_are", lang, name=name, owners=_actor_names(reader, owners))
            if owners
            else say("owners_none", lang, name=name)
        )
    if record.get("status"):
        progress = f" ({record['progress']:g} %)" if record.get("progress") is not None else ""
        text.append(say("status_line", lang, status=shown_status(record, lang) + progress))
        fields["status"] = shown_status(record, lang)
    elif intent == "status":
        text.append(say("status_none", lang))
    if record.get("progress") is not None:
        fields["progress"] = f"{record['progress']:g} %"
    if record.get("status_report"):
        report = reader.record("reports", record["status_report"])
        report_title = (report or {}).get("title") or record["status_report"]
        text.append(say("status_from_report", lang, report=report_title, date=record.get("status_date") or "?"))
        fields["report"] = f"{report_title} ({record.get('status_date') or '?'})"
        if record.get("status_comment"):
            fields["comment"] = record["status_comment"]
        sources.append(_source(report_title, record["status_url"]))
    if record.get("description"):
        text.brief(record["description"])
    if record.get("due"):
        fields["due"] = record["due"]
    if owners:
        fields["owners"] = _actor_names(reader, owners)
    if record.get("axis"):
        axis = reader.record("axes", record["axis"])
        fields["axis"] = f"{record['axis']} — {axis['title']}" if axis else record["axis"]
    if record.get("priority"):
        fields["priority"] = record["priority"]
    if record.get("updated"):
        fields["updated"] = record["updated"]
    _extra_fields(fields, record, lang)
    _disputed(text, record, lang)
    return Answer(
        intent=intent,
        lang=lang,
        title=say("objective_title", lang, id=record["id"], title=record["title"]),
        text="\n".join(text),
        fields=fields,
        sources=_dedupe(sources),
        confidence=1.0,
        results=[_result("objectives", record)],
        details=text.details(),
    )


def _objective_missing(q: Question, reader: Reader) -> Answer:
    lang = q.lang
    text = [say("objective_missing", lang, number=q.objective)]
    sources: list[dict[str, str]] = []
    known = _progress_publication(reader)
    if known:
        text.append(say("objective_missing_known", lang, what=known[0]))
        sources.append(known[1])
    text.append(say("objective_missing_admin", lang))
    # "I don't know": the knowledge holds no such objective (the text says which and how to load the list).
    return Answer(intent="unknown", lang=lang, title="", text="\n".join(text), sources=sources, confidence=0.0)


def _progress_publication(reader: Reader) -> tuple[str, dict[str, str]] | None:
    """What the knowledge says about the roadmap's progress publications: a report, else the best passage."""
    r = reader.latest_report()
    if r:
        return f"{r.get('title') or r['id']} ({r.get('published') or '?'})", _source(
            r.get("title") or r["id"], r["url"]
        )
    hits = reader.search_text("publication semestrielle avancement objectifs feuille de route", limit=5)
    for hit in hits:
        body = fold(hit["body"])
        if "semestri" in body or "avancement" in body:
            sentence = _best_sentence(hit["body"], ["semestri", "avancement", "65"])
            return sentence, _source(hit["title"], hit["url"])
    return None
