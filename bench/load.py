"""The service under load: `govbot serve` on loopback in a child process, driven from this one.

Three parts, each at concurrency 1, 16 and 64 for a bounded time: web chat questions (POST /api/chat),
signed Slack events (POST /slack/events, answers caught by a fake Web API) and Teams activities
(POST /api/messages, replies caught by a fake Bot Connector). A part whose front end is missing is
skipped with the reason. The server gets a rate limit high enough not to throttle the benchmark.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import re
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from knowledge.phrases import say

from .eval import build_kb, load_cases
from .fakes import BOT_USER, FakePlatforms
from .service import child_env, cpu_seconds, memory_mb, process_tree, pss_mb, serve_missing, serving
from .table import ms, percentile, print_table, section

__all__ = ["Level", "run", "LEVELS"]

LEVELS = (1, 16, 64)
QUICK_LEVELS = (1, 16)
SIGNING_SECRET = "bench-signing-secret"
DELIVERY_WAIT = 30.0  # seconds to wait, after a level, for the answers still on their way
TARGET_RATE, TARGET_CHAT_P99, TARGET_SLACK_P99, TARGET_TEAMS_P99 = 1000.0, 0.250, 0.100, 0.500
_RATE_LIMITED = {say("rate_limited", lang) for lang in ("fr", "en")}

# One request: (session, server URL, request number) -> None when it went well, else a short reason.
Send = Callable[[aiohttp.ClientSession, str, int], Awaitable[str | None]]


@dataclass
class Level:
    part: str
    concurrency: int
    seconds: float
    latencies: list[float]
    errors: Counter[str]
    delivered: int | None = None
    delivery: list[float] = field(default_factory=list)
    busy: int = 0  # Slack and Teams questions answered "busy, try again" (the answer queue was full)
    peak_rss_mb: float | None = None  # summed over the server's processes
    server_cpu: float | None = None  # share of one core the server's processes used while driven
    driver_cpu: float | None = None  # same for this process, which shares the machine

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


async def _drive(
    session: aiohttp.ClientSession, url: str, send: Send, concurrency: int, duration: float, first: int
) -> tuple[list[float], Counter[str], float, int]:
    """`concurrency` workers sending back to back for `duration` seconds; latencies, errors, elapsed, next number."""
    numbers = iter(range(first, first + 10**9))
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    deadline = time.perf_counter() + duration

    async def worker() -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                problem = await send(session, url, next(numbers))
            except (aiohttp.ClientError, TimeoutError) as exc:
                problem = type(exc).__name__
            latencies.append(time.perf_counter() - started)
            if problem:
                errors[problem] += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, errors, time.perf_counter() - started, next(numbers)


def _chat(questions: list[str]) -> Send:
    async def send(session: aiohttp.ClientSession, url: str, n: int) -> str | None:
        async with session.post(f"{url}/api/chat", json={"question": questions[n % len(questions)]}) as response:
            if response.status != 200:
                return f"HTTP {response.status}"
            answer = await response.json()
        if not isinstance(answer, dict) or "intent" not in answer:
            return "not an Answer"
        return "rate limited" if answer.get("text") in _RATE_LIMITED else None

    return send


def _slack(questions: list[str], sent: dict[str, float], run_id: int) -> Send:
    from slack_sdk.signature import SignatureVerifier

    verifier = SignatureVerifier(SIGNING_SECRET)

    async def send(session: aiohttp.ClientSession, url: str, n: int) -> str | None:
        ts = f"{run_id}.{n:06d}"
        event = {
            "type": "app_mention",
            "user": f"U{n % 1000:05d}",
            "text": f"<@{BOT_USER}> {questions[n % len(questions)]}",
            "ts": ts,
            "event_ts": ts,
            "channel": "C0BENCH",
            "channel_type": "channel",
        }
        body = json.dumps(
            {"token": "bench", "team_id": "T0BENCH", "api_app_id": "A0BENCH", "type": "event_callback",
             "event_id": f"Ev{run_id}{n:06d}", "event_time": int(time.time()), "event": event,
             "authorizations": [{"team_id": "T0BENCH", "user_id": BOT_USER, "is_bot": True}]}
        )  # fmt: skip
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": verifier.generate_signature(timestamp=stamp, body=body),
        }
        sent[ts] = time.perf_counter()
        async with session.post(f"{url}/slack/events", data=body.encode(), headers=headers) as response:
            await response.read()
            return None if response.status == 200 else f"HTTP {response.status}"

    return send


def _teams(questions: list[str], service_url: str, sent: dict[str, float], run_id: int) -> Send:
    async def send(session: aiohttp.ClientSession, url: str, n: int) -> str | None:
        activity_id = f"bench-{run_id}-{n}"
        user = n % 1000
        activity = {
            "type": "message",
            "id": activity_id,
            "timestamp": "2025-06-01T09:00:00.000Z",
            "channelId": "msteams",
            "serviceUrl": service_url,
            "from": {"id": f"29:bench-user-{user}", "name": "Bench", "aadObjectId": f"bench-aad-{user}"},
            "recipient": {"id": "28:govbot", "name": "govbot"},
            "conversation": {"id": f"a:bench-{user}", "conversationType": "personal", "tenantId": "bench"},
            "channelData": {"tenant": {"id": "bench"}},
            "locale": "fr-FR",
            "text": questions[n % len(questions)],
            "textFormat": "plain",
        }
        sent[activity_id] = time.perf_counter()
        async with session.post(f"{url}/api/messages", json=activity) as response:
            await response.read()
            return None if response.status in (200, 201, 202) else f"HTTP {response.status}"

    return send


def _busy() -> set[str]:
    """What the service says when its answer queue is full."""
    return {say("busy", lang) for lang in ("fr", "en")}


def _tree_cpu(pid: int) -> float | None:
    """CPU seconds of the server's processes (a listener restarted during a level would be missed)."""
    times = [cpu_seconds(each) for each in process_tree(pid)]
    return None if None in times else sum(t for t in times if t is not None)


async def _part(
    name: str,
    session: aiohttp.ClientSession,
    url: str,
    send: Send,
    levels: tuple[int, ...],
    duration: float,
    pid: int,
    answers: tuple[FakePlatforms, dict[str, float], dict[str, float]] | None = None,
) -> list[Level] | str:
    """Warm up, then every level; the skip reason instead when the route is not there."""
    try:
        probe = await send(session, url, 0)
        for n in range(1, 10):
            await send(session, url, n)
    except (aiohttp.ClientError, TimeoutError) as exc:
        return f"the warm-up requests failed ({type(exc).__name__})"
    if probe == "HTTP 404":
        return "route not mounted (front end not configured)"
    results, first = [], 10
    for concurrency in levels:
        if answers:
            answers[1].clear()
        server_before, driver_before = _tree_cpu(pid), time.process_time()
        latencies, errors, seconds, first = await _drive(session, url, send, concurrency, duration, first)
        server_after, driver_after = _tree_cpu(pid), time.process_time()
        level = Level(name, concurrency, seconds, latencies, errors)
        level.driver_cpu = (driver_after - driver_before) / seconds
        if server_before is not None and server_after is not None:
            level.server_cpu = (server_after - server_before) / seconds
        if answers:
            fake, sent, received = answers
            await fake.wait(received, set(sent), DELIVERY_WAIT)
            level.delivered = sum(key in received for key in sent)
            level.delivery = [received[key] - at for key, at in sent.items() if key in received]
            texts = fake.slack_texts if name == "slack" else fake.teams_texts
            level.busy = sum(texts.get(key) in _busy() for key in sent)
        level.peak_rss_mb = sum(memory_mb(each) or 0.0 for each in process_tree(pid))
        results.append(level)
    return results


async def _load(
    db: Path,
    duration: float,
    levels: tuple[int, ...],
    workers: int = 1,
    cache: int | None = None,
    answer_workers: int | None = None,
) -> tuple[list[Level], list[str], list[tuple[float | None, float | None]], dict[str, float]]:
    questions = [case.q for case in load_cases()]
    fake = FakePlatforms()
    await fake.start()
    env = child_env(GOVBOT_DB=str(db), GOVBOT_RATE_LIMIT="1000000000", MicrosoftAppId="", MicrosoftAppPassword="")
    env["GOVBOT_WORKERS"] = str(workers)
    if answer_workers is not None:
        env["GOVBOT_ANSWER_WORKERS"] = str(answer_workers)
    if cache is not None:
        env["GOVBOT_ANSWER_CACHE"] = str(cache)

    env.update(GOVBOT_TEAMS_LOCAL="1")  # Teams without an app id is mounted only in emulator mode (loopback)
    has_slack = importlib.util.find_spec("bot.slack") is not None
    has_teams = importlib.util.find_spec("bot.teams") is not None
    if has_slack:
        env.update(SLACK_BOT_TOKEN="xoxb-bench", SLACK_SIGNING_SECRET=SIGNING_SECRET,
                   GOVBOT_SLACK_API_URL=f"{fake.url}/api/")  # fmt: skip
    manager = serving(db, env)
    server = await asyncio.to_thread(manager.__enter__)
    levels_done: list[Level] = []
    skipped: list[str] = []
    run_id = int(time.time())
    try:
        timeout = aiohttp.ClientTimeout(total=30)
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            pid, url = server.process.pid, server.url
            parts: list[tuple[str, Send | str, tuple | None]] = [("web chat", _chat(questions), None)]
            slack_sent: dict[str, float] = {}
            teams_sent: dict[str, float] = {}
            parts.append(
                ("slack", _slack(questions, slack_sent, run_id), (fake, slack_sent, fake.slack_answers))
                if has_slack
                else ("slack", "bot/slack.py does not exist yet", None)
            )
            parts.append(
                ("teams", _teams(questions, fake.url, teams_sent, run_id), (fake, teams_sent, fake.teams_answers))
                if has_teams
                else ("teams", "bot/teams.py does not exist yet", None)
            )
            for name, send, answers in parts:
                if isinstance(send, str):
                    skipped.append(f"{name}: {send}")
                    continue
                outcome = await _part(name, session, url, send, levels, duration, pid, answers)
                if isinstance(outcome, str):
                    skipped.append(f"{name}: {outcome}")
                else:
                    levels_done += outcome
            final_rss = [(memory_mb(each, "VmRSS"), pss_mb(each)) for each in process_tree(server.process.pid)]
            await asyncio.sleep(1.5)  # every listener has published its counters (bot/metrics.py)
            async with session.get(f"{url}/metrics") as response:
                cache_use = _cache_use(await response.text())
    finally:
        await asyncio.to_thread(manager.__exit__, None, None, None)
        await fake.stop()
    return levels_done, skipped, final_rss, cache_use


def _cache_use(metrics: str) -> dict[str, float]:
    """{'hit': n, 'miss': n} from the service's /metrics (summed over its processes)."""
    found = re.findall(r'^govbot_answer_cache_total\{outcome="(\w+)"\} (\S+)$', metrics, re.M)
    return {outcome: float(value) for outcome, value in found}


def _verdict(level: Level) -> str:
    p99 = percentile(level.latencies, 99)
    if level.error_count:
        return "OVER (errors)"
    if level.part == "web chat" and level.concurrency == 64:
        return "ok" if level.rate >= TARGET_RATE and p99 <= TARGET_CHAT_P99 else "under"
    if level.part == "slack" and level.concurrency == 64:
        return "ok" if p99 <= TARGET_SLACK_P99 else "OVER"
    if level.part == "teams" and level.concurrency == 64:
        return "ok" if p99 <= TARGET_TEAMS_P99 else "OVER"
    return ""


def _share(cpu: float | None) -> str:
    return "—" if cpu is None else f"{100 * cpu:.0f} %"


def run(
    duration: float = 10.0,
    quick: bool = False,
    levels: tuple[int, ...] | None = None,
    workers: int = 1,
    cache: int | None = None,
    answer_workers: int | None = None,
) -> list[Level]:
    """Serve the eval knowledge (`workers` listening processes; `cache`: GOVBOT_ANSWER_CACHE), drive every part, print the
    table; returns the levels measured."""
    levels = levels or (QUICK_LEVELS if quick else LEVELS)
    section(
        f"load: govbot serve --workers {workers} (answer workers: {'default' if answer_workers is None else answer_workers}) on loopback, {duration:g} s per level at concurrency "
        f"{'/'.join(map(str, levels))}"
    )
    if reason := serve_missing():
        print(f"skipped: {reason}")
        return []
    distinct = len({case.q for case in load_cases()})
    print(f"questions: the eval set's {distinct} distinct questions, sent in turn by every part")
    with tempfile.TemporaryDirectory(prefix="govbot-load-") as tmp:
        db = Path(tmp) / "db"
        build_kb(db)
        results, skipped, final_rss, cache_use = asyncio.run(
            _load(db, duration, levels, workers, cache, answer_workers)
        )
    rows = []
    for level in results:
        delivered = "—"
        if level.delivered is not None:
            delivered = f"{level.delivered}/{len(level.latencies)} (p99 {ms(percentile(level.delivery, 99), 0)})"
            delivered += f", {level.busy} busy" if level.busy else ""
        errors = ", ".join(f"{n} {why}" for why, n in level.errors.most_common(3)) or "0"
        cpu = f"{_share(level.server_cpu)} / {_share(level.driver_cpu)}"
        rows.append([
            level.part, level.concurrency, len(level.latencies), f"{level.rate:.0f}",
            ms(percentile(level.latencies, 50)), ms(percentile(level.latencies, 99)), errors, delivered,
            f"{level.peak_rss_mb:.0f} MB" if level.peak_rss_mb else "—", cpu, _verdict(level),
        ])  # fmt: skip
    print_table(
        ["part", "conc.", "requests", "req/s", "p50", "p99", "errors", "answers delivered", "server VmHWM",
         "CPU server/driver", "target"],
        rows,
    )  # fmt: skip
    print(
        f"targets: web chat >= {TARGET_RATE:.0f} answered questions/s at p99 <= {TARGET_CHAT_P99 * 1000:.0f} ms; "
        f"Slack acks p99 <= {TARGET_SLACK_P99 * 1000:.0f} ms and Teams turns p99 <= {TARGET_TEAMS_P99 * 1000:.0f} ms "
        "at 64 concurrent; zero errors. "
        "Latency is the HTTP round trip (Slack: the ack; Teams: the turn, which includes the reply only "
        "without answer workers; with them, the reply comes after, see 'answers delivered')."
    )
    asked = sum(cache_use.values())
    if asked:
        hits = cache_use.get("hit", 0)
        print(f"answer cache: {hits:.0f} of {asked:.0f} questions answered from it ({100 * hits / asked:.0f} %)")
    else:
        print("answer cache: off (GOVBOT_ANSWER_CACHE=0)")
    if final_rss:
        each = "; ".join(f"{rss or 0:.0f} MB RSS, {pss or 0:.0f} MB PSS" for rss, pss in final_rss)
        total = sum(pss or 0 for _, pss in final_rss)
        who = "the service process" if len(final_rss) == 1 else "the supervisor, then its processes newest first"
        who += "" if len(final_rss) == 1 else " (answer workers, then listeners)"
        print(f"server memory at the end ({who}): {each}; {total:.0f} MB PSS in all")
    for note in skipped:
        print(f"skipped {note}")
    return results
