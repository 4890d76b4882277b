"""One fact a record's text states (a count, an amount, a rate, a date, a reason), asked of a record the
question names only by its topic: "combien d'exercices de crise cyber ont été réalisés ?" is the regional
objective whose description reads "Quatre exercices réalisés, un par GHT."

The records' names cover the question's topic poorly (the fact's words are in the question, not the title), so
no candidate is sure enough; here the topic is checked against every word of each likely record, and the
record must hold a sentence of the asked fact's shape. The answer puts that sentence first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..model import Answer
from ..store import Reader, title_of
from ..text import STOPWORDS, fold, fold_accents
from ..tuning import FACT_AT, FACT_CANDIDATES, FACT_FROM, FACT_NEAR, FACT_TOPIC, FACT_WINDOW
from ..understand import Candidate, Question, coverage_of, held_whole
from ..vocabulary import STATUS_WORDS
from .common import _COUNT, _MONEY, DOING_WORDS, QUESTION_WORDS, _asked_fact, _intent, _texts, gives_count
from .common import _sentences as _sentences_of
from .fallbacks import _ask_back
from .records import _about_record


@dataclass(frozen=True)
class Fact:
    """A kind of fact: the words that ask it, and the shape of a sentence (or the fields) that state it."""

    name: str
    asked: re.Pattern[str]  # read on the normalised question
    shape: re.Pattern[str] | None  # a sentence stating it (folded); None: the counted noun decides (counts)
    fields: tuple[str, ...]  # record fields that state it whatever their wording


_DATE = re.compile(
    r"\b\d{1,2}(er)? (janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|octobre|novembre|decembre|"
    r"january|february|march|april|may|june|july|august|september|october|november|december) (19|20)\d\d\b|"
    r"\b\d{1,2}/\d{1,2}/(19|20)\d\d\b|\b(19|20)\d\d-\d\d-\d\d\b"
)
# Checked in this order: "combien a coûté" is an amount before it is a count.
FACTS: tuple[Fact, ...] = (
    Fact(
        "amount",
        re.compile(
            r"\b(combien (a |ont )?(coute|coutent|coutera|coutait)|how much (money|did|does|was|is|for|funding)|"
            r"combien de (millions|milliards|euros|thunes|m|md|k|meur|keur)|coute|coutent|coutera|"
            r"montant|budget|cout|couts|cost|costs|money|argent|thunes|enveloppe|financement|funding|spend|spent)\b"
        ),
        _MONEY,
        ("amount", "budget"),
    ),
    Fact("percent", re.compile(r"\b(pourcentage|taux|percent\w*|what %|quel %)"), re.compile(r"\d\s*%"), ()),
    Fact(
        "attendance",
        re.compile(r"\b(participants?|attendees?|attended|presents)\b"),
        re.compile(r"\b\d+ (participants|personnes|presents|people|attendees)\b"),
        ("participants",),
    ),
    Fact("count", _COUNT, None, ()),
    # "Combien pour la rallonge ?": no noun counted, a sum or a figure next to the topic.
    Fact(
        "quantity",
        re.compile(r"\b(combien|how much)\b"),
        re.compile(rf"{_MONEY.pattern}|\b\d[\d ,.]*\b"),
        ("amount", "budget", "participants"),
    ),
    Fact(
        "date",
        re.compile(r"^(quand|when)\b|\b(quelle date|what date|a quelle date|on what day|quel jour|date de)\b"),
        _DATE,
        ("date", "published", "due", "end", "start"),
    ),
    Fact(
        "reason",
        re.compile(r"\b(pourquoi|why|raison|reason|how come|for what reason)\b"),
        re.compile(r"\w"),
        (),
    ),
)
# Fields that are never a stated fact: identifiers, addresses, fingerprints.
_NOT_TEXT = frozenset({"id", "url", "hash", "roadmap", "local_id", "source_title", "status_url", "axis", "owners"})
# Facts common.py knows no record holds (the future, contacts, salaries, how-to): never looked for here.
_HELD_BY_NONE = frozenset({"next", "contact", "salary", "successor", "support", "document", "private", "opinion"})
# Words that ask for a fact or carry the verb, in both languages and translated: never the topic.
_ASKING = (
    QUESTION_WORDS
    | DOING_WORDS
    | frozenset("money montant budget cout couts cost costs date raison reason taux pourcentage percent".split())
    # The verbs of a target ("combien de documents on vise") and "are there": the record states it in its words.
    | frozenset("vise visee visees visent viser target targeted aim aimed there".split())
)
_PROSE = ("description", "summary", "status_comment", "role", "comment")


def asked_fact(q: Question) -> Fact | None:
    return next((f for f in FACTS if f.asked.search(q.folded) and (f.name != "count" or _counted(q))), None)


@dataclass(frozen=True)
class _Asked:
    """The fact a question asks and its topic: one list of words per reading (translated, own, as typed)."""

    fact: Fact
    topics: list[list[str]]


def _asked(q: Question) -> _Asked | None:
    fact = asked_fact(q)
    if fact is None or set(_asked_fact(q)) & _HELD_BY_NONE:
        return None
    asking = {w for m in fact.asked.finditer(q.folded) for w in m[0].split()} - _counted(q)
    # The words as typed too: a short form the record spells as typed ("cyber") was expanded in the others.
    typed = [w for w in q.plain.split() if w not in STOPWORDS and len(w) > 1]
    # A status word ("repoussé", "bloque") is said by the record's status, not by its words.
    readings = (q.content_words, q.own_words, typed)
    skip = asking | _ASKING | q.frame | {w for words in readings for w in words if w in STATUS_WORDS}
    topics = [t for words in readings if (t := [w for w in words if w not in skip])]
    topics = [[w for w in t if not w.isdigit()] for t in topics]
    return _Asked(fact, topics) if any(len(t) >= FACT_FROM for t in topics) else None


def _holding(q: Question, asked: _Asked, reader: Reader, c: Candidate) -> tuple[float, float, float, str] | None:
    """How well the record holds the topic (all its words; its title with the sentence stating the fact; that
    sentence alone) and the sentence; None when it holds too little of the topic or no sentence of the shape."""
    held = reader.record_words(c.kind, c.id)
    # A record holding too few of the words as they are cannot reach FACT_TOPIC with typos (3/4 each): skipped
    # before the typo-tolerant count, which is slow on a long record.
    if all((n := held_whole(t, held)) + 0.75 * (len(t) - n) < FACT_TOPIC * len(t) for t in asked.topics if t):
        return None
    coverage = max(coverage_of(t, held) for t in asked.topics)
    record = reader.record(c.kind, c.id) if coverage >= FACT_TOPIC else None
    if record is None or _other_status(q, asked, c.kind, record):
        return None
    title = fold(title_of(c.kind, record)).split()
    near = [
        (
            max(coverage_of(t, {*title, *fold(s).split()}) for t in asked.topics),
            max(coverage_of(t, set(fold(s).split())) for t in asked.topics),
            s,
        )
        for s in _stated(q, asked, record)
    ]
    near = [n for n in near if n[0] >= FACT_NEAR]
    return (coverage, *max(near, key=lambda n: n[:2])) if near else None


def states_asked_fact(q: Question, reader: Reader, c: Candidate) -> bool:
    """The record states the fact the question asks, or is all the question names (True when it asks none of
    the kinds read here): "le budget d'HOP'EN 2" is HOP'EN 2's, not the budget of a record naming it."""
    asked = _asked(q)
    if asked is None or _holding(q, asked, reader, c) is not None:
        return True
    if _other_status(q, asked, c.kind, reader.record(c.kind, c.id) or {}):
        return False
    named = set(c.matched.split()) if c.how == "exact" else set()
    return any(set(t) - _counted(q) <= named for t in asked.topics)


def fact_answer(q: Question, reader: Reader, candidates: list[Candidate]) -> Answer | None:
    """The one likely record that holds the question's topic in any field and a sentence of the asked fact's
    shape near it (its title and that sentence hold part of the topic); None when no record does, choices
    when several do equally."""
    asked = _asked(q)
    if asked is None:
        return None
    held = [(*h, c) for c in candidates[:FACT_CANDIDATES] if (h := _holding(q, asked, reader, c))]
    if not held:
        return None
    held.sort(key=lambda h: (-h[0], -h[2], -h[1], -h[4].score))
    tied = [h[4] for h in held if h[:3] == held[0][:3]]
    if len(tied) > 1:  # two records state it as well ("exercices de crise": the nation's and the region's)
        return _ask_back(q, reader, tied[:3])
    *_, sentence, best = held[0]
    record = reader.record(best.kind, best.id)
    assert record is not None
    intent = _intent(q, best.kind) if best.kind == "decisions" else "about"
    answer = _about_record(q, reader, best.kind, record, intent, matched=best.matched)
    if fold(sentence) not in fold(answer.text.split("\n")[0]):
        answer.text = f"{sentence}\n{answer.text}".strip()
    answer.confidence = FACT_AT
    return answer


def lead_with_fact(q: Question, reader: Reader, answer: Answer) -> None:
    """One record answered by its name, asked one fact its text states ("combien de GRADeS ?": "Les 17 GRADeS
    ont créé…" deep in its role): that sentence first, as a fact found by its text is shown."""
    asked = _asked(q)
    if asked is None or len(answer.results) != 1 or answer.choices:
        return
    result = answer.results[0]
    held = _holding(q, asked, reader, Candidate(result["kind"], result["id"], 1.0, "", "exact"))
    if held and fold(held[3]) not in fold(answer.text.split("\n")[0]):
        answer.text = f"{held[3]}\n{answer.text}".strip()


def _other_status(q: Question, asked: _Asked, kind: str, record: dict[str, Any]) -> bool:
    """ "Pourquoi … abandonnée ?" asks of an objective abandoned, not of one still under way."""
    status = record.get("status")
    return asked.fact.name == "reason" and kind == "objectives" and bool(q.status and status) and status != q.status


def _stated(q: Question, asked: _Asked, record: dict[str, Any]) -> list[str]:
    """The record's fields and sentences that state a fact of this shape, next to a word of the topic ("HOP'EN
    (instruction de 2019) et ... SUN-ES, 210 M€" does not give HOP'EN's budget)."""
    fact = asked.fact
    found = [str(record[name]) for name in fact.fields if record.get(name)]
    for sentence in _sentences(record, reason=fact.name == "reason"):
        if fact.shape is None:
            if gives_count(q, sentence):
                found.append(sentence)
        elif fact.name == "reason" or _near_topic(fact.shape, sentence, asked.topics):
            found.append(sentence)
    return found


def _near_topic(shape: re.Pattern[str], sentence: str, topics: list[list[str]]) -> bool:
    text = fold_accents(sentence).lower()
    words = [(m.start(), m[0]) for m in re.finditer(r"\w+", text)]
    for m in shape.finditer(text):
        at = next((i for i, (start, _) in enumerate(words) if start >= m.start()), len(words))
        window = {w for _, w in words[max(0, at - FACT_WINDOW) : at + FACT_WINDOW]}
        # More than half of the topic's words ("le coût d'HospiConnect par établissement": both).
        if any(sum(coverage_of([w], window) >= 0.75 for w in topic) > len(topic) / 2 for topic in topics if topic):
            return True
    return False


def _sentences(record: dict[str, Any], reason: bool = False) -> list[str]:
    """The record's text, sentence by sentence; a reason is given in its prose (a summary, a description, a
    review's comment), never in its name, title or status words."""
    if reason:
        texts = [str(record[k]) for k in _PROSE if record.get(k)]
        texts += [str(e["comment"]) for e in record.get("statuses") or [] if isinstance(e, dict) and e.get("comment")]
    else:
        texts = [t for key, value in record.items() if key not in _NOT_TEXT for t in _texts(value)]
    return _sentences_of([t for t in texts if " " in t], denials=reason)


def _counted(q: Question) -> set[str]:
    """The counted noun ("combien d'exercices": exercices), a topic word though the count's pattern holds it;
    none in "combien pour la rallonge" (a word that counts nothing)."""
    m = _COUNT.search(q.folded)
    return {m[1]} if m and m[1] not in STOPWORDS and m[1] not in _ASKING else set()
