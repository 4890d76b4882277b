"""Question -> what is asked (cues, numbers, filters) and which records it names (exact, fuzzy, full text)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from . import tuning
from .normalise import Vocabulary, acronym_in_capitals, normalise, proper_words, translate, vocabulary
from .store import Reader, name_phrases
from .text import (
    STOPWORDS,
    all_capitals,
    clip,
    fold,
    fold_accents,
    guess_language,
    stem,
    stem_all,
    strip_mentions,
)
from .vocabulary import DECISION_WORDS, MONTHS, STATUS_WORDS, parse_date, parse_when
from .word_tables import abbreviations, english

__all__ = ["Question", "Candidate", "understand", "resolve", "MAX_QUESTION"]

MAX_QUESTION = 500

# Intent cues, scored: each pattern adds its weight to its intent and an intent counts from tuning.CUE_AT.
# Patterns read the normalised question, where typos in these words are already corrected and chat forms
# expanded ("c koi" -> "c est quoi", "ça avance" -> "ou en est"), so each cue is typo-tolerant.
# A weak word (0.5) counts only with another cue word of the same intent.
_CUES: tuple[tuple[str, re.Pattern[str], float], ...] = (
    (
        "help",
        re.compile(
            r"^(help|aide|\?+|bonjour|hello|hi|salut|menu|commandes?|aide moi|que sais tu( faire)?|que peux tu faire|"
            r"what can you do|what do you know|que sais tu)$"
        ),
        1.0,
    ),
    (
        "help",
        re.compile(
            r"\b(tu sais (faire|repondre a) quoi|tu (reponds|sers) (a|sur) quoi|t es quoi comme bot|"
            r"comment (je|on) (te |vous )?(pose|demande|interroge)|how (do|can|should) (i|we) ask|what can i ask|"
            r"que (puis|peux) je (te |vous )?demander|quelles questions|what (questions|kind of questions) can)\b"
        ),
        1.0,
    ),
    (
        "changes",
        re.compile(
            r"\b(changements?|changes|changed|a change|ont change|evolu\w*|quoi de neuf|what s new|whats new|nouveautes?|difference\w*|"
            r"bouge|moved|new since|nouveau depuis)\b"
        ),
        1.0,
    ),
    (
        "status",
        re.compile(
            r"\b(ou en (est|sont)|statut|status|avancement|progress\w*|etat d|ou ca en est|"
            r"where (does|do|is|are) (?P<gap1>.*) stand|where (are|is) (we|it|things) (on|with)|how far|update on|"
            r"where (are|is) (we|it|things)( now)?$|"  # "X moving off Y - where are we?": asked after the topic
            r"how (is|are) (?P<gap2>.*) going|achieved|realises?|termines?|on track|ca avance|ca progresse|ca donne quoi|"
            r"on en est|en est ou|en sont ou|ca en est ou|c est fait|any news on|how far along|c est mort|is it dead|"
            r"frozen|gele|lance ou pas|started yet|taux d avancement|pourcentage|what percent\w*|how much done|"
            r"out yet|is (it|the (?P<gap3>\w+( \w+)?)) out|been (released|published)|est (il |elle )?(sortie?|parue?)|"
            r"c est sortie?|deja sortie?|dans les temps|dans les clous|c est parti\w*|c est lance\w*|on schedule|on time|"
            r"(done|finished|completed?|over|ready) yet|"
            # Whether work goes on: "is X still being worked on", "toujours en cours ?".
            r"(still )?being worked on|still (going|active|alive|in progress)|toujours en cours|toujours d actualite|"
            r"^(is|are|has|have) (?P<gap5>.+) yet$|"
            r"current state|state of play|current status|dans quel etat|etat actuel|situation actuelle)\b"  # "is X running around the clock yet?": has it got there
        ),
        1.0,
    ),
    ("status", re.compile(r"\b(done|finished|over|finis?|boucles?)\b"), 0.5),
    ("status", re.compile(r"\b(has|have)\b(?=.* (finished|completed)\b)"), 0.5),  # "has X finished": not X's words
    (
        "owner",
        re.compile(
            r"\b(qui (l |la |le |les )?(pilot\w*|porte|gere|dirig\w*|dirij\w*|est responsable|s occupe|est a la tete|"
            r"preside|coordonne|mene|finance|conduit|anime|est le|est la|est aux commandes|developpe|opere|deploie|"
            r"a succede|succede|remplace)|"
            r"who (owns|own|leads|lead|runs|run|is responsible|are responsible|manages|heads|carries|pilots|"
            r"is in charge|is the head|directs|chairs|is behind|s behind|is running|coordinates|develops|builds|operates|"
            r"succeeded|replaced)|"
            r"(pilote|porte|gere|dirige|developpe|opere|confiee?s?)e?s? (par|a qui)|c est qui sur|a qui est confie\w*|"
            r"(run|led|managed|owned|operated|headed|steered|driven|coordinated|piloted|chaired) by|"
            r"(pilote|porte|gere|dirige|developpe|opere)e?s? par|responsables?|owners?|successeur|predecesseur|"
            r"successor|predecessor|owned by|directeur|directrice|dirigeant\w*|president\w*|head of|director|"
            r"in charge|chef|patron|leader|delegue|deleguee|ciso|cio|"
            # "Le pilotage national du Ségur c'est qui ?": who steers it.
            r"(pilotage|portage)\b.* c est qui|qui (assure|a|fait) le (pilotage|portage)|who (steers|handles))\b"
        ),
        1.0,
    ),
    (
        "decisions",
        re.compile(
            r"\b(decid\w*|decision\w*|arbitr\w*|acte\w*|annonce\w*|announce\w*|agreed|came out of|come out of|"
            r"outcomes?|ressorti\w*|a dit quoi|ont dit quoi|what was said|what did (?P<gap4>.*) say|valide\w*|"
            r"debloque\w*|alloue\w*|allocated|commit to|committed|"
            r"(a|ont|as|avez|avons) tranche\w*)\b"  # "le copil a tranché quoi": what it settled
        ),
        1.0,
    ),
    ("list", re.compile(r"\b(liste\w*|list|quels|quelles|which|tous les|toutes les|montre\w*)\b"), 1.0),
    ("list", re.compile(r"\b(all|show)\b"), 1.0),
    (
        "passage",
        re.compile(r"^(combien|how many|how much|how long|quand|when|pourquoi|why|quel montant|quel budget)\b"),
        1.0,
    ),
    ("passage", re.compile(r"^(nombre de|number of|quelle? (est la )?(duree|longueur|taille))\b"), 1.0),
    (
        "about",
        re.compile(
            r"\b(c est quoi|qu est ce qu|quest ce qu|what is|what s|whats|what are|explique\w*|explain|presente\w*|"
            r"definition|define|tell me about|parle moi|c est qui|who is|qui est|a quoi sert|what does|describe|decris|"
            # What a record covers, its axis, from when: read in the record, not its status.
            r"couvre quoi|ca couvre|comprend quoi|inclut quoi|contient quoi|covers? what|rattache\w* a quel|"
            r"quel axe|which axis|what axis|a partir de quand|from when|starting when|depuis quand|since when)\b"
        ),
        1.0,
    ),
)
_FRAMING_CUES = frozenset({"status", "changes", "help", "decisions"})
# Words that ask for one field of a record (its deadline, its rate), never what the record is about.
_FACT_FRAME = re.compile(
    r"\b(echeances?|deadlines?|due|prevue?s?|pour quand|c etait pour quand|taux|pourcentage|percent\w*|so far)\b"
)
# Chat words that say which side of a record is asked ("MES niveau usage", "combien de GRADeS en France",
# "au niveau national"): the national scope and the aspect asked, never a word the record must hold.
_ASPECT_FRAME = re.compile(
    r"\b(au niveau national|a l echelle nationale|en france|(au |en )?niveau"
    r"( (usages?|utilisation|adoption|deploiement|chiffres|calendrier|delais))?)\b"
)
# Nouns of progress a status question may put its topic in ("the Vitale app rollout"): no topic of a record.
_PROGRESS_NOUNS = re.compile(r"\b(rollout|roll out|deployment|deploiement)\b")
_OBJECTIVE = re.compile(
    r"(?:\bobjectifs?|\bobjectives?|\bobj|\bo|#|\bnumero|\bnumber|\bno)\.?\s*"
    r"(?:(?:regionale?|nationale?)\s+)?"  # "l'objectif régional 2.2"
    r"(?:(?:n|no|n°|numero|number)\.?\s*)?"
    r"(\d{1,3}(?:[.\-]\d{1,3}){0,3})\b"
)
_OBJECTIVE_RAW = re.compile(r"(?:^|\s)(?:#|[Oo])(\d{1,3}(?:\.\d{1,3}){0,3})\b")
_COUNCIL_WORDS = (
    r"comite de pilotage|steering committee|conseil|cns|council|comite|committee|copil|edition|reunion|meeting"
)
_COUNCIL_NUMBER = re.compile(
    rf"\b(\d{{1,2}})\s*(?:e|eme|er|ere|th|st|nd|rd)?\s*(?:{_COUNCIL_WORDS})\b|"
    rf"\b(?:{_COUNCIL_WORDS})\s*(?:n o|no|numero|number|n)?\s*(\d{{1,2}})\b"
)
_ORDINALS = {"premier": 1, "first": 1, "deuxieme": 2, "second": 2, "troisieme": 3, "third": 3, "quatrieme": 4,
             "fourth": 4, "cinquieme": 5, "fifth": 5, "sixieme": 6, "sixth": 6, "septieme": 7, "seventh": 7,
             "huitieme": 8, "eighth": 8, "neuvieme": 9, "ninth": 9, "dixieme": 10, "tenth": 10, "onzieme": 11,
             "eleventh": 11, "douzieme": 12, "twelfth": 12, "treizieme": 13, "thirteenth": 13, "quatorzieme": 14,
             "fourteenth": 14, "quinzieme": 15, "fifteenth": 15}  # fmt: skip
_LATEST_COUNCIL = re.compile(
    rf"\b(dernier|derniere|last|latest|most recent|recent) ({_COUNCIL_WORDS})\b|"
    rf"\b({_COUNCIL_WORDS}) (le plus recent|most recent)\b"
)
_AXIS = re.compile(r"\b(?:axe|axis)\s*(?:n o|no)?\s*(\d)\b")
# An axis numbered in words: "le deuxième axe", "the second axis" (translated "deuxieme axe"), "l'axe deux".
_AXIS_NUMBERS = {w: n for w, n in _ORDINALS.items() if n <= 9} | dict(
    zip(
        "deux trois quatre cinq six sept huit neuf two three four five six seven eight nine".split(),
        [*range(2, 10)] * 2,
        strict=True,
    )
)
_AXIS_IN_WORDS = re.compile(
    rf"\b(?:(?P<before>{'|'.join(w for w in _AXIS_NUMBERS if w in _ORDINALS)})\s+(?:axe|axis)|(?:axe|axis)\s+(?P<after>{'|'.join(_AXIS_NUMBERS)}))\b"
)
_SINCE = re.compile(r"\b(?:depuis|since|after|apres)\s+(?:le\s+|the\s+)?(.{4,30})$")
_REPORT = re.compile(r"\b(rapport|report|bilan|revue|review|publication|point d etape)\b")
# A clicked choice: "<intent> <kind>:<id> [<lang>]", answered without guessing.
_REF = re.compile(
    r"^(status|owner|decisions|about|list|changes) (actors|axes|objectives|decisions|councils|programmes|reports):(.+?)"
    r"(?: \[(fr|en)\])?$"
)
_CUE_WORDS = frozenset(
    """ou en est sont statut status avancement progress etat point where stand qui pilote porte gere dirige responsable who owns leads runs
    decide decision decisions decided quoi c est quest what is tell me about explain liste list quels quelles which
    objectif objectifs objective objectives conseil council cns change changed changes depuis since dernier last
    latest sur on about le la les du des de programme program programme dispositif""".split()
)
# Words a typo may be corrected to before any other (intent words, kind words, status words), in a fixed
# order: among equally near words the first wins, so French comes first ("statu" -> "statut", not "status").
CUE_VOCABULARY: tuple[str, ...] = tuple(
    dict.fromkeys(
        [
            *"""pilote porte gere dirige dirigeait preside coordonne developpe responsable objectif objectifs
            statut avancement retard decision decisions decide conseil comite programme programmes axe axes
            realise realises termine abandonne cours lancer liste quels quelles combien pourquoi quand
            changements change nouveau directeur directrice president presidente delegue deleguee successeur
            predecesseur owner leads status progress objective objectives decided council committee programme
            late where stand which list show bonjour salut hello help aide merci coute coutent cout couts montant
            budget participants echeance rouge orange vert verte red amber green colour color couleur meteo""".split(),
            # What no record states (answer/common._FACTS): a typo must not hide it ("salaore de X" is no X).
            *"""salaire salaires salary remuneration naissance joignable joindre contacter courriel telephone
            prestataire fournisseur editeur vendor supplier remplacera succedera""".split(),
            *sorted(_CUE_WORDS),
            *sorted(w for phrase in STATUS_WORDS for w in phrase.split()),
            # Council words and month names: a filter reads them as written ("Fberuary 2025", "coppils"). Not
            # the short months: "march" is one letter from "marche" too.
            *"""copil copils conseils councils comites committees reunion reunions meeting meetings steering""".split(),
            *(month for month in MONTHS if len(month) >= 6),
            *(w for _, pattern, _ in _CUES for w in re.findall(r"[a-z]{3,}", pattern.pattern)),
        ]
    )
)
# Words that name a kind of record: a candidate of the kind the question names ranks first among near-equals.
KIND_WORDS: dict[str, frozenset[str]] = {
    "objectives": frozenset({"objectif", "objectifs", "objective", "objectives", "engagement", "engagements"}),
    "decisions": frozenset({"decision", "decisions", "decide", "decided", "arbitrage"}),
    "councils": frozenset({"conseil", "conseils", "council", "councils", "comite", "committee", "copil", "reunion"}),
    "programmes": frozenset({"programme", "programmes", "program", "programs", "dispositif", "projet", "project"}),
    "actors": frozenset({"qui", "who", "agence", "agency", "direction", "organisme", "institution"}),
    "axes": frozenset({"axe", "axes", "axis"}),
}
# Short names that are also everyday words: they count only when written in capitals ("HAS", not "has").
_AMBIGUOUS = frozenset({"has", "care", "mes", "ans", "est", "data", "sante", "ins", "ars", "on", "hop", "pro"})
# Of those, the English words French never writes: in a French question they are the names ("le budget care").
_ENGLISH_ONLY = frozenset({"has", "care"})
KIND_ORDER = ("actors", "programmes", "councils", "axes", "objectives", "decisions", "reports")


@dataclass
class Candidate:
    kind: str
    id: str
    score: float
    matched: str = ""
    how: str = ""


@dataclass
class Question:
    raw: str
    text: str
    folded: str
    lang: str
    cues: set[str] = field(default_factory=set)
    objective: str | None = None
    council: int | None = None
    latest_council: bool = False
    axis: str | None = None
    status: str | None = None
    since: str | None = None
    mentions_report: bool = False
    when: str | None = None
    names_council: bool = False
    ref: tuple[str, str, str] | None = None
    plain: str = ""  # the question folded only (no expansion, no correction): names are looked up in both
    corrected: str = ""  # the question corrected but no short form expanded: names are looked up in it too
    translated: list[str] = field(default_factory=list)  # an English question's words in French (the lexicon)
    cue_scores: dict[str, float] = field(default_factory=dict)
    kinds: set[str] = field(default_factory=set)  # kinds of record the question names
    unknown: set[str] = field(default_factory=set)  # long words no vocabulary knows, even after correction
    proper: list[str] = field(default_factory=list)  # words written as proper names ("Bretagne"), folded
    # List filters (read by `_list_filters`): a traffic-light colour ("en rouge", "amber", "sans météo": 'none'),
    # a due period ("échéance T4 2025": first and last day) and "what does X own" (the actor is the subject).
    colour: str | None = None
    due: tuple[str, str] | None = None
    owned: bool = False
    decision_status: str | None = None  # a decision's status word ("ajournées", "actées ou entérinées")

    frame: frozenset[str] = frozenset()  # words of the status or changes phrase ("how far along", "on track")

    @property
    def content_words(self) -> list[str]:
        return _content(self.translated or self.folded.split(), self.frame)

    @property
    def own_words(self) -> list[str]:
        """Content words in the asker's own language (English aliases are matched on these)."""
        return _content(self.folded.split(), self.frame)


def _frame_words(m: re.Match[str]) -> list[str]:
    """The words of a cue's phrase, less those of its gaps (`gap…` groups: the topic inside the phrase)."""
    text = m[0]
    for name, gap in m.groupdict().items():
        if name.startswith("gap") and gap:
            text = text.replace(gap, " ", 1)
    return text.split()


def _content(words: list[str], frame: frozenset[str] = frozenset()) -> list[str]:
    kept = (w for w in words if w not in STOPWORDS and w not in _CUE_WORDS and w not in frame and len(w) > 1)
    return list(dict.fromkeys(w for w in kept if not _ORDINAL.match(w)))


# "12th", "2e", "n2" (n° 2): a council's number, read apart.
_ORDINAL = re.compile(r"^(\d{1,2}(e|eme|er|ere|th|st|nd|rd)|no?\d{1,2})$")


def _axis_in_figures(folded: str) -> str:
    """ "le deuxième axe", "the second axis", "l'axe deux" as "axe 2", "axis 2": how records name an axis."""

    def figures(m: re.Match[str]) -> str:
        word = "axis" if "axis" in m[0] else "axe"
        return f"{word} {_AXIS_NUMBERS[m['before'] or m['after']]}"

    return _AXIS_IN_WORDS.sub(figures, folded)


def understand(raw: str, reader: Reader | None = None) -> Question:
    """What is asked: normalised words, intent cues, numbers and filters (records come later, from `resolve`).

    With a reader, typos are corrected against that knowledge's own words too; without, against the cue words.
    """
    text = clip(strip_mentions(raw or ""), MAX_QUESTION)
    plain = fold(text)
    q = Question(raw=raw or "", text=text, folded=plain, lang=guess_language(text), plain=plain)
    if m := _REF.match(text.strip()):
        q.ref = (m[1], m[2], m[3])
        q.lang = m[4] or q.lang
        q.cues.add(m[1])
        return q
    vocab = vocabulary(reader, CUE_VOCABULARY)
    q.folded = folded = _axis_in_figures(normalise(text, vocab))
    q.corrected = _axis_in_figures(normalise(text, vocab, expand=False))
    if q.lang == "en":
        q.translated = translate(folded.split(), vocab, keep=_CUE_WORDS)
    q.unknown = {w for w in folded.split() if len(w) >= tuning.TRIGRAMS_FROM and w.isalpha() and w not in vocab.known}
    q.proper = _proper_names(text, folded, vocab, reader)
    # Intent is read with the knowledge's own short names unexpanded; search reads them expanded too.
    named = vocab.names.intersection(plain.split())
    cue_text = normalise(text, vocab, expand_names=False) if named else folded
    frame: set[str] = set()
    for cue, pattern, weight in _CUES:
        if found := list(pattern.finditer(cue_text)):
            q.cue_scores[cue] = q.cue_scores.get(cue, 0.0) + weight
            # How the question asks, not what about: no record holds these words (what it asks about may sit
            # inside the phrase: "where does the Vitale card app stand").
            if cue in _FRAMING_CUES:
                frame.update(w for m in found for w in _frame_words(m))
    frame.update(w for m in _FACT_FRAME.finditer(cue_text) for w in m[0].split())
    frame.update(w for m in _ASPECT_FRAME.finditer(cue_text) for w in m[0].split())
    if "status" in q.cue_scores and (progress := [w for m in _PROGRESS_NOUNS.finditer(cue_text) for w in m[0].split()]):
        frame.update([*progress, "deploiement"])  # "where does the MFA rollout stand", and its French reading
    q.frame = frozenset(frame)
    q.cues = {cue for cue, score in q.cue_scores.items() if score >= tuning.CUE_AT}
    words = set(folded.split())
    q.kinds = {kind for kind, names in KIND_WORDS.items() if words & names}
    dotted = _DOTTED_NUMBER.sub("dotmark", text)
    normalised_dotted = normalise(dotted, vocab).replace("dotmark", ".") if dotted != text else folded
    if m := _OBJECTIVE.search(_dotted(text)) or _OBJECTIVE.search(normalised_dotted):
        q.objective = m[1].replace("-", ".")
    elif m := _OBJECTIVE_RAW.search(text):
        q.objective = m[1]
    if m := _COUNCIL_NUMBER.search(folded):
        q.council = int(m[1] or m[2])
    else:
        for word, number in _ORDINALS.items():
            if re.search(rf"\b{word}\s+({_COUNCIL_WORDS})\b", folded):
                q.council = number
    q.latest_council = bool(_LATEST_COUNCIL.search(folded))
    q.names_council = bool(re.search(rf"\b({_COUNCIL_WORDS})\b", folded))
    q.when = _when(folded)
    if m := _AXIS.search(folded):
        q.axis = m[1]
    q.status = _status_filter(folded) or _status_filter(plain)  # as typed too: "closed" may become "close"
    q.colour, q.due, q.owned = _list_filters(f"{plain} | {folded}")
    q.decision_status = _decision_filter(folded)
    q.mentions_report = bool(_REPORT.search(folded))
    if m := _SINCE.search(folded):
        q.since = _date_in(m[1])
    return q


_DOTTED_NUMBER = re.compile(r"(?<=\d)\.(?=\d)")
_TITLE_WORD = re.compile(
    rf"(?<![\w])([A-ZÀ-Ý][a-zà-ÿ]{{{tuning.PROPER_FROM - 1},}})(?=['’]s\b|[^\w'’-]|$)"
)  # "Sweden's"


def _proper_names(text: str, folded: str, vocab: Vocabulary, reader: Reader | None) -> list[str]:
    """Words the asker wrote as proper names ("l'ARS Bretagne", "Marc Lefebvre"), folded and corrected: a record
    answering the question must hold each of them. Not the first word (capital by habit), not a month.

    In an all-capitals question case tells nothing, so a word is a name when the knowledge writes it only as one
    ("BRUMEPORT") or when no vocabulary knows it, even corrected ("BRETAGNE", "LEFÉBURE").
    """
    if all_capitals(text):
        names = proper_words(reader)
        words = folded.split()
        # An English name of one of them counts too ("THREE RIVERS", the lexicon's "trois rivieres").
        table = english()
        named = {
            i + k
            for size in (4, 3, 2)
            for i in range(len(words) - size + 1)
            if names.intersection(table.get(" ".join(words[i : i + size]), "").split())
            for k in range(size)
        }
        found = [
            w
            for i, w in enumerate(words[1:], 1)
            if len(w) >= tuning.PROPER_FROM and w.isalpha() and (i in named or w in names or not vocab.everyday(w))
        ]
    else:
        titled = [m for m in _TITLE_WORD.finditer(text) if m.start() > 0 and text[: m.start()].strip()]
        found = [_as_corrected(fold(m[1]), vocab, reader) for m in titled]
    return [
        w
        for w in dict.fromkeys(found)
        if w not in STOPWORDS and w not in _CUE_WORDS and w not in MONTHS and w not in _COUNTRY
    ]


# The country every record is in ("combien de GRADeS en France ?", "the French delegation"): it narrows nothing.
_COUNTRY = frozenset("france french francais francaise".split())


def _as_corrected(word: str, vocab: Vocabulary, reader: Reader | None) -> str:
    """A proper name corrected as the rest of the question is ("Brmueport" -> "brumeport"), when one word
    comes back (a short form that expands to several stays as written); a name the knowledge writes as one
    first ("Prvot" is "prevot", not "pivot")."""
    if word not in vocab.known and len(word) >= tuning.CORRECT_FROM:
        limit = 1 if len(word) < tuning.TWO_EDITS_FROM else 2
        near = process.extractOne(word, proper_words(reader), scorer=OSA.distance, score_cutoff=limit)
        if near:
            return near[0]
    corrected = normalise(word, vocab).split()
    return corrected[0] if len(corrected) == 1 else word


def _dotted(text: str) -> str:
    """Folded text that keeps dots inside numbers (objective ids such as 2.1)."""
    return re.sub(r"[^\w.#]+", " ", fold(text.replace(".", "DOTMARK")).replace("dotmark", "."))


# Every status phrase of 4+ letters in one pattern (one regex per phrase cost a millisecond per question).
_STATUS_PHRASES = re.compile(
    r"\b("
    + "|".join(re.escape(p) for p in sorted((p for p in STATUS_WORDS if len(p) > 3), key=len, reverse=True))
    + r")(?:s|es)?\b"
)


# "Ça fait combien d'objectifs", "cela fait quel %": "that makes", never the status "fait".
_MAKES = re.compile(r"\b(ca|cela|ce qui|ce qu) fait\b")


def _status_filter(folded: str) -> str | None:
    """The status the question filters on; the longest status phrase wins ("en cours" over "cours")."""
    found = [m[1] for m in _STATUS_PHRASES.finditer(_MAKES.sub(" ", folded))]
    return STATUS_WORDS[max(found, key=len)] if found else None


# --- list filters -----------------------------------------------------------------------------------------
# Read on the question as typed and as normalised (joined by " | "), since a correction may bend a word
# ("arrive" -> "arrivee"). Whether they filter a list is the router's call (knowledge/answer/filters.py).
_COLOURS = (
    (
        "none",
        re.compile(
            r"\b(sans|pas de|aucune?|no|without( a)?)( (couleur|meteo|weather|colour|color))\b|"
            r"\b(meteo|couleur|weather|colour|color) (non|pas|not) (renseigne\w*|indique\w*|set|given)"
        ),
    ),
    ("red", re.compile(r"(?<!croix )\b(rouges?|red)\b")),
    ("orange", re.compile(r"\b(oranges?|amber|ambre|jaunes?|yellow|vigilance)\b")),
    ("green", re.compile(r"\b(verts?|vertes?|green)\b")),
)
# A due date asked: the word, then a period parse_when reads ("S1 2026", "fin 2025", "summer 2025", "2024").
_DUE_WORDS = re.compile(
    r"\b(echeances?|due|deadlines?|doi(t|vent) (finir|finis|fini|se terminer|aboutir|etre (fini|termine)\w*)|"
    r"(se )?termine(nt)? en|finir en|ends?|ending|tombe\w*|arrive\w* a (echeance|terme)|prevue?s? (pour|en|fin)|"
    r"expected (by|in)|planned for)\b"
)
_YEAR = re.compile(r"\b(19|20)\d\d\b")
# "Ce que porte X", "X pilote quoi", "what does X own", "sur quoi bosse X": the objectives X owns.
_OWNED = re.compile(
    r"\b(pilote|porte|gere|mene|dirige|coordonne|finance)\s+quoi\b|"
    r"\bce (que|qu|qu il|qu elle) (porte|pilote|gere|mene|coordonne)\b|"
    r"\bsur quoi (bosse|travaille|planche)\w*|"
    # "Les objectifs qui ont la DNS comme porteur", "with the ANS as lead": the actor named as their owner.
    r"\b(comme|en tant que|pour|as|as the|with the) (porteur|porteuse|pilote|owner|lead|leader)s?\b|"
    r"\bwhat (does|do|is|are)\b.{1,60}?\b(own|lead|run|carry|manage|pilot|in charge of|responsible for|"
    r"working on|work on)\b|"
    r"\bwhich\b.{0,30}?\b(objectives|projects|programmes|programs) (does|do)\b.{1,60}?\b(own|lead|run|carry|manage|pilot)\b"
)


def _list_filters(text: str) -> tuple[str | None, tuple[str, str] | None, bool]:
    """The colour, due period and "what does X own" a question asks, wherever it asks them."""
    colour = next((name for name, pattern in _COLOURS if pattern.search(text)), None)
    due = None
    if _DUE_WORDS.search(text):
        words = text.split(" | ")[-1].split()
        for i, word in enumerate(words):
            if _YEAR.fullmatch(word):
                end = i + 2 if i + 1 < len(words) and _YEAR.fullmatch(words[i + 1]) else i + 1  # "2025-2026"
                if when := _period(words[max(0, i - 4) : end]):
                    due = when
                    break
    return colour, due, bool(_OWNED.search(text))


# Decision status words a question filters on, agreed with the noun ("actées", "ajournée"); words that mostly
# mean deciding itself ("décidé", "annoncé", "arbitré") or other things ("information", "fait") are left out.
_NOT_DECISION_FILTERS = frozenset(
    "decide decided arbitre annonce announced communique information noted fait realise termine execute "
    "en cours ongoing in progress in_progress done completed achieved atteint retenu non retenu favorable "
    "presente point d etape a revoir confirme confirmed signe signed vote".split(" ")
)
_DECISION_PHRASES = re.compile(
    r"\b("
    + "|".join(
        re.escape(p)
        for p in sorted(
            (p for p in DECISION_WORDS if len(p) > 3 and p not in _NOT_DECISION_FILTERS), key=len, reverse=True
        )
    )
    + r")(?:s|e|es)?\b"
)


def _decision_filter(folded: str) -> str | None:
    """The decision status the question filters on (its bucket); the longest phrase wins."""
    found = [m[1] for m in _DECISION_PHRASES.finditer(folded)]
    return DECISION_WORDS[max(found, key=len)] if found else None


def _period(words: list[str]) -> tuple[str, str] | None:
    """The longest tail of `words` that reads as a period ("the end of 2025" -> "end of 2025")."""
    for start in range(len(words)):
        try:
            when = parse_when(" ".join(words[start:]))
        except ValueError:
            continue
        if when:
            return when.start, when.end
    return None


def _date_in(text: str) -> str | None:
    words = text.split()
    for size in range(min(4, len(words)), 0, -1):
        chunk = " ".join(words[:size])
        try:
            if size == 1 and chunk in MONTHS:
                continue
            return parse_date(chunk)
        except ValueError:
            continue
    return None


def _ngrams(words: list[str], longest: int = 5) -> list[str]:
    grams = []
    for size in range(min(longest, len(words)), 0, -1):
        grams += [" ".join(words[i : i + size]) for i in range(len(words) - size + 1)]
    return grams


def _capitals(word: str, raw: str) -> bool:
    """The asker wrote this short word as an acronym ("HAS", "ARS")."""
    return len(word) >= 2 and re.search(rf"\b{re.escape(word.upper())}\b", raw) is not None


def _visible(name: str, raw: str, lang: str = "en") -> bool:
    """An ambiguous short name counts only when the asker wrote it in capitals (also glued: "lANS"); in an
    all-capitals question, where it reads as a name ("QUI DIRIGE L'ANS", not "HAS THE WAREHOUSE STARTED"). An
    English word French never writes counts however a French question writes it ("le budget care")."""
    if name not in _AMBIGUOUS or (lang == "fr" and name in _ENGLISH_ONLY):
        return True
    # After an elided "l'" however written ("lans", "l'ars"): no everyday word stands there, the name does.
    if re.search(rf"(?<![^\W\d_])l['’]?{re.escape(name)}(?![^\W\d_])", fold_accents(raw).lower()):
        return True
    if all_capitals(raw):
        return acronym_in_capitals(name, raw)
    written = [w for w in re.findall(r"[^\W_]+", raw) if fold(w) == name]
    if any(sum(c.isupper() for c in w) >= 2 for w in written):
        return True
    return re.search(rf"(?<![A-Z]){re.escape(name.upper())}(?![^\W\d_])", fold_accents(raw)) is not None


def coverage_of(words: set[str] | list[str], haystack: set[str] | frozenset[str]) -> float:
    """Share of the question's words found in a text.

    A word counts 1 when the text has it (singular or plural), 3/4 when the text has it with a typo,
    1/2 when the text only shares its first letters. A frozenset haystack (a record's words, `Reader.
    record_words`) has its stems and word starts kept between calls: a record is checked by several rules.
    """
    if not words:
        return 0.0
    kept = isinstance(haystack, frozenset)
    stems = _stems_of(haystack) if kept else set(stem_all(haystack))
    starts: frozenset[str] | set[str] | None = None  # built when first needed
    score = 0.0
    for w in words:
        if w in haystack or _stem(w) in stems:
            score += 1
        elif len(w) >= 5 and process.extractOne(w, haystack, scorer=fuzz.ratio, score_cutoff=80):
            score += 0.75
        elif len(w) >= 4:
            if starts is None:
                starts = _starts_of(haystack) if kept else _starts(haystack)
            # A text word starts like this one (5 letters, or all 4), or is a 4+ letter start of it.
            if w[:5] in starts or any(w[:n] in haystack for n in range(4, len(w))):
                score += 0.5
    return score / len(words)


def held_whole(words: list[str], haystack: frozenset[str]) -> int:
    """How many of the words a record's words hold as they are, or as a plural or singular (no typo)."""
    stems = _stems_of(haystack)
    return sum(w in haystack or _stem(w) in stems for w in words)


def _starts(haystack: set[str] | frozenset[str]) -> set[str]:
    """The first 4 and 5 letters of the text's words."""
    return {h[:n] for h in haystack for n in (4, 5) if len(h) >= n}


# A record's words are checked by several rules per question, and a long record's stems cost milliseconds: kept
# for the records of the last questions (each cache at most a few MB).
@lru_cache(maxsize=1024)
def _stems_of(haystack: frozenset[str]) -> frozenset[str]:
    return frozenset(stem_all(haystack))


@lru_cache(maxsize=1024)
def _starts_of(haystack: frozenset[str]) -> frozenset[str]:
    return frozenset(_starts(haystack))


def _stem(word: str) -> str:
    """Snowball's French stem ('cardiaques' -> 'cardiaqu', 'hopitaux' -> 'hopital')."""
    return stem(word)


_MONTH_YEAR = re.compile(rf"\b(?:({'|'.join(sorted(MONTHS, key=len, reverse=True))}) )?((?:19|20)\d\d)\b")


def _when(folded: str) -> str | None:
    """The first 'month year' or year in the question, as an ISO prefix ('2022-12', '2025')."""
    if m := _MONTH_YEAR.search(folded):
        return f"{m[2]}-{MONTHS[m[1]]:02d}" if m[1] else m[2]
    return None


def _name_words(name: str) -> set[str]:
    """A name's words, and for a short form of the abbreviation table the words of its expansion."""
    entry = abbreviations().get(name)
    return set(name.split()) | (set(entry.expansion.split()) if entry else set())


def resolve(q: Question, reader: Reader, kinds: tuple[str, ...] = KIND_ORDER) -> list[Candidate]:
    """Records the question names, best first: exact names and ids, then typo-tolerant, then full text.

    Names are looked up in the question as normalised and as typed (a short form may itself be a name); an
    English question is searched with its French translation too. A record of a kind the question names gets a
    small lead over near-equals.
    """
    words = q.folded.split()
    found: dict[tuple[str, str], Candidate] = {}

    def offer(kind: str, rid: str, score: float, matched: str, how: str) -> None:
        if kind not in kinds:
            return
        if kind in q.kinds:
            score += tuning.KIND_BONUS
        key = (kind, rid)
        if key not in found or found[key].score < score:
            found[key] = Candidate(kind, rid, score, matched, how)

    grams = [g for g in _ngrams(words, 8) if not g.isdigit() and (g not in STOPWORDS or _capitals(g, q.raw))]
    for other in {q.plain, q.corrected} - {q.folded}:
        grams += [g for g in _ngrams(other.split(), 8) if not g.isdigit() and g not in STOPWORDS]
    grams = list(dict.fromkeys(grams))
    content = q.content_words
    own = q.own_words
    exact = [row for row in reader.names(grams[:300]) if _visible(row["name"], q.raw, q.lang)]
    for row in exact:
        # A name inside a longer matched name ("MES" in "A1-MES-DOCS") is not a second candidate.
        if any(f" {row['name']} " in f" {other['name']} " and other["name"] != row["name"] for other in exact):
            continue
        length_bonus = min(len(row["name"]), 30) / 600
        # A short name that covers little of a long question ("CNS" in "programme de travail 2026 du CNS")
        # leaves room for a record that matches all of it.
        share = min(1.0, len(row["name"].split()) / max(1, len(own)))
        offer(row["kind"], row["id"], 0.86 + 0.07 * share + length_bonus, row["name"], "exact")
    # The most question words one exact name covers, and that name's best score (see "more specific" below).
    # A short form covers the words it was expanded into ("RSSI" covers "responsable ... information").
    exact_words = max((len(_name_words(row["name"]) & set(own)) for row in exact), default=0)
    exact_best = max((c.score for c in found.values() if c.how == "exact"), default=0.0)
    if own:
        # Numbers are never fuzzy: "France 2023" is not "France 2030".
        # Words already matched exactly need no typo tolerance.
        matched = {w for row in exact for w in row["name"].split()}
        fuzzy_grams = [
            g
            for g in _ngrams([w for w in own if w not in matched], 3)
            if len(g) >= 5 and not any(c.isdigit() for c in g)
        ][:24]
        for gram in fuzzy_grams:
            for name, score, kind, rid in reader.fuzzy_names(gram, cutoff=84, limit=3):
                offer(kind, rid, 0.6 + (score - 84) / 16 * 0.33, name, "fuzzy")
    if content:
        record_kinds = tuple(k for k in kinds if k != "passages")
        asked = list(dict.fromkeys(content + own))
        hits = reader.search_text(" ".join(asked), limit=12, kinds=record_kinds)
        # Typo-tolerant recall: a long word that no vocabulary knows, even after correction, is looked up by
        # its trigrams (rare, and a trigram search costs milliseconds on a large knowledge base).
        for word in sorted(q.unknown)[:2]:
            hits += reader.search_trigrams(word, limit=4, kinds=record_kinds)
        readings = [set(content), set(own)] if q.translated else [set(content)]
        for hit in hits:
            haystack = set(fold(f"{hit['title']} {hit.get('heading', '')}").split())
            title_words = set(stem_all([w for w in haystack if w not in STOPWORDS]))
            best = 0.0
            for wanted in readings:
                coverage = coverage_of(wanted, haystack)
                # A long title that merely contains the question ranks below a name that is the question.
                stems = set(stem_all(wanted))
                precision = len(title_words & stems) / max(1, len(title_words))
                weight = (0.55 if len(wanted) >= 3 else 0.45) * (0.7 + 0.3 * precision)
                best = max(best, weight * coverage)
            score = 0.35 + best
            # More specific than an exact name that covers part of the question: a record whose title holds
            # nearly all of the question's words, more than that name does ("les automates du laboratoire" is
            # the objective, not the laboratory).
            if exact_best and own:
                covered = coverage_of(own, haystack)
                if covered >= tuning.SPECIFIC_COVERAGE and covered * len(own) >= exact_words + 1:
                    score = max(score, exact_best + tuning.SPECIFIC_LEAD)
            offer(hit["kind"], hit["id"], score, hit["title"], "text")
        if "owner" in q.cues or _WHO.intersection(words):  # "le RSSI du GH3R c'est qui"
            # An English name of the organisation ("at Three Rivers") names it for this rule only: as a
            # candidate, a name found through the lexicon would answer questions about what it does not hold.
            english_named = [r for r in reader.names(_translated_names(q, words)) if r["kind"] == "actors"]
            lead = exact_best or max((0.86 + min(len(r["name"]), 30) / 600 for r in english_named), default=0.0)
            readings = [own, content] if q.translated else [own]
            if lead:
                _prefer_unit_holding_the_title(reader, hits, exact + english_named, readings, offer, lead)
    ranked = sorted(found.values(), key=lambda c: (-c.score, KIND_ORDER.index(c.kind) if c.kind in KIND_ORDER else 9))
    return ranked


_WHO = frozenset({"qui", "who", "whos"})
# Words that ask for whoever heads a unit, whatever their title says ("chef", "head", "runs").
_POST_WORDS = frozenset(
    "chef chefs head heads leads lead runs run directeur directrice director responsable patron boss dirige".split()
)


def _translated_names(q: Question, words: list[str]) -> list[str]:
    """An English question's proper names in the lexicon's French ("Three Rivers" is "trois rivieres", an alias
    of the group): looked up as names too. Only names written as such, so everyday phrases stay English."""
    if not (q.translated and q.proper):
        return []
    table = english()
    return [
        table[g]
        for size in (4, 3, 2)
        for i in range(len(words) - size + 1)
        if (g := " ".join(words[i : i + size])) in table and set(q.proper) & set(words[i : i + size])
    ]


def _prefer_unit_holding_the_title(
    reader: Reader,
    hits: list[dict],
    exact: list[dict[str, str]],
    readings: list[list[str]],
    offer: Callable[[str, str, float, str, str], None],
    exact_best: float,
) -> None:
    """ "Qui est la directrice du numérique des Trois-Rivières": the unit under the named organisation whose
    person holds that title (the digital department), not the organisation itself.

    The unit must sit under the exactly named actor (through `parent`, or in the plan that actor heads: a
    group's units are often listed without one) and one of its people's titles must hold the question's other
    words, in one reading (an English question's own words or their French).
    """
    named_ids = {row["id"] for row in exact if row["kind"] == "actors"}
    for named in (row for row in exact if row["kind"] == "actors"):
        head = reader.record("actors", named["id"])
        # Its names in either language ("Three Rivers hospital group" is "groupe hospitalier des Trois-Rivières").
        names = {w for row in exact if row["id"] == named["id"] for w in row["name"].split()} | {
            w for n in (name_phrases("actors", head) if head else []) for w in n.split()
        }
        # What is asked besides that organisation, in words some record's name uses ("when did X start": not
        # "when", "start"); a post alone ("who heads the lab") is the named organisation's own head.
        topic = reader.name_words()
        rests = [
            rest
            for words in readings
            if (rest := [w for w in words if w not in names and (w in topic or w in _POST_WORDS)])
        ]
        rests = [rest for rest in rests if any(w not in _POST_WORDS for w in rest)]
        if not rests:
            continue
        for hit in hits:
            if hit["kind"] != "actors" or hit["id"] in named_ids:  # a unit named by its name needs no lead
                continue
            record = reader.record("actors", hit["id"])
            if record is None or not (_under(reader, record, named["id"]) or _in_plan_of(record, head)):
                continue
            titles = [set(fold(person.get("title", "")).split()) for person in record.get("people") or []]
            # "who heads nursing at Three Rivers": the post asked in general words, the unit by its own names.
            unit_names = {w for n in name_phrases("actors", record) for w in n.split()}
            if titles and any(
                coverage_of([w for w in rest if w not in _POST_WORDS] or rest, unit_names) >= tuning.SPECIFIC_COVERAGE
                for rest in rests
            ):
                titles.append(unit_names | _POST_WORDS)
            if any(coverage_of(rest, title) >= tuning.SPECIFIC_COVERAGE for rest in rests for title in titles):
                offer("actors", hit["id"], exact_best + tuning.UNIT_LEAD, hit["title"], "text")


def _in_plan_of(record: dict, head: dict | None) -> bool:
    """The actor is listed in the plan whose top organisation (no parent) is `head`: same roadmap and source."""
    if head is None or head.get("parent") or not head.get("source_title"):
        return False
    return (record.get("roadmap"), record.get("source_title")) == (head.get("roadmap"), head.get("source_title"))


def _under(reader: Reader, record: dict, ancestor: str, depth: int = 4) -> bool:
    """The actor sits under `ancestor` (its parent, or its parent's parent...)."""
    parent = record.get("parent")
    for _ in range(depth):
        if not parent:
            return False
        if parent == ancestor:
            return True
        above = reader.record("actors", parent)
        parent = above.get("parent") if above else None
    return False
