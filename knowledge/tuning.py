"""Every tuning number of understanding and answering, with the reason for it.

They were set on the dev question set (bench/questions/dev.yaml) only; the test set is never used to move them.
"""

from __future__ import annotations

# --- Answering (knowledge/answer.py) ---------------------------------------------------------------------
ANSWER_AT = 0.78  # a candidate this sure, with no rival within CLOSE, is answered directly
ASK_AT = 0.6  # below this nothing is offered as a match ("I don't know" or a passage instead)
CLOSE = 0.06  # candidates this close to the best are offered as choices (a real tie)
# A candidate between ASK_AT and ANSWER_AT is answered too when no other candidate is within RIVAL of it.
# (There used to be an ALONE_AT threshold for this, equal to ASK_AT, so its check could never fail: removed.)
RIVAL = 0.15
# No sure record holds the question's topic, but one likely record holds all of it (knowledge/answer/route.py):
COVER_AT = 0.5  # "likely": a title covering a good part of the question (one word of three scores about 0.45)
# A fact a record's text states, asked of a record named only by its topic (knowledge/answer/facts.py):
FACT_CANDIDATES = 8  # the likely records looked at (the full-text hits rank them; the right one is in the first few)
FACT_FROM = 1  # topic words the question must keep once the words asking the fact are set aside
FACT_TOPIC = 0.8  # share of those words the record must hold, in any field (a typo or a shared start counts less)
FACT_NEAR = 0.5  # ... and the record's title with the sentence stating the fact must hold this share of them (a
# sum of money elsewhere in a long record is not the cost asked)
FACT_WINDOW = 8  # ... and a sentence's sum, rate or date must have a topic word this many words around it
FACT_AT = 0.74  # the answer's confidence: below ANSWER_AT, since the record was found by its text, not its name
PASSAGE_OVER = 0.7  # records matching at least this well are offered as choices before any passage
# A quoted passage's confidence is at most this, below ANSWER_AT like FACT_AT: it is found by the words it shares
# with the question, never by a name, so even one holding them all may speak of another subject ("nurses can
# telework…" quotes the IT teams' rule). Above the 0.6 and 0.7 that let a passage win (route.py, councils.py).
PASSAGE_AT = 0.74
# A question holding a word no table knows ("le ministre de l'éducation nationale": not a typo of any word the
# knowledge or the lexicons have) is answered without that word: at most this sure, below ANSWER_AT, and it says so.
# From UNREAD_FROM letters: shorter unknown words are mostly chat ("stp", "ajd").
UNREAD_AT = 0.74
UNREAD_FROM = 5

# --- Normalisation (knowledge/normalise.py) --------------------------------------------------------------
CORRECT_FROM = 4  # shorter words are too often real words one letter apart ("est"/"es"): never corrected
KNOWLEDGE_CORRECT_FROM = 5  # 4-letter words are corrected to cue words only: "foot" must not become "fort"
ELISION_CORRECT_FROM = 6  # "lobjectf" -> "l objectif"; shorter rests must be known words ("samedi" is not "s ameli")
CUE_TWO_EDITS_FROM = 7  # the cue words are few, so two edits stay unambiguous among them sooner ("dirrgie")
TWO_EDITS_FROM = 8  # from 8 letters two edits are still unambiguous ("telesurveilance"); below, one edit only
FIRST_LETTER_FROM = 6  # a wrong first letter is corrected to a cue word from 6 letters ("xombien" -> "combien")

# --- Intent (knowledge/understand.py) --------------------------------------------------------------------
CUE_AT = 1.0  # a cue whose matched patterns weigh this much counts as asked
AXIS_NAMED_AT = 0.4  # an axis named in words ("l'axe accompagnement", "interoperability axis") filters a list
# from this full-text score, below ASK_AT: the word "axe" (or one sure axis) says an axis is meant, and among the
# likely ones the list takes the first whose objectives pass the other filters, so one title word is enough
# (a full-text hit starts at 0.35; one word of three covered, typo or translation and all, reaches about 0.43).
# --- Candidates (knowledge/understand.py) ----------------------------------------------------------------
KIND_BONUS = 0.03  # a record of the kind the question names ("l'objectif ...", "la décision ...") ranks first
# among near-equals; small enough never to lift a weak match over ASK_AT on its own.
SPECIFIC_COVERAGE = 0.9  # a title holding this share of the question's words, one word more than an exact name
SPECIFIC_LEAD = 0.01  # holds, is the more specific record: it ranks just above that name (close: asked back)
# A unit under the named organisation whose person holds the asked title ("la directrice du numérique des
# Trois-Rivières") is answered: its lead is beyond CLOSE (the parent link and the title make it certain enough).
UNIT_LEAD = CLOSE + 0.01
# A likely record holding an exactly named record's name and one more word of the question is the more specific
# one ("DMP auto pour les nouveaux-nés": the measure, not the DMP), from this full-text score (a title sharing
# about a third of the question's words; below, any record that mentions the name would do).
SPECIFIC_FROM = 0.45
# A record whose names (not just its text) hold more of the question is likely enough from lower: the words that
# make it specific are often in its aliases only, which the text search weighs little ("migration du HDH").
NAMED_SPECIFIC_FROM = 0.3
PROPER_FROM = 4  # a word written with a capital, this long, names something the answer must hold (shorter ones
# are articles and short forms: "Mon", "Les")
NAME_TYPO = 80  # rapidfuzz ratio from which a record's word is the proper name asked, typo and all ("Prévto")
TOPIC_FROM = 4  # a question word this long that is a word of some record's name must be covered by the answer
TOPIC_SPARE_FROM = 5  # a topic of this many words may leave one uncovered (an adjective the record does not
# use: "secure messaging" over "par messagerie"); shorter topics must be held whole
TOPIC_COVERED = 0.75  # a topic word counts as held when the record has it with a typo at least (0.5, a shared
# start, let "sécu" match "sécurité" but kept wrong answers too)
TRIGRAMS_FROM = 5  # a word this long that no vocabulary knows is looked up by its trigrams (typo-tolerant)
