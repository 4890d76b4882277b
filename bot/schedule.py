"""Scheduled refreshes and the digest loop of `govbot serve`, run by one process among all that share a knowledge
directory.

Every serve process runs a `Service` loop, but only the one holding `<knowledge dir>/schedule.lock` (an
fcntl lock, released by the kernel when its process dies, however it dies) refreshes on schedule, turns
new versions into digests and delivers them; the others try to take the lock every few seconds, so one
takes over within `POLL` seconds of a crash. Settings: `GOVBOT_REFRESH_SCHEDULE` (cron, in
`GOVBOT_TIMEZONE`, Europe/Paris by default) or `govbot serve --refresh-every 6h`.

A failed scheduled refresh leaves the current knowledge answering; it is logged, counted (`/metrics`,
`govbot stats`) and told once to the admins' subscriptions, again only after a refresh has succeeded.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web
from croniter import croniter

from knowledge import KnowledgeBase, RefreshBusy, RefreshReport, SourceErrors, default_sources

from .delivery import Sender, deliver_due
from .digests import process_refresh, queue_notice
from .freshness import Probe, remote_changes
from .state import State

__all__ = [
    "Schedule",
    "Leader",
    "Service",
    "service_context",
    "SENDERS",
    "parse_every",
    "schedule_from",
    "refresh_if_changed",
]

log = logging.getLogger("govbot.schedule")

LOCK = "schedule.lock"
DEFAULT_TIMEZONE = "Europe/Paris"
# Seconds between two looks at the outbox, the pointer and the lock: a digest waits at most this long, and a
# standby process takes over this long after the scheduling one died.
POLL = 5.0
# Shorter than an hour is allowed (tests, demos) but never below this: a refresh takes seconds.
MIN_EVERY = 1.0
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_EVERY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
FAILED_NOTICE = "refresh-failed"


def parse_every(text: str) -> float:
    """'6h' -> 21600.0; '90s', '15m', '1d'. Raises ValueError with the expected form."""
    match = _EVERY.match(text.lower())
    if not match:
        raise ValueError(f"--refresh-every {text!r}: expected a number and a unit, like 30m, 6h or 1d")
    seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds < MIN_EVERY:
        raise ValueError(f"--refresh-every {text!r}: at least {MIN_EVERY:g} s")
    return seconds


@dataclass(frozen=True)
class Schedule:
    """A cron expression in a time zone, or a fixed interval."""

    cron: str = ""
    every: float = 0.0
    zone: str = DEFAULT_TIMEZONE

    def next_after(self, moment: datetime) -> datetime:
        if self.every:
            return moment + timedelta(seconds=self.every)
        return croniter(self.cron, moment.astimezone(ZoneInfo(self.zone))).get_next(datetime)

    def describe(self) -> str:
        return f"every {self.every:g} s" if self.every else f"cron {self.cron!r} ({self.zone})"


def schedule_from(environ: Mapping[str, str], every: str | None = None) -> Schedule | None:
    """The schedule the settings ask for, or None; raises ValueError naming the bad setting."""
    zone = environ.get("GOVBOT_TIMEZONE", "").strip() or DEFAULT_TIMEZONE
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"GOVBOT_TIMEZONE={zone!r}: not a time zone (e.g. Europe/Paris)") from None
    if every:
        return Schedule(every=parse_every(every), zone=zone)
    cron = environ.get("GOVBOT_REFRESH_SCHEDULE", "").strip()
    if not cron:
        return None
    if not croniter.is_valid(cron):
        raise ValueError(f"GOVBOT_REFRESH_SCHEDULE={cron!r}: not a cron expression (e.g. '0 6 * * 1-5')")
    return Schedule(cron=cron, zone=zone)


class Leader:
    """The schedule lock: held by at most one process at a time, dropped by the kernel when it dies."""

    def __init__(self, root: Path):
        self.path = Path(root) / LOCK
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> bool:
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _remote(kb: KnowledgeBase) -> list[str]:
    return [s for s in default_sources(kb.remembered(), bundled=False) if s.startswith(("http://", "https://"))]


def refresh_if_changed(kb: KnowledgeBase, state: State, probe: Probe | None) -> RefreshReport | None:
    """A scheduled refresh: rebuild only when a source changed (None: nothing changed, no new version).

    Local files are compared by fingerprint (`KnowledgeBase.ensure`); remote sources by the probe's
    conditional GET and sha256, or, with no probe, always rebuilt (the version diff then finds nothing to post).
    """
    remote = _remote(kb)
    if not remote:
        return kb.ensure()
    if probe is None:
        return kb.refresh()
    changed, fresh = remote_changes(remote, state.validators(), probe)
    if not changed:
        return kb.ensure()
    report = kb.refresh()
    state.save_validators(fresh)  # only once the refresh that read them succeeded
    return report


def fetch_probe(url: str, headers: Mapping[str, str]) -> tuple[int, Mapping[str, str], bytes]:
    """A probe through the knowledge's own fetcher (address policy, time budget, size cap). That fetcher sends
    no conditional headers yet, so the decision rests on the body's sha256: an unchanged source costs one
    download and no new version."""
    from knowledge.fetch import fetch

    body, _ = fetch(url)
    return 200, {}, body


RecordRefresh = Callable[..., None]


class Service:
    """The loop every `govbot serve` process runs (see the module docstring)."""

    def __init__(
        self,
        kb: KnowledgeBase,
        state: State,
        schedule: Schedule | None,
        senders: Mapping[str, Sender],
        *,
        refresh: Callable[[], RefreshReport | None] | None = None,
        record: RecordRefresh | None = None,
        poll: float | None = None,
        clock: Callable[[], datetime] | None = None,
    ):
        self.kb, self.state, self.schedule, self.senders = kb, state, schedule, dict(senders)
        self.refresh = refresh or (lambda: refresh_if_changed(kb, state, fetch_probe))
        self.record = record or (lambda started, ok, duration=0.0: None)
        self.poll = poll or POLL
        self.clock = clock or (lambda: datetime.now(ZoneInfo(schedule.zone if schedule else DEFAULT_TIMEZONE)))
        self.leader = Leader(kb.path)
        self.failures = 0
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()

    def wake(self) -> None:
        """Look at the pointer and the outbox now (e.g. right after an admin's refresh)."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    async def run(self) -> None:
        next_fire = self.schedule.next_after(self.clock()) if self.schedule else None
        if self.schedule:
            log.info("scheduled refresh %s; next at %s", self.schedule.describe(), next_fire)
        try:
            while not self._stop.is_set():
                if not self.leader.held and await asyncio.to_thread(self.leader.acquire):
                    interrupted = await asyncio.to_thread(self.state.reset_interrupted)
                    log.info(
                        "this process runs the schedule and the deliveries (%d interrupted digest(s))", interrupted
                    )
                if self.leader.held:
                    if self.schedule and next_fire is not None and self.clock() >= next_fire:
                        await self.tick()
                        next_fire = self.schedule.next_after(max(self.clock(), next_fire))
                    await self.deliver()
                wait = self.poll
                if self.leader.held and next_fire is not None:
                    wait = max(0.0, min(wait, (next_fire - self.clock()).total_seconds()))
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=wait)
        finally:
            self.leader.release()

    async def deliver(self) -> None:
        """Digests for any new version (whoever refreshed), then whatever the outbox holds that is due."""
        try:
            await asyncio.to_thread(process_refresh, self.kb, self.state)
            await deliver_due(self.state, self.senders)
        except Exception:  # the loop must outlive a damaged file or a bug in one sender
            log.exception("digest delivery failed; trying again in %.0f s", self.poll)

    async def tick(self) -> None:
        """One scheduled refresh."""
        started = time.time()
        try:
            report = await asyncio.to_thread(self.refresh)
        except RefreshBusy:
            log.info("scheduled refresh skipped: another refresh is running")
            await asyncio.to_thread(self.state.record_run, "busy")
            return
        except Exception as exc:
            self.failures += 1
            reason = _reason(exc)
            self.record(started, ok=False)
            log.error("scheduled refresh failed, the current knowledge keeps answering: %s", reason)
            await asyncio.to_thread(self.state.record_run, "failed", reason)
            await asyncio.to_thread(queue_notice, self.state, FAILED_NOTICE, "admin_refresh_failed", reason=reason)
            return
        await asyncio.to_thread(self.state.forget_notice, FAILED_NOTICE)
        if report is None:
            log.info("scheduled refresh: sources unchanged, no new version")
            await asyncio.to_thread(self.state.record_run, "unchanged")
            return
        self.record(started, ok=True, duration=report.duration)
        log.info("scheduled refresh: version %s in %.2f s", report.version, report.duration)
        await asyncio.to_thread(self.state.record_run, "refreshed", report.version)


def _reason(exc: Exception) -> str:
    if isinstance(exc, SourceErrors):
        return f"{len(exc.problems)} source problem(s): {exc.problems[0]}"
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


# What each mounted front end registers: platform -> its `send` (docs/subscriptions.md).
SENDERS = web.AppKey("govbot.senders", dict)


def service_context(
    app: web.Application, kb: KnowledgeBase, conv: Any, args: Any
) -> Callable[[web.Application], AsyncIterator[None]]:
    """`govbot serve`'s Service as an aiohttp cleanup context; raises ValueError for a bad schedule setting."""
    schedule = schedule_from(os.environ, getattr(args, "refresh_every", None))
    app.setdefault(SENDERS, {})
    conv.subscriptions = State(kb.path)  # the chat commands (abonner, unsubscribe...) now have a place to live

    async def context(app: web.Application) -> AsyncIterator[None]:
        from .senders import senders_from_env  # platform SDKs: loaded only by `govbot serve`

        state = conv.subscriptions
        matrix = None
        if os.environ.get("GOVBOT_MATRIX_HOMESERVER"):
            from .matrix import MATRIX

            matrix = app[MATRIX].client if MATRIX in app else None
        senders = {**senders_from_env(state, matrix_client=matrix), **app[SENDERS]}  # a front end's own wins
        log.info("digests can be sent to: %s", ", ".join(sorted(senders)))
        service = Service(kb, state, schedule, senders, record=conv.record_refresh)
        task = asyncio.create_task(service.run())
        yield
        service.stop()
        await task

    return context
