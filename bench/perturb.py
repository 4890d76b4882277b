"""Variants of a labelled question as people type them in chat: the label stays, only the spelling changes.

Each perturbation is deterministic (the typo's place and kind come from a seed and the question itself), so a
figure printed today is printed again tomorrow for the same code.
"""

from __future__ import annotations

import random
import re
import unicodedata
import zlib
from collections.abc import Callable

__all__ = ["PERTURBATIONS", "drop_accents", "drop_apostrophes", "typos", "all_caps", "no_question_mark", "mention"]

SEED = 14
_WORD = re.compile(r"[^\W\d_]{6,}")
# Letters near each other on an AZERTY/QWERTY keyboard, for substitution typos.
_NEAR = {
    "a": "zqs", "b": "vn", "c": "xv", "d": "sf", "e": "zr", "f": "dg", "g": "fh", "h": "gj", "i": "uo", "j": "hk",
    "k": "jl", "l": "km", "m": "ln", "n": "bm", "o": "ip", "p": "ol", "q": "as", "r": "et", "s": "qd", "t": "ry",
    "u": "yi", "v": "cb", "w": "xq", "x": "cw", "y": "tu", "z": "ae",
}  # fmt: skip


def drop_accents(q: str) -> str:
    """'où en est la télésurveillance' -> 'ou en est la telesurveillance'."""
    return "".join(c for c in unicodedata.normalize("NFKD", q) if not unicodedata.combining(c))


def drop_apostrophes(q: str) -> str:
    """ "qu'a décidé l'ANS" -> 'qua décidé lANS' (the way phones and hurried hands write it)."""
    return re.sub(r"['’‘`]", "", q)


def _typo(word: str, rng: random.Random) -> str:
    """One edit inside the word (never its first letter): swap, drop, double or hit a neighbouring key."""
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == 1:
        return word[:i] + word[i + 1 :]
    if kind == 2:
        return word[:i] + word[i] + word[i:]
    lower = word[i].lower()
    near = _NEAR.get(lower)
    if not near:
        return word[:i] + word[i + 1 :]
    swap = rng.choice(near)
    return word[:i] + (swap.upper() if word[i].isupper() else swap) + word[i + 1 :]


def typos(q: str) -> str:
    """One typo in each word of six letters or more; numbers and ids with digits are left alone."""
    rng = random.Random(SEED * 1_000_003 + zlib.crc32(q.encode("utf-8")))
    return _WORD.sub(lambda m: _typo(m[0], rng), q)


def all_caps(q: str) -> str:
    return q.upper()


def no_question_mark(q: str) -> str:
    return q.replace("?", "").rstrip()


def mention(q: str) -> str:
    return "@govbot " + q


PERTURBATIONS: dict[str, Callable[[str], str]] = {
    "accents dropped": drop_accents,
    "apostrophes dropped": drop_apostrophes,
    "one typo per word of 6+ letters": typos,
    "ALL CAPS": all_caps,
    "no question mark": no_question_mark,
    '"@govbot " prefix': mention,
}
