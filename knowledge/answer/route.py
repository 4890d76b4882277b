"""Which answer a question gets: the order of the rules is the routing (see docs/understanding.md)."""

from __future__ import annotations

import re
from collections.abc import Callable

from .. import roadmaps
from ..model import Answer
from ..phrases import say
from ..store import Reader, name_phrases, title_of
from ..text import fold
from ..tuning import (
    ANSWER_AT,
    ASK_AT,
    CLOSE,
    COVER_AT,
    FACT_AT,
    NAMED_SPECIFIC_FROM,
    PASSAGE_OVER,
    RIVAL,
    SPECIFIC_FROM,
    UNREAD_AT,
    UNREAD_FROM,
)
from ..understand import KIND_ORDER, Candidate, Question, coverage_of, resolve
from .changes import _changes, _named_change, asks_changes, changes_answer, names_a_series
from .common import (
    _COUNT,
    _FRAME_WORDS,
    DOING_WORDS,
    _asked_fact,
    _covers,
    _holds_words,
    _in_question,
    _lacks_asked_fact,
    _once,
    _topic_readings,
    asks_role,
    lacks_asked_role,
)
from .councils import _council, _council_list, _decision_list, _decisions_on, _decisions_since
from .facts import fact_answer, lead_with_fact, states_asked_fact
from .fallbacks import _ask_back, _help, _passage, _unknown
from .filters import EXPLICIT_OWNER, OWNING_VERBS, objective_filters, owns_any
from .lists import (
    _LIST_WORDS,
    _PLURAL_OBJECTIVES,
    _PLURALS,
    _axis_list,
    _kind_list,
    _named_kind,
    _objective_list,
    _plan_list,
    _plural_kind,
    _programme_list,
    _sub_objectives,
    asks_one_item,
)
from .records import _about_candidate, _about_record, _objective

_AXIS_WORD = re.compile(r"\b(axe|axes|axis)\b")
# "L'action 15 de l'axe 4", "measure 6 of Ma santé 2022": a numbered part of a plan, as its sources number it.
# Which council is asked ("à quel CNS", "which council"), not what one did.
_WHICH_COUNCIL = re.compile(
    r"\b(quel|quelle|lequel|laquelle|which|what) (cns|copil|conseil|comite|council|committee)\b"
)
_YEAR_WORD = re.compile(r"(19|20)\d\d")
# The question cites a document ("d'après l'article", "selon DSIH", "according to the piece"): its passage is
# what is asked, before the card of the council or programme it is about.
_CITES_DOCUMENT = re.compile(
    r"\b(selon|d apres|according to|in) (l |le |la |the |this |cet |ce )?(\w+ )?(article|piece|papier|dsih)\b|"
    r"\b(l|the) article\b(?! \d)"
)
# Words asking a date or a number: a more specific record by its names only is no better at giving one.
_WHEN_OR_HOW_MANY = frozenset("combien quand date when many much".split())
_NUMBERED_PART = re.compile(r"\b(?:action|mesure|measure)s? (?:n |no |number )?(\d{1,3})\b")
# Words that name progress reports, whatever record they also name ("bilan semestriel" is an alias).
_REPORT_WORDS = frozenset(
    "bilan bilans semestriel semestrielle revue revues rapport rapports report reports review reviews avancement "
    "etat progress publication point etape suivi de du des d l la le les".split()
)


def _date_asked(q: Question, found: list[Candidate]) -> str | None:
    """The month or year the question dates a council by; not a year of a name it gives ("la FDR 2023-2027
    a été présentée à quel CNS ?" asks no council of 2023)."""
    month = roadmaps.month_asked(q)
    if month and len(month) == 4 and any(month in c.matched.split() for c in found if c.how == "exact"):
        return None
    return month


def _holds_other_name(reader: Reader, c: Candidate, exact: list[Candidate]) -> bool:
    record = reader.record(c.kind, c.id)
    title = f" {fold(title_of(c.kind, record))} " if record else ""
    return any(o.matched != c.matched and f" {o.matched} " in title for o in exact if (o.kind, o.id) != (c.kind, c.id))


def compose(q: Question, reader: Reader) -> Answer:
    """The answer to one question; one record answered below ANSWER_AT says it is less sure (the asker sees
    it, not only the log)."""
    answer = _compose(q, reader)
    if answer.intent in _HEDGED:
        lead_with_fact(q, reader, answer)
    if answer.intent in _HEDGED and answer.results and not answer.choices:
        if any(len(w) >= UNREAD_FROM for w in q.unknown):  # part of the question went unread
            answer.confidence = min(answer.confidence, UNREAD_AT)
        if answer.confidence < ANSWER_AT:
            answer.text = "\n".join([answer.text, say("less_sure", q.lang)]).strip()
    return answer


# Intents of one record's answer (lists, changes and quoted passages say what they are already).
_HEDGED = frozenset({"status", "owner", "about", "decisions"})


def _compose(q: Question, reader: Reader) -> Answer:
    if q.ref:
        intent, kind, rid = q.ref
        record = reader.record(kind, rid)
        if record is None:
            return _unknown(q, reader, [])
        if intent == "changes" and kind in ("reports", "programmes"):  # a series chosen: its reports, a publication
            return _changes(q, reader, report=record)
        return _about_record(q, reader, kind, record, intent)
    if not q.folded or "help" in q.cues:
        return _help(q, reader)
    if listed := _sub_objectives(q, reader):  # "sous-objectifs du 4": a list, though it names objective 4
        return listed
    if q.objective and not (q.council and "decisions" in q.cues):
        return _objective(q, reader)
    # Both looked up at most once per question, and only when a branch needs them.
    candidates = _once(lambda: resolve(q, reader))
    passage = _once(lambda: _passage(q, reader))
    if q.since and ("decisions" in q.cues or "decisions" in q.kinds):  # "les décisions prises depuis mars 2025"
        return _decisions_since(q, reader)
    if asks_changes(q) and not _named_change(candidates()):
        if changed := changes_answer(q, reader, candidates(), named=_names_a_topic(reader, candidates())):
            return changed
    if _CITES_DOCUMENT.search(q.folded) and (quoted := passage()) and quoted.confidence >= ASK_AT:
        return quoted
    if q.council or q.latest_council:
        return _council(q, reader)
    home = _named_family(reader, candidates(), q) if q.names_council else None
    if q.names_council and _date_asked(q, candidates()) and (dated := roadmaps.councils_asked(q, reader, home)):
        dated = _councils_of_words(q, reader, dated)
        if len(dated) == 1:
            return _council(q, reader, dated[0])
        if len(roadmaps.month_asked(q) or "") >= 7 and "list" not in q.cues:  # "le copil de juin 2025": whose?
            return _ask_back(q, reader, [Candidate("councils", c["id"], 0.9, "", "exact") for c in dated])
    if "decisions" in q.kinds or (q.decision_status and q.when and "objectives" not in q.kinds):
        # "décisions ajournées", "qu'est-ce qui a été ajourné en juin 2025 ?", "decisions with money attached"
        if listed := _decision_list(q, reader, _in_scope(q, reader, candidates()), since=False):
            return listed
    if counted := _count_stated(q, reader, candidates()):  # "combien d'objectifs dans l'axe prévention ?"
        return counted
    if q.status or q.colour or q.due or q.owned or q.axis or _AXIS_WORD.search(q.folded):
        # Combined filters: status, rating colour, due period, axis (by number or in words), owner, roadmap.
        if listed := objective_filters(q, reader, _in_scope(q, reader, candidates()), candidates()):
            return listed
    if q.axis and not _axis_keys(q, reader):  # "axe 7 de la feuille de route": no roadmap has one
        return _unknown(q, reader, [], lead=say("axis_missing", q.lang, number=q.axis))
    # "C koi l'axe 3 de la feuille de route de Val-de-Brume": the words naming a roadmap say whose axis.
    if q.axis and not _PLURAL_OBJECTIVES.search(q.folded) and q.cues <= {"about"}:
        if len(q.content_words) <= 3 or (roadmaps.scope(q, reader) and len(_axis_keys(q, reader)) == 1):
            return _axis(q, reader)
    found = _in_scope(q, reader, candidates())
    if q.proper:  # "l'ARS Bretagne": a record that does not hold "Bretagne" is not what is asked
        found = [c for c in found if _holds_words(reader, c, [w for w in q.proper if w not in _org_words(reader, c)])]
    if council := _council_of_person(q, reader, found):  # "Olivier Véran il est venu à quel CNS ?"
        return _about_candidate(q, reader, council)
    if listed := _council_list(q, reader) or _plan_list(q, reader, found):
        if asks_one_item(q) and len(listed.results) == 1:  # "quelle action … sur l'INS ?": that action
            one = listed.results[0]
            return _about_record(q, reader, one["kind"], reader.record(one["kind"], one["id"]) or {}, "about")
        return listed
    plural = _plural_kind(q.folded)
    if plural == "axes" and not q.axis and (listed := _axis_list(q, reader, found)):
        return listed
    if plural == "programmes" and (listed := _programme_list(q, reader)):
        return listed
    if plural:
        # Among actors of the same name, the one that owns records of the kind listed ("GRADeS": the region's).
        exact = [c for c in found if c.kind == "actors" and c.how == "exact"]
        # A unit ranked above the name matched holds more of the question ("le laboratoire de biologie des
        # Trois-Rivières": the lab, not the group).
        above = [c for c in found if c.kind == "actors" and exact and c.score > exact[0].score and c not in exact]
        actor = next((c for c in above + exact if owns_any(reader, c.id, plural)), exact[0] if exact else None)
        if plural == "objectives" and actor:
            # "L'ARS a combien d'objectifs ?": the name of a roadmap's owner asks for that roadmap, as in filters.
            roadmap_named = roadmaps.names_a_roadmap(reader, actor.matched) and not _owner_said(q)
            return _objective_list(q, reader, owner=None if roadmap_named else actor.id)
        if _plural_kind(q.plain) == "programmes" and actor and not owns_any(reader, actor.id, plural):
            # "La pharmacie, elle a quels projets ?": a unit that carries no programme carries objectives.
            if owns_any(reader, actor.id, "objectives"):
                return _objective_list(q, reader, owner=actor.id)
        if plural in ("programmes", "decisions") and actor and not _names_roadmap_only(q, reader, actor, plural):
            return _kind_list(q, reader, plural, owner=actor.id)
        topic = [w for w in q.content_words if not _PLURALS[plural].search(w) and not _LIST_WORDS.search(w)]
        if plural != "objectives" and not topic:
            return _kind_list(q, reader, plural)
    if "decisions" in q.cues and "owner" not in q.cues:
        return _decisions_on(q, reader, found)
    if q.axis and not found:
        return _axis(q, reader)
    # "Combien d'exercices de crise cyber réalisés ?": no sure record, or the sure one (the security axis) does
    # not state it, but a likely record's text does.
    sure_best = next((c for c in found if c.score >= ASK_AT), None)
    if (sure_best is None or not states_asked_fact(q, reader, sure_best)) and (fact := fact_answer(q, reader, found)):
        return fact
    if "passage" in q.cues and (quoted := passage()) and quoted.confidence >= 0.6:
        return quoted
    sure = [c for c in found if c.score >= ASK_AT]
    if sure and (topic := _topic_readings(q, reader)):
        # A record that leaves a word of the question's topic uncovered ("le chef du service de cardiologie des
        # Trois-Rivières" is not the group) is not what is asked: one that covers it, else "I don't know".
        covering = [c for c in sure if _covers(reader, c, _beyond_org(reader, c, topic))]
        if not covering:  # the names matched are parts of the topic ("cyber", "GHT"): a likely record holding it
            covering = _holding_the_topic(reader, found, topic)
        if not covering and (fact := fact_answer(q, reader, found)):
            return fact  # "combien pour renforcer le CSIRT": the topic in other forms ("renfort"), the fact stated
        sure = covering
    sure = _fit_for_the_ask(q, reader, sure)
    if sure and (carried := _status_of_what_it_carries(q, reader, sure[0], found)):
        answer = _about_candidate(q, reader, carried)
        answer.confidence = min(answer.confidence, FACT_AT)
        return answer
    if sure and (specific := _numbered_part(q, reader, found) or _more_specific(q, reader, sure[0], found)):
        answer = _about_candidate(q, reader, specific)
        answer.confidence = min(answer.confidence, FACT_AT)
        return answer
    if sure:
        best = sure[0]
        close = [c for c in sure if best.score - c.score <= CLOSE and (c.kind, c.id) != (best.kind, best.id)]
        if twins := _twins_elsewhere(q, reader, best, sure, found):
            return _ask_back(q, reader, [best, *twins])
        if best.score >= ANSWER_AT and not close:
            return _about_candidate(q, reader, best)
        rivals = [c for c in sure[1:] if best.score - c.score <= RIVAL]
        if not rivals:  # every candidate here is at ASK_AT or more
            return _about_candidate(q, reader, best)
        # The kind the question's cue asks for wins a tie: "ça avance ?" means the objective, not the decision
        # about it; "qu'a décidé..." the decision.
        pool = [best, *close] if best.score >= ANSWER_AT else [c for c in sure[:3] if best.score - c.score <= RIVAL]
        cued = _cued(q, pool)
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


def _councils_of_words(q: Question, reader: Reader, dated: list[dict]) -> list[dict]:
    """ "The June 2025 committee of the group": among councils of one date held by several organisations, those
    whose organisations' names hold a word of the question that the others' names do not ("groupe")."""
    if len(dated) < 2:
        return dated
    words = {roadmaps.family(c): roadmaps.org_words(reader, roadmaps.family(c)) for c in dated}
    # Words of the councils' own names ("comité de pilotage") say which council, not whose.
    named = {w for c in dated for w in fold(f"{title_of('councils', c)} {' '.join(c.get('aliases') or [])}").split()}
    asked = set(q.content_words) - named - _FRAME_WORDS
    own = {
        home: (asked & names) - set().union(*(n for h, n in words.items() if h != home))
        for home, names in words.items()
    }
    kept = [c for c in dated if own[roadmaps.family(c)]]
    return kept if len({roadmaps.family(c) for c in kept}) == 1 else dated


def _count_stated(q: Question, reader: Reader, found: list[Candidate]) -> Answer | None:
    """ "Combien d'objectifs dans l'axe prévention ?", "la FDR a combien d'axes ?": a count the record named
    states ("20 objectifs"), not a list to count, unless the question filters (status, colour, due, owner)."""
    counted = _in_question(_COUNT, q)
    if not counted or counted[1] in ("de", "d", "temps") or q.status or q.colour or q.due or q.owned:
        return None
    best = next((c for c in found if c.how == "exact" and c.score >= ANSWER_AT), None)
    record = reader.record(best.kind, best.id) if best else None
    if best is None or record is None or _asked_fact(q) or _lacks_asked_fact(q, record):
        return None
    # A place or name the question gives ("how many hospitals in Occitanie") must be the record's too.
    if q.proper and not _holds_words(reader, best, [w for w in q.proper if w not in _org_words(reader, best)]):
        return None
    # Every topic word held, as for any answer ("combien de médiateurs formés": a target of 10 000 is no count
    # of those trained).
    if (topic := _topic_readings(q, reader)) and not _covers(reader, best, _beyond_org(reader, best, topic)):
        return None
    return _about_candidate(q, reader, best)


def _status_of_what_it_carries(
    q: Question, reader: Reader, best: Candidate, found: list[Candidate]
) -> Candidate | None:
    """ "Le CSIRT régional d'e-Brume, ça en est où ?": a status is asked, the best match is the organisation named
    (an organisation has no status) and one likely objective holds the rest of the topic, every word."""
    if best.kind != "actors" or best.how != "exact" or _cued_kind(q) != "objectives":
        return None
    name = set(fold(best.matched).split())
    rest = [[w for w in r if w not in name] for r in _topic_readings(q, reader)]
    if not rest or not all(rest):
        return None
    near = [
        c for c in found if c.kind == "objectives" and c.score >= COVER_AT and _covers(reader, c, rest, spare=False)
    ]
    return near[0] if len(near) == 1 else None


def _holding_the_topic(reader: Reader, found: list[Candidate], topic: list[list[str]]) -> list[Candidate]:
    """ "Exercice de crise cyber dans chaque GHT, c'est fini ?": no sure record covers the topic (the security
    axis, the GHT) but one likely record holds all of it, every word: that one, less sure (none when several)."""
    near = [c for c in found if c.score >= COVER_AT and _covers(reader, c, topic, spare=False)]
    if len(near) != 1:
        return []
    return [Candidate(near[0].kind, near[0].id, FACT_AT, near[0].matched, near[0].how)]


def _owner_said(q: Question) -> bool:
    """The question says an actor carries what is listed ("portés en direct par", "que pilote l'ARS"), in its
    words as typed or as corrected."""
    return any(EXPLICIT_OWNER.search(text) or OWNING_VERBS.intersection(text.split()) for text in (q.folded, q.plain))


def _names_roadmap_only(q: Question, reader: Reader, actor: Candidate, kind: str) -> bool:
    """ "Les décisions de la région sur X": "la région" names the roadmap, not an owner, when that actor carries
    none of the records listed, unless the question says it carries them ("portées par la région")."""
    return (
        roadmaps.names_a_roadmap(reader, actor.matched)
        and not owns_any(reader, actor.id, kind)
        and not EXPLICIT_OWNER.search(q.folded)
    )


def _council_of_person(q: Question, reader: Reader, found: list[Candidate]) -> Candidate | None:
    """ "X il est venu à quel CNS ?", "which council did X attend?": the one council whose record names the person
    asked (a proper name), not the person's organisation."""
    if not q.proper or not _WHICH_COUNCIL.search(q.folded):
        return None
    naming = [c for c in found if c.kind == "councils" and set(q.proper) <= reader.record_words(c.kind, c.id)]
    return (
        Candidate(naming[0].kind, naming[0].id, FACT_AT, naming[0].matched, naming[0].how) if len(naming) == 1 else None
    )


def _numbered_part(q: Question, reader: Reader, found: list[Candidate]) -> Candidate | None:
    """ "L'action 15 de l'axe 4 ça en est où": the one objective whose text numbers it so ("s'inscrit dans
    l'action 15 de l'axe 4"), not the axis or plan named beside the number."""
    asked = _NUMBERED_PART.search(q.folded)
    if not asked:
        return None
    said = re.compile(rf"\b(?:action|mesure) {asked.group(1)}\b")
    numbered = [
        c
        for c in found
        if c.kind == "objectives" and said.search(fold(str((reader.record(c.kind, c.id) or {}).get("description"))))
    ]
    if len(numbered) != 1:
        return None
    # "Is CaRE really action 15 of axis 4?": the question names the thing numbered; its own card answers.
    title = set(fold(title_of("objectives", reader.record("objectives", numbered[0].id) or {})).split())
    named = [c for c in found if c.how == "exact" and c.kind != "axes" and set(c.matched.split()) <= title]
    return None if named else numbered[0]


def _more_specific(q: Question, reader: Reader, best: Candidate, found: list[Candidate]) -> Candidate | None:
    """A record named by a short name ("DMP") is not what is asked when a likely record that also holds that
    name holds more of the question's words ("DMP auto pour les nouveaux-nés": the measure about newborns)."""
    if best.how != "exact" or asks_role(q):  # a post asked is the organisation's (see _fit_for_the_ask)
        return None
    name = set(best.matched.split())
    # Verbs of doing and kind words are no topic: "run by which agency" does not make the agency more specific.
    readings = [
        [w for w in r if w not in DOING_WORDS and w not in _FRAME_WORDS]
        for r in ([q.content_words, q.own_words] if q.translated else [q.content_words])
    ]

    def held(c: Candidate) -> float:
        words = reader.record_words(c.kind, c.id)
        return max((coverage_of(r, words) * len(r) for r in readings if r), default=0.0)

    named = held(best)
    better = [
        c
        for c in found
        if c.score >= SPECIFIC_FROM
        and (c.kind, c.id) != (best.kind, best.id)
        and name <= reader.record_words(c.kind, c.id)
        and held(c) >= named + 1
    ]
    # Several records hold as many words in their text (the DMP's measure and the plan listing it): the one whose
    # names hold them.
    return better[0] if len(better) == 1 else _named_more_specific(reader, best, found, readings, held)


def _name_words(reader: Reader, c: Candidate) -> frozenset[str]:
    """The folded words of a record's id, name or title and aliases: what it is called, not all it says. A year
    counts in its title only: an alias's year is often its plan's ("action 1 de Ma santé 2022 (2019)")."""
    record = reader.record(c.kind, c.id) or {}
    title = fold(str(record.get("name") or record.get("title") or "")).split()
    aliases = fold(" ".join([c.id.replace("-", " "), *(record.get("aliases") or [])])).split()
    return frozenset(title) | frozenset(w for w in aliases if not _YEAR_WORD.fullmatch(w))


def _named_more_specific(
    reader: Reader,
    best: Candidate,
    found: list[Candidate],
    readings: list[list[str]],
    held: Callable[[Candidate], float],
) -> Candidate | None:
    """The broad record's text often says the question's extra words too (the Health Data Hub's card tells of
    Microsoft, the DMP's of 2019): then the record whose names hold more of them ("Changement d'hébergeur du
    Health Data Hub", aka "Health Data Hub Microsoft"; "Refonte ergonomique du DMP en 2019") is the one asked,
    when it also holds one of the broad record's names and its text about as many of the question's words (a name
    sharing one word, "comptes rendus" for "comptes activés", is not more of the question)."""

    if any(w in _WHEN_OR_HOW_MANY for r in readings for w in r):
        return None  # a date or number asked: the card that states it (the measure's title may give none)

    def called(c: Candidate) -> float:
        words = _name_words(reader, c)
        return max((coverage_of(r, words) * len(r) for r in readings if r), default=0.0)

    broad = called(best)
    own = [set(w.split()) for w in {best.matched, *name_phrases(best.kind, reader.record(best.kind, best.id) or {})}]
    better = [
        c
        for c in found
        if c.score >= NAMED_SPECIFIC_FROM
        and (c.kind, c.id) != (best.kind, best.id)
        and called(c) >= broad + 1
        and held(c) > held(best) - 1
        and any(n and n <= reader.record_words(c.kind, c.id) for n in own)
    ]
    return better[0] if len(better) == 1 else None


def _fit_for_the_ask(q: Question, reader: Reader, sure: list[Candidate]) -> list[Candidate]:
    """Among the sure candidates, those that can give what is asked: an organisation whose people hold the post
    asked ("le RSSI du GRADeS": the GRADeS that has one), and only the records that hold the asked fact ("how
    much money for the CSIRT": the decision with an amount, not the objective)."""
    if asks_role(q):  # the organisations whose people hold the post, when some do; the unit that holds it
        holding = []
        for c in sure:
            units = reader.units_of(c.id) if c.kind == "actors" else []
            if c.kind != "actors" or lacks_asked_role(q, reader.record(c.kind, c.id) or {}, units):
                continue
            # "la DSI des Trois-Rivières": the digital department under the group, when the group's own people
            # do not hold the post and exactly one of its units does.
            unit = [u for u in units if not lacks_asked_role(q, u, [])]
            own = not lacks_asked_role(q, reader.record(c.kind, c.id) or {}, [])
            holding.append(
                c if own or len(unit) != 1 else Candidate("actors", unit[0]["id"], c.score, c.matched, c.how)
            )
        sure = holding or sure
    # None that lacks it: "le prochain copil" is not asked back among the past ones, nor "how many GRADeS" among
    # the groups whose text gives no number of them.
    if _asked_fact(q) or _in_question(_COUNT, q):
        sure = [c for c in sure if not _lacks_asked_fact(q, reader.record(c.kind, c.id) or {})]
    return sure


def _family(reader: Reader, c: Candidate) -> tuple[str, str]:
    return roadmaps.family(reader.record(c.kind, c.id) or {})


def _twins_elsewhere(
    q: Question, reader: Reader, best: Candidate, sure: list[Candidate], found: list[Candidate]
) -> list[Candidate]:
    """Records of the same kind from another organisation's source whose titles hold the whole topic too
    ("télésurveillance cardiaque": the group's objective and the region's), when the question names neither
    organisation: the asker must choose, however much better one name matches."""
    if roadmaps.scope(q, reader) or not (topic := _topic_readings(q, reader)):
        return []
    home = _family(reader, best)
    if any(c.kind == "actors" and c.how == "exact" and _family(reader, c) == home for c in found):
        return []
    twins = []
    for c in sure[1:5]:
        if c.kind != best.kind or _family(reader, c) == home:
            continue
        record = reader.record(c.kind, c.id) or {}
        title = set(fold(f"{title_of(c.kind, record)} {' '.join(record.get('aliases') or [])}").split())
        if all(coverage_of([w], title) >= 1 for w in topic[0]):
            twins.append(c)
    return twins


def _axis(q: Question, reader: Reader) -> Answer:
    """An axis by its number; the same number in two roadmaps the question does not choose between: which?"""
    keys = _axis_keys(q, reader)
    if len(keys) > 1:
        return _ask_back(q, reader, [Candidate("axes", k, 1.0, "", "exact") for k in keys])
    if keys:
        return _about_record(q, reader, "axes", reader.record("axes", keys[0]) or {}, "about")
    return _unknown(q, reader, [])


def _axis_keys(q: Question, reader: Reader) -> list[str]:
    """The stored axes numbered as the question says, in the roadmaps it is about."""
    return [k for k in roadmaps.axis_keys(q, reader, q.axis or "") if reader.record("axes", k)]


def _names_a_topic(reader: Reader, found: list[Candidate]) -> bool:
    """ "Quoi de neuf sur Mon espace santé", "did the CSIRT move": the news of one record named in the question,
    not a comparison of reports (an organisation with its own reviews only says whose reports to compare)."""
    best = found[0] if found else None
    if best is None or best.how != "exact" or best.score < ANSWER_AT or best.kind == "reports":
        return False
    if set(best.matched.split()) <= _REPORT_WORDS:  # "le bilan semestriel" names the reports themselves
        return False
    return not (
        best.kind == "actors" and (names_a_series(reader, [best]) or roadmaps.names_a_roadmap(reader, best.matched))
    )


def _in_scope(q: Question, reader: Reader, found: list[Candidate]) -> list[Candidate]:
    """Candidates of the roadmaps the question names ("le GRADeS de la région"), when it names one and some
    candidate belongs to it; else all of them."""
    asked = roadmaps.scope(q, reader, by_region_word=not (found and _region_word_is_in_the_name(q, found[0])))
    home = _named_family(reader, found, q)
    # An organisation named outright beats a roadmap named by a word ("the regional PACS at Three Rivers").
    if asked and found and not (home and home[0] not in asked):
        found = [c for c in found if roadmaps.roadmap_of(reader, c.kind, c.id) in asked] or found
        home = _named_family(reader, found, q)
    # An organisation named by its name ("du GH3R") scopes the rest to its own source's records.
    if home:
        kept = [c for c in found if _family(reader, c) == home]
        if any(c.kind != "actors" for c in kept):
            return kept
    return found


def _region_word_is_in_the_name(q: Question, best: Candidate) -> bool:
    """ "Qui pilote l'archivage dans le PACS régional ?": "régional" is a word of the record's own name (the
    group's PACS), not the regional roadmap named."""
    said = set(roadmaps.region_words(q.folded))
    return bool(said) and best.score >= ANSWER_AT and said <= set(fold(best.matched).split())


def _named_family(reader: Reader, found: list[Candidate], q: Question | None = None) -> tuple[str, str] | None:
    """Whose records the question is about when it names one organisation by its name, or by proper names only
    its names hold ("Three Rivers"); else None."""
    named = {_family(reader, c) for c in found if c.kind == "actors" and c.how == "exact" and c.score >= ASK_AT}
    if not named and q is not None:
        named = set(roadmaps.families_named(reader, q.proper))
    return next(iter(named)) if len(named) == 1 else None


def _beyond_org(reader: Reader, c: Candidate, topic: list[list[str]]) -> list[list[str]]:
    """The topic words a record must hold besides its organisation's name ("Three Rivers clinical data
    warehouse": the warehouse); a topic that is only that name is kept whole, but for a unit under that
    organisation, found by what its people's titles hold ("le RSSI du GH3R": the short form's words are no
    topic words)."""
    org = _org_words(reader, c)
    unit = c.kind == "actors" and c.how == "text" and c.score >= ANSWER_AT  # ranked by the post its person holds
    return [[w for w in r if w not in org] or ([] if unit else r) for r in topic]


def _org_words(reader: Reader, c: Candidate) -> frozenset[str]:
    """The names of the organisations of the record's own family ("three rivers" for the group's objectives)."""
    return roadmaps.org_words(reader, _family(reader, c))


# "Pourquoi X est repoussé ?", "why was X dropped?": putting off or dropping is decided; the decision says why.
_WHY_DECIDED = re.compile(
    r"\b(pourquoi|why)\b.*\b(repouss\w*|report\w*|decale\w*|ajourn\w*|abandonn\w*|lache\w*|annule\w*|postponed|"
    r"pushed back|put off|delayed|dropped|abandoned|cancell?ed|shelved)\b"
)


def _cued_kind(q: Question) -> str | None:
    """The kind of record the question's cues ask for: a status is an objective's, a decision a decision."""
    if "decisions" in q.cues or _WHY_DECIDED.search(q.folded):
        return "decisions"
    if q.cue_scores.get("status") and "owner" not in q.cues:
        return "objectives"
    return None


def _cued(q: Question, pool: list[Candidate]) -> list[Candidate]:
    """The candidates of the kind the question's cues ask for; who carries something is asked of what is
    carried (an objective, a programme), not of the decision about it."""
    if "owner" in q.cues and "decisions" not in q.cues:
        return [c for c in pool if c.kind != "decisions"]
    cued = [c for c in pool if c.kind == _cued_kind(q)]
    # A programme named like an objective ("l'appli carte Vitale": the app, and the 2019 plan's action about
    # it) has a status too, and is the bigger thing: the tie stays for the kinds' order to settle.
    same_name = [c for c in pool if c.kind == "programmes" and any(o.matched == c.matched for o in cued)]
    return cued + same_name
