"""One fact a record's text states, asked of a record named only by its topic: the count in an objective's
description, the sum of a decision, the reason in a decision's summary, a review's note. Over a small FICTIONAL
region (example.org). The near misses matter as much: a sum next to another programme's name, a year taken
for a count, a record the question names whole that does not state the fact."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge import KnowledgeBase
from knowledge.tuning import ANSWER_AT

REGION = """
source: {title: "Feuille de route numérique de Val-Clair (fictive)", url: "https://example.org/val-clair/fdr"}
roadmap: {id: vcl, title: "Feuille de route numérique 2096-2099 (Val-Clair)", owner: ARS-VCL}
actors:
  - {id: ARS-VCL, name: Agence régionale de santé de Val-Clair, aliases: [ARS Val-Clair]}
  - {id: GRADES-VCL, name: e-Val-Clair, parent: ARS-VCL, aliases: [GRADeS Val-Clair]}
axes:
  - {id: "2", title: Sécurité, aliases: [cybersécurité]}
  - {id: "4", title: Accompagnement}
objectives:
  - {id: "2.1", axis: "2", title: Exercice de crise cyber dans chaque hôpital pivot, owners: [ARS-VCL],
     status: finalisé, description: "Quatre exercices réalisés, un par territoire."}
  - {id: "2.2", axis: "2", title: Centre de réponse aux incidents cyber régional, owners: [GRADES-VCL],
     status: à risque, description: "Recrutements en retard depuis 2097."}
  - {id: "4.2", axis: "4", title: Réseau d'ambassadeurs du numérique en EHPAD, owners: [GRADES-VCL],
     status: à lancer}
  - {id: "4.3", axis: "4", title: Télé-expertise en dermatologie en zones sous-denses, owners: [ARS-VCL],
     status: abandonné,
     description: "Abandonné faute de médecins requérants."}
  - {id: "4.4", axis: "4", title: Télé-expertise en dermatologie, owners: [ARS-VCL],
     status: en cours, description: "Deux EHPAD équipés en télé-expertise de dermatologie."}
reports:
  - id: BILAN-2098-S2
    published: 2099-01-20
    title: Bilan du second semestre 2098
    statuses:
      - {objective: "4.2", status: en cours, comment: "Six ambassadeurs recrutés."}
councils:
  - {id: COPIL-2, name: Comité de pilotage régional n° 2, number: 2, date: 2098-12-09}
decisions:
  - {id: D-1, council: COPIL-2, date: 2098-12-09, title: Renfort du centre de réponse cyber de trois agents,
     status: adoptée, owners: [GRADES-VCL], amount: 210 000 € par an}
  - {id: D-2, council: COPIL-2, date: 2098-12-09, title: Report de la messagerie sécurisée des libéraux,
     status: actée, owners: [ARS-VCL],
     summary: "Les éditeurs de logiciels de cabinet ne seront pas prêts avant 2099."}
programmes:
  - {id: PASSERELLE, name: Passerelle régionale, owners: [ARS-VCL],
     summary: "Suivie par Passerelle 2. Le volet imagerie du plan régional (IMAGERIE-VCL, 12 M€) est à part."}
  - {id: PASSERELLE2, name: Passerelle 2, owners: [ARS-VCL], summary: "Seconde version de la passerelle."}
"""


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    root = tmp_path_factory.mktemp("facts")
    source = Path(root) / "val-clair.yaml"
    source.write_text(REGION, encoding="utf-8")
    base = KnowledgeBase(root / "kb")
    base.refresh([str(source)], bundled=False)
    return base


@pytest.mark.parametrize(
    ("question", "records", "fact"),
    [
        ("combien d'exercices de crise cyber ont été réalisés ?", {"vcl:2.1"}, "Quatre exercices"),
        ("how much money for reinforcing the cyber response centre?", {"vcl:D-1"}, "210 000"),
        # "combien" with no counted noun, the verb after it: a sum or a figure.
        ("le renfort du centre de réponse cyber ça coûte combien par an", {"vcl:D-1"}, "210 000"),
        ("combien pour le renfort du centre de réponse cyber ?", {"vcl:D-1"}, "210 000"),
        # The review's note, which the objective also carries as its latest comment.
        ("how many ambassadors have been recruited so far?", {"vcl:BILAN-2098-S2", "vcl:4.2"}, "Six ambassadeurs"),
        ("pourquoi ce report pour les libéraux, une raison ?", {"vcl:D-2"}, "éditeurs"),
    ],
)
def test_the_fact_comes_first_from_the_record_that_states_it(
    kb: KnowledgeBase, question: str, records: set[str], fact: str
) -> None:
    answer = kb.ask(question)
    assert answer.results and answer.results[0]["id"] in records, (answer.intent, answer.results)
    assert fact in answer.text.splitlines()[0]


def test_a_fact_found_by_the_text_is_not_given_as_sure(kb: KnowledgeBase) -> None:
    # The security axis is named ("cyber"); the objective is found by its text: answered, less sure.
    answer = kb.ask("combien d'exercices de crise cyber ont été réalisés ?")
    assert answer.confidence < ANSWER_AT


def test_a_sum_next_to_another_name_is_not_the_cost_asked(kb: KnowledgeBase) -> None:
    # The programme named whole states no budget; the one that mentions it states someone else's sum.
    answer = kb.ask("quel est le budget de Passerelle 2 ?")
    assert "12 M€" not in answer.text
    assert not answer.results or answer.results[0]["id"] != "PASSERELLE"


def test_a_year_is_not_a_count(kb: KnowledgeBase) -> None:
    # "Recrutements en retard depuis 2097" gives no count of recruitments.
    assert kb.ask("combien de recrutements au centre de réponse cyber ?").intent == "unknown"


def test_why_something_was_dropped_is_asked_of_the_record_dropped(kb: KnowledgeBase) -> None:
    answer = kb.ask("pourquoi la télé-expertise en dermatologie a été abandonnée ?")
    assert answer.results[0]["id"] == "vcl:4.3" and "requérants" in answer.text
