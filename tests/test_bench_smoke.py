"""A tiny run of each benchmark (bench/) so they do not rot, plus the checks that keep their figures honest.

Timings are never asserted (shared machines are noisy); what is asserted is that each script runs, that the
labelled questions still name real records, and that the judging and generating logic does what it says.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bench import eval as quality
from bench import generate, load, perturb, speed
from bench.__main__ import main as bench_main
from bench.service import serve_missing
from bench.table import percentile
from knowledge import Answer, KnowledgeBase


def _answer(
    intent: str,
    results: tuple[tuple[str, str], ...] = (),
    choices: tuple[str, ...] = (),
    text: str = "",
    confidence: float = 0.9,
) -> Answer:
    return Answer(
        intent=intent,
        lang="fr",
        title="",
        text=text,
        confidence=confidence,
        results=[{"kind": k, "id": i, "title": i, "url": "https://example.org"} for k, i in results],
        choices=[{"label": q, "query": q} for q in choices],
    )


def test_question_set_is_large_varied_and_names_real_records(tmp_path: Path) -> None:
    cases = quality.load_cases()
    assert len(cases) >= 150
    assert sum(not c.in_scope for c in cases) >= 20
    tags = {t for c in cases for t in c.tags}
    assert {"fr", "en", "typo", "noaccent", "acronym", "abbrev", "order", "passage", "oos"} <= tags
    kb = quality.build_kb(tmp_path / "kb")
    reader = quality.open_reader(kb)
    try:
        assert quality.missing_ids(reader, cases) == []
    finally:
        reader.close()


def test_judge_reads_results_choices_and_phrases() -> None:
    owner = quality.Case("qui dirige la DNS ?", ("owner",), ids=("DNS",))
    assert quality.judge(owner, _answer("owner", (("actors", "DNS"),))).right
    assert not quality.judge(owner, _answer("about", (("actors", "DNS"),))).right
    assert quality.judge(owner, _answer("about", (("actors", "DNS"),))).record_right
    assert not quality.judge(owner, _answer("owner", (("actors", "ANS"),))).right
    asked = quality.judge(owner, _answer("owner", (("actors", "DNS"),), ("owner actors:DNS", "owner actors:ANS")))
    assert asked.asked and not asked.right and asked.first_choice
    tagged = quality.judge(owner, _answer("owner", (("actors", "DNS"),), ("owner actors:DNS [fr]", "owner actors:X")))
    assert tagged.first_choice
    axis = quality.Case("axe 1", ("about",), ids=("axes:1",))
    assert not quality.judge(axis, _answer("about", (("objectives", "1"),))).right
    listing = quality.Case("en retard", ("list",), all=("3", "6"))
    assert quality.judge(listing, _answer("list", (("objectives", "6"), ("objectives", "3")))).right
    assert not quality.judge(listing, _answer("list", (("objectives", "6"),))).right
    phrase = quality.Case("participants", ("passage",), contains=("37 participants",))
    assert quality.judge(
        phrase, _answer("passage", (("passages", "x#0"),), text="Le comité a réuni 37 PARTICIPANTS")
    ).right
    outside = quality.Case("météo", ("unknown",))
    assert quality.judge(outside, _answer("unknown", confidence=0.0)).right
    wrong = quality.judge(outside, _answer("about", (("actors", "DNS"),), confidence=0.95))
    assert not wrong.right and not wrong.idk


def test_a_regional_label_matches_the_record_of_its_roadmap_only() -> None:
    regional = quality.Case("objectif 3.2 de l'ARS", ("status",), ids=("objectives:3.2",), roadmap="ars-vdb")
    assert quality.judge(regional, _answer("status", (("objectives", "ars-vdb:3.2"),))).right
    assert not quality.judge(regional, _answer("status", (("objectives", "3.2"),))).right
    assert not quality.judge(regional, _answer("status", (("axes", "ars-vdb:3.2"),))).right
    national = quality.Case("objectif 4.1", ("status",), ids=("objectives:4.1",))
    assert not quality.judge(national, _answer("status", (("objectives", "ars-vdb:4.1"),))).right
    either = quality.Case("objectif 4.1", ("status",), ids=("objectives:4.1",), tags=("ambiguous",))
    assert quality.judge(either, _answer("status", (("objectives", "ars-vdb:4.1"),))).right


# The tuning files, each a column; every one must exist (a set named but missing would fail here).
DEV_FILES = (
    "dev",
    "dev-region",
    "dev-blind",
    "dev-blind2",
    "dev-blind3",
    "dev-blind4a",
    "dev-blind4b",
    "dev-blind5a",
    "dev-blind5b",
    "dev-oos",
)


def test_eval_smoke_prints_the_three_systems_and_the_perturbations(capsys: pytest.CaptureFixture[str]) -> None:
    figures = quality.run(limit=10, sets=("dev",))
    assert figures["questions"] == 10 and list(figures["sets"]) == list(DEV_FILES)
    for system in ("govbot", "fts5", "rapidfuzz"):
        scores = figures[system]
        assert scores["n_in"] + scores["n_out"] == 10
        assert 0 <= scores["right_in"] <= scores["n_in"]
    assert set(figures["perturbed"]) == set(perturb.PERTURBATIONS)
    for scores in figures["perturbed"].values():
        assert scores["n_in"] + scores["n_out"] == 10
    out = capsys.readouterr().out
    assert "dev FTS5" in out and "rapidfuzz" in out and "I don't know" in out and "ALL CAPS" in out


def test_sets_are_dev_and_every_test_file() -> None:
    assert quality.set_paths("dev") == [quality.SETS / f"{name}.yaml" for name in DEV_FILES]
    assert all(p.name.startswith("test") and p.suffix == ".yaml" for p in quality.set_paths("test"))
    with pytest.raises(ValueError, match="unknown question set"):
        quality.set_paths("train")
    assert quality.set_names(("test",)) == ["test", "test-region"]
    assert quality.set_names(("dev", "test-region", "test")) == [*DEV_FILES, "test-region", "test"]
    assert len(quality.load_set("dev", limit=7)) == 7
    assert quality.set_names(("held",)) == ["held-blind6"]


def test_the_held_out_set_prints_figures_but_no_question(capsys: pytest.CaptureFixture[str]) -> None:
    figures = quality.run(limit=4, sets=("held",))
    assert list(figures["sets"]) == ["held-blind6"] and figures["questions"] == 4
    printed = capsys.readouterr().out
    assert "strict top-1" in printed and "govbot misses on the held-blind6" not in printed


def test_perturbations_change_only_the_spelling_and_are_deterministic() -> None:
    q = "Où en est l'objectif 4.2 de la télésurveillance ?"
    assert perturb.drop_accents(q) == "Ou en est l'objectif 4.2 de la telesurveillance ?"
    assert perturb.drop_apostrophes(q) == "Où en est lobjectif 4.2 de la télésurveillance ?"
    assert perturb.all_caps("qui pilote") == "QUI PILOTE"
    assert perturb.no_question_mark(q).endswith("télésurveillance")
    assert perturb.mention("bonjour") == "@govbot bonjour"
    typed = perturb.typos(q)
    assert typed == perturb.typos(q)  # same question, same typos
    before, after = q.split(), typed.split()
    assert len(before) == len(after)
    for word, changed in zip(before, after, strict=True):
        letters = sum(c.isalpha() for c in word)
        if letters >= 6 and word.isalpha():
            assert changed != word and changed[0] == word[0] and abs(len(changed) - len(word)) <= 1
        elif not word.replace("'", "").isalpha() or letters < 6:
            assert changed == word or "'" in word  # numbers and short words are never touched


def test_generated_knowledge_is_valid_deterministic_and_nested(tmp_path: Path) -> None:
    counts = generate.generate(tmp_path / "one", 1)
    assert counts == {**generate.UNIT, "reports": 0}
    generate.generate(tmp_path / "two", 2)
    one = yaml.safe_load((tmp_path / "one" / "objectives.yaml").read_text(encoding="utf-8"))["objectives"]
    two = yaml.safe_load((tmp_path / "two" / "objectives.yaml").read_text(encoding="utf-8"))["objectives"]
    assert len(two) == 2 * len(one)
    assert two[: len(one)] == one  # the same records, links included, not only the same count
    report = KnowledgeBase(tmp_path / "kb").refresh([str(tmp_path / "one")], bundled=False)
    assert report.counts["objectives"] == 65 and report.counts["passages"] == 300
    assert report.warnings == []
    assert len(generate.questions(12)) == 12


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([3.0], 99) == 3.0


def test_speed_smoke_measures_two_sizes_and_their_growth(capsys: pytest.CaptureFixture[str]) -> None:
    results = speed.run(quick=True, sizes=(1, 2))
    out = capsys.readouterr().out
    one, two = results
    assert two.counts["objectives"] == one.counts["objectives"] + 2 * generate.UNIT["objectives"]
    assert len(one.latencies) == len(two.latencies) > 200
    assert one.refresh_seconds > 0 and one.peak_rss_mb > 10
    assert len(one.cold_ask) == 1
    assert one.serve_ready is not None or one.serve_note
    assert "Growth from 1x to 2x" in out and "slowest questions" in out


def test_load_smoke_drives_every_front_end(capsys: pytest.CaptureFixture[str]) -> None:
    if reason := serve_missing():
        pytest.skip(reason)
    levels = load.run(duration=0.5, levels=(2,))
    out = capsys.readouterr().out
    chat = [level for level in levels if level.part == "web chat"]
    assert chat and chat[0].latencies, out
    assert chat[0].error_count == 0, out
    for level in levels:
        if level.delivered is not None:
            assert level.delivered > 0, out


def test_main_runs_one_section(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_main(["--only", "eval", "--limit", "5"]) == 0
    out = capsys.readouterr().out
    assert "machine:" in out and "== eval" in out
