"""The bundled knowledge says what its sources say: tenures, no "latest" as a fact, every URL traced to a note.

The research notes live in the shared folder beside the clone (`../shared/sources/research/`); tests that need
them are skipped, with the reason, where that folder is absent.
"""

from __future__ import annotations

import csv
import re
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from knowledge import KnowledgeBase
from knowledge.sources import BUNDLED_DATA, read_sources
from knowledge.text import fold

REPO = Path(__file__).resolve().parents[1]
CLAIMS = REPO / "knowledge" / "claims.csv"
# CI clones next to shared/; a git worktree sits one level deeper.
_SHARED = [base / "shared" / "sources" for base in (REPO.parent, REPO.parent.parent)]
NOTES_DIR = next((d for d in _SHARED if (d / "research").is_dir()), None)
needs_notes = pytest.mark.skipif(
    NOTES_DIR is None, reason="the research notes (../shared/sources/research/) are absent"
)
# Text between quotation marks is the source's own words: "dernier" may appear there.
_QUOTED = re.compile(r"«[^»]*»|“[^”]*”|\"[^\"]*\"")
_LATEST = re.compile(r"\b(dernier|derniere|derniers|dernieres|latest)\b")


@pytest.fixture(scope="module")
def bundle():
    return read_sources([str(BUNDLED_DATA)])


@pytest.fixture(scope="module")
def notes() -> dict[str, str]:
    assert NOTES_DIR is not None
    files = [*sorted((NOTES_DIR / "research").iterdir()), *sorted(NOTES_DIR.glob("*.txt"))]
    return {f.name: f.read_text(encoding="utf-8") for f in files if f.is_file()}


@pytest.fixture(scope="module")
def claims() -> list[dict[str, str]]:
    with CLAIMS.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _record(bundle, ref: str) -> dict[str, Any]:
    kind, _, rid = ref.partition(":")
    found = [r for r in bundle.records[kind] if r.get("id") == rid]
    assert found, f"claims.csv names {ref}, which is not in the bundled data"
    return found[0]


def _urls(record: dict[str, Any]) -> set[str]:
    return {record["url"], *(s["url"] for s in record.get("sources") or [])}


def _texts(value: Any, key: str = "") -> list[str]:
    """Every piece of text a record shows, URLs left out (a URL slug is not a statement)."""
    if key == "url":
        return []
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in _texts(v, str(k))]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v, key)]
    return [value] if isinstance(value, str) else []


# --- tenures -------------------------------------------------------------------------------------------------


def test_every_person_has_a_title_and_a_tenure_or_says_its_dates_are_unknown(bundle) -> None:
    for actor in bundle.records["actors"]:
        for person in actor.get("people") or []:
            where = (actor["id"], person["name"])
            assert person["title"], where
            assert person["since"] or person["until"] or person["dates"] == "unknown", where
            # "ancien(ne)" and an end go together: a former holder is never shown as in post, nor the reverse.
            assert bool(person["until"]) == fold(person["title"]).startswith("ancien"), where
            if person["until"]:
                assert "depuis" not in fold(person["title"]), where


def test_the_audited_tenures(bundle) -> None:
    people = {(a["id"], p["name"]): p for a in bundle.records["actors"] for p in a.get("people") or []}
    assert people[("ANS", "Jacques Lucas")]["until"] == "2023-05"
    assert people[("ANS", "Jean-Christophe Zerbini")]["since"] == "2025-12-08"
    assert people[("ANS", "Isabelle Adenot")]["dates"] == "unknown"
    assert people[("DNS", "Dominique Pon")]["until"] and people[("DNS", "Laura Létourneau")]["until"]
    assert people[("DNS", "David Sainati")]["dates"] == "unknown"  # no source dates his arrival
    assert "Sainati" not in people[("DNS", "Hela Ghariani")]["title"]  # her June 2023 date is hers alone


def _former(bundle) -> list[tuple[dict[str, Any], dict[str, str]]]:
    return [(a, p) for a in bundle.records["actors"] for p in a.get("people") or [] if p["until"]]


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_no_answer_says_since_for_a_former_holder(bundled_kb: KnowledgeBase, bundle, lang: str) -> None:
    formers = _former(bundle)
    assert formers
    since = " depuis " if lang == "fr" else " since "
    for actor, person in formers:
        question = f"qui est {person['name']} ?" if lang == "fr" else f"who is {person['name']}?"
        answer = bundled_kb.ask(question)
        line = answer.text.splitlines()[0]
        assert line.startswith(person["name"]) and since not in line, answer.to_text()
        led = bundled_kb.ask(f"qui dirige {actor['id']} ?" if lang == "fr" else f"who leads {actor['id']}?")
        first, *rest = led.text.splitlines()
        item = f"{person['name']} ("
        assert item not in first, led.to_text()  # not among those in post
        former_line = next(line for line in rest if item in line)
        assert since not in former_line, led.to_text()


def test_who_presides_the_ans_is_not_a_former_president(bundled_kb: KnowledgeBase) -> None:
    answer = bundled_kb.ask("qui dirige l'ANS ?")
    first = answer.text.splitlines()[0]
    assert "Zerbini" in first and "Lucas" not in first and "Adenot" not in first
    assert "(2019 – mai 2023)" in answer.text


# --- "latest" ------------------------------------------------------------------------------------------------


def test_no_record_text_calls_anything_the_latest(bundle) -> None:
    for kind, records in bundle.records.items():
        for record in records:
            for text in _texts({k: v for k, v in record.items() if k not in ("origin", "source_title")}):
                unquoted = fold(_QUOTED.sub(" ", text))
                assert not _LATEST.search(unquoted), (kind, record.get("id"), text)


@pytest.mark.parametrize(
    ("question", "words"),
    [
        ("quel est le dernier CNS ?", "le plus récent que je connaisse — base du 17 décembre 2025"),
        ("qu'a décidé le dernier conseil ?", "le plus récent que je connaisse — base du"),
        ("what was the latest council?", "the most recent I know of — knowledge of 17 December 2025"),
    ],
)
def test_the_latest_council_is_the_most_recent_known(bundled_kb: KnowledgeBase, question: str, words: str) -> None:
    answer = bundled_kb.ask(question)
    assert words in answer.text, answer.to_text()
    assert answer.results[0]["id"] == "CNS-14"


def test_a_numbered_council_is_not_qualified(bundled_kb: KnowledgeBase) -> None:
    answer = bundled_kb.ask("quand a eu lieu le 7e CNS ?")
    assert answer.results[0]["id"] == "CNS-7" and "plus récent" not in answer.text


# --- nothing beyond the source, conflicts flagged ---------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "absent"),
    [
        ("decisions:CNS-14-FIN-200M", "programmes"),  # no source names the vehicle of the ~200 M€
        ("programmes:FDR-SUIVI", "start"),  # no source dates the first twice-yearly publication
    ],
)
def test_unsupported_fields_are_gone(bundle, ref: str, absent: str) -> None:
    record = _record(bundle, ref)
    assert not record.get(absent) and absent not in record["extra"], record


@pytest.mark.parametrize(
    ("ref", "phrase"),
    [
        ("actors:GRADES", "devenu directeur general de l'ans"),
        ("objectives:A1-BILAN-PREVENTION", "a ete generalise"),
        ("actors:CNAM", "reconduit en juillet 2025)"),
    ],
)
def test_overstatements_are_gone(bundle, ref: str, phrase: str) -> None:
    record = _record(bundle, ref)
    shown = fold(" ".join(_texts({k: v for k, v in record.items() if k != "disputed"})))
    assert phrase not in shown, ref


@pytest.mark.parametrize(
    ("ref", "words"),
    [
        ("actors:DNS", "fin avril"),  # Pon's departure
        ("actors:DNS", "avril 2019"),  # when the ministerial titles came
        ("actors:CNAM", "devrait être renouvelé"),  # Fatôme's renewal
        ("actors:CSDS", "Conférence des parties prenantes"),  # what replaces the committee
        ("decisions:CNS-14-CSDS-COMEX", "Conférence des parties prenantes"),
        ("councils:CNS-14", "mardi 24 juin"),
    ],
)
def test_conflicts_are_flagged(bundle, ref: str, words: str) -> None:
    assert words in (_record(bundle, ref).get("disputed") or ""), ref


# --- every URL traced to the note that states it --------------------------------------------------------------


def test_the_claims_table_is_not_loaded_as_knowledge() -> None:
    assert BUNDLED_DATA not in CLAIMS.parents
    assert not any(p.stem == "claims" for p in BUNDLED_DATA.iterdir())


def _site(url: str) -> str:
    """'neurologie-psychiatrie.lequotidiendumedecin.fr' -> 'lequotidiendumedecin'."""
    host = urllib.parse.urlparse(url).hostname or ""
    return host.split(".")[-2] if host.count(".") else host


@needs_notes
def test_each_claim_url_is_on_its_record_and_in_its_note(bundle, notes, claims) -> None:
    assert len(claims) >= 40
    for row in claims:
        where = (row["record"], row["claim"])
        assert row["url"] in _urls(_record(bundle, row["record"])), where
        note = notes.get(row["note"])
        assert note is not None, f"no note {row['note']!r}: {where}"
        if row["url"] in note:
            continue
        # A stored page the note quotes without its full address: the quote and the site must be in the note.
        flat = " ".join(note.split())
        assert row["quote"] and row["quote"] in flat and _site(row["url"]) in note, where


@needs_notes
def test_every_bundled_url_is_in_a_note_or_the_claims_table(bundle, notes, claims) -> None:
    known = "\n".join(notes.values())
    claimed = {row["url"] for row in claims}
    missing = [
        (kind, record.get("id"), url)
        for kind, records in bundle.records.items()
        for record in records
        for url in sorted(_urls(record))
        if url not in known and url not in claimed
    ]
    assert missing == []


@needs_notes
def test_council_dates_are_the_notes_dates(bundle) -> None:
    dates = {r["id"]: r.get("date") for r in bundle.records["councils"]}
    expected = {"CNS-1": "2019-06-27", "CNS-2": "2020-02-20", "CNS-7": "2022-06-23", "CNS-11": "2024-06-18"}
    assert {k: dates.get(k) for k in expected} == expected
    assert dates["CNS-10"] == "2023-12"
