"""Before anything else: the question's words as the knowledge spells them.

Folding (case, accents, punctuation), elisions split with or without their apostrophe ("lobjectif" ->
"l objectif"), short forms and chat forms expanded from the shipped table ("c koi" -> "c est quoi", "RDV" ->
"rendez vous"), and words of 4+ letters corrected against the knowledge's own vocabulary and the cue words
("pilotte" -> "pilote"). Ids and numbers are never corrected; a word the knowledge or the tables know is kept.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import process
from rapidfuzz.distance import OSA

from . import tuning
from .store import Reader
from .text import STOPWORDS, all_capitals, fold, guess_language, stem, stem_all
from .vocabulary import MONTHS
from .word_tables import abbreviations, cognate, common_words, english, everyday_words

__all__ = ["Vocabulary", "vocabulary", "proper_words", "normalise", "translate", "correct", "acronym_in_capitals"]

_ELISIONS = ("qu", "l", "d", "j", "n", "s", "m", "t", "c")
_VOCABULARIES: weakref.WeakKeyDictionary[Reader, Vocabulary] = weakref.WeakKeyDictionary()
_PROPER_WORDS: weakref.WeakKeyDictionary[Reader, frozenset[str]] = weakref.WeakKeyDictionary()
# Where a sentence, a title part or a quote starts: a capital there is habit, not a name.
_SEGMENT = re.compile(r"[.:;!?()«»\"\n—–|]")
_LETTERS = re.compile(r"[^\W\d_]+")
# Keys next to each other on AZERTY and QWERTY keyboards: a first letter typed one key off ("xombien",
# "nessagerie") is the one slip the first-letter-keyed corrector cannot see otherwise.
_NEIGHBOUR_KEYS = {
    "a": "zqsw", "b": "vghn", "c": "xdfv", "d": "sefcx", "e": "zrdsw", "f": "drgvc", "g": "fthbv", "h": "gyjnb",
    "i": "uokj", "j": "huknm", "k": "jilm", "l": "kopm", "m": "lkjn", "n": "bhjm", "o": "iplk", "p": "olm",
    "q": "awsz", "r": "etfd", "s": "qzdxwae", "t": "rygf", "u": "yijh", "v": "cfgb", "w": "qasxz", "x": "wsdcz",
    "y": "tuhg", "z": "aesqx",
}  # fmt: skip


@dataclass
class Vocabulary:
    """Words a question may use as they are, and the words a typo may be corrected to."""

    known: set[str] = field(default_factory=set)
    corrections: dict[tuple[str, int], list[str]] = field(default_factory=dict)  # (first letter, length) -> words
    cue_corrections: dict[tuple[str, int], list[str]] = field(default_factory=dict)  # the cue words alone
    rank: dict[str, int] = field(default_factory=dict)  # among equally near words, the lowest rank wins
    cues: frozenset[str] = frozenset()
    knowledge: set[str] = field(default_factory=set)  # the knowledge's own words (for English cognates)
    names: frozenset[str] = frozenset()  # short forms the knowledge uses as a whole name: never expanded
    # The words a first letter one key off may be corrected to: the knowledge's and the cues', not the English
    # lexicon's ("hooking" is no slip for "booking").
    slips: frozenset[str] = frozenset()
    _stems: frozenset[str] | None = None  # French and English stems of known and everyday words, when first asked

    def everyday(self, word: str) -> bool:
        """A known or everyday word, or one of their forms ("COMPTAIT" like "compte", "GETTING" like "get"): in
        an all-capitals question, not a name."""
        if word in self.known or word in common_words() or word in everyday_words():
            return True
        if self._stems is None:
            words = list(self.known | common_words() | everyday_words())
            self._stems = frozenset(stem_all(words)) | frozenset(stem_all(words, "english"))
        # Accents are off, so Snowball no longer sees "-ée", "-és": the word without its last "e" or "s" is tried
        # too ("RENSEIGNÉE" is a form of "renseigné").
        forms = {word, word.removesuffix("s").removesuffix("e")}
        return any(stem(w) in self._stems or stem(w, "english") in self._stems for w in forms)

    @classmethod
    def build(cls, cue_words: Iterable[str], terms: Iterable[tuple[str, int]] = (), names: Iterable[str] = ()):
        """Corrections prefer cue words, then the knowledge's terms by how many records hold them, then the
        lexicon's English words (a typo in "outage" is still "outage")."""
        cues = [w for w in dict.fromkeys(cue_words) if w.isalpha()]
        vocab = cls(names=frozenset(names), cues=frozenset(cues))
        ranked = [t for t, _ in sorted(terms, key=lambda item: -item[1]) if t.isalpha()]
        vocab.knowledge = set(ranked)
        english_words = [w for phrase in english() for w in phrase.split() if w.isalpha()]
        french_words = {w for phrase in english().values() for w in phrase.split()}
        expansions = {w for a in abbreviations().values() for w in a.expansion.split()}
        vocab.known = set(cues) | vocab.knowledge | set(english_words) | french_words | expansions | STOPWORDS
        vocab.known |= {w for short in abbreviations() for w in short.split()} | set(MONTHS) | common_words()
        vocab.slips = frozenset((vocab.knowledge | set(cues)) - set(english_words))
        for word in dict.fromkeys([*cues, *ranked, *english_words, *sorted(common_words())]):
            vocab.rank[word] = len(vocab.rank)
            if len(word) >= tuning.CORRECT_FROM - 1:
                vocab.corrections.setdefault((word[0], len(word)), []).append(word)
        for word in cues:
            vocab.cue_corrections.setdefault((word[0], len(word)), []).append(word)
        return vocab


def vocabulary(reader: Reader | None, cue_words: Iterable[str]) -> Vocabulary:
    """The vocabulary of one knowledge version (built once per reader) or of the cue words alone."""
    if reader is None:
        return Vocabulary.build(cue_words)
    found = _VOCABULARIES.get(reader)
    if found is None:
        terms = [(r["term"], r["doc"]) for r in reader.rows("SELECT term, doc FROM entities_vocab")]
        shorts = [short for short in abbreviations() if " " not in short]
        names = {r["name"] for r in reader.names(shorts)}
        found = _VOCABULARIES[reader] = Vocabulary.build(cue_words, terms, names)
    return found


def proper_words(reader: Reader | None) -> frozenset[str]:
    """Words the knowledge writes only as names ("Brumeport", "Occitanie", "Vasseur"), folded: capitalised inside
    a sentence somewhere, in lower case nowhere, in its records (passages are left out: long, and their names
    are in the records too). Built once per knowledge version, when an all-capitals question first needs it."""
    if reader is None:
        return frozenset()
    found = _PROPER_WORDS.get(reader)
    if found is None:
        named: set[str] = set()
        lower: set[str] = set()
        for row in reader.rows("SELECT title, body FROM entities WHERE kind != 'passages'"):
            for segment in _SEGMENT.split(f"{row['title']}\n{row['body'] or ''}"):
                for i, word in enumerate(_LETTERS.findall(segment)):
                    if word.islower():
                        lower.add(fold(word))
                    elif i and word[0].isupper() and word[1:].islower():
                        named.add(fold(word))
        # An English word of a name ("Health Data Hub") is an everyday word all the same.
        english_words = {w for phrase in english() for w in phrase.split()}
        found = _PROPER_WORDS[reader] = frozenset(named - lower - english_words - common_words())
    return found


# Three-letter question words a chat typo may hit ("qhi pilote ...", "wgo runs ..."): corrected to these only.
_SHORT_QUESTION_WORDS = ("qui", "who")


def correct(word: str, vocab: Vocabulary, slip: bool = True) -> str:
    """The nearest known word within 1 edit (2 from 8 letters), or the word itself; with `slip`, a first letter
    one key off too (not for the rest of an elided word: "conclut" is no "c'inclut")."""
    if len(word) == 3 and word.isalpha() and word not in vocab.known:
        near = [w for w in _SHORT_QUESTION_WORDS if w[0] == word[0] and OSA.distance(w, word) == 1]
        return near[0] if len(near) == 1 else word
    if len(word) < tuning.CORRECT_FROM or not word.isalpha() or word in vocab.known:
        return word
    limit = 1 if len(word) < tuning.TWO_EDITS_FROM else 2
    # Short words are corrected to cue words only ("qui", "statu"): 4-letter knowledge words lie too close to
    # everyday words ("foot" is one letter from "fort").
    table = vocab.corrections if len(word) >= tuning.KNOWLEDGE_CORRECT_FROM else vocab.cue_corrections
    candidates = [w for size in range(len(word) - limit, len(word) + limit + 1) for w in table.get((word[0], size), ())]
    near = process.extract(word, candidates, scorer=OSA.distance, score_cutoff=limit, limit=None) if candidates else []
    if not near and len(word) >= tuning.CUE_TWO_EDITS_FROM:
        # The cue words are few: two edits stay unambiguous among them from 7 letters ("dirrgie" -> "dirige").
        cues = [
            w for size in range(len(word) - 2, len(word) + 3) for w in vocab.cue_corrections.get((word[0], size), ())
        ]
        near = process.extract(word, cues, scorer=OSA.distance, score_cutoff=2, limit=None) if cues else []
    if not near and slip and len(word) >= tuning.SLIP_FROM:
        # The first letter one key off, the rest as typed: the only edit allowed there.
        near = [
            (w, 1, 0)
            for key in _NEIGHBOUR_KEYS.get(word[0], "")
            for w in table.get((key, len(word)), ())
            if w[1:] == word[1:] and w in vocab.slips
        ]
    if not near:
        return word
    return min(near, key=lambda found: (found[1], vocab.rank.get(found[0], len(vocab.rank))))[0]


def _split_elision(word: str, raw_word: str, vocab: Vocabulary) -> list[str]:
    """'lobjectif' -> ['l', 'objectif']; 'lANS' -> ['l', 'ans']; a word the vocabulary knows stays whole."""
    if word in vocab.known or not word.isalpha():
        return [word]
    for head in _ELISIONS:
        rest, written = word[len(head) :], raw_word[len(head) :]
        if word.startswith(head) and len(rest) >= 2 and written.isupper() and raw_word[: len(head)].islower():
            return [head, rest]  # "lANS", "dEHDS": an acronym right after the elided word
    rests = [
        (head, word[len(head) :])
        for head in _ELISIONS
        if word.startswith(head) and len(word) - len(head) >= 3 and word[len(head)] in "aeiouyh"
    ]
    rests = [(head, rest) for head, rest in rests if rest not in STOPWORDS]
    # A rest the vocabulary knows as it is wins over correcting the whole word ("laxe" is "l axe", not "late");
    # then the whole word corrected; then a rest long enough to correct without ambiguity ("lobjectf").
    for head, rest in rests:
        if rest in vocab.known:
            return [head, rest]
    if correct(word, vocab) != word:
        return [word]
    for head, rest in rests:
        if len(rest) >= tuning.ELISION_CORRECT_FROM and correct(rest, vocab, slip=False) != rest:
            return [head, rest]
    return [word]


def _raw_words(raw: str) -> dict[str, str]:
    """Folded word -> the word as written (for capitals)."""
    found: dict[str, str] = {}
    for written in re.findall(r"[^\W_]+", raw):
        found.setdefault(fold(written), written)
    return found


def _written_in_capitals(short: str, raw: str) -> bool:
    """The asker wrote this short form in capitals (in an all-capitals question: where it reads as one)."""
    if all_capitals(raw):
        return acronym_in_capitals(short, raw)
    return re.search(rf"(?<![^\W\d_]){re.escape(short.upper())}(?![^\W\d_])", raw) is not None


# Short names that are also everyday words, by language, with the part of speech of that word there. In an
# all-capitals question such a name counts only where the everyday word could not stand: after an elided article
# ("L'ANS", "LANS", "D'ANS"), after an article unless the word is a noun ("LA HAS", "DES ES", not "THE CARE"),
# a noun straight after a verb, with no article ("IS CARE GETTING", not "REHAB CARE", "3 ANS"), and a
# determiner with no noun after it ("MES DANS LES EHPAD", not "MES MESSAGES"). Elsewhere, and in a language
# where it is no everyday word ("CARE" in French, "ANS" in English), it is the name.
_EVERYDAY_SHORT: dict[str, dict[str, str]] = {
    "has": {"en": "verb"},
    "est": {"fr": "verb"},
    "es": {"fr": "verb"},
    "on": {"fr": "pronoun", "en": "preposition"},
    "si": {"fr": "conjunction"},
    "mes": {"fr": "determiner"},
    "ans": {"fr": "noun"},
    "sante": {"fr": "noun"},
    "care": {"en": "noun"},
    "data": {"en": "noun", "fr": "noun"},
    "pro": {"en": "noun", "fr": "noun"},
    "dev": {"en": "noun", "fr": "noun"},
}
_ELIDED = frozenset({"l", "d"})
_ARTICLES = frozenset({"la", "le", "les", "des", "du", "au", "aux", "the"})
_VERBS = frozenset({"is", "was", "are", "were", "does", "did", "do", "has", "had", "will", "est", "sont", "a", "etait"})


def acronym_in_capitals(short: str, raw: str) -> bool:
    """In an all-capitals question, whether a short name that is also an everyday word reads as the name."""
    everyday = _EVERYDAY_SHORT.get(short, {}).get(guess_language(raw))
    if everyday is None:
        return True
    words = fold(raw).split()
    for i, word in enumerate(words):
        before = words[i - 1] if i else ""
        if word != short:
            if word[1:] != short or word[0] not in _ELIDED or word in STOPWORDS:
                continue
            before = word[0]  # glued to its elided article: "LANS"
        after = words[i + 1] if i + 1 < len(words) else ""
        if before in _ELIDED or (before in _ARTICLES and everyday != "noun"):
            return True
        if everyday == "noun" and before in _VERBS:
            return True
        if everyday == "determiner" and (not after or after in STOPWORDS):
            return True
    return False


def normalise(raw: str, vocab: Vocabulary, expand_names: bool = True, expand: bool = True) -> str:
    """The folded question with elisions split, short forms expanded and typos corrected.

    With `expand_names=False`, a short form the knowledge uses as a whole name ("RSSI" when it is a record's
    alias) stays as written: intent is read that way ("what is the RSSI" asks about a record, not for a person).
    With `expand=False` no short form is expanded: names are looked up that way too ("CHU de Brmueport" is the
    alias "chu de brumeport", typo corrected and short form kept).
    """
    written = _raw_words(raw)
    words: list[str] = []
    for word in fold(raw).split():
        words += _split_elision(word, written.get(word, word), vocab)
    table = abbreviations()
    out: list[str] = []
    i = 0
    while i < len(words):
        for size in range(min(4, len(words) - i), 0, -1):
            short = " ".join(words[i : i + size])
            entry = table.get(short) if expand else None
            if entry is None or (not expand_names and size == 1 and short in vocab.names):
                continue
            if entry.caps_only and not _written_in_capitals(short, raw):
                continue
            out += entry.expansion.split()
            i += size
            break
        else:
            out.append(correct(words[i], vocab))
            i += 1
    return " ".join(out)


def translate(words: list[str], vocab: Vocabulary, keep: frozenset[str] = frozenset()) -> list[str]:
    """English words -> the French words the knowledge uses (longest phrase first; cognates; else kept).

    Words in `keep` (the cue words: "decide", "status") stay English: they say what is asked, not about what.
    """
    table = english()
    out: list[str] = []
    i = 0
    while i < len(words):
        if words[i] in keep:
            out.append(words[i])
            i += 1
            continue
        for size in range(min(4, len(words) - i), 0, -1):
            phrase = " ".join(words[i : i + size])
            if phrase in table:
                # A French short form ("ciso" -> "rssi") is spelt out as a French question's is: records and
                # people's titles write the long form.
                short = abbreviations().get(table[phrase])
                out += (short.expansion if short else table[phrase]).split()
                i += size
                break
        else:
            out.append(cognate(words[i], vocab.knowledge) or words[i])
            i += 1
    return out
