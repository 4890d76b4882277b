"""The behaviour every platform shares, tested once: one turn in, one reply out.

Slack, Teams and the web chat only translate their events into a `Turn` and render the `Reply`; what a
reply says (rate limits, "not ready", errors, admin rights, the knowledge date) is decided here.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from typing import Any

import pytest

from bot.conversation import Command, Conversation, parse_command
from bot.turn import Choice, Feedback, Kind, More, Share, Turn, payload, payload_json, read_action
from knowledge import KnowledgeBase
from knowledge.phrases import say

PLATFORMS = ("slack", "teams", "web")


def ask(conv: Conversation, text: str, user: str = "u1", platform: str = "web", admin: bool = False):
    return conv.respond(Turn(platform, user, "C1", text, admin=admin))


def click(conv: Conversation, action, user: str = "u1", platform: str = "web"):
    return conv.respond(Turn(platform, user, "C1", action=action))


def logged(conv: Conversation, sql: str) -> list[tuple[Any, ...]]:
    """Rows of the question log, read from its file as an operator would (read-only)."""
    with sqlite3.connect(f"file:{conv.log.path}?mode=ro", uri=True) as db:
        return db.execute(sql).fetchall()


def test_parse_command() -> None:
    assert parse_command("<@U1> refresh https://x.org/a.yaml") == Command(
        "refresh", ("https://x.org/a.yaml",), "refresh https://x.org/a.yaml"
    )
    assert parse_command("/stats").name == "stats"
    assert parse_command("").name == "help"
    assert parse_command("aide").name == "help"
    assert parse_command("aide sur le DMP").name == "ask"
    assert parse_command("qui pilote le DMP ?") == Command("ask", (), "qui pilote le DMP ?")
    assert parse_command("refresh <https://x.org/a.yaml|a.yaml>").args == ("https://x.org/a.yaml",)


def test_roadmap_commands() -> None:
    assert parse_command("roadmap ars-vdb") == Command("roadmap", ("ars-vdb",), "roadmap ars-vdb")
    assert parse_command("Feuille de route national").args == ("national",)
    assert parse_command("roadmap des objectifs en retard").name == "ask"


def test_a_command_is_the_whole_message() -> None:
    assert parse_command("sources du programme CaRE ?").name == "ask"
    assert parse_command("stats des objectifs en retard").name == "ask"
    assert parse_command("sources").name == "sources"


def test_chat_refresh_takes_urls_only() -> None:
    """A chat admin may not make the server read its own files: a path makes the message a question."""
    assert parse_command("refresh /etc/passwd").name == "ask"
    assert parse_command("refresh file:///etc/passwd").name == "ask"
    assert parse_command("refresh https://x.org/a.yaml http://y.org/b.csv").args == (
        "https://x.org/a.yaml",
        "http://y.org/b.csv",
    )


def test_help_and_greetings_are_not_logged_as_unanswered(kb: KnowledgeBase) -> None:
    conv = Conversation(kb)
    for text in ("help", "aide", "bonjour", "?"):
        reply = ask(conv, text)
        assert reply.kind is Kind.ANSWER and reply.answer is not None and reply.answer.intent == "help"
    assert conv.log.week() == {"answered": 0, "unanswered": 0}


@pytest.mark.parametrize("platform", PLATFORMS)
def test_an_answer_carries_the_question_and_the_knowledge_date(kb: KnowledgeBase, platform: str) -> None:
    reply = ask(Conversation(kb), "qui pilote le programme Atlas ?", platform=platform)
    assert reply.kind is Kind.ANSWER and reply.answer is not None and reply.answer.title == "Programme Atlas"
    assert (reply.question, reply.as_of, reply.lang) == ("qui pilote le programme Atlas ?", "2024-12-20", "fr")
    assert reply.text == reply.answer.to_text() and not reply.private


def test_a_clicked_choice_is_a_question_never_a_command(kb: KnowledgeBase) -> None:
    conv = Conversation(kb, admins={"web": frozenset({"u1"})})
    assert click(conv, Choice("objectif 12")).answer.results[0]["id"] == "12"
    assert click(conv, Choice("stats")).kind is Kind.ANSWER  # no admin output from a button
    assert conv.log.week()["answered"] + conv.log.week()["unanswered"] == 2


def test_share_and_more_repeat_an_answer_without_logging_or_counting_it(kb: KnowledgeBase) -> None:
    conv = Conversation(kb, rate_limit=1)
    assert ask(conv, "objectif 12").kind is Kind.ANSWER
    for action in (Share("objectif 12"), More("objectif 12"), Share("objectif 12")):
        reply = click(conv, action)
        assert reply.kind is Kind.ANSWER and reply.answer.results[0]["id"] == "12" and reply.as_of == "2024-12-20"
    assert conv.log.week() == {"answered": 1, "unanswered": 0}


def test_feedback_is_recorded_and_thanked_in_the_askers_language(kb: KnowledgeBase) -> None:
    conv = Conversation(kb)
    reply = click(conv, Feedback("up", "who owns objective 12?"), platform="teams")
    assert (reply.kind, reply.text, reply.private) == (Kind.THANKS, "Thanks for your feedback.", True)
    assert logged(conv, "SELECT platform, value FROM feedback") == [("teams", "up")]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_questions_are_rate_limited_per_user(kb: KnowledgeBase, platform: str) -> None:
    conv = Conversation(kb, rate_limit=3)
    replies = [ask(conv, "obj 12", platform=platform) for _ in range(4)]
    assert [r.kind for r in replies] == [Kind.ANSWER] * 3 + [Kind.RATE_LIMITED]
    assert replies[-1].text == say("rate_limited", "fr") and replies[-1].answer is None and replies[-1].private
    assert click(conv, Choice("obj 12"), platform=platform).kind is Kind.RATE_LIMITED  # a click is a question
    assert ask(conv, "obj 12", user="u2", platform=platform).kind is Kind.ANSWER
    assert conv.log.week() == {"answered": 4, "unanswered": 0}


@pytest.mark.parametrize("platform", PLATFORMS)
def test_feedback_is_rate_limited_per_user_apart_from_questions(kb: KnowledgeBase, platform: str) -> None:
    conv = Conversation(kb, rate_limit=2)
    votes = [click(conv, Feedback("down", "obj 12"), platform=platform).kind for _ in range(3)]
    assert votes == [Kind.THANKS, Kind.THANKS, Kind.RATE_LIMITED]
    assert len(logged(conv, "SELECT value FROM feedback")) == 2
    assert ask(conv, "obj 12", platform=platform).kind is Kind.ANSWER  # questions have their own window


@pytest.mark.parametrize("platform", PLATFORMS)
def test_before_the_first_build_every_platform_says_not_ready(tmp_path, platform: str) -> None:
    conv = Conversation(KnowledgeBase(tmp_path / "empty"), admins={platform: frozenset({"boss"})})
    for reply in (
        ask(conv, "qui pilote le programme Atlas ?", platform=platform),
        ask(conv, "who owns objective 12?", platform=platform),
        click(conv, Choice("objectif 12"), platform=platform),
        ask(conv, "stats", user="boss", platform=platform, admin=True),
    ):
        assert reply.kind is Kind.NOT_READY and reply.text == say("not_ready", reply.lang) and reply.private
    assert ask(conv, "who owns objective 12?", platform=platform).lang == "en"


def test_a_failure_is_an_apology_with_the_reference_the_logs_share(
    kb: KnowledgeBase, caplog: pytest.LogCaptureFixture
) -> None:
    conv = Conversation(kb)

    def broken_hook(*_: object) -> None:
        raise RuntimeError("a bug")

    conv.on_answer.append(broken_hook)
    with caplog.at_level(logging.ERROR, logger="govbot.conversation"):
        reply = ask(conv, "who owns objective 12?", platform="slack")
    assert reply.kind is Kind.ERROR and len(reply.ref) == 8
    assert reply.text == say("error", "en", ref=reply.ref)
    assert f"ref {reply.ref}" in caplog.text and "RuntimeError" in caplog.text
    conv.on_answer.remove(broken_hook)
    assert ask(conv, "who owns objective 12?").kind is Kind.ANSWER  # serving goes on


def test_non_admin_is_refused_and_logged(kb: KnowledgeBase) -> None:
    conv = Conversation(kb)
    reply = ask(conv, "stats", user="UOTHER", platform="slack", admin=False)
    assert (reply.kind, reply.background) == (Kind.REFUSED, None)
    assert reply.text == "Désolé, cette commande est réservée aux administrateurs de govbot."
    rows = logged(conv, "SELECT action, outcome, user_hash FROM admin_actions")
    assert rows == [("stats", "refused", conv.log.user_hash("slack", "UOTHER"))]
    assert "UOTHER" not in conv.log.path.read_bytes().decode("utf-8", "replace")


def test_admin_rights_come_from_the_turn_and_the_list_is_per_platform(kb: KnowledgeBase) -> None:
    conv = Conversation(kb, admins={"slack": frozenset({"UADMIN"})})
    assert conv.is_admin("slack", "UADMIN") and not conv.is_admin("teams", "UADMIN") and not conv.is_admin("slack", "")
    reply = ask(conv, "stats", user="UADMIN", platform="slack", admin=conv.is_admin("slack", "UADMIN"))
    assert reply.kind is Kind.ADMIN and reply.text.startswith("4 acteurs") and reply.private


def test_admin_commands_are_rate_limited(kb: KnowledgeBase) -> None:
    conv = Conversation(kb, admin_rate_limit=2)
    kinds = [ask(conv, "sources", user="A", admin=True).kind for _ in range(3)]
    assert kinds == [Kind.ADMIN, Kind.ADMIN, Kind.RATE_LIMITED]


def test_two_admins_cannot_both_start_a_refresh(kb: KnowledgeBase) -> None:
    conv = Conversation(kb)
    first = ask(conv, "refresh", user="A", platform="slack", admin=True)
    second = ask(conv, "refresh", user="B", platform="slack", admin=True)
    assert first.background is not None and first.text == say("refresh_started", "fr")
    assert second.background is None and second.text == "Une mise à jour est déjà en cours."
    report = asyncio.run(first.background())
    assert report.startswith("Base mise à jour")
    assert ask(conv, "refresh", user="B", platform="slack", admin=True).background is not None


def test_unanswered_questions_are_counted_for_admins(kb: KnowledgeBase) -> None:
    conv = Conversation(kb)
    for _ in range(2):
        ask(conv, "Quelle est la météo ?")
    ask(conv, "objectif 99")
    text = ask(conv, "unanswered", user="admin", admin=True).text
    assert text.splitlines()[:3] == [
        "Questions les plus fréquentes restées sans réponse",
        "2 × quelle est la météo ?",
        "1 × objectif 99",
    ]


@pytest.mark.parametrize(
    "action", [Choice("objectif 12"), Feedback("up", "obj 12"), Feedback("down", ""), Share("q"), More("q")]
)
def test_a_button_payload_reads_back_as_the_same_action(action) -> None:
    assert read_action(payload(action)) == action and read_action(payload_json(action)) == action


@pytest.mark.parametrize(
    "raw", [None, "", "{broken", "[1]", '{"feedback": "sideways", "question": "q"}', '{"choice": 12}', {"x": "y"}]
)
def test_anything_else_is_no_action(raw) -> None:
    assert read_action(raw) is None


def test_payloads_are_cut_to_what_platforms_carry() -> None:
    assert len(payload(Choice("x" * 5000))["choice"]) == 500 and read_action({"share": "y" * 900}) == Share("y" * 500)


def test_duplicate_filter(kb: KnowledgeBase) -> None:
    conv = Conversation(kb)
    assert conv.first_time("slack:Ev1") and not conv.first_time("slack:Ev1") and conv.first_time("slack:Ev2")


def test_the_duplicate_filter_survives_a_restart(tmp_path) -> None:
    from bot.questionlog import QuestionLog

    first = QuestionLog(tmp_path / "q.sqlite")
    assert first.first_time("slack:event:Ev1")
    first.close()
    again = QuestionLog(tmp_path / "q.sqlite")
    assert not again.first_time("slack:event:Ev1") and again.first_time("slack:event:Ev2")


def test_the_salt_is_kept_and_an_empty_one_replaced(tmp_path) -> None:
    from bot.questionlog import QuestionLog

    (tmp_path / "salt").write_bytes(b"")
    first = QuestionLog(tmp_path / "q.sqlite")
    salt = (tmp_path / "salt").read_bytes()
    assert len(salt) == 32 and oct((tmp_path / "salt").stat().st_mode & 0o777) == "0o600"
    assert QuestionLog(tmp_path / "q.sqlite").user_hash("web", "u") == first.user_hash("web", "u")
    assert not list(tmp_path.glob("salt.*.tmp"))
