"""The one conversation turn every front end shares: questions, clicks, admin commands, their limits.

A front end turns its platform's event into a `Turn` (bot/turn.py), awaits `Conversation.handle`, and
renders the `Reply`. Everything that must behave the same on every platform happens here, once: rate
limits (questions and feedback), admin permissions, the question log, the "not ready" message before
the first build, and an apology with a reference when something fails. Nothing here knows Slack,
Teams or HTML.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from knowledge import Answer, KnowledgeBase, KnowledgeMissing, RefreshBusy, SourceErrors
from knowledge.phrases import counts_text, report_text, say
from knowledge.text import clip, guess_language, strip_mentions

from .answercache import AnswerCache, size_from_env
from .questionlog import QuestionLog
from .ratelimit import LIMITS_FILE, SharedRateLimiter
from .settings import ADMIN_ENV, admins_from_env, rate_limit_from_env
from .state import State
from .subscriptions import Where, reply_to
from .subscriptions import parse as subscription_command
from .turn import Choice, Feedback, Kind, More, Reply, Share, Turn

__all__ = [
    "Command",
    "Conversation",
    "parse_command",
    "reply_language",
    "knowledge_date",
    "ADMIN_COMMANDS",
]

log = logging.getLogger("govbot.conversation")

ADMIN_COMMANDS = ("refresh", "stats", "unanswered", "sources", "forget", "roadmap")
# A refusal lists this many problems (each on its own line), then how many more.
MAX_PROBLEMS_SHOWN = 40


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
    # roadmap <id> / feuille de route <id>: the roadmap a conversation means when a question names none.
    if head == "roadmap" and len(words) == 2:
        return Command("roadmap", (words[1],), cleaned)
    if [w.lower() for w in words[:3]] == ["feuille", "de", "route"] and len(words) == 4:
        return Command("roadmap", (words[3],), cleaned)
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


def _said(turn: Turn) -> str:
    """What the person said or clicked, for choosing the reply's language."""
    action = turn.action
    if isinstance(action, Choice):
        return action.query
    return action.question if action is not None else turn.text


def reply_language(text: str) -> str:
    """The language to answer in: French unless the message is clearly English (a lone word is French)."""
    return guess_language(text) if len(text.split()) > 1 else "fr"


def knowledge_date(info: dict[str, object]) -> str:
    """The date the knowledge speaks for: its newest source date, else the day it was built."""
    return str(info.get("latest_date") or str(info.get("built_at", ""))[:10])


class Conversation:
    """One behaviour for every platform: `handle(turn)` is the whole of it."""

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
        # Set by `govbot serve`, which delivers digests; elsewhere the commands are questions like any other.
        self.subscriptions: State | None = None
        self.admins = admins if admins is not None else {p: admins_from_env(p) for p in ADMIN_ENV}
        # In SQLite beside the knowledge: every process serving this directory shares them (--workers N).
        limits = kb.path / LIMITS_FILE
        self.limiter = SharedRateLimiter(limits, rate_limit or rate_limit_from_env(), name="questions")
        self.admin_limiter = SharedRateLimiter(limits, admin_rate_limit, name="admin")
        self.refreshes: list[dict[str, float | bool]] = []
        self._refresh_lock = asyncio.Lock()
        self._refresh_claim = threading.Lock()  # taken when a refresh is accepted, released when it ends
        self.on_answer: list[Callable[[str, Answer, float], None]] = []
        self.cache = AnswerCache(kb, size_from_env())  # GOVBOT_ANSWER_CACHE=0 turns it off
        self.ask: Callable[..., Answer] = self.cache.ask  # (question, roadmap=...)

    def close(self) -> None:
        """Close the question log and the limits' databases (at shutdown)."""
        self.log.close()
        self.limiter.close()
        self.admin_limiter.close()

    def is_admin(self, platform: str, user: str) -> bool:
        """Whether `user`, an id the platform authenticated, is listed as one of its admins."""
        return bool(user) and user in self.admins.get(platform, frozenset())

    def examples(self, lang: str) -> list[str]:
        """Example questions the knowledge answers directly (none before the first build)."""
        try:
            return self.kb.examples(lang)
        except KnowledgeMissing:
            return []

    def first_time(self, key: str) -> bool:
        """The duplicate filter: False when this delivery (event id, activity id...) was already handled."""
        return self.log.first_time(key)

    async def handle(self, turn: Turn) -> Reply:
        """Answer one turn: off the event loop (the knowledge takes milliseconds), unless it is a question
        whose answer is in memory: then only its limit and its log row remain, written with the other
        requests of the same loop turn (bot/sqlbatch.py), cheaper than the hand-over to a thread and back."""
        held = self._answer_in_memory(turn)
        if held is None:
            return await asyncio.to_thread(self.respond, turn)
        try:
            return await self._held_question(turn, *held)
        except Exception as exc:
            return self._failed(turn, exc)

    def _answer_in_memory(self, turn: Turn) -> tuple[str, str] | None:
        """(the question, the roadmap it means) when `turn` is a question (typed or a clicked choice) the
        answer cache holds, else None."""
        action = turn.action
        if isinstance(action, Choice):
            text = action.query
        elif action is None:
            command = parse_command(turn.text)
            if command.name != "ask":
                return None
            if self.subscriptions is not None and subscription_command(clip(command.text, 500)) is not None:
                return None
            text = command.text
        else:
            return None
        try:
            roadmap = self.log.roadmap(turn.platform, turn.where) if turn.where else ""
            return (text, roadmap) if self.cache.holds(clip(strip_mentions(text), 500), roadmap) else None
        except KnowledgeMissing:
            return None

    async def _held_question(self, turn: Turn, text: str, roadmap: str) -> Reply:
        """`_question` for an answer in memory, its two writes awaited from the event loop."""
        question = clip(strip_mentions(text), 500)
        if not await self.limiter.allow_soon(self.log.user_hash(turn.platform, turn.user)):
            return self._limited(question)
        started = time.perf_counter()
        answer = self.ask(question, roadmap=roadmap)
        elapsed = time.perf_counter() - started
        if answer.intent != "help":
            await self.log.question_soon(
                turn.platform, turn.user, question, answer.intent, answer.confidence, answer.answered
            )
            self._answered(turn, answer, elapsed)
        return self._answer(question, answer)

    def respond(self, turn: Turn) -> Reply:
        """The reply to one turn; never raises: a failure is an apology with a reference the logs share."""
        try:
            return self._respond(turn)
        except Exception as exc:
            return self._failed(turn, exc)

    def _failed(self, turn: Turn, exc: Exception) -> Reply:
        """ "Not ready" before the first build, else an apology with a reference the logs share."""
        lang = reply_language(_said(turn))
        if isinstance(exc, KnowledgeMissing):
            return Reply(Kind.NOT_READY, lang, say("not_ready", lang))
        ref = secrets.token_hex(4)
        log.error("%s turn failed (ref %s)", turn.platform, ref, exc_info=exc)
        return Reply(Kind.ERROR, lang, say("error", lang, ref=ref), ref=ref)

    def _respond(self, turn: Turn) -> Reply:
        action = turn.action
        if isinstance(action, Feedback):
            return self._feedback(turn, action)
        if isinstance(action, Share | More):
            # The same answer again (shared, or in full): not a new question for the log or the limits.
            preferred = self.log.roadmap(turn.platform, turn.where) if turn.where else ""
            return self._answer(action.question, self.ask(clip(action.question, 500), roadmap=preferred))
        if isinstance(action, Choice):
            return self._question(turn, action.query)  # a clicked choice is a question, never a command
        if self.subscriptions is not None and (said := self._subscription(turn)) is not None:
            return said
        command = parse_command(turn.text)
        if command.name in ADMIN_COMMANDS:
            return self._admin(turn, command)
        return self._question(turn, command.text)

    def _subscription(self, turn: Turn) -> Reply | None:
        """`abonner …`, `unsubscribe`, `abonnements` (bot/subscriptions.py), or None for anything else."""
        assert self.subscriptions is not None
        where = Where(
            turn.platform,
            turn.where or turn.user,
            turn.user,
            direct=turn.direct,
            admin=turn.admin,
            can_post=turn.reach is not None,
            conversation=dict(turn.reach or {}),
        )
        said = reply_to(clip(strip_mentions(turn.text), 500), where, self.subscriptions, self.kb)
        return Reply(Kind.ADMIN, said[0], said[1]) if said is not None else None

    def _answer(self, question: str, answer: Answer) -> Reply:
        as_of = knowledge_date(self.kb.info())
        return Reply(Kind.ANSWER, answer.lang, answer.to_text(), answer=answer, question=question, as_of=as_of)

    def _question(self, turn: Turn, text: str) -> Reply:
        """Answer a question, log it, and respect the per-user rate limit.

        Help and greetings are answered but not logged: they are not questions the knowledge failed.
        """
        question = clip(strip_mentions(text), 500)
        if not self.limiter.allow(self.log.user_hash(turn.platform, turn.user)):
            return self._limited(question)
        started = time.perf_counter()
        answer = self.ask(question, roadmap=self.log.roadmap(turn.platform, turn.where) if turn.where else "")
        elapsed = time.perf_counter() - started
        if answer.intent != "help":
            self.log.question(turn.platform, turn.user, question, answer.intent, answer.confidence, answer.answered)
            self._answered(turn, answer, elapsed)
        return self._answer(question, answer)

    def _limited(self, question: str) -> Reply:
        lang = reply_language(question)
        return Reply(Kind.RATE_LIMITED, lang, say("rate_limited", lang), question=question)

    def _answered(self, turn: Turn, answer: Answer, elapsed: float) -> None:
        for hook in self.on_answer:
            hook(turn.platform, answer, elapsed)

    def _feedback(self, turn: Turn, feedback: Feedback) -> Reply:
        """Record a 👍 / 👎 click, within its own per-user limit (a script must not flood the log)."""
        lang = reply_language(feedback.question)
        if not self.limiter.allow(self.log.user_hash(turn.platform, turn.user) + ":feedback"):
            return Reply(Kind.RATE_LIMITED, lang, say("rate_limited", lang))
        self.log.feedback(turn.platform, turn.user, feedback.question, feedback.value)
        return Reply(Kind.THANKS, lang, say("feedback_thanks", lang))

    def _admin(self, turn: Turn, command: Command) -> Reply:
        """Run an admin command if the asker is one; a refusal runs nothing. Every attempt is logged."""
        lang = reply_language(command.text)
        args = " ".join(command.args)
        platform, user = turn.platform, turn.user

        def refused(kind: Kind, phrase: str, outcome: str) -> Reply:
            self.log.admin_action(platform, user, command.name, args, outcome)
            return Reply(kind, lang, say(phrase, lang))

        if not turn.admin:
            return refused(Kind.REFUSED, "not_admin", "refused")
        if not self.admin_limiter.allow(self.log.user_hash(platform, user)):
            return refused(Kind.RATE_LIMITED, "rate_limited", "rate limited")
        if command.name == "refresh":
            # Claimed here, not when the background task starts, so two admins cannot both start one.
            if not self._refresh_claim.acquire(blocking=False):
                self.log.admin_action(platform, user, "refresh", args, "busy")
                return Reply(Kind.ADMIN, lang, say("refresh_busy", lang))

            async def run() -> str:
                """The refresh's report; never raises (front ends post whatever it returns)."""
                try:
                    text, outcome = await self.refresh(list(command.args), lang)
                    if outcome == "failed":  # fixing a source and trying again is normal work, not abuse
                        self.admin_limiter.refund(self.log.user_hash(platform, user))
                    self.log.admin_action(platform, user, "refresh", args, outcome)
                except Exception:
                    ref = secrets.token_hex(4)
                    log.exception("refresh report failed (ref %s)", ref)
                    text = say("error", lang, ref=ref)
                finally:
                    self._refresh_claim.release()
                return text

            self.log.admin_action(platform, user, "refresh", args, "started")
            return Reply(Kind.ADMIN, lang, say("refresh_started", lang), background=run)
        if command.name == "forget":
            text = self.forget_text(command.args[0] if command.args else "", lang)
            self.log.admin_action(platform, user, "forget", args, "ok")
            return Reply(Kind.ADMIN, lang, text)
        if command.name == "roadmap":
            text, outcome = self.roadmap_text(turn, command.args[0], lang)
            self.log.admin_action(platform, user, "roadmap", args, outcome)
            return Reply(Kind.ADMIN, lang, text)
        if command.name == "stats":
            text = self.stats_text(lang, turn)
        else:
            text = {"unanswered": self.unanswered_text, "sources": self.sources_text}[command.name](lang)
        self.log.admin_action(platform, user, command.name, args, "ok")
        return Reply(Kind.ADMIN, lang, text)

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

    def stats_text(self, lang: str, turn: Turn | None = None) -> str:
        """What the knowledge holds, this week's questions, and (asked from a conversation) its roadmap."""
        info = self.kb.info()
        week = self.log.week()
        text = say("stats_text", lang, counts=counts_text(info["counts"], lang), built=info["built_at"], **week)
        if turn is not None and (preferred := self.log.roadmap(turn.platform, turn.where)):
            text += "\n" + say("roadmap_here", lang, roadmap=self.kb.roadmaps().get(preferred, preferred))
        if self.subscriptions is not None:
            service = self.subscriptions.summary()
            last = service["last_scheduled_refresh"] or {"outcome": "—", "at": "—"}
            count = service["failed_in_a_row"]
            failing = say("stats_failing", lang, count=count) if count else ""
            active, paused = service["subscriptions"], service["paused"]
            at = last["at"]
            text += "\n" + say(
                "stats_subscriptions",
                lang,
                active=active,
                paused=paused,
                outcome=last["outcome"],
                at=at,
                failing=failing,
            )
        return text

    def roadmap_text(self, turn: Turn, asked: str, lang: str) -> tuple[str, str]:
        """Set the roadmap this conversation means when a question names none; (what to say, outcome)."""
        known = self.kb.roadmaps()
        found = next((rid for rid in known if rid.lower() == asked.lower()), None)
        if found is None:
            return say("roadmap_unknown", lang, roadmap=clip(asked, 64), known=", ".join(sorted(known))), "unknown"
        self.log.set_roadmap(turn.platform, turn.where, found)
        return say("roadmap_set", lang, roadmap=known[found]), "ok"

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
