"""Text helpers shared by ingestion and answering: accent folding, tokens, language, FTS5 queries."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

import Stemmer

__all__ = [
    "fold",
    "all_capitals",
    "tokens",
    "stem",
    "stem_all",
    "guess_language",
    "fts_query",
    "fts_terms",
    "strip_mentions",
    "clip",
]

# Snowball stemmers: French for matching (records are French, English questions are translated first); English
# only to tell an everyday English word in an all-capitals question ("GETTING" is a form of "get").
# PyStemmer keeps its own cache of recent words, so stemming a question costs microseconds.
_STEMMERS = {"french": Stemmer.Stemmer("french"), "english": Stemmer.Stemmer("english")}

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NON_WORD = re.compile(r"[^\w]+")
# `[^<>]` (not `[^>]`): an unclosed `<@` stops at the next `<`, so a flood of them is linear, not quadratic.
_MENTION = re.compile(r"<[@!#][^<>]*>|(?<![\w.])@[\w.\-]+")
_ADDRESS = re.compile(r"\b[a-z][a-z0-9+.-]{0,15}://\S*|\bwww\.\S*")  # a bounded scheme: linear on long runs
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'"})

# Short words that carry no meaning for search (after folding).
STOPWORDS = frozenset(
    """
    a au aux avec ce ces cette de des du en est et il la le les leur l d qu que qui quoi quel quelle quels
    quelles sur son sa ses un une pour par dans ou on y ne pas plus se s c j m n t est-ce
    the a an of to in on for by is are was were be been what which who whom how does do did
    with at from about that this these those it its and or any me my our we you your i
    """.split()
    # English chat fillers: they say how the question is put, never what it is about.
    + """along actually overall anything something still yet already now so far really doing moving keeping have has
    had each every will would can could should got get""".split()
    + "ils elles ont eux".split()  # French pronouns of chat ("ils ont décidé quoi")
    + ["partir"]  # "à partir de quand": when, never a topic
    + "nous vous".split()  # who asks, not what about ("c'est lancé chez nous ?")
    # English modals, pronouns and prepositions no record or passage is about ("must progress together",
    # "without their software during the outage").
    + "must their they them while during without under into".split()
)

# Words that point to English; accents and these French markers point to French.
_EN_MARKERS = frozenset(
    """the what who which how is are does did was were owns owned own leads runs decided decision
    decisions changed change since status objective objectives late list show tell about council
    of latest last where many much when why help we our stand going done attended allowed long""".split()
    # Function words French never writes ("can IT staff work from home while on call?"); not "has" (la HAS),
    # "it" (le service IT), "on" or "me", which French writes too.
    + """can could would should must will from with without while during their they them there this that
    these those have had been into after before between any""".split()
)
_FR_MARKERS = frozenset(
    """le la les des du est qui quoi quel quelle quels quelles ou en sont pilote porte dirige decide
    decisions objectif objectifs retard depuis conseil derniere dernier combien c'est qu'est quand
    pourquoi aide liste montre avancement statut etat feuille route""".split()
)


# Combining marks (accents once NFKD has split them off), deleted in one C-speed translate call: folding runs
# on every title a search returns, so a Python loop over characters showed up in the ask profile.
_COMBINING = {
    c: None
    for start, end in ((0x0300, 0x0370), (0x1AB0, 0x1B00), (0x1DC0, 0x1E00), (0x20D0, 0x2100), (0xFE20, 0xFE30))
    for c in range(start, end)
    if unicodedata.combining(chr(c))
}


def fold_accents(text: str) -> str:
    """Accents off, case and punctuation kept: 'Où en est l'ANS' -> 'Ou en est l'ANS'."""
    text = text.translate(_APOSTROPHES)
    return text if text.isascii() else unicodedata.normalize("NFKD", text).translate(_COMBINING)


def fold(text: str) -> str:
    """Lower-case, strip accents and turn punctuation into spaces: 'Où en est l'ANS ?' -> 'ou en est l ans'."""
    return " ".join(_NON_WORD.sub(" ", fold_accents(text).lower()).replace("_", " ").split())


def all_capitals(text: str) -> bool:
    """Written all in capitals ("QUI DIRIGE L'ANS ?"): case no longer tells a name from a word. A question of
    one or two words is not: a lone "HAS" or "MES ?" is an acronym, as written."""
    return not any(c.islower() for c in text) and len(re.findall(r"[^\W\d_]{2,}", text)) >= 3


def stem(word: str, language: str = "french") -> str:
    """The Snowball stem of a folded word: 'objectifs' -> 'object', 'hopitaux' -> 'hopital'."""
    return _STEMMERS[language].stemWord(word)


def stem_all(words: Iterable[str], language: str = "french") -> list[str]:
    """The stems of many words in one call (a question is compared with a dozen titles)."""
    return _STEMMERS[language].stemWords(list(words))


def tokens(text: str) -> list[str]:
    """Folded words, stopwords kept (callers decide)."""
    return fold(text).split()


def strip_mentions(text: str) -> str:
    """Remove chat mentions (<@U123>, <!here>, @govbot) and control characters."""
    return " ".join(_CONTROL.sub(" ", _MENTION.sub(" ", text)).split())


def clip(text: str, limit: int) -> str:
    """Cut text to at most `limit` characters, ending with an ellipsis when cut."""
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + "…"


_WORD = re.compile(r"[^\W\d_][\w'’-]*")
_ACCENTED = re.compile("[éèêàùçôîœÉÈ]")


def _written_as_name(word: str, text: str) -> bool:
    """A capitalised word inside the text or in a hyphenated name ("Trois-Rivières", "at Trois-Rivières"): a
    French place or person an English question names too, so its accents tell nothing of the language."""
    return word[0].isupper() and ("-" in word or not text.lstrip().startswith(word))


# English markers that make a question English though it holds an accented (French) word.
ENGLISH_OVER_ACCENTS = 4


def guess_language(text: str) -> str:
    """'en' or 'fr' (the default audience is French)."""
    raw = _ADDRESS.sub(" ", text.lower().translate(_APOSTROPHES))  # "https://example.org/plan": no language
    words = re.findall(r"[a-z']+", raw)
    en = sum(w in _EN_MARKERS for w in words)
    fr = sum(w in _FR_MARKERS or w.startswith(("qu'", "l'", "d'", "c'")) for w in words)
    # An accent says French, unless English function words fill a question that has no French one ("from when
    # can patients hand their Mon espace santé over to a relative?": a French name, written lower case).
    accented = any(_ACCENTED.search(w) for w in _WORD.findall(text) if not _written_as_name(w, text))
    if accented and not (fr == 0 and en >= ENGLISH_OVER_ACCENTS):
        return "fr"
    if en == fr:  # no marker tells: the words do ("minimum password length"), two of them at least
        from .word_tables import words_of  # word_tables reads its files with this module's fold

        en, fr = (sum(w in words_of(lang) for w in words) for lang in ("en", "fr"))
        return "en" if en >= 2 and en > fr else "fr"
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
