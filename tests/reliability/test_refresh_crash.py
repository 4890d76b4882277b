"""Knowledge refresh is atomic and crash-safe: `kill -9` a refreshing process anywhere, the knowledge still answers.

A child process refreshes a generated knowledge base (4× the bundled one in `make test`; 100×, ~11,000
records and ~1 s under `make soak`) and is SIGKILLed either at a random moment or just before a chosen step: an
audit hook in the child kills it right before a file open, rename, removal or SQLite connection, the narrow
windows a timer rarely hits. After every kill the `current` pointer must name a complete version that passes
`PRAGMA integrity_check`, and every answer must come wholly from the version before or the version being
built — never a mix, never an error. A last refresh must then clean every leftover.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from knowledge import KnowledgeBase
from tests.reliability.helpers import (
    KILL_HOOK,
    MARKER_QUESTIONS,
    check_version_file,
    finish_or_kill,
    tags_in,
    write_sources,
)

ROOT = Path(__file__).resolve().parents[2]
# Blocks of ~22 records; five blocks are about the bundled knowledge (1×). The step kill points do not depend on the
# size, so `make test` keeps it small; the random moments of `make soak` get a refresh of ~1 s to land in.
FAST_BLOCKS, SOAK_BLOCKS = 20, 500
# The child: import, say "ready", wait for "go", then refresh; with a kill step it SIGKILLs itself just before
# the n-th audit event `event` whose first argument matches `pattern`.
CHILD = (
    """
import os, re, signal, sys
from knowledge import KnowledgeBase
root, source, event, pattern, nth = sys.argv[1:6]
kb = KnowledgeBase(root)
print("ready", flush=True)
sys.stdin.readline()
"""
    + KILL_HOOK
    + """kb.refresh([source], bundled=False)
print("done", flush=True)
"""
)


@dataclass(frozen=True)
class Step:
    """Kill just before this step; `expect` is the version that must answer afterwards: old, new or either."""

    name: str
    event: str
    pattern: str
    nth: int
    expect: str


# In refresh order. The pointer switch is the only moment the answer may change from old to new.
STEPS = (
    Step("reading the source file", "open", r"roadmap\.json$", 1, "old"),
    Step("reading the document", "open", r"comptes-rendus\.md$", 1, "old"),
    Step("taking the refresh lock", "open", r"refresh\.lock$", 1, "old"),
    Step("opening the new version for writing", "sqlite3.connect", r"\.sqlite\.tmp$", 1, "old"),
    Step("checking the new version", "sqlite3.connect", r"\.sqlite\.tmp\?", 1, "old"),
    Step("renaming the new version", "os.rename", r"\.sqlite\.tmp$", 1, "old"),
    Step("diffing against the old version", "sqlite3.connect", r"\.sqlite\?", 1, "old"),
    Step("writing the pointer", "open", r"current\.tmp$", 1, "old"),
    Step("switching the pointer", "os.rename", r"current\.tmp$", 1, "old"),
    Step("removing the temporary name", "os.remove", r"\.sqlite\.tmp$", 2, "new"),
    Step("deleting an old version", "os.remove", r"kb-\w+\.sqlite$", 1, "new"),
)


class Sources:
    """One source folder rewritten in place for each version (the refresh remembers its path)."""

    def __init__(self, folder: Path, blocks: int):
        self.folder = write_sources(folder, blocks, "MKTAG")
        self.template = (folder / "roadmap.json").read_text(encoding="utf-8")

    def tag(self, tag: str) -> str:
        (self.folder / "roadmap.json").write_text(self.template.replace("MKTAG", tag), encoding="utf-8")
        return str(self.folder)


def spawn(root: Path, source: str, step: Step | None) -> subprocess.Popen[str]:
    args = [step.event, step.pattern, str(step.nth)] if step else ["", "", "0"]
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(root), source, *args],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    return child


def run_child(root: Path, source: str, step: Step | None, delay: float | None) -> tuple[bool, float]:
    """Refresh in a child; SIGKILL it after `delay` seconds, or let the step kill it. Returns (completed, secs)."""
    child = spawn(root, source, step)
    assert child.stdin is not None
    started = time.perf_counter()
    child.stdin.write("go\n")
    child.stdin.flush()
    out = finish_or_kill(child, delay)
    elapsed = time.perf_counter() - started
    return child.returncode == 0 and out.strip() == "done", elapsed


def answering_tag(root: Path, *kbs: KnowledgeBase, planted: bool = False) -> str:
    """Check the knowledge directory as a restarted service would see it; returns the version tag answering."""
    current = KnowledgeBase(root).store.current()
    assert current is not None, "the pointer names no existing version"
    assert (root / "current").read_text(encoding="utf-8").strip() == current.name
    check_version_file(current)
    if not planted:
        assert not [p.name for p in root.glob(current.name + "-*")], "a journal or WAL sits beside the live version"
    seen: set[str] = set()
    for kb in (KnowledgeBase(root), *kbs):
        for question in MARKER_QUESTIONS:
            tags = tags_in(kb.ask(question))
            assert len(tags) == 1, (question, tags)
            seen |= tags
    assert len(seen) == 1, f"answers from two versions: {seen}"
    return seen.pop()


def hot_wal_from(version: Path, scratch: Path) -> tuple[bytes, bytes]:
    """A genuine hot WAL (and its -shm) for a copy of `version` whose actors were deleted by a crashed writer."""
    copy = scratch / "copy.sqlite"
    shutil.copy(version, copy)
    code = (
        "import os, signal, sqlite3, sys\n"
        "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "c.execute('PRAGMA journal_mode=WAL'); c.execute('PRAGMA wal_autocheckpoint=0')\n"
        "c.execute('DELETE FROM actors'); c.execute(\"UPDATE meta SET value = 'ZOMBIE' WHERE key = 'version'\")\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    subprocess.run([sys.executable, "-c", code, str(copy)], check=False)
    return (scratch / "copy.sqlite-wal").read_bytes(), (scratch / "copy.sqlite-shm").read_bytes()


def crash_refreshes(tmp_path: Path, blocks: int, timed: int, steps: list[Step], seed: int) -> int:
    """Run the kill trials against one knowledge directory, then one clean refresh; returns crash points tried."""
    root = tmp_path / "kb"
    sources = Sources(tmp_path / "src", blocks)
    first = KnowledgeBase(root)
    first.refresh([sources.tag("MK0")], bundled=False)
    _, full = run_child(root, sources.tag("MK1"), None, None)
    committed = answering_tag(root, first)
    assert committed == "MK1"
    rng = random.Random(seed)
    plan: list[tuple[Step | None, float | None]] = [(None, rng.uniform(0.0, full * 1.1)) for _ in range(timed)]
    plan += [(step, None) for step in steps]
    rng.shuffle(plan)
    tried = 0
    for number, (step, delay) in enumerate(plan, start=2):
        tag = f"MK{number}"
        completed, _ = run_child(root, sources.tag(tag), step, delay)
        tried += not completed
        observed = answering_tag(root, first)
        if completed:
            allowed = {tag}
        elif step is None:
            allowed = {committed, tag}
        else:
            allowed = {committed} if step.expect == "old" else {tag}
        assert observed in allowed, (step, delay, completed, observed, committed, tag)
        committed = observed
    _final_refresh(root, sources, first, tmp_path, len(plan) + 2)
    return tried


def _final_refresh(root: Path, sources: Sources, first: KnowledgeBase, scratch: Path, number: int) -> None:
    """Plant what crashed writers leave (a hot WAL beside the live version, orphans), refresh, check the cleanup."""
    live = KnowledgeBase(root).store.current()
    assert live is not None
    wal, shm = hot_wal_from(live, scratch)
    (root / (live.name + "-wal")).write_bytes(wal)
    (root / (live.name + "-shm")).write_bytes(shm)
    for orphan in ("kb-19990101T000000000000.sqlite.tmp", "kb-19990101T000000000000.sqlite.tmp-journal"):
        (root / orphan).write_bytes(b"half-written")
    (root / "kb-19990101T000000000000.sqlite-wal").write_bytes(wal)
    before = answering_tag(root, first, planted=True)  # the planted WAL never pairs with the live version
    report = first.refresh([sources.tag(f"MK{number}")], bundled=False)
    assert answering_tag(root, first) == f"MK{number}"
    # The diff reads the old version as it is, not as the planted WAL would make it.
    assert not any(report.added.values()) and not any(report.removed.values()), report
    assert report.changed == {
        "actors": 1,
        "axes": 1,
        "objectives": 1,
        "decisions": 2,
        "councils": 1,
        "programmes": 1,
        "reports": 1,
    }, (before, report.changed)
    new = (root / "current").read_text(encoding="utf-8").strip()
    assert sorted(p.name for p in root.glob("kb-*")) == sorted([live.name, new]), "leftovers after a refresh"
    assert not [p.name for p in root.iterdir() if p.name.endswith(".tmp") or ".tmp-" in p.name]


def test_kill_minus_9_during_refresh_never_damages_the_knowledge(tmp_path: Path) -> None:
    """Fast: every step kill point once, plus two random moments, on a small knowledge base."""
    started = time.perf_counter()
    tried = crash_refreshes(tmp_path, FAST_BLOCKS, timed=2, steps=list(STEPS), seed=20240611)
    assert tried >= len(STEPS), tried
    print(f"\ncrash points tried: {tried} in {time.perf_counter() - started:.1f} s")


@pytest.mark.soak
def test_kill_minus_9_soak(tmp_path: Path) -> None:
    """Soak: 40 random moments and every step kill point twice, on a 100× knowledge base."""
    tried = crash_refreshes(tmp_path, SOAK_BLOCKS, timed=40, steps=list(STEPS) * 2, seed=int(time.time()))
    assert tried >= 50, tried
    print(f"\ncrash points tried: {tried}")


def test_a_knowledge_directory_with_uri_characters_in_its_path(tmp_path: Path) -> None:
    """Versions are opened by SQLite URI: '?', '#' and '%' in the directory name must not break them."""
    root = tmp_path / "kb ?#%20 dir"
    source = write_sources(tmp_path / "src", 1, "MK1")
    kb = KnowledgeBase(root)
    kb.refresh([str(source)], bundled=False)
    kb.refresh([str(source)], bundled=False)
    assert tags_in(kb.ask(MARKER_QUESTIONS[0])) == {"MK1"}


def test_the_step_kill_points_are_reached(tmp_path: Path) -> None:
    """Guards the crash test itself: every step's audit event happens during a refresh over a previous version."""
    root = tmp_path / "kb"
    source = write_sources(tmp_path / "src", 1, "MK1")
    KnowledgeBase(root).refresh([str(source)], bundled=False)
    (root / "kb-19990101T000000000000.sqlite").write_bytes(b"old")
    code = (
        "import json, sys\nfrom knowledge import KnowledgeBase\nevents = []\n"
        "sys.addaudithook(lambda n, a: events.append([n, str(a[0]) if a else '']))\n"
        "KnowledgeBase(sys.argv[1]).refresh([sys.argv[2]], bundled=False)\nprint(json.dumps(events))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(root), str(source)], cwd=ROOT, capture_output=True, text=True, check=True
    )
    events = json.loads(out.stdout)
    for step in STEPS:
        hits = [e for e in events if e[0] == step.event and re.search(step.pattern, e[1])]
        assert len(hits) >= step.nth, step
