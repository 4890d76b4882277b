"""Matrix messages from answers (no homeserver needed): escaping, numbered choices, "plus", reactions, settings."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from bot.matrix import Settings, SettingsError, State
from bot.matrix_render import answer_message, more_message, pick_choice, reaction_value, text_message, wants_more
from knowledge import Answer, KnowledgeBase
from knowledge.phrases import say

HOSTILE = Answer(
    intent="about",
    lang="fr",
    title="<b>Programme</b> @room",
    text="Texte <script>alert(1)</script> & @ROOM, voir <a href='https://evil.example.org'>ici</a>",
    fields={"Porteur": "<img src=x onerror=alert(1)>"},
    sources=[
        {"title": "Ping", "url": "https://matrix.to/#/@victim:example.org"},
        {"title": 'Fiche "officielle"', "url": "https://example.org/fiche?a=1&b=2"},
        {"title": "Pas un lien", "url": "javascript:alert(1)"},
    ],
    results=[{"id": "x"}],
)


def test_knowledge_text_is_escaped_pings_no_one_and_makes_no_pill() -> None:
    message = answer_message(HOSTILE, as_of="2024-12-20")
    html = message.html
    assert "<script>" not in html and "<img" not in html and "<b>" not in html and "<a href='" not in html
    assert "&lt;script&gt;" in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "@room" not in message.body.lower() and "@room" not in html.lower()  # broken by a word joiner
    assert "@\u2060room" in message.body and "@\u2060ROOM" in message.body
    assert "matrix.to" not in html and "javascript:" not in html
    assert '<a href="https://example.org/fiche?a=1&amp;b=2">Fiche &quot;officielle&quot;</a>' in html
    assert "https://example.org/fiche?a=1&b=2" in message.body  # the plain body reads on its own
    assert message.content()["m.mentions"] == {}
    assert "Base du 2024-12-20" in message.body


def test_the_plain_body_holds_the_answer_its_facts_and_sources(kb: KnowledgeBase) -> None:
    message = answer_message(kb.ask("Où en est l'objectif 12 ?"))
    lines = message.body.splitlines()
    assert lines[0].startswith("Objectif 12 — ")
    assert "• Statut : en cours" in lines and "Sources :" in lines
    assert any(line.startswith("→ ") and "https://example.org/" in line for line in lines)
    assert say("matrix_feedback", "fr") in message.body and not message.rest


def test_a_long_answer_keeps_the_asked_fact_and_offers_the_rest_on_plus() -> None:
    lines = [f"Ligne {n} du détail" for n in range(40)]
    answer = Answer(intent="list", lang="fr", title="Objectifs (40)", text="\n".join(lines), results=[{"id": "1"}])
    first = answer_message(answer)
    assert "Objectifs (40)" in first.body and "Ligne 0 du détail" in first.body and "Ligne 39" not in first.body
    assert say("matrix_more", "fr") in first.body
    shown = [line for line in lines if line in first.body.splitlines()]
    assert first.rest == tuple(lines[len(shown) :])
    second = more_message(first.rest, "fr")
    assert second.body.splitlines()[0] == lines[len(shown)]
    third = more_message(second.rest, "fr")
    assert not third.rest and "Ligne 39 du détail" in third.body and say("matrix_more", "fr") not in third.body
    assert wants_more("Plus") and wants_more("more!") and wants_more("la suite") and not wants_more("plus tard")


def test_choices_are_numbered_and_picked_by_number_or_words() -> None:
    choices = (("Qui pilote HospiConnect ?", "q1"), ("Qui dirige l'ANS ?", "q2"), ("Décisions du 14e Conseil", "q3"))
    answer = Answer(
        intent="unknown", lang="fr", title="", text="?", choices=[{"label": name, "query": q} for name, q in choices]
    )
    message = answer_message(answer)
    assert message.choices == choices and "2. Qui dirige l'ANS ?" in message.body
    assert "<ol><li>Qui pilote HospiConnect ?</li>" in message.html and say("matrix_choose", "fr") in message.body
    assert say("matrix_feedback", "fr") not in message.body  # a question back is not an answer to rate
    assert [pick_choice(t, choices) for t in ("1", " 2. ", "3", "4", "0")] == ["q1", "q2", "q3", None, None]
    assert pick_choice("hospiconnect", choices) == "q1" and pick_choice("Qui dirige l’ANS ?", choices) == "q2"
    assert pick_choice("decisions", choices) == "q3"  # accents folded
    assert pick_choice("qui", choices) is None  # two choices hold it: ambiguous, so a question
    assert pick_choice("Où en est l'objectif 12 ?", choices) is None


@pytest.mark.parametrize(
    ("key", "value"),
    [("👍", "up"), ("👍️", "up"), ("👍🏽", "up"), ("👎", "down"), ("👎🏿", "down"), ("❤️", None), ("", None)],
)
def test_thumbs_reactions_are_feedback_whatever_their_skin_tone(key: str, value: str | None) -> None:
    assert reaction_value(key) == value


def test_admin_text_keeps_its_lines_escaped() -> None:
    message = text_message("Erreurs :\n• <b>source.yaml</b> @room")
    assert message.html == "Erreurs :<br>• &lt;b&gt;source.yaml&lt;/b&gt; @\u2060room"


def test_settings_say_what_is_missing_and_default_to_the_bot_s_own_server() -> None:
    base = {"GOVBOT_MATRIX_HOMESERVER": "https://matrix.example.org/", "GOVBOT_MATRIX_USER": "@govbot:example.org"}
    with pytest.raises(SettingsError, match="GOVBOT_MATRIX_TOKEN"):
        Settings.from_env(base)
    with pytest.raises(SettingsError, match="full user id"):
        Settings.from_env(base | {"GOVBOT_MATRIX_USER": "govbot", "GOVBOT_MATRIX_TOKEN": "t"})
    with pytest.raises(SettingsError, match="https://"):
        Settings.from_env(base | {"GOVBOT_MATRIX_HOMESERVER": "matrix.example.org", "GOVBOT_MATRIX_TOKEN": "t"})
    settings = Settings.from_env(base | {"GOVBOT_MATRIX_PASSWORD": "p", "GOVBOT_MATRIX_ADMINS": "@a:example.org; @b:x"})
    assert settings.homeserver == "https://matrix.example.org" and settings.servers == {"example.org"}
    assert settings.admins == {"@a:example.org", "@b:x"}
    listed = Settings.from_env(base | {"GOVBOT_MATRIX_TOKEN": "t", "GOVBOT_MATRIX_ALLOWED_SERVERS": "a.fr, b.fr"})
    assert listed.servers == {"a.fr", "b.fr"}


def test_state_is_private_and_not_reused_for_another_account(tmp_path: Path) -> None:
    path = tmp_path / "matrix" / "state.json"
    State(path, "@old:example.org", "DEVICE", "token", "batch").save()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert State.load(path, "@old:example.org").device_id == "DEVICE"
    assert State.load(path, "@new:example.org").device_id == ""
    path.write_text("{not json")
    assert State.load(path, "@old:example.org").next_batch == ""
