"""The behaviour every platform shares: commands, admin checks, the refresh claim, rate limits, the log."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

from bot.conversation import Command, Conversation, parse_command
from knowledge import KnowledgeBase


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
        assert conv.ask("web", "u1", text).intent == "help"
    assert conv.log.week() == {"answered": 0, "unanswered": 0}


def test_feedback_accepts_up_and_down_only(kb: KnowledgeBase) -> None:
    conv = Conversation(kb)
    assert conv.feedback("teams", "u1", "obj 12", "sideways") is None
    assert conv.feedback("teams", "u1", "who owns objective 12?", "up") == "Thanks for your feedback."
    assert logged(conv, "SELECT value FROM feedback") == [("up",)]


def test_non_admin_is_refused_and_logged(kb: KnowledgeBase) -> None:
    conv = Conversation(kb, admins={"slack": frozenset({"UADMIN"})})
    reply = conv.admin("slack", "UOTHER", parse_command("stats"))
    assert not reply.allowed and reply.background is None
    assert reply.text == "Désolé, cette commande est réservée aux administrateurs de govbot."
    rows = logged(conv, "SELECT action, outcome, user_hash FROM admin_actions")
    assert rows == [("stats", "refused", conv.log.user_hash("slack", "UOTHER"))]
    assert "UOTHER" not in conv.log.path.read_bytes().decode("utf-8", "replace")


def test_two_admins_cannot_both_start_a_refresh(kb: KnowledgeBase) -> None:
    conv = Conversation(kb, admins={"slack": frozenset({"A", "B"})})
    first = conv.admin("slack", "A", parse_command("refresh"))
    second = conv.admin("slack", "B", parse_command("refresh"))
    assert first.background is not None
    assert second.background is None and second.text == "Une mise à jour est déjà en cours."
    report = asyncio.run(first.background())
    assert report.startswith("Base mise à jour")
    assert conv.admin("slack", "B", parse_command("refresh")).background is not None


def test_questions_are_rate_limited_per_user(kb: KnowledgeBase) -> None:
    conv = Conversation(kb, rate_limit=3)
    answers = [conv.ask("web", "u1", "obj 12") for _ in range(4)]
    assert [a.intent for a in answers] == ["status", "status", "status", "unknown"]
    assert answers[-1].text.startswith("Vous posez beaucoup de questions")
    assert conv.ask("web", "u2", "obj 12").intent == "status"
    assert conv.log.week() == {"answered": 4, "unanswered": 0}


def test_unanswered_questions_are_counted_for_admins(kb: KnowledgeBase) -> None:
    conv = Conversation(kb, admins={"web": frozenset({"admin"})})
    for _ in range(2):
        conv.ask("web", "u1", "Quelle est la météo ?")
    conv.ask("web", "u1", "objectif 99")
    text = conv.admin("web", "admin", parse_command("unanswered")).text
    assert text.splitlines()[:3] == [
        "Questions les plus fréquentes restées sans réponse",
        "2 × quelle est la météo ?",
        "1 × objectif 99",
    ]


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
