"""Answer quality: govbot against two baselines (FTS5 bm25 alone, rapidfuzz over names alone) on labelled questions.

The knowledge under test is the bundled knowledge plus the fictional source in bench/data/. Baselines have
no notion of intent, so they are judged on the record (or phrase) alone, and their "I don't know" cutoff is
tuned on these very questions: both choices favour the baselines, so govbot's lead is not flattered.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from rapidfuzz import fuzz, process

from knowledge import Answer, KnowledgeBase
from knowledge.answer import ANSWER_AT
from knowledge.model import INTENTS
from knowledge.store import Reader
from knowledge.text import fold, fts_query

from .table import pct, print_table, section

__all__ = [
    "Case",
    "Outcome",
    "load_cases",
    "build_kb",
    "judge",
    "missing_ids",
    "open_reader",
    "run",
    "QUESTIONS",
    "BENCH_DATA",
]

QUESTIONS = Path(__file__).with_name("questions") / "dev.yaml"
BENCH_DATA = Path(__file__).with_name("data")
_CHOICE = re.compile(r"^(\w+) (\w+):(.+?)(?: \[(?:fr|en)\])?$")  # "<intent> <kind>:<id>" and maybe " [lang]"


@dataclass(frozen=True)
class Case:
    """One labelled question; see the header of questions/dev.yaml for the fields."""

    q: str
    intents: tuple[str, ...]
    ids: tuple[str, ...] = ()
    all: tuple[str, ...] = ()
    contains: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    @property
    def in_scope(self) -> bool:
        return "unknown" not in self.intents


@dataclass
class Outcome:
    """How one system did on one case."""

    case: Case
    right: bool  # answered directly and correctly, or "I don't know" to an out-of-scope question
    idk: bool  # said "I don't know" (govbot: intent unknown; baselines: no hit or under the cutoff)
    asked: bool = False  # govbot asked back (choices) instead of answering
    first_choice: bool = False  # ... and its first choice was the right one
    record_right: bool = False  # govbot: right record even if the intent was not the expected one
    confidence: float = 0.0
    got: str = ""  # govbot's answer in short, for the list of misses


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(str(v) for v in (value if isinstance(value, list) else [value]))


def load_cases(path: Path = QUESTIONS, limit: int | None = None) -> list[Case]:
    """The labelled questions; `limit` keeps an evenly spread sample (so out-of-scope ones stay in)."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    cases = []
    for number, item in enumerate(raw, 1):
        case = Case(
            q=str(item["q"]),
            intents=_strings(item["intent"]),
            ids=_strings(item.get("ids")),
            all=_strings(item.get("all")),
            contains=_strings(item.get("contains")),
            tags=_strings(item.get("tags")),
        )
        if bad := set(case.intents) - set(INTENTS):
            raise ValueError(f"{path}: question {number} ({case.q!r}): unknown intent {sorted(bad)}")
        if case.in_scope and "help" not in case.intents and not (case.ids or case.all or case.contains):
            raise ValueError(f"{path}: question {number} ({case.q!r}) needs ids, all or contains")
        cases.append(case)
    if limit and limit < len(cases):
        step = len(cases) / limit
        cases = [cases[int(i * step)] for i in range(limit)]
    return cases


def build_kb(root: Path) -> KnowledgeBase:
    """The knowledge under test: bundled data plus bench/data, built in `root`."""
    kb = KnowledgeBase(root)
    kb.refresh([str(BENCH_DATA)], bundled=True)
    return kb


def _ref_matches(ref: str, kind: str, rid: str) -> bool:
    """'DNS' matches any kind with id DNS; 'axes:1' only the axis 1."""
    want_kind, _, want_id = ref.rpartition(":") if ":" in ref else ("", "", ref)
    return rid == want_id and (not want_kind or kind == want_kind)


def _record_ok(case: Case, refs: list[tuple[str, str]], text: str) -> bool:
    if not (case.ids or case.all or case.contains):
        return True
    if case.ids and refs and any(_ref_matches(ref, *refs[0]) for ref in case.ids):
        return True
    if case.all and all(any(_ref_matches(ref, kind, rid) for kind, rid in refs) for ref in case.all):
        return True
    folded = fold(text)
    return any(fold(phrase) in folded for phrase in case.contains)


def _answer_text(answer: Answer) -> str:
    return "\n".join([answer.title, answer.text, *answer.fields.values()])


def judge(case: Case, answer: Answer) -> Outcome:
    """govbot's answer against the label."""
    refs = [(r["kind"], r["id"]) for r in answer.results]
    idk = answer.intent == "unknown"
    asked = not idk and answer.intent != "help" and bool(answer.choices)
    shown = ", ".join(f"{k}:{i}" for k, i in refs[:3]) or "no record"
    got = f"{answer.intent} {answer.confidence:.2f} {shown}"
    first_choice = False
    if asked:
        queries = [c["query"] for c in answer.choices]
        got = f"asked back {answer.confidence:.2f}: " + " | ".join(queries[:3])
        if m := _CHOICE.match(queries[0]):
            first_choice = m[1] in case.intents and _record_ok(case, [(m[2], m[3])], answer.choices[0]["label"])
    elif answer.title:
        got += f" «{answer.title[:60]}»"
    if not case.in_scope:
        return Outcome(case, right=idk, idk=idk, asked=asked, confidence=answer.confidence, got=got)
    record_right = not asked and not idk and _record_ok(case, refs, _answer_text(answer))
    if "help" in case.intents:
        record_right = answer.intent == "help"
    right = record_right and answer.intent in case.intents
    return Outcome(case, right, idk, asked, first_choice, record_right, answer.confidence, got)


@dataclass
class _Guess:
    """A baseline's best hit: a score (higher is surer; None = no hit), the record and its text."""

    score: float | None
    kind: str = ""
    id: str = ""
    text: str = ""


def _entity_text(reader: Reader, kind: str, rid: str) -> str:
    rows = reader.rows("SELECT title, heading, body FROM entities WHERE kind = ? AND id = ? LIMIT 1", (kind, rid))
    return " ".join(str(v or "") for v in rows[0].values()) if rows else ""


def fts_guess(reader: Reader, question: str) -> _Guess:
    """FTS5 bm25 top-1 over every record and passage, through the core's own query builder."""
    expression = fts_query(question)
    hits = reader.search(expression, limit=1) if expression else []
    if not hits:
        return _Guess(None)
    hit = hits[0]
    text = " ".join(str(hit.get(k) or "") for k in ("title", "heading", "body"))
    return _Guess(-float(hit["rank"]), hit["kind"], hit["id"], text)


def fuzzy_guesser(reader: Reader) -> Callable[[str], _Guess]:
    """rapidfuzz WRatio best match of the folded question over every title, id and alias (the names table)."""
    rows = reader.rows("SELECT name, kind, id FROM names")
    names = [r["name"] for r in rows]

    def guess(question: str) -> _Guess:
        best = process.extractOne(fold(question), names, scorer=fuzz.WRatio) if fold(question) else None
        if best is None:
            return _Guess(None)
        row = rows[best[2]]
        return _Guess(float(best[1]), row["kind"], row["id"], _entity_text(reader, row["kind"], row["id"]))

    return guess


def _baseline(cases: list[Case], guesses: list[_Guess]) -> tuple[float, list[Outcome]]:
    """Outcomes at the cutoff that maximises the baseline's own overall accuracy on these questions."""
    right_if_answered = [
        case.in_scope
        and "help" not in case.intents
        and g.score is not None
        and _record_ok(case, [(g.kind, g.id)], g.text)
        for case, g in zip(cases, guesses, strict=True)
    ]

    def outcomes(cutoff: float) -> list[Outcome]:
        found = []
        for case, g, ok in zip(cases, guesses, right_if_answered, strict=True):
            idk = g.score is None or g.score < cutoff
            right = (not idk and ok) if case.in_scope else idk
            found.append(Outcome(case, right, idk, record_right=right and case.in_scope))
        return found

    candidates = sorted({g.score for g in guesses if g.score is not None}) + [float("inf")]
    best = max(candidates, key=lambda c: (sum(o.right for o in outcomes(c)), -c))
    return best, outcomes(best)


@dataclass
class Scores:
    """The figures of one system, as printed side by side."""

    n_in: int
    n_out: int
    right_in: int
    record_right_in: int
    overall: int
    asked: int
    first_choice: int
    idk: int
    idk_right: int
    wrong: int
    confident_wrong: int

    @classmethod
    def of(cls, outcomes: list[Outcome]) -> Scores:
        inside = [o for o in outcomes if o.case.in_scope]
        answered = [o for o in outcomes if not o.idk and not o.asked]
        return cls(
            n_in=len(inside),
            n_out=len(outcomes) - len(inside),
            right_in=sum(o.right for o in inside),
            record_right_in=sum(o.record_right for o in inside),
            overall=sum(o.right for o in outcomes),
            asked=sum(o.asked for o in outcomes),
            first_choice=sum(o.first_choice for o in outcomes if o.asked),
            idk=sum(o.idk for o in outcomes),
            idk_right=sum(o.idk and not o.case.in_scope for o in outcomes),
            wrong=sum(not o.right for o in answered),
            confident_wrong=sum(not o.right and o.confidence >= ANSWER_AT for o in answered),
        )


def _confident_wrong(outcomes: list[Outcome]) -> list[Outcome]:
    return [o for o in outcomes if not o.idk and not o.asked and not o.right and o.confidence >= ANSWER_AT]


def open_reader(kb: KnowledgeBase) -> Reader:
    """A reader of the current version, for the baselines' raw queries (close it when done)."""
    current = kb.store.current()
    if current is None:
        raise RuntimeError(f"no knowledge built in {kb.path}")
    return Reader(current)


def missing_ids(reader: Reader, cases: list[Case]) -> list[str]:
    """Labelled ids that name no record of the knowledge under test (labels that rotted)."""
    known = {(r["kind"], r["id"]) for r in reader.rows("SELECT kind, id FROM entities")}
    missing = []
    for case in cases:
        for ref in (*case.ids, *case.all):
            if not any(_ref_matches(ref, kind, rid) for kind, rid in known):
                missing.append(f"{ref} (in {case.q!r})")
    return missing


def run(limit: int | None = None, quiet: bool = False) -> dict[str, Any]:
    """Evaluate govbot and both baselines; print the table unless quiet; return the figures."""
    cases = load_cases(limit=limit)
    with tempfile.TemporaryDirectory(prefix="govbot-eval-") as tmp:
        kb = build_kb(Path(tmp))
        started = time.perf_counter()
        mine = [judge(case, kb.ask(case.q)) for case in cases]
        elapsed = time.perf_counter() - started
        reader = open_reader(kb)
        try:
            fts_cut, fts = _baseline(cases, [fts_guess(reader, c.q) for c in cases])
            fuzzy = fuzzy_guesser(reader)
            fuzzy_cut, fuzz_out = _baseline(cases, [fuzzy(c.q) for c in cases])
            missing = missing_ids(reader, cases)
        finally:
            reader.close()
    systems = {"govbot": Scores.of(mine), "fts5": Scores.of(fts), "rapidfuzz": Scores.of(fuzz_out)}
    figures = {
        "questions": len(cases),
        "missing_ids": missing,
        "seconds": elapsed,
        "cutoffs": {"fts5": fts_cut, "rapidfuzz": fuzzy_cut},
        **{name: vars(s) for name, s in systems.items()},
        "failures": [o for o in mine if not o.right],
        "confident_wrong": _confident_wrong(mine),
    }
    if not quiet:
        _print(cases, mine, {"fts5": fts, "rapidfuzz": fuzz_out}, systems, figures)
    return figures


def _print(
    cases: list[Case],
    mine: list[Outcome],
    baselines: dict[str, list[Outcome]],
    systems: dict[str, Scores],
    figures: dict[str, Any],
) -> None:
    g, f, z = systems["govbot"], systems["fts5"], systems["rapidfuzz"]
    n = len(cases)
    section(f"eval: answer quality on {n} labelled questions ({g.n_in} in scope, {g.n_out} out of scope)")
    rows = [
        ["top-1 accuracy, in scope (govbot: intent and record)", pct(g.right_in, g.n_in), pct(f.right_in, f.n_in),
         pct(z.right_in, z.n_in)],
        ["top-1 accuracy, in scope, record only", pct(g.record_right_in, g.n_in), pct(f.right_in, f.n_in),
         pct(z.right_in, z.n_in)],
        ["overall accuracy (in-scope right + out-of-scope IDK)", pct(g.overall, n), pct(f.overall, n),
         pct(z.overall, n)],
        ["asked back (choices)", f"{g.asked} ({pct(g.asked, n)})", "—", "—"],
        ["first choice right, when asked back", pct(g.first_choice, g.asked), "—", "—"],
        ["right directly or by first choice, in scope", pct(g.right_in + g.first_choice, g.n_in), "—", "—"],
        ['"I don\'t know" precision', pct(g.idk_right, g.idk), pct(f.idk_right, f.idk), pct(z.idk_right, z.idk)],
        ['"I don\'t know" recall', pct(g.idk_right, g.n_out), pct(f.idk_right, f.n_out), pct(z.idk_right, z.n_out)],
        ["wrong answers (answered, not IDK, not asked back)", g.wrong, f.wrong, z.wrong],
        [f"wrong but confident (confidence >= {ANSWER_AT})", g.confident_wrong, "—", "—"],
        ["IDK cutoff (tuned on these questions)", "—", f"bm25 >= {figures['cutoffs']['fts5']:.2f}",
         f"WRatio >= {figures['cutoffs']['rapidfuzz']:.0f}"],
    ]  # fmt: skip
    print_table(["metric", "govbot", "FTS5 bm25", "rapidfuzz"], rows)
    per = 1000 * figures["seconds"] / max(1, n)
    print(f"(govbot answered the {n} questions in {figures['seconds'] * 1000:.0f} ms, {per:.2f} ms each)")
    print("\nBy category (right / questions: govbot · FTS5 · rapidfuzz):")
    tags = sorted({t for c in cases for t in c.tags}, key=lambda t: -sum(t in c.tags for c in cases))
    systems_outcomes = [mine, baselines["fts5"], baselines["rapidfuzz"]]
    for tag in tags:
        counts = [sum(o.right for o in outs if tag in o.case.tags) for outs in systems_outcomes]
        total = sum(tag in c.tags for c in cases)
        print(f"  {tag:<9} {total:>3}:  " + " · ".join(f"{100 * c / total:5.1f} %" for c in counts))
    if figures["missing_ids"]:
        print("\nLabelled ids missing from the knowledge (fix the question file):")
        for ref in figures["missing_ids"]:
            print(f"  {ref}")
    wrong = figures["failures"]
    print(f"\ngovbot misses ({len(wrong)}; * = wrong but confident):")
    confident = {id(o) for o in figures["confident_wrong"]}
    for o in wrong:
        mark = "*" if id(o) in confident else " "
        first = " (first choice right)" if o.first_choice else ""
        print(f" {mark} {o.case.q!r}: expected {_expected(o.case)}; got {o.got}{first}")


def _expected(case: Case) -> str:
    parts = ["/".join(case.intents)]
    if case.ids:
        parts.append("ids=" + ",".join(case.ids))
    if case.all:
        parts.append("all=" + ",".join(case.all))
    if case.contains:
        parts.append("contains=" + " or ".join(repr(c) for c in case.contains))
    return " ".join(parts)
