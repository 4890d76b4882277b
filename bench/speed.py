"""Speed and scale: ask() latency, refresh time and peak memory at 1x/10x/100x, cold starts, and how they grow.

1x is the bundled knowledge; 10x and 100x add a generated source folder (bench/generate.py). Each refresh
runs in a child process so its peak RSS is its own: `os.wait4` returns that child's rusage (the figure
`getrusage(RUSAGE_CHILDREN)` would give for a lone child, without earlier children's peaks mixed in).
"""

from __future__ import annotations

import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from knowledge import KnowledgeBase

from . import generate
from .eval import load_cases
from .service import child_env, govbot_command, serve_missing, serving
from .table import ms, percentile, print_table, section

__all__ = ["SizeFigures", "measure_size", "run", "TARGETS"]

# The targets, printed beside the figures (None: no target at that size).
TARGETS: dict[str, dict[int, float]] = {
    "p99": {1: 0.005, 100: 0.025},
    "refresh": {1: 1.0, 100: 20.0},
    "rss": {100: 300.0},
    "cold_ask": {1: 1.0, 10: 1.0, 100: 1.0},
    "serve": {1: 3.0, 10: 3.0, 100: 3.0},
}
_REFRESH_CHILD = """
import json, sys, time
from knowledge import KnowledgeBase
started = time.perf_counter()
report = KnowledgeBase(sys.argv[1]).refresh(sys.argv[2:], bundled=True)
print(json.dumps({"total": time.perf_counter() - started, "build": report.duration, "counts": report.counts}))
"""


@dataclass
class SizeFigures:
    scale: int
    counts: dict[str, int] = field(default_factory=dict)
    refresh_seconds: float = math.nan
    build_seconds: float = math.nan
    peak_rss_mb: float = math.nan
    latencies: list[float] = field(default_factory=list)
    per_question: dict[str, list[float]] = field(default_factory=dict)
    cold_ask: list[float] = field(default_factory=list)
    serve_ready: float | None = None
    serve_note: str = ""

    def latency(self, q: float) -> float:
        return percentile(self.latencies, q)

    def slowest(self, count: int = 3) -> list[tuple[str, float]]:
        """The questions with the highest median latency."""
        medians = {question: statistics.median(times) for question, times in self.per_question.items()}
        return sorted(medians.items(), key=lambda item: -item[1])[:count]


def _refresh_in_child(db: Path, sources: list[str]) -> tuple[dict[str, Any], float]:
    """Run a refresh in a child process; its JSON report and its own peak RSS in MB."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(
            [sys.executable, "-c", _REFRESH_CHILD, str(db), *sources], stdout=out, stderr=err, env=child_env()
        )
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode:
            raise RuntimeError(f"refresh child failed ({process.returncode}): {err.read().decode()[-500:]}")
        return json.loads(out.read()), usage.ru_maxrss / 1024


def _ask_latencies(db: Path, questions: list[str], rounds: int, budget: float) -> dict[str, list[float]]:
    """Seconds per kb.ask(), by question, after one warm-up pass; shuffled rounds until `rounds` or `budget` s."""
    kb = KnowledgeBase(db)
    for question in questions:
        kb.ask(question)
    latencies: dict[str, list[float]] = {question: [] for question in questions}
    rng = random.Random(8)
    started = time.perf_counter()
    for _ in range(rounds):
        order = questions[:]
        rng.shuffle(order)
        for question in order:
            begin = time.perf_counter()
            kb.ask(question)
            latencies[question].append(time.perf_counter() - begin)
        if time.perf_counter() - started > budget:
            break
    return latencies


def _cold_asks(db: Path, runs: int) -> list[float]:
    """Wall time of `govbot --db DB ask ...` as a new process, `runs` times."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            [*govbot_command(), "--db", str(db), "ask", "qui pilote HospiConnect ?"],
            env=child_env(),
            check=True,
            capture_output=True,
        )
        times.append(time.perf_counter() - started)
    return times


def measure_size(scale: int, workdir: Path, questions: list[str], rounds: int, cold_runs: int) -> SizeFigures:
    """Everything the growth table shows for one size (1 = the bundled knowledge alone)."""
    figures = SizeFigures(scale)
    sources: list[str] = []
    if scale > 1:
        folder = workdir / f"source-{scale}x"
        generate.generate(folder, scale)
        sources = [str(folder)]
    db = workdir / f"db-{scale}x"
    report, figures.peak_rss_mb = _refresh_in_child(db, sources)
    figures.refresh_seconds, figures.build_seconds, figures.counts = report["total"], report["build"], report["counts"]
    figures.per_question = _ask_latencies(db, questions, rounds, budget=30.0)
    figures.latencies = [t for times in figures.per_question.values() for t in times]
    figures.cold_ask = _cold_asks(db, cold_runs)
    if reason := serve_missing():
        figures.serve_note = reason
    else:
        env = child_env(GOVBOT_DB=str(db))
        try:
            with serving(db, env) as server:
                figures.serve_ready = server.ready_seconds
        except RuntimeError as exc:
            figures.serve_note = str(exc)
    return figures


def _mark(value: float | None, kind: str, scale: int) -> str:
    target = TARGETS[kind].get(scale)
    if value is None or target is None or math.isnan(value):
        return ""
    return " ok" if value <= target else " OVER"


def _target_text() -> str:
    return (
        "targets: ask p99 <= 5 ms at 1x and <= 25 ms at 100x; refresh <= 1 s at 1x and <= 20 s at 100x; "
        "peak RSS <= 300 MB at 100x; cold `govbot ask` <= 1 s; `govbot serve` ready <= 3 s"
    )


def _growth(figures: list[SizeFigures]) -> list[str]:
    """How each cost grows with the number of records, as an exponent: time ~ records^k."""
    first, last = figures[0], figures[-1]
    records = sum(last.counts.values()) / max(1, sum(first.counts.values()))
    if len(figures) < 2 or records <= 1:
        return []

    def exponent(a: float, b: float) -> str:
        if not (a > 0 and b > 0):
            return "n/a"
        return f"x{b / a:.1f} (~ records^{math.log(b / a) / math.log(records):.2f})"

    lines = [f"Growth from {first.scale}x to {last.scale}x (x{records:.0f} records):"]
    lines.append(f"  ask median {exponent(first.latency(50), last.latency(50))}, p99 "
                 f"{exponent(first.latency(99), last.latency(99))}")  # fmt: skip
    lines.append(f"  refresh {exponent(first.refresh_seconds, last.refresh_seconds)}; peak RSS "
                 f"{exponent(first.peak_rss_mb, last.peak_rss_mb)}")  # fmt: skip
    lines.append(f"  cold ask {exponent(statistics.median(first.cold_ask), statistics.median(last.cold_ask))}")
    return lines


def run(quick: bool = False, sizes: tuple[int, ...] = (1, 10, 100)) -> list[SizeFigures]:
    """Measure every size and print the growth table."""
    questions = [c.q for c in load_cases()] + generate.questions(40)
    rounds, cold_runs = (1, 1) if quick else (5, 5)
    section(f"speed: ask latency, refresh and memory at {'/'.join(f'{s}x' for s in sizes)}")
    results = []
    with tempfile.TemporaryDirectory(prefix="govbot-speed-") as tmp:
        for scale in sizes:
            results.append(measure_size(scale, Path(tmp), questions, rounds, cold_runs))
    rows = []
    for f in results:
        c = f.counts
        cold = statistics.median(f.cold_ask) if f.cold_ask else None
        serve = f"{f.serve_ready:.2f} s{_mark(f.serve_ready, 'serve', f.scale)}" if f.serve_ready else "skipped"
        rows.append([
            f"{f.scale}x",
            f"{c.get('objectives', 0)}/{c.get('actors', 0)}/{c.get('decisions', 0)}/{c.get('councils', 0)}/"
            f"{c.get('reports', 0)}/{c.get('passages', 0)}",
            f"{len(f.latencies)}",
            ms(f.latency(50)),
            ms(f.latency(95)),
            ms(f.latency(99)) + _mark(f.latency(99), "p99", f.scale),
            f"{f.refresh_seconds:.2f} s{_mark(f.refresh_seconds, 'refresh', f.scale)}",
            f"{f.peak_rss_mb:.0f} MB{_mark(f.peak_rss_mb, 'rss', f.scale)}",
            f"{cold:.2f} s{_mark(cold, 'cold_ask', f.scale)}" if cold is not None else "—",
            serve,
        ])  # fmt: skip
    print_table(
        ["size", "obj/act/dec/cnl/rep/pass", "asks", "ask p50", "ask p95", "ask p99", "refresh", "peak RSS",
         "cold ask", "serve ready"],
        rows,
    )  # fmt: skip
    print(_target_text())
    for f in results:
        share = f.build_seconds / f.refresh_seconds if f.refresh_seconds else math.nan
        print(f"  {f.scale}x refresh: {f.refresh_seconds - f.build_seconds:.2f} s reading sources, "
              f"{f.build_seconds:.2f} s writing SQLite ({100 * share:.0f} %)")  # fmt: skip
    for f in results:
        slow = "; ".join(f"{ms(t)} {q!r}" for q, t in f.slowest())
        print(f"  {f.scale}x slowest questions (median): {slow}")
    notes = {f.serve_note for f in results if f.serve_note}
    for note in notes:
        print(f"  serve ready skipped: {note}")
    for line in _growth(results):
        print(line)
    return results
