"""Scheduled refreshes: settings, one runner among several processes, failures told once, conditional fetch."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.cli import main as cli_main
from bot.conversation import Conversation
from bot.delivery import Outcome, Sent
from bot.digests import Digest
from bot.freshness import Validators, remote_changes, unchanged
from bot.metrics import Metrics
from bot.schedule import Leader, Service, parse_every, refresh_if_changed, schedule_from
from bot.state import State, Subscription
from bot.subscriptions import Where, handle, parse
from knowledge import KnowledgeBase
from knowledge.store import Reader
from tests.digest_world import bring_news, roadmap

ROOT = Path(__file__).resolve().parents[1]
PARIS = ZoneInfo("Europe/Paris")


def test_settings() -> None:
    assert parse_every("6h") == 21600 and parse_every("90s") == 90 and parse_every("1d") == 86400
    for bad in ("6", "six hours", "0s", "-1h"):
        with pytest.raises(ValueError, match="--refresh-every"):
            parse_every(bad)
    assert schedule_from({}) is None
    with pytest.raises(ValueError, match="GOVBOT_REFRESH_SCHEDULE"):
        schedule_from({"GOVBOT_REFRESH_SCHEDULE": "every morning"})
    with pytest.raises(ValueError, match="GOVBOT_TIMEZONE"):
        schedule_from({"GOVBOT_REFRESH_SCHEDULE": "0 6 * * *", "GOVBOT_TIMEZONE": "Mars/Olympus"})
    assert schedule_from({"GOVBOT_REFRESH_SCHEDULE": "0 6 * * *"}, every="2h").every == 7200  # the flag wins


def test_cron_runs_in_paris_time_across_the_clock_change() -> None:
    weekdays = schedule_from({"GOVBOT_REFRESH_SCHEDULE": "0 6 * * 1-5"})
    assert weekdays is not None
    friday_evening = datetime(2026, 12, 4, 19, 0, tzinfo=PARIS)
    assert weekdays.next_after(friday_evening) == datetime(2026, 12, 7, 6, 0, tzinfo=PARIS)
    daily = schedule_from({"GOVBOT_REFRESH_SCHEDULE": "0 6 * * *"})
    assert daily is not None
    before_dst = daily.next_after(datetime(2026, 3, 28, 7, 0, tzinfo=PARIS))
    assert (before_dst.hour, before_dst.utcoffset().total_seconds()) == (6, 7200)


def test_one_leader_at_a_time(tmp_path: Path) -> None:
    first, second = Leader(tmp_path), Leader(tmp_path)
    assert first.acquire() and not second.acquire()
    first.release()
    assert second.acquire()
    second.release()


# failures


class Admins:
    def __init__(self) -> None:
        self.told: list[str] = []

    async def send(self, sub: Subscription, digest: Digest) -> Sent:
        self.told.append(digest.title)
        return Sent(Outcome.DELIVERED)


def test_a_failed_scheduled_refresh_keeps_the_knowledge_and_is_told_once(tmp_path: Path) -> None:
    src = roadmap(tmp_path / "src")
    kb = KnowledgeBase(tmp_path / "kb")
    kb.refresh([str(src)], bundled=False)
    before = kb.store.current()
    state = State(kb.path)
    reader = Reader(before)
    handle(parse("subscribe admin"), Where("slack", "CADM", "UADMIN", direct=False, admin=True), state, reader)
    admins = Admins()
    recorded: list[bool] = []
    service = Service(
        kb,
        state,
        schedule_from({}, every="1h"),
        {"slack": admins.send},
        record=lambda s, ok, duration=0: recorded.append(ok),
    )

    async def ticks(n: int) -> None:
        for _ in range(n):
            await service.tick()
            await service.deliver()

    (src / "broken.yaml").write_text("objectives:\n  - {id: X, title: [unclosed\n", encoding="utf-8")
    asyncio.run(ticks(3))
    assert kb.store.current() == before and kb.ask("où en est l'objectif 007 ?").intent == "status"
    assert recorded == [False, False, False] and service.failures == 3
    assert [r["outcome"] for r in state.runs()] == ["failed"] * 3
    assert len(admins.told) == 1 and admins.told[0].startswith("The scheduled refresh failed (1 source problem")
    (src / "broken.yaml").unlink()  # back to the sources of the version answering: nothing to build
    asyncio.run(ticks(1))
    assert state.runs()[0]["outcome"] == "unchanged" and kb.store.current() == before
    bring_news(src)
    asyncio.run(ticks(1))
    assert recorded[-1] is True and state.runs()[0]["outcome"] == "refreshed"
    (src / "broken.yaml").write_text("objectives: [", encoding="utf-8")
    asyncio.run(ticks(2))
    assert len(admins.told) == 2  # told again: scheduled refreshes succeeded in between


def test_a_schedule_with_unchanged_local_sources_builds_no_version(tmp_path: Path) -> None:
    src = roadmap(tmp_path / "src")
    kb = KnowledgeBase(tmp_path / "kb")
    kb.refresh([str(src)], bundled=False)
    state = State(kb.path)
    before = kb.store.current()
    assert refresh_if_changed(kb, state, None) is None
    assert kb.store.current() == before
    (src / "roadmap.yaml").write_text((src / "roadmap.yaml").read_text() + "\n", encoding="utf-8")
    assert refresh_if_changed(kb, state, None) is not None and kb.store.current() != before


# conditional fetch


class Origin:
    """A loopback web server for one file: ETag and Last-Modified (or none), 304 when they match."""

    def __init__(self, validators: bool = True) -> None:
        self.body = b"v1"
        self.validators = validators
        self.statuses: list[int] = []
        origin = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                etag = '"' + hashlib.sha256(origin.body).hexdigest()[:16] + '"'
                if origin.validators and self.headers.get("If-None-Match") == etag:
                    origin.statuses.append(304)
                    self.send_response(304)
                    self.end_headers()
                    return
                origin.statuses.append(200)
                self.send_response(200)
                if origin.validators:
                    self.send_header("ETag", etag)
                    self.send_header("Last-Modified", "Wed, 02 Dec 2026 06:00:00 GMT")
                self.send_header("Content-Length", str(len(origin.body)))
                self.end_headers()
                self.wfile.write(origin.body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/roadmap.yaml"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def probe(url: str, headers: Mapping[str, str]) -> tuple[int, Mapping[str, str], bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=dict(headers)), timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return 304, dict(exc.headers), b""
        raise


@pytest.mark.parametrize("validators", [True, False], ids=["etag", "sha256-only"])
def test_conditional_fetch(validators: bool) -> None:
    origin = Origin(validators)
    try:
        changed, fresh = remote_changes([origin.url], {}, probe)
        assert changed and unchanged(fresh[origin.url], 200, b"v1")
        assert bool(fresh[origin.url].etag) is validators
        assert remote_changes([origin.url], fresh, probe) == (False, {})
        assert origin.statuses[-1] == (304 if validators else 200)
        origin.body = b"v2"
        changed, newer = remote_changes([origin.url], fresh, probe)
        assert changed and newer[origin.url].sha256 == hashlib.sha256(b"v2").hexdigest()
    finally:
        origin.close()
    # An unreachable source counts as changed: the refresh decides (and may use its last good copy).
    assert remote_changes([origin.url], {origin.url: Validators(sha256="x")}, probe)[0]


# several processes

WORKER = """
import asyncio, os, sys, time
from bot.schedule import Schedule, Service
from bot.state import State
from knowledge import KnowledgeBase
root, log = sys.argv[1], sys.argv[2]
kb = KnowledgeBase(root)

def refresh():
    with open(log, "a") as out:
        out.write(f"{os.getpid()} {time.time()}\\n")
    return None

service = Service(kb, State(root), Schedule(every=0.3), {}, refresh=refresh, poll=0.1)
print("ready", flush=True)
asyncio.run(service.run())
"""


def test_a_schedule_in_two_worker_processes_runs_once(tmp_path: Path) -> None:
    kb = KnowledgeBase(tmp_path / "kb")
    kb.refresh([str(roadmap(tmp_path / "src"))], bundled=False)
    log = tmp_path / "runs.log"
    log.touch()

    def runs() -> list[tuple[int, float]]:
        return [(int(p), float(t)) for p, t in (line.split() for line in log.read_text().splitlines())]

    def wait_for(count: int) -> None:
        deadline = time.monotonic() + 20
        while len(runs()) < count:
            assert time.monotonic() < deadline, runs()
            time.sleep(0.05)

    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(kb.path), str(log)], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
        wait_for(6)
        first = runs()
        assert len({pid for pid, _ in first}) == 1, first  # one process ran every tick
        leader = next(w for w in workers if w.pid == first[0][0])
        os.kill(leader.pid, signal.SIGKILL)
        leader.wait()
        wait_for(len(runs()) + 4)
        after = runs()[len(first) :]
        standby = next(w for w in workers if w is not leader)
        assert {pid for pid, _ in after} <= {standby.pid, leader.pid} and after[-1][0] == standby.pid
        assert all(pid == standby.pid for pid, _ in after[1:])  # the standby took over, alone
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
            worker.wait()


def test_failures_show_in_metrics_and_stats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = roadmap(tmp_path / "src")
    kb = KnowledgeBase(tmp_path / "kb")
    kb.refresh([str(src)], bundled=False)
    conv = Conversation(kb)
    service = Service(kb, State(kb.path), None, {}, record=conv.record_refresh)
    (src / "broken.yaml").write_text("objectives: [", encoding="utf-8")
    asyncio.run(service.tick())
    asyncio.run(service.tick())
    metrics = Metrics().render(conv.refreshes, kb.info(), True)
    assert 'govbot_refreshes_total{outcome="failed"} 2' in metrics
    assert cli_main(["stats", "--db", str(kb.path)]) == 0
    out = capsys.readouterr().out
    assert "Last scheduled refresh: failed at " in out and "2 failed in a row" in out
    assert cli_main(["stats", "--db", str(kb.path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["service"]["failed_in_a_row"] == 2


def test_serve_refuses_a_bad_schedule(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    monkeypatch.setenv("GOVBOT_TEAMS", "0")
    assert cli_main(["serve", "--db", str(tmp_path / "kb"), "--refresh-every", "soon"]) == 2
    assert "--refresh-every 'soon': expected a number and a unit" in capsys.readouterr().err


ONE_OBJECTIVE = """\
source: {{title: Plan distant, url: "https://example.org/distant"}}
axes: [{{id: "1", title: Sécuriser}}]
objectives: [{{id: "1", axis: "1", title: Double authentification, status: {status}}}]
"""


def test_an_unchanged_remote_source_builds_no_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the real fetcher (loopback allowed as an intranet host): same bytes, no new version."""
    monkeypatch.setenv("GOVBOT_FETCH_ALLOW", "127.0.0.1")
    origin = Origin(validators=False)
    origin.body = ONE_OBJECTIVE.format(status="en cours").encode()
    try:
        kb = KnowledgeBase(tmp_path / "kb")
        kb.refresh([origin.url], bundled=False)
        state = State(kb.path)
        service = Service(kb, state, None, {})
        asyncio.run(service.tick())  # no validators saved yet: rebuilt once, validators saved
        built = kb.store.current()
        asyncio.run(service.tick())
        assert kb.store.current() == built and state.runs()[0]["outcome"] == "unchanged"
        origin.body = ONE_OBJECTIVE.format(status="réalisé").encode()
        asyncio.run(service.tick())
        assert kb.store.current() != built and state.runs()[0]["outcome"] == "refreshed"
        assert kb.ask("où en est l'objectif 1 ?").text == "Statut : réalisé."
    finally:
        origin.close()


def test_the_stats_command_shows_scheduled_refresh_failures(tmp_path: Path) -> None:
    src = roadmap(tmp_path / "src")
    kb = KnowledgeBase(tmp_path / "kb")
    kb.refresh([str(src)], bundled=False)
    conv = Conversation(kb)
    state = conv.subscriptions = State(kb.path)
    (src / "broken.yaml").write_text("objectives: [", encoding="utf-8")
    asyncio.run(Service(kb, state, None, {}).tick())
    text = conv.stats_text("en")
    assert "Subscriptions: 0 (0 paused). Last scheduled refresh: failed (" in text and "1 failure(s) in a row" in text
