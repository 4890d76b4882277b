"""Generated knowledge for the scale benchmarks: a source folder in the documented format, N times the unit size.

Record i is drawn from its own seeded generator, so a larger knowledge base holds the smaller ones' records
with the same names and ids, and the same question names the same record at 10x and at 100x.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = ["UNIT", "counts", "generate", "questions"]

# 1x as the issue defines it (100x = 6,500 objectives, 1,500 actors, 5,000 decisions, 200 councils,
# 10 reports, 30,000 passages); reports are one per 10x.
UNIT = {"objectives": 65, "actors": 15, "decisions": 50, "councils": 2, "passages": 300}
PASSAGES_PER_DOCUMENT = 100
SEED = 8

_NOUNS = """santé données parcours dossier patient hôpital territoire messagerie identité imagerie biologie prévention
urgence pharmacie télésanté interopérabilité sécurité annuaire référentiel consentement ordonnance facturation
logistique archivage formation recherche coordination médecine soins autonomie handicap périnatalité psychiatrie
gériatrie cancérologie vaccination dépistage téléexpertise plateforme portail agenda transport nutrition dialyse
radiothérapie maternité addictologie pédiatrie rééducation laboratoire bloc ambulatoire hospitalisation sortie
admission certificat compte-rendu prescription dispensation traçabilité hébergement sauvegarde supervision""".split()
_ADJECTIVES = """régional national partagé sécurisé numérique territorial mutualisé ouvert unifié dématérialisé
coordonné interopérable souverain durable accessible connecté intégré simplifié automatisé modernisé commun
structuré qualifié certifié harmonisé renforcé""".split()
_VERBS = """Déployer Généraliser Sécuriser Moderniser Simplifier Accompagner Mesurer Financer Ouvrir Raccorder
Harmoniser Renforcer Étendre Piloter Évaluer Outiller Former Raccourcir Fiabiliser Industrialiser""".split()
_STRUCTURES = """Direction Agence Mission Service Cellule Pôle Délégation Observatoire Groupement Comité Bureau
Département""".split()
_PLACES = """Bretagne Occitanie Normandie Grand-Est Hauts-de-France Auvergne Provence Corse Guyane Île-de-France
Centre Bourgogne Loire Aquitaine Réunion Martinique Guadeloupe Mayotte Alsace Lorraine Picardie Limousin Savoie
Jura Vendée Ardèche Cantal Gironde Finistère Morbihan""".split()
_GROUPS = """patients aidants médecins infirmiers pharmaciens établissements éditeurs usagers chercheurs
sages-femmes kinésithérapeutes dentistes biologistes radiologues""".split()
_FIRST = """Claire Paul Inès Karim Hélène Yves Samuel Lucie Marc Nadia Julien Sophie Thomas Léa Hugo Emma Louis Chloé
Nathan Manon Antoine Camille Rémi Anaïs Olivier Sarah Mathieu Julie Damien Amélie""".split()
_LAST = """Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent Lefebvre Michel
Garcia David Bertrand Roux Vincent Fournier Morel Girard André Mercier Dupont Lambert Bonnet François Martinez
Legrand""".split()
_STATUSES = ["en cours", "réalisé", "en retard", "à lancer", "abandonné"]
_STOPWORDS = "le la les des du de et pour dans sur avec par une un en au aux est sont qui que".split()
_ONSETS = "b c d f g l m n p r s t v ch pr tr gr br cl pl".split()
_VOWELS = "a e i o u é ou ai eau".split()
_SUFFIXES = "tion ment ique eur age ité ance isme oire elle ière ette".split()
VOCABULARY_SIZE = 20_000


def _vocabulary() -> tuple[list[str], list[float]]:
    """The domain words then French-looking made-up words, with Zipf weights (as in real text)."""
    rng = random.Random(f"{SEED}-vocabulary")
    words = list(dict.fromkeys(w.lower() for w in _NOUNS + _ADJECTIVES + _GROUPS + _VERBS + _PLACES))
    seen = set(words)
    while len(words) < VOCABULARY_SIZE:
        syllables = "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(rng.randint(1, 3)))
        word = syllables + rng.choice(_SUFFIXES)
        if word not in seen:
            seen.add(word)
            words.append(word)
    rng.shuffle(words)
    cumulative, total = [], 0.0
    for rank in range(len(words)):
        total += 1 / (rank + 1)
        cumulative.append(total)
    return words, cumulative


_WORDS, _CUMULATIVE = _vocabulary()


def counts(scale: int) -> dict[str, int]:
    return {**{kind: n * scale for kind, n in UNIT.items()}, "reports": scale // 10}


def _rng(kind: str, index: int) -> random.Random:
    return random.Random(f"{SEED}-{kind}-{index}")


def _sentence(rng: random.Random, words: int) -> str:
    """A French-ish sentence: about a third stopwords, the rest Zipf-distributed words."""
    picks = rng.choices(_WORDS, cum_weights=_CUMULATIVE, k=words)
    body = " ".join(rng.choice(_STOPWORDS) if rng.random() < 0.35 else word for word in picks)
    return f"{rng.choice(_VERBS)} {body}."


def _earlier(rng: random.Random, kind: str, index: int, per: str) -> int:
    """A random record of `kind` among those of the same or earlier 1x blocks as record `index` of `per`:
    links then stay the same whatever the scale."""
    block = index // UNIT[per]
    return rng.randrange(UNIT[kind] * (block + 1))


def _date(rng: random.Random, first_year: int = 2023, last_year: int = 2027) -> str:
    return f"{rng.randint(first_year, last_year)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


@dataclass(frozen=True)
class _Names:
    """The names questions can use to point at generated records."""

    actor: str
    actor_alias: str
    objective: str
    council: str
    decision: str


def _actor(i: int) -> dict[str, Any]:
    rng = _rng("actor", i)
    structure, noun, adjective, place = (rng.choice(w) for w in (_STRUCTURES, _NOUNS, _ADJECTIVES, _PLACES))
    name = f"{structure} {noun} {adjective} {place}"
    record: dict[str, Any] = {
        "id": f"ACT-{i:04d}",
        "name": name,
        "kind": structure.lower(),
        "role": _sentence(rng, 14),
        "people": [
            {"name": f"{rng.choice(_FIRST)} {rng.choice(_LAST)}", "title": f"responsable {noun}", "since": _date(rng)}
            for _ in range(rng.randint(0, 2))
        ],
        "aliases": [f"{structure[0]}{noun[0]}{adjective[0]}{place[:3]}{i}".upper()],
    }
    if i and rng.random() < 0.5:
        record["parent"] = f"ACT-{rng.randrange(i):04d}"
    return record


def _objective(i: int) -> dict[str, Any]:
    rng = _rng("objective", i)
    title = f"{rng.choice(_VERBS)} {rng.choice(_NOUNS)} {rng.choice(_ADJECTIVES)} pour les {rng.choice(_GROUPS)}"
    record: dict[str, Any] = {
        "id": str(i + 1),
        "axis": str(rng.randint(1, 4)),
        "title": f"{title} en {rng.choice(_PLACES)}",
        "description": " ".join(_sentence(rng, 12) for _ in range(2)),
        "owners": sorted({f"ACT-{_earlier(rng, 'actors', i, 'objectives'):04d}" for _ in range(rng.randint(1, 2))}),
        "status": rng.choice(_STATUSES),
        "progress": rng.randrange(0, 101, 5),
        "due": _date(rng, 2024, 2027),
    }
    if rng.random() < 0.2:
        record["aliases"] = [f"{rng.choice(_NOUNS)} {rng.choice(_ADJECTIVES)} {i + 1}"]
    return record


def _council(j: int) -> dict[str, Any]:
    rng = _rng("council", j)
    date = _date(rng, 2023, 2026)
    return {
        "id": f"CNL-{j:03d}",
        "name": f"Comité territorial {rng.choice(_PLACES)} du {date}",
        "date": date,
        "place": f"{rng.choice(_STRUCTURES)} {rng.choice(_PLACES)}",
        "participants": f"{rng.randint(20, 300)} participants",
        "summary": _sentence(rng, 18),
    }


def _decision(i: int) -> dict[str, Any]:
    rng = _rng("decision", i)
    record: dict[str, Any] = {
        "id": f"DEC-{i:05d}",
        "council": f"CNL-{_earlier(rng, 'councils', i, 'decisions'):03d}",
        "date": _date(rng, 2023, 2026),
        "title": f"{rng.choice(_VERBS)} {rng.choice(_NOUNS)} {rng.choice(_ADJECTIVES)} ({rng.choice(_PLACES)})",
        "summary": _sentence(rng, 20),
        "owners": [f"ACT-{_earlier(rng, 'actors', i, 'decisions'):04d}"],
        "objectives": [str(_earlier(rng, "objectives", i, "decisions") + 1)],
    }
    if rng.random() < 0.3:
        record["amount"] = f"{rng.randint(1, 90)} M€"
    return record


def _report(k: int, objectives: int) -> dict[str, Any]:
    rng = _rng("report", k)
    year, half = 2023 + k // 2, k % 2
    return {
        "id": f"RAP-{k:02d}",
        "published": f"{year}-{'06-30' if half == 0 else '12-31'}",
        "title": f"État d'avancement semestriel n° {k + 1}",
        "url": f"https://example.org/bench/rapport-{k + 1}",
        "statuses": [
            {"objective": str(o + 1), "status": rng.choice(_STATUSES[:4]), "progress": rng.randrange(0, 101, 5)}
            for o in range(objectives)
        ],
    }


def _document_text(d: int) -> str:
    rng = _rng("document", d)
    lines = [f"Document de travail {d + 1}"]
    for p in range(PASSAGES_PER_DOCUMENT):
        if p % 10 == 0:
            lines.append(f"{rng.choice(_NOUNS).capitalize()} {rng.choice(_ADJECTIVES)} {rng.choice(_PLACES)}")
        lines.append(" ".join(_sentence(rng, rng.randint(10, 18)) for _ in range(rng.randint(3, 5))))
    return "\n".join(lines) + "\n"


def _dump(path: Path, title: str, records: dict[str, list[dict[str, Any]]]) -> None:
    source = {"title": title, "url": f"https://example.org/bench/{path.stem}"}
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text = yaml.dump({"source": source, **records}, Dumper=dumper, allow_unicode=True, sort_keys=False, width=1000)
    path.write_text(text, encoding="utf-8")


def generate(folder: Path, scale: int) -> dict[str, int]:
    """Write `scale` times the unit knowledge into `folder` (YAML files and text documents); returns counts."""
    n = counts(scale)
    folder.mkdir(parents=True, exist_ok=True)
    _dump(folder / "actors.yaml", "Acteurs générés", {"actors": [_actor(i) for i in range(n["actors"])]})
    objectives = [_objective(i) for i in range(n["objectives"])]
    _dump(folder / "objectives.yaml", "Objectifs générés", {"objectives": objectives})
    councils = [_council(j) for j in range(n["councils"])]
    decisions = [_decision(i) for i in range(n["decisions"])]
    _dump(folder / "councils.yaml", "Comités générés", {"councils": councils, "decisions": decisions})
    if n["reports"]:
        reports = [_report(k, n["objectives"]) for k in range(n["reports"])]
        _dump(folder / "reports.yaml", "Rapports générés", {"reports": reports})
    docs = folder / "documents"
    docs.mkdir(exist_ok=True)
    documents = []
    for d in range(n["passages"] // PASSAGES_PER_DOCUMENT):
        (docs / f"doc-{d:04d}.txt").write_text(_document_text(d), encoding="utf-8")
        documents.append(
            {"path": f"documents/doc-{d:04d}.txt", "url": f"https://example.org/bench/doc-{d}", "format": "text",
             "title": f"Document de travail {d + 1}", "published": "2025-01-01"}
        )  # fmt: skip
    _dump(folder / "documents.yaml", "Documents générés", {"documents": documents})
    return n


def _names(i: int, scale: int) -> _Names:
    n = counts(scale)
    actor = _actor(i % n["actors"])
    return _Names(
        actor=actor["name"],
        actor_alias=actor["aliases"][0],
        objective=_objective(i % n["objectives"])["title"],
        council=_council(i % n["councils"])["name"],
        decision=_decision(i % n["decisions"])["title"],
    )


def questions(count: int = 40) -> list[str]:
    """Questions naming generated records that exist from 10x upwards (at 1x they name nothing)."""
    found = []
    for i in range(count):
        names = _names(i * 7, 10)
        asks = [
            f"où en est l'objectif {i * 97 % counts(10)['objectives'] + 1} ?",
            f"qui dirige {names.actor} ?",
            f"c'est quoi {names.actor_alias}",
            names.objective,
            f"qu'a décidé le {names.council} ?",
            f"who decided {names.decision}",
        ]
        found.append(asks[i % len(asks)])
    return found
