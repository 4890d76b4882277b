"""Answers quoted from a document's passage: which words a passage must hold, and what it must say."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge import KnowledgeBase
from knowledge.text import guess_language

CHARTER = """Charte d'usage (document de test)

Mots de passe
Chaque mot de passe doit comporter au moins douze caractères et change tous les ans.

Télétravail des équipes informatiques
Les équipes de la direction du numérique peuvent télétravailler deux jours par semaine, hors astreinte.

Téléconsultation
Les téléconsultations ont atteint 900 actes au premier semestre 2025.

Messagerie
Les pièces jointes de plus de 20 Mo sont refusées par la messagerie interne.

Retours d'expérience
Le comité a entendu les retours d'expérience des services. Ces témoignages ont souligné le besoin de formation.
"""

SOURCE = """source:
  title: Documents de l'hôpital de Valmont
  url: https://example.org/valmont/
actors:
  - id: VALMONT
    name: Hôpital de Valmont
  - id: DSOINS
    name: Direction des soins infirmiers
    parent: VALMONT
documents:
  - path: charte.txt
    url: https://example.org/valmont/charte-numerique
    title: Charte d'usage des outils numériques
    format: text
"""


@pytest.fixture(scope="module")
def charter_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    """A hospital's charter, whose title leaves the hospital out (its address names it), and the nursing
    directorate as a record: "infirmiers" is a word the knowledge names things with."""
    folder = tmp_path_factory.mktemp("charter-source")
    (folder / "charte.txt").write_text(CHARTER, encoding="utf-8")
    (folder / "valmont.yaml").write_text(SOURCE, encoding="utf-8")
    kb = KnowledgeBase(tmp_path_factory.mktemp("charter-kb"))
    kb.refresh([str(folder)], bundled=False)
    return kb


@pytest.mark.parametrize(
    ("question", "quoted"),
    [
        # The words asking the fact, the bound asked and the chat fillers are no topic words the passage must hold.
        ("mdp combien de caractères minimum chez nous ?", "au moins douze caractères"),
        ("minimum password length", "au moins douze caractères"),
        ("can IT staff work from home while on call?", "hors astreinte"),
        # The hospital is named by the document's address, not its title.
        ("combien de jours de télétravail à Valmont ?", "deux jours par semaine"),
        ("nb de téléconsultations au premier semestre ?", "900 actes"),
        ("taille max des PJ dans la messagerie ?", "20 Mo"),  # a short form of the chat ("PJ")
        # The sentence quoted first holds the question's words whole: "per" is not in "expérience".
        ("what did the testimonies stress, per the charter?", "besoin de formation"),
    ],
)
def test_a_passage_answers_for_the_words_it_holds(charter_kb: KnowledgeBase, question: str, quoted: str) -> None:
    answer = charter_kb.ask(question)
    assert answer.intent == "passage" and quoted in answer.text
    assert answer.sources[0]["url"] == "https://example.org/valmont/charte-numerique"


@pytest.mark.parametrize(
    "question",
    [
        "nurses can telework how many days a week under the charter?",  # the nurses: a word the passage lacks
        "combien de jours de télétravail à Brumeport ?",  # another hospital
        "nb de téléconsultations au S2 2025 ?",  # the first half does not say the second
        "combien de téléconsultations sur toute l'année 2025 ?",  # nor the whole year
        "combien de temps pour les téléconsultations du premier semestre 2025 ?",  # no duration said
        "quand les mots de passe ont-ils été allongés ?",  # no date said
    ],
)
def test_a_passage_that_does_not_say_it_is_not_quoted(charter_kb: KnowledgeBase, question: str) -> None:
    answer = charter_kb.ask(question)
    assert answer.intent != "passage", answer.text


def test_a_quoted_passage_is_never_a_confident_answer(charter_kb: KnowledgeBase) -> None:
    """A passage is found by the words it shares with the question, never by a name."""
    answer = charter_kb.ask("combien de jours de télétravail pour les équipes informatiques ?")
    assert answer.intent == "passage" and 0.6 <= answer.confidence < 0.78


def test_short_forms_expand_as_the_records_spell_them(tmp_path: Path) -> None:
    from knowledge.normalise import normalise, vocabulary

    vocab = vocabulary(None, ())
    assert normalise("combien d'ETP ?", vocab) == "combien d equivalents temps plein"
    assert normalise("l'AAP de la région", vocab) == "l appel a projets de la region"
    assert normalise("extension aux SSR", vocab) == "extension aux soins de suite et de readaptation"
    # Two letters that could be anything in lower case expand only in capitals.
    assert normalise("résultats envoyés aux MT", vocab).endswith("aux medecins traitants")
    assert normalise("télésurveillance IC", vocab).endswith("insuffisance cardiaque")
    assert "medecins" not in normalise("mt blanc", vocab)


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("can IT staff work from home while on call?", "en"),  # function words French never writes
        ("minimum password length", "en"),  # no marker: the words tell
        ("heart failure remote monitoring", "en"),
        ("budget IT 2025 ?", "fr"),  # an English word alone is not enough
        ("télésurveillance cardiaque", "fr"),
        ("mdp combien de caracteres minimum chez nous", "fr"),
        ("la HAS a publié quoi ?", "fr"),
        ("refresh https://example.org/plan.yaml", "fr"),  # an address's words are no language's
        # a French name written lower case in an English question full of English function words
        ("when will it be possible for a caregiver to use the account of their parent on Mon espace santé?", "en"),
        ("c'est quand que la délégation de l'accès is possible ?", "fr"),  # French markers as well
    ],
)
def test_the_language_of_a_question_of_plain_words(question: str, language: str) -> None:
    assert guess_language(question) == language
