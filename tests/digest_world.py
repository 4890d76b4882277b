"""A roadmap that moves: the test source folder, then the same folder after a refresh brings news.

Version 1 is tests/data/source as it is. `bring_news` adds a progress report that moves objectives 1 (axis 1,
CYBER) and 007 (axis 2, DSI-GHT), a third council and one decision on objective 1 (CYBER); objective 12 and
PHARMA's records do not move. Fictional data, example.org links.
"""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent
NEWS = """\
source:
  title: Bilan et comité de juin 2025
  url: https://example.org/ght/juin-2025
  published: 2025-06-30

councils:
  - {id: COPIL-3, name: 3e comité de pilotage SI, number: 3, date: 2025-06-20, url: https://example.org/ght/copil-3}

decisions:
  - id: D-4
    council: COPIL-3
    date: 2025-06-20
    title: Extension de la double authentification aux prestataires
    owners: [CYBER]
    objectives: ["1"]
    url: https://example.org/ght/copil-3#d4

reports:
  - id: R-2025-06
    published: 2025-06-30
    title: Bilan semestriel juin 2025
    url: https://example.org/ght/bilan-2025-06
    statuses:
      - {objective: "1", status: réalisé, progress: 100}
      - {objective: "007", status: en cours, progress: 50}
      - {objective: "12", status: en cours, progress: 60}
"""


def roadmap(folder: Path) -> Path:
    """Version 1: a copy of the test source folder."""
    shutil.copytree(ROOT / "data" / "source", folder)
    return folder


def bring_news(folder: Path) -> None:
    """Version 2: statuses move, a council meets and decides."""
    (folder / "news.yaml").write_text(NEWS, encoding="utf-8")
