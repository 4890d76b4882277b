"""'What changed?' over three series at once: the national roadmap's semiannual publication (no statuses in
any source), the group's quarterly reviews and the region's half-year bilans."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.eval import build_kb
from knowledge import KnowledgeBase


@pytest.fixture(scope="module")
def three_series(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    return build_kb(Path(tmp_path_factory.mktemp("changes")), region=True)


@pytest.mark.parametrize(
    "question",
    [
        "quoi de neuf dans le dernier bilan semestriel de la feuille de route ?",
        "qu'est ce qui a bougé depuis le dernier état d'avancement des 65 objectifs",
        "any status changes since the december 2024 progress report?",
    ],
)
def test_the_national_publication_is_said_to_hold_no_status(three_series: KnowledgeBase, question: str) -> None:
    answer = three_series.ask(question)
    assert answer.intent == "changes" and not answer.choices
    assert answer.results[0] == {**answer.results[0], "kind": "programmes", "id": "FDR-SUIVI"}
    assert "CNS-12-ETAT-AVANCEMENT" in [r["id"] for r in answer.results]
    assert "in none of my sources" in answer.text or "dans aucune de mes sources" in answer.text
    assert "→" not in answer.text  # no status invented for it


def test_a_choice_of_series_offers_the_national_publication_and_a_click_answers_it(
    three_series: KnowledgeBase,
) -> None:
    asked = three_series.ask("what changed in the last review?")
    queries = [c["query"] for c in asked.choices]
    assert queries[0] == "changes programmes:FDR-SUIVI [en]" and len(queries) == 3
    clicked = three_series.ask(queries[0])
    assert clicked.intent == "changes" and clicked.results[0]["id"] == "FDR-SUIVI" and not clicked.choices


@pytest.mark.parametrize(
    ("question", "report", "objectives"),
    [
        # Months only the group's reviews came out in; a status the changes moved to.
        ("quels objectifs sont passés en retard entre mars et septembre ?", "R3R-2025-09", ["16", "3", "6"]),
        ("which objectives moved forward since the March review", "R3R-2025-09", ["1", "12", "3", "4", "6", "9"]),
        ("which objectives went red in the last bilan?", "ars-vdb:BILAN-2025-S2", ["ars-vdb:1.2"]),
    ],
)
def test_the_months_and_words_pick_the_series_and_a_status_filters_the_changes(
    three_series: KnowledgeBase, question: str, report: str, objectives: list[str]
) -> None:
    answer = three_series.ask(question)
    assert answer.intent == "changes" and not answer.choices
    assert answer.results[0] == {**answer.results[0], "kind": "reports", "id": report}
    assert [r["id"] for r in answer.results[1:]] == objectives


@pytest.mark.parametrize(
    ("question", "objective", "says"),
    [
        ("did the CSIRT move between the two half-year reviews?", "ars-vdb:2.2", "35 % — Deux recrutements"),
        ("ambassadeurs EHPAD, qu'est-ce qui a bougé depuis le bilan de juillet ?", "ars-vdb:4.2", "Six ambassadeurs"),
        ("ROR : évolution entre les deux bilans semestriels ?", "ars-vdb:3.4", "atteint"),
        # Both hold heart telemonitoring; only the group's objective is in two reviews.
        ("heart telemonitoring: progress between the two reviews?", "1", "45 %"),
    ],
)
def test_a_record_named_gets_its_own_history(
    three_series: KnowledgeBase, question: str, objective: str, says: str
) -> None:
    answer = three_series.ask(question)
    assert answer.intent == "changes" and not answer.choices
    assert answer.results[0] == {**answer.results[0], "kind": "objectives", "id": objective}
    assert answer.results[1]["kind"] == "reports"
    assert says in answer.text and len(answer.text.splitlines()) == 2


def test_the_last_review_asked_when_says_its_date(three_series: KnowledgeBase) -> None:
    answer = three_series.ask("derniere revue publiée quand ?")
    assert answer.results[0]["id"] == "R3R-2025-09" and "2025-09-30" in answer.title


def test_news_of_a_record_no_series_reports_on_is_that_record(three_series: KnowledgeBase) -> None:
    answer = three_series.ask("y a quoi de neuf sur mon espace santé")
    assert answer.intent != "changes" and answer.results[0]["id"] == "MES"
