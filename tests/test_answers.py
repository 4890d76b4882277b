"""Answering: a DSI's questions in French and English, with typos, over the fictional test roadmap."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge import Answer, KnowledgeBase
from knowledge.model import INTENTS

# (question, expected intent, expected record id or None, expected language)
QUESTIONS: list[tuple[str, str, str | None, str]] = [
    # status by number, in every way people type it
    ("où en est l'objectif 12 ?", "status", "12", "fr"),
    ("ou en est l objectif 12", "status", "12", "fr"),
    ("Objectif 12 ?", "status", "12", "fr"),
    ("obj. 12", "status", "12", "fr"),
    ("obj 12", "status", "12", "fr"),
    ("O12", "status", "12", "fr"),
    ("#12", "status", "12", "fr"),
    ("statut de l'objectif 12", "status", "12", "fr"),
    ("What is the status of objective 12?", "status", "12", "en"),
    ("objective 12 status", "status", "12", "en"),
    ("@govbot où en est l'objectif 007 ?", "status", "007", "fr"),
    ("objectif 007", "status", "007", "fr"),
    ("objectif 2.1", "status", "2.1", "fr"),
    ("objectif 2.10", "status", "2.10", "fr"),
    ("objective 2.10?", "status", "2.10", "en"),
    ("O2.10", "status", "2.10", "fr"),
    ("avancement objectif 1", "status", "1", "fr"),
    ("progress of objective 1", "status", "1", "en"),
    ("<@U123ABC> objectif 23", "status", "23", "fr"),
    # status by words
    ("où en est la double authentification ?", "status", "1", "fr"),
    ("ou en est l'interoperabilite avec les laboratoires ?", "status", "12", "fr"),
    ("where does the MFA rollout stand?", "status", "1", "en"),
    ("état des sauvegardes hors ligne", "status", "2.1", "fr"),
    ("plan de reprise d'activité", "status", "2.10", "fr"),
    ("MFA", "status", "1", "fr"),
    ("authentification multifacteur", "status", "1", "fr"),
    ("authentifcation multifacteur", "status", "1", "fr"),
    ("messagerie sécurisée", "status", "23", "fr"),
    # ownership and people
    ("qui pilote le programme Atlas ?", "owner", "ATLAS", "fr"),
    ("qui pilote Atlas ?", "owner", "ATLAS", "fr"),
    ("Qui porte le programme Zénith ?", "owner", "ZENITH", "fr"),
    ("qui porte le programme zenith", "owner", "ZENITH", "fr"),
    ("who owns Atlas?", "owner", "ATLAS", "en"),
    ("who runs the Zenith programme?", "owner", "ZENITH", "en"),
    ("who owns objective 12?", "owner", "12", "en"),
    ("qui est responsable de l'objectif 007 ?", "owner", "007", "fr"),
    ("qui pilote l'objectif 2 ?", "owner", "2", "fr"),
    ("qui dirige la DSI ?", "owner", "DSI-GHT", "fr"),
    ("qui dirige le GHT ?", "owner", "GHT", "fr"),
    ("who leads the hospital group?", "owner", "GHT", "en"),
    ("who heads the IT department?", "owner", "DSI-GHT", "en"),
    ("qui est Claire Martin ?", "owner", "DSI-GHT", "fr"),
    ("who is Paul Durand?", "owner", "GHT", "en"),
    ("qui est responsable de la PUI ?", "owner", "PHARMA", "fr"),
    # decisions
    ("qu'a décidé le 2e comité ?", "decisions", "COPIL-2", "fr"),
    ("décisions du 2e comité de pilotage", "decisions", "COPIL-2", "fr"),
    ("decisions of the 1st committee", "decisions", "COPIL-1", "en"),
    ("qu'a décidé le dernier comité ?", "decisions", "COPIL-2", "fr"),
    ("what did the last committee decide?", "decisions", "COPIL-2", "en"),
    ("qu'a décidé le comité sur la portabilité ?", "decisions", "D-3", "fr"),
    ("what was decided on double authentication?", "decisions", "D-2", "en"),
    ("décision sur le programme Atlas", "decisions", "D-1", "fr"),
    ("quelles décisions sur la portabilite des données", "decisions", "D-3", "fr"),
    # lists and filters
    ("objectifs en retard", "list", "007", "fr"),
    ("quels objectifs sont en retard ?", "list", "2.10", "fr"),
    ("which objectives are late?", "list", "007", "en"),
    ("list of delayed objectives", "list", "2.10", "en"),
    ("objectifs réalisés", "list", "2", "fr"),
    ("objectifs en cours", "list", "12", "fr"),
    ("objectifs de l'axe 2", "list", "12", "fr"),
    ("objectives of axis 1", "list", "2.1", "en"),
    ("liste des objectifs de la cellule cybersécurité", "list", "1", "fr"),
    ("objectives owned by CYBER", "list", "2", "en"),
    ("liste des programmes", "list", "ZENITH", "fr"),
    ("programmes de la DSI", "list", "ATLAS", "fr"),
    ("liste des comités", "list", "COPIL-2", "fr"),
    ("which councils?", "list", "COPIL-1", "en"),
    # changes between reports
    ("qu'est-ce qui a changé depuis le dernier rapport ?", "changes", "007", "fr"),
    ("what changed in the last review?", "changes", "1", "en"),
    ("what changed since June 2024?", "changes", "12", "en"),
    ("quoi de neuf depuis juin 2024 ?", "changes", "007", "fr"),
    ("changements depuis le 1er juillet 2024", "changes", "D-2", "fr"),
    # what is it
    ("c'est quoi le programme Atlas ?", "about", "ATLAS", "fr"),
    ("qu'est-ce que Zénith ?", "about", "ZENITH", "fr"),
    ("what is Zenith?", "about", "ZENITH", "en"),
    ("c'est quoi la cellule cybersécurité ?", "about", "CYBER", "fr"),
    ("programe atlas", "about", "ATLAS", "fr"),
    ("nouveau DPI", "about", "ATLAS", "fr"),
    ("what is the RSSI?", "about", "CYBER", "en"),
    ("c'est quoi l'axe 1 ?", "about", "1", "fr"),
    ("1er comité de pilotage", "about", "COPIL-1", "fr"),
    # passages
    ("combien de participants au 2e comité ?", "passage", None, "fr"),
    ("combien de temps a pris la reprise après l'exercice de crise ?", "passage", None, "fr"),
    ("quelle est l'enveloppe 2025 du schéma directeur ?", "passage", None, "fr"),
    ("what is the 2025 budget of the master plan?", "passage", None, "en"),
    # help
    ("help", "help", None, "en"),
    ("aide", "help", None, "fr"),
    ("", "help", None, "fr"),
    ("@govbot", "help", None, "fr"),
    # out of scope: say so
    ("quelle est la météo demain ?", "unknown", None, "fr"),
    ("what is the capital of Australia?", "unknown", None, "en"),
    ("recette de la tarte aux pommes", "unknown", None, "fr"),
    ("who won the football world cup?", "unknown", None, "en"),
    ("prix du bitcoin", "unknown", None, "fr"),
    ("qui pilote le programme Apollo ?", "unknown", None, "fr"),
    ("décisions du 9e comité", "unknown", None, "fr"),
]


def ids(answer: Answer) -> set[str]:
    return {r["id"] for r in answer.results}


@pytest.mark.parametrize(("question", "intent", "record", "lang"), QUESTIONS)
def test_question(kb: KnowledgeBase, question: str, intent: str, record: str | None, lang: str) -> None:
    answer = kb.ask(question)
    assert answer.intent == intent, answer.to_text()
    assert answer.lang == lang
    if record is not None:  # answered directly: asking back is wrong here (asking back has its own test)
        assert not answer.choices, answer.to_text()
        assert record in ids(answer), answer.to_text()
        assert answer.sources and all(s["url"].startswith("https://") for s in answer.sources)
    if intent == "unknown":
        assert not answer.results and answer.confidence == 0.0


def test_the_questions_cover_every_intent_in_both_languages() -> None:
    assert {(intent, lang) for _, intent, _, lang in QUESTIONS} == {(i, lang) for i in INTENTS for lang in ("fr", "en")}


def test_status_answer_gives_status_progress_due_owners_and_report(kb: KnowledgeBase) -> None:
    answer = kb.ask("où en est l'objectif 007 ?")
    assert answer.title == "Objectif 007 — Alimenter le DMP avec les comptes rendus d'hospitalisation"
    assert answer.fields["status"] == "en retard"
    assert answer.fields["progress"] == "20 %"
    assert answer.fields["due"] == "2025-06"
    assert "DSI-GHT" in answer.fields["owners"]
    assert answer.fields["report"] == "Bilan semestriel décembre 2024 (2024-12-20)"
    assert {"title": "Bilan semestriel décembre 2024", "url": "https://example.org/ght/bilan-2024-12"} in answer.sources


def test_missing_objective_says_so_and_how_to_load_the_list(kb: KnowledgeBase) -> None:
    answer = kb.ask("où en est l'objectif 99 ?")
    assert answer.intent == "unknown" and not answer.results and not answer.answered
    assert "Je n'ai pas d'objectif 99" in answer.text
    assert "objectives.csv" in answer.text
    assert answer.sources[0]["url"] == "https://example.org/ght/bilan-2024-12"


def test_english_answer_for_english_question(kb: KnowledgeBase) -> None:
    answer = kb.ask("who owns objective 12?")
    assert answer.lang == "en"
    assert "is owned by" in answer.text and answer.fields["status"] == "in progress"


def test_changes_list_status_moves(kb: KnowledgeBase) -> None:
    answer = kb.ask("qu'est-ce qui a changé depuis le dernier rapport ?")
    assert "• 007 — Alimenter le DMP avec les comptes rendus d'hospitalisation : en cours 10 % → en retard 20 %" in (
        answer.text
    )
    assert "• 2 — Réaliser un exercice de crise cyber chaque année : en cours 50 % → réalisé 100 %" in answer.text


def test_passage_quotes_the_document_with_its_link(kb: KnowledgeBase) -> None:
    answer = kb.ask("combien de participants au 2e comité ?")
    assert "42 participants" in answer.text
    assert answer.sources == [
        {"title": "Compte rendu du 2e comité de pilotage", "url": "https://example.org/ght/copil-2-compte-rendu"}
    ]


def test_unknown_offers_suggestions_and_invents_nothing(bundled_kb: KnowledgeBase, kb: KnowledgeBase) -> None:
    answer = bundled_kb.ask("quelle est la météo demain ?")
    assert answer.text.startswith("Je ne sais pas répondre") and answer.text.endswith("cherchiez-vous :")
    assert [c["query"] for c in answer.choices] == bundled_kb.examples("fr")[:3] and len(answer.choices) == 3
    assert not answer.sources
    # Knowledge that answers none of the example questions suggests none, and does not promise any.
    answer = kb.ask("quelle est la météo demain ?")
    assert answer.choices == [] and "cherchiez-vous" not in answer.text


def test_close_candidates_ask_back_and_each_choice_answers(kb: KnowledgeBase) -> None:
    answer = kb.ask("dossier patient")
    assert answer.choices, answer.to_text()
    assert answer.text == "Vous parlez de laquelle de ces fiches ?"
    for choice in answer.choices:
        chosen = kb.ask(choice["query"])
        assert chosen.results and not chosen.choices
        assert chosen.lang == "fr"  # the asker's language, not a guess from the choice's query


def test_extra_fields_are_shown(kb: KnowledgeBase) -> None:
    assert kb.ask("objectif 23").fields["referent"] == "Dr Leroy"


def test_answer_json_has_exactly_the_contract_keys(kb: KnowledgeBase) -> None:
    data = json.loads(kb.ask("obj 12").to_json())
    assert list(data) == [
        *("intent", "lang", "title", "text", "fields", "sources", "confidence", "choices", "results", "details")
    ]
    assert set(data["results"][0]) == {"kind", "id", "title", "url"}


def test_disputed_facts_say_that_sources_differ(kb: KnowledgeBase, tmp_path) -> None:
    extra = tmp_path / "d.yaml"
    extra.write_text(
        "councils:\n  - id: C9\n    name: Conseil Vega\n    date: 2025-01-10\n    url: https://example.org/a\n"
        "    disputed: une autre source le date du 12 janvier 2025\n"
        "    sources: [{title: Autre, url: 'https://example.org/b'}]\n",
        encoding="utf-8",
    )
    kb.refresh([str(extra)], bundled=False)
    answer = kb.ask("c'est quoi le conseil Vega ?")
    assert "⚠ Les sources divergent : une autre source le date du 12 janvier 2025" in answer.text
    assert [s["url"] for s in answer.sources] == ["https://example.org/a", "https://example.org/b"]


@pytest.mark.parametrize(
    "text",
    ['"', "*", "NEAR(", "a OR", "owner: IT", "-MFA", "\x00", "' OR 1=1 --", "é" * 4000, "🙂 ? ! ^ {a b}: c", "\t\n"],
)
def test_hostile_text_never_raises(kb: KnowledgeBase, text: str) -> None:
    answer = kb.ask(text)
    assert answer.intent in ("help", "unknown", "status", "about", "passage", "owner", "list")
    assert len(answer.text) < 2000


def test_a_name_shared_by_two_kinds_goes_to_the_kind_the_question_names(kb: KnowledgeBase, tmp_path) -> None:
    extra = tmp_path / "orion.yaml"
    extra.write_text(
        "source: {url: 'https://example.org/orion'}\n"
        "programmes:\n  - {id: ORION, name: Programme Orion, aliases: [Orion]}\n"
        "objectives:\n  - {id: O-ORION, title: Déployer Orion, aliases: [Orion]}\n"
        "  - {id: O-PHARMA, title: Ouvrir le Programme Atlas aux pharmacies, aliases: [ouverture pharmacies]}\n",
        encoding="utf-8",
    )
    kb.refresh([str(extra)], bundled=False)
    assert ids(kb.ask("qui porte l'objectif Orion ?")) == {"O-ORION"}
    assert ids(kb.ask("c'est quoi le programme Orion ?")) == {"ORION"}
    assert ids(kb.ask("Orion")) == {"ORION"}  # nothing named: the bigger thing
    # Two names in one question: the record whose title holds the other name is the more specific.
    assert ids(kb.ask("ouverture pharmacies du Programme Atlas")) == {"O-PHARMA"}


def test_a_shortened_answer_keeps_its_whole_text(bundled_kb: KnowledgeBase, kb: KnowledgeBase) -> None:
    """The asked fact is never cut: the brief text is shown, the whole one is `details` (front ends' "More")."""
    answer = bundled_kb.ask("C'est quoi le programme CaRE ?")
    assert answer.text.endswith("…") and len(answer.details) > len(answer.text)
    last = answer.details.splitlines()[-1]
    assert last not in answer.text and last in answer.to_text()  # the CLI prints it all
    assert kb.ask("qui pilote le programme Atlas ?").details == ""  # nothing was cut: nothing more to show


def test_choices_say_what_kind_of_record_they_lead_to(tmp_path: Path) -> None:
    (tmp_path / "plan.yaml").write_text(
        """source: {title: Comptes rendus, url: "https://example.org/copil", published: 2025-01-10}
councils:
  - {id: COPIL-3, name: 3e comité de pilotage SI, number: 3, date: 2025-01-10, aliases: ["3e COPIL"]}
  - {id: COPIL-4, name: 4e comité de pilotage SI, number: 4, date: 2025-06-10, aliases: ["4e COPIL", "comité 4"]}
decisions:
  - {id: D-10, council: COPIL-3, date: 2025-01-10, title: Renouvellement des postes de travail des urgences}
  - {id: D-11, council: COPIL-4, date: 2025-06-10, title: Renouvellement des postes de travail du bloc}
""",
        encoding="utf-8",
    )
    kb = KnowledgeBase(tmp_path / "kb")
    kb.refresh([str(tmp_path / "plan.yaml")], bundled=False)
    assert [c["label"] for c in kb.ask("postes de travail").choices] == [
        "Décision du 3e COPIL — Renouvellement des postes de travail des urgences",
        "Décision du 4e COPIL — Renouvellement des postes de travail du bloc",  # the council's shortest name
    ]


def test_where_a_programme_stands_is_a_status_answer_and_who_runs_it_an_owner_answer(
    bundled_kb: KnowledgeBase,
) -> None:
    status = bundled_kb.ask("CaRE avancement")
    assert (status.intent, status.results[0]["id"]) == ("status", "CARE")
    owner = bundled_kb.ask("Pro Santé Connect is run by which agency?")
    assert (owner.intent, owner.results[0]["id"]) == ("owner", "PSC")


@pytest.mark.parametrize(
    ("question", "record"),
    [
        # The broad card's text says the extra words too; the record whose names hold them is the one asked.
        ("ou en est le départ du HDH de chez Microsoft ?", "HDH-HEBERGEMENT"),
        ("the 2019 DMP redesign, was it done?", "MS2022-MESURE-DMP-REFONTE"),
        ("the health data strategic committee in 2026, what becomes of it?", "CNS-14-CSDS-COMEX"),
        ("la première version de la feuille de route 2023-2027, montrée à quel conseil ?", "CNS-2022-12-FDR"),
        # A numbered part of a plan, as its source numbers it.
        ("l'action 15 de l'axe 4, où en est-on ?", "A4-CARE"),
        ("action 6 of Ma santé 2022, how far along?", "MS2022-6"),
    ],
)
def test_a_specific_record_beats_the_broad_one_named(bundled_kb: KnowledgeBase, question: str, record: str) -> None:
    answer = bundled_kb.ask(question)
    assert [r["id"] for r in answer.results][:1] == [record], (question, answer.title)


def test_the_cost_of_a_council_is_not_the_funding_it_announced(bundled_kb: KnowledgeBase) -> None:
    answer = bundled_kb.ask("le 14e CNS, son organisation a coûté combien ?")
    assert answer.intent == "unknown"
    assert "200" not in answer.text


def test_which_council_a_person_came_to_is_the_council_naming_them(bundled_kb: KnowledgeBase) -> None:
    answer = bundled_kb.ask("à quel conseil Olivier Véran est-il passé ?")
    assert [r["id"] for r in answer.results][:1] == ["CNS-3"], answer.title
