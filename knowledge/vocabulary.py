"""Normalising the words admins write: statuses and dates, in French or English."""

from __future__ import annotations

import re

from .text import fold

__all__ = ["normalize_status", "parse_date", "STATUS_WORDS"]

# Folded words -> canonical status. An unknown word is an error, never a guess.
STATUS_WORDS: dict[str, str] = {}
for _canonical, _words in {
    "not_started": "not started|not_started|todo|to do|planned|pending|a lancer|a venir|non demarre|"
    "non commence|pas commence|prevu|a demarrer|not yet started",
    "in_progress": "in progress|in_progress|ongoing|started|underway|en cours|demarre|engage|en progression|"
    "en cours de realisation|en cours de deploiement|active",
    "late": "late|delayed|behind|behind schedule|overdue|at risk|en retard|retarde|en difficulte|a risque|decale",
    "done": "done|completed|complete|achieved|finished|delivered|met|realise|atteint|termine|acheve|"
    "fait|livre|accompli|deploye",
    "dropped": "dropped|abandoned|cancelled|canceled|stopped|abandonne|annule|arrete|supprime",
}.items():
    for _word in _words.split("|"):
        STATUS_WORDS[fold(_word)] = _canonical


def normalize_status(value: str) -> str | None:
    """Map a status word to one of STATUSES; '' -> None; unknown -> ValueError."""
    key = fold(value)
    if not key:
        return None
    if key in STATUS_WORDS:
        return STATUS_WORDS[key]
    raise ValueError(
        f"unknown status {value!r} (use not_started, in_progress, late, done, dropped "
        "or a word such as 'en cours', 'réalisé', 'en retard', 'à lancer', 'abandonné')"
    )


MONTHS = {
    "janvier": 1, "janv": 1, "january": 1, "jan": 1,
    "fevrier": 2, "fevr": 2, "fev": 2, "february": 2, "feb": 2,
    "mars": 3, "march": 3, "mar": 3,
    "avril": 4, "avr": 4, "april": 4, "apr": 4,
    "mai": 5, "may": 5,
    "juin": 6, "june": 6, "jun": 6,
    "juillet": 7, "juil": 7, "july": 7, "jul": 7,
    "aout": 8, "august": 8, "aug": 8,
    "septembre": 9, "sept": 9, "september": 9, "sep": 9,
    "octobre": 10, "oct": 10, "october": 10,
    "novembre": 11, "nov": 11, "november": 11,
    "decembre": 12, "dec": 12, "december": 12,
}  # fmt: skip

_ISO = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?(?:[T ][\d:.+\-Z]*)?$")
_DMY = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})$")
_MONTH_NAMES = "|".join(sorted(MONTHS, key=len, reverse=True))
_WORDS = re.compile(
    rf"^(?:(\d{{1,2}})(?:er|st|nd|rd|th)?\s+)?({_MONTH_NAMES})\.?\s+(?:(\d{{1,2}})(?:st|nd|rd|th)?\s+)?(\d{{4}})$"
)


def _iso(year: int, month: int | None, day: int | None) -> str:
    if month is not None and not 1 <= month <= 12:
        raise ValueError("month out of range")
    if day is not None and not 1 <= day <= 31:
        raise ValueError("day out of range")
    if month is None:
        return f"{year:04d}"
    return f"{year:04d}-{month:02d}" + (f"-{day:02d}" if day is not None else "")


def parse_date(value: str) -> str | None:
    """ISO or French/English dates to an ISO string, keeping the precision given.

    '17 décembre 2024' -> '2024-12-17'; 'juin 2025' -> '2025-06'; '2027' -> '2027'; '' -> None.
    """
    text = value.strip()
    if not text:
        return None
    try:
        if m := _ISO.match(text):
            return _iso(int(m[1]), m[2] and int(m[2]), m[3] and int(m[3]))
        if m := _DMY.match(text):
            return _iso(int(m[3]), int(m[2]), int(m[1]))
        folded = fold(text).replace(" 1er ", " 1 ")
        folded = re.sub(r"^1er ", "1 ", folded)
        if m := _WORDS.match(folded.replace(",", "")):
            day = m[1] or m[3]
            return _iso(int(m[4]), MONTHS[m[2]], int(day) if day else None)
    except ValueError:
        pass
    raise ValueError(f"not a date: {value!r} (use 2024-12-17, 17/12/2024 or '17 décembre 2024')")
