"""What every front end shares: commands, admin checks, rate limits, duplicates and the question log.

A front end turns its platform's event into (platform, user, text), calls `Conversation`, and renders
the `Answer` or text it gets back. Nothing here knows Slack, Teams or HTML.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from knowledge import Answer, KnowledgeBase, RefreshBusy, SourceErrors
from knowledge.phrases import label, say
from knowledge.text import clip, guess_language, strip_mentions

from .questionlog import QuestionLog

__all__ = ["Command", "Conversation", "AdminReply", "parse_command", "ADMIN_COMMANDS", "admins_from_env"]

log = logging.getLogger("govbot.conversation")

ADMIN_COMMANDS = ("refresh", "stats", "unanswered", "sources")
# Which environment variable lists each platform's admins.
ADMIN_ENV = {"slack": "GOVBOT_ADMINS", "teams": "GOVBOT_TEAMS_ADMINS", "web": "GOVBOT_WEB_ADMINS"}


@dataclass(frozen=True)
class Command:
    """A parsed message: `name` is 'ask', 'help' or an admin command; `args` follow it."""

    name: str
    args: tuple[str, ...] = ()
    text: str = ""


def parse_command(text: str) -> Command:
    """'refresh https://x/a.yaml' -> Command('refresh', ('https://x/a.yaml',)); anything else is a question."""
    cleaned = strip_mentions(text or "")
    words = cleaned.split()
    head = words[0].lower().lstrip("/!") if words else ""
    if not words or (head in ("help", "aide") and len(words) == 1):
        return Command("help", (), cleaned)
    if head in ADMIN_COMMANDS:
        return Command(head, tuple(w.strip("<>") for w in words[1:]), cleaned)
    return Command("ask", (), cleaned)


def admins_from_env(platform: str) -> frozenset[str]:
    raw = os.environ.get(ADMIN_ENV.get(platform, ""), "")
    return frozenset(part.strip() for part in raw.replace(";", ",").split(",") if part.strip())


@dataclass
class AdminReply:
    """What to say at once, and (for a refresh) the work whose report to post when it ends."""

    text: str
    allowed: bool
    background: Callable[[], Awaitable[str]] | None = None


@dataclass
class _Limiter:
    per_minute: int
    hits: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        window = self.hits[key]
        while window and now - window[0] > 60:
            window.popleft()
        if len(window) >= self.per_minute:
            return False
        window.append(now)
        return True


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
        extra_sources: list[str] | None = None,
    ):
        self.kb = kb
        self.log = questions or QuestionLog(kb.path / "questions.sqlite")
        self.admins = admins if admins is not None else {p: admins_from_env(p) for p in ADMIN_ENV}
        self.limiter = _Limiter(rate_limit or int(os.environ.get("GOVBOT_RATE_LIMIT", "30")))
        self.admin_limiter = _Limiter(admin_rate_limit)
        self.extra_sources = extra_sources
        self.refreshes: list[dict[str, float | bool]] = []
        self._refresh_lock = asyncio.Lock()
        self._refresh_claimed = False
        self.on_answer: list[Callable[[str, Answer, float], None]] = []

    def is_admin(self, platform: str, user: str) -> bool:
        return bool(user) and user in self.admins.get(platform, frozenset())

    def first_time(self, key: str) -> bool:
        """The duplicate filter: False when this delivery (event id, activity id...) was already handled."""
        return self.log.first_time(key)

    def ask(self, platform: str, user: str, text: str) -> Answer:
        """Answer a question, log it, and respect the per-user rate limit."""
        question = clip(strip_mentions(text), 500)
        if not self.limiter.allow(self.log.user_hash(platform, user)):
            lang = guess_language(question)
            return Answer(intent="unknown", lang=lang, title="", text=say("rate_limited", lang))
        started = time.perf_counter()
        answer = self.kb.ask(question)
        elapsed = time.perf_counter() - started
        answered = answer.answered and bool(answer.results)
        self.log.question(platform, user, question, answer.intent, answer.confidence, answered)
        for hook in self.on_answer:
            hook(platform, answer, elapsed)
        return answer

    async def ask_async(self, platform: str, user: str, text: str) -> Answer:
        return await asyncio.to_thread(self.ask, platform, user, text)

    def feedback(self, platform: str, user: str, question: str, value: str) -> str:
        """Record a 👍 / 👎 click ('up' or 'down'); returns the thank-you sentence."""
        self.log.feedback(platform, user, question, "up" if value == "up" else "down")
        return say("feedback_thanks", guess_language(question))

    def admin(self, platform: str, user: str, command: Command) -> AdminReply:
        """Run an admin command if `user` may; a refusal runs nothing. Every attempt is logged."""
        lang = guess_language(command.text) if len(command.text.split()) > 2 else "fr"
        args = " ".join(command.args)
        if not self.is_admin(platform, user):
            self.log.admin_action(platform, user, command.name, args, "refused")
            return AdminReply(say("not_admin", lang), allowed=False)
        if not self.admin_limiter.allow(self.log.user_hash(platform, user)):
            self.log.admin_action(platform, user, command.name, args, "rate limited")
            return AdminReply(say("rate_limited", lang), allowed=False)
        if command.name == "refresh":
            # Claimed here, not when the background task starts, so two admins cannot both start one.
            if self._refresh_claimed or self._refresh_lock.locked():
                self.log.admin_action(platform, user, "refresh", args, "busy")
                return AdminReply(say("refresh_busy", lang), allowed=True)
            self._refresh_claimed = True

            async def run() -> str:
                try:
                    text, outcome = await self.refresh(list(command.args), lang)
                finally:
                    self._refresh_claimed = False
                self.log.admin_action(platform, user, "refresh", args, outcome)
                return text

            self.log.admin_action(platform, user, "refresh", args, "started")
            return AdminReply(say("refresh_started", lang), allowed=True, background=run)
        text = {"stats": self.stats_text, "unanswered": self.unanswered_text, "sources": self.sources_text}[
            command.name
        ](lang)
        self.log.admin_action(platform, user, command.name, args, "ok")
        return AdminReply(text, allowed=True)

    async def refresh(self, sources: list[str], lang: str = "fr") -> tuple[str, str]:
        """Refresh in a worker thread; returns (the report or errors to post, a one-word outcome)."""
        async with self._refresh_lock:
            started = time.time()
            try:
                report = await asyncio.to_thread(self.kb.refresh, [*(self.extra_sources or []), *sources])
            except SourceErrors as exc:
                self.refreshes.append({"at": started, "ok": False, "duration": time.time() - started})
                errors = "\n".join(f"• {p}" for p in exc.problems[:20])
                return say("refresh_failed", lang, errors=errors), "failed"
            except RefreshBusy:
                return say("refresh_busy", lang), "busy"
            except Exception as exc:  # an unexpected failure must not kill the bot; the old version answers
                log.exception("refresh failed")
                self.refreshes.append({"at": started, "ok": False, "duration": time.time() - started})
                return say("refresh_failed", lang, errors=f"• {type(exc).__name__}"), "failed"
            self.refreshes.append({"at": started, "ok": True, "duration": report.duration})
            return say("refresh_done", lang, summary=report.to_text()), "ok"

    def _counts(self, lang: str) -> str:
        info = self.kb.info()
        return ", ".join(f"{n} {label(k, lang).lower()}" for k, n in info["counts"].items())

    def stats_text(self, lang: str) -> str:
        info = self.kb.info()
        week = self.log.week()
        return say("stats_text", lang, counts=self._counts(lang), built=info["built_at"], **week)

    def unanswered_text(self, lang: str) -> str:
        rows = self.log.unanswered()
        if not rows:
            return say("unanswered_none", lang)
        lines = [say("unanswered_title", lang)] + [f"{n} × {clip(q, 150)}" for q, n in rows]
        return "\n".join(lines)

    def sources_text(self, lang: str) -> str:
        rows = self.kb.sources()
        lines = [say("sources_title", lang)] + [f"• {r['title']} — {r['url']} ({r['fetched_at']})" for r in rows]
        return "\n".join(lines)
