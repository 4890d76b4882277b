"""A region's roadmap, written the way the region writes it, loads beside the national one and is answered
within its own roadmap (tests/data/roadmaps: a FICTIONAL region, Val-de-Brume)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from knowledge import KnowledgeBase, SourceErrors

from .conftest import DATA

REGION = DATA / "roadmaps" / "region-val-de-brume"
WORKBOOK = DATA / "roadmaps" / "region-val-de-brume.xlsx"
REGION_TITLE = "Feuille de route régionale du numérique en santé 2024-2027 (Val-de-Brume)"


@pytest.fixture(scope="module")
def _built_regional_kb(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    root = tmp_path_factory.mktemp("regional-kb")
    report = KnowledgeBase(root).refresh([str(REGION), str(WORKBOOK)], bundled=True)
    return root, report


@pytest.fixture
def regional(_built_regional_kb: tuple[Path, object]) -> KnowledgeBase:
    """The bundled national knowledge, the region's CSV folder and its workbook, from one refresh."""
    return KnowledgeBase(_built_regional_kb[0])


def test_both_forms_load_unchanged_beside_the_bundled_knowledge_in_one_refresh(
    _built_regional_kb: tuple[Path, object], bundled_kb: KnowledgeBase
) -> None:
    _, report = _built_regional_kb
    national = bundled_kb.info()["counts"]
    # 14 objectives, 6 actors, 3 councils, 9 decisions, 2 reports, 4 axes in each form of the region.
    assert report.counts["objectives"] == national["objectives"] + 2 * 14
    assert report.counts["actors"] == national["actors"] + 2 * 6
    assert report.counts["councils"] == national["councils"] + 2 * 3
    assert report.counts["decisions"] == national["decisions"] + 2 * 9
    assert report.counts["reports"] == national["reports"] + 2 * 2
    assert report.counts["axes"] == national["axes"] + 2 * 4
    assert not [w for w in report.warnings if "names no" in w], report.warnings


def test_the_csv_folder_and_the_workbook_read_the_same_records(regional: KnowledgeBase) -> None:
    reader = regional._reader()
    columns = "local_id, title, status, status_text, progress, due, due_start, due_end, axis, owners"
    csv_rows = reader.rows(f"SELECT {columns} FROM objectives WHERE roadmap = 'ars-vdb' ORDER BY local_id")
    xlsx_rows = reader.rows(f"SELECT {columns} FROM objectives WHERE roadmap = 'ars-vdb-classeur' ORDER BY local_id")
    assert len(csv_rows) == 14
    strip = [{**r, "axis": r["axis"].split(":")[-1], "owners": r["owners"].replace("-classeur", "")} for r in xlsx_rows]
    assert strip == [{**r, "axis": r["axis"].split(":")[-1]} for r in csv_rows]


def test_statuses_keep_the_regions_words_and_get_a_bucket(regional: KnowledgeBase) -> None:
    reader = regional._reader()
    rows = {
        r["local_id"]: (r["status_text"], r["status"])
        for r in reader.rows("SELECT local_id, status, status_text FROM objectives WHERE roadmap = 'ars-vdb'")
    }
    assert rows["3.3"] == ("suspendu", "on_hold")
    assert rows["1.3"] == ("partiellement atteint", "in_progress")
    assert rows["2.1"] == ("finalisé", "done")
    assert rows["3.2"] == ("clos", "done")
    assert rows["4.4"] == ("en veille", "on_hold")
    # The latest progress report's word wins: "reporté" in the second-half bilan, "atteint" for 3.4.
    assert rows["3.1"] == ("reporté", "postponed")
    assert rows["3.4"] == ("atteint", "done")
    # The region's ARS owns both forms of its roadmap: "de l'ARS" would ask which; the id says.
    assert len(regional.ask("où en est l'objectif 3.3 de l'ARS ?").choices) == 2
    answer = regional.ask("où en est l'objectif 3.3 de la feuille de route ars-vdb ?")
    assert "suspendu" in answer.text and "Suspendu dans l'attente de l'avis de la CNIL" in answer.text


def test_dates_as_written_with_a_range_to_compare(regional: KnowledgeBase) -> None:
    reader = regional._reader()
    due = {
        r["local_id"]: (r["due"], r["due_start"], r["due_end"])
        for r in reader.rows("SELECT local_id, due, due_start, due_end FROM objectives WHERE roadmap = 'ars-vdb'")
    }
    assert due["1.1"] == ("S2 2026", "2026-07-01", "2026-12-31")
    assert due["1.2"] == ("T2 2026", "2026-04-01", "2026-06-30")
    assert due["2.2"] == ("mi-2026", "2026-05-01", "2026-08-31")
    assert due["3.2"] == ("2024-12-31", "2024-12-31", "2024-12-31")
    assert due["3.3"] == ("2026-2027", "2026-01-01", "2027-12-31")
    assert regional.ask("où en est l'objectif 1.1 (ars-vdb) ?").fields["due"] == "S2 2026"


def test_an_objective_number_in_two_roadmaps_asks_back_naming_each(regional: KnowledgeBase) -> None:
    answer = regional.ask("où en est l'objectif 2.2 ?")
    assert answer.choices and not answer.answered
    labels = [c["label"] for c in answer.choices]
    # The roadmap right after the kind: a button cut at 75 characters (Slack) still says which one it is.
    assert any(label.startswith("Objectif 2.2 (ars-vdb) — ") for label in labels)
    assert any(label.startswith("Objectif 2.2 (ars-vdb-classeur) — ") for label in labels)
    chosen = regional.ask(next(c["query"] for c in answer.choices if "(ars-vdb) " in c["label"]))
    assert chosen.title.startswith("Objectif 2.2 — Centre régional de réponse aux incidents cyber")
    assert chosen.fields["roadmap"] == REGION_TITLE


def test_a_question_naming_a_roadmap_is_scoped_to_it(regional: KnowledgeBase) -> None:
    answer = regional.ask("objectifs en retard de la feuille de route ars-vdb")
    ids = [r["id"] for r in answer.results]
    # Late: behind or at risk (1.2 "rouge", 2.2 "à risque") and postponed (3.1 "reporté"); not "suspendu".
    assert ids == ["ars-vdb:1.2", "ars-vdb:2.2", "ars-vdb:3.1"]
    assert "reporté" in answer.text and "Entrepôt" not in answer.text
    assert answer.fields["roadmap"] == REGION_TITLE


def test_the_default_roadmap_answers_when_the_question_does_not_say(
    regional: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOVBOT_DEFAULT_ROADMAP", "ars-vdb-classeur")
    answer = regional.ask("où en est l'objectif 2.2 ?")
    assert answer.answered and answer.results[0]["id"] == "ars-vdb-classeur:2.2"


def test_the_latest_copil_is_the_regions_not_the_latest_national_council(regional: KnowledgeBase) -> None:
    answer = regional.ask("qu'a décidé le dernier copil ?")
    assert answer.title.startswith("Décisions — Comité de pilotage régional du numérique en santé n° 4")
    assert "Renfort du CSIRT régional de trois équivalents temps plein — adoptée — 210 000 € par an" in answer.text
    assert "rejetée" in answer.text and "présentée pour information" in answer.text
    june = regional.ask("qu'a décidé le comité de juin ?")
    assert "n° 3" in june.title and "ajournée" in june.text and "actée (adoptée)" in june.text
    national = regional.ask("qu'a décidé le dernier conseil du numérique en santé ?")
    assert "Conseil du numérique en santé" in national.title
    assert national.fields["roadmap"] == "Feuille de route nationale du numérique en santé"


def test_a_free_text_axis_is_matched_by_its_number(regional: KnowledgeBase) -> None:
    reader = regional._reader()
    axes = {r["axis"] for r in reader.rows("SELECT axis FROM objectives WHERE roadmap = 'ars-vdb'")}
    assert axes == {"ars-vdb:1", "ars-vdb:2", "ars-vdb:3", "ars-vdb:4"}
    answer = regional.ask("objectifs de l'axe 2 de la feuille de route ars-vdb")
    assert [r["id"] for r in answer.results] == ["ars-vdb:2.1", "ars-vdb:2.2", "ars-vdb:2.3"]


def test_progress_reports_say_what_changed_in_the_regions_words(regional: KnowledgeBase) -> None:
    answer = regional.ask("qu'est-ce qui a changé dans la feuille de route ars-vdb ?")
    assert "Bilan du premier semestre 2025" in answer.title and "Bilan du second semestre 2025" in answer.title
    assert "vert (en cours) 20 % → à risque (en retard) 35 %" in answer.text


def test_with_one_roadmap_answers_do_not_name_it(kb: KnowledgeBase) -> None:
    assert "Feuille de route" not in kb.ask("où en est l'objectif 12 ?").fields


def test_ids_are_unique_within_a_roadmap_only(tmp_path: Path) -> None:
    copy = tmp_path / "region"
    shutil.copytree(REGION, copy)
    text = (copy / "objectifs.csv").read_text(encoding="utf-8")
    (copy / "objectifs.csv").write_text(text + text.splitlines()[1] + "\n", encoding="utf-8")
    with pytest.raises(SourceErrors) as refused:
        KnowledgeBase(tmp_path / "kb").refresh([str(copy)], bundled=True)
    (problem,) = refused.value.problems
    where = str(copy / "objectifs.csv")
    assert (
        problem.text("fr")
        == f"{where}, ligne 16 (id '1.1'), colonne 'id': identifiant en double (aussi dans {where}, ligne 2)"
    )
    assert problem.text("en") == f"{where}, row 16 (id '1.1'), column 'id': duplicate id (also in {where}, row 2)"


def test_one_govbot_refresh_loads_both_forms_beside_the_bundled_knowledge(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bundled_kb: KnowledgeBase
) -> None:
    from bot.cli import main

    db = str(tmp_path / "kb")
    assert main(["refresh", "--db", db, "--source", str(REGION), "--source", str(WORKBOOK), "--json"]) == 0
    counts = json.loads(capsys.readouterr().out)["counts"]
    assert counts["objectives"] == bundled_kb.info()["counts"]["objectives"] + 28
    assert main(["ask", "--db", db, "qu'a décidé le dernier copil ?"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Décisions — Comité de pilotage régional du numérique en santé n° 4 (2025-12-09)")


def test_a_channel_can_prefer_a_roadmap(regional: KnowledgeBase, tmp_path: Path) -> None:
    """`roadmap <id>` / `feuille de route <id>` (admins): the roadmap a conversation means when a question
    names none; shown by `stats`, changed back with `roadmap national`; other conversations keep theirs."""
    from bot.conversation import Conversation
    from bot.questionlog import QuestionLog
    from bot.turn import Kind, Turn

    conv = Conversation(regional, QuestionLog(tmp_path / "questions.sqlite"))

    def said(text: str, where: str = "C1", admin: bool = False):
        return conv.respond(Turn("slack", "U1", where, text, admin=admin))

    question = "où en est l'objectif 2.2 ?"
    assert said(question).answer.choices  # two regional forms hold an objective 2.2: asked back
    assert said("roadmap ars-vdb-classeur").kind is Kind.REFUSED
    chosen = said("feuille de route ARS-VDB-CLASSEUR", admin=True)
    assert chosen.kind is Kind.ADMIN and "classeur de suivi" in chosen.text
    assert said(question).answer.results[0]["id"] == "ars-vdb-classeur:2.2"  # in this channel
    assert said(question, where="C2").answer.choices  # not in another one
    assert "classeur de suivi" in said("stats", admin=True).text
    unknown = said("roadmap nulle-part", admin=True)
    assert "nulle-part" in unknown.text and "ars-vdb, ars-vdb-classeur, national" in unknown.text
    said("roadmap national", admin=True)
    assert "Feuille de route nationale" in said("stats", admin=True).text
    assert not said(question).answer.results  # the national roadmap numbers no objective 2.2
