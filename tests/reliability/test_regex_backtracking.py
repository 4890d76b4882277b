"""No regular expression that reads a question or a source backtracks catastrophically.

Each pattern of the knowledge modules is run over long runs of the fragments that make patterns backtrack
(unclosed `<@`, separators, digits and dots...); each must take about as long as it takes over plain text
of the same length, measured in the same run (a quadratic pattern is hundreds of times slower here).
"""

from __future__ import annotations

import importlib
import re
import time

import pytest

from knowledge.text import strip_mentions

MODULES = (
    "knowledge.understand",
    "knowledge.text",
    *(f"knowledge.answer.{m}" for m in ("common", "fallbacks", "records", "lists", "councils", "changes", "route")),
    "knowledge.vocabulary",
    "knowledge.passages",
)
FRAGMENTS = ("<@", "<#", "<!a", "a ", "1.", "#1.", "o1.", "@a.", "\n ", "axe ", "depuis ", "12/", "1er ", "a'", "<a ")
LENGTH = 20_000


def _patterns() -> list[tuple[str, re.Pattern[str]]]:
    found = []
    for name in MODULES:
        for attr, value in vars(importlib.import_module(name)).items():
            values = value.items() if isinstance(value, dict) else [("", value)]
            found += [(f"{name}.{attr}{f'[{k}]' if k else ''}", p) for k, p in values if isinstance(p, re.Pattern)]
    return found


def _seconds(pattern: re.Pattern[str], text: str) -> float:
    started = time.perf_counter()
    pattern.findall(text)
    pattern.sub(" ", text)
    return time.perf_counter() - started


@pytest.mark.parametrize(("name", "pattern"), _patterns(), ids=[n for n, _ in _patterns()])
def test_every_pattern_is_linear_on_hostile_runs(name: str, pattern: re.Pattern[str]) -> None:
    plain = min(_seconds(pattern, "lorem ipsum " * (LENGTH // 12)) for _ in range(3))
    for fragment in FRAGMENTS:
        text = fragment * (LENGTH // len(fragment)) + "!"
        hostile = min(_seconds(pattern, text) for _ in range(3))  # the best of three: a busy core is noise
        assert hostile < 50 * plain + 0.05, f"{name} on {fragment!r}×: {hostile:.3f} s, plain text {plain:.4f} s"


def test_a_flood_of_unclosed_mentions_is_stripped_as_fast_as_plain_text() -> None:
    """A 1 MiB web question of `<@<@<@…` held the GIL for minutes: `[^>]*` rescanned to the end from each `<@`."""
    flood, plain = "<@" * (LENGTH // 2), "ab" * (LENGTH // 2)
    started = time.perf_counter()
    assert strip_mentions(flood) == flood  # nothing in it is a mention
    flood_time = time.perf_counter() - started
    started = time.perf_counter()
    strip_mentions(plain)
    plain_time = time.perf_counter() - started
    assert flood_time < 50 * plain_time + 0.05, (flood_time, plain_time)
