"""Lists: objectives by status, rating colour, due period, axis, owner, programme and roadmap (which question
asks for one: answer/filters.py); axes of a plan; programmes by start or end year; every record of a kind."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from .. import roadmaps
from ..model import Answer
from ..phrases import colour_name, date_words, label, say, status_word
from ..store import Reader, title_of
from ..text import STOPWORDS, fold
from ..understand import Candidate, Question
from ..vocabulary import LATE_BUCKETS, SOURCE_STATUS_WORDS
from .common import MAX_LIST, _dedupe, _result, _sources, _status_suffix, list_answer, named_plan

_PLURAL_OBJECTIVES = re.compile(r"\b(objectifs|objectives|engagements|commitments)\b")


_PLURALS = {
    "objectives": _PLURAL_OBJECTIVES,
    "programmes": re.compile(r"\b(programmes|programs|dispositifs|projets|projects)\b"),
    "councils": re.compile(r"\b(conseils|councils|editions|comites|committees)\b"),
    "actors": re.compile(r"\b(acteurs|actors|agences|agencies|organismes|institutions)\b"),
    "decisions": re.compile(r"\b(decisions)\b"),
    "axes": re.compile(r"\b(axes|orientations)\b"),
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


# The rating column a roadmap may add to its objectives ("météo": vert/orange/rouge), under the names sources
# give it, and the words of each colour in it. Read from `extra`: no source format declares it.
_COLOUR_COLUMNS = ("météo", "meteo", "weather", "couleur", "colour", "color", "feu")
_COLOUR_VALUES = {
    "red": ("rouge", "red"),
    "orange": ("orange", "amber", "ambre", "jaune", "yellow"),
    "green": ("vert", "verte", "green"),
}
_COLOUR = "lower(trim(COALESCE(" + ", ".join(f"json_extract(extra, '$.\"{c}\"')" for c in _COLOUR_COLUMNS) + ", '')))"


@dataclass(frozen=True)
class Owner:
    """Whose objectives a list shows: an actor's own (`ids`: the actor, or the units under it when it owns
    none itself), or those of the plan its source declares (`plan`, a source title)."""

    name: str
    ids: tuple[str, ...] = ()
    plan: str = ""
    actor: str = ""  # the actor named (whose units or plan `ids` or `plan` may stand for)


def _objective_where(
    q: Question,
    reader: Reader,
    owner: Owner | None = None,
    axis: str | None = None,
    roadmap: list[str] | None = None,
    programme: dict | None = None,
) -> tuple[str, list[str], list[str]]:
    """The SQL condition of an objective list, its parameters and what it shows (for the heading): status,
    rating colour, due period, axis (its number in the question, or `axis`, a stored key), roadmap (those the
    question names, or `roadmap`), owner and the programme they are about (named in their title or description,
    or linked to it)."""
    lang = q.lang
    where, params, what = ["1"], [], []
    if programme:
        # Short names ("MES", "DMP") are left out: LIKE would find them inside words ("messagerie").
        names = [n for n in [str(programme["name"]), *(str(a) for a in programme.get("aliases") or [])] if len(n) >= 5]
        held = " OR ".join("title LIKE ? OR description LIKE ?" for _ in names)
        where.append(f"({held} OR json_extract(extra, '$.programme') = ?)")
        params += [p for n in names for p in (f"%{n}%", f"%{n}%")] + [programme["id"]]
        what.append(say("objectives_about", lang, programme=title_of("programmes", programme)))
    if q.status:
        # "En retard" also finds the postponed (their first date was missed); see docs/sources.md.
        buckets = LATE_BUCKETS.get(q.status, (q.status,))
        if q.status == "late":
            # Late also holds the objectives whose due date has passed with no status published: each line says
            # that is all the source tells (no status is made up).
            where.append(f"(status IN ({','.join('?' * len(buckets))}) OR (status IS NULL AND due_end < ?))")
            params += [*buckets, date.today().isoformat()]
            what.append(say("objectives_late_or_overdue", lang))
        else:
            where.append(f"status IN ({','.join('?' * len(buckets))})")
            params += buckets
            what.append(say("objectives_status", lang, status=status_word(q.status, lang)))
    if q.colour:
        clause, values = _colour_clause(q.colour, _rated(reader))
        where.append(clause)
        params += values
        what.append(
            say("objectives_no_colour", lang)
            if q.colour == "none"
            else say("objectives_colour", lang, colour=colour_name(q.colour, lang))
        )
    if q.due:
        # Due within the period asked: "échéance 2026" holds "S1 2026" and "mi-2026", not "2025-2026".
        where.append("due_start >= ? AND due_end <= ?")
        params += q.due
        what.append(say("objectives_due", lang, start=date_words(q.due[0], lang), end=date_words(q.due[1], lang)))
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
    if roadmap:
        where.append(f"roadmap IN ({','.join('?' * len(roadmap))})")
        params += roadmap
    else:
        scoped, asked = roadmaps.scope_clause(q, reader)
        where.append(scoped)
        params += asked
    if owner and owner.plan:
        where.append("source_title = ?")
        params.append(owner.plan)
        what.append(say("objectives_plan", lang, plan=owner.plan))
    elif owner:
        marks = ",".join("?" * len(owner.ids))
        where.append(f"id IN (SELECT id FROM owners WHERE kind = 'objectives' AND actor IN ({marks}))")
        params += owner.ids
        what.append(say("objectives_owner", lang, owner=owner.name))
    return " AND ".join(where), params, what


def _objective_list(
    q: Question,
    reader: Reader,
    owner: str | Owner | None = None,
    axis: str | None = None,
    roadmap: list[str] | None = None,
    programme: dict | None = None,
) -> Answer:
    """Objectives filtered as `_objective_where` says, with what each line was filtered on."""
    lang = q.lang
    if isinstance(owner, str):
        owner = Owner(owner, (owner,))
    clause, params, what = _objective_where(q, reader, owner, axis, roadmap, programme)
    if not what:
        what.append(say("objectives_word", lang))
    heading = " · ".join(what)
    groups = _by_family(reader, clause, params)
    total = sum(n for _, n, _ in groups)
    rows, lines = [], []
    for name, count, shown in groups:
        if len(groups) > 1:  # whose objectives these are, when the list spans several families
            lines.append(say("list_title", lang, what=name, count=count) + (" :" if lang == "fr" else ":"))
        rows += shown
        lines += [f"• {r['id']} — {r['title']}" + _status_suffix(r, lang) + _filter_suffix(q, r, lang) for r in shown]
        if count > len(shown):
            lines.append(say("list_more", lang, more=count - len(shown)))
    if q.colour in _COLOUR_VALUES and any(r.get("roadmap") not in _rated(reader) for r in rows):
        bucket = SOURCE_STATUS_WORDS[_COLOUR_VALUES[q.colour][0]]
        lines.append(
            say(
                "objectives_colour_as_status",
                lang,
                colour=colour_name(q.colour, lang),
                status=status_word(bucket, lang),
            )
        )
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
        confidence=0.95 if rows else 0.7,  # an empty list claims nothing about a record
        results=[_result("objectives", r) for r in rows],
    )


# Within a family, objectives by number ("3" before "13", "4" before "4.1"), then by id ("A1-…").
_NATURAL = "CAST(COALESCE(local_id, id) AS INTEGER), COALESCE(local_id, id)"
# Whose an objective is (roadmaps.family): its roadmap, and within the national one its source's plan.
_PLAN = f"CASE WHEN roadmap = '{roadmaps.NATIONAL}' THEN COALESCE(source_title, '') ELSE '' END"


def _by_family(reader: Reader, clause: str, params: list[str]) -> list[tuple[str, int, list[dict]]]:
    """The objectives that pass `clause`, grouped by family (the bundled national roadmap, a plan loaded in it
    such as a hospital group's, another roadmap), each with its name and count: the bundled national family
    first, then the plans loaded in it, then the other roadmaps. The MAX_LIST lines are shared out one at a time
    between the families, so one organisation's long list never hides another's."""
    families = reader.rows(
        f"SELECT roadmap, {_PLAN} AS plan, count(*) AS n FROM objectives WHERE {clause} GROUP BY 1, 2 "
        f"ORDER BY roadmap != '{roadmaps.NATIONAL}', roadmap, plan",
        tuple(params),
    )
    quota = [0] * len(families)
    for _ in range(MAX_LIST):
        open_ = [i for i, f in enumerate(families) if quota[i] < f["n"]]
        if not open_:
            break
        quota[min(open_, key=lambda i: quota[i])] += 1
    titles = roadmaps.loaded(reader)
    groups = []
    for f, limit in zip(families, quota, strict=True):
        where = f"{clause} AND roadmap = ? AND {_PLAN} = ? ORDER BY {_NATURAL}"
        shown = reader.records("objectives", where, (*params, f["roadmap"], f["plan"]), limit=limit)
        groups.append((f["plan"] or titles.get(f["roadmap"], f["roadmap"]), f["n"], shown))
    return groups


def _reported_colour_list(q: Question, reader: Reader) -> Answer | None:
    """Objectives whose latest progress report gave them that colour as their status ("rouge" in a bilan), in the
    roadmaps asked about; None when no report did (the question is then not answered as a list)."""
    if q.colour not in _COLOUR_VALUES:
        return None
    lang = q.lang
    values = _COLOUR_VALUES[q.colour]
    scoped, asked = roadmaps.scope_clause(q, reader)
    where = f"status_report IS NOT NULL AND lower(status_text) IN ({','.join('?' * len(values))}) AND {scoped}"
    params = (*values, *asked)
    rows = reader.records("objectives", f"{where} ORDER BY id", params, limit=MAX_LIST)
    if not rows:
        return None
    heading = say("objectives_reported_colour", lang, colour=colour_name(q.colour, lang))
    # Each line names the report and its date: the colour is that report's word, not a rating of today.
    said = [", ".join(str(r[k]) for k in ("status_text", "status_report", "status_date") if r.get(k)) for r in rows]
    lines = [f"• {r['id']} — {r['title']} ({what})" for r, what in zip(rows, said, strict=True)]
    return Answer(
        intent="list",
        lang=lang,
        title=say("list_title", lang, what=heading, count=reader.count("objectives", where, params)),
        text="\n".join(lines),
        sources=_dedupe([s for r in rows for s in _sources("objectives", r)])[:5],
        confidence=0.9,
        results=[_result("objectives", r) for r in rows],
    )


def _rated(reader: Reader) -> list[str]:
    """The roadmaps that rate their objectives (once per reader: versions are immutable)."""
    cache = reader.__dict__.setdefault("_rated_roadmaps", [])
    if not cache:
        cache.append(
            [r["roadmap"] for r in reader.rows(f"SELECT DISTINCT roadmap FROM objectives WHERE {_COLOUR} != ''")]
        )
    return cache[0]


def _colour_clause(colour: str, rated: list[str]) -> tuple[str, list[str]]:
    """Objectives of that rating in the roadmaps that rate them (`rated`); elsewhere a colour is read as the
    status its word names ("rouge" is late). 'none': the unrated objectives of roadmaps that rate the others."""
    marks = ",".join("?" * len(rated))
    if colour == "none":
        return f"roadmap IN ({marks}) AND {_COLOUR} = ''", list(rated)
    values = list(_COLOUR_VALUES[colour])
    bucket = SOURCE_STATUS_WORDS[values[0]]
    buckets = list(LATE_BUCKETS.get(bucket, (bucket,)))
    return (
        f"((roadmap IN ({marks}) AND {_COLOUR} IN ({','.join('?' * len(values))})) "
        f"OR (roadmap NOT IN ({marks}) AND status IN ({','.join('?' * len(buckets))})))",
        [*rated, *values, *rated, *buckets],
    )


def _filter_suffix(q: Question, record: dict, lang: str) -> str:
    """What the list filtered on, for each line: the due date and the rating as the source wrote them."""
    shown = []
    if q.status == "late" and not record.get("status") and record.get("due"):
        shown.append(say("overdue_no_status", lang, due=record["due"]))
    if q.due and record.get("due"):
        shown.append(f"{say('due_word', lang)} {record['due']}")
    if q.colour and (rating := _rating(record)):
        shown.append(f"{say('colour_word', lang)} {rating}")
    return "".join(f" — {s}" for s in shown)


def _rating(record: dict) -> str:
    extra = record.get("extra") or {}
    return next((str(extra[c]) for c in _COLOUR_COLUMNS if extra.get(c)), "")


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


def roadmap_by_title(q: Question, reader: Reader) -> list[str] | None:
    """A roadmap the question names by the proper name in its title ("Val-de-Brume"), when it names none
    otherwise: every distinctive word of that name is in the question."""
    if roadmaps.scope(q, reader):
        return None
    words = set(q.plain.split()) | set(q.folded.split())
    for rid, title in roadmaps.loaded(reader).items():
        proper = [w for w in fold(title.partition("(")[2]).split() if w not in STOPWORDS and not w.isdigit()]
        if rid != roadmaps.NATIONAL and len("".join(proper)) >= 6 and set(proper) <= words:
            return [rid]
    return None


def _axis_list(q: Question, reader: Reader, found: list[Candidate]) -> Answer | None:
    """The axes of the roadmap or plan the question names: a declared roadmap ("les axes de la feuille de route
    régionale"), a plan named by its label ("les 4 axes de la feuille de route 2023-2027", "orientations of Ma
    santé 2022"), or the plan an organisation's source declares ("les 3 axes du plan des Trois-Rivières")."""
    lang = q.lang
    asked = [r for r in roadmaps.scope(q, reader) or roadmap_by_title(q, reader) or [] if r != roadmaps.NATIONAL]
    rows: list[dict] = []
    if asked:
        rows = reader.records("axes", f"roadmap IN ({','.join('?' * len(asked))}) ORDER BY id", tuple(asked))
    if not rows:
        words = set(q.plain.split()) | set(q.folded.split())
        rows = [
            r
            for r in reader.records("axes", "1 ORDER BY id", limit=500)
            if (plan := fold(_plan_of(r))) and set(plan.split()) <= words
        ]
    if not rows and (named := named_plan(reader, found)):  # "the orientations of the 2019 roadmap": Ma santé 2022
        rows = [r for r in reader.records("axes", "1 ORDER BY id", limit=500) if _plan_of(r) == named[1]]
    if not rows:
        actor = next((c for c in found if c.kind == "actors" and c.how == "exact"), None)
        record = reader.record("actors", actor.id) if actor else None
        if record and record.get("source_title"):
            rows = reader.records("axes", "source_title = ? ORDER BY id", (record["source_title"],))
    if not rows:
        return None
    lines = [f"• {title_of('axes', r)}" for r in rows[:MAX_LIST]]
    return Answer(
        intent="list",
        lang=lang,
        title=say("list_title", lang, what=label("axes", lang).capitalize(), count=len(rows)),
        text="\n".join(lines),
        sources=_dedupe([s for r in rows for s in _sources("axes", r)])[:5],
        confidence=0.9,
        results=[_result("axes", r) for r in rows[:MAX_LIST]],
    )


def _plan_of(record: dict) -> str:
    """The label of the plan a record belongs to, as its source gives it ("Ma santé 2022"), or ''."""
    return str((record.get("extra") or {}).get("roadmap") or "")


# "Which programmes started in 2025?", "programmes lancés en 2024", "... qui se terminent en 2027".
_STARTED = re.compile(r"\b(start\w*|began|begun|launch\w*|lance\w*|demarre\w*|commence\w*|debut\w*)\b")
_ENDED = re.compile(r"\b(end|ends|ended|ending|finish\w*|termine\w*|fini\w*|s achev\w*|fin)\b")


def _programme_list(q: Question, reader: Reader) -> Answer | None:
    """Programmes that start (or end) in the year or month asked; None when the question asks no such date."""
    column = "start" if _STARTED.search(q.folded) else "end" if _ENDED.search(q.folded) else ""
    if not (column and q.when):
        return None
    lang = q.lang
    scoped, asked = roadmaps.scope_clause(q, reader)
    where, params = f"[{column}] LIKE ? AND {scoped}", (f"{q.when}%", *asked)
    total = reader.count("programmes", where, params)
    rows = reader.records("programmes", f"{where} ORDER BY [{column}], name", params, limit=MAX_LIST)
    if not rows:
        return None
    heading = say("programmes_" + column, lang, when=date_words(q.when, lang))
    lines = [f"• {title_of('programmes', r)} ({r[column]})" for r in rows]
    return list_answer(lang, "programmes", heading, rows, lines, total)


# What a plan calls its items, in the plural: "les mesures de Ma santé 2022", "the numbered actions of the 2019
# roadmap". The word also filters when the plan gives it to some items only (ids "…-MESURE-…", aliases "action 1").
_ITEMS = re.compile(r"\b(objectifs|objectives|engagements|commitments|actions|mesures|measures)\b")
_ITEM_STEM = {"objectifs": "", "objectives": "", "engagements": "", "commitments": "", "measures": "mesure"}
# One item asked of a plan ("c'est quelle action de Ma santé 2022 sur l'INS ?"): the item, when one holds it.
_ONE_ITEM = re.compile(r"\b(?:quelle|which|what) (action|mesure|measure)\b")


def asks_one_item(q: Question) -> re.Match[str] | None:
    return _ONE_ITEM.search(q.folded)


_COUNTING = re.compile(r"\b(combien|how many|nombre de|number of)\b")
# Words about the listing itself, not a subject its items must hold.
_LISTING = frozenset(
    "numbered number numbers nombre numerotees numerotes numerote numeros list liste show montre donne".split()
)


def _plan_list(q: Question, reader: Reader, found: list[Candidate]) -> Answer | None:
    """The items of a plan named by its name (a programme whose name or aliases hold the label its objectives
    carry, `extra.roadmap`: "Ma santé 2022", "the 2019 roadmap"), of the kind asked ("actions", "mesures") and
    about the subject the other words name ("sur le DMP"). None when the question counts them (a fact) or
    names no such plan, or when no item holds the subject."""
    if not (m := _ITEMS.search(q.folded) or asks_one_item(q)) or _COUNTING.search(q.folded):
        return None
    if named := named_plan(reader, found):
        return _plan_items(q, reader, *named, _ITEM_STEM.get(m[1], m[1].removesuffix("s")))
    return None


def _plan_items(q: Question, reader: Reader, plan: dict, label: str, item: str) -> Answer | None:
    rows = reader.records("objectives", f"json_extract(extra, '$.roadmap') = ? ORDER BY {_NATURAL}", (label,), 500)
    plan_words = {w for n in [plan["name"], *(plan.get("aliases") or []), label] for w in fold(str(n)).split()}
    skip = plan_words | STOPWORDS | _LISTING | {item, f"{item}s"} | set(_ITEM_STEM)
    readings = [[w for w in r if w not in skip and len(w) > 1] for r in (q.own_words, q.content_words)]
    subject = min(readings, key=len)

    def named(r: dict) -> set[str]:
        return set(fold(" ".join([r["id"], *(r.get("aliases") or [])])).replace("-", " ").split())

    if item and any(item in named(r) for r in rows) and not all(item in named(r) for r in rows):
        rows = [r for r in rows if item in named(r)]
    if subject:
        text = {r["id"]: set(fold(" ".join([r["title"], *(r.get("aliases") or [])])).split()) for r in rows}
        rows = [r for r in rows if set(subject) <= text[r["id"]]]
    if not rows:
        return None
    heading = say("objectives_plan", q.lang, plan=label) + (f" · {' '.join(subject)}" if subject else "")
    lines = [f"• {r['id']} — {r['title']}" + _status_suffix(r, q.lang) for r in rows[:MAX_LIST]]
    return list_answer(q.lang, "objectives", heading, rows[:MAX_LIST], lines, len(rows))


# "Sous-objectifs du 4", "sub-objectives of objective 2": the objectives numbered under it ("4.1", "4.2").
_SUB = re.compile(
    r"\b(?:sous objectifs|sub objectives|subobjectives)\b(?: (?:du|de l|de|of|under))?(?: (?:objectif|objective))?"
    r" (\d{1,3}(?:\.\d{1,3})*)\b"
)


def _sub_objectives(q: Question, reader: Reader) -> Answer | None:
    """The objectives numbered under the one the question names, in its own family; among several objectives of
    that number, those whose words hold the rest of the question ("du 4 (RDV en ligne)")."""
    if not (m := _SUB.search(q.folded)):
        return None
    parents = roadmaps.numbered_objectives(q, reader, m[1])
    rest = set(q.content_words) - STOPWORDS - {m[1], "sous", "sub", "objectifs", "objectives", "objectif", "objective"}
    if len(parents) > 1 and rest:
        parents = [p for p in parents if rest & reader.record_words("objectives", p["id"])] or parents
    for parent in parents:
        local = parent.get("local_id") or parent["id"]
        where = f"roadmap = ? AND {_PLAN} = ? AND COALESCE(local_id, id) LIKE ? ORDER BY {_NATURAL}"
        home = roadmaps.family(parent)
        rows = [
            r
            for r in reader.records("objectives", where, (home[0], home[1], f"{local}.%"), 200)
            if "." not in (r.get("local_id") or r["id"])[len(local) + 1 :]
        ]
        if rows:
            heading = say(
                "objectives_plan", q.lang, plan=say("objective_title", q.lang, id=local, title=parent["title"])
            )
            lines = [f"• {r['id']} — {r['title']}" + _status_suffix(r, q.lang) for r in rows[:MAX_LIST]]
            return list_answer(q.lang, "objectives", heading, rows[:MAX_LIST], lines, len(rows))
    return None
