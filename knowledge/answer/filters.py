"""Which filtered list of objectives a question asks for, if any: status, rating colour, due period, axis,
owner and roadmap, combined ("les objectifs du GRADeS en rouge", "échéance T4 2025 ?", "GHT du Littoral, il
pilote quoi ?", "DNUM : what's done?").

A question that names a filter but also a record ("l'exercice de crise est en retard ?") is about that record:
the list is answered only when the question names objectives ("objectifs", "objectives"), asks what an actor
owns, or when every other word of it is a frame word, a filter word, or the name of the owner, axis or roadmap
filtered on. A proper name nothing explains, a role ("il fait quoi ?") or a change ("passés en retard entre
mars et septembre") is never answered as a list.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

from .. import roadmaps
from ..model import Answer
from ..store import Reader, title_of
from ..text import STOPWORDS, fold
from ..tuning import ANSWER_AT, ASK_AT, AXIS_NAMED_AT
from ..understand import Candidate, Question
from ..vocabulary import STATUS_WORDS
from .common import _NUMBER_WORDS
from .lists import (
    _PLURAL_OBJECTIVES,
    _PLURALS,
    Owner,
    _objective_list,
    _objective_where,
    _reported_colour_list,
    roadmap_by_title,
)

_AXIS_WORD = re.compile(r"\b(axe|axes|axis)\b")
# Words that frame a filter question without naming what it is about ("ceux qui sont reportés ?", "what's
# amber?", "URPS stuff that's been put off", "rien qui tombe début 2026 ?").
FRAME = frozenset(
    """ceux celles lesquels lesquelles laquelle lequel quoi what whats thats theres that there it its anything
    something nothing rien quelque chose choses projets projet projects project chantiers chantier axe axes axis stuff staff things
    thing trucs truc already deja encore still yet now right currently actuellement maintenant lights light feu feux
    ones one those these items elements y a il elle ils elles on sont est etait ete been has have hasn haven got
    went gone ont doit doivent must should va vont going any some aucun aucune tout tous toutes all plan plans
    roadmap feuille route regional regionale regionaux national nationale objectifs objectif objectives
    objective engagements actions action actuel sante digital numerique meteo weather couleur colour color
    rating renseigne renseignee renseignes renseignees sans without no not pas non set given echeance echeances
    due deadline deadlines finir finis fini finit terminer termine tombe tombent arrive arrivee arrivent terme
    prevu prevue prevus prevues expected planned ends end ending fin debut courant mi milieu early late mid
    middle beginning start summer spring autumn fall winter ete printemps automne hiver semestre trimestre half
    quarter first second premier deuxieme by d ici lead leads led own owns owned run runs carry carries manage
    manages pilot pilote pilotes porte portes gere mene dirige coordonne finance bosse travaille fait charge
    responsible working work direct directement in en au aux dans chez of du de des la le les""".split()
)
_COLOUR_WORDS = frozenset(
    "rouge rouges red orange oranges amber ambre jaune jaunes yellow vigilance vert verts verte vertes green".split()
)
# "Portés par X", "owned by X", "carried by X": X is the owner asked, even where its name also names a roadmap.
EXPLICIT_OWNER = re.compile(
    r"\b(porte|portes|portee|portees|pilote|pilotes|pilotee|pilotees|gere|geres|mene|menes)\s+(en \w+\s+|\w+ment\s+)?par\b|"
    r"\b(owned|led|run|managed|carried|carries)\s+by\b|\ben direct\b"
)
# Verbs by which an actor carries objectives in the active voice ("quels objectifs l'ARS pilote-t-elle ?", "what
# does the ARS own?"): then its own objectives are asked, even when its name also names its roadmap.
OWNING_VERBS = frozenset(
    "pilote pilotent porte portent gere gerent mene menent own owns lead leads run runs carry carries manage manages".split()
)
_PERIOD_TOKEN = re.compile(r"^(\d{1,4}|[stqh][1-4])$")


def objective_filters(
    q: Question, reader: Reader, found: list[Candidate], every: list[Candidate] | None = None
) -> Answer | None:
    """The filtered objective list the question asks for, or None when it asks something else. `found`: the
    candidates of the roadmaps or organisation asked about; `every`: all of them (an axis named in another
    roadmap's words is carried to the one asked)."""
    listing = (
        "list" in q.cues or "objectifs" in q.folded or "objectives" in q.folded or bool(_CONTENTS.search(q.folded))
    )
    axis_word = bool(_AXIS_WORD.search(q.folded))
    filter_words = q.status or q.colour or q.due
    if not (filter_words or q.owned or (listing and (q.axis or axis_word))):
        return None
    if q.colour and q.mentions_report:
        # "which objectives went red in the last bilan?": the colour a progress report gave, not the rating column.
        return _reported_colour_list(q, reader)
    if _BECAME.search(q.folded):
        return None  # "quels objectifs sont passés en retard entre mars et septembre ?": a change, not a state
    if _ROLE.search(q.folded):
        return None  # "Benali il fait quoi ?": a person's role
    plural = next((kind for kind, pattern in _PLURALS.items() if pattern.search(q.folded)), None)
    actor = _named(found, "actors", exact=True)
    if plural == "programmes" and actor and owns_any(reader, actor.id, "programmes"):
        return None  # "les programmes de l'ANS": its programmes
    if plural not in (None, "objectives", "axes", "programmes"):
        return None  # "décisions ajournées": another kind's list
    owner = _owner(q, reader, found)
    if q.owned and owner is None:
        return None
    roadmap = roadmap_by_title(q, reader) or _scope_beside(q, reader, found, owner)
    axis = None if q.axis else _axis(q, reader, found, axis_word or bool(filter_words), owner, roadmap, every)
    if axis_word and not (q.axis or axis) and _axis_named(q):
        return None  # "cyber axis objectives ...": an axis named in words that names no axis is not dropped
    if not (filter_words or q.axis or axis or (owner and (q.owned or listing))):
        return None
    if not _PLURAL_OBJECTIVES.search(q.folded) and not q.owned:  # "tous les ... c'est fait ?" is no list
        if owner is None and actor and not roadmaps.names_a_roadmap(reader, actor.matched):
            return None  # "que fait la CNIL ?": an actor that owns no objective is asked about, not a list
        if _other_words(q, reader, found, axis, roadmap, owner):
            return None
        due_asked = q.due and _DUE_NOUN.search(q.folded)  # "échéance T4 2025 ?", not "c'est prévu pour 2026 ?"
        if not (owner or axis or q.axis or roadmap or due_asked or _MANY.search(q.folded)):
            return None  # "c'est fait ?", "is it late?": about the thing just discussed, not a list
    programme = _programme_named(q, reader, found) if _PLURAL_OBJECTIVES.search(q.folded) else None
    if _unexplained_proper(q, reader, found, axis, owner, programme):
        return None  # "cyber axis objectives at Three Rivers": a name no filter explains, not a guess
    if listing and not _PLURAL_OBJECTIVES.search(q.folded) and not (filter_words or q.axis or axis or q.owned):
        return None  # "quels ... portés par X" without "objectifs" may mean programmes
    return _objective_list(q, reader, owner=owner, axis=axis.id if axis else None, roadmap=roadmap, programme=programme)


# A programme that is itself a roadmap or plan ("la feuille de route 2023-2027") scopes nothing by its name.
_PLAN_NAME = re.compile(r"\b(feuille de route|roadmap|plan|strategie|strategy)\b")


def _scope_beside(q: Question, reader: Reader, found: list[Candidate], owner: Owner | None) -> list[str] | None:
    """The roadmaps asked about when a word of the owner's name also names a roadmap ("the regional health
    agencies" own national objectives; "regional" alone would mean the region's roadmap): those the rest of the
    question names, else all of them. None when the owner's name does not change the scope."""
    matched = next((c.matched for c in found if owner and c.kind == "actors" and c.id == owner.actor), "")
    if not matched or not roadmaps.scope(q, reader):
        return None
    name = set(fold(matched).split())
    rest = SimpleNamespace(folded=" ".join(w for w in q.folded.split() if w not in name))
    beside = roadmaps.scope(rest, reader)
    return None if beside == roadmaps.scope(q, reader) else beside or list(roadmaps.loaded(reader))


def _programme_named(q: Question, reader: Reader, found: list[Candidate]) -> dict | None:
    """The programme the objectives asked about belong to ("Mon espace santé objectives due in 2026"): named by
    its name, and not a roadmap or plan."""
    named = next((c for c in found if c.kind == "programmes" and c.how == "exact" and c.score >= ANSWER_AT), None)
    record = reader.record("programmes", named.id) if named else None
    if record is None or _PLAN_NAME.search(fold(title_of("programmes", record))):
        return None
    return record


# Words that ask for several things ("ceux qui sont reportés", "what's amber", "anything due", "rien qui tombe"),
# as against "c'est fait ?" or "is it late?", which ask about the one thing just discussed.
_MANY = re.compile(
    r"\b(ceux|celles|lesquel\w*|quoi|what|whats|which|anything|something|rien|stuff|things?|trucs?|quels?|quelles?|"
    r"tous|toutes|all|ones|those|qu est ce qui|qu est ce que|combien|liste\w*|list)\b"
)
_DUE_NOUN = re.compile(r"\b(echeances?|deadlines?|due)\b")
# "What's in axis 3", "que contient l'axe 2": the axis's objectives.
_CONTENTS = re.compile(r"\b(what s in|what is in|whats in|que contient|qu y a t il dans|contenu de)\b")
# A status reached between two dates is a change (answer/changes.py), not a list of the current state.
_BECAME = re.compile(r"\b(passe\w* (en|au|a)|devenu\w*|went|turned|became|become|moved (to|into)|bascule\w*)\b")
# "Il fait quoi ?", "what does she do": a person's or body's role, not what they own.
_ROLE = re.compile(r"\b(fai(t|s|tes|sait) quoi|que (fait|font|faisait)|what (does|do)\b.{1,60}?\bdo)\b")


def _axis_named(q: Question) -> bool:
    """The question names an axis in words ("l'axe cybersécurité", "cyber axis"), not just "axe"/"axis"."""
    return any(w not in FRAME and w not in STOPWORDS and not w.isdigit() for w in _near_axis_word(q.folded))


def _near_axis_word(folded: str) -> list[str]:
    words = folded.split()
    at = next((i for i, w in enumerate(words) if _AXIS_WORD.fullmatch(w)), None)
    return [] if at is None else words[max(0, at - 1) : at + 3]


def _axis(
    q: Question,
    reader: Reader,
    found: list[Candidate],
    named: bool,
    owner: Owner | None,
    roadmap: list[str] | None,
    every: list[Candidate] | None = None,
) -> Candidate | None:
    """The axis the question names in words: with the word "axe" or one sure match, the likely ones; among
    several (the same words name axes of different roadmaps: "services socles", "prévention"), the first whose
    objectives pass the question's other filters."""
    if not named:
        return None
    axes = [c for c in found if c.kind == "axes"]
    if not _AXIS_WORD.search(q.folded) and not any(c.score >= ASK_AT for c in axes):
        return None
    options = [c for c in axes if c.score >= AXIS_NAMED_AT][:4]
    if owner or roadmap or roadmaps.scope(q, reader):
        # The same axis in the plan or roadmap asked: "cyber" names the region's "Sécurité" axis, and at Three
        # Rivers the group's "axe sécurité 3R" (an axis whose words hold the named axis's title); "l'axe
        # cybersécurité de l'ARS" is the region's axis named "cybersécurité", inside the national one's name.
        elsewhere = [c for c in every or [] if c.kind == "axes" and c.score >= AXIS_NAMED_AT][:1]
        options += [
            _carried(c, a)
            for c in options[:1] or elsewhere
            for a in _axes_holding_title(reader, c) + _axes_named_within(reader, c)
        ]
    for c in options:
        clause, params, _ = _objective_where(q, reader, owner, c.id, roadmap)
        if reader.count("objectives", clause, tuple(params)):
            return c
    return options[0] if options else None


def _axes_holding_title(reader: Reader, axis: Candidate) -> list[dict]:
    """The other axes whose words hold every word of this axis's title."""
    record = reader.record("axes", axis.id)
    words = {w for w in fold(title_of("axes", record) if record else "").split() if w not in STOPWORDS}
    if not words:
        return []
    return [
        a
        for a in reader.records("axes", "id != ?", (axis.id,), limit=500)
        if words <= reader.record_words("axes", a["id"])
    ]


def _axes_named_within(reader: Reader, axis: Candidate) -> list[dict]:
    """The other axes one of whose names is part of the name this axis was matched by."""
    words = axis.matched.split()
    grams = [" ".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, len(words) + 1)]
    rows = [r for r in reader.names(grams) if r["kind"] == "axes" and r["id"] != axis.id]
    return [a for r in rows if (a := reader.record("axes", r["id"]))]


def _carried(axis: Candidate, record: dict) -> Candidate:
    return Candidate("axes", record["id"], axis.score, axis.matched, axis.how)


def _named(found: list[Candidate], kind: str, exact: bool = False) -> Candidate | None:
    """The best record of a kind the question names (by its name when `exact`), sure enough to filter on."""
    return next((c for c in found if c.kind == kind and c.score >= ASK_AT and (c.how == "exact" or not exact)), None)


def _owner(q: Question, reader: Reader, found: list[Candidate]) -> Owner | None:
    """The actor whose objectives are asked. Among actors of the same name ("GRADeS": the national collective and
    a region's GRADeS) the one that owns objectives in the roadmaps asked about; one that owns none itself
    stands for the units under it, else for the plan its source declares ("objectifs du GH3R")."""
    actors = [c for c in found if c.kind == "actors" and c.score >= ASK_AT and (c.how == "exact" or q.owned)]
    titles = {w for title in roadmaps.loaded(reader).values() for w in fold(title).split()}
    if not actors and q.proper and not set(q.proper) <= titles:
        # "which Three Rivers objectives are late?": an organisation whose record holds every proper name written
        # (a name in a roadmap's title, "Val-de-Brume", names that roadmap instead).
        actors = [c for c in found if c.kind == "actors" and set(q.proper) <= reader.record_words("actors", c.id)][:1]
    if not actors and q.owned and (words := [w for w in q.plain.split() if w not in FRAME and w not in STOPWORDS]):
        # "what is the Conseil régional in charge of?": the organisation whose record holds all the other words.
        actors = [c for c in found if c.kind == "actors" and set(words) <= reader.record_words("actors", c.id)][:1]
    if not actors:
        return _plan_marked(q, reader)
    explicit = q.owned or bool(EXPLICIT_OWNER.search(q.folded))
    if not explicit and roadmaps.names_a_roadmap(reader, actors[0].matched):
        return None  # "les objectifs de l'ARS": its roadmap, not what it owns itself
    best = actors[0].score
    same = [c for c in actors if best - c.score < 0.02 or c.matched == actors[0].matched]
    for c in same:
        if _owns(q, reader, [c.id]):
            return Owner(_name(reader, c.id), (c.id,), actor=c.id)
    for c in same:
        record = reader.record("actors", c.id)
        plan = (record or {}).get("source_title") or ""
        if plan and reader.count("objectives", "source_title = ?", (plan,)):
            return Owner(_name(reader, c.id), plan=plan, actor=c.id)
        units = _units_under(reader, c.id)
        if units and _owns(q, reader, units):
            return Owner(_name(reader, c.id), (c.id, *units), actor=c.id)
    return Owner(_name(reader, actors[0].id), (actors[0].id,), actor=actors[0].id) if explicit or q.owned else None


def _plan_marked(q: Question, reader: Reader) -> Owner | None:
    """The plan a question names by its organisations' mark ("the 3R plan": "3R" is in the names of several of the
    group's units, DNUM-3R, SECU-3R..., and of no other organisation's)."""
    marks = _plan_marks(reader)
    plans = {marks[w] for w in q.plain.split() if w in marks and w not in FRAME and w not in STOPWORDS}
    if len(plans) != 1:
        return None
    plan = plans.pop()
    return Owner(plan, plan=plan)


def _plan_marks(reader: Reader) -> dict[str, str]:
    """word -> plan, for the words in the names of two or more organisations of a plan loaded in the national
    roadmap and in no other organisation's name, that are in the plan's title or hold a digit: a code like "3R",
    not a common word its units share (once per version)."""
    if "plan_marks" not in reader.memo:
        rows = reader.rows(
            "SELECT n.name, a.id, a.roadmap, a.source_title FROM names n JOIN actors a ON a.id = n.id AND n.kind = 'actors'"
        )
        holders: dict[str, set[tuple[str, str]]] = {}
        actors: dict[str, set[str]] = {}
        for r in rows:
            for w in set(r["name"].split()):
                holders.setdefault(w, set()).add(roadmaps.family(r))
                actors.setdefault(w, set()).add(r["id"])
        reader.memo["plan_marks"] = {
            w: home[1]
            for w, homes in holders.items()
            if len(homes) == 1
            and (home := next(iter(homes)))[1]
            and len(actors[w]) >= 2
            and (w in fold(home[1]).split() or any(ch.isdigit() for ch in w))  # not "department", "medicale"
            and w not in _NUMBER_WORDS  # "les trois objectifs en retard" counts, it names no group
        }
    return reader.memo["plan_marks"]


def owns_any(reader: Reader, actor: str, kind: str) -> bool:
    """The actor owns at least one record of that kind."""
    return kind in ("objectives", "programmes", "decisions") and bool(
        reader.count("owners", "kind = ? AND actor = ?", (kind, actor))
    )


def _name(reader: Reader, actor: str) -> str:
    record = reader.record("actors", actor)
    return title_of("actors", record).split(" — ")[0] if record else actor


def _owns(q: Question, reader: Reader, actors: list[str]) -> bool:
    scoped, asked = roadmaps.scope_clause(q, reader)
    marks = ",".join("?" * len(actors))
    where = f"{scoped} AND id IN (SELECT id FROM owners WHERE kind = 'objectives' AND actor IN ({marks}))"
    return reader.count("objectives", where, (*asked, *actors)) > 0


def _units_under(reader: Reader, actor: str, depth: int = 3) -> list[str]:
    """The actors under `actor` (its units, their units...), nearest first."""
    found: list[str] = []
    level = [actor]
    for _ in range(depth):
        marks = ",".join("?" * len(level))
        level = [r["id"] for r in reader.rows(f"SELECT id FROM actors WHERE parent IN ({marks})", level)]
        level = [a for a in level if a not in found and a != actor]
        if not level:
            break
        found += level
    return found


def _other_words(
    q: Question,
    reader: Reader,
    found: list[Candidate],
    axis: Candidate | None,
    roadmap: list[str] | None,
    owner: Owner | None = None,
) -> bool:
    """The question holds a word that is neither a frame or filter word nor the name of the owner, axis or
    roadmap filtered on: it is about something else ("l'exercice de crise est en retard ?")."""
    named: set[str] = set()
    for rid in roadmap or roadmaps.scope(q, reader):  # a roadmap named by its owner or title filters too
        named.update(fold(roadmaps.loaded(reader)[rid]).split())
    for c in found:
        if (c.score >= ASK_AT and c.kind in ("actors", "axes")) or c is axis:
            named.update(c.matched.split())
            record = reader.record(c.kind, c.id)
            if record:
                named.update(fold(title_of(c.kind, record)).split())
    if owner and owner.plan:  # "the 3R plan": the names of its organisations
        named.update(roadmaps.org_words(reader, (roadmaps.NATIONAL, owner.plan)))
    status_words = {w for phrase in STATUS_WORDS for w in phrase.split()}

    known = FRAME | _COLOUR_WORDS | status_words | named
    starts = {n[:6] for n in named if len(n) >= 6}  # "security" names "Sécurité", "interoperability" too

    def left(words: list[str]) -> list[str]:
        return [
            w
            for w in words
            if not {w, w.removesuffix("s"), w.removesuffix("es"), w.removesuffix("e")} & known  # "terminés"
            and not (len(w) >= 6 and w[:6] in starts)
            and not _PERIOD_TOKEN.match(w)
            and not roadmaps.names_a_roadmap(reader, w)
        ]

    # Read as typed and as normalised: either reading with nothing left over is a filter question.
    return all(left(words) for words in (q.own_words, _content_plain(q), q.content_words))


def _unexplained_proper(
    q: Question,
    reader: Reader,
    found: list[Candidate],
    axis: Candidate | None,
    owner: Owner | None,
    programme: dict | None,
) -> bool:
    """A word written as a proper name ("Three Rivers", "Bretagne") that neither the owner, the axis, the
    programme nor a roadmap's name holds: the list would leave it out, so it is not answered as one."""
    if not q.proper:
        return False
    held: set[str] = set()
    for title in roadmaps.loaded(reader).values():
        held.update(fold(title).split())
    for c in found:
        if (c.kind in ("actors", "axes") and c.score >= ASK_AT) or c is axis:
            held.update(reader.record_words(c.kind, c.id))
    if owner and owner.actor:
        held.update(reader.record_words("actors", owner.actor))
    if programme:
        held.update(reader.record_words("programmes", programme["id"]))
    return any(w not in held for w in q.proper)


def _content_plain(q: Question) -> list[str]:
    return [w for w in q.plain.split() if len(w) > 1 and w not in FRAME]
