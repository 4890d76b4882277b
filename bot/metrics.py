"""Prometheus metrics for `govbot serve`, in the text exposition format (hand-written: no extra dependency).

Counters are fed by `Conversation.on_answer` (called from worker threads, hence the lock) and by the
request middleware; refresh figures and knowledge counts are read from their owners at scrape time, so
there is one source of truth for each. Nothing here reads the environment: no token can leak into it.

With several listening processes (`govbot serve --workers N`) a scrape reaches any one of them, so each
publishes its counters every second to `<run dir>/<pid>.json` and a scrape sums them all, its own read live.
A listener that died keeps its last file: counters never go down while the service runs.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import os
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from knowledge import Answer

from .answercache import AnswerCache
from .conversation import Conversation

# Front ends that run a client of their own (Matrix's sync loop) say how it is doing: name -> a callable giving
# {"connected": bool, "failures": int, ...}. /healthz shows it and /metrics exports it.
FRONT_END_HEALTH = web.AppKey("govbot.front_end_health", dict)

__all__ = ["Metrics", "LATENCY_BUCKETS", "CONTENT_TYPE", "FRONT_END_HEALTH", "PUBLISH_EVERY"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Seconds; a question normally takes about a millisecond, a slow disk or a huge knowledge base much more.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
PUBLISH_EVERY = 1.0  # seconds between two writes of a listener's counters for the others' scrapes


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(names: Iterable[str], values: Iterable[str]) -> str:
    pairs = [f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)]
    return "{" + ",".join(pairs) + "}" if pairs else ""


def _number(value: float) -> str:
    return repr(float(value)) if isinstance(value, float) else str(value)


class Metrics:
    """What `GET /metrics` reports; `attach(conv)` makes every answered question count. `share` is the run
    directory of a service with several listening processes (None: this process is the whole service)."""

    def __init__(self, share: Path | None = None) -> None:
        self.share = share
        self._lock = threading.Lock()
        self.questions: Counter[tuple[str, str]] = Counter()
        self.unanswered: Counter[str] = Counter()
        self.requests: Counter[tuple[str, str]] = Counter()
        self._bucket_counts = [0] * (len(LATENCY_BUCKETS) + 1)
        self._latency_sum = 0.0
        self.cache: AnswerCache | None = None

    def attach(self, conv: Conversation) -> None:
        conv.on_answer.append(self.observe_answer)
        self.cache = conv.cache

    def observe_answer(self, platform: str, answer: Answer, seconds: float) -> None:
        with self._lock:
            self.questions[(answer.intent, platform)] += 1
            # The question log's meaning of "unanswered" (also what `stats` counts): no record behind it.
            if not answer.answered:
                self.unanswered[platform] += 1
            self._bucket_counts[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
            self._latency_sum += seconds

    def observe_request(self, route: str, status: int) -> None:
        with self._lock:
            self.requests[(route, str(status))] += 1

    def _figures(self, refreshes: Iterable[Mapping[str, float | bool]]) -> dict[str, Any]:
        """This process's counters as plain JSON values (what `publish` writes and `render` sums)."""
        with self._lock:
            return {
                "questions": [[*key, n] for key, n in self.questions.items()],
                "unanswered": [[p, n] for p, n in self.unanswered.items()],
                "requests": [[*key, n] for key, n in self.requests.items()],
                "buckets": list(self._bucket_counts),
                "latency_sum": self._latency_sum,
                "cache": [self.cache.hits, self.cache.misses] if self.cache else [0, 0],
                "refreshes": [dict(r) for r in refreshes],
            }

    def publish(self, refreshes: Iterable[Mapping[str, float | bool]]) -> None:
        """Write this process's counters for the other listeners' scrapes (whole, or not at all)."""
        if self.share is None:
            return
        path = self.share / f"{os.getpid()}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._figures(refreshes)))
        os.replace(tmp, path)

    def _others(self) -> list[dict[str, Any]]:
        if self.share is None:
            return []
        found = []
        for path in self.share.glob("*.json"):
            if path.stem != str(os.getpid()):
                with contextlib.suppress(OSError, ValueError):  # a listener gone with its run directory
                    found.append(json.loads(path.read_text()))
        return found

    def render(
        self,
        refreshes: Iterable[Mapping[str, float | bool]],
        info: Mapping | None,
        ready: bool,
        front_ends: Mapping[str, Mapping[str, object]] | None = None,
    ) -> str:
        """The exposition text; `info` is `KnowledgeBase.info()`, or None before the first build."""
        out: list[str] = []

        def family(name: str, kind: str, help_text: str, samples: Iterable[tuple[str, str, float]]) -> None:
            out.append(f"# HELP {name} {help_text}")
            out.append(f"# TYPE {name} {kind}")
            out.extend(f"{name}{suffix}{labels} {_number(value)}" for suffix, labels, value in samples)

        each = [self._figures(refreshes), *self._others()]
        questions = sorted(
            sum((Counter({tuple(r[:-1]): r[-1] for r in f["questions"]}) for f in each), Counter()).items()
        )
        unanswered = sorted(sum((Counter(dict(f["unanswered"])) for f in each), Counter()).items())
        requests = sorted(
            sum((Counter({tuple(r[:-1]): r[-1] for r in f["requests"]}) for f in each), Counter()).items()
        )
        buckets = [sum(counts) for counts in zip(*(f["buckets"] for f in each), strict=True)]
        latency_sum = sum(f["latency_sum"] for f in each)
        hits, misses = (sum(f["cache"][n] for f in each) for n in (0, 1))
        refreshes = [r for f in each for r in f["refreshes"]]
        family(
            "govbot_questions_total",
            "counter",
            "Questions answered, by intent and platform.",
            [("", _labels(("intent", "platform"), key), n) for key, n in questions],
        )
        family(
            "govbot_unanswered_total",
            "counter",
            "Questions with no knowledge record behind the reply, by platform.",
            [("", _labels(("platform",), (p,)), n) for p, n in unanswered],
        )
        cumulative, samples = 0, []
        for bound, count in zip((*LATENCY_BUCKETS, "+Inf"), buckets, strict=True):
            cumulative += count
            samples.append(("_bucket", _labels(("le",), (str(bound),)), cumulative))
        samples += [("_sum", "", latency_sum), ("_count", "", cumulative)]
        family("govbot_answer_seconds", "histogram", "Time to answer one question.", samples)
        family(
            "govbot_answer_cache_total",
            "counter",
            "Answers looked up in the answer cache, by outcome (hit: served from memory).",
            [("", _labels(("outcome",), ("hit",)), hits), ("", _labels(("outcome",), ("miss",)), misses)],
        )

        runs = list(refreshes)
        ok = [r for r in runs if r.get("ok")]
        family(
            "govbot_refreshes_total",
            "counter",
            "Knowledge refreshes, by outcome.",
            [
                ("", _labels(("outcome",), ("ok",)), len(ok)),
                ("", _labels(("outcome",), ("failed",)), len(runs) - len(ok)),
            ],
        )
        durations = [float(r.get("duration") or 0.0) for r in runs]
        family(
            "govbot_refresh_seconds",
            "summary",
            "Duration of knowledge refreshes.",
            [("_sum", "", sum(durations)), ("_count", "", len(durations))],
        )
        last = max((float(r["at"]) + float(r.get("duration") or 0.0) for r in ok), default=0.0)
        family(
            "govbot_refresh_last_success_timestamp_seconds",
            "gauge",
            "When the last successful refresh ended (Unix time; 0 if none since start).",
            [("", "", last)],
        )
        family("govbot_ready", "gauge", "1 when the knowledge base is open and answering.", [("", "", int(ready))])
        family(
            "govbot_processes",
            "gauge",
            "Listening processes whose counters are summed here (one that died keeps its last figures).",
            [("", "", len(each))],
        )
        if info is not None:
            family(
                "govbot_knowledge_records",
                "gauge",
                "Records in the current knowledge, by kind.",
                [("", _labels(("kind",), (kind,)), n) for kind, n in sorted(info["counts"].items())],
            )
            built = datetime.fromisoformat(info["built_at"]).timestamp() if info.get("built_at") else 0.0
            family(
                "govbot_knowledge_built_timestamp_seconds",
                "gauge",
                "When the current knowledge version was built (Unix time).",
                [("", "", built)],
            )
        family(
            "govbot_http_requests_total",
            "counter",
            "HTTP requests, by route and status.",
            [("", _labels(("route", "status"), key), n) for key, n in requests],
        )
        if front_ends:
            names = sorted(front_ends)
            family(
                "govbot_front_end_connected",
                "gauge",
                "1 while a front end's own client (Matrix sync) reaches its server.",
                [("", _labels(("front_end",), (n,)), int(bool(front_ends[n].get("connected")))) for n in names],
            )
            family(
                "govbot_front_end_failures_total",
                "counter",
                "Times a front end's own client could not reach its server.",
                [("", _labels(("front_end",), (n,)), float(front_ends[n].get("failures") or 0)) for n in names],
            )
        return "\n".join(out) + "\n"
