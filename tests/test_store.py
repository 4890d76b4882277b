"""Ingestion and refresh: versioned files, an atomic pointer switch, reports, and failures that change nothing."""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from pathlib import Path

import pytest

from knowledge import KnowledgeBase, RefreshBusy, SourceErrors
from tests.conftest import TEST_SOURCE

URL = "https://example.org/s"


def tree_digest(root: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.iterdir()) if p.is_file()}


def source(tmp_path: Path, body: str, name: str = "extra.yaml") -> str:
    path = tmp_path / name
    path.write_text(f"source: {{title: Extra, url: {URL}}}\n" + body, encoding="utf-8")
    return str(path)


def test_refresh_reports_counts_sources_and_duration(tmp_path: Path) -> None:
    report = KnowledgeBase(tmp_path / "kb").refresh([str(TEST_SOURCE)], bundled=False)
    assert report.counts == {
        "actors": 4,
        "axes": 2,
        "objectives": 7,
        "decisions": 3,
        "councils": 2,
        "programmes": 2,
        "reports": 2,
        "passages": 3,
    }
    assert report.added == {} and report.version
    assert {s["url"] for s in report.sources} >= {str(TEST_SOURCE / "roadmap.yaml")}
    assert 0 < report.duration < 10


def test_second_refresh_counts_added_changed_removed(kb: KnowledgeBase, tmp_path: Path) -> None:
    changed = (TEST_SOURCE / "roadmap.yaml").read_text(encoding="utf-8")
    changed = changed.replace("Programme Zénith", "Programme Zénith 2").replace(
        "  - id: PHARMA\n    name: Pharmacie à usage intérieur\n    kind: service\n    role: Gère le circuit du médicament.\n"
        "    aliases: [PUI, pharmacie]\n",
        "",
    )
    changed = changed.replace("owners: [DSI-GHT, PHARMA]", "owners: [DSI-GHT]")
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "roadmap.yaml").write_text(changed, encoding="utf-8")
    (folder / "copil-2.md").write_text((TEST_SOURCE / "copil-2.md").read_text(encoding="utf-8"), encoding="utf-8")
    extra = source(tmp_path, "actors:\n  - {id: NEW, name: Nouvel acteur}\n")
    report = kb.refresh([str(folder), extra], bundled=False, forget=True)
    assert report.added["actors"] == 1 and report.removed["actors"] == 1
    assert report.changed["programmes"] == 1
    assert report.changed["objectives"] == 1  # objective 12 lost an owner
    assert report.added["decisions"] == report.removed["decisions"] == 0


def test_failed_refresh_leaves_the_previous_version_answering_untouched(kb: KnowledgeBase, tmp_path: Path) -> None:
    before = tree_digest(kb.path)
    answer_before = kb.ask("qui pilote le programme Atlas ?").to_dict()
    bad = source(tmp_path, "objectives:\n  - {id: '1', title: A, status: bof}\n")
    with pytest.raises(SourceErrors) as caught:
        kb.refresh([str(TEST_SOURCE), bad], bundled=False)
    assert "unknown status 'bof'" in str(caught.value)
    assert tree_digest(kb.path) == before
    assert kb.ask("qui pilote le programme Atlas ?").to_dict() == answer_before


def test_duplicate_ids_across_sources_are_refused(kb: KnowledgeBase, tmp_path: Path) -> None:
    dup = source(tmp_path, "actors:\n  - {id: CYBER, name: Autre cellule}\n")
    with pytest.raises(SourceErrors, match=r"actors\[0\] \(id 'CYBER'\), field 'id': duplicate id"):
        kb.refresh([str(TEST_SOURCE), dup], bundled=False)


def test_dangling_references_are_warnings_not_errors(tmp_path: Path) -> None:
    extra = source(
        tmp_path,
        "objectives:\n  - {id: X1, title: Orphelin, owners: [NOBODY]}\n"
        "decisions:\n  - {id: DX, title: Décision, council: NOWHERE, objectives: [NONE]}\n",
    )
    report = KnowledgeBase(tmp_path / "kb").refresh([extra], bundled=False)
    assert "objectives 'X1': owner 'NOBODY' names no actor" in report.warnings
    assert "decisions 'DX': council 'NOWHERE' names no council" in report.warnings
    assert "decisions 'DX': objective 'NONE' names no objective" in report.warnings


def test_refresh_switches_the_pointer_and_readers_follow(kb: KnowledgeBase, tmp_path: Path) -> None:
    old = kb.store.current()
    assert kb.ask("qu'est-ce que le programme Orion ?").intent == "unknown"
    extra = source(tmp_path, "programmes:\n  - {id: ORION, name: Programme Orion, summary: Un nouveau programme.}\n")
    kb.refresh([str(TEST_SOURCE), extra], bundled=False)
    assert kb.store.current() != old
    assert kb.ask("qu'est-ce que le programme Orion ?").results[0]["id"] == "ORION"
    other = KnowledgeBase(kb.path)  # a second process-like reader sees the same version
    assert other.ask("programme Orion").results[0]["id"] == "ORION"


def test_old_versions_are_cleaned_up(kb: KnowledgeBase) -> None:
    for _ in range(4):
        kb.refresh([str(TEST_SOURCE)], bundled=False)
    versions = sorted(p.name for p in kb.path.glob("kb-*.sqlite"))
    assert len(versions) == 2
    assert kb.store.current().name == versions[-1]
    assert not list(kb.path.glob("*.tmp"))


def test_stale_tmp_and_wal_leftovers_never_pair_with_a_new_version(kb: KnowledgeBase) -> None:
    (kb.path / "kb-20000101T000000000000.sqlite.tmp").write_bytes(b"half-written")
    (kb.path / "kb-20000101T000000000000.sqlite-wal").write_bytes(b"stale wal")
    kb.refresh([str(TEST_SOURCE)], bundled=False)
    assert not list(kb.path.glob("kb-2000*"))
    assert kb.ask("obj 12").results[0]["id"] == "12"


def test_files_are_private(kb: KnowledgeBase) -> None:
    for path in [kb.store.current(), kb.store.pointer]:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path


def test_one_refresh_at_a_time(kb: KnowledgeBase) -> None:
    with kb.store.lock():
        with pytest.raises(RefreshBusy):
            kb.refresh([str(TEST_SOURCE)], bundled=False)


def test_ensure_builds_once_and_rebuilds_when_a_source_changes(tmp_path: Path) -> None:
    src = source(tmp_path, "actors:\n  - {id: A, name: Alpha}\n")
    kb = KnowledgeBase(tmp_path / "kb")
    assert kb.ensure([src], bundled=False) is not None
    assert kb.ensure([src], bundled=False) is None
    Path(src).write_text(f"source: {{url: {URL}}}\nactors:\n  - {{id: B, name: Beta}}\n", encoding="utf-8")
    assert kb.ensure([src], bundled=False) is not None
    assert kb.ask("c'est quoi Beta ?").results[0]["id"] == "B"


def test_readers_on_other_threads_keep_answering_during_refreshes(kb: KnowledgeBase) -> None:
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                assert kb.ask("obj 12").results[0]["id"] == "12"
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion below
                errors.append(exc)
                return

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for _ in range(5):
        kb.refresh([str(TEST_SOURCE)], bundled=False)
    stop.set()
    for t in threads:
        t.join()
    assert errors == []


def test_added_sources_are_remembered_until_forgotten(kb: KnowledgeBase, tmp_path: Path) -> None:
    extra = source(tmp_path, "programmes:\n  - {id: ORION, name: Programme Orion}\n")
    kb.refresh([extra], bundled=False)
    kb.refresh([], bundled=False)  # an admin's plain "refresh" keeps what was loaded before
    assert kb.ask("programme Orion").results[0]["id"] == "ORION"
    assert kb.remembered() == [str(TEST_SOURCE), extra]
    kb.refresh([str(TEST_SOURCE)], bundled=False, forget=True)
    assert kb.ask("programme Orion").intent == "unknown"
    assert kb.remembered() == [str(TEST_SOURCE)]


def test_a_refresh_without_bundled_data_stays_without_it(tmp_path: Path) -> None:
    kb = KnowledgeBase(tmp_path / "kb")
    kb.refresh([source(tmp_path, "actors:\n  - {id: SOLO, name: Seul acteur}\n")], bundled=False)
    report = kb.refresh()  # e.g. an admin's "/govbot refresh" in chat
    assert report.counts["actors"] == 1
    report = kb.refresh(bundled=True)
    assert report.counts["actors"] > 10
    assert kb.refresh().counts == report.counts
