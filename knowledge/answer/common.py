"""Shared by the answer renderers: result and source entries, short texts, the asked fact and topic checks."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from rapidfuzz import fuzz, process

from ..model import Answer
from ..phrases import label, say, shown_status
from ..store import Reader, title_of
from ..text import clip, fold, fold_accents
from ..tuning import ASK_AT, NAME_TYPO, TOPIC_COVERED, TOPIC_FROM, TOPIC_SPARE_FROM
from ..understand import KIND_WORDS, Candidate, Question, coverage_of
from ..vocabulary import MONTHS, STATUS_WORDS
from ..word_tables import abbreviations

# Words that frame a question rather than name its topic: kinds of record, statuses, generic nouns.
_FRAME_WORDS = frozenset().union(*KIND_WORDS.values()) | frozenset(STATUS_WORDS) | frozenset(MONTHS)
# "chez" says where ("chez nous", "chez les Trois-Rivières"), never what: no topic word, though names hold it.
_FRAME_WORDS |= {"chez"}


_NUMBER_WORD = re.compile(r"^\d+(e|eme|er|ere|th|st|nd|rd)?$")  # "2025", "14e": a date or a council number


T = TypeVar("T")


MAX_LIST = 12


PASSAGE_CHARS = 600


BRIEF_CHARS = 420


MAX_SOURCES = 4


def _holds_words(reader: Reader, c: Candidate, words: list[str]) -> bool:
    """Every word appears in the record (any field: names, aliases, people, text, references), give or take a
    typo ("Prévto" is Prévot)."""
    held = reader.record_words(c.kind, c.id)
    return all(w in held or process.extractOne(w, held, scorer=fuzz.ratio, score_cutoff=NAME_TYPO) for w in words)


def _topic_readings(q: Question, reader: Reader) -> list[list[str]]:
    """The question's words that name things the knowledge has names for (words of record names, titles and
    aliases), minus the words that frame it (kinds of record, statuses, months) and the words a short form was
    expanded into (the record may spell that short form): one list per reading (an English question's own
    words and their translation). [] when a reading has no such word: nothing to check."""
    named = reader.name_words()
    plain = q.plain.split()
    expanded = {w for short, entry in abbreviations().items() if short in plain for w in entry.expansion.split()}
    # The words that ask for a fact ("combien de millions") say what is asked, not about what.
    asking = {w for pattern, _ in _FACTS for m in pattern.finditer(q.folded) for w in m[0].split()}
    # A post asked ("the information security officer") is checked by the titles held (lacks_asked_role), not
    # as words of the record: a title may spell it short ("responsable sécurité des SI").
    asking |= _POST_WORDS if asks_role(q) else set()
    readings = [q.content_words, q.own_words] if q.translated else [q.content_words]
    found = []
    for words in readings:
        topic = [w for w in words if len(w) >= TOPIC_FROM and w in named and not w.isdigit()]
        topic = [w for w in topic if w not in _FRAME_WORDS and w not in expanded and w not in asking]
        if not topic:
            return []
        found.append(topic)
    return found


def _covers(reader: Reader, c: Candidate, readings: list[list[str]], spare: bool = True) -> bool:
    """The record holds every topic word of one reading (give or take a typo or a plural; a long topic may
    leave one word out, unless `spare` is False)."""
    held = reader.record_words(c.kind, c.id)
    return any(
        sum(coverage_of([w], held) < TOPIC_COVERED for w in words)
        <= (1 if spare and len(words) >= TOPIC_SPARE_FROM else 0)
        for words in readings
    )


def named_plan(reader: Reader, found: list[Candidate]) -> tuple[dict[str, Any], str] | None:
    """The plan a question names by its name (a programme whose name or aliases hold the label its objectives
    carry, `extra.roadmap`: "Ma santé 2022", "la feuille de route 2023-2027") and that label; else None."""
    labels = {
        fold(r["label"]): r["label"]
        for r in reader.rows("SELECT DISTINCT json_extract(extra, '$.roadmap') AS label FROM objectives")
        if r["label"]
    }
    for c in found[:3]:
        record = reader.record(c.kind, c.id) if c.kind == "programmes" and c.score >= ASK_AT else None
        names = {fold(n) for n in [str((record or {}).get("name") or ""), *((record or {}).get("aliases") or [])]}
        label = next((labels[n] for n in names if n in labels), None)
        if record and label:
            return record, label
    return None


def _intent(q: Question, kind: str) -> str:
    # A post asked of an organisation ("who is the security officer at X"): the people in it; not "what is
    # the RSSI?", a unit named by that short form.
    asked = "owner" in q.cues or (kind == "actors" and asks_role(q) and bool(_WHO.search(q.folded)))
    if asked and not (kind == "actors" and _SINCE_WHEN.search(q.folded)):  # since when: a date
        return "owner"
    if kind == "objectives":  # "son échéance ?", "c'est quoi l'objectif 4.4": that field, what it is
        return "about" if (_asked_fact(q) or "about" in q.cues) and "status" not in q.cues else "status"
    if kind == "decisions" or (kind == "councils" and "decisions" in q.cues):
        return "decisions"
    # "CaRE, ça avance ?": where the programme stands; "ça s'est terminé quand ?" asks a date its text gives.
    if kind in ("programmes", "axes") and "status" in q.cues and not _WHEN.search(q.folded):
        return "status"
    return "about"


def _in_question(pattern: re.Pattern[str], q: Question) -> re.Match[str] | None:
    """The pattern in the question as normalised, else as typed: a correction can turn a word the pattern
    needs into another ("held" into "help", "peut" into "put")."""
    return pattern.search(q.folded) or pattern.search(q.plain)


# The words a question asks with, never what it asks about (facts.py and the passages add their own).
QUESTION_WORDS = frozenset(
    "combien nombre nb number how many much quand when pourquoi why quel quelle quels quelles what which".split()
)
# Verbs of doing and auxiliaries chat questions are full of ("que fait X", "did it happen", "a été fait"): the
# topic of no record.
DOING_WORDS = frozenset(
    "fait faire font fais faits does did do done happen happened actually ete was were been has have ont eu ca".split()
)
_WHEN = re.compile(r"\b(quand|when)\b")
_NEXT = re.compile(r"\b(prochaine?s?|next|upcoming|a venir)\b")
_DAY_FIELDS = ("date", "published")  # "la date exacte": a day, not a year

# A fact a question asks for, and the record fields that hold it: a record without them cannot answer it
# ("what is the budget of the nursing department?" is not answered by the department's description). A fact
# with a shape (MONEY) is held too by a sentence of the record's text in that shape.
_FACTS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"\b(participants?|attendees?|attended|combien de (personnes|presents))\b"), ("participants",)),
    (
        re.compile(
            # "By how much did it cut X": a change, in per cent as often as in euros.
            r"\b(budget|montant|amount|cout|coute|coutent|cost|costs|(?<!by )how much|spend|spent|depense\w*|prix|price|"
            r"tarif|thunes|argent|money|combien de (millions|milliards|euros|m|md|k|meur|keur))\b"
        ),
        ("budget", "amount"),
    ),
    (re.compile(r"\b(date (exacte|precise)|exact date|precise date|quel jour|which day|what day)\b"), _DAY_FIELDS),
    (
        re.compile(
            r"\b(ou s est tenue?|ou a eu lieu|s est tenue? ou|a eu lieu ou|ca s est passe ou|dans quelle ville|"
            r"quel lieu|where was .* held|where did .* take place|which city|what venue)\b"
        ),
        ("place",),
    ),
    # "Combien de temps", "how long did it take": a duration; "depuis combien de temps", "how long has" ask a
    # start date (lacks_tenure).
    (
        re.compile(r"\b((?<!depuis )combien de temps|how long(?! (has|have|ago))|quelle duree|what duration)\b"),
        ("duration",),
    ),
    # A rate in per cent ("taux d'avancement de l'axe 3", "% des EHPAD"): an objective's progress, else a "%" said.
    (re.compile(r"\b(pourcentage|percentage|percent|pour cent|taux|rate)\b"), ("progress",)),
    (
        re.compile(
            r"\b(echeances?|deadlines?|due|pour quand|prevue?s? (pour|quand)|quand est prevue?|devait (etre )?"
            r"(fini|finie|termine|terminee|livre|livree)|date de fin|end date|"
            r"(supposed|meant|expected|scheduled|planned|set) to (end|finish|close|wrap up)|"
            r"(doit|devrait|va|est cense)( t)?( il| elle)? (se )?(terminer|finir|s achever|prendre fin))\b"
        ),
        ("due", "end"),
    ),
    # Facts no record kind holds: the question is out of scope whatever record it names.
    (
        re.compile(
            r"\b(e ?mail|mail|courriel|adresse (mail|electronique)|phone|telephone|tel|joignables?|(le|la|les) (joindre|joint)|"
            r"contacter|get in touch|reach (him|her|them)|how (can|do) (i|we) (reach|contact))\b"
        ),
        ("contact",),
    ),
    (re.compile(r"\b(salaire|salary|salaries|paid|pay|remuneration|remunere\w*|gagne combien)\b"), ("salary",)),
    # A person's private data, an opinion, a rating: no source here states them.
    (
        re.compile(
            r"\b(date de naissance|ne le|nee le|quel age|age de|how old|birthday|born|adresse postale|"
            r"postal address|home address|domicile)\b"
        ),
        ("private",),
    ),
    (
        re.compile(
            r"\b(tu penses|vous pensez|t en penses|ton avis|votre avis|what do you think|do you think|your opinion|"
            r"un succes|a success|un echec|a failure|is it good|worth it|rating|rated|quelle note|"
            r"note sur|etoiles|stars)\b"
        ),
        ("opinion",),
    ),
    (
        re.compile(
            r"\b(will replace|will succeed|va remplacer|remplacera|succedera|prochaine? (directeur|directrice|"
            r"president\w*|dg)|next (director|head|president|ceo)|who will|qui (sera|presidera|dirigera|"
            r"pilotera)|qui va (presider|diriger|piloter|remplacer|succeder|prendre la (tete|direction|presidence))|"
            r"will (chair|lead|head|run|direct))\b"
        ),
        ("successor",),
    ),
    (
        re.compile(
            r"\b(je fais comment|comment je fais|what do i do|what should i do|marche plus|fonctionne plus|"
            r"not working|doesn t work|lost my|j ai perdu|reset my|reinitialiser|how do i|how can i|can i|"
            r"comment (je|on) (peux|peut|fais|fait|obtiens|obtient|obtenir|debloque)|puis je|unlock|debloquer|"
            r"blocked|bloque|not detected|peut il|peut elle|peuvent ils|allowed to|"
            r"^(is|are) \w+( \w+)? mandatory)\b"
        ),
        ("support",),
    ),
    # "Is it mandatory for private clinics?" asks advice; "obligatoire pour alimenter le DMP depuis quand ?" a
    # date the record gives.
    (re.compile(r"^(?!.*\b(quand|when)\b).*\b(mandatory for|obligatoire pour)\b"), ("support",)),
    (_NEXT, ("next",)),  # the future: no record is dated there
    (
        re.compile(
            r"\b(sera t il|sera t elle|seront ils|seront elles|will (it|they) be|"
            r"(sera|seront|va etre|vont etre|will be) (prolonge\w*|reconduit\w*|renouvele\w*|extended|renewed))\b"
        ),
        ("next",),
    ),
    (
        re.compile(
            # "Envoie-moi le PDF", not "envoyer son ordonnance au pharmacien" (a service the record tells of).
            r"\b(pdf|(m|me l|nous) envoyer|envoie(z)? (moi|nous)|send me|texte officiel|pv officiel|quel numero|annexe \d+|article \d+|"
            r"criteres d eligibilite|eligibility criteria)\b"
        ),
        ("document",),
    ),
    # A product, its maker or host: no record kind has a field for them (a text naming one says "éditeur").
    (
        re.compile(
            r"\b(marques?|brand|vendors?|editeurs?|fournisseurs?|prestataires?|suppliers?|hebergeur|hosting provider|"
            r"(which|what)( \w+)? host|"
            r"quel (dpi|logiciel|outil|produit)|which (dpi|software|tool|product)|what (software|tool|product))\b"
        ),
        ("vendor",),
    ),
)
_MONEY_FIELDS = ("budget", "amount")
_MONEY = re.compile(r"€|\beuros?\b")  # how a text states an amount ("2,4 M€", "6,4 millions d'euros")
_VENDOR = re.compile(r"\b(editeur|fournisseur|prestataire|marque|vendor|supplier|hebergeur|heberge (par|chez))\b")
# "Quel éditeur / which host": the text must name one, a capitalised name just after the word ("hébergé chez
# Microsoft", "l'éditeur Maincare"); "un nouvel hébergeur européen (désignation en avril)" names none.
_WHICH_VENDOR = re.compile(
    r"\b(quel|quels|quelle|which|what|who)( (?P<pre>\w+))? (editeur|fournisseur|prestataire|hebergeur|vendor|supplier|host)"
    r"s?( (?P<kind>\w+))?"
)
_NAMED_VENDOR = re.compile(
    r"(?i:\b(editeur|fournisseur|prestataire|vendor|supplier|hebergeur|heberge|hebergement|hosted)s?\b)"
    r"(?:\W+(?i:[a-z]+)){0,3}?\W+[A-Z]"
)
_DAY = re.compile(
    r"\b\d{4} \d\d \d\d\b|\b\d{1,2} (1er )?(janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|"
    r"octobre|novembre|decembre|january|february|march|april|may|june|july|august|september|october|"
    r"november|december)\b"
)
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
# How a text states a duration ("pendant six ans", "sous un mois", "3 years": a record's text and a passage alike)
# and a rate in per cent.
_DURATION = re.compile(
    r"\b(\d+|un|une|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|douze|quinze|vingt|one|two|three|four|five|six|"
    r"seven|eight|nine|ten|twelve) (ans?|annees?|mois|semaines?|jours?|heures?|minutes?|years?|months?|weeks?|days?|"
    r"hours?)\b"
)
_PERCENT = re.compile(r"\d\s*%|\bpour ?cent\b|\bper ?cent\b")


# "Combien de lits", "how many pharmacists": a count a record gives only when its text puts a number by that noun.
# "Combien étaient des usagers ?", "combien sont des médecins" count those as well as "combien d'usagers".
_COUNT = re.compile(
    r"\b(?:combien (?:(?:etaient|etait|sont|est|il y a|y avait) )?(?:des |de |d )?|how many |nb (?:de |d )?|"
    r"nombre (?:de |d )?)(\w+)"
)
# A post the question asks for ("le RSSI de l'ANS") and the words of a person's title or unit that hold it: an
# organisation whose people and units hold none of them cannot say who it is. The first match wins (a RSSI's
# expansion also holds "systèmes d'information").
_ROLES: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"\b(rssi|ciso|responsable (de la )?secu\w*|security officer)\b"), ("securite", "security", "rssi")),
    (re.compile(r"\b(drh|ressources humaines|hr director|head of hr)\b"), ("ressources humaines", "rh", "drh")),
    (re.compile(r"\b(dpo|protection des donnees|data protection)\b"), ("protection des donnees", "dpo")),
    (re.compile(r"\b(daf|cfo|directeur financier|directrice financiere)\b"), ("financ", "daf")),
    (re.compile(r"\b(cio|dsi|systemes d information|chief information)\b"), ("information", "numerique", "dsi")),
    (
        re.compile(
            r"\b(chef|cheffe|head) (du |de |of )?(service )?(de )?(radiologie|radiology|cardiologie|urgences)\b"
        ),
        ("radiolog", "cardiolog", "urgences"),
    ),
)


_WHO = re.compile(r"\b(qui|who|whos)\b")
# The words posts are named with, in both languages (their short forms expand to these).
_POST_WORDS = frozenset(
    "responsable securite security systemes systems information officer chief ressources humaines rh hr "
    "protection donnees data financier financiere director directeur directrice head".split()
)


_PREDECESSOR = re.compile(
    r"\b(predecesseur|predecessor|qui etait avant|et avant|avant (lui|elle)|before (him|her)|who was .* before|"
    r"a qui a succede|who did .* (replace|succeed)|(qui etait|c etait qui|who ran|who led|who headed) .*\b(avant|before)|"
    # "Qui dirigeait X avant Y", "who was running X before Y": a verb in the past, then before someone.
    r"qui \w+ait\b.* avant|who was \w+ing\b.* before"
    r"|who replaced|qui a remplace|qui a succede|successeur de|successor of)\b"
)


_SINCE_WHEN = re.compile(
    r"\b(depuis quand|since when|how long has|how long have|en poste depuis|in post since|"
    r"when did .* (start|begin|take office|join|arrive)|quand .* (arrivee?|pris ses fonctions|commence))\b"
)


def lacks_tenure(q: Question, actor: dict[str, Any], matched: str) -> bool:
    """ "Depuis quand X est DG ?" of a person whose start the record does not give."""
    if not _SINCE_WHEN.search(q.folded):
        return False
    people = [p for p in actor.get("people") or [] if matched in (fold(p["name"]), fold(p["name"]).split()[-1])]
    return bool(people) and not any(p.get("since") for p in people)


def lacks_predecessor(q: Question, actor: dict[str, Any]) -> bool:
    """The question asks who held a post before someone, or after: the organisation must name a former holder
    (and, for "who replaced X", X must be that former holder)."""
    if not _PREDECESSOR.search(q.folded):
        return False
    people = actor.get("people") or []
    former = [p for p in people if p.get("until")]
    if re.search(r"\b(who replaced|qui a remplace|qui a succede|successeur de|successor of)\b", q.folded):
        return not any(fold(p["name"]).split()[-1] in q.folded.split() for p in former)
    return not former


def lacks_people(q: Question, actor: dict[str, Any], units: list[dict[str, Any]]) -> bool:
    """ "Qui préside la CNIL ?" of an organisation whose record names nobody (nor any of its units) and whose
    text says nothing of who leads it ("piloté par la DNS" would)."""
    if "owner" not in q.cues or any(a.get("people") for a in (actor, *units)):
        return False
    text = fold(" ".join(_texts(actor)))
    if _in_question(_TITLE, q):  # "le directeur de la DREES": "son directeur préside…" names a post, nobody in it
        return not re.search(r"\b(presidee?s?|dirigee?s?|pilotee?s?|chaired|led|headed|run) (par|by)\b", text)
    return not re.search(r"\b(presid|dirig|pilot|co pilot|direct|porte|chair|led by|head)", text)


# A post named in a "who" question: the answer is the person in it, not what the organisation does.
_TITLE = re.compile(r"\b(directeur|directrice|president|presidente|chef|cheffe|delegue|deleguee|director|chair)\b")


# A person's post asked of a programme, decision or objective ("le chef de projet de X", "who directs X"): such
# records name the organisations that carry them, not people in posts; only a text naming the post answers.
_POST = re.compile(
    r"\b(chef|cheffe|directeur|directrice|president|presidente|delegue|deleguee|director|chair|chairs|"
    r"project manager|project lead|project leader|programme manager|program manager)\b"
)


_WHO = re.compile(r"\b(qui|who|whom)\b")


def lacks_post(q: Question, record: dict[str, Any]) -> bool:
    """ "C'est qui le chef de projet HospiConnect ?": a post no word of the record's text names (its first five
    letters: "présidé par" names a president)."""
    asked = _in_question(_POST, q)
    if not asked or not ("owner" in q.cues or _in_question(_WHO, q)):
        return False
    return fold(asked[1]).split()[-1][:5] not in fold(" ".join(_texts(record)))


# "Il bosse où maintenant ?", "what does she do now": what a person does today.
_NOW = re.compile(r"\b(maintenant|aujourd hui|actuellement|desormais|now|today|currently|these days)\b")


def lacks_current_post(q: Question, actor: dict[str, Any], matched: str) -> bool:
    """What a former holder named in the question does now: the record says only the post they left."""
    if not _in_question(_NOW, q):
        return False
    people = [p for p in actor.get("people") or [] if matched in (fold(p["name"]), fold(p["name"]).split()[-1])]
    return bool(people) and all(p.get("until") for p in people)


# A numbered part asked ("l'action 31", "axe R4", "mesure 12"): a record answers only when it is that part or
# its text names it.
_PART = re.compile(
    r"\b(action|mesure|axe|axis|orientation|chantier|etape|step|phase|lot|vague|wave|domaine)s? (n )?([a-z]?\d{1,3})\b"
)


# Members asked by name ("liste des établissements labellisés", "quels sont les six établissements du GHT"):
# the counted noun, when it is not a kind of record (lists of records are answered elsewhere).
_MEMBERS = re.compile(
    r"\b(?:liste des|list of|list the|quels sont les|quelles sont les|which are the|what are the|name the)"
    r"(?: \w+)? (\w+)"
)


def lacks_members(q: Question, record: dict[str, Any]) -> bool:
    """The members asked are not listed by the record: its text never names the noun just before a colon or a
    list ("dans ses six établissements." gives a number, not the names)."""
    asked = _in_question(_MEMBERS, q)
    if not asked or asked[1] in _FRAME_WORDS or len(asked[1]) < 4:
        return False
    if asked[1].startswith(("person", "people", "membr", "member")) and record.get("people"):
        return False  # "liste des personnes": the people the record names
    stem = asked[1][:5]
    return not any(re.search(rf"\b{stem}\w* ?(:|\()", t) for t in (fold_keep_colon(x) for x in _texts(record)))


def fold_keep_colon(text: str) -> str:
    """Folded, with the colons and brackets that open a list kept."""
    return " ( ".join(" : ".join(fold(part) for part in chunk.split(":")) for chunk in text.split("("))


def lacks_part(q: Question, record: dict[str, Any]) -> bool:
    asked = _in_question(_PART, q)
    if not asked or fold(str(record.get("id", ""))).split()[-1:] == [asked[3]]:
        return False
    return f"{asked[1]} {asked[3]}" not in fold(" ".join(_texts(record)))


def asks_role(q: Question) -> bool:
    return any(pattern.search(q.folded) for pattern, _ in _ROLES)


def lacks_asked_role(q: Question, actor: dict[str, Any], units: list[dict[str, Any]]) -> bool:
    """The question asks for a post that no title of the organisation's people, or of its units, holds."""
    markers = next((words for pattern, words in _ROLES if pattern.search(q.folded)), ())
    if not markers:
        return False
    held = " ".join(  # its names (aliases too: the imaging pole is "radiologie") and its people's titles
        fold(
            " ".join(
                [a.get("name", ""), *(a.get("aliases") or []), *(p.get("title", "") for p in a.get("people") or [])]
            )
        )
        for a in (actor, *units)
    )
    return not any(m in held for m in markers)


def _asked_fact(q: Question) -> tuple[str, ...]:
    return next((fields for pattern, fields in _FACTS if _in_question(pattern, q)), ())


def _fact_first(q: Question, record: dict[str, Any], answer: Answer) -> Answer:
    """The asked fact ("combien de participants…") as the answer's first line, whatever the record's text."""
    fields = [f for f in _asked_fact(q) if record.get(f)]
    if fields:
        colon = " : " if q.lang == "fr" else ": "  # French typography puts a space before the colon
        answer.text = "\n".join([f"{label(fields[0], q.lang)}{colon}{record[fields[0]]}", answer.text]).strip()
    return answer


def _says_fact(q: Question, record: dict[str, Any], text: str) -> bool:
    """The text states the record's value of the asked fact (its first three words, folded)."""
    value = next((str(record[f]) for f in _asked_fact(q) if record.get(f)), "")
    start = " ".join(fold(value).split()[:3])
    return bool(start) and start in fold(text)


def _lacks_asked_fact(q: Question, record: dict[str, Any]) -> bool:
    name = " ".join(_texts([record.get("name"), record.get("title"), record.get("aliases")]))
    return lacks_fact_in(q, [str(record[f]) for f in _asked_fact(q) if record.get(f)], _texts(record), name)


def lacks_fact_in(q: Question, values: list[str], texts: list[str], name: str = "") -> bool:
    """The asked fact is neither in `values` (the fields that hold it) nor said by a sentence of `texts` in its
    shape (an amount, a maker's name, a number by the counted noun). A year asked ("spent in 2025") must be in
    the value or the sentence that gives it (a budget for 2025-2027 is not what was spent in 2025), unless it is
    a year of the record's `name` ("la feuille de route 2023-2027"); so must a rate ("annual", "par jour")."""
    fields = _asked_fact(q)
    years = set(_YEAR.findall(q.plain)) - set(_YEAR.findall(name))
    if fields == _MONEY_FIELDS:
        said = [v for v in values if years <= set(_YEAR.findall(v)) and _says_rate(q, v)]
        said += [
            s
            for s in _sentences(texts)
            if _MONEY.search(s.lower()) and years <= set(_YEAR.findall(s)) and _says_rate(q, s)
        ]
        return not said or _amount_elsewhere(q, said, name)
    if fields == ("vendor",):
        if which := _WHICH_VENDOR.search(q.folded):  # "quel hébergeur a été retenu": a text that names one
            # ... of the kind asked ("quel hébergeur européen": not the current one, named elsewhere)
            kind = next((w for w in (which["pre"], which["kind"]) if w and len(w) >= 5), "")
            return not any(
                kind[:5] in fold(t[max(0, m.start() - 40) : m.end() + 40])
                for t in map(fold_accents, values + texts)
                for m in _NAMED_VENDOR.finditer(t)
            )
        return not any(_VENDOR.search(fold(s)) for s in values + texts)
    if fields == _DAY_FIELDS:
        return not any(_DAY.search(fold(v)) for v in values)
    if fields == ("duration",):
        return not any(_DURATION.search(fold(s)) for s in _sentences(texts))
    if fields == ("progress",):
        return not values and not any(_PERCENT.search(s) for s in _sentences(texts))
    if fields == ("participants",) and not values and _in_question(_COUNT, q):
        fields = ()  # "la DNS c'est combien de personnes ?": a count its text may give
    if fields:
        return not values or not years <= set(_YEAR.findall(" ".join(texts)))
    return _lacks_count(q, texts, years, frozenset(fold(name).split()))


def _amount_elsewhere(q: Question, said: list[str], name: str) -> bool:
    """ "CaRE, le domaine accès distants, combien de M€ ?": the record's sentences listing several amounts name
    the thing asked beside the record's name, but in a part of the list that gives no amount ("HospiConnect
    (50 M€), accès distants, postes de travail"): the amount asked is not stated. The parts holding the most of
    those words must hold an amount."""
    named = set(fold(name).split())
    asking = {w for m in _FACTS[1][0].finditer(q.folded) for w in m[0].split()}
    extra = [
        w
        for w in q.content_words
        if len(w) >= TOPIC_FROM
        and not w.isdigit()
        and w not in named
        and w not in asking | _FRAME_WORDS | QUESTION_WORDS | DOING_WORDS
    ]
    listing = [s for s in said if len(_MONEY.findall(s.lower())) >= 2]
    if not extra or not listing:
        return False
    parts = [p for s in listing for p in _clauses(s)]
    held = [(sum(coverage_of([w], set(fold(p).split())) >= TOPIC_COVERED for w in extra), p) for p in parts]
    most = max(n for n, _ in held)
    return most >= 1 and not any(_MONEY.search(p.lower()) for n, p in held if n == most)


def _clauses(sentence: str) -> list[str]:
    """The parts of a sentence between commas, semicolons and colons outside brackets (the items of a list)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(sentence):
        depth += ch == "("
        depth -= ch == ")" and depth > 0
        if ch in ",;:" and depth == 0:
            parts.append(sentence[start:i])
            start = i + 1
    return [p for p in [*parts, sentence[start:]] if p.strip()]


# A sentence that denies something ("les sources ne relient pas cet arrêté au financement de 200 M€") states
# no fact in the shape it holds.
_DENIAL = re.compile(r"\b(ne|n) (\w+ ){1,3}(pas|plus|jamais|aucun|aucune)\b|\b(not|never|aucune?)\b")


# Council numbers as written ("3e", "11th", "14ᵉ" folds to "14e"): a passage about the 14th is not the 3rd's.
_ORDINALS = re.compile(r"\b(\d{1,2})(?:e|eme|er|ere|th|st|nd|rd)\b")
# An ordinal of a period or a day ("au 1er semestre", "le 1er mars") numbers no council: the periods are
# matched apart (fallbacks._PERIODS), the dates by the year.
_PERIOD_ORDINAL = re.compile(
    rf"\b\d{{1,2}}(?:e|eme|er|ere|th|st|nd|rd) (?:semestre|trimestre|half|semester|quarter|{'|'.join(MONTHS)})\b"
)
# How a passage gives a number of people present: by one of these words.
_PRESENT = ("particip", "person", "present", "membre", "attend")


def passage_lacks_fact(q: Question, hit: dict[str, Any]) -> bool:
    """A passage does not say the asked fact in its shape (an amount, a pay, a maker, a number by the counted
    noun or by the people present, with the year and rate asked), or is not about the numbered council asked
    ("le 3e CNS": a passage on the 14th)."""
    text = f"{hit['title']}. {hit['heading']}. {hit['body']}"
    asked = set(_ORDINALS.findall(_PERIOD_ORDINAL.sub(" ", q.plain)))
    if asked and not asked <= set(_ORDINALS.findall(fold(text))):
        return True
    fields = _asked_fact(q)
    if fields == ("next",):  # the next meeting: a passage that speaks of one
        return not _NEXT.search(fold(text))
    if fields == ("salary",):  # a pay is an amount
        return not any(_MONEY.search(s.lower()) for s in _sentences([text]))
    if fields == ("participants",):
        return not any(
            _is_number(w)
            for s in _sentences([text])
            if _says_rate(q, s)
            for i, w in enumerate(fold(s).split())
            if any(x.startswith(_PRESENT) for x in fold(s).split()[max(0, i - 4) : i + 5])
        )
    if fields in (_MONEY_FIELDS, ("vendor",)) or (not fields and _in_question(_COUNT, q)):
        # A year of the document's title dates all it says ("au premier semestre" in June 2025's minutes).
        return lacks_fact_in(q, [], [text], name=hit["title"])
    return False


def _sentences(texts: list[str], denials: bool = False) -> list[str]:
    """The sentences of the texts that state something (a denial does not, unless `denials`: a reason may be
    one, "les éditeurs ne seront pas prêts"; an address never does)."""
    found = (s for t in texts if not t.startswith("http") for s in re.split(r"(?<=[.;!?])\s+|\s;\s|\n", t) if s.strip())
    return [s for s in found if denials or not _DENIAL.search(fold(s))]


def _lacks_count(q: Question, texts: list[str], years: set[str], named: frozenset[str] = frozenset()) -> bool:
    """A count asked ("combien d'ETP") that no sentence of the texts gives (`gives_count`), in a sentence that
    holds the year asked, if any ("nb de DMP … depuis 2021" is not answered by "40 millions de DMP fin 2022")."""
    m = _in_question(_COUNT, q)
    if not m or m[1] in ("de", "d", "temps"):
        return False
    return not any(
        years <= set(_YEAR.findall(sentence)) and _says_rate(q, sentence) and gives_count(q, sentence, named)
        for sentence in _sentences(texts)
    )


def gives_count(q: Question, sentence: str, named: frozenset[str] = frozenset()) -> bool:
    """The sentence puts a number (not a year, an article or an id) within a few words of the counted noun (its
    first five letters, so 'hopitaux' finds 'hôpital'; an English noun's French too), that noun not being a word
    of the record's own name ("ASAFO-Pharma : 15 000 signalements" counts no pharmacists)."""
    m = _in_question(_COUNT, q)
    if not m:
        return False
    nouns = {m[1][:5]} | ({w[:5] for w in q.content_words if len(w) >= 4} if q.translated else set())
    text = fold(sentence).split()
    spots = [
        i
        for i, w in enumerate(text)
        if w.isalpha()
        and any(w.startswith(n) for n in nouns)
        and not (w in named and not _same_noun(w, m[1]))  # "pharma" of the name, not "pharmaciens"
    ]
    return any(_is_number(w) for i in spots for w in text[max(0, i - 4) : i + 5])


def _same_noun(a: str, b: str) -> bool:
    """The same noun, in the singular or plural, or in French and English ("objectifs", "objectives")."""
    return a.rstrip("sx") == b.rstrip("sx") or (min(len(a), len(b)) >= 7 and a[:7] == b[:7])


# A rate asked ("annual running cost", "combien de jours par semaine") and how a text states that rate: a total
# is not a rate.
_RATES: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = tuple(
    (re.compile(rf"\b({asked})\b"), re.compile(rf"\b({said})\b"))
    for asked, said in (
        (
            "annual|annuel\\w*|yearly|per year|a year|par an|each year|chaque annee",
            "annuel\\w*|par an|per year|a year|chaque annee|yearly",
        ),
        ("monthly|per month|a month|par mois|mensuel\\w*", "par mois|mensuel\\w*|per month|a month|monthly"),
        ("weekly|per week|a week|par semaine|hebdo\\w*", "par semaine|hebdo\\w*|per week|a week|weekly"),
        ("daily|per day|a day|par jour|quotidien\\w*", "par jour|quotidien\\w*|per day|a day|daily"),
        (
            "par (etablissement|hopital|es|structure)|per (hospital|establishment|facility)",
            "par (etablissement|hopital|es|structure)|per (hospital|establishment|facility)",
        ),
    )
)


def _says_rate(q: Question, text: str) -> bool:
    """The text states the rate the question asks for, if it asks for one."""
    return all(said.search(fold(text)) for asked, said in _RATES if _in_question(asked, q))


_NUMBER_WORDS = frozenset(
    "un une deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze quinze seize vingt trente cent cents mille "
    "dizaine dizaines vingtaine trentaine quarantaine cinquantaine soixantaine centaine centaines millier milliers "
    "million millions milliard milliards "
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen twenty thirty hundred hundreds thousand "
    "thousands dozen dozens".split()
)


def _is_number(word: str) -> bool:
    """A figure or a number word; a year is a date, not a count, and "un DMP" is an article, not one DMP."""
    if word in ("un", "une", "one"):
        return False
    return word in _NUMBER_WORDS or (_FIGURE.fullmatch(word) is not None and not _YEAR.fullmatch(word))


# A figure as written in a count ("37", "40k", "2 000" folds to "2" "000"); not an id or a hash ("ms2022").
_FIGURE = re.compile(r"\d[\d.,]*(k|m|e|er|eme|%)?")


def _texts(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [t for v in value.values() for t in _texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    return [str(value)] if isinstance(value, (str, int, float)) else []


def list_answer(
    lang: str, kind: str, heading: str, rows: list[dict[str, Any]], lines: list[str], total: int, sources: int = 5
) -> Answer:
    """A list of records of one kind: its lines, "and N more" when cut, the records as results."""
    if total > len(rows):
        lines = [*lines, say("list_more", lang, more=total - len(rows))]
    return Answer(
        intent="list",
        lang=lang,
        title=say("list_title", lang, what=heading, count=total),
        text="\n".join(lines),
        sources=_dedupe([s for r in rows for s in _sources(kind, r)])[:sources],
        confidence=0.9,
        results=[_result(kind, r) for r in rows],
    )


def _result(kind: str, record: dict[str, Any]) -> dict[str, str]:
    return {"kind": kind, "id": record["id"], "title": title_of(kind, record), "url": record["url"]}


def _source(title: str, url: str) -> dict[str, str]:
    return {"title": title, "url": url}


def _sources(kind: str, record: dict[str, Any]) -> list[dict[str, str]]:
    """The record's own source first, then the others behind it (a few: the answer stays short)."""
    found = [_source(record.get("source_title") or title_of(kind, record), record["url"])]
    for extra in record.get("sources") or []:
        found.append(_source(extra.get("title") or extra["url"], extra["url"]))
    return _dedupe(found)[:MAX_SOURCES]


def _dedupe(sources: list[dict[str, str]]) -> list[dict[str, str]]:
    seen: set[str] = set()
    out = []
    for s in sources:
        if s["url"] not in seen:
            seen.add(s["url"])
            out.append(s)
    return out


def _actor_names(reader: Reader, ids: list[str]) -> str:
    names = []
    for actor_id in ids:
        actor = reader.record("actors", actor_id)
        names.append(f"{actor['name']} ({actor_id})" if actor and actor["name"] != actor_id else actor_id)
    return ", ".join(names)


class _Lines(list[str]):
    """An answer's lines as shown, long record texts briefed, and `whole`, the same lines uncut."""

    def __init__(self) -> None:
        super().__init__()
        self.whole: list[str] = []

    def append(self, line: str) -> None:
        super().append(line)
        self.whole.append(line)

    def brief(self, line: str) -> None:
        """A record's own long text (a summary, a description): shown briefed, kept whole for "More"."""
        super().append(_brief(line))
        self.whole.append(line)

    def details(self) -> str:
        """The whole text when the shown one is shorter, else ''."""
        whole = "\n".join(t for t in self.whole if t)
        return whole if whole != "\n".join(t for t in self if t) else ""


def _disputed(text: list[str], record: dict[str, Any], lang: str) -> None:
    if record.get("disputed"):
        text.append(say("disputed", lang, note=record["disputed"]))


def _extra_fields(fields: dict[str, str], record: dict[str, Any], lang: str) -> None:
    for key, value in (record.get("extra") or {}).items():
        shown = "; ".join(map(str, value)) if isinstance(value, list) else str(value)
        if shown:
            fields[key] = clip(shown, 300)


def _brief(text: str, limit: int = BRIEF_CHARS) -> str:
    """Answers stay short: whole sentences up to `limit` characters; the source has the rest."""
    if len(text) <= limit:
        return text
    window = text[:limit]
    end = max(window.rfind(". "), window.rfind(" ; "), window.rfind("; "))
    return (window[: end + 1] if end > limit // 3 else clip(window, limit - 1).rstrip("…")) + " …"


def _best_sentence(body: str, keys: list[str]) -> str:
    sentences = [s.strip() for s in body.replace("\n", " ").split(". ") if s.strip()]
    # Whole words, give or take a form or a typo: "per" is no key of "expérience".
    scored = sorted(sentences, key=lambda s: -coverage_of(keys, frozenset(fold(s).split())))
    best = scored[0] if scored else body
    return clip(best.rstrip(".") + ".", 400)


def _status_suffix(record: dict[str, Any], lang: str) -> str:
    status = shown_status(record, lang)
    return f" ({status})" if status else ""


def _once(compute: Callable[[], T]) -> Callable[[], T]:
    """`compute()` run on first call only: a lookup some branches need and others must not pay for."""
    memo: list[T] = []

    def value() -> T:
        if not memo:
            memo.append(compute())
        return memo[0]

    return value
