"""Reading sources: every error path names the source, the record and the field; all errors come together."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge.sources import read_sources
from knowledge.vocabulary import normalize_status, parse_date

URL = "https://example.org/src"


def write(tmp_path: Path, name: str, text: str | bytes) -> str:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return str(path)


def problems(*specs: str) -> list[str]:
    return [str(p) for p in read_sources(list(specs)).problems]


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("en cours", "in_progress"),
        ("Ongoing", "in_progress"),
        ("réalisé", "done"),
        ("atteint", "done"),
        ("achieved", "done"),
        ("en retard", "late"),
        ("Delayed", "late"),
        ("à lancer", "not_started"),
        ("non démarré", "not_started"),
        ("abandonné", "dropped"),
        ("done", "done"),
        ("", None),
    ],
)
def test_status_words_normalise(word: str, expected: str | None) -> None:
    assert normalize_status(word) == expected


def test_unknown_status_word_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown status 'bof'"):
        normalize_status("bof")


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("17 décembre 2024", "2024-12-17"),
        ("1er juillet 2023", "2023-07-01"),
        ("juin 2025", "2025-06"),
        ("December 17, 2024", "2024-12-17"),
        ("17/12/2024", "2024-12-17"),
        ("2027", "2027"),
        ("2024-12-17", "2024-12-17"),
    ],
)
def test_dates_in_french_english_and_iso(text: str, iso: str) -> None:
    assert parse_date(text) == iso


@pytest.mark.parametrize("text", ["demain", "32/13/2024", "2024-13-01", "mi-2025"])
def test_bad_dates_are_errors(text: str) -> None:
    with pytest.raises(ValueError, match="not a date"):
        parse_date(text)


def test_yaml_keeps_ids_as_written(tmp_path: Path) -> None:
    spec = write(
        tmp_path,
        "o.yaml",
        f"source: {{url: {URL}}}\nobjectives:\n"
        "  - {id: 2.1, title: A}\n  - {id: 2.10, title: B}\n  - {id: 007, title: C}\n  - {id: yes, title: D}\n",
    )
    bundle = read_sources([spec])
    assert not bundle.problems
    assert [r["id"] for r in bundle.records["objectives"]] == ["2.1", "2.10", "007", "yes"]


def test_json_keeps_ids_as_written(tmp_path: Path) -> None:
    spec = write(
        tmp_path,
        "o.json",
        '{"source": {"url": "https://example.org/j"}, "objectives": [{"id": 2.10, "title": "B"}, {"id": 7, "title": "C"}]}',
    )
    bundle = read_sources([spec])
    assert [r["id"] for r in bundle.records["objectives"]] == ["2.10", "7"]


def test_csv_type_from_file_stem_and_list_fields(tmp_path: Path) -> None:
    spec = write(
        tmp_path,
        "objectives.csv",
        "id,axis,title,owners,status,progress,url\n23,2,Messagerie sécurisée,ANS;DNS,en cours,40,https://example.org/o\n",
    )
    bundle = read_sources([spec])
    assert not bundle.problems
    (record,) = bundle.records["objectives"]
    assert record["owners"] == ["ANS", "DNS"]
    assert record["status"] == "in_progress"
    assert record["progress"] == 40.0


def test_csv_type_from_query(tmp_path: Path) -> None:
    spec = write(tmp_path, "export.csv", "id,name,url\nANS,Agence du numérique en santé,https://example.org/a\n")
    bundle = read_sources([spec + "?type=actors"])
    assert [r["id"] for r in bundle.records["actors"]] == ["ANS"]


def test_unknown_fields_are_kept_as_extra(tmp_path: Path) -> None:
    spec = write(tmp_path, "a.yaml", f"actors:\n  - {{id: X, name: Ex, url: {URL}, referent: Dr Leroy}}\n")
    (record,) = read_sources([spec]).records["actors"]
    assert record["extra"] == {"referent": "Dr Leroy"}


def test_top_level_source_url_is_the_default(tmp_path: Path) -> None:
    spec = write(tmp_path, "a.yaml", f"source: {{title: T, url: {URL}}}\nactors:\n  - {{id: X, name: Ex}}\n")
    (record,) = read_sources([spec]).records["actors"]
    assert record["url"] == URL


def test_all_errors_of_a_source_are_reported_together_with_record_and_field(tmp_path: Path) -> None:
    spec = write(
        tmp_path,
        "bad.yaml",
        "objectives:\n"
        f"  - {{id: '1', title: A, status: bof, url: {URL}}}\n"
        f"  - {{id: '2', title: B, progress: 140, url: {URL}}}\n"
        f"  - {{id: '3', title: C, due: demain, url: {URL}}}\n"
        "  - {id: '4', title: D}\n"
        f"  - {{title: E, url: {URL}}}\n"
        f"  - {{id: '6', title: F, url: 'ftp://example.org/x'}}\n",
    )
    found = problems(spec)
    assert len(found) == 6
    assert found[0] == (
        f"{spec}, objectives[0] (id '1'), field 'status': unknown status 'bof' (use not_started, in_progress, "
        "late, done, dropped or a word such as 'en cours', 'réalisé', 'en retard', 'à lancer', 'abandonné')"
    )
    assert "objectives[1] (id '2'), field 'progress': expected a number from 0 to 100" in found[1]
    assert "objectives[2] (id '3'), field 'due': not a date: 'demain'" in found[2]
    assert "objectives[3] (id '4'), field 'url': no source URL" in found[3]
    assert "objectives[4], field 'id': missing id" in found[4]
    assert "field 'url': not an http(s) URL: 'ftp://example.org/x'" in found[5]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("broken.yaml", "actors: [unclosed", "cannot parse"),
        ("broken.json", '{"actors": [', "cannot parse"),
        ("empty.yaml", "", "empty source"),
        ("list.yaml", "- a\n- b\n", "expected a mapping of record types"),
        ("nothing.yaml", f"source: {{url: {URL}}}\n", "holds no records"),
        ("kind.yaml", "people: []\n", "unknown record type 'people'"),
        ("notlist.yaml", "actors: {id: X}\n", "'actors' must be a list of records"),
        ("scalar.yaml", "actors:\n  - just text\n", "expected a mapping of fields"),
        ("ragged.csv", "id,title\n1,A,extra\n", "line 2 has 3 fields, the header has 2"),
        ("quote.csv", 'id,title\n1,"unterminated\n', "cannot parse"),
        ("badsrc.yaml", "source: {url: 'javascript:alert(1)'}\nactors:\n  - {id: X, name: Y}\n", "not an http(s) URL"),
        ("name.yaml", f"actors:\n  - {{id: X, url: {URL}}}\n", "field 'name': missing name"),
        ("people.yaml", f"actors:\n  - {{id: X, name: Y, url: {URL}, people: [{{title: boss}}]}}\n", "needs a name"),
        ("owners.yaml", f"objectives:\n  - {{id: '1', title: A, url: {URL}, owners: {{a: b}}}}\n", "expected a list"),
        ("num.yaml", f"councils:\n  - {{id: C, name: C, url: {URL}, number: douze}}\n", "expected a whole number"),
        ("fmt.yaml", f"documents:\n  - {{path: x.txt, url: {URL}, format: pdf}}\n", "unknown format 'pdf'"),
        ("doc.yaml", f"documents:\n  - {{path: missing.txt, url: {URL}}}\n", "no such file: missing.txt"),
        ("rep.yaml", f"reports:\n  - {{id: R, url: {URL}, statuses: [{{status: done}}]}}\n", "needs an objective id"),
    ],
)
def test_each_broken_source_gives_a_one_line_error(tmp_path: Path, name: str, content: str, message: str) -> None:
    spec = write(tmp_path, name, content)
    found = problems(spec)
    assert found, "the broken source was accepted"
    assert any(message in p for p in found), found
    assert all("\n" not in p and p.startswith(spec) for p in found)


def test_missing_source_and_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    found = problems(str(tmp_path / "nope.yaml"), str(tmp_path / "empty"))
    assert found == [
        f"{tmp_path / 'nope.yaml'}: no such file or folder",
        f"{tmp_path / 'empty'}: folder holds no .yaml, .yml, .json or .csv file",
    ]


def test_oversized_source_is_refused_without_reading_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("knowledge.sources.MAX_SOURCE_BYTES", 1024)
    spec = write(tmp_path, "big.yaml", "actors: []\n" + "#" * 2048)
    assert any("larger than" in p for p in problems(spec))


def test_latin1_and_bom_sources_are_read(tmp_path: Path) -> None:
    latin = write(tmp_path, "latin.yaml", f"actors:\n  - {{id: X, name: Équipe santé, url: {URL}}}\n".encode("latin-1"))
    bom = write(tmp_path, "bom.yaml", f"actors:\n  - {{id: Y, name: Équipe, url: {URL}}}\n".encode("utf-8-sig"))
    bundle = read_sources([latin, bom])
    assert not bundle.problems
    assert [r["name"] for r in bundle.records["actors"]] == ["Équipe santé", "Équipe"]
    assert any("not UTF-8" in w for w in bundle.warnings)


def test_html_document_reduced_to_article_passages(tmp_path: Path) -> None:
    write(
        tmp_path,
        "page.html",
        "<html><nav>Menu Accueil</nav><script>alert(1)</script><article><h1>Titre</h1>"
        "<p>Premier paragraphe utile.</p><div class='pub'>Publicité</div><h2>Budget</h2>"
        "<p>Le budget est de 2 M€.</p><aside>A lire aussi</aside></article><footer>Mentions</footer></html>",
    )
    spec = write(tmp_path, "docs.yaml", f"documents:\n  - {{path: page.html, url: {URL}, title: Page}}\n")
    bundle = read_sources([spec])
    assert not bundle.problems
    assert [(p["heading"], p["text"]) for p in bundle.passages] == [
        ("Titre", "Premier paragraphe utile."),
        ("Budget", "Le budget est de 2 M€."),
    ]


def test_folder_reads_every_source_file_sorted(tmp_path: Path) -> None:
    write(tmp_path, "b.yaml", f"actors:\n  - {{id: B, name: B, url: {URL}}}\n")
    write(tmp_path, "a.json", json.dumps({"actors": [{"id": "A", "name": "A", "url": URL}]}))
    write(tmp_path, "notes.txt", "ignored")
    bundle = read_sources([str(tmp_path)])
    assert [r["id"] for r in bundle.records["actors"]] == ["A", "B"]


def test_yaml_anchors_merge_keys_and_explicit_tags(tmp_path: Path) -> None:
    spec = write(
        tmp_path,
        "a.yaml",
        f"source: {{url: {URL}}}\n"
        "objectives:\n"
        "  - {id: !!int 012, title: 'null', due: !!str 2027, <<: &d {axis: '2', owners: [ANS]}}\n"
        "  - {<<: *d, id: '13', title: B, axis: '3'}\n",
    )
    bundle = read_sources([spec])
    assert bundle.problems == []
    first, second = bundle.records["objectives"]
    assert (first["id"], first["title"], first["due"], first["axis"]) == ("012", "null", "2027", "2")
    assert (second["axis"], second["owners"]) == ("3", ["ANS"])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("actors: []\n---\nactors: []\n", "more than one YAML document"),
        ("actors:\n  - &a {id: X, name: *a}\n", "a recursive alias"),
        ("actors:\n  - {id: X, name: *nowhere}\n", "unknown alias *nowhere"),
        ("actors: !!python/object:os.system {}\n", "could not determine a constructor for the tag"),
        ("? [a, b]\n: c\n", "a mapping or list used as a key"),
    ],
)
def test_yaml_refusals(tmp_path: Path, content: str, message: str) -> None:
    assert any(message in p for p in problems(write(tmp_path, "x.yaml", content)))


def test_a_source_lists_at_most_1000_documents(tmp_path: Path) -> None:
    (tmp_path / "page.txt").write_text("Un paragraphe.", encoding="utf-8")
    rows = "".join(f"  - {{path: page.txt, url: {URL}/{i}, title: Page {i}}}\n" for i in range(1001))
    spec = write(tmp_path, "docs.yaml", "documents:\n" + rows)
    assert problems(spec) == [
        f"{spec}, field 'documents': 1,001 documents; at most 1,000 per source (split it into several sources)"
    ]
