"""The bundled knowledge: every record sourced, and realistic questions answered with the key fact and its link."""

from __future__ import annotations

import re
import urllib.parse

import pytest

from knowledge import KnowledgeBase
from knowledge.sources import BUNDLED_DATA, read_sources


@pytest.fixture(scope="module")
def bundle():
    return read_sources([str(BUNDLED_DATA)])


def _http(url: str) -> bool:
    parsed = urllib.parse.urlparse(url)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def test_bundled_sources_read_without_problems(bundle) -> None:
    assert bundle.problems == []
    assert bundle.passages, "the seed article must be indexed as passages"


def test_every_bundled_record_has_an_http_source(bundle) -> None:
    for kind, records in bundle.records.items():
        for record in records:
            assert _http(record["url"]), (kind, record.get("id"), record["url"])
            for extra in record.get("sources") or []:
                assert _http(extra["url"]), (kind, record.get("id"), extra)


def test_no_invented_official_numbers_or_statuses(bundle) -> None:
    for record in bundle.records["objectives"]:
        assert not re.fullmatch(r"\d+(\.\d+)*", record["id"]), record["id"]
        assert record.get("status") is None and record.get("progress") is None, record["id"]
    assert bundle.records["reports"] == []


def test_coverage_of_the_issue(bundle) -> None:
    actors = {r["id"] for r in bundle.records["actors"]}
    assert {"DNS", "ANS", "CNAM", "MINSANTE", "ARS", "GRADES", "DGOS", "HDH", "CNIL", "HAS", "ATIH"} <= actors
    assert {"SESAM-VITALE", "DREES"} <= actors
    programmes = {r["id"] for r in bundle.records["programmes"]}
    assert {"SEGUR", "HOPEN", "HOPEN2", "CARE", "HOSPICONNECT", "MES", "DMP", "INS", "PSC", "MSSANTE"} <= programmes
    assert {"EPRESCRIPTION", "APPCV", "ASAFO", "IA-DONNEES", "EHDS", "F2030-SANTE-NUM"} <= programmes
    assert {r["id"] for r in bundle.records["axes"]} >= {"1", "2", "3", "4"}
    assert "CNS-14" in {r["id"] for r in bundle.records["councils"]}


# (question, expected record id, a fact the answer text or fields must state)
QUESTIONS: list[tuple[str, str, str]] = [
    ("qui dirige l'ANS ?", "ANS", "Zerbini"),
    ("who leads ANS?", "ANS", "Zerbini"),
    ("qui dirige la DNS ?", "DNS", "Hela Ghariani"),
    ("who heads the digital health delegation?", "DNS", "Ghariani"),
    ("qui est Hela Ghariani ?", "DNS", "déléguée au numérique en santé"),
    ("c'est quoi l'ASIP Santé ?", "ANS", "Agence du numérique en santé"),
    ("c'est quoi la DNS ?", "DNS", "feuille de route"),
    ("what is the Health Data Hub?", "HDH", "données de santé"),
    ("c'est quoi les GRADeS ?", "GRADES", "e-santé"),
    ("c'est quoi la CNIL ?", "CNIL", "Commission nationale de l'informatique et des libertés"),
    ("qui pilote Mon espace santé ?", "MES", "Caisse nationale de l'Assurance Maladie"),
    ("qui pilote le DMP ?", "DMP", "CNAM"),
    ("qui est responsable du DMP ?", "DMP", "CNAM"),
    ("qui porte le programme CaRE ?", "CARE", "ANS"),
    ("who owns the CaRE programme?", "CARE", "DNS"),
    ("c'est quoi CaRE ?", "CARE", "cybersécurité"),
    ("c'est quoi HospiConnect ?", "HOSPICONNECT", "DMP"),
    ("hospi connect", "HOSPICONNECT", "DMP"),
    ("HOP'EN 2", "HOPEN2", "ARS"),
    ("qui pilote HOP'EN ?", "HOPEN", "DGOS"),
    ("c'est quoi le Ségur du numérique ?", "SEGUR", "2 Md€"),
    ("segur numerique budget", "SEGUR", "2 Md€"),
    ("what is Pro Santé Connect?", "PSC", "e-CPS"),
    ("c'est quoi l'e-CPS ?", "PSC", "Pro Santé Connect"),
    ("c'est quoi l'INS ?", "INS", "identité"),
    ("ordonnance numérique", "EPRESCRIPTION", "1er janvier 2025"),
    ("qui pilote l'appli carte Vitale ?", "APPCV", "SESAM-Vitale"),
    ("c'est quoi ASAFO-Pharma ?", "ASAFO", "2 août 2024"),
    ("c'est quoi l'EHDS ?", "EHDS", "2025/327"),
    ("stratégie IA et données de santé", "IA-DONNEES", "2025"),
    ("France 2030 santé numérique", "F2030-SANTE-NUM", "France 2030"),
    ("c'est quoi la feuille de route 2023-2027 ?", "FDR-2023-2027", "65 objectifs"),
    ("Ma santé 2022", "MS2022", "2019"),
    ("décisions du 14e CNS", "CNS-14-PIVOT", "pivot"),
    ("qu'a décidé le 14e conseil du numérique en santé ?", "CNS-14-FIN-200M", "200 M€"),
    ("what did the 14th CNS decide?", "CNS-14-HOSPICONNECT", "HospiConnect"),
    ("qu'a décidé le conseil sur la portabilité ?", "CNS-14-PIVOT", "un mois"),
    ("qu'a décidé le dernier conseil ?", "CNS-14-CSDS-COMEX", "Comex"),
    ("quand a eu lieu le 14e CNS ?", "CNS-14", "sources divergent"),
    ("décisions du 12e CNS", "CNS-12-ETAT-AVANCEMENT", "65 objectifs"),
    ("c'est quoi l'axe 2 ?", "2", "Dégager du temps"),
    ("axe 4 de la feuille de route", "4", "cadre propice"),
    ("combien de participants au 14e conseil ?", "CNS-14", "300 participants"),  # the field, first line
    ("où en est l'objectif A1-MES-DOCS ?", "A1-MES-DOCS", "400 millions"),
    ("médiateurs numériques en santé", "A1-MEDIATEURS", "10 000"),
    ("financement de 200 millions pour les hôpitaux", "CNS-14-FIN-200M", "identité"),
]


@pytest.mark.parametrize(("question", "record", "fact"), QUESTIONS)
def test_bundled_question(bundled_kb: KnowledgeBase, question: str, record: str, fact: str) -> None:
    answer = bundled_kb.ask(question)
    shown = "\n".join([answer.title, answer.text, *answer.fields.values()])
    assert not answer.choices, answer.to_text()
    assert any(record in (r["id"], r["kind"]) for r in answer.results), answer.to_text()
    assert fact in shown, answer.to_text()
    assert answer.sources and all(_http(s["url"]) for s in answer.sources)


def test_enough_bundled_questions() -> None:
    assert len(QUESTIONS) >= 40


def test_official_objective_23_is_not_invented(bundled_kb: KnowledgeBase) -> None:
    answer = bundled_kb.ask("où en est l'objectif 23 ?")
    assert answer.text.startswith("Je n'ai pas d'objectif 23 dans ma base")
    assert "semestrielle" in answer.text and "objectives.csv" in answer.text
    assert answer.sources and not answer.results
