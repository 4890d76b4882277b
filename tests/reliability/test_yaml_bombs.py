"""A YAML source cannot grow past a bounded multiple of its size: alias bombs and deep documents are refused.

Each bomb is refreshed in a child process whose address space is capped (so a regression fails the test
instead of the machine); the child reports the refresh's problems and its peak RSS.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from knowledge.sources import read_sources

HEAD = "source: {title: Bombe, url: 'https://example.org/bomb'}\nactors:\n  - id: A\n    name: Bombe\n"
MB = 1024 * 1024
CHILD = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (2 * 1024**3, 2 * 1024**3))  # a regression fails here, not the machine
from knowledge import KnowledgeBase, SourceErrors
try:
    KnowledgeBase(sys.argv[2]).refresh([sys.argv[1]], bundled=False)
    problems = []
except SourceErrors as exc:
    problems = [str(p) for p in exc.problems]
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec, so it would report the parent's (pytest's) peak.
status = open("/proc/self/status").read()
peak_kb = int(status.split("VmHWM:")[1].split()[0])
print(json.dumps({"problems": problems, "peak_kb": peak_kb}))
"""


def long_strings(size: int) -> str:
    """Half the file is one string, the other half aliases of it: each alias repeats half a megabyte."""
    text = "x" * (size // 2)
    aliases = ", ".join(["*s"] * (size // 2 // 4))
    return HEAD + f"    notes: &s '{text}'\n    more: [{aliases}]\n"


def laughs(size: int) -> str:
    """Billion laughs padded to `size`: ten aliases per level, nine levels (10⁹ values)."""
    lines = [HEAD, "    pad: '" + "p" * (size - 2000) + "'\n", "    l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol]\n"]
    for level in range(1, 10):
        lines.append(f"    l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 10) + "]\n")
    return "".join(lines)


def read_in_child(path: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(path.parent / "kb")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parents[2],
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


@pytest.mark.parametrize("bomb", [long_strings, laughs], ids=["long-strings", "laughs"])
def test_a_1mb_alias_bomb_is_refused_on_one_line_with_bounded_memory(bomb, tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(bomb(MB), encoding="utf-8")
    assert MB * 0.9 < path.stat().st_size < MB * 1.1
    found = read_in_child(path)
    [line] = found["problems"]
    assert line.startswith(f"{path}: cannot parse: more than ") and "once aliases are expanded (an alias bomb?)" in line
    assert "\n" not in line
    assert found["peak_kb"] < 300 * 1024, f"peak RSS {found['peak_kb'] // 1024} MB"


def test_anchors_for_shared_defaults_still_load(tmp_path: Path) -> None:
    """A real use of aliases: 500 records merging the first one's fields (a 200-character role each)."""
    first = f"  - &first {{id: A, name: A, url: 'https://example.org/a', role: {'r' * 200}}}\n"
    others = "".join(f"  - {{<<: *first, id: A{i}, name: Direction {i}}}\n" for i in range(500))
    path = tmp_path / "defaults.yaml"
    path.write_text("actors:\n" + first + others, encoding="utf-8")
    bundle = read_sources([str(path)])
    assert not bundle.problems and len(bundle.records["actors"]) == 501
    assert bundle.records["actors"][-1]["role"] == "r" * 200


def test_a_deep_document_is_refused_on_one_line(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text(HEAD + "    notes: " + "[" * 900 + "]" * 900 + "\n", encoding="utf-8")
    [problem] = read_sources([str(path)]).problems
    assert str(problem) == f"{path}: cannot parse: nested more than 64 levels deep (line 5)"
