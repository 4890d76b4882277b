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
        f"{spec}, objectives[0] (id '1'), field 'status': unknown status 'bof': add it to the source as "
        'vocabulary: {statuses: {"bof": ' + found[0].split('"bof": ')[1].split("}")[0] + "}} (one of not_started, "
        "in_progress, late, on_hold, postponed, done, dropped)"
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
        f"{tmp_path / 'empty'}: folder holds no .yaml, .yml, .json, .csv or .xlsx file",
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


# --- sources as admins write them (issue 12) --------------------------------------------------------------


def test_at_least_80_status_words_with_traffic_lights_and_agreement() -> None:
    from knowledge.vocabulary import SOURCE_STATUS_WORDS

    assert len(SOURCE_STATUS_WORDS) >= 80
    expected = {
        "vert": "in_progress", "On track": "in_progress", "orange": "late", "Amber": "late", "rouge": "late",
        "red": "late", "à risque": "late", "suspendue": "on_hold", "en attente": "on_hold", "reportées": "postponed",
        "lancé": "in_progress", "finalisée": "done", "clos": "done", "partiellement atteint": "in_progress",
        "en pause": "on_hold", "sans suite": "dropped",
    }  # fmt: skip
    assert {w: normalize_status(w) for w in expected} == expected


def test_decisions_have_their_own_words(tmp_path: Path) -> None:
    decisions = "".join(
        f"  - {{id: D{i}, title: T{i}, status: {word}, url: {URL}}}\n"
        for i, word in enumerate(
            [
                "adoptée",
                "actée",
                "ajournée",
                "rejetée",
                "présentée pour information",
                "mise en œuvre",
                "retirée",
                "Approved",
            ]
        )  # fmt: skip
    )
    bundle = read_sources([write(tmp_path, "d.yaml", "decisions:\n" + decisions)])
    assert not bundle.problems
    assert [d["status"] for d in bundle.records["decisions"]] == [
        "adopted", "adopted", "postponed", "rejected", "presented", "done", "dropped", "adopted"
    ]  # fmt: skip
    assert bundle.records["decisions"][1]["status_text"] == "actée"
    # An objective is never "adoptée".
    assert (
        "unknown status 'adoptée'"
        in problems(
            write(tmp_path, "o.yaml", f"objectives:\n  - {{id: '1', title: A, status: adoptée, url: {URL}}}\n")
        )[0]
    )


def test_a_source_teaches_its_words_and_an_unknown_word_names_the_line_to_add(tmp_path: Path) -> None:
    body = f"objectives:\n  - {{id: '1', title: A, status: feu vert, url: {URL}}}\n"
    (found,) = problems(write(tmp_path, "o.yaml", body))
    line = found.split("add it to the source as ")[1].split(" (one of")[0]
    assert line == 'vocabulary: {statuses: {"feu vert": in_progress}}'
    bundle = read_sources([write(tmp_path, "o.yaml", line + "\n" + body)])
    assert not bundle.problems
    assert (bundle.records["objectives"][0]["status"], bundle.records["objectives"][0]["status_text"]) == (
        "in_progress",
        "feu vert",
    )
    (wrong,) = problems(
        write(tmp_path, "v.yaml", "vocabulary: {statuses: {bof: meh}}\n" + body.replace("feu vert", "vert"))
    )
    assert "'bof' must mean one of not_started, in_progress" in wrong


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("S1 2026", "2026-01-01", "2026-06-30"),
        ("S2 2026", "2026-07-01", "2026-12-31"),
        ("T4 2025", "2025-10-01", "2025-12-31"),
        ("Q1 2026", "2026-01-01", "2026-03-31"),
        ("H2 2025", "2025-07-01", "2025-12-31"),
        ("fin 2025", "2025-10-01", "2025-12-31"),
        ("début 2026", "2026-01-01", "2026-03-31"),
        ("mi-2026", "2026-05-01", "2026-08-31"),
        ("courant 2026", "2026-01-01", "2026-12-31"),
        ("été 2025", "2025-06-01", "2025-09-30"),
        ("2025-2026", "2025-01-01", "2026-12-31"),
        ("juin 2025", "2025-06-01", "2025-06-30"),
        ("17/12/2024", "2024-12-17", "2024-12-17"),
        ("2027", "2027-01-01", "2027-12-31"),
    ],
)
def test_dates_as_people_write_them_keep_their_text_and_get_a_range(text: str, start: str, end: str) -> None:
    from knowledge.vocabulary import parse_when

    when = parse_when(text)
    assert when is not None and (when.text, when.start, when.end) == (text, start, end)


def test_french_csv_with_semicolons_french_headers_and_progress_as_written(tmp_path: Path) -> None:
    spec = write(
        tmp_path,
        "objectifs.csv",
        "numéro;titre;axe;pilote;statut;avancement;échéance;météo;lien\n"
        f"1;Un;Axe 1 — Prévention;ARS, GRADES;lancé;60%;S1 2026;vert;{URL}\n"
        f"2;Deux;1;ARS;en cours;60 %;T4 2025;orange;{URL}\n"
        f"3;Trois;1;ARS;en cours;0,6;fin 2025;;{URL}\n",
    )
    bundle = read_sources([spec + "?roadmap=national"])
    assert not bundle.problems, bundle.problems
    first, second, third = bundle.records["objectives"]
    assert [r["progress"] for r in (first, second, third)] == [60, 60, 60]
    assert first["owners"] == ["ARS", "GRADES"] and first["status_text"] == "lancé"
    assert (first["due"], first["due_start"], first["due_end"]) == ("S1 2026", "2026-01-01", "2026-06-30")
    assert first["extra"] == {"météo": "vert"} and first["axis"] == "Axe 1 — Prévention"


def test_every_bad_line_of_every_report_is_named_with_its_row_objective_and_field(tmp_path: Path) -> None:
    spec = write(
        tmp_path,
        "bilans.csv",
        "bilan;publié le;objectif;statut;avancement;url\n"
        f"B1;15/07/2025;1;bof;10 %;{URL}\n"
        f"B1;15/07/2025;2;en cours;140;{URL}\n"
        f"B2;20/01/2026;1;en cours;20 %;{URL}\n"
        f"B2;20/01/2026;3;pfff;;{URL}\n",
    )
    found = problems(spec + "?roadmap=national")
    assert len(found) == 3, found
    assert found[0].startswith(f"{spec}?roadmap=national, row 2 (id 'B1'), column 'statuses[0].status': objective '1':")
    assert "row 3 (id 'B1'), column 'statuses[1].progress': objective '2': expected a number" in found[1]
    assert "row 5 (id 'B2'), column 'statuses[1].status': objective '3': unknown status 'pfff'" in found[2]
    french = [p.text("fr") for p in read_sources([spec]).problems]
    assert "ligne 5 (id 'B2'), colonne 'statuses[1].status': objectif « 3 » : statut inconnu « pfff »" in french[2]


def test_workbook_errors_name_the_sheet_row_and_column(tmp_path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "objectifs"
    sheet.append(["numéro", "titre", "statut", "avancement", "échéance", "url"])
    sheet.append(["1.1", "Bon", "lancé", 0.6, "S1 2026", URL])
    sheet.cell(2, 4).number_format = "0%"
    sheet.append(["1.2", "Mauvais", "bof", 0.3, "demain", URL])
    book.create_sheet("notes").append(["anything"])
    path = tmp_path / "region.xlsx"
    book.save(path)
    found = problems(str(path))
    assert found == [
        f"{path}, sheet 'objectifs', row 3 (id '1.2'), column 'statut': unknown status 'bof': add it to the source as "
        + found[0].split("add it to the source as ")[1],
        f"{path}, sheet 'objectifs', row 3 (id '1.2'), column 'échéance': not a date: 'demain' "
        + found[1].split("'demain' ")[1],
    ]
    sheet.delete_rows(3)
    book.save(path)
    bundle = read_sources([str(path)])
    assert bundle.records["objectives"][0]["progress"] == 60
    assert any("sheet 'notes' ignored" in w for w in bundle.warnings)


def test_a_csv_named_like_nothing_says_how_to_name_it(tmp_path: Path) -> None:
    (found,) = problems(write(tmp_path, "liste.csv", f"id,title,url\n1,A,{URL}\n"))
    assert "unknown record type 'liste'" in found and "name the file like objectifs.csv" in found


def test_docs_list_every_status_and_decision_word_in_its_bucket() -> None:
    import re
    from collections import defaultdict

    from knowledge.vocabulary import DECISION_WORDS, SOURCE_STATUS_WORDS

    docs = (Path(__file__).parent.parent / "docs" / "sources.md").read_text(encoding="utf-8")
    for name, words in (("status", SOURCE_STATUS_WORDS), ("decision", DECISION_WORDS)):
        section = re.search(rf"<!-- {name} words:.*?-->\n(.*?)<!-- end {name} words -->", docs, re.S)
        assert section, name
        listed = {m[0]: set(m[1].split(", ")) for m in re.findall(r"^\| `(\w+)` \| (.*) \|$", section[1], re.M)}
        expected: dict[str, set[str]] = defaultdict(set)
        for word, bucket in words.items():
            expected[bucket].add(word)
        assert listed == expected, name


def test_a_workbook_sheet_chosen_by_name_and_type(tmp_path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "Feuil1"
    book.active.append(["id", "title", "url"])
    book.active.append(["7", "Sept", URL])
    path = tmp_path / "export.xlsx"
    book.save(path)
    assert "sheet 'Feuil1' ignored" in read_sources([str(path)]).warnings[0]
    for spec in (f"{path}?type=objectives", f"{path}?sheet=feuil1&type=objectives"):
        bundle = read_sources([spec])
        assert not bundle.problems and [r["id"] for r in bundle.records["objectives"]] == ["7"], spec


def test_duplicate_ids_come_in_the_same_refusal_as_every_other_problem(tmp_path: Path) -> None:
    first = write(tmp_path, "a.yaml", f"objectives:\n  - {{id: '1', title: A, url: {URL}}}\n")
    second = write(
        tmp_path,
        "b.yaml",
        f"objectives:\n  - {{id: '2', title: B, status: bof, url: {URL}}}\n  - {{id: '1', title: C, url: {URL}}}\n",
    )
    found = problems(first, second)
    assert len(found) == 2 and "unknown status 'bof'" in found[0]
    assert found[1] == f"{second}, objectives[1] (id '1'), field 'id': duplicate id (also in {first}, objectives[0])"


def test_a_comma_that_split_an_unquoted_value_is_an_error_not_a_wrong_amount(tmp_path: Path) -> None:
    # In a one-line YAML mapping, `amount: 1,8 M€` reads as amount 1 and a field "8 M€" with no value.
    source = write(
        tmp_path,
        "plan.yaml",
        f"source: {{title: Plan, url: '{URL}'}}\n"
        "decisions:\n  - {id: D-1, title: Choix d'un PACS, date: 2025-02-11, amount: 1,8 M€}\n",
    )
    found = problems(source)
    assert len(found) == 1 and "'8 M€' has no value" in found[0] and "D-1" in found[0]
