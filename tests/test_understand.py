"""Understanding on its own: what a question becomes before any record is looked up, and which records it names.

Over the fictional test roadmap (tests/data/source): questions typed as people type them in chat.
"""

from __future__ import annotations

import pytest

from knowledge.normalise import Vocabulary, acronym_in_capitals, correct, normalise, vocabulary
from knowledge.store import Reader
from knowledge.understand import CUE_VOCABULARY, coverage_of, resolve, understand
from knowledge.word_tables import abbreviations, cognate, english


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        ("où en est l'objectif 12 ?", "ou en est l objectif 12"),
        ("ou en est lobjectif 12", "ou en est l objectif 12"),  # elision without its apostrophe
        ("ou en et lobjectf 12", "ou en est l objectif 12"),  # and typos in the words that carry the intent
        ("qi pilote la cellule cybersécurité", "qui pilote la cellule cybersecurite"),
        ("c koi Atlas", "c est quoi atlas"),
        ("les sauvegardes ça avance ?", "les sauvegardes ou en est"),
        ("on en est où de la messagerie", "ou en est de la messagerie"),
        ("la messagerie c'est bouclé ?", "la messagerie ou en est"),
        ("RDV en ligne", "rendez vous en ligne"),
        ("statu de l'objectif 2.10", "statut de l objectif 2 10"),
        ("interoperabilte avec les laboratoires", "interoperabilite avec les laboratoires"),
    ],
)
def test_normalisation_splits_elisions_expands_short_forms_and_corrects_typos(
    reader: Reader, typed: str, normalised: str
) -> None:
    assert understand(typed, reader).folded == normalised


def test_ids_numbers_and_known_words_are_never_corrected(reader: Reader) -> None:
    vocab = vocabulary(reader, CUE_VOCABULARY)
    assert correct("2024", vocab) == "2024"
    assert correct("a1b2", vocab) == "a1b2"
    assert correct("dmp", vocab) == "dmp"  # too short to correct
    assert correct("sauvegardes", vocab) == "sauvegardes"
    assert correct("sauvegrades", vocab) == "sauvegardes"
    assert understand("objectif 007", reader).objective == "007"


def test_a_short_form_the_knowledge_uses_as_a_name_still_names_its_record(reader: Reader) -> None:
    # "MFA" is an alias of objective 1 here: expanded for search, and still looked up as typed.
    q = understand("MFA", reader)
    assert q.folded == "authentification forte" and q.plain == "mfa"
    best = resolve(q, reader)[0]
    assert (best.kind, best.id, best.how) == ("objectives", "1", "exact")


def test_a_title_holding_more_of_the_question_beats_a_name_holding_less(reader: Reader) -> None:
    # "dossier patient" is an alias of nothing; "laboratoires" is in objective 12's title, as is everything else.
    found = resolve(understand("interoperabilite du dossier patient avec les laboratoires", reader), reader)
    assert (found[0].kind, found[0].id) == ("objectives", "12")


def test_short_forms_that_are_everyday_words_expand_only_in_capitals() -> None:
    vocab = Vocabulary.build(CUE_VOCABULARY)
    assert normalise("la cybersécurité des ES", vocab) == "la cybersecurite des etablissements de sante"
    assert normalise("tu es où", vocab) == "tu es ou"
    # All capitals: where the everyday word could not stand (after an article), else not.
    assert normalise("LA CYBERSÉCURITÉ DES ES", vocab) == "la cybersecurite des etablissements de sante"
    assert normalise("TU ES OÙ EN CE MOMENT", vocab) == "tu es ou en ce moment"


@pytest.mark.parametrize(
    ("typed", "cue"),
    [
        ("qi pilote la cellule cybersécurité", "owner"),
        ("qui dirrige la DSI", "owner"),
        ("c qui le boss de la DSI", "owner"),
        ("c koi Atlas", "about"),
        ("la messagerie ça donne quoi", "status"),
        ("avancment des sauvegardes", "status"),
        ("decsions du 2e copil", "decisions"),
        ("where are we on the backups?", "status"),
        ("the new badge readers - where are we now?", "status"),  # asked after the topic
        ("combien de participants", "passage"),
        ("qui pilot le programme", "owner"),
        ("le pilotage est confié à qui", "owner"),
        ("is it run by which agency?", "owner"),
        ("c qui sur la dictée vocale", "owner"),
        ("les sauvegardes ça avnce ?", "status"),
        ("what came out of the 12th CNS?", "decisions"),
        ("le CNS a dit quoi sur l'IA", "decisions"),
        ("is the new charter out yet?", "status"),  # published yet: where it stands
        ("la doctrine 2026 est sortie ?", "status"),
        ("la messagerie sécurisée, on est dans les temps ?", "status"),  # status phrases, not topic words
        ("la prise de rendez-vous en ligne c'est parti ?", "status"),
        ("the new badge system, finished yet?", "status"),
        ("has the pharmacy finished moving to electronic prescriptions?", "status"),
        ("combien la DSI a débloqué pour le wifi ?", "decisions"),
        ("le portage national de HOP'EN c'est qui", "owner"),  # who steers it
        ("who handles the MSSanté rollout?", "owner"),
        ("l'objectif sur la télésanté ça couvre quoi exactement", "about"),  # what it covers, not its status
        ("la télésurveillance c'est rattaché à quel axe ?", "about"),
    ],
)
def test_intent_comes_from_scored_typo_tolerant_cues(reader: Reader, typed: str, cue: str) -> None:
    q = understand(typed, reader)
    assert cue in q.cues and q.cue_scores[cue] >= 1.0


def test_a_weak_cue_word_alone_is_not_an_intent() -> None:
    assert "status" not in understand("done").cues
    assert "status" in understand("is the backup done? where are we on it").cues


def test_english_questions_are_searched_with_the_french_words_of_the_records(reader: Reader) -> None:
    q = understand("where are we on the offline backups of critical applications?", reader)
    assert q.lang == "en"
    assert {"sauvegardes", "applications"} <= set(q.content_words)
    assert resolve(q, reader)[0].id == "2.1"
    assert resolve(understand("who runs the pharmacy?", reader), reader)[0].id == "PHARMA"


def test_a_propos_is_not_corrected_to_a_verb(reader: Reader) -> None:
    assert "propos" in understand("qu'a décidé le copil à propos des sauvegardes", reader).folded.split()


def test_a_status_phrase_is_no_topic_word(reader: Reader) -> None:
    assert "temps" not in understand("les sauvegardes, on est dans les temps ?", reader).content_words
    # "has X finished": X's words stay topic words
    assert "pharmacy" in understand("has the pharmacy finished its move?", reader).own_words


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("who runs radiology at Trois-Rivières?", "en"),  # an accented name says nothing of the language
        ("Val-de-Brume: is the CSIRT staffed?", "en"),
        ("Trois-Rivières: which projects are late?", "en"),
        ("où en est la messagerie ?", "fr"),
        ("Où en est la messagerie à Trois-Rivières ?", "fr"),
        ("Hélène Marchal ?", "fr"),
    ],
)
def test_accents_in_names_do_not_make_a_question_french(text: str, lang: str) -> None:
    assert understand(text).lang == lang


def test_an_english_post_translated_to_a_french_short_form_is_spelt_out(reader: Reader) -> None:
    q = understand("who is the CISO of the pharmacy?", reader)
    assert {"securite", "systemes", "information"} <= set(q.content_words)


def test_english_cognates_find_the_french_word() -> None:
    known = {"authentification", "securite", "interoperabilite", "strategique"}
    assert cognate("authentication", known) == "authentification"
    assert cognate("security", known) == "securite"
    assert cognate("interoperability", known) == "interoperabilite"
    assert cognate("strategic", known) == "strategique"
    assert cognate("weather", known) is None


def test_kind_words_in_the_question_weigh_on_candidates(reader: Reader) -> None:
    q = understand("le programme Atlas", reader)
    assert "programmes" in q.kinds
    best = resolve(q, reader)[0]
    assert (best.kind, best.id) == ("programmes", "ATLAS")


def test_a_typo_no_correction_fixes_is_still_found_by_trigrams(reader: Reader) -> None:
    # A first letter that is no slip of the finger (B is nowhere near M) is beyond the corrector, which trusts
    # first letters; not beyond trigrams.
    q = understand("bessagerie sécurisée", reader)
    assert "bessagerie" in q.unknown
    assert [hit["id"] for hit in reader.search_trigrams("bessagerie", kinds=("objectives",))][:1] == ["23"]
    assert ("objectives", "23") in {(c.kind, c.id) for c in resolve(understand("bessagerie", reader), reader)}


def test_a_first_letter_one_key_off_is_corrected_when_the_rest_is_as_typed(reader: Reader) -> None:
    vocab = vocabulary(reader, CUE_VOCABULARY)
    assert correct("nessagerie", vocab) == "messagerie"  # N is next to M
    assert correct("xombien", vocab) == "combien"  # X is next to C
    assert correct("bessagerie", vocab) == "bessagerie"  # B is not next to M
    assert correct("nessagetie", vocab) == "nessagetie"  # two slips, one of them the first letter: no guess
    assert correct("hooking", vocab) == "hooking"  # an English word of the lexicon is no slip target
    assert "c inclut" not in understand("il conclut sur quoi", reader).folded  # nor the rest of an elision


def test_snowball_stems_match_singular_and_plural() -> None:
    assert coverage_of(["hopitaux"], {"hopital"}) == 1.0
    assert coverage_of(["sauvegarde"], {"sauvegardes"}) == 1.0
    assert coverage_of(["meteo"], {"sauvegardes"}) == 0.0


def test_the_shipped_tables_are_large_and_well_formed() -> None:
    lexicon = english()
    assert len(lexicon) >= 500
    assert lexicon["patient portal"] == "portail patient"
    assert lexicon["roadmap"] == "feuille de route"
    table = abbreviations()
    assert table["rdv"].expansion == "rendez vous" and not table["rdv"].caps_only
    assert table["es"].caps_only
    assert table["c koi"].expansion == "c est quoi"


def test_a_title_asked_of_an_organisation_names_the_unit_under_it_that_holds_it(reader: Reader) -> None:
    # "le groupement" is the exact name; the person titled "directrice des systèmes d'information" is in the
    # IT department under it: that department is the answer, ahead of the group.
    found = resolve(understand("qui est la directrice des systèmes d'information du groupement", reader), reader)
    assert (found[0].kind, found[0].id) == ("actors", "DSI-GHT")
    assert found[0].score - found[1].score > 0.06  # beyond CLOSE: answered, not asked back
    # Without the title, the group itself.
    assert resolve(understand("qui dirige le groupement", reader), reader)[0].id == "GHT"


def test_the_words_that_frame_a_question_are_not_its_topic() -> None:
    assert understand("how far along is the backup renewal, is it moving?").own_words == ["backup", "renewal"]
    assert understand("au 2e CNS ils ont décidé quoi").content_words == []
    # The topic inside a status phrase stays; the rollout and the aspect asked ("niveau usage") are framing.
    assert understand("where does the backup renewal rollout stand?").own_words == ["backup", "renewal"]
    assert understand("où en est Mon espace santé niveau usage").content_words == ["mon", "espace", "sante"]


@pytest.mark.parametrize(
    ("typed", "number"), [("copil n°2 décisions", 2), ("agenda of COPIL 4?", 4), ("le 14e CNS", 14)]
)
def test_a_council_number_is_read_after_its_short_form_is_expanded(typed: str, number: int) -> None:
    assert understand(typed).council == number


@pytest.mark.parametrize(
    ("typed", "proper"),
    [
        ("qui pilote la pharmacie de Lyon ?", ["lyon"]),
        ("QUI PILOTE LA PHARMACIE DE LYON ?", ["lyon"]),  # no vocabulary knows it: a name
        ("QUI EST CLAIRE MARTIN ?", ["claire", "martin"]),  # the knowledge writes them only as names
        ("QUI S'OCCUPE DE LA PHARMACIE EN CE MOMENT ?", []),  # everyday words, not names
        ("WHO HAS BEEN GETTING THE MFA DONE WITHOUT HELP?", []),  # everyday English, and forms of it
        ("LES EXERCICES DE CRISE DÉPLOYÉS", []),  # forms of known words ("exercice", "déployer")
        ("ILS ONT LÂCHÉ LE PROJET, C'EST GRATOS ?", []),  # chat words of the everyday table
        ("WAS THE MONEY WORTH IT ONCE FILLED?", []),  # English ones, and forms of them
    ],
)
def test_an_all_capitals_question_still_names_what_the_answer_must_hold(
    reader: Reader, typed: str, proper: list[str]
) -> None:
    assert understand(typed, reader).proper == proper


@pytest.mark.parametrize(
    ("short", "typed", "name"),
    [
        ("ans", "QUI DIRIGE L'ANS ?", True),  # after an elided article
        ("ans", "QUI DIRIGE LANS", True),  # glued to it
        ("ans", "QUI PILOTAIT IL Y A TROIS ANS ?", False),  # years
        ("ans", "WHO WAS ANS PRESIDENT IN 2023?", True),  # no everyday English word
        ("has", "HAS THE WAREHOUSE STARTED?", False),
        ("has", "WHO IS THE PRESIDENT OF THE HAS?", True),  # a verb never follows an article
        ("care", "HOW MUCH MONEY IS CARE GETTING?", True),  # a noun straight after a verb
        ("care", "WHO RUNS REHAB CARE AT THE HOSPITAL?", False),
        ("care", "C'EST QUOI CARE ?", True),  # no everyday French word
        ("mes", "MES DANS LES EHPAD, C'EST POUR QUAND ?", True),  # no noun after it: not "my"
        ("mes", "OÙ SONT MES DOCUMENTS ?", False),
    ],
)
def test_an_all_capitals_short_name_counts_where_the_everyday_word_could_not_stand(
    short: str, typed: str, name: bool
) -> None:
    assert acronym_in_capitals(short, typed) is name


def test_typos_in_month_names_and_council_words_are_corrected(reader: Reader) -> None:
    q = understand("decisions of the Fberuary 2025 steerng comittee", reader)
    assert q.when == "2025-02" and q.names_council
    assert understand("liste des coppils", reader).folded == "liste des copils"


def test_a_name_holding_a_short_form_is_found_with_a_typo_in_its_other_words(reader: Reader) -> None:
    # "GHT" expands to its long form in the normalised question; the corrected reading keeps it as typed.
    q = understand("qui dirige le GHT Exmple ?", reader)
    assert q.corrected == "qui dirige le ght exemple"
    assert q.folded == "qui dirige le groupement hospitalier de territoire exemple"


@pytest.mark.parametrize(
    ("question", "axis"),
    [
        ("le quatrième axe, il parle de quoi ?", "4"),
        ("tell me about the first axis of the plan", "1"),
        ("l'axe trois de la feuille de route", "3"),
        ("le deuxième conseil", None),  # an ordinal of something else
    ],
)
def test_an_axis_numbered_in_words_is_read_as_its_number(question: str, axis: str | None) -> None:
    assert understand(question).axis == axis


def test_a_typo_in_a_word_no_record_states_is_corrected_to_it(reader: Reader) -> None:
    # The words that ask for what no source holds (a pay, a birth date, a supplier) are read by the answer's
    # rules on the normalised question: a typo in them must not leave the rest to be answered.
    assert "salaire" in understand("le salaore du directeur", reader).folded.split()
    assert "naissance" in understand("sa date de naissanec", reader).folded.split()
    assert "fournisseur" in understand("quel fournisseru pour le logiciel", reader).folded.split()


@pytest.mark.parametrize(
    ("typed", "status"),
    [
        ("la feuille de route ça fait combien d'axes ?", None),  # "that makes": no status
        ("cela fait quel % de mesures ?", None),
        ("les objectifs déjà faits ?", "done"),
        ("c'est fait ou pas le DMP ?", "done"),
    ],
)
def test_ca_fait_is_that_makes_not_the_status_done(reader: Reader, typed: str, status: str | None) -> None:
    assert understand(typed, reader).status == status


@pytest.mark.parametrize(
    ("typed", "owned"),
    [
        ("quels programmes ont l'ANS comme pilote ?", True),
        ("the objectives with the DNS as lead", True),
        ("l'ANS en tant que porteur, elle a quoi ?", True),
        ("quels programmes portent sur la cybersécurité ?", False),
    ],
)
def test_an_actor_named_as_owner_asks_what_it_owns(reader: Reader, typed: str, owned: bool) -> None:
    assert understand(typed, reader).owned is owned


def test_the_country_is_no_proper_name_to_hold(reader: Reader) -> None:
    assert understand("combien d'ARS en France ?", reader).proper == []
    assert understand("combien d'ARS en Bretagne ?", reader).proper == ["bretagne"]


def test_a_slip_on_the_first_letter_of_a_long_cue_word_is_corrected() -> None:
    # The first letter is trusted for other words; a cue word keeps the rest of its letters ("vombien").
    assert understand("vombien coute le programme ?").cues == {"passage"}
    assert "combien" in understand("vombien coute le programme ?").folded.split()
    # Not inside an elided word: "conclut" is no "c" + "inclut".
    assert understand("le rapport conclut sur quoi").folded.split()[2] == "conclut"


def test_a_three_letter_slip_on_who_asks_who() -> None:
    assert "owner" in understand("qyi porte la messagerie ?").cues
    assert "owner" in understand("whp runs the programme?").cues


def test_a_council_settling_asks_its_decisions_and_its_number_is_no_topic() -> None:
    assert "decisions" in understand("ils ont tranché quoi au dernier comité ?").cues
    asked = understand("le comité n4 a validé quoi ?")
    assert asked.council == 4 and "n4" not in asked.content_words


def test_whether_work_goes_on_is_a_status() -> None:
    assert "status" in understand("is the patient portal still being worked on?").cues


def test_a_yes_no_question_ending_in_yet_asks_a_status_and_keeps_its_topic() -> None:
    q = understand("has the online booking gone live yet?")
    assert "status" in q.cues and "booking" in q.own_words


@pytest.mark.parametrize(
    "question", ["what's the state of play on online booking?", "le portail usagers, situation actuelle ?"]
)
def test_the_state_of_a_thing_is_its_status(question: str) -> None:
    assert "status" in understand(question).cues


@pytest.mark.parametrize(
    "question", ["pourquoi la vidéo-consultation a été décalée ?", "why was the kiosk project shelved?"]
)
def test_why_a_thing_was_put_off_or_dropped_asks_the_decision(question: str) -> None:
    from knowledge.answer.route import _cued_kind

    assert _cued_kind(understand(question)) == "decisions"
