"""Normalising the words admins write: statuses, decisions and dates, in French or English.

A status or decision keeps the source's own word (shown in answers) and gets a canonical bucket (used by
filters and "what changed"). docs/sources.md lists every word; a source may teach more (`vocabulary:`).
"""

from __future__ import annotations

import calendar
import itertools
import re
from dataclasses import dataclass

from .text import fold

__all__ = [
    "Vocabulary",
    "normalize_status",
    "normalize_decision",
    "parse_date",
    "parse_when",
    "When",
    "STATUS_WORDS",
    "SOURCE_STATUS_WORDS",
    "DECISION_WORDS",
    "LATE_BUCKETS",
    "MONTHS",
]


def key_of(word: str) -> str:
    """How a word is looked up: folded, with the ligatures French writes ("mise en œuvre")."""
    return fold(word.replace("œ", "oe").replace("Œ", "Oe").replace("æ", "ae"))


def _table(groups: dict[str, str]) -> dict[str, str]:
    table: dict[str, str] = {}
    for canonical, words in groups.items():
        for word in words.split("|"):
            table[key_of(word)] = canonical
    return table


# Objective statuses. Buckets: not_started, in_progress, late (behind, at risk, amber or red on a dashboard),
# on_hold (suspended, waiting: nobody is late on purpose), postponed (a new date was set), done, dropped.
# An unknown word is an error, never a guess.
SOURCE_STATUS_WORDS: dict[str, str] = _table(
    {
        "not_started": "not started|not_started|todo|to do|planned|pending|a lancer|a venir|non demarre|"
        "non commence|pas commence|prevu|a demarrer|not yet started|non lance|pas encore lance|pas demarre|"
        "a engager|a initier|en projet|envisage|backlog|scheduled|gris|grey|gray",
        "in_progress": "in progress|in_progress|ongoing|started|underway|en cours|demarre|engage|en progression|"
        "en cours de realisation|en cours de deploiement|active|lance|initie|amorce|en bonne voie|on track|"
        "dans les temps|conforme|en avance|ahead of schedule|vert|green|en deploiement|en phase pilote|"
        "en experimentation|piloting|en preparation|in preparation|rolling out|en cours de mise en oeuvre|"
        "partiellement atteint|partiellement realise|partially achieved|partially done|partially met",
        "late": "late|delayed|behind|behind schedule|overdue|at risk|en retard|retarde|en difficulte|a risque|"
        "decale|orange|amber|jaune|yellow|rouge|red|off track|en alerte|alerte|sous vigilance|vigilance|"
        "critique|critical|bloque|blocked|en glissement|slipping",
        "on_hold": "on hold|on_hold|suspended|paused|suspendu|en pause|en attente|en veille|gele|frozen|"
        "en suspens|mis en attente|standby|stand by|waiting|awaiting|interrompu|interrupted",
        "postponed": "postponed|reporte|ajourne|deferred|rescheduled|replanifie|reprogramme|repousse|differe|"
        "pushed back",
        "done": "done|completed|complete|achieved|finished|delivered|met|realise|atteint|termine|acheve|"
        "fait|livre|accompli|deploye|finalise|clos|cloture|closed|operationnel|generalise|en production|"
        "in production|mis en oeuvre|implemented|bleu|blue",
        "dropped": "dropped|abandoned|cancelled|canceled|stopped|abandonne|annule|arrete|supprime|retire|"
        "withdrawn|renonce|sans suite|classe sans suite|descoped|hors perimetre|out of scope|non retenu",
    }
)

# Words a question may use to filter objectives ("objectifs suspendus"). Colours and everyday verbs
# ("lancé", "vert", "orange", "clos") are left out: in a question they name other things far more often.
# "Closed" stays a filter: English has no other everyday sense of it in these questions ("what's closed?").
_NOT_FILTERS = frozenset(
    fold(w)
    for w in "vert|green|orange|amber|jaune|yellow|rouge|red|bleu|blue|gris|grey|gray|lance|initie|amorce|clos|"
    "conforme|critique|critical|alerte|vigilance|envisage|en projet|scheduled|retire|operationnel|"
    "generalise|implemented|mis en oeuvre|en production|in production|waiting|en preparation|in preparation|"
    "differe".split("|")
)
# Words only a question uses for a status, negations first ("hasn't started" is not "started").
_QUESTION_STATUS_WORDS = _table(
    {
        "not_started": "hasn t started|has not started|haven t started|have not started|not started yet|"
        "hasnt started|havent started|hasn t begun|has not begun|hasnt begun|"
        "still to launch|still to start|yet to start|yet to be launched|pas encore demarre|pas encore commence|"
        "pas encore lance|reste a lancer|restent a lancer",
        "postponed": "put off|pushed back|been delayed to|remis a plus tard",
        "done": "finalised|finalized|already closed|already done|deja clos|deja cloture|deja clotures|deja fait|deja faits|deja termine",
    }
)
STATUS_WORDS: dict[str, str] = {
    **{w: c for w, c in SOURCE_STATUS_WORDS.items() if w not in _NOT_FILTERS},
    **_QUESTION_STATUS_WORDS,
}

# What a reader calls late: behind or at risk, and postponed (the first date was missed). On hold is not late.
LATE_BUCKETS: dict[str, tuple[str, ...]] = {"late": ("late", "postponed")}

# Council decisions: their own buckets, never the objectives' words.
DECISION_WORDS: dict[str, str] = _table(
    {
        "adopted": "adopted|adopte|acte|valide|approuve|vote|enterine|arbitre|decide|retenu|accepte|agreed|"
        "approved|validated|decided|endorsed|confirmed|confirme|ratified|ratifie|signed|signe|avis favorable|"
        "favorable|accorde|granted|accepted",
        "postponed": "postponed|ajourne|reporte|deferred|adjourned|differe|renvoye|a revoir|tabled|"
        "renvoye au prochain comite|postponed to a later meeting|postponed to the next meeting|"
        "deferred to a later meeting|reporte a une prochaine seance|reporte a une seance ulterieure",
        "rejected": "rejected|rejete|refuse|refused|declined|avis defavorable|defavorable|non retenu|not adopted",
        "presented": "presented|presente|pour information|presente pour information|for information|information|"
        "noted|pris acte|prise d acte|annonce|announced|communique|point d etape",
        "in_progress": "in progress|in_progress|en cours|ongoing|en cours d instruction|a l etude|under review|"
        "en instruction",
        "done": "done|mis en oeuvre|realise|implemented|execute|completed|fait|termine|achieved|atteint",
        "dropped": "dropped|abandonne|retire|withdrawn|cancelled|canceled|annule|caduc|obsolete|lapsed",
    }
)
STATUS_BUCKETS = ("not_started", "in_progress", "late", "on_hold", "postponed", "done", "dropped")
DECISION_BUCKETS = ("adopted", "postponed", "rejected", "presented", "in_progress", "done", "dropped")


def _inflections(key: str) -> list[str]:
    """'suspendue' -> 'suspendu', 'lancees' -> 'lance', 'mise en oeuvre' -> 'mis en oeuvre': a status
    agrees with "action" or "mesures"."""
    words = key.split()
    if len(words) > 4:
        return []
    choices = [
        [w] + [w[: -len(end)] for end in ("es", "e", "s") if w.endswith(end) and len(w) > len(end) + 2] for w in words
    ]
    return [" ".join(combo) for combo in itertools.product(*choices)][1:]


@dataclass(frozen=True)
class Vocabulary:
    """The built-in words plus those a source taught (`vocabulary: {statuses: {...}, decisions: {...}}`)."""

    statuses: dict[str, str]
    decisions: dict[str, str]

    @classmethod
    def default(cls) -> Vocabulary:
        return cls(dict(SOURCE_STATUS_WORDS), dict(DECISION_WORDS))

    def status(self, value: str) -> str | None:
        return _lookup(value, self.statuses, STATUS_BUCKETS, "status", "statuses")

    def decision(self, value: str) -> str | None:
        return _lookup(value, self.decisions, DECISION_BUCKETS, "decision status", "decisions")


def _lookup(value: str, table: dict[str, str], buckets: tuple[str, ...], what: str, section: str) -> str | None:
    key = key_of(value)
    if not key:
        return None
    for candidate in (key, *_inflections(key)):
        if candidate in table:
            return table[candidate]
    if key in buckets:
        return key
    raise ValueError(
        f"unknown {what} {value.strip()!r}: add it to the source as "
        f'vocabulary: {{{section}: {{"{value.strip()}": {_closest(key, table, buckets)}}}}} '
        f"(one of {', '.join(buckets)})"
    )


def _closest(key: str, table: dict[str, str], buckets: tuple[str, ...]) -> str:
    """The bucket of the nearest known word: a suggestion to check, the admin decides."""
    from rapidfuzz import fuzz, process

    found = process.extractOne(key, list(table), scorer=fuzz.WRatio)
    return table[found[0]] if found else buckets[0]


_DEFAULT = Vocabulary.default()


def normalize_status(value: str, vocabulary: Vocabulary = _DEFAULT) -> str | None:
    """A status word to its bucket; '' -> None; unknown -> ValueError naming the line to add."""
    return vocabulary.status(value)


def normalize_decision(value: str, vocabulary: Vocabulary = _DEFAULT) -> str | None:
    """A decision's status word ("adoptée", "ajournée") to its bucket; unknown -> ValueError."""
    return vocabulary.decision(value)


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


def _exact(text: str) -> str | None:
    """A calendar date at the precision written ('2024-12-17', '2025-06', '2027'), or None."""
    if m := _ISO.match(text):
        return _iso(int(m[1]), m[2] and int(m[2]), m[3] and int(m[3]))
    if m := _DMY.match(text):
        return _iso(int(m[3]), int(m[2]), int(m[1]))
    folded = re.sub(r"^1er ", "1 ", fold(text).replace(" 1er ", " 1 "))
    if m := _WORDS.match(folded.replace(",", "")):
        day = m[1] or m[3]
        return _iso(int(m[4]), MONTHS[m[2]], int(day) if day else None)
    return None


# Periods people write for due dates: (folded pattern with the year as (\d{4}), first month, last month).
_PERIODS: list[tuple[re.Pattern[str], int, int]] = [
    (re.compile(rf"^{prefix}\s*(\d{{4}})$"), first, last)
    for prefixes, first, last in [
        ("s1|h1|1er semestre|premier semestre|first half|1st half", 1, 6),
        ("s2|h2|2e semestre|2eme semestre|second semestre|deuxieme semestre|second half|2nd half", 7, 12),
        ("t1|q1|1er trimestre|premier trimestre", 1, 3),
        ("t2|q2|2e trimestre|2eme trimestre|deuxieme trimestre", 4, 6),
        ("t3|q3|3e trimestre|3eme trimestre|troisieme trimestre", 7, 9),
        ("t4|q4|4e trimestre|4eme trimestre|quatrieme trimestre", 10, 12),
        ("debut|debut d annee|early|beginning of|start of", 1, 3),
        ("mi|milieu|mid|middle of", 5, 8),
        ("fin|fin d annee|end of|late|end", 10, 12),
        ("courant|au cours de|dans le courant de|during|in|en|d ici|by|avant fin|d ici fin", 1, 12),
        ("printemps|spring", 3, 6),
        ("ete|summer", 6, 9),
        ("automne|autumn|fall", 9, 12),
        ("hiver|winter", 1, 3),
    ]
    for prefix in [f"(?:{prefixes})"]
]
_SPAN = re.compile(r"^(\d{4})\s*(?:a|to|au)?\s*(\d{4})$")  # folded: '2025-2026' is '2025 2026'


@dataclass(frozen=True)
class When:
    """A date as written, and the first and last day it can mean (ISO)."""

    text: str
    value: str  # ISO at the precision written for a calendar date, else the text as written
    start: str
    end: str


def _last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def parse_when(value: str) -> When | None:
    """Dates as people write them: '17/12/2024', 'S1 2026', 'T4 2025', 'fin 2025', 'mi-2026', '2025-2026'.

    '' -> None; anything else unreadable -> ValueError.
    """
    text = " ".join(value.split())
    if not text:
        return None
    try:
        if iso := _exact(text):
            parts = [int(p) for p in iso.split("-")]
            year, month = parts[0], parts[1] if len(parts) > 1 else None
            first = iso if len(parts) == 3 else f"{year:04d}-{month or 1:02d}-01"
            last_month = month or 12
            last = iso if len(parts) == 3 else f"{year:04d}-{last_month:02d}-{_last_day(year, last_month):02d}"
            return When(text, iso, first, last)
        folded = fold(text)
        if m := _SPAN.match(folded):
            a, b = int(m[1]), int(m[2])
            if a <= b <= a + 20:
                return When(text, text, f"{a:04d}-01-01", f"{b:04d}-12-31")
        for pattern, first_month, last_month in _PERIODS:
            if m := pattern.match(folded):
                year = int(m[1])
                end = f"{year:04d}-{last_month:02d}-{_last_day(year, last_month):02d}"
                return When(text, text, f"{year:04d}-{first_month:02d}-01", end)
    except ValueError:
        pass
    raise ValueError(
        f"not a date: {value!r} (use 2024-12-17, 17/12/2024, '17 décembre 2024', 'S1 2026', 'T4 2025', "
        "'fin 2025' or '2025-2026')"
    )


def parse_date(value: str) -> str | None:
    """A calendar date, ISO at the precision written: '17 décembre 2024' -> '2024-12-17'; 'juin 2025' ->
    '2025-06'; '2027' -> '2027'; '' -> None. Periods ('S1 2026') are for `parse_when`: a question's "since"
    needs a day to compare.
    """
    text = value.strip()
    if not text:
        return None
    try:
        if iso := _exact(text):
            return iso
    except ValueError:
        pass
    raise ValueError(f"not a date: {value!r} (use 2024-12-17, 17/12/2024 or '17 décembre 2024')")
