"""Tables as admins have them: CSV files and Excel workbooks, with French or English names and headers.

A table becomes the same records a YAML source holds. Each record remembers its row (`ROW`) and each
table the header each field came from (`COLUMNS`), so an error names the sheet, the row and the column
as the admin wrote them. docs/sources.md lists the names understood.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

from .model import LIST_FIELDS
from .text import fold

__all__ = ["record_type_of", "parse_csv", "parse_xlsx", "ROW", "ROADMAP", "TABLES", "META_SHEETS"]

ROW = "__row__"  # a record's row number in its table (1 is the header)
ROADMAP = "__roadmap__"  # a record's roadmap, from a "feuille de route" column (in YAML, `roadmap:` is text)
TABLES = "__tables__"  # document key: {record_type: {"sheet": name or None, "columns": {field: header}}}


def _reverse(groups: dict[str, str]) -> dict[str, str]:
    """{meaning: "word|other word"} -> {word: meaning}: the tables below are written by meaning, read by word."""
    return {word: meaning for meaning, words in groups.items() for word in words.split("|")}


# File stems and sheet names (folded) -> record type.
_STEMS = _reverse(
    {
        "objectives": "objectives|objectifs|objectif|actions|mesures|engagements",
        "actors": "actors|acteurs|acteur|organisations|structures|organismes|pilotes",
        "decisions": "decisions|decision|releve de decisions|arbitrages",
        "councils": "councils|conseils|conseil|comites|comite|instances|copil|reunions|seances",
        "reports": "reports|rapports|rapport|bilans|bilan|suivi|points d etape|revues",
        "axes": "axes|axe",
        "programmes": "programmes|programme|projets|chantiers",
        "documents": "documents",
    }
)
# Sheets that are not records: the roadmap's own card and the source's words.
META_SHEETS = {
    "roadmap": "roadmap",
    "feuille de route": "roadmap",
    "vocabulary": "vocabulary",
    "vocabulaire": "vocabulary",
}

# Headers (folded) -> field, for every record type, then per type where one word means two things.
_HEADERS = _reverse(
    {
        "id": "id|identifiant|ident|code|ref|reference|cle",
        "title": "title|titre|intitule|libelle",
        "axis": "axis|axe|axe strategique",
        "owners": "owners|owner|pilote|pilotes|porteur|porteurs|responsable|responsables|pilote s|porteur s",
        "status": "status|statut|etat|etat d avancement",
        "progress": "progress|avancement|progression|taux d avancement|avancement %|% avancement|taux de realisation",
        "due": "due|echeance|date cible|date d echeance|echeance prevue|jalon|deadline|due date|target date|calendrier",
        "description": "description|detail|details",
        "priority": "priority|priorite",
        "updated": "updated|mis a jour|mise a jour|date de mise a jour|maj",
        "aliases": "aliases|alias|sigle|sigles|autres noms|aussi appele",
        "url": "url|lien|adresse|page",
        "name": "name|nom|denomination",
        "kind": "kind|type|nature|categorie",
        "role": "role|missions|mission",
        "parent": "parent|rattachement|tutelle",
        "people": "people|personnes|contacts|dirigeants|equipe",
        "council": "council|conseil|comite|instance|copil|seance",
        "date": "date|date de seance|date de la decision",
        "summary": "summary|resume|synthese",
        "objectives": "objectives|objectifs|objectifs lies|objectifs concernes",
        "amount": "amount|montant|financement",
        "number": "number|numero|n|no|edition",
        "place": "place|lieu",
        "participants": "participants",
        "budget": "budget|enveloppe",
        "start": "start|debut|date de debut",
        "end": "end|fin|date de fin",
        "published": "published|publie le|date de publication|publication|publie",
        ROADMAP: "roadmap|feuille de route",
        "format": "format",
        "path": "path|chemin|fichier",
    }
)
_BY_TYPE: dict[str, dict[str, str]] = {
    "objectives": {"numero": "id", "n": "id", "no": "id", "objectif": "title", "commentaire": "description"},
    "axes": {"numero": "id", "n": "id", "axe": "id", "resume": "summary", "description": "summary"},
    "decisions": {"decision": "title", "budget": "amount", "commentaire": "summary", "description": "summary"},
    "councils": {"commentaire": "summary", "description": "summary"},
    "programmes": {"commentaire": "summary", "description": "summary"},
    # A progress report, one row per objective: the rows of one report id are grouped into its statuses.
    "reports": {
        "bilan": "id",
        "rapport": "id",
        "report": "id",
        "objectif": "objective",
        "objective": "objective",
        "numero objectif": "objective",
        "commentaire": "comment",
        "comment": "comment",
        "observations": "comment",
        "date": "published",
    },
}
_STATUS_ROW_FIELDS = ("objective", "status", "progress", "comment")


def record_type_of(stem: str) -> str | None:
    """'objectifs' -> 'objectives', 'Décisions' -> 'decisions'; None when the name says nothing."""
    return _STEMS.get(fold(stem))


def _field_of(header: str, record_type: str) -> str:
    key = fold(header)
    return _BY_TYPE.get(record_type, {}).get(key) or _HEADERS.get(key) or header.strip()


def _split_list(cell: str, delimiter: str) -> list[str]:
    """A list in one cell: split on ';', or on ',' when ';' separates the columns or, in a sheet, when the
    cell holds no ';' (never inside brackets: "Claire Morvan (directrice, ARS)")."""
    separator = "," if delimiter == ";" or (delimiter == "sheet" and ";" not in cell) else ";"
    return [p.strip() for p in re.split(rf"{separator}\s*(?![^()]*\))", cell) if p.strip()]


def _records(rows: list[tuple[int, list[str]]], header: list[str], record_type: str, delimiter: str) -> dict:
    """Rows (number, cells) under a header -> {record_type: records, TABLES: ...}."""
    fields = [_field_of(h, record_type) for h in header]
    columns = {f: h for f, h in zip(fields, header, strict=True) if h}
    records: list[dict[str, Any]] = []
    for number, row in rows:
        if len(row) > len(header):
            raise ValueError(f"line {number} has {len(row)} fields, the header has {len(header)}")
        record: dict[str, Any] = {ROW: number}
        for key, cell in zip(fields, row, strict=False):
            cell = cell.strip()
            if not key:
                continue
            if key in LIST_FIELDS:
                record[key] = _split_list(cell, delimiter)
            elif cell:
                record[key] = cell
        records.append(record)
    if not records:
        raise ValueError("no records under the header")
    if record_type == "reports" and "objective" in fields:
        records = _group_report_rows(records)
    return {record_type: records, TABLES: {record_type: {"columns": columns}}}


def _group_report_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (report, objective) -> one report per id, its rows as `statuses` (each keeps its row)."""
    reports: dict[str, dict[str, Any]] = {}
    for row in rows:
        rid = str(row.get("id") or "")
        report = reports.setdefault(rid, {k: v for k, v in row.items() if k not in _STATUS_ROW_FIELDS})
        report.setdefault("statuses", []).append({k: row.get(k) for k in (*_STATUS_ROW_FIELDS, ROW)})
    return list(reports.values())


def parse_csv(text: str, record_type: str) -> dict[str, Any]:
    """A CSV table (',' or ';' between columns, as Excel writes it in French) -> a document."""
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter, strict=True))
    if not rows:
        raise ValueError("empty CSV")
    header = [h.strip() for h in rows[0]]
    if not any(header):
        raise ValueError("empty CSV header")
    numbered = [(n, row) for n, row in enumerate(rows[1:], start=2) if any(cell.strip() for cell in row)]
    return _records(numbered, header, record_type, delimiter)


def _cell_text(cell: Any) -> str:
    """An Excel cell as an admin reads it: dates as ISO, 0.6 formatted as a percentage as '60 %'."""
    value = cell.value
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        if "%" in (cell.number_format or ""):
            return f"{value * 100:g} %"
        return f"{value:g}" if isinstance(value, float) else str(value)
    return str(value)


def parse_xlsx(data: bytes, sheet_name: str | None = None, record_type: str | None = None) -> dict[str, Any]:
    """An .xlsx workbook -> a document: a sheet per record type (named like the CSV files), plus the
    'feuille de route' and 'vocabulaire' sheets. `?sheet=` reads one sheet; `?type=` is the record type of
    the sheets whose name says none ("Feuil1")."""
    import openpyxl  # only workbooks pay for it

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError or its own errors on a damaged file
        raise ValueError(f"not a readable .xlsx workbook ({type(exc).__name__})") from None
    document: dict[str, Any] = {TABLES: {}}
    try:
        for sheet in book.worksheets:
            name = sheet.title
            if sheet_name is not None and fold(name) != fold(sheet_name):
                continue
            chosen = record_type if sheet_name is not None else None
            kind = META_SHEETS.get(fold(name)) or chosen or record_type_of(name) or record_type
            if kind is None:
                document.setdefault("__unknown_sheets__", []).append(name)
                continue
            rows = [[_cell_text(c) for c in row] for row in sheet.iter_rows()]
            while rows and not any(c.strip() for c in rows[-1]):
                rows.pop()
            if not rows:
                continue
            if kind in ("roadmap", "vocabulary"):
                document[kind] = _meta_sheet(kind, rows)
                continue
            header = [h.strip() for h in rows[0]]
            while header and not header[-1]:
                header.pop()
            numbered = [(n, r[: len(header)] if not any(c.strip() for c in r[len(header) :]) else r)
                        for n, r in enumerate(rows[1:], start=2) if any(c.strip() for c in r)]  # fmt: skip
            if kind in document:
                raise ValueError(f"two sheets hold {kind} ({name!r})")
            try:
                table = _records(numbered, header, kind, "sheet")
            except ValueError as exc:
                raise ValueError(f"sheet {name!r}: {exc}") from None
            document[kind] = table[kind]
            document[TABLES][kind] = {**table[TABLES][kind], "sheet": name}
    finally:
        book.close()
    return document


def _meta_sheet(kind: str, rows: list[list[str]]) -> dict[str, Any]:
    """'feuille de route': key/value rows -> {id, title, owner, url}; 'vocabulaire': word, kind, meaning rows."""
    if kind == "roadmap":
        keys = {"identifiant": "id", "id": "id", "titre": "title", "title": "title", "porteur": "owner",
                "owner": "owner", "pilote": "owner", "url": "url", "lien": "url"}  # fmt: skip
        card = {keys.get(fold(r[0]), fold(r[0])): r[1].strip() for r in rows if len(r) >= 2 and r[0].strip()}
        return {k: v for k, v in card.items() if k in ("id", "title", "owner", "url")}
    words: dict[str, dict[str, str]] = {"statuses": {}, "decisions": {}}
    for row in rows[1:]:
        if len(row) >= 3 and row[0].strip():
            section = "decisions" if fold(row[1]).startswith("decision") else "statuses"
            words[section][row[0].strip()] = row[2].strip()
    return words
