"""Which answer a question gets: the order of the rules is the routing (see docs/understanding.md)."""

from __future__ import annotations

import re

from .. import roadmaps
from ..model import Answer
from ..store import Reader, title_of
from ..text import fold
from ..tuning import ANSWER_AT, ASK_AT, CLOSE, PASSAGE_OVER, RIVAL
from ..understand import KIND_ORDER, Candidate, Question, resolve
from .changes import _changes, _named_change
from .common import _covers, _holds_words, _once, _topic_readings
from .councils import _council, _council_list, _decision_list, _decisions_on, _decisions_since
from .fallbacks import _ask_back, _help, _passage, _unknown
from .filters import objective_filters, owns_any
from .lists import (
    _LIST_WORDS,
    _PLURAL_OBJECTIVES,
    _PLURALS,
    _axis_list,
    _kind_list,
    _named_kind,
    _objective_list,
    _plural_kind,
    _programme_list,
)
from .records import _about_candidate, _about_record, _objective

_AXIS_WORD = re.compile(r"\b(axe|axes|axis)\b")


def _holds_other_name(reader: Reader, c: Candidate, exact: list[Candidate]) -> bool:
    record = reader.record(c.kind, c.id)
    title = f" {fold(title_of(c.kind, record))} " if record else ""
    return any(o.matched != c.matched and f" {o.matched} " in title for o in exact if (o.kind, o.id) != (c.kind, c.id))


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
    if "decisions" in q.kinds or (q.decision_status and q.when and "objectives" not in q.kinds):
        # "décisions ajournées", "qu'est-ce qui a été ajourné en juin 2025 ?", "decisions with money attached"
        if listed := _decision_list(q, reader, _in_scope(q, reader, candidates()), since=False):
            return listed
    if q.status or q.colour or q.due or q.owned or q.axis or _AXIS_WORD.search(q.folded):
        # Combined filters: status, rating colour, due period, axis (by number or in words), owner, roadmap.
        if listed := objective_filters(q, reader, _in_scope(q, reader, candidates())):
            return listed
    if q.axis and not _PLURAL_OBJECTIVES.search(q.folded) and len(q.content_words) <= 3 and q.cues <= {"about"}:
        record = reader.record("axes", roadmaps.axis_keys(q, reader, q.axis)[0])
        if record:
            return _about_record(q, reader, "axes", record, "about")
    found = _in_scope(q, reader, candidates())
    if q.proper:  # "l'ARS Bretagne": a record that does not hold "Bretagne" is not what is asked
        found = [c for c in found if _holds_words(reader, c, q.proper)]
    if listed := _council_list(q, reader):
        return listed
    plural = _plural_kind(q.folded)
    if plural == "axes" and not q.axis and (listed := _axis_list(q, reader, found)):
        return listed
    if plural == "programmes" and (listed := _programme_list(q, reader)):
        return listed
    if plural:
        # Among actors of the same name, the one that owns records of the kind listed ("GRADeS": the region's).
        exact = [c for c in found if c.kind == "actors" and c.how == "exact"]
        actor = next((c for c in exact if owns_any(reader, c.id, plural)), exact[0] if exact else None)
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
