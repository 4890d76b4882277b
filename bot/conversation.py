"""What every front end shares: commands, admin checks, rate limits, duplicates and the question log.

A front end turns its platform's event into (platform, user, text), calls `Conversation`, and renders
the `Answer` or text it gets back. Nothing here knows Slack, Teams or HTML.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from knowledge import Answer, KnowledgeBase, RefreshBusy, SourceErrors
from knowledge.phrases import counts_text, report_text, say
from knowledge.text import clip, guess_language, strip_mentions

from .questionlog import QuestionLog
from .ratelimit import RateLimiter

__all__ = [
    "Command",
    "Conversation",
    "AdminReply",
    "parse_command",
    "reply_language",
    "ADMIN_COMMANDS",
    "admins_from_env",
]

log = logging.getLogger("govbot.conversation")

ADMIN_COMMANDS = ("refresh", "stats", "unanswered", "sources", "forget")
# A refusal lists this many problems (each on its own line), then how many more.
MAX_PROBLEMS_SHOWN = 40
# Which environment variable lists each platform's admins.
ADMIN_ENV = {"slack": "GOVBOT_ADMINS", "teams": "GOVBOT_TEAMS_ADMINS", "web": "GOVBOT_WEB_ADMINS"}


@dataclass(frozen=True)
class Command:
    """A parsed message: `name` is 'ask', 'help' or an admin command; `args` follow it."""

    name: str
    args: tuple[str, ...] = ()
    text: str = ""


def parse_command(text: str) -> Command:
    """'refresh https://x/a.yaml' -> Command('refresh', ('https://x/a.yaml',)); anything else is a question.

    A command is the whole message: « sources du programme CaRE ? » is a question, not `sources`; `refresh`
    takes only http(s) URLs (Slack's `<url|label>` form included).
    """
    cleaned = strip_mentions(text or "")
    words = cleaned.split()
    head = words[0].lower().lstrip("/!") if words else ""
    if not words or (head in ("help", "aide") and len(words) == 1):
        return Command("help", (), cleaned)
    if head in ("stats", "unanswered", "sources") and len(words) == 1:
        return Command(head, (), cleaned)
    if head in ("forget", "oublier") and len(words) == 2:  # forget <number or url> of an added source
        return Command("forget", (_chat_url(words[1]) or words[1],), cleaned)
    if head == "refresh":
        urls = tuple(_chat_url(w) for w in words[1:])
        if all(urls):
            return Command("refresh", tuple(u for u in urls if u), cleaned)
    return Command("ask", (), cleaned)


def _chat_url(word: str) -> str | None:
    """An http(s) URL typed in a chat (local paths are for the command line only: chat admins may not make
    the server read its own files)."""
    url = word.strip("<>").split("|", 1)[0]
    return url if url.startswith(("http://", "https://")) and len(url) > 8 else None


def reply_language(text: str) -> str:
    """The language to answer in: French unless the message is clearly English (a lone word is French)."""
    return guess_language(text) if len(text.split()) > 1 else "fr"


def admins_from_env(platform: str) -> frozenset[str]:
    raw = os.environ.get(ADMIN_ENV.get(platform, ""), "")
    return frozenset(part.strip() for part in raw.replace(";", ",").split(",") if part.strip())


@dataclass
class AdminReply:
    """What to say at once, and (for a refresh) the work whose report to post when it ends."""

    text: str
    allowed: bool
    lang: str = "fr"
    background: Callable[[], Awaitable[str]] | None = None


class Conversation:
    """One behaviour for every platform."""

    def __init__(
        self,
        kb: KnowledgeBase,
        questions: QuestionLog | None = None,
        *,
        admins: dict[str, frozenset[str]] | None = None,
        rate_limit: int | None = None,
        admin_rate_limit: int = 5,
    ):
        self.kb = kb
        self.log = questions or QuestionLog(kb.path / "questions.sqlite")
        self.admins = admins if admins is not None else {p: admins_from_env(p) for p in ADMIN_ENV}
        self.limiter = RateLimiter(rate_limit or int(os.environ.get("GOVBOT_RATE_LIMIT", "30")))
        self.admin_limiter = RateLimiter(admin_rate_limit)
        self.refreshes: list[dict[str, float | bool]] = []
        self._refresh_lock = asyncio.Lock()
        self._refresh_claim = threading.Lock()  # taken when a refresh is accepted, released when it ends
        self.on_answer: list[Callable[[str, Answer, float], None]] = []

    def is_admin(self, platform: str, user: str) -> bool:
        return bool(user) and user in self.admins.get(platform, frozenset())

    def first_time(self, key: str) -> bool:
        """The duplicate filter: False when this delivery (event id, activity id...) was already handled."""
        return self.log.first_time(key)

    def ask(self, platform: str, user: str, text: str) -> Answer:
        """Answer a question, log it, and respect the per-user rate limit.

        Help and greetings are answered but not logged: they are not questions the knowledge failed.
        """
        question = clip(strip_mentions(text), 500)
        if not self.limiter.allow(self.log.user_hash(platform, user)):
            lang = guess_language(question)
            return Answer(intent="unknown", lang=lang, title="", text=say("rate_limited", lang))
        started = time.perf_counter()
        answer = self.kb.ask(question)
        elapsed = time.perf_counter() - started
        if answer.intent == "help":
            return answer
        self.log.question(platform, user, question, answer.intent, answer.confidence, answer.answered)
        for hook in self.on_answer:
            hook(platform, answer, elapsed)
        return answer

    async def ask_async(self, platform: str, user: str, text: str) -> Answer:
        return await asyncio.to_thread(self.ask, platform, user, text)

    def feedback(self, platform: str, user: str, question: str, value: str) -> str | None:
        """Record a 👍 / 👎 click; returns the thank-you sentence, or None for anything but 'up' or 'down'."""
        if value not in ("up", "down"):
            return None
        self.log.feedback(platform, user, question, value)
        return say("feedback_thanks", reply_language(question))

    async def feedback_async(self, platform: str, user: str, question: str, value: str) -> str | None:
        return await asyncio.to_thread(self.feedback, platform, user, question, value)

    async def admin_async(self, platform: str, user: str, command: Command) -> AdminReply:
        """`admin` off the event loop (stats and sources read SQLite)."""
        return await asyncio.to_thread(self.admin, platform, user, command)

    def admin(self, platform: str, user: str, command: Command) -> AdminReply:
        """Run an admin command if `user` may; a refusal runs nothing. Every attempt is logged."""
        lang = reply_language(command.text)
        args = " ".join(command.args)
        if not self.is_admin(platform, user):
            self.log.admin_action(platform, user, command.name, args, "refused")
            return AdminReply(say("not_admin", lang), allowed=False, lang=lang)
        if not self.admin_limiter.allow(self.log.user_hash(platform, user)):
            self.log.admin_action(platform, user, command.name, args, "rate limited")
            return AdminReply(say("rate_limited", lang), allowed=False, lang=lang)
        if command.name == "refresh":
            # Claimed here, not when the background task starts, so two admins cannot both start one.
            if not self._refresh_claim.acquire(blocking=False):
                self.log.admin_action(platform, user, "refresh", args, "busy")
                return AdminReply(say("refresh_busy", lang), allowed=True, lang=lang)

            async def run() -> str:
                try:
                    text, outcome = await self.refresh(list(command.args), lang)
                finally:
                    self._refresh_claim.release()
                if outcome == "failed":
                    self.admin_limiter.refund(self.log.user_hash(platform, user))
                self.log.admin_action(platform, user, "refresh", args, outcome)
                return text

            self.log.admin_action(platform, user, "refresh", args, "started")
            return AdminReply(say("refresh_started", lang), allowed=True, lang=lang, background=run)
        if command.name == "forget":
            text = self.forget_text(command.args[0] if command.args else "", lang)
            self.log.admin_action(platform, user, "forget", args, "ok")
            return AdminReply(text, allowed=True, lang=lang)
        text = {"stats": self.stats_text, "unanswered": self.unanswered_text, "sources": self.sources_text}[
            command.name
        ](lang)
        self.log.admin_action(platform, user, command.name, args, "ok")
        return AdminReply(text, allowed=True, lang=lang)

    async def refresh(self, sources: list[str], lang: str = "fr") -> tuple[str, str]:
        """Refresh in a worker thread; returns (the report or errors to post, a one-word outcome)."""
        async with self._refresh_lock:
            started = time.time()
            try:
                report = await asyncio.to_thread(self.kb.refresh, sources)
            except SourceErrors as exc:
                self.record_refresh(started, ok=False)
                shown = exc.problems[:MAX_PROBLEMS_SHOWN]
                errors = "\n".join(f"• {p.text(lang)}" for p in shown)
                if len(exc.problems) > len(shown):
                    errors += "\n" + say("list_more", lang, more=len(exc.problems) - len(shown))
                return say("refresh_failed", lang, errors=errors), "failed"
            except RefreshBusy:
                return say("refresh_busy", lang), "busy"
            except Exception as exc:  # an unexpected failure must not kill the bot; the old version answers
                log.exception("refresh failed")
                self.record_refresh(started, ok=False)
                return say("refresh_failed", lang, errors=f"• {type(exc).__name__}"), "failed"
            self.record_refresh(started, ok=True, duration=report.duration)
            return say("refresh_done", lang, summary=report_text(report, lang)), "ok"

    def record_refresh(self, started: float, *, ok: bool, duration: float | None = None) -> None:
        """One refresh for the metrics, whoever ran it (an admin, or the start-up build)."""
        self.refreshes.append(
            {"at": started, "ok": ok, "duration": time.time() - started if duration is None else duration}
        )

    def stats_text(self, lang: str) -> str:
        info = self.kb.info()
        week = self.log.week()
        return say("stats_text", lang, counts=counts_text(info["counts"], lang), built=info["built_at"], **week)

    def unanswered_text(self, lang: str) -> str:
        rows = self.log.unanswered()
        if not rows:
            return say("unanswered_none", lang)
        lines = [say("unanswered_title", lang)] + [f"{n} × {clip(q, 150)}" for q, n in rows]
        return "\n".join(lines)

    def sources_text(self, lang: str) -> str:
        """Every source of the current knowledge, then the sources an admin added, numbered for `forget`."""
        rows = self.kb.sources()
        lines = [say("sources_title", lang)] + [f"• {r['title']} — {r['url']} ({r['fetched_at']})" for r in rows]
        added = self.kb.remembered()
        lines += [say("remembered_title", lang) if added else say("remembered_none", lang)]
        lines += [f"{n}. {source}" for n, source in enumerate(added, 1)]
        return "\n".join(lines)

    def forget_text(self, which: str, lang: str) -> str:
        forgotten = self.kb.forget_source(which)
        if forgotten is None:
            return say("forget_unknown", lang, what=clip(which, 100))
        return say("forgotten", lang, source=forgotten)
