"""Several roadmaps side by side: the national one (the bundled data) and those sources declare.

Ids are unique within a roadmap. A record of any roadmap but the national one is stored under the key
'<roadmap>:<id>' (its references too), so a region's axes 1-4 and objectives 1.1... load beside the national
ones and every lookup by key stays exact; answers show the id as the source wrote it and name the roadmap.
On the question side: which roadmap a question names ("de l'ARS", "national", an id or owner), the
objective numbered "2.1" in each, and the council a question means ("dernier copil", "le comité de
décembre") within the roadmap asked about.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from .model import ENTITY_KINDS
from .text import STOPWORDS, fold
from .vocabulary import MONTHS

if TYPE_CHECKING:
    from .model import Answer
    from .sources import Bundle
    from .store import Reader

__all__ = [
    "NATIONAL",
    "NATIONAL_CARD",
    "roadmap_card",
    "unknown_roadmap",
    "qualify",
    "key",
    "local_id",
    "scope",
    "scope_clause",
    "numbered_objectives",
    "council_asked",
    "councils_asked",
    "axis_keys",
    "name_roadmaps",
    "roadmap_of",
    "names_a_roadmap",
]

NATIONAL = "national"
# The bundled data declares no roadmap: it is this one.
NATIONAL_CARD = {
    "id": NATIONAL,
    "title": "Feuille de route nationale du numérique en santé",
    "owner": "DNS",
    "url": "https://esante.gouv.fr/actualites/lancement-de-la-feuille-de-route-du-numerique-en-sante-2023-2027",
}
SEPARATOR = ":"
DEFAULT_ENV = "GOVBOT_DEFAULT_ROADMAP"
# The roadmap preferred where the question is asked (a channel's `roadmap <id>`), set by KnowledgeBase.ask for
# the one question: it comes before GOVBOT_DEFAULT_ROADMAP, after a roadmap the question names.
preferred: ContextVar[str] = ContextVar("preferred_roadmap", default="")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")
# Which references each kind holds, and the kind they name.
_REFERENCES = {"owners": "actors", "parent": "actors", "council": "councils", "objectives": "objectives"}


def roadmap_card(declared: Any) -> dict[str, str]:
    """`roadmap: {id, title, owner, url}` checked: an id, a title; owner and url optional."""
    if not isinstance(declared, dict):
        raise ValueError("expected roadmap: {id: ..., title: ..., owner: ..., url: ...}")
    card = {k: "" if declared.get(k) is None else str(declared.get(k)).strip() for k in ("id", "title", "owner", "url")}
    if not _ID.match(card["id"]) or SEPARATOR in card["id"]:
        raise ValueError(f"a roadmap id is letters, digits, '.', '-' or '_' (got {card['id']!r})")
    if not card["title"]:
        raise ValueError(f"roadmap {card['id']!r} needs a title")
    if card["url"] and not card["url"].startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) URL: {card['url']!r}")
    unknown = sorted(set(map(str, declared)) - set(card))
    if unknown:
        raise ValueError(f"unknown roadmap field {unknown[0]!r} (use id, title, owner, url)")
    return card


def unknown_roadmap(roadmap: str) -> str:
    return (
        f"unknown roadmap {roadmap!r}: declare it in one source as roadmap: {{id: {roadmap}, title: ..., owner: ...}}"
    )


def key(roadmap: str, rid: str) -> str:
    """The stored id: the national roadmap's ids as written, another roadmap's prefixed with its id."""
    return rid if roadmap == NATIONAL else f"{roadmap}{SEPARATOR}{rid}"


def local_id(stored: str, roadmap: str) -> str:
    prefix = f"{roadmap}{SEPARATOR}"
    return stored[len(prefix) :] if roadmap != NATIONAL and stored.startswith(prefix) else stored


_AXIS_NUMBER = re.compile(r"^(?:axe|axis)?\s*(?:n|no)?\s*(\d{1,2})\b")


def qualify(bundle: Bundle) -> None:
    """Give every record its stored key and resolve its references within its roadmap (a regional record
    may name a national actor or objective: the national one is used when its roadmap has none)."""
    known = {kind: {(r["roadmap"], r["id"]) for r in records} for kind, records in bundle.records.items()}
    axes: dict[str, list[dict[str, Any]]] = {}
    for axis in bundle.records["axes"]:
        axes.setdefault(axis["roadmap"], []).append(axis)

    def ref(kind: str, roadmap: str, value: str) -> str:
        if (roadmap, value) not in known[kind] and (NATIONAL, value) in known[kind]:
            return value
        return key(roadmap, value)

    for records in bundle.records.values():
        for record in records:
            roadmap = record["roadmap"]
            record["local_id"] = record["id"]
            record["id"] = key(roadmap, record["id"])
            for fld, kind in _REFERENCES.items():
                value = record.get(fld)
                if isinstance(value, list):
                    record[fld] = [ref(kind, roadmap, v) for v in value]
                elif isinstance(value, str) and value:
                    record[fld] = ref(kind, roadmap, value)
            for row in record.get("statuses") or []:
                row["objective"] = ref("objectives", roadmap, row["objective"])
            if record.get("axis"):
                record["axis"] = _axis(record["axis"], roadmap, axes.get(roadmap, []), known["axes"])


def _axis(text: str, roadmap: str, axes: list[dict[str, Any]], known: set[tuple[str, str]]) -> str:
    """An axis id, or free text such as "Axe 2 — Sécurité": matched by its number, else by its words."""
    if (roadmap, text) in known:
        return key(roadmap, text)
    folded = fold(text)
    if (m := _AXIS_NUMBER.match(folded)) and (roadmap, m[1]) in known:
        return key(roadmap, m[1])
    for axis in axes:
        title = fold(axis.get("title") or "")
        if title and (title in folded or folded in title):
            return key(roadmap, axis["id"])
    return text


# --- questions -------------------------------------------------------------------------------------------


def _cards(reader: Reader) -> dict[str, dict[str, str]]:
    """The roadmaps of this version (one per reader: versions are immutable)."""
    cached = getattr(reader, "_roadmap_cards", None)
    if cached is None:
        try:
            rows = reader.rows("SELECT id, title, owner, url FROM roadmaps ORDER BY id")
        except Exception:  # noqa: BLE001 - a version built before roadmaps existed holds only the national one
            rows = [dict(NATIONAL_CARD)]
        cached = {r["id"]: r for r in rows}
        reader._roadmap_cards = cached  # type: ignore[attr-defined]
    return cached


def _words(reader: Reader, card: dict[str, str]) -> list[str]:
    """What names a roadmap in a question: its id, its owner's names, 'national' for the national one (once
    per reader and roadmap: versions are immutable)."""
    cache: dict[str, list[str]] = reader.__dict__.setdefault("_roadmap_words", {})
    if card["id"] not in cache:
        cache[card["id"]] = _naming_words(reader, card)
    return cache[card["id"]]


def _naming_words(reader: Reader, card: dict[str, str]) -> list[str]:
    words = [fold(card["id"])]
    # What a title puts in brackets names the roadmap as people say it: "… 2024-2027 (Val-de-Brume)".
    words += [fold(m) for m in re.findall(r"\(([^()]{3,40})\)", card.get("title") or "")]
    if card["id"] == NATIONAL:
        words += ["national", "nationale", "nationaux", "nationales", "en france"]
    if card.get("owner"):
        owner = key(card["id"], card["owner"])
        words += [r["name"] for r in reader.rows("SELECT name FROM names WHERE kind = 'actors' AND id = ?", (owner,))]
    return [w for w in words if len(w) >= 3]


_REGION = re.compile(r"\bregion(al|ale|aux|ales)?\b")


def region_words(folded: str) -> list[str]:
    """The words by which a question names "the region" ("régional", "de la région")."""
    return [m[0] for m in _REGION.finditer(folded)]


def scope(q: Any, reader: Reader, by_region_word: bool = True) -> list[str]:
    """The roadmaps a question is about: those it names, else GOVBOT_DEFAULT_ROADMAP, else all ([]).
    `by_region_word` False: "régional" does not name the regional roadmap (it is a word of a record's name)."""
    cards = _cards(reader)
    if len(cards) < 2:
        return []
    text = f" {q.folded} "
    best: dict[str, int] = {}
    for rid, card in cards.items():
        if f" {fold(rid)} " in text:  # its id beats its owner's names (two roadmaps may share an owner)
            best[rid] = 1000 + len(rid)
            continue
        lengths = [len(w) for w in _words(reader, card) if f" {w} " in text]
        if lengths:
            best[rid] = max(lengths)
    if by_region_word and _REGION.search(q.folded):
        for rid, card in cards.items():
            if rid != NATIONAL and "regional" in fold(card["title"]):
                best.setdefault(rid, 1)
    if best:
        top = max(best.values())
        return sorted(r for r, n in best.items() if n == top)
    default = preferred.get() or os.environ.get(DEFAULT_ENV, "").strip()
    return [default] if default in cards else []


def names_a_roadmap(reader: Reader, name: str) -> bool:
    """The name is how questions name a roadmap ("l'ARS", "la région", "national"), not a record of it."""
    words = [w for w in fold(name).split() if w not in STOPWORDS]
    if not words or len(_cards(reader)) < 2:
        return False
    # Stopwords off both sides: "l'ARS Val-de-Brume" matched as "ars val de brume" is the owner's name.
    naming = {_without_stopwords(w) for card in _cards(reader).values() for w in _words(reader, card)}
    return " ".join(words) in naming or bool(_REGION.fullmatch(" ".join(words)))


def _without_stopwords(name: str) -> str:
    return " ".join(w for w in name.split() if w not in STOPWORDS)


def loaded(reader: Reader) -> dict[str, str]:
    """The roadmaps of this version: id -> title (the national one at least)."""
    return {rid: card["title"] for rid, card in _cards(reader).items()}


def scope_clause(q: Any, reader: Reader, column: str = "roadmap") -> tuple[str, list[str]]:
    """An SQL condition keeping the records of the roadmaps asked about ('1' when all)."""
    asked = scope(q, reader)
    if not asked:
        return "1", []
    return f"{column} IN ({','.join('?' * len(asked))})", asked


def numbered_objectives(q: Any, reader: Reader, number: str) -> list[dict[str, Any]]:
    """The objectives numbered `number` (as their source wrote it) in the roadmaps asked about."""
    clause, params = scope_clause(q, reader)
    found = reader.records(
        "objectives", f"(id = ? OR local_id = ?) AND {clause} ORDER BY id", (number, number, *params)
    )
    if not found:
        names = [fold(number), fold(f"objectif {number}"), fold(f"o{number}")]
        ids = [m["id"] for m in reader.names(names) if m["kind"] == "objectives"]
        found = [r for r in (reader.record("objectives", i) for i in dict.fromkeys(ids)) if r]
        asked = set(params)
        found = [r for r in found if not asked or r.get("roadmap", NATIONAL) in asked]
    return found


# Words that name a council, by family: a "copil" is not the national "Conseil du numérique en santé".
_COUNCIL_FAMILIES = {
    "copil": ("copil", "comite", "comites", "committee", "steering"),
    "conseil": ("conseil", "conseils", "cns", "council"),
}
_GENERIC_COUNCIL = re.compile(r"\b(reunion|meeting|edition|instance|seance)s?\b")
# Whole month names only: "may", "mar" or "dec" alone are other words more often than months.
_MONTH_WORDS = sorted(
    (m for m in MONTHS if len(m) > 4 or m in ("mars", "mai", "juin", "aout", "june", "july")), key=len
)
_MONTH = re.compile(rf"\b({'|'.join(reversed(_MONTH_WORDS))})\b")
MONTH_WORDS = _MONTH  # the month names a question may date a council or a report by


def month_number(word: str) -> str:
    """'septembre' -> '09'."""
    return f"{MONTHS[word]:02d}"


def month_asked(q: Any) -> str | None:
    """'le comité de décembre' -> '12'; '... de décembre 2025' -> '2025-12' (the question's month)."""
    if q.when and len(q.when) == 7:
        return q.when
    if m := _MONTH.search(q.folded):
        return f"{MONTHS[m[1]]:02d}"
    return q.when


def council_asked(q: Any, reader: Reader, home: tuple[str, str] | None = None) -> dict[str, Any] | None:
    """The council a question means, in the roadmaps asked about (and the organisation's `home` records when
    it names one): its number, the latest, or one dated by month or year, among councils whose name or aliases
    hold the question's council word (copil, comité, conseil, CNS...). None when no council fits, or several do."""
    found = councils_asked(q, reader, home)
    return found[0] if len(found) == 1 else None  # several only when a month names two organisations' councils


def councils_asked(q: Any, reader: Reader, home: tuple[str, str] | None = None) -> list[dict[str, Any]]:
    """Every council that fits the question, newest first (several when a month names two organisations')."""
    clause, params = scope_clause(q, reader)
    councils = reader.records("councils", f"{clause} ORDER BY date DESC", tuple(params), limit=10_000)
    if home:
        councils = [c for c in councils if family(c) == home] or councils
    words = [w for family in _COUNCIL_FAMILIES.values() for w in family if re.search(rf"\b{w}\b", q.folded)]
    if words:
        families = {f for f, ws in _COUNCIL_FAMILIES.items() if set(ws) & set(words)}
        wanted = [w for f in families for w in _COUNCIL_FAMILIES[f]]
        named = [c for c in councils if _holds(c, wanted)]
        councils = named if named or q.council else councils
    if q.council:
        councils = [c for c in councils if c.get("number") == q.council or c.get("local_id") == f"CNS-{q.council}"]
    when = month_asked(q)
    if when and not q.council:
        councils = [c for c in councils if _in_month(c.get("date") or "", when)]
        if not q.latest_council and len({c.get("date") for c in councils}) > 1 and len(when) != 2:
            return councils
    dated = [c for c in councils if c.get("date")]
    return (dated or councils)[:1]


def _holds(council: dict[str, Any], words: list[str]) -> bool:
    names = f" {fold(' '.join([council.get('name') or '', *(council.get('aliases') or [])]))} "
    return any(f" {w} " in names or f" {w}s " in names for w in words)


def _in_month(date: str, when: str) -> bool:
    return date.startswith(when) if len(when) != 2 else date[4:7] == f"-{when}"


def axis_keys(q: Any, reader: Reader, number: str) -> list[str]:
    """The stored keys of axis `number` in the roadmaps asked about (the national one first)."""
    clause, params = scope_clause(q, reader)
    rows = reader.rows(
        f"SELECT id, roadmap FROM axes WHERE (id = ? OR local_id = ?) AND {clause}", (number, number, *params)
    )
    return sorted((r["id"] for r in rows), key=lambda k: (SEPARATOR in k, k)) or [number]


def name_roadmaps(answer: Answer, reader: Reader, field: str = "roadmap") -> Answer:
    """When several roadmaps are loaded: name the roadmap(s) of what the answer is about (in `answer.fields`
    under the language-neutral key `field`), show ids as their source wrote them, and tell apart choices from
    different roadmaps."""
    cards = _cards(reader)
    if len(cards) < 2:
        return answer
    prefixes = [f"{rid}{SEPARATOR}" for rid in cards if rid != NATIONAL]

    def plain(text: str) -> str:
        for prefix in prefixes:
            text = text.replace(prefix, "")
        return text

    named: list[str] = []
    for result in answer.results:
        roadmap = roadmap_of(reader, result.get("kind", ""), result.get("id", ""))
        if roadmap and roadmap not in named:
            named.append(roadmap)
    answer.title = plain(answer.title)
    answer.text = plain(answer.text)
    answer.details = plain(answer.details)
    answer.fields = {k: plain(v) for k, v in answer.fields.items()}
    for choice in answer.choices:
        m = re.match(r"^\w+ (\w+):(.+?)(?: \[(fr|en)\])?$", choice.get("query", ""))
        record = reader.record(m[1], m[2]) if m and m[1] in ENTITY_KINDS else None
        choice["label"] = _with_roadmap(plain(choice["label"]), _family_tag(reader, record) if record else None)
    if named:
        answer.fields[field] = "; ".join(cards[r]["title"] for r in named if r in cards)
    return answer


def _family_tag(reader: Reader, record: dict[str, Any]) -> str:
    """How a choice names whose record it is: its roadmap's id, or for a source loaded in the national roadmap
    (a hospital group's plan) the id of that source's top organisation, the one most others sit under ("GHTR")."""
    home = family(record)
    if not home[1]:
        return home[0]
    key = f"family_tag:{home}"
    if key not in reader.memo:
        rows = [
            r
            for r in reader.rows("SELECT id, roadmap, source_title, parent FROM actors ORDER BY id")
            if family(r) == home
        ]
        children = Counter(r["parent"] for r in rows if r["parent"])
        tops = sorted((r for r in rows if not r["parent"]), key=lambda r: -children[r["id"]])
        reader.memo[key] = tops[0]["id"] if tops else home[0]
    return reader.memo[key]


def _with_roadmap(label: str, roadmap: str | None) -> str:
    """The roadmap's id right after the kind, where a button cut to its first words still shows it:
    "Objectif 2.2 (ars-vdb) — Centre régional…" (a label without a kind gets it at the end)."""
    if roadmap is None:
        return label
    head, sep, rest = label.partition(" — ")
    return f"{head} ({roadmap}){sep}{rest}" if sep else f"{label} ({roadmap})"


def family(record: dict[str, Any]) -> tuple[str, str]:
    """Whose records these are: a roadmap's, and within the national one each source's (a hospital group's plan
    loaded without a roadmap of its own is still that group's)."""
    roadmap = record.get("roadmap") or NATIONAL
    return (roadmap, record.get("source_title") or "" if roadmap == NATIONAL else "")


def org_words(reader: Reader, home: tuple[str, str]) -> frozenset[str]:
    """The words of the names of the organisations among `home`'s records ("three rivers", "gh3r" for the
    group's): a question naming them says whose records, not what about (once per version and family)."""
    key = f"org_words:{home}"
    if key not in reader.memo:
        rows = reader.rows(
            "SELECT n.name, a.roadmap, a.source_title FROM names n JOIN actors a ON a.id = n.id AND n.kind = 'actors'"
        )
        reader.memo[key] = frozenset(w for r in rows if family(r) == home for w in r["name"].split())
    return reader.memo[key]


def families_named(reader: Reader, words: list[str]) -> list[tuple[str, str]]:
    """The families whose organisations' names hold every one of these words ("Three Rivers")."""
    if not words:
        return []
    if "families" not in reader.memo:
        rows = reader.rows("SELECT DISTINCT roadmap, source_title FROM actors")
        reader.memo["families"] = sorted({family(r) for r in rows})
    return [home for home in reader.memo["families"] if set(words) <= org_words(reader, home)]


def roadmap_of(reader: Reader, kind: str, rid: str) -> str | None:
    """The roadmap a stored record belongs to (None for passages and unknown records)."""
    if kind not in ENTITY_KINDS:
        return None
    rows = reader.rows(f"SELECT roadmap FROM [{kind}] WHERE id = ?", (rid,))
    return rows[0]["roadmap"] if rows else None
