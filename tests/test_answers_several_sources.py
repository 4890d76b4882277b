"""Answers over several sources at once: report series, organisations, and what no record says."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.eval import build_kb
from knowledge import KnowledgeBase


@pytest.fixture(scope="module")
def two_series(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    """The bundled knowledge, the group plan with its quarterly reviews and the region with its bilans."""
    return build_kb(Path(tmp_path_factory.mktemp("series")), region=True)


def test_a_question_naming_no_series_asks_which_and_a_click_answers_it(two_series: KnowledgeBase) -> None:
    answer = two_series.ask("what changed in the last review?")
    assert answer.intent == "changes" and answer.confidence < 0.78
    queries = [c["query"] for c in answer.choices]
    # The national roadmap's semiannual publication is a series too (issue 14), listed first as roadmaps are.
    assert queries == [
        "changes programmes:FDR-SUIVI [en]",
        "changes reports:ars-vdb:BILAN-2025-S2 [en]",
        "changes reports:R3R-2025-09 [en]",
    ]
    clicked = two_series.ask(queries[2])
    assert clicked.results[0]["id"] == "R3R-2025-09"
    assert "Revue trimestrielle de mars 2025" in clicked.title and "Bilan" not in clicked.text


@pytest.mark.parametrize(
    ("question", "report"),
    [
        ("qu'est-ce qui a changé dans la dernière revue du GH3R ?", "R3R-2025-09"),
        ("y a quoi de neuf aux Trois-Rivières ?", "R3R-2025-09"),
        ("what changed in the latest Val-de-Brume review?", "ars-vdb:BILAN-2025-S2"),
        ("qu'est-ce qui a changé dans le dernier bilan semestriel de l'ARS ?", "ars-vdb:BILAN-2025-S2"),
        ("what changed in the September 2025 review?", "R3R-2025-09"),
    ],
)
def test_the_organisation_roadmap_or_month_named_picks_the_series(
    two_series: KnowledgeBase, question: str, report: str
) -> None:
    answer = two_series.ask(question)
    assert answer.intent == "changes" and answer.confidence >= 0.78
    assert answer.results[0] == {**answer.results[0], "kind": "reports", "id": report}


def test_news_of_a_named_record_is_that_record_not_a_comparison(two_series: KnowledgeBase) -> None:
    answer = two_series.ask("y a quoi de neuf sur mon espace santé")
    assert answer.results[0]["id"] == "MES"


def test_change_as_a_verb_is_not_a_question_about_changes(two_series: KnowledgeBase) -> None:
    answer = two_series.ask("how often do we have to change passwords per the charter")
    assert answer.intent != "changes"


@pytest.mark.parametrize(
    "question",
    [
        "qui est le DRH du groupe hospitalier des Trois-Rivières ?",  # a post no title of the group holds
        "who will replace Claire Morvan when she leaves?",  # the future
        "who was Sophie Kerhervé's predecessor at e-Brume Santé?",  # no former holder is named
        "Paul Rigal's email address?",  # a fact no record kind holds
        "I lost my CPS card, what do I do?",  # support, not governance
    ],
)
def test_what_no_record_says_is_i_dont_know_even_when_the_question_names_a_record(
    two_series: KnowledgeBase, question: str
) -> None:
    assert two_series.ask(question).intent == "unknown"


def test_a_post_held_in_a_unit_or_a_former_holder_named_is_still_answered(two_series: KnowledgeBase) -> None:
    assert two_series.ask("qui est le RSSI des Trois-Rivières ?").intent != "unknown"
    assert two_series.ask("qui était avant Zerbini à l'ANS ?").intent != "unknown"


@pytest.mark.parametrize(
    ("question", "unit"),
    [
        ("who heads imaging at Trois-Rivières?", "IMAG-3R"),  # a unit listed in the group's plan, no parent
        ("who is the CISO at the Three Rivers hospital group?", "SECU-3R"),  # "rssi" spelt out as people write it
        ("le RSSI du GH3R c'est qui", "SECU-3R"),
        ("who heads nursing at Trois-Rivières?", "DSOINS-3R"),  # the unit by its own name, the post in general
        ("who is head of radiology at Three Rivers?", "IMAG-3R"),  # the group's English name; the pole's alias
        ("who's in charge of nursing at the Three Rivers group", "DSOINS-3R"),
    ],
)
def test_a_post_asked_of_an_organisation_is_its_unit_that_holds_it(
    two_series: KnowledgeBase, question: str, unit: str
) -> None:
    answer = two_series.ask(question)
    assert (answer.intent, answer.results[0]["id"]) == ("owner", unit)


@pytest.mark.parametrize(
    ("question", "decision"),
    [
        ("le copil du GH3R, il a décidé quoi à propos du PACS ?", "D3R-1"),  # the group's name is no topic word
        ("what did the GH3R steering committee decide regarding the PACS?", "D3R-1"),
        ("combien d'argent débloqué pour les sauvegardes immuables ?", "D3R-3"),  # money granted: a decision
    ],
)
def test_decisions_of_a_named_organisation_about_a_subject(
    two_series: KnowledgeBase, question: str, decision: str
) -> None:
    answer = two_series.ask(question)
    assert (answer.intent, answer.results[0]["id"]) == ("decisions", decision)


@pytest.mark.parametrize(
    ("question", "ids"),
    [
        ("les objectifs de la pharmacie centrale des Trois-Rivières ?", ["6", "15"]),  # the unit, not the group
        ("what is the Trois-Rivières imaging department working on right now?", ["5"]),
    ],
)
def test_a_unit_of_a_named_organisation_lists_its_own_objectives(
    two_series: KnowledgeBase, question: str, ids: list[str]
) -> None:
    answer = two_series.ask(question)
    assert answer.intent == "list" and [r["id"] for r in answer.results] == ids


def test_a_post_alone_asked_of_a_unit_is_that_units_own(two_series: KnowledgeBase) -> None:
    # The lab's record names nobody: not another unit's head.
    assert two_series.ask("who heads the Trois-Rivières biology lab?").intent == "unknown"


def test_the_same_topic_in_two_organisations_asks_which_unless_one_is_named(two_series: KnowledgeBase) -> None:
    answer = two_series.ask("télésurveillance cardiaque, on en est où ?")
    assert [c["query"] for c in answer.choices] == ["status objectives:1 [fr]", "status objectives:ars-vdb:1.2 [fr]"]
    # Each choice says whose: the region's roadmap, or the group whose plan was loaded in the national one.
    assert [c["label"].split(" — ")[0] for c in answer.choices] == ["Objectif 1 (GHTR)", "Objectif 1.2 (ars-vdb)"]
    scoped = two_series.ask("télésurveillance cardiaque de la région, on en est où ?")
    assert not scoped.choices and scoped.results[0]["id"] == "ars-vdb:1.2"


@pytest.mark.parametrize(
    ("question", "record"),
    [
        ("Three Rivers clinical data warehouse status", "11"),  # the group's name scopes, it is not a topic word
        ("zéro papier au GH3R on en est où ?", "19"),
        ("what's the status of 4.3 on the regional roadmap", "ars-vdb:4.3"),
    ],
)
def test_an_organisation_named_scopes_the_question_to_its_own_records(
    two_series: KnowledgeBase, question: str, record: str
) -> None:
    answer = two_series.ask(question)
    assert (answer.intent, answer.results[0]["id"]) == ("status", record)


def test_an_organisation_named_outright_beats_a_roadmap_named_by_a_word(two_series: KnowledgeBase) -> None:
    # "regional" would scope to the region's roadmap; the group named ("Three Rivers") and its "PACS régional" win.
    answer = two_series.ask("where does the regional PACS project stand at Three Rivers?")
    assert (answer.intent, answer.results[0]["id"]) == ("status", "5")


@pytest.mark.parametrize(
    "question",
    ["tu sais faire quoi ?", "comment je te pose une question sur un objectif ?", "how do I ask you about a council"],
)
def test_questions_about_the_bot_itself_get_help(two_series: KnowledgeBase, question: str) -> None:
    assert two_series.ask(question).intent == "help"


def test_who_carries_a_topic_is_the_objective_not_the_decision_about_it(two_series: KnowledgeBase) -> None:
    answer = two_series.ask("who owns the regional data warehouse?")
    assert (answer.intent, answer.results[0]["id"], answer.choices) == ("owner", "ars-vdb:3.3", [])


def test_the_decisions_of_a_council_named_with_its_organisation(two_series: KnowledgeBase) -> None:
    answer = two_series.ask("qu'a décidé le copil de juin 2025 du GH3R ?")
    assert answer.intent == "decisions" and answer.results[0]["id"] == "COPIL-3R-2025-06"
    carried = two_series.ask("décisions de l'URPS au copil de décembre")
    assert carried.results[0]["id"] == "ars-vdb:D-2025-12-03"


def test_a_surname_alone_names_its_person_and_two_namesakes_are_asked_about(two_series: KnowledgeBase) -> None:
    answer = two_series.ask("Zerbini en poste depuis ?")
    assert answer.results[0]["id"] == "ANS" and "Zerbini" in answer.text
    namesakes = two_series.ask("Benali c'est qui ?")
    assert [c["query"].split()[1] for c in namesakes.choices] == ["actors:SECU-3R", "actors:ars-vdb:GRADES-VDB"]


def test_a_deadline_asked_leads_the_objectives_answer(two_series: KnowledgeBase) -> None:
    answer = two_series.ask("quelle est l'échéance de l'objectif 2.2 de l'ARS ?")
    assert answer.intent == "about" and answer.text.splitlines()[0] == "Échéance : mi-2026"


@pytest.mark.parametrize(
    "question",
    [
        "depuis quand Claire Morvan est DG de l'ARS ?",  # her start is not given
        "quel est le budget numérique 2026 du groupe ?",  # the minutes give 2025's
    ],
)
def test_a_date_the_sources_do_not_give_is_not_answered_with_another(two_series: KnowledgeBase, question: str) -> None:
    assert two_series.ask(question).intent == "unknown"


def test_an_axis_number_two_roadmaps_share_asks_which(two_series: KnowledgeBase) -> None:
    answer = two_series.ask("axe 2 ?")
    assert [c["query"] for c in answer.choices] == ["about axes:2 [fr]", "about axes:ars-vdb:2 [fr]"]


def test_a_long_topic_may_leave_one_word_the_record_does_not_use(two_series: KnowledgeBase) -> None:
    answer = two_series.ask("lab results sent to GPs by secure messaging - done?")
    assert answer.results[0]["id"] == "7"


def test_a_post_asked_picks_the_organisation_whose_people_hold_it(two_series: KnowledgeBase) -> None:
    answer = two_series.ask("RSSI du GRADeS ?")  # the national GRADeS has none named, the region's has one
    assert not answer.choices and answer.results[0]["id"] == "ars-vdb:GRADES-VDB"


def test_a_post_held_by_a_unit_of_the_named_organisation_is_that_unit(two_series: KnowledgeBase) -> None:
    answer = two_series.ask("la DSI des trois rivieres c'est qui ?")
    assert answer.results[0]["id"] == "DNUM-3R" and "Inès Vasseur" in answer.text


def test_a_month_two_organisations_met_in_asks_whose_council(two_series: KnowledgeBase) -> None:
    answer = two_series.ask("what did the steering committee decide in June 2025?")
    assert [c["query"] for c in answer.choices] == [
        "decisions councils:COPIL-3R-2025-06 [en]",
        "decisions councils:ars-vdb:COPIL-2025-06 [en]",
    ]
    assert two_series.ask("date of the june 2025 digital copil, Three Rivers").results[0]["id"] == "COPIL-3R-2025-06"


def test_a_passage_about_another_month_does_not_answer(two_series: KnowledgeBase) -> None:
    answer = two_series.ask("where was the December 2025 steering committee held?")
    assert answer.results[0]["id"] == "ars-vdb:COPIL-2025-12"  # not the June minutes


@pytest.mark.parametrize(
    "question",
    [
        "combien de lits au CHU Brumeport",  # the CHU's record gives no count of beds
        "combien d'ETP a l'ANS aujourdhui",
        "when is the next CNS?",  # the future
        "who is the president of the HAS?",  # the HAS record names nobody
        "qui était DG des Trois-Rivières avant Mathilde Roussel ?",  # no former holder named
        "how do I unlock my blocked Amelipro account?",  # support
    ],
)
def test_a_question_naming_a_record_for_what_it_does_not_say_is_i_dont_know(
    two_series: KnowledgeBase, question: str
) -> None:
    assert two_series.ask(question).intent == "unknown"


@pytest.mark.parametrize(
    ("question", "record"),
    [
        ("combien coûte le programme Rempart", "REMPART"),  # its budget field
        ("combien d'etablissements dans le GHT du Litoral ?", "ars-vdb:GHT-LITTORAL"),  # "six établissements"
        ("QUI PILOTE LE CONSEIL DU NUMERIQUE EN SANTE", "CNS"),  # no person, but its text says who steers it
    ],
)
def test_the_same_questions_are_answered_when_the_record_says_it(
    two_series: KnowledgeBase, question: str, record: str
) -> None:
    answer = two_series.ask(question)
    assert answer.intent != "unknown" and answer.results[0]["id"] == record


def test_an_axis_number_no_roadmap_has_is_said_so(two_series: KnowledgeBase) -> None:
    answer = two_series.ask("axe 7 de la fdr 2023-2027")
    assert answer.intent == "unknown" and answer.text.startswith("Je n'ai pas d'axe 7")


@pytest.mark.parametrize(
    "question",
    [
        "is HospiConnect mandatory for private clinics",
        "le décret HospiConnect c'est quel numéro ?",
        "compare our roadmap progress with Sweden's",
    ],
)
def test_a_rule_a_number_or_a_country_the_records_do_not_give_is_i_dont_know(
    two_series: KnowledgeBase, question: str
) -> None:
    assert two_series.ask(question).intent == "unknown"


def test_a_misspelt_proper_name_is_corrected_like_the_rest_of_the_question(two_series: KnowledgeBase) -> None:
    answer = two_series.ask("workstatiion reneawl at Three Ruvers, is it movung?")  # "Ruvers" held as "rivers"
    assert answer.results and answer.results[0]["id"] == "16"
    assert two_series.ask("what clour is 3.1?").intent != "unknown"  # "clour" is a colour, not "cloud"


def test_a_record_holding_the_name_and_more_of_the_question_is_the_more_specific_one(
    two_series: KnowledgeBase,
) -> None:
    # "DMP" names the programme; the measure about newborns holds "DMP" and the rest of the question.
    answer = two_series.ask("le DMP auto des nouveau-nés c bon ?")
    assert answer.results[0]["id"] == "MS2022-MESURE-DMP-NOUVEAU-NES"
    assert answer.confidence < 0.78  # found by more words than its name: not as sure as a name
    # A question the programme's own record holds stays the programme's.
    assert two_series.ask("qui porte le DMP ?").results[0]["id"] == "DMP"


def test_the_year_of_a_name_dates_no_council(two_series: KnowledgeBase) -> None:
    # "2023" belongs to the roadmap's name: no council of 2023 is what is asked.
    answer = two_series.ask("la FDR 2023-2027 a été présentée à quel CNS ?")
    assert [r["id"] for r in answer.results][:1] != ["CNS-10"]


def test_a_region_word_in_a_records_own_name_names_no_roadmap(two_series: KnowledgeBase) -> None:
    # The group's "PACS régional" is not a record of the regional roadmap.
    answer = two_series.ask("qui porte le PACS régional ?")
    assert (answer.intent, answer.results[0]["id"]) == ("owner", "5")


def test_an_axis_of_a_roadmap_named_in_words(two_series: KnowledgeBase) -> None:
    answer = two_series.ask("c'est quoi l'axe 4 de la feuille de route de Val-de-Brume ?")
    assert (answer.intent, answer.results[0]["id"]) == ("about", "ars-vdb:4")


def test_a_likely_record_holding_the_whole_topic_beats_names_of_its_parts(two_series: KnowledgeBase) -> None:
    # "cyber" names the region's security axis and "GHT" a GHT; only the objective holds the whole topic.
    answer = two_series.ask("l'exercice de crise cyber dans chaque GHT, c'est bouclé ?")
    assert (answer.intent, answer.results[0]["id"]) == ("status", "ars-vdb:2.1")
    assert answer.confidence < 0.78


def test_a_status_asked_of_a_programme_named_like_an_objective_is_the_programmes(two_series: KnowledgeBase) -> None:
    # The app (a programme) and the 2019 plan's action about it (an objective) share the name.
    answer = two_series.ask("l'application carte Vitale ça avance ?")
    assert (answer.intent, answer.results[0]["id"]) == ("status", "APPCV")


def test_since_when_a_person_leads_is_answered_by_the_start_the_record_gives(two_series: KnowledgeBase) -> None:
    answer = two_series.ask("since when has Mathilde Roussel been in charge of the group?")
    assert (answer.intent, answer.results[0]["id"]) == ("about", "GHTR") and "2023" in answer.text


def test_the_owner_of_a_roadmap_named_asks_for_that_roadmap_unless_it_is_said_to_carry(
    two_series: KnowledgeBase,
) -> None:
    everything = two_series.ask(
        "combien d'objectifs dans la feuille de route de l'Agence régionale de santé Val-de-Brume ?"
    )
    assert everything.intent == "list" and "(14)" in everything.title
    carried = two_series.ask("quels objectifs l'ARS Val-de-Brume pilote-t-elle elle-même ?")
    assert sorted(r["id"] for r in carried.results) == ["ars-vdb:1.3", "ars-vdb:2.1", "ars-vdb:3.4", "ars-vdb:4.4"]


def test_an_axis_named_inside_another_roadmaps_axis_name_is_the_asked_roadmaps(two_series: KnowledgeBase) -> None:
    # "axe cybersécurité" names a national axis; the region's security axis is named "cybersécurité".
    answer = two_series.ask("la liste des objectifs de l'axe cybersécurité de l'ARS Val-de-Brume")
    assert sorted(r["id"] for r in answer.results) == ["ars-vdb:2.1", "ars-vdb:2.2", "ars-vdb:2.3"]


def test_a_status_asked_of_what_an_organisation_carries_is_that_objectives(two_series: KnowledgeBase) -> None:
    answer = two_series.ask("le CSIRT régional de e-Brume, on en est où ?")
    assert (answer.intent, answer.results[0]["id"]) == ("status", "ars-vdb:2.2") and answer.confidence < 0.78


def test_a_record_without_aliases_or_people_is_answered_by_its_id(tmp_path: Path) -> None:
    """A minimal actor (no aliases, no people, no parent) asked by its id: answered, not a crash."""
    (tmp_path / "unit.yaml").write_text(
        "actors:\n  - id: UNIT-X\n    name: Cellule des essais\n    kind: service\n    url: https://example.org/x\n",
        encoding="utf-8",
    )
    kb = KnowledgeBase(tmp_path / "kb")
    kb.refresh([str(tmp_path / "unit.yaml")], bundled=True)
    answer = kb.ask("Qui est UNIT-X ?")
    assert answer.results and answer.results[0]["id"] == "UNIT-X"


@pytest.mark.parametrize(
    ("question", "objective"),
    [
        ("les sauvegardes immuables des serveurs, ça avance chez nous ?", "3"),  # "chez nous": who asks, not what
        ("Is online payment for consultations still being worked on?", "4.2"),
    ],
)
def test_a_status_asked_in_chat_words_is_the_objective_status(
    two_series: KnowledgeBase, question: str, objective: str
) -> None:
    answer = two_series.ask(question)
    assert answer.intent == "status" and answer.results[0]["id"] == objective


def test_workstreams_of_an_organisation_by_status_are_its_objectives(two_series: KnowledgeBase) -> None:
    answer = two_series.ask("quels chantiers sont en retard chez les Trois-Rivières ?")
    assert answer.intent == "list"
    assert {r["id"] for r in answer.results} == {"3", "6", "13", "16"}


def test_the_projects_of_a_unit_that_carries_no_programme_are_its_objectives(two_series: KnowledgeBase) -> None:
    answer = two_series.ask("le labo de biologie, il porte quels projets ?")
    assert answer.intent == "list"
    assert {r["id"] for r in answer.results} == {"7", "20"}


def test_what_a_council_settled_on_a_topic_is_its_decision(two_series: KnowledgeBase) -> None:
    answer = two_series.ask("sur la dictée vocale, le copil a tranché quoi ?")
    assert answer.intent == "decisions" and answer.results[0]["id"] == "D3R-5"


def test_a_council_by_its_number_written_glued_gives_its_decisions(two_series: KnowledgeBase) -> None:
    answer = two_series.ask("le copil n3 a validé quoi ?")
    assert answer.intent == "decisions" and answer.results[0]["id"] == "ars-vdb:COPIL-2025-06"


def test_decisions_since_a_date_of_a_named_group_are_its_own(two_series: KnowledgeBase) -> None:
    answer = two_series.ask("les décisions des Trois-Rivières depuis mars 2025 ?")
    assert answer.intent == "list" and {r["id"] for r in answer.results} == {"D3R-3", "D3R-4", "D3R-5"}


def test_a_word_of_one_organisation_name_picks_its_council_of_that_month(two_series: KnowledgeBase) -> None:
    answer = two_series.ask("what was decided at the group's steering committee in June 2025?")
    assert answer.intent == "decisions" and not answer.choices and answer.results[0]["id"] == "COPIL-3R-2025-06"
    # Naming neither still asks which.
    assert two_series.ask("what was decided at the steering committee in June 2025?").choices


def test_a_decision_put_off_to_a_later_meeting_is_a_postponed_one(two_series: KnowledgeBase) -> None:
    answer = two_series.ask("which decisions of the region were deferred to a later meeting?")
    assert [r["id"] for r in answer.results] == ["ars-vdb:D-2025-06-03"]


@pytest.mark.parametrize(
    ("question", "said"),
    [
        ("combien de personnes au comité de pilotage de juin 2025 du GH3R ?", "37"),
        ("combien de téléconsultations au 1er semestre ?", "2 300"),
        ("by how much has the server replacement cut energy use?", "22 %"),
        ("are the digital teams allowed to work remotely?", "deux jours"),
    ],
)
def test_a_fact_only_a_document_says_is_quoted(two_series: KnowledgeBase, question: str, said: str) -> None:
    answer = two_series.ask(question)
    assert answer.intent == "passage" and said in answer.text


def test_a_post_asked_of_an_organisation_is_answered_by_whoever_holds_it(two_series: KnowledgeBase) -> None:
    # The title says "responsable sécurité des SI": the post's long English words are no topic to hold.
    answer = two_series.ask("who is the chief information security officer of e-Brume Santé?")
    assert answer.intent == "owner" and "Malik Benali" in answer.text
