"""The shipped word tables: short forms and chat forms, the English -> French domain lexicon, everyday words.

All are plain text files under knowledge/lexicon/ so that adding a word is a one-line edit (docs/understanding.md).
They are read once per process, on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .text import fold

__all__ = [
    "Abbreviation",
    "abbreviations",
    "english",
    "common_words",
    "everyday_words",
    "words_of",
    "cognate",
    "LEXICON_DIR",
]

LEXICON_DIR = Path(__file__).with_name("lexicon")


@dataclass(frozen=True)
class Abbreviation:
    expansion: str  # folded
    caps_only: bool  # counts only when the asker wrote it in capitals ("ES", not "es")


def _rows(name: str) -> list[list[str]]:
    rows = []
    for number, line in enumerate((LEXICON_DIR / name).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        if len(cells) < 2 or not fold(cells[0]) or not fold(cells[1]):
            raise ValueError(f"{name} line {number}: expected two tab-separated columns, got {line!r}")
        rows.append(cells)
    return rows


@cache
def abbreviations() -> dict[str, Abbreviation]:
    """Folded short form (one or more words) -> its expansion."""
    table: dict[str, Abbreviation] = {}
    for cells in _rows("abbreviations.tsv"):
        when = cells[2].strip() if len(cells) > 2 else "any"
        if when not in ("any", "caps"):
            raise ValueError(f"abbreviations.tsv: {cells[0]!r}: the third column is 'any' or 'caps', not {when!r}")
        table.setdefault(fold(cells[0]), Abbreviation(fold(cells[1]), when == "caps"))
    return table


@cache
def english() -> dict[str, str]:
    """Folded English word or phrase -> folded French words (the first line for a phrase wins)."""
    table: dict[str, str] = {}
    for cells in _rows("en_fr.tsv"):
        table.setdefault(fold(cells[0]), fold(cells[1]))
    return table


@cache
def common_words() -> frozenset[str]:
    """Everyday French and English words, folded: in an all-capitals question they are never taken for names."""
    return frozenset(w for cells in _rows("common_words.tsv") for w in fold(cells[1]).split())


@cache
def everyday_words() -> frozenset[str]:
    """More everyday words, read only to tell a word from a name in an all-capitals question ("THUNES", "FILLED"):
    unlike the common words they stay unknown elsewhere, so an unknown topic still makes the answer less sure."""
    return frozenset(w for cells in _rows("everyday_words.tsv") for w in fold(cells[1]).split())


@cache
def words_of(language: str) -> frozenset[str]:
    """The words that tell a language ('en' or 'fr') when no marker word does ("minimum password length"):
    its everyday words, and for English the lexicon's words that French writes otherwise ("password"; not
    "participants", the same in both). A word of both languages tells neither."""
    found: dict[str, set[str]] = {"en": set(), "fr": set()}
    for cells in _rows("common_words.tsv"):
        found[cells[0]].update(fold(cells[1]).split())
    found["en"].update(w for w, french in english().items() if " " not in w and w not in french.split())
    return frozenset(found[language] - found["fr" if language == "en" else "en"])


# English endings and their French cognates: authentication -> authentification, security -> securite.
_COGNATE_ENDINGS = (
    ("ication", "ification"),
    ("ization", "isation"),
    ("isation", "isation"),
    ("ities", "ites"),
    ("ity", "ite"),
    ("ical", "ique"),
    ("ics", "iques"),
    ("ic", "ique"),
    ("ism", "isme"),
    ("ist", "iste"),
    ("ive", "if"),
    ("ory", "oire"),
    ("ary", "aire"),
    ("y", "ie"),
    ("ment", "ment"),
    ("tion", "tion"),
    ("al", "al"),
    ("ed", "e"),
    ("e", "e"),
)


def cognate(word: str, known: set[str] | frozenset[str]) -> str | None:
    """The French word the knowledge uses for an English cognate, if one of the usual endings gives it."""
    for ending, french in _COGNATE_ENDINGS:
        if word.endswith(ending) and len(word) > len(ending) + 2:
            guess = word[: -len(ending)] + french
            if guess != word and guess in known:
                return guess
            if guess + "s" in known:
                return guess + "s"
    return None
