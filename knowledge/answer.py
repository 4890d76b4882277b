"""Question + knowledge -> Answer, phrased in the asker's language. Never states what no record says."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

from rapidfuzz import fuzz, process

from . import roadmaps
from .examples import choose
from .model import Answer
from .phrases import choice_label, counts_text, date_words, label, say, shown_status, status_word
from .store import Reader, title_of
from .text import clip, fold
from .tuning import ANSWER_AT, ASK_AT, CLOSE, NAME_TYPO, PASSAGE_OVER, RIVAL, TOPIC_COVERED, TOPIC_FROM
from .understand import KIND_ORDER, KIND_WORDS, Candidate, Question, coverage_of, resolve, understand
from .vocabulary import LATE_BUCKETS, MONTHS, STATUS_WORDS
from .word_tables import abbreviations

__all__ = ["compose", "examples", "ANSWER_AT", "ASK_AT"]

# Words that frame a question rather than name its topic: kinds of record, statuses, generic nouns.
_FRAME_WORDS = frozenset().union(*KIND_WORDS.values()) | frozenset(STATUS_WORDS) | frozenset(MONTHS)
_AXIS_WORD = re.compile(r"\b(axe|axes|axis)\b")
_NUMBER_WORD = re.compile(r"^\d+(e|eme|er|ere|th|st|nd|rd)?$")  # "2025", "14e": a date or a council number
# Words about councils and deciding, not about what was decided.
_COUNCIL_TALK = frozenset(
    "comite comites pilotage copil conseil conseils council committee steering regional regionale national "
    "nationale decide decision decisions decided decider pris prises prise taken made ete dernier derniere "
    "latest last".split()
)

T = TypeVar("T")

MAX_LIST = 12
PASSAGE_CHARS = 600
BRIEF_CHARS = 420
MAX_SOURCES = 4
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


def _holds_other_name(reader: Reader, c: Candidate, exact: list[Candidate]) -> bool:
    record = reader.record(c.kind, c.id)
    title = f" {fold(title_of(c.kind, record))} " if record else ""
    return any(o.matched != c.matched and f" {o.matched} " in title for o in exact if (o.kind, o.id) != (c.kind, c.id))


def _named_kind(folded: str) -> str | None:
    """The kind of record the question names first ("l'objectif CaRE de l'axe 4" -> objectives)."""
    found = [(m.start(), kind) for kind, pattern in _KIND_WORDS.items() if (m := pattern.search(folded))]
    return min(found)[1] if found else None


def _plural_kind(folded: str) -> str | None:
    return next((kind for kind, pattern in _PLURALS.items() if pattern.search(folded)), None)


def compose(q: Question, reader: Reader) -> Answer:
    if q.ref:
        intent, kind, rid = q.ref
        record = reader.record(kind, rid)
        if record is None:
            return _unknown(q, reader, [])
        return _about_record(q, reader, kind, record, intent)
    if not q.folded or "help" in q.cues:
        return _help(q, reader)
    if q.objective and not (q.council and "decisions" in q.cues):
        return _objective(q, reader)
    # Both looked up at most once per question, and only when a branch needs them.
    candidates = _once(lambda: resolve(q, reader))
    passage = _once(lambda: _passage(q, reader))
    if q.since and ("decisions" in q.cues or "decisions" in q.kinds):  # "les décisions prises depuis mars 2025"
        return _decisions_since(q, reader)
    asks_changes = "changes" in q.cues or (q.since and ("list" in q.cues or q.mentions_report))
    if asks_changes and not _named_change(candidates()):
        return _changes(q, reader)
    if q.council or q.latest_council:
        return _council(q, reader)
    if q.names_council and roadmaps.month_asked(q) and (dated := roadmaps.council_asked(q, reader)):
        return _council(q, reader, dated)
    lists_objectives = "list" in q.cues or "objectifs" in q.folded or "objectives" in q.folded
    if lists_objectives and (q.status or q.axis or _AXIS_WORD.search(q.folded)):
        # Combined filters: status, axis (by number or named in words), owner, roadmap.
        axis = (
            None
            if q.axis
            else _named(_in_scope(q, reader, candidates()), "axes")
            if _AXIS_WORD.search(q.folded)
            else None
        )
        scoped = _in_scope(q, reader, candidates())
        owner = _named(scoped, "actors", exact=True)
        if owner and roadmaps.names_a_roadmap(reader, owner.matched):  # "de l'ARS": its roadmap, not an owner
            owner = None
        if q.status or q.axis or axis:
            return _objective_list(q, reader, owner=owner.id if owner else None, axis=axis.id if axis else None)
    if q.axis and not _PLURAL_OBJECTIVES.search(q.folded) and len(q.content_words) <= 3 and q.cues <= {"about"}:
        record = reader.record("axes", roadmaps.axis_keys(q, reader, q.axis)[0])
        if record:
            return _about_record(q, reader, "axes", record, "about")
    found = _in_scope(q, reader, candidates())
    if q.proper:  # "l'ARS Bretagne": a record that does not hold "Bretagne" is not what is asked
        found = [c for c in found if _holds_words(reader, c, q.proper)]
    plural = _plural_kind(q.folded)
    if plural:
        actor = next((c for c in found if c.kind == "actors" and c.how == "exact"), None)
        if plural == "objectives" and actor:
            return _objective_list(q, reader, owner=actor.id)
        if plural in ("programmes", "decisions") and actor:
            return _kind_list(q, reader, plural, owner=actor.id)
        topic = [w for w in q.content_words if not _PLURALS[plural].search(w) and not _LIST_WORDS.search(w)]
        if plural != "objectives" and not topic:
            return _kind_list(q, reader, plural)
    if "decisions" in q.cues and "owner" not in q.cues:
        return _decisions_on(q, reader, found)
    if q.axis and not found:
        record = reader.record("axes", roadmaps.axis_keys(q, reader, q.axis)[0])
        if record:
            return _about_record(q, reader, "axes", record, "about")
    if "passage" in q.cues and (quoted := passage()) and quoted.confidence >= 0.6:
        return quoted
    sure = [c for c in found if c.score >= ASK_AT]
    if sure and (topic := _topic_readings(q, reader)):
        # A record that leaves a word of the question's topic uncovered ("le chef du service de cardiologie des
        # Trois-Rivières" is not the group) is not what is asked: one that covers it, else "I don't know".
        sure = [c for c in sure if _covers(reader, c, topic)]
    if sure:
        best = sure[0]
        close = [c for c in sure if best.score - c.score <= CLOSE and (c.kind, c.id) != (best.kind, best.id)]
        if best.score >= ANSWER_AT and not close:
            return _about_candidate(q, reader, best)
        rivals = [c for c in sure[1:] if best.score - c.score <= RIVAL]
        if not rivals:  # every candidate here is at ASK_AT or more
            return _about_candidate(q, reader, best)
        # The kind the question's cue asks for wins a tie: "ça avance ?" means the objective, not the decision
        # about it; "qu'a décidé..." the decision.
        pool = [best, *close] if best.score >= ANSWER_AT else [c for c in sure[:3] if best.score - c.score <= RIVAL]
        cued = [c for c in pool if c.kind == _cued_kind(q)]
        if len(cued) == 1:
            return _about_candidate(q, reader, cued[0])
        if best.score >= ANSWER_AT and close and best.how == "exact":
            exact = [c for c in [best, *close] if c.how == "exact"]
            # Same name on records of different kinds: the kind the question names ("l'objectif CaRE"), else
            # the bigger thing (programme over objective), wins.
            named = _named_kind(q.folded)
            top_kind = min(exact, key=lambda c: (c.kind != named, KIND_ORDER.index(c.kind))).kind
            preferred = [c for c in exact if c.kind == top_kind]
            # Two different names in one question ("caregiver access to Mon espace santé"): the record whose
            # title holds the other name is the more specific one.
            specific = [c for c in exact if _holds_other_name(reader, c, exact)]
            if len(specific) == 1:
                return _about_candidate(q, reader, specific[0])
            if len(preferred) == 1:
                return _about_candidate(q, reader, preferred[0])
        quoted = passage()
        if quoted and quoted.confidence >= 0.7 and best.score < PASSAGE_OVER:
            return quoted
        return _ask_back(q, reader, [best, *close] if best.score >= ANSWER_AT else sure[:3])
    return passage() or _unknown(q, reader, found)


def _holds_words(reader: Reader, c: Candidate, words: list[str]) -> bool:
    """Every word appears in the record (any field: names, aliases, people, text, references), give or take a
    typo ("Prévto" is Prévot)."""
    record = reader.record(c.kind, c.id)
    held = set(fold(json.dumps(record, ensure_ascii=False)).split()) if record else set()
    return all(w in held or process.extractOne(w, held, scorer=fuzz.ratio, score_cutoff=NAME_TYPO) for w in words)


def _topic_readings(q: Question, reader: Reader) -> list[list[str]]:
    """The question's words that name things the knowledge has names for (words of record names, titles and
    aliases), minus the words that frame it (kinds of record, statuses, months) and the words a short form was
    expanded into (the record may spell that short form): one list per reading (an English question's own
    words and their translation). [] when a reading has no such word: nothing to check."""
    named = reader.name_words()
    plain = q.plain.split()
    expanded = {w for short, entry in abbreviations().items() if short in plain for w in entry.expansion.split()}
    readings = [q.content_words, q.own_words] if q.translated else [q.content_words]
    found = []
    for words in readings:
        topic = [w for w in words if len(w) >= TOPIC_FROM and w in named and not w.isdigit()]
        topic = [w for w in topic if w not in _FRAME_WORDS and w not in expanded]
        if not topic:
            return []
        found.append(topic)
    return found


def _covers(reader: Reader, c: Candidate, readings: list[list[str]]) -> bool:
    """The record holds every topic word of one reading (give or take a typo or a plural)."""
    record = reader.record(c.kind, c.id)
    held = set(fold(json.dumps(record, ensure_ascii=False)).split()) if record else set()
    return any(all(coverage_of([w], held) >= TOPIC_COVERED for w in words) for words in readings)


def _named(found: list[Candidate], kind: str, exact: bool = False) -> Candidate | None:
    """The best record of a kind the question names (by its name when `exact`), sure enough to filter on."""
    return next((c for c in found if c.kind == kind and c.score >= ASK_AT and (c.how == "exact" or not exact)), None)


def _in_scope(q: Question, reader: Reader, found: list[Candidate]) -> list[Candidate]:
    """Candidates of the roadmaps the question names ("le GRADeS de la région"), when it names one and some
    candidate belongs to it; else all of them."""
    asked = roadmaps.scope(q, reader)
    if not asked or not found:
        return found
    kept = [c for c in found if roadmaps.roadmap_of(reader, c.kind, c.id) in asked]
    return kept or found


def _cued_kind(q: Question) -> str | None:
    """The kind of record the question's cues ask for: a status is an objective's, a decision a decision."""
    if "decisions" in q.cues:
        return "decisions"
    if q.cue_scores.get("status") and "owner" not in q.cues:
        return "objectives"
    return None


def _intent(q: Question, kind: str) -> str:
    if "owner" in q.cues:
        return "owner"
    if kind == "objectives":
        return "status"
    if kind == "decisions":
        return "decisions"
    return "about"


def _about_candidate(q: Question, reader: Reader, c: Candidate) -> Answer:
    record = reader.record(c.kind, c.id)
    if record is None:
        return _unknown(q, reader, [])
    if _lacks_asked_fact(q, record):
        return _passage(q, reader) or _unknown(q, reader, [])
    answer = _about_record(q, reader, c.kind, record, _intent(q, c.kind), matched=c.matched)
    answer.confidence = round(min(1.0, c.score), 2)
    return answer


# A fact a question asks for, and the record fields that hold it: a record without them cannot answer it
# ("what is the budget of the nursing department?" is not answered by the department's description).
_FACTS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"\b(participants?|attendees?|attended|combien de (personnes|presents))\b"), ("participants",)),
    (re.compile(r"\b(budget|montant|amount|cout|coute|cost|costs|how much)\b"), ("budget", "amount")),
    (re.compile(r"\b(ou s est tenue?|ou a eu lieu|where was .* held|where did .* take place)\b"), ("place",)),
)


def _asked_fact(q: Question) -> tuple[str, ...]:
    return next((fields for pattern, fields in _FACTS if pattern.search(q.folded)), ())


def _lacks_asked_fact(q: Question, record: dict[str, Any]) -> bool:
    fields = _asked_fact(q)
    return bool(fields) and not any(record.get(f) for f in fields)


def _result(kind: str, record: dict[str, Any]) -> dict[str, str]:
    return {"kind": kind, "id": record["id"], "title": title_of(kind, record), "url": record["url"]}


def _source(title: str, url: str) -> dict[str, str]:
    return {"title": title, "url": url}


def _sources(kind: str, record: dict[str, Any]) -> list[dict[str, str]]:
    """The record's own source first, then the others behind it (a few: the answer stays short)."""
    found = [_source(record.get("source_title") or title_of(kind, record), record["url"])]
    for extra in record.get("sources") or []:
        found.append(_source(extra.get("title") or extra["url"], extra["url"]))
    return _dedupe(found)[:MAX_SOURCES]


def _dedupe(sources: list[dict[str, str]]) -> list[dict[str, str]]:
    seen: set[str] = set()
    out = []
    for s in sources:
        if s["url"] not in seen:
            seen.add(s["url"])
            out.append(s)
    return out


def _actor_names(reader: Reader, ids: list[str]) -> str:
    names = []
    for actor_id in ids:
        actor = reader.record("actors", actor_id)
        names.append(f"{actor['name']} ({actor_id})" if actor and actor["name"] != actor_id else actor_id)
    return ", ".join(names)


class _Lines(list[str]):
    """An answer's lines as shown, long record texts briefed, and `whole`, the same lines uncut."""

    def __init__(self) -> None:
        super().__init__()
        self.whole: list[str] = []

    def append(self, line: str) -> None:
        super().append(line)
        self.whole.append(line)

    def brief(self, line: str) -> None:
        """A record's own long text (a summary, a description): shown briefed, kept whole for "More"."""
        super().append(_brief(line))
        self.whole.append(line)

    def details(self) -> str:
        """The whole text when the shown one is shorter, else ''."""
        whole = "\n".join(t for t in self.whole if t)
        return whole if whole != "\n".join(t for t in self if t) else ""


def _disputed(text: list[str], record: dict[str, Any], lang: str) -> None:
    if record.get("disputed"):
        text.append(say("disputed", lang, note=record["disputed"]))


def _extra_fields(fields: dict[str, str], record: dict[str, Any], lang: str) -> None:
    for key, value in (record.get("extra") or {}).items():
        shown = "; ".join(map(str, value)) if isinstance(value, list) else str(value)
        if shown:
            fields[key] = clip(shown, 300)


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
        person = next((p for p in record.get("people") or [] if fold(p["name"]) == matched), None)
        people = record.get("people") or []
        if person:
            tenure = _tenure(person, lang)
            text.append(say("person_is", lang, person=person["name"], title=person["title"], actor=title, since=tenure))
            intent = "owner"
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
        decisions = reader.records("decisions", "council = ? ORDER BY id", (record["id"],), limit=MAX_LIST)
        if decisions:
            fields["decisions"] = "; ".join(title_of("decisions", d) for d in decisions)
    elif kind == "axes":
        title = f"{label('axis', lang)} {record['id']} — {record['title']}"
        text.brief(record.get("summary") or "")
        count = reader.count("objectives", "axis = ?", (record["id"],))
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


def _brief(text: str, limit: int = BRIEF_CHARS) -> str:
    """Answers stay short: whole sentences up to `limit` characters; the source has the rest."""
    if len(text) <= limit:
        return text
    window = text[:limit]
    end = max(window.rfind(". "), window.rfind(" ; "), window.rfind("; "))
    return (window[: end + 1] if end > limit // 3 else clip(window, limit - 1).rstrip("…")) + " …"


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
    if record is None:
        return _objective_missing(q, reader)
    return _objective_answer(q, reader, record, "owner" if "owner" in q.cues else "status")


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
    reports = reader.records("reports", "1 ORDER BY published DESC", limit=1)
    if reports:
        r = reports[0]
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


def _best_sentence(body: str, keys: list[str]) -> str:
    sentences = [s.strip() for s in body.replace("\n", " ").split(". ") if s.strip()]
    scored = sorted(sentences, key=lambda s: -sum(k in fold(s) for k in keys))
    best = scored[0] if scored else body
    return clip(best.rstrip(".") + ".", 400)


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


def _status_suffix(record: dict[str, Any], lang: str) -> str:
    status = shown_status(record, lang)
    return f" ({status})" if status else ""


def _once(compute: Callable[[], T]) -> Callable[[], T]:
    """`compute()` run on first call only: a lookup some branches need and others must not pay for."""
    memo: list[T] = []

    def value() -> T:
        if not memo:
            memo.append(compute())
        return memo[0]

    return value


def _named_change(candidates: list[Candidate]) -> bool:
    """'Changement d'hébergeur du Health Data Hub' names a record; it does not ask what changed."""
    return any(c.how == "exact" and re.search(r"\b(chang|evolu|nouveau)", c.matched) for c in candidates[:3])


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
        if not _lacks_asked_fact(q, council):
            return _about_record(q, reader, "councils", council, "about")
        return _passage(q, reader) or _unknown(q, reader, [])
    if "decisions" not in q.cues:
        named = set(fold(title_of("councils", council)).split()) | set(
            fold(" ".join(council.get("aliases") or [])).split()
        )
        words = [w for w in q.content_words if not w[0].isdigit() and w not in named]
        if words:
            passage = _passage(q, reader)
            if passage and passage.confidence >= 0.6:
                return passage
        if "list" not in q.cues:
            return _about_record(q, reader, "councils", council, "about")
    decisions = reader.records("decisions", "council = ? ORDER BY id", (council["id"],), limit=MAX_LIST)
    name = title_of("councils", council)
    council_words = set(fold(f"{name} {' '.join(council.get('aliases') or [])}").split())
    if topic := _decision_topic(q, council_words):
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
    rows = reader.records(
        "decisions", f"date >= ? AND {clause} ORDER BY date DESC, id", (since, *params), limit=MAX_LIST
    )
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
        for d in reader.records(
            "decisions",
            "id IN (SELECT id FROM owners WHERE kind = 'decisions' AND actor = ?) "
            "OR id IN (SELECT src FROM links WHERE kind = 'objective' AND dst = ?)",
            (c.id, c.id),
        ):
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


def _changes(q: Question, reader: Reader) -> Answer:
    lang = q.lang
    # Only the columns needed: a report's `statuses` can hold thousands of rows.
    clause, params = roadmaps.scope_clause(q, reader)
    reports = reader.rows(
        f"SELECT id, published, title, url, roadmap FROM reports WHERE {clause} ORDER BY published DESC LIMIT 50",
        params,
    )
    # Reports compare within one roadmap: the newest report's.
    reports = [r for r in reports if r["roadmap"] == reports[0]["roadmap"]] if reports else reports
    if q.since:
        newer = [r for r in reports if (r.get("published") or "") >= q.since]
        older = [r for r in reports if (r.get("published") or "") < q.since]
        if older and newer:
            pair = (older[0], newer[0])
        else:
            pair = (newer[-1], newer[0]) if len(newer) >= 2 else None
    else:
        pair = (reports[1], reports[0]) if len(reports) >= 2 else None
    lines: list[str] = []
    sources: list[dict[str, str]] = []
    results: list[dict[str, str]] = []
    title = ""
    if pair:
        old, new = pair
        title = say("changes_title", lang, old=old.get("title") or old["id"], new=new.get("title") or new["id"])
        moved = (
            "FROM history n LEFT JOIN history o ON o.report = ? AND o.objective = n.objective "
            "WHERE n.report = ? AND (o.objective IS NULL OR o.status IS NOT n.status OR o.progress IS NOT n.progress)"
        )
        total = reader.rows(f"SELECT count(*) AS n {moved}", (old["id"], new["id"]))[0]["n"]
        changed = reader.rows(
            "SELECT n.objective, n.status, n.status_text, n.progress, o.objective AS was_objective, "
            f"o.status AS was_status, o.status_text AS was_status_text, o.progress AS was_progress {moved} "
            f"ORDER BY n.objective LIMIT {MAX_LIST}",
            (old["id"], new["id"]),
        )
        for row in changed:
            objective = reader.record("objectives", row["objective"])
            name = f"{row['objective']}" + (f" — {clip(objective['title'], 80)}" if objective else "")
            was = _state(
                {"status": row["was_status"], "status_text": row["was_status_text"], "progress": row["was_progress"]},
                lang,
            )
            was = was if row["was_objective"] else "—"
            lines.append(say("change_line", lang, name=name, was=was, now=_state(row, lang)))
            if objective:
                results.append(_result("objectives", objective))
        if total > len(changed):
            lines.append(say("list_more", lang, more=total - len(changed)))
        if not changed:
            lines.append(say("changes_none", lang))
        sources += [
            _source(old.get("title") or old["id"], old["url"]),
            _source(new.get("title") or new["id"], new["url"]),
        ]
    elif not q.since:
        if reports:
            r = reports[0]
            lines.append(say("changes_one_report", lang, report=r.get("title") or r["id"], date=r.get("published")))
            sources.append(_source(r.get("title") or r["id"], r["url"]))
        else:
            lines.append(say("changes_no_report", lang))
    if q.since:
        title = title or say("changes_since_title", lang, date=q.since)
        decisions = reader.records("decisions", "date >= ? ORDER BY date DESC", (q.since,), limit=MAX_LIST)
        if decisions:
            lines.append(say("changes_new_decisions", lang, date=q.since))
            lines += [_decision_line(d, lang) + (f" ({d['date']})" if d.get("date") else "") for d in decisions]
            sources += [s for d in decisions for s in _sources("decisions", d)]
            results += [_result("decisions", d) for d in decisions]
        if not pair and not decisions:
            lines.append(say("changes_nothing_since", lang, date=q.since))
    return Answer(
        intent="changes",
        lang=lang,
        title=title,
        text="\n".join(lines),
        sources=_dedupe(sources)[:6],
        confidence=0.9 if (pair or results) else 0.6,
        results=results,
    )


def _state(row: dict[str, Any], lang: str) -> str:
    word = shown_status(row, lang) or "?"
    return word + (f" {row['progress']:g} %" if row.get("progress") is not None else "")


def _passage(q: Question, reader: Reader) -> Answer | None:
    words = q.content_words
    if not words:
        return None
    hits = reader.search_text(" ".join(words), limit=5, kinds=("passages",))
    best, best_score = None, 0.0
    for hit in hits:
        haystack = set(fold(f"{hit['title']} {hit['heading']} {hit['body']}").split())
        coverage = coverage_of(words, haystack)
        if q.proper and not all(
            w in haystack or process.extractOne(w, haystack, scorer=fuzz.ratio, score_cutoff=NAME_TYPO)
            for w in q.proper
        ):
            continue
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
