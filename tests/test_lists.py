"""Lists with filters: a DSI asks which objectives are red, due in a period, owned by someone, or which decisions
were postponed, and gets exactly those, each line saying what it was filtered on; a question about one record
is not taken for a list. Over a small FICTIONAL knowledge (example.org): a region that rates its objectives
(a `météo` column), and a hospital group's plan that does not."""

from __future__ import annotations

import pytest

from knowledge import KnowledgeBase
from knowledge.understand import understand

REGION = """
source: {title: "Feuille de route numérique de Brumeville (fictive)", url: "https://example.org/brumeville/fdr"}
roadmap: {id: brv, title: "Feuille de route numérique 2024-2027 (Brumeville)", owner: ARS-BRV}
actors:
  - {id: ARS-BRV, name: Agence régionale de santé de Brumeville, aliases: [ARS Brumeville, ARS]}
  - {id: GRADES-BRV, name: e-Brumeville, parent: ARS-BRV, aliases: [GRADeS]}
  - {id: CHU-BRV, name: CHU de Brumeville, aliases: [CHU Brumeville]}
axes:
  - {id: "1", title: Parcours et prévention}
  - {id: "2", title: Sécurité, aliases: [cybersécurité]}
objectives:
  - {id: "1.1", axis: "1", title: Plateforme de coordination des parcours, owners: [GRADES-BRV], status: en cours,
     météo: vert, due: S2 2099}
  - {id: "1.2", axis: "1", title: Télésurveillance cardiaque à domicile, owners: [CHU-BRV], status: en attente,
     météo: orange, due: T2 2099}
  - {id: "2.1", axis: "2", title: Exercice de crise cyber annuel, owners: [ARS-BRV], status: réalisé, météo: vert,
     due: T4 2098}
  - {id: "2.2", axis: "2", title: Centre de réponse aux incidents cyber, owners: [GRADES-BRV], status: à risque,
     météo: rouge, due: mi-2099}
  - {id: "2.3", axis: "2", title: Annuaire des messageries sécurisées, owners: [ARS-BRV], status: reporté,
     due: fin 2098}
reports:
  - id: BILAN-1
    published: 2098-07-01
    title: Bilan du premier semestre 2098
    statuses:
      - {objective: "1.2", status: rouge}
councils:
  - {id: COPIL-1, name: Comité de pilotage régional n° 1, number: 1, date: 2098-06-10}
  - {id: COPIL-2, name: Comité de pilotage régional n° 2, number: 2, date: 2098-12-09}
decisions:
  - {id: D-1, council: COPIL-1, date: 2098-06-10, title: Financement du centre de réponse cyber, status: ajournée,
     owners: [GRADES-BRV], amount: 1 M€}
  - {id: D-2, council: COPIL-2, date: 2098-12-09, title: Report de l'annuaire des messageries, status: actée,
     owners: [ARS-BRV]}
  - {id: D-3, council: COPIL-2, date: 2098-12-09, title: Lancement de la télésurveillance cardiaque, status: adoptée,
     owners: [CHU-BRV], amount: 300 k€}
"""

GROUP = """
source: {title: "Plan numérique du groupe hospitalier des Hautes-Eaux (fictif)", url: "https://example.org/hautes-eaux/plan"}
actors:
  - {id: GHE, name: Groupe hospitalier des Hautes-Eaux, aliases: [GHE, Hautes-Eaux]}
  - {id: DSI-GHE, name: Direction des systèmes d'information des Hautes-Eaux, parent: GHE, aliases: [DSI, DSI H2E]}
  - {id: PHARMA-GHE, name: Pharmacie centrale des Hautes-Eaux, aliases: [pharmacie centrale, PUI H2E]}
  - {id: ARS-ALL, name: Agences régionales de santé, aliases: [regional health agencies]}
  - {id: GRADES, name: Collectif national des GRADeS, aliases: [GRADeS]}
  - {id: CD-HE, name: Conseil départemental des Hautes-Eaux}
axes:
  - {id: H1, title: Sécuriser le système d'information, aliases: [axe sécurité]}
objectives:
  - {id: "H-1", axis: H1, title: Sauvegardes hors ligne, owners: [DSI-GHE], status: en retard, due: 2020-12-31}
  - {id: "H-2", axis: H1, title: Circuit du médicament informatisé, owners: [PHARMA-GHE], status: réalisé,
     due: 2099-03-31}
  - {id: "H-3", axis: H1, title: Inventaire des postes de travail, owners: [DSI-GHE], due: 2020-06-30}
  - {id: "H-4", axis: H1, title: Ouvrir le Portail des usagers aux comptes rendus, owners: [DSI-GHE], due: 2099-06-30}
  - {id: "H-5", axis: H1, title: Former les agents d'accueil au numérique, owners: [CD-HE], status: en cours}
  - {id: "H-6", title: Annuaire régional des structures, owners: [ARS-ALL], status: en cours}
  - {id: "7", title: Téléconsultation dans tous les services}
  - {id: "7.1", title: Téléconsultation en psychiatrie}
  - {id: "7.2", title: Téléconsultation en gériatrie}
  - {id: P15-ACTION-1, title: Messagerie sécurisée pour les médecins, roadmap: Plan 2015, aliases: [action 1 du plan 2015]}
  - {id: P15-ACTION-2, title: Dossier patient unique, roadmap: Plan 2015, aliases: [action 2 du plan 2015]}
  - {id: P15-MESURE-DOSSIER, title: Archivage du dossier patient, roadmap: Plan 2015}
programmes:
  - {id: PORTAIL, name: Portail des usagers, owners: [DSI-GHE]}
  - {id: PLAN-2015, name: Ancien plan numérique des Hautes-Eaux (2015-2019), aliases: [Plan 2015]}
councils:
  - {id: CNS-1, name: 1er Conseil national des Hautes-Eaux, date: 2020-02-01, aliases: [CNS]}
  - {id: CNS-2, name: 2e Conseil national des Hautes-Eaux, date: 2020-11-01, aliases: [CNS]}
  - {id: CNS-3, name: 3e Conseil national des Hautes-Eaux, date: 2021-02-01, aliases: [CNS]}
"""


@pytest.fixture(scope="module")
def lists_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    sources = tmp_path_factory.mktemp("lists-sources")
    (sources / "region.yaml").write_text(REGION, encoding="utf-8")
    (sources / "group.yaml").write_text(GROUP, encoding="utf-8")
    kb = KnowledgeBase(tmp_path_factory.mktemp("lists-kb"))
    kb.refresh([str(sources / "region.yaml"), str(sources / "group.yaml")], bundled=False)
    return kb


def ids(kb: KnowledgeBase, question: str) -> list[str]:
    answer = kb.ask(question)
    assert answer.intent == "list", (question, answer.intent, answer.title, answer.text)
    return sorted(r["id"].split(":")[-1] for r in answer.results)


def test_the_filters_are_read_from_the_question() -> None:
    assert understand("les objectifs en rouge").colour == "red"
    assert understand("what's amber?").colour == "orange"
    assert understand("objectifs sans météo renseignée").colour == "none"
    assert understand("la Croix-Rouge").colour is None
    assert understand("échéance T4 2025 ?").due == ("2025-10-01", "2025-12-31")
    assert understand("what's due by the end of 2025?").due == ("2025-10-01", "2025-12-31")
    assert understand("qu'est-ce qui doit finir en S1 2026").due == ("2026-01-01", "2026-06-30")
    assert understand("le rapport de 2025").due is None  # a year alone is no due date
    assert understand("GHT du Littoral, il pilote quoi ?").owned
    assert understand("what does the central pharmacy own in the plan").owned
    assert not understand("qui pilote le GHT du Littoral ?").owned
    assert understand("what hasn't started yet?").status == "not_started"
    assert understand("URPS stuff that's been put off").status == "postponed"
    assert understand("décisions actées ou entérinées").decision_status == "adopted"
    assert understand("qu'a décidé le conseil ?").decision_status is None


def test_a_colour_filters_on_the_rating_column_where_a_roadmap_has_one(lists_kb: KnowledgeBase) -> None:
    assert ids(lists_kb, "les objectifs de l'ARS en rouge") == ["2.2"]
    assert ids(lists_kb, "quels objectifs de l'ARS sont au vert ?") == ["1.1", "2.1"]
    assert ids(lists_kb, "what's amber in Brumeville?") == ["1.2"]
    assert ids(lists_kb, "objectifs sans météo renseignée") == ["2.3"]
    answer = lists_kb.ask("les objectifs de l'ARS en rouge")
    assert "météo rouge" in answer.text  # each line says what it was filtered on


def test_a_colour_in_a_plan_without_ratings_is_read_as_the_status_it_names_and_said_so(
    lists_kb: KnowledgeBase,
) -> None:
    answer = lists_kb.ask("quels objectifs sont au rouge aux Hautes-Eaux ?")
    assert [r["id"] for r in answer.results] == ["H-1"]
    assert "lu comme le statut" in answer.text


def test_a_colour_a_progress_report_gave_is_read_from_that_report(lists_kb: KnowledgeBase) -> None:
    # 1.2 is rated orange in the roadmap, and "rouge" in the latest bilan.
    assert ids(lists_kb, "which objectives went red in the last bilan?") == ["1.2"]


def test_a_due_period_lists_the_objectives_due_within_it(lists_kb: KnowledgeBase) -> None:
    assert ids(lists_kb, "échéance T2 2099 ?") == ["1.2", "H-4"]
    assert ids(lists_kb, "objectifs à échéance 2099") == ["1.1", "1.2", "2.2", "H-2", "H-4"]
    # Objectives about a programme named by its name: those holding its name, or linked to it.
    assert ids(lists_kb, "objectifs du Portail des usagers à échéance 2099") == ["H-4"]
    assert ids(lists_kb, "what's due by the end of 2098?") == ["2.1", "2.3"]
    assert "échéance T2 2099" in lists_kb.ask("échéance T2 2099 ?").text


def test_an_owner_is_the_actor_of_that_name_that_owns_objectives(lists_kb: KnowledgeBase) -> None:
    # Two actors are called "GRADeS": the national collective owns nothing, the region's GRADeS does.
    assert ids(lists_kb, "which objectives does the GRADeS lead?") == ["1.1", "2.2"]
    assert ids(lists_kb, "y a des objectifs du GRADeS en rouge ?") == ["2.2"]
    assert ids(lists_kb, "CHU de Brumeville, il pilote quoi ?") == ["1.2"]
    assert ids(lists_kb, "ce que porte la pharmacie centrale") == ["H-2"]
    # Named loosely (no exact name): the organisation whose record holds every other word of the question.
    assert ids(lists_kb, "what is the Conseil départemental in charge of?") == ["H-5"]
    # The group owns nothing itself: its plan's objectives are meant.
    assert ids(lists_kb, "objectifs des Hautes-Eaux à échéance 2020") == ["H-1", "H-3"]


def test_a_status_word_alone_is_a_list_when_nothing_else_is_named(lists_kb: KnowledgeBase) -> None:
    assert ids(lists_kb, "ceux qui sont reportés ?") == ["2.3"]
    assert ids(lists_kb, "DSI : what's done?") == []  # the DSI has done nothing: an honest empty list
    assert ids(lists_kb, "Brumeville : qu'est-ce qui est réalisé ?") == ["2.1"]


def test_an_axis_named_in_words_filters_the_list(lists_kb: KnowledgeBase) -> None:
    assert ids(lists_kb, "any green lights on the security axis?") == ["2.1"]
    assert ids(lists_kb, "parcours et prévention : lesquels sont orange ?") == ["1.2"]


def test_late_also_lists_what_is_past_due_without_a_status_and_says_so(lists_kb: KnowledgeBase) -> None:
    answer = lists_kb.ask("quels objectifs sont en retard ?")
    # 1.2 is "rouge" in the latest bilan; 2.3 was postponed (its first date was missed); H-3 has no status and
    # its due date (2020) is past.
    assert sorted(r["id"].split(":")[-1] for r in answer.results) == ["1.2", "2.2", "2.3", "H-1", "H-3"]
    line = next(line for line in answer.text.splitlines() if "H-3" in line)
    assert "aucun statut publié" in line


def test_a_question_about_one_record_a_role_or_a_change_is_not_a_list(lists_kb: KnowledgeBase) -> None:
    assert lists_kb.ask("les sauvegardes hors ligne sont en retard ?").intent != "list"
    assert lists_kb.ask("que fait la pharmacie centrale ?").intent != "list"
    assert lists_kb.ask("quels objectifs sont passés en retard entre mars et septembre ?").intent != "list"
    # "c'est fait ?", "is it late?" ask about the thing just discussed: no list of everything done or late.
    assert lists_kb.ask("c'est fait ?").intent != "list"
    assert lists_kb.ask("is it late?").intent != "list"
    assert lists_kb.ask("c'est prévu pour 2099 ?").intent != "list"
    # A proper name no filter explains is not silently dropped from the list.
    assert lists_kb.ask("quels objectifs sont en retard en Bretagne ?").intent != "list"


def test_what_an_axis_holds_is_its_objectives(lists_kb: KnowledgeBase) -> None:
    assert ids(lists_kb, "what's in axis 2 of the Brumeville roadmap?") == ["2.1", "2.2", "2.3"]


def test_decision_lists_filter_on_status_amount_owner_and_date(lists_kb: KnowledgeBase) -> None:
    assert ids(lists_kb, "quelles décisions ont été ajournées ?") == ["D-1"]
    assert ids(lists_kb, "qu'est-ce qui a été ajourné en juin 2098 ?") == ["D-1"]
    assert ids(lists_kb, "decisions actees ou enterinees ?") == ["D-2", "D-3"]
    assert ids(lists_kb, "decisions that came with money attached") == ["D-1", "D-3"]
    assert ids(lists_kb, "which decisions involve the GRADeS?") == ["D-1"]
    assert ids(lists_kb, "décisions concernant le CHU de Brumeville depuis juin 2098") == ["D-3"]
    assert ids(lists_kb, "décisions prises depuis décembre 2098") == ["D-2", "D-3"]


def test_council_and_axis_lists(lists_kb: KnowledgeBase) -> None:
    assert ids(lists_kb, "liste des CNS") == ["CNS-1", "CNS-2", "CNS-3"]
    assert ids(lists_kb, "all the CNS meetings held in 2020") == ["CNS-1", "CNS-2"]
    assert ids(lists_kb, "liste des copils de l'ARS") == ["COPIL-1", "COPIL-2"]
    assert ids(lists_kb, "les axes de la feuille de route de Brumeville") == ["1", "2"]
    assert ids(lists_kb, "les axes du plan des Hautes-Eaux") == ["H1"]


def test_english_status_words_and_a_plan_named_by_its_units_mark(lists_kb: KnowledgeBase) -> None:
    assert ids(lists_kb, "what's closed or finalised in Brumeville?") == ["2.1"]
    # "H2E" is in the names of two of the group's units and of nobody else's: it names the group's plan.
    assert ids(lists_kb, "what's late in the H2E plan?") == ["H-1", "H-3"]


def test_a_list_over_several_families_names_each_plan_first_and_keeps_none_hidden(lists_kb: KnowledgeBase) -> None:
    answer = lists_kb.ask("quels objectifs sont en retard ?")
    # The plan loaded in the national roadmap before the other roadmap, each under its name and count.
    assert [r["id"].split(":")[-1] for r in answer.results] == ["H-1", "H-3", "1.2", "2.2", "2.3"]
    assert "Plan numérique du groupe hospitalier des Hautes-Eaux (fictif) (2) :" in answer.text
    assert "Feuille de route numérique 2024-2027 (Brumeville) (3) :" in answer.text


def test_an_owner_named_with_a_roadmap_word_is_not_that_roadmap(lists_kb: KnowledgeBase) -> None:
    # "regional" would name the region's roadmap; here it is in the agencies' own name.
    assert ids(lists_kb, "which objectives do the regional health agencies own?") == ["H-6"]


def test_an_axis_named_in_another_roadmaps_words_is_the_plans_own(lists_kb: KnowledgeBase) -> None:
    # "cyber" names the region's "Sécurité" axis; at the Hautes-Eaux, the group's security axis.
    assert ids(lists_kb, "cyber axis objectives at Hautes-Eaux in progress") == ["H-5"]


def test_decisions_of_a_roadmap_about_a_subject(lists_kb: KnowledgeBase) -> None:
    assert ids(lists_kb, "décisions de Brumeville sur la télésurveillance") == ["D-3"]


def test_the_items_of_a_plan_named_by_its_name_and_sub_objectives(lists_kb: KnowledgeBase) -> None:
    assert ids(lists_kb, "list the actions of the plan 2015") == ["P15-ACTION-1", "P15-ACTION-2"]
    assert ids(lists_kb, "mesures du plan 2015 sur le dossier patient") == ["P15-MESURE-DOSSIER"]
    assert lists_kb.ask("combien d'actions dans le plan 2015 ?").intent != "list"  # a count, not a list
    assert ids(lists_kb, "sous-objectifs du 7") == ["7.1", "7.2"]
