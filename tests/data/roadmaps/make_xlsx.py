"""Write region-val-de-brume.xlsx from the CSV + YAML folder (FICTIONAL test data, see its README).

The workbook holds the same roadmap as the folder, a sheet per CSV stem, as an admin would receive it:
a key/value sheet "feuille de route", a "vocabulaire" sheet, real Excel dates and percentages in some
cells. Its roadmap id differs ("ars-vdb-classeur") so both forms load side by side in one refresh.

    .venv/bin/python tests/data/roadmaps/make_xlsx.py
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import openpyxl
import yaml

HERE = Path(__file__).parent
FOLDER = HERE / "region-val-de-brume"
TARGET = HERE / "region-val-de-brume.xlsx"
ROADMAP_ID = "ars-vdb-classeur"


def _cell(header: str, value: str) -> object:
    """A few cells as Excel itself stores them: dates as dates, "60 %" as the number 0.6."""
    if header in ("date", "publié le") and value.count("/") == 2:
        day, month, year = (int(p) for p in value.split("/"))
        return dt.datetime(year, month, day)
    if header == "avancement" and value.endswith("%") and value[:-1].strip().isdigit():
        return int(value[:-1].strip()) / 100
    return value


def main() -> None:
    declared = yaml.safe_load((FOLDER / "feuille-de-route.yaml").read_text(encoding="utf-8"))
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "feuille de route"
    roadmap = declared["roadmap"]
    sheet.append(["clé", "valeur"])
    sheet.append(["identifiant", ROADMAP_ID])
    sheet.append(["titre", roadmap["title"] + " — classeur de suivi"])
    sheet.append(["porteur", roadmap["owner"]])
    sheet.append(["url", roadmap["url"]])
    words = book.create_sheet("vocabulaire")
    words.append(["mot", "type", "sens"])
    for word, meaning in declared["vocabulary"]["statuses"].items():
        words.append([word, "statut", meaning])
    axes = book.create_sheet("axes")
    axes.append(["numéro", "titre", "résumé"])
    for axis in declared["axes"]:
        axes.append([axis["id"], axis["title"], axis["summary"]])
    for path in sorted(FOLDER.glob("*.csv")):
        rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines(), delimiter=";"))
        out = book.create_sheet(path.stem)
        out.append(rows[0])
        for row in rows[1:]:
            out.append([_cell(h, v) if v else None for h, v in zip(rows[0], row, strict=True)])
            for column, header in enumerate(rows[0], 1):
                if header == "avancement" and isinstance(out.cell(out.max_row, column).value, float):
                    out.cell(out.max_row, column).number_format = "0%"
    book.save(TARGET)


if __name__ == "__main__":
    main()
