"""Text helpers shared by ingestion and answering: accent folding, tokens, language, FTS5 queries."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["fold", "tokens", "guess_language", "fts_query", "fts_terms", "strip_mentions", "clip"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NON_WORD = re.compile(r"[^\w]+")
# `[^<>]` (not `[^>]`): an unclosed `<@` stops at the next `<`, so a flood of them is linear, not quadratic.
_MENTION = re.compile(r"<[@!#][^<>]*>|(?<![\w.])@[\w.\-]+")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'"})

# Short words that carry no meaning for search (after folding).
STOPWORDS = frozenset(
    """
    a au aux avec ce ces cette de des du en est et il la le les leur l d qu que qui quoi quel quelle quels
    quelles sur son sa ses un une pour par dans ou on y ne pas plus se s c j m n t est-ce
    the a an of to in on for by is are was were be been what which who whom how does do did
    with at from about that this these those it its and or any me my our we you your i
    """.split()
)

# Words that point to English; accents and these French markers point to French.
_EN_MARKERS = frozenset(
    """the what who which how is are does did was were owns owned own leads runs decided decision
    decisions changed change since status objective objectives late list show tell about council
    of latest last where many much when why help""".split()
)
_FR_MARKERS = frozenset(
    """le la les des du est qui quoi quel quelle quels quelles ou en sont pilote porte dirige decide
    decisions objectif objectifs retard depuis conseil derniere dernier combien c'est qu'est quand
    pourquoi aide liste montre avancement statut etat feuille route""".split()
)


def fold(text: str) -> str:
    """Lower-case, strip accents and turn punctuation into spaces: 'Où en est l'ANS ?' -> 'ou en est l ans'."""
    text = unicodedata.normalize("NFKD", text.translate(_APOSTROPHES))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(_NON_WORD.sub(" ", text.lower()).replace("_", " ").split())


def tokens(text: str) -> list[str]:
    """Folded words, stopwords kept (callers decide)."""
    return fold(text).split()


def strip_mentions(text: str) -> str:
    """Remove chat mentions (<@U123>, <!here>, @govbot) and control characters."""
    return " ".join(_CONTROL.sub(" ", _MENTION.sub(" ", text)).split())


def clip(text: str, limit: int) -> str:
    """Cut text to at most `limit` characters, ending with an ellipsis when cut."""
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + "…"


def guess_language(text: str) -> str:
    """'en' or 'fr' (the default audience is French)."""
    if any(c in text for c in "éèêàùçôîœÉÈ"):
        return "fr"
    raw = text.lower().translate(_APOSTROPHES)
    words = re.findall(r"[a-z']+", raw)
    en = sum(w in _EN_MARKERS for w in words)
    fr = sum(w in _FR_MARKERS or w.startswith(("qu'", "l'", "d'", "c'")) for w in words)
    return "en" if en > fr else "fr"


def fts_query(text: str, *, max_terms: int = 12, prefix: int = 5) -> str | None:
    """A safe FTS5 MATCH expression (OR of quoted terms) or None when nothing is searchable."""
    return " OR ".join(fts_terms(text, max_terms=max_terms, prefix=prefix)) or None


def fts_terms(text: str, *, max_terms: int = 12, prefix: int = 5) -> list[str]:
    """Safe FTS5 terms for a text: `"word"` and `"prefix"*`, to be joined with OR.

    Every term is quoted, so FTS5 operators, column filters and quotes in user text are inert;
    words of 4 letters or more also match as prefixes (cut to `prefix` letters), which tolerates a typo at the
    end and abbreviations.
    """
    terms: list[str] = []
    for word in tokens(text):
        if word in STOPWORDS or (len(word) < 2 and not word.isdigit()):
            continue
        quoted = '"' + word.replace('"', '""') + '"'
        terms.append(quoted)
        if len(word) > prefix:
            terms.append('"' + word[:prefix] + '"*')
        elif len(word) >= 4 and not word.isdigit():  # "ordo" for "ordonnance"
            terms.append(quoted + "*")
        if len(terms) >= max_terms:
            break
    return list(dict.fromkeys(terms))
