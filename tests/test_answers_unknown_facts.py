"""'I don't know' when the record named does not hold what is asked, and the answer when it does (near misses).

Over the bundled knowledge and the fictional group plan (bench/data), as the dev question sets are.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.eval import build_kb
from knowledge import KnowledgeBase
from knowledge.text import fold


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    return build_kb(Path(tmp_path_factory.mktemp("kb")), region=True)


@pytest.mark.parametrize(
    "question",
    [
        "where was the 11th CNS held?",  # the council has no place ("held" is not "help")
        "date exacte du 3e conseil du numérique en santé ?",  # only its year is known
        "combien de pharmaciens sont inscrits à ASAFO-Pharma ?",  # "ASAFO-Pharma : 15 000 signalements"
        "nb de DMP créés automatiquement pour les nouveau-nés depuis 2021 ?",  # a count, not of 2021
        "how much did programme Écho spend in 2025?",  # a 2025-2027 budget is not 2025's spending
        "montant du financement prévu par l'arrêté du 27 janvier 2026",  # the text denies the link to 200 M€
        "annual running cost of Mon espace santé?",  # a design cost is not a yearly one
        "c qui le directeur de la DREES ?",  # "son directeur préside…" names nobody
        "Dominique Pon il bosse ou maintenant ?",  # a former holder: what he does now is not known
        "who will chair the CNS Comex in 2026?",
        "action 31 de Ma santé 2022 ?",  # 30 actions
        "axe R4 des Trois-Rivières",
        "quels sont les six établissements du GHT du Littoral ?",  # six, not named
        "quel DPI utilise le CHU de Brumeport ?",
        "mon employeur peut-il lire mes messages MSSanté ?",
        "what do GRADeS staff get paid?",  # not asked back between the two GRADeS
        "la cheffe du pôle imagerie des Trois-Rivières, on la joint comment ?",  # contact details: none held
        "how can I reach the head of the regional GRADeS?",
        "prochain copil régional c quand",
        "salaire de la déléguée au numérique en santé ?",  # not a passage without an amount
        "le 9e CNS s'est tenu où ?",  # a place asked after the verb
        "tu penses quoi de HospiConnect, c'est un succès ?",  # an opinion
        "quel âge a Hela Ghariani ?",  # a person's private data
        "l'appli carte Vitale a quelle note sur le Play Store ?",  # a rating
        "le programme HOP'EN 2 sera-t-il prolongé ?",  # the future
        "pourcentage de réalisation de l'axe 2 ?",  # the axis gives no rate in per cent
        "quel est le taux d'utilisation de l'application carte Vitale ?",  # no "%" in its text
        "objectif 15 de la feuille de route 2023-2027, il en est où ?",  # 15 is the group plan's, not the FDR's
        "Hela Ghariani est restée combien de temps à la DNS ?",  # no duration given for her
        "which European host did the Health Data Hub pick?",  # a new host is announced, none is named
        "qui est la directrice du programme CaRE ?",  # a post the programme's record never names
        "who is the project manager for Mon espace santé?",
        "combien d'établissements en Bretagne ont eu HospiConnect ?",  # a region the record does not hold
        "CaRE, le domaine postes de travail, c'est combien de M€ ?",  # listed beside amounts, none of its own
        "qui gérait la cellule sécurité avant Karim Benali ?",  # no former holder named
        "le programme Rempart, il doit se terminer quand ?",  # no end date given
        "au copil de juin 2025 du GH3R, combien étaient des médecins ?",  # 37 participants, no count of doctors
    ],
)
def test_what_the_record_does_not_hold_is_not_known(kb: KnowledgeBase, question: str) -> None:
    answer = kb.ask(question)
    assert answer.intent == "unknown", answer.to_text()
    assert answer.confidence == 0.0 and not answer.results


@pytest.mark.parametrize(
    ("question", "said"),
    [
        ("combien a coûté la conception de Mon espace santé ?", "227"),  # an amount in the text, no budget field
        ("montant des fraudes aux fausses ordonnances stoppées en 2024", "13 M"),  # the year in the sentence
        ("where was the June 2025 regional steering committee held?", "Saint-Aven"),
        ("la DNS c'est combien de personnes ?", "cinquantaine"),  # a number word
        ("combien d'objectifs dans la feuille de route 2023-2027 ?", "65"),  # the year is the record's name
        ("nb de téléconsultations au S1 2025 ?", "2 300"),  # a passage dated by its title
        ("who heads the DGOS", "DGOS"),  # no post named: what the record says of who leads it
        ("Prévot a dirigé l'ANS pendant combien de temps ?", "six ans"),  # a duration in a person's title
        ("il existe combien de GRADeS en France ?", "17"),  # the count deep in the record's text comes first
        ("l'axe 1 de la FDR compte combien d'objectifs ?", "20 objectifs"),  # a count the axis states, no list
        ("combien de priorités a la feuille de route 2023-2027 ?", "18"),
        ("au 12e CNS qu'est-ce qui a été lancé ?", "SI de crise"),  # what a council did: its decisions
        ("le CNS de décembre 2024, c'était le quantième ?", "12e"),  # a council's rank by its date
        ("qui était là au 10e CNS ?", "Aurélien Rousseau"),  # who attended: the council's card
        ("decisions of the CNS in 2024 please", "API Eclaire"),  # decisions of a year
        ("il y avait combien de monde au lancement de la FDR 2023-2027 ?", "450"),  # "monde": people
        ("quel hébergeur a le Health Data Hub aujourd'hui ?", "Microsoft"),  # a host named
        ("which are the orientations of the 2019 roadmap", "gouvernance"),  # the plan named by its year
        ("c'est quelle action de Ma santé 2022 pour l'appli carte Vitale ?", "Action 7"),  # the one item asked
        # "envoyer" tells of the service, not "send me the document"
        ("depuis quand peut-on envoyer une ordonnance à son pharmacien par Mon espace santé ?", "mai 2023"),
        # "obligatoire pour" with a date asked is no request for advice; "à partir de" is no topic
        ("l'authentification forte est obligatoire pour Pro Santé Connect à partir de quand ?", "2026"),
        ("care c'est quel budget total ?", "750"),  # "care" in a French question is the programme
        ("les certifs et CR de consult dans MES c'est prévu pour quand", "2025"),  # chat short forms
        ("combien de M€ pour le domaine continuité d'activité de CaRE ?", "45 M"),  # the listed item's amount
        ("qui est responsable d'HOP'EN 2 ?", "DNS"),  # no post named: the owner
        ("when is programme Écho scheduled to wrap up?", "2027"),  # its end is a field
        # The topic in other forms than the record's ("France's", "work for"): the record whose text states it.
        ("how many people work for France's digital health delegation?", "cinquantaine"),
    ],
)
def test_what_the_record_holds_is_answered(kb: KnowledgeBase, question: str, said: str) -> None:
    answer = kb.ask(question)
    assert answer.intent != "unknown" and not answer.choices, answer.to_text()
    assert fold(said) in fold(answer.to_text())


def test_a_word_no_table_knows_leaves_the_answer_less_sure(kb: KnowledgeBase) -> None:
    """'agriculture' is in no record nor lexicon: the ministry of health may be a guess, never a sure answer."""
    answer = kb.ask("qui est le ministre de l'agriculture ?")
    assert answer.intent == "unknown" or answer.confidence < 0.78
    sure = kb.ask("qui est le ministre de la santé ?")  # every word read: as sure as before
    assert sure.results and sure.results[0]["id"] == "MINSANTE" and sure.confidence >= 0.78


def test_when_a_programme_ended_is_read_in_its_text_not_its_status(kb: KnowledgeBase) -> None:
    # "c'est terminé" is a status phrase, but "quand ?" asks the date the programme's text gives.
    answer = kb.ask("HOP'EN, c'est terminé quand ?")
    assert answer.intent == "about" and answer.results[0]["id"] == "HOPEN", answer.to_text()


def test_a_date_asked_of_a_person_is_an_about_answer_with_the_dates_of_the_post(kb: KnowledgeBase) -> None:
    answer = kb.ask("Laura Létourneau a quitté la DNS quand ?")
    assert answer.intent == "about" and answer.results[0]["id"] == "DNS", answer.to_text()
    assert "24 juin 2022" in answer.to_text()


def test_an_ambiguous_short_name_after_an_elided_article_is_the_name(kb: KnowledgeBase) -> None:
    # "ans" is an everyday French word, but not after "l'": "lans" written lower case is the agency.
    answer = kb.ask("qui est à la tête de lans aujourd'hui ?")
    assert answer.results and answer.results[0]["id"] == "ANS", answer.to_text()
    assert "Zerbini" in answer.to_text()


@pytest.mark.parametrize(
    "question",
    [
        "selon l'article, le 14e CNS a dit quoi de la publication semestrielle ?",  # the article, not the card
        "in the DSIH article, what should DSI do with the semestrial publication?",  # "DSI" as the text writes it
    ],
)
def test_a_question_citing_the_article_is_answered_by_its_passage(kb: KnowledgeBase, question: str) -> None:
    answer = kb.ask(question)
    assert answer.intent == "passage", answer.to_text()
    assert "semestrielle" in fold(answer.to_text())
