"""The example questions users are shown: only those the loaded knowledge answers directly, the same on
every platform (help, the web chat page, Slack's App Home, the Teams welcome)."""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest

from bot.conversation import Conversation
from bot.slack_blocks import home_view
from bot.teams_cards import welcome_answer
from bot.web import STATIC, render_page
from knowledge import Answer, KnowledgeBase
from knowledge.examples import SHOWN, choose, is_direct
from knowledge.phrases import EXAMPLE_CANDIDATES

# Candidates the bundled knowledge cannot answer: no numbered objective list, no owner named for HospiConnect.
NON_ANSWERS = {"fr": ["Où en est l'objectif 23 ?", "Qui pilote HospiConnect ?"], "en": ["Who owns HospiConnect?"]}


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_every_example_gets_a_direct_answer(bundled_kb: KnowledgeBase, lang: str) -> None:
    shown = bundled_kb.examples(lang)
    assert 3 <= len(shown) <= SHOWN and set(shown) <= set(EXAMPLE_CANDIDATES[lang])
    for question in shown:
        answer = bundled_kb.ask(question)
        assert is_direct(answer) and answer.lang == lang and answer.sources, question
    for question in NON_ANSWERS[lang]:
        assert question not in shown and not is_direct(bundled_kb.ask(question))


def test_help_offers_the_same_examples(bundled_kb: KnowledgeBase) -> None:
    help_answer = bundled_kb.ask("aide")
    assert [c["query"] for c in help_answer.choices] == bundled_kb.examples("fr")[:3]
    assert all(f"• {q}" in help_answer.text for q in bundled_kb.examples("fr"))


def test_knowledge_that_answers_no_candidate_shows_no_example(kb: KnowledgeBase) -> None:
    assert kb.examples("fr") == [] and kb.ask("aide").choices == []


def test_an_owner_question_answered_without_an_owner_is_no_example() -> None:
    def ask(question: str) -> Answer:
        # The HospiConnect case: the record is found, surely, but names no owner.
        answer = Answer(intent="owner", lang="fr", title="X", text="…", confidence=0.95, results=[{"id": "X"}])
        if "ANS" in question:
            answer.fields["people"] = "Jean Exemple (directeur)"
        return answer

    assert choose(ask, "fr") == ["Qui dirige l'ANS ?"]


def test_before_the_first_build_there_are_no_examples(tmp_path: Path) -> None:
    assert Conversation(KnowledgeBase(tmp_path / "empty")).examples("fr") == []


def test_every_platform_shows_the_examples_the_knowledge_answers(bundled_copy: KnowledgeBase) -> None:
    conv = Conversation(bundled_copy)
    fr, en = conv.examples("fr"), conv.examples("en")
    page = render_page((STATIC / "index.html").read_text(encoding="utf-8"), "fr", "", fr)
    assert [html.unescape(b) for b in _between(page, 'class="example">', "</button>")] == fr
    home = json.dumps(home_view(bundled_copy.info(), {"fr": fr, "en": en}), ensure_ascii=False)
    assert all(f"• {q}" in home for q in fr + en) and "HospiConnect" not in home
    assert [c["query"] for c in welcome_answer("fr", fr).choices] == fr


def _between(text: str, start: str, end: str) -> list[str]:
    return [part.split(end, 1)[0] for part in text.split(start)[1:]]


def test_with_no_example_to_offer_no_one_is_told_to_try_them() -> None:
    """A knowledge that answers none of the candidates (another organisation's) gets no dangling "Essayez :"."""
    template = (STATIC / "index.html").read_text(encoding="utf-8")
    assert "Essayez :" in render_page(template, "fr", "", ["Qui porte le programme CaRE ?"])
    assert "Essayez" not in render_page(template, "fr", "", []) and "Try:" not in render_page(template, "en", "", [])
    assert welcome_answer("fr", []).text.endswith("avec la source.")
    assert welcome_answer("en", ["Who runs CaRE?"]).text.endswith("Try:")
