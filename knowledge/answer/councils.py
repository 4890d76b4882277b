"""Councils and their decisions: by number or date, about a topic, since a date."""

from __future__ import annotations

import re
from typing import Any

from .. import roadmaps
from ..model import Answer
from ..phrases import date_words, decision_word, label, say, shown_status
from ..store import Reader, name_phrases, title_of
from ..text import STOPWORDS, clip, fold
from ..tuning import ANSWER_AT, ASK_AT
from ..understand import Candidate, Question, coverage_of, resolve
from ..vocabulary import DECISION_WORDS
from .common import (
    _COUNT,
    _FACTS,
    _FRAME_WORDS,
    _MONEY_FIELDS,
    _NUMBER_WORD,
    DOING_WORDS,
    MAX_LIST,
    QUESTION_WORDS,
    _asked_fact,
    _covers,
    _dedupe,
    _disputed,
    _fact_first,
    _in_question,
    _lacks_asked_fact,
    _result,
    _says_fact,
    _sentences,
    _sources,
    _texts,
    list_answer,
)
from .common import (
    _MONEY as _AMOUNT,
)
from .fallbacks import _passage, _unknown
from .filters import EXPLICIT_OWNER, FRAME
from .records import _about_candidate, _about_record

# Words that ask which council it was ("c'était le combientième ?") or carry the verb: no topic.
_ASKING = QUESTION_WORDS | DOING_WORDS | frozenset("combientieme quantieme numero rang etait etaient".split())
# What a council did, in chat words ("ils ont mis en place quoi", "what was launched"): its decisions.
_OUTCOME = frozenset(
    "mis place lance lances lancee lancees launched annonce annonces annoncee annoncees announced adopte adoptes "
    "adoptee adoptees adopted acte actes actee actees valide valides validee validees approved sorti sortis".split()
)
# Who was there ("which minister was at the 10th CNS", "qui était au 3e CNS"): the council's card names them.
_PERSON_ASKED = re.compile(r"\b(qui|who|ministre|minister|president|presidente|chair|invite|guest|speaker)\b")
# Words about councils and deciding, not about what was decided.
_COUNCIL_TALK = frozenset(
    "comite comites pilotage copil conseil conseils council committee steering regional regionale national "
    "nationale decide decision decisions decided decider pris prises prise taken made ete dernier derniere "
    "latest last agenda ordre jour programme".split()
)


_NOT_COUNTED = frozenset("de d temps monde gens personnes people persons".split())


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


def _money_off_topic(q: Question, council: dict[str, Any]) -> bool:
    """ "Combien a coûté l'organisation du 14e CNS ?": the amounts a council's text gives are those it announced
    (a funding), not the cost of the thing asked, when no sentence with an amount holds the question's topic."""
    if _asked_fact(q) != _MONEY_FIELDS:
        return False
    named = set(fold(f"{title_of('councils', council)} {' '.join(council.get('aliases') or [])}").split())
    topic = [
        w
        for w in q.content_words
        if not w[0].isdigit()
        and w not in named | _COUNCIL_TALK | _ASKING
        and not any(asks.search(w) for asks, _ in _FACTS)  # "coûté" asks, names no topic
    ]
    said = [fold(t) for t in _sentences(_texts(council)) if _AMOUNT.search(t.lower())]
    return bool(topic) and not any(w[:5] in t for w in topic for t in said)


def _council_answer(q: Question, reader: Reader, council: dict[str, Any] | None) -> Answer:
    lang = q.lang
    # The numbered, latest or dated council of the roadmap asked about ("dernier copil": a copil).
    council = council or roadmaps.council_asked(q, reader)
    if council is None:
        return _unknown(q, reader, [], lead=say("council_missing", lang, number=q.council) if q.council else "")
    if _asked_fact(q) and "decisions" not in q.cues:  # "où s'est tenu le copil de février": its place
        if _lacks_asked_fact(q, council) or _money_off_topic(q, council):
            return _passage(q, reader) or _unknown(q, reader, [])
        passage = _passage(q, reader)  # the passage that says it, in its own words, else the record's field
        if passage and _says_fact(q, council, passage.text):
            return passage
        return _fact_first(q, council, _about_record(q, reader, "councils", council, "about"))
    counted = _in_question(_COUNT, q)
    # People counted ("cb de monde") are its participants, which its card gives.
    if counted and counted[1] not in _NOT_COUNTED and "decisions" not in q.cues:
        # "Combien étaient des usagers ?": a count its record does not give, in a passage or not known.
        if _lacks_asked_fact(q, council):
            return _passage(q, reader) or _unknown(q, reader, [])
    named = set(fold(title_of("councils", council)).split()) | set(fold(" ".join(council.get("aliases") or [])).split())
    words = [w for w in q.content_words if not w[0].isdigit() and w not in named and w not in _COUNCIL_TALK | _ASKING]
    # "Au 2e CNS ils ont mis en place quoi ?": what it did is its decisions.
    if "decisions" not in q.cues and not (words and set(words) <= _OUTCOME):
        if words:
            passage = _passage(q, reader)
            if passage and passage.confidence >= 0.6:
                return passage
        if "list" not in q.cues or _PERSON_ASKED.search(q.folded):  # "which minister was at…": its card
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
    """Decisions dated on or after the question's date, in the roadmaps asked about, newest first, narrowed by
    the other filters the question holds (owner, council, status, subject)."""
    # Only who and which council are looked up (the filters need no other kind): half the cost of a full lookup.
    return _decision_list(q, reader, resolve(q, reader, ("actors", "councils"))) or _unknown(
        q,
        reader,
        [],
        lead=say("list_empty", q.lang, what=say("decisions_since", q.lang, date=date_words(q.since or "", q.lang))),
    )


# "Decisions that came with money attached", "décisions financées": those with an amount.
_MONEY = re.compile(r"\b(money|budget\w*|montants?|amounts?|financ\w*|funding|funded|euros?|argent|enveloppes?)\b")
# Council families a question may name ("les copils", "au CNS"): a decision's council must hold one of their words.
_FAMILIES = {
    "copil": ("copil", "comite", "committee", "steering"),
    "conseil": ("cns", "conseil", "council"),
}
# How a council's stored name shows each family (SQLite's lower() keeps accents: "comité" is matched by "comit").
_FAMILY_NAMES = {"copil": ("copil", "comit", "committee", "steering"), "conseil": ("cns", "conseil", "council")}


def _decision_list(q: Question, reader: Reader, found: list[Candidate], since: bool = True) -> Answer | None:
    """Decisions filtered by date (since, or the month or year asked), status, amount, owner, council family,
    roadmap and subject. Without `since` ("qu'a décidé le copil sur X", "... en décembre 2025": the decisions
    themselves are asked), only a question that filters on status, amount or owner gets a list."""
    lang = q.lang
    where, params, what = ["1"], [], []
    scoped, asked = roadmaps.scope_clause(q, reader)
    where.append(scoped)
    params += asked
    if q.since and since:
        where.append("date >= ?")
        params.append(q.since)
        what.append(say("decisions_since", lang, date=date_words(q.since, lang)))
    elif q.when:
        where.append("date LIKE ?")
        params.append(f"{q.when}%")
        what.append(say("councils_in", lang, what=label("decisions", lang).capitalize(), year=date_words(q.when, lang)))
    if q.decision_status:
        where.append("status = ?")
        params.append(q.decision_status)
        what.append(say("decisions_status", lang, status=decision_word(q.decision_status, lang)))
    if _MONEY.search(q.folded):
        where.append("amount IS NOT NULL AND amount != ''")
    owner = _decision_owner(q, reader, found)
    if owner:
        where.append("id IN (SELECT id FROM owners WHERE kind = 'decisions' AND actor = ?)")
        params.append(owner.id)
        record = reader.record("actors", owner.id)
        name = title_of("actors", record).split(" — ")[0] if record else owner.id
        what.append(say("owned_by", lang, what=label("decisions", lang).capitalize(), owner=name))
    elif home := _organisation_named(reader, found):
        # "décisions du GH3R depuis avril": an organisation that carries none of them says whose source's.
        where.append("roadmap = ? AND COALESCE(source_title, '') = ?")
        params += list(home)
    families = [
        w
        for f, words in _FAMILIES.items()
        if any(re.search(rf"\b{w}s?\b", q.folded) for w in words)
        for w in _FAMILY_NAMES[f]
    ]
    if families:
        held = " OR ".join("lower(c.name || ' ' || COALESCE(c.aliases, '')) LIKE ?" for _ in families)
        where.append(f"council IN (SELECT c.id FROM councils c WHERE {held})")
        params += [f"%{w}%" for w in families]
    subject = _subject(q, reader, found)
    # "décisions de la région sur l'entrepôt de données": the roadmap named and a subject filter together, when
    # decisions are named as a list ("qu'a décidé le copil régional sur X" asks the decisions themselves).
    on_subject = bool(asked and subject and _DECISIONS_NAMED.search(q.folded))
    if len(where) == 2 and not (q.since or q.when or on_subject):
        return None  # nothing to filter on
    # "Toutes les décisions du conseil en 2024": the decisions named as a list, of a year or month.
    of_when = bool(q.when and not subject and _DECISIONS_NAMED.search(q.folded))
    if not since and not (q.decision_status or owner or _MONEY.search(q.folded) or on_subject or of_when):
        return None
    clause = " AND ".join(where)
    if on_subject and not owner:
        what.append(say("decisions_on", lang, topic=" ".join(subject[0])))
    if subject:
        # "décisions du copil 3R depuis mars 2025": those whose words (council, owners, text) hold the subject,
        # in one of the question's readings (as typed, as normalised, in French for an English question).
        rows = reader.records("decisions", f"{clause} ORDER BY date DESC, id", tuple(params), 200)
        rows = [d for d in rows if _holds_subject(subject, reader.record_words("decisions", d["id"]))]
        total, rows = len(rows), rows[:MAX_LIST]
    else:
        total = reader.count("decisions", clause, tuple(params))
        rows = reader.records("decisions", f"{clause} ORDER BY date DESC, id", tuple(params), MAX_LIST)
    if not rows:
        return None
    heading = " · ".join(what) or label("decisions", lang).capitalize()
    lines = []
    for d in rows:
        council = reader.record("councils", d["council"]) if d.get("council") else None
        where_taken = f" ({title_of('councils', council)})" if council else f" ({d['date']})"
        lines.append(_decision_line(d, lang) + where_taken)
    return list_answer(lang, "decisions", heading, rows, lines, total, sources=6)


def _decision_owner(q: Question, reader: Reader, found: list[Candidate]) -> Candidate | None:
    """The actor named by its name whose decisions are asked: among actors of the same name, one that owns
    decisions; not one that names a roadmap ("les copils de l'ARS" is the ARS's roadmap) unless the question
    says it carries them ("carried by the DNS")."""
    actors = [c for c in found if c.kind == "actors" and c.how == "exact" and c.score >= ASK_AT]
    if not EXPLICIT_OWNER.search(f"{q.plain} | {q.folded}"):
        actors = [c for c in actors if not roadmaps.names_a_roadmap(reader, c.matched)]
    owning = [c for c in actors if reader.count("owners", "kind = 'decisions' AND actor = ?", (c.id,))]
    return owning[0] if owning else None


def _organisation_named(reader: Reader, found: list[Candidate]) -> tuple[str, str] | None:
    """The family of the one organisation named by its name whose records come from a source of its own (a
    hospital group's plan), not a roadmap's owner (the roadmap's scope already says that)."""
    homes = {
        roadmaps.family(reader.record(c.kind, c.id) or {})
        for c in found
        if c.kind == "actors" and c.how == "exact" and c.score >= ASK_AT
    }
    home = next(iter(homes)) if len(homes) == 1 else None
    return home if home and home[1] else None


_LIST_TALK = frozenset(
    "quelles quels which what whats all tous toutes liste list qu est ce qui quoi got been were was have has ete "
    "concernant concerne concernent involving involve involves about sur came come with avec attached attache "
    "money budget montant montants amount amounts financees financee funded funding argent depuis since after "
    "apres en in of the ou or et and y a il ils carried carry carries by par portees portee pilotees pilotee "
    "taken prises made lesquelles quoi liste svp stp please pls".split()
)


_DECISIONS_NAMED = re.compile(r"\bdecisions\b")


def _holds_subject(readings: list[list[str]], words: frozenset[str]) -> bool:
    return any(coverage_of(r, set(words)) >= 1 for r in readings)


def _subject(q: Question, reader: Reader, found: list[Candidate]) -> list[list[str]]:
    """The words of the question no filter explains (its subject), in each of its readings, fewest first: as
    normalised, as typed (where "CHU" is not yet "centre hospitalier universitaire"), and for an English
    question in French; none when one reading leaves no word."""
    named: set[str] = set()
    for c in found:
        if c.kind in ("actors", "councils") and c.how == "exact":
            named.update(c.matched.split())
            record = reader.record(c.kind, c.id)
            named.update(fold(title_of(c.kind, record)).split() if record else [])
    skip = _FRAME_WORDS | _COUNCIL_TALK | _LIST_TALK | FRAME | named | {w for p in DECISION_WORDS for w in p.split()}
    skip |= {w for words in _FAMILIES.values() for w in words}

    def left(words: list[str]) -> list[str]:
        return [
            w
            for w in dict.fromkeys(words)
            if len(w) > 1
            and not _NUMBER_WORD.match(w)
            and not {w, w.rstrip("s"), w.removesuffix("es"), w.rstrip("es")} & skip
            and not roadmaps.names_a_roadmap(reader, w)
        ]

    readings = [left(q.own_words), left([w for w in q.plain.split() if w not in STOPWORDS])]
    if q.translated:
        readings.append(left(q.content_words))
    return [] if not all(readings) else sorted(readings, key=len)


# A list of councils asked ("liste des CNS", "all the CNS meetings held in 2020", "les copils de l'ARS").
_COUNCIL_LIST = re.compile(r"\b(copils|conseils|councils|comites|committees|meetings|reunions|seances|instances)\b")
_COUNCIL_LIST_TALK = frozenset(
    "liste list all tous toutes les quels quelles which show montre held tenus tenues tenu organises eu lieu ont "
    "have has been were meetings meeting reunions reunion seances seance instances en in of the de des du la".split()
)


def _council_list(q: Question, reader: Reader) -> Answer | None:
    """Councils of the family the question names (copil, conseil/CNS), in the roadmaps asked about, in the year
    or month asked, newest first; None when the question also names a subject (it is about what they did)."""
    if q.council or q.latest_council or "decisions" in q.kinds:
        return None
    named = re.search(rf"\b({'|'.join(w for ws in _FAMILIES.values() for w in ws)})\b", q.folded)
    if not (_COUNCIL_LIST.search(f"{q.plain} {q.folded}") or ("list" in q.cues and named)):
        return None
    lang = q.lang
    where, params = roadmaps.scope_clause(q, reader)
    where, params = [where], list(params)
    families = [
        w
        for f, words in _FAMILIES.items()
        if any(re.search(rf"\b{w}s?\b", q.folded) for w in words)
        for w in _FAMILY_NAMES[f]
    ]
    if families:
        where.append("(" + " OR ".join("lower(name || ' ' || COALESCE(aliases, '')) LIKE ?" for _ in families) + ")")
        params += [f"%{w}%" for w in families]
    heading = label("councils", lang).capitalize()
    if q.when:
        where.append("date LIKE ?")
        params.append(f"{q.when}%")
        heading = say("councils_in", lang, what=heading, year=date_words(q.when, lang))
    skip = _COUNCIL_TALK | _COUNCIL_LIST_TALK | _FRAME_WORDS | {w for ws in _FAMILIES.values() for w in ws}

    def left(words: list[str]) -> list[str]:
        return [
            w
            for w in words
            if len(w) > 1
            and not _NUMBER_WORD.match(w)
            and w.rstrip("s") not in skip
            and w not in skip
            and w not in STOPWORDS
            and not roadmaps.names_a_roadmap(reader, w)
        ]

    if left(q.own_words) and left(q.plain.split()):  # read as normalised and as typed ("held", not "help")
        return None
    clause = " AND ".join(where)
    total = reader.count("councils", clause, tuple(params))
    rows = reader.records("councils", f"{clause} ORDER BY date DESC", tuple(params), MAX_LIST)
    if not rows:
        return None
    lines = [f"• {title_of('councils', r)}" + (f" ({r['date']})" if r.get("date") else "") for r in rows]
    return list_answer(lang, "councils", heading, rows, lines, total)


def _decision_topic(q: Question, council_words: set[str]) -> list[str]:
    """What a decisions question is about: its content words less the council's name, kind, status, month
    and council words, and numbers ("qu'a décidé le copil de juin sur les sauvegardes" -> sauvegardes)."""
    skip = council_words | _FRAME_WORDS | _COUNCIL_TALK | _SUBJECT_WORDS | _ASKING | _OUTCOME
    return [w for w in q.content_words if not _NUMBER_WORD.match(w) and w not in skip]


# Words that say "on the subject of" ("au sujet du PACS", "à propos du CSIRT", "regarding"): no topic.
_SUBJECT_WORDS = frozenset("sujet propos concernant concerne regarding concerning about".split())


def _on_topic(decisions: list[dict[str, Any]], topic: list[str]) -> list[dict[str, Any]]:
    """The decisions holding the topic's words (nearly all of them), best covered first."""
    scored = []
    for d in decisions:
        words = set(fold(" ".join(str(d.get(k) or "") for k in ("title", "summary", "aliases"))).split())
        words |= set(fold(" ".join(d.get("owners") or [])).split())  # "les décisions de l'URPS": it carries them
        if (cover := coverage_of(topic, words)) >= 0.75:
            scored.append((cover, d))
    return [d for _, d in sorted(scored, key=lambda pair: -pair[0])]


def _names_of(reader: Reader, c: Candidate) -> set[str]:
    """The words of an actor's name and aliases, and of the name the question matched."""
    record = reader.record(c.kind, c.id) or {}
    return {w for n in [c.matched, *name_phrases(c.kind, record)] for w in n.split()}


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
    # "le copil des Trois-Rivières au sujet du PACS": the organisation named says whose decisions, not what about.
    org = {w for c in named if c.kind == "actors" and c.how == "exact" for w in _names_of(reader, c)}
    wanted = _decision_topic(q, set())
    wanted = [w for w in wanted if w not in org] or wanted
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
