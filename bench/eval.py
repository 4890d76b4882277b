"""Answer quality: govbot against two baselines (FTS5 bm25 alone, rapidfuzz over names alone) on labelled questions.

Two question sets side by side: `dev` (bench/questions/dev.yaml) is the set the rules are tuned on; `test`
(bench/questions/test*.yaml) was written and frozen before tuning by people who had not seen the code, and is
read as figures only. The gap between the two is the figure to watch. Each set is also asked again with the
spelling changed (bench/perturb.py: accents, apostrophes, typos, capitals, question mark, a mention).

Each file is its own column: `dev` = dev.yaml and every dev-*.yaml (SET_FILES), `test` = test.yaml and test-region.yaml.
The knowledge under test is the bundled knowledge plus the fictional source in bench/data/; for the test sets
also the fictional regional roadmap tests/data/roadmaps/region-val-de-brume/ (one source, roadmap `ars-vdb`),
whose records are stored as '<roadmap>:<id>': a label naming `roadmap:` matches that stored key. Per-question
lists of a test set are printed only when asked (`--list-test`): tuning reads the dev set's lists alone.
Baselines have
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
from knowledge.model import INTENTS, RECORD_TYPES
from knowledge.store import Reader
from knowledge.text import fold, fts_query

from .perturb import PERTURBATIONS
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
    "load_set",
    "set_paths",
    "evaluate_set",
    "SetResult",
    "SETS",
    "QUESTIONS",
    "BENCH_DATA",
    "REGION",
    "SET_FILES",
    "set_names",
]

SETS = Path(__file__).with_name("questions")
QUESTIONS = SETS / "dev.yaml"
BENCH_DATA = Path(__file__).with_name("data")
REGION = Path(__file__).parent.parent / "tests" / "data" / "roadmaps" / "region-val-de-brume"
# The sets and the files of each: `test` names every frozen file, each reported as its own column.
SET_FILES = {
    "dev": (
        "dev",
        "dev-region",
        "dev-blind",
        "dev-blind2",
        "dev-blind3",
        "dev-blind4a",
        "dev-blind4b",
        "dev-blind5a",
        "dev-blind5b",
        "dev-oos",
    ),
    "test": ("test", "test-region"),
    # Written blind like the dev files, never tuned on: a second held-out measure beside the frozen test set.
    "held": ("held-blind6",),
    "test-region": ("test-region",),
}
_REGIONAL = (
    "dev-region",
    "dev-blind",
    "dev-blind2",
    "dev-blind3",
    "dev-blind4a",
    "dev-blind4b",
    "dev-blind5a",
    "dev-blind5b",
    "dev-oos",
    "test",
    "test-region",
    "held-blind6",
)  # the file-sets asked over the knowledge with the region
_KINDS = (*RECORD_TYPES, "passages")  # what may stand before ':' in a label ("axes:1")
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
    roadmap: str = ""  # the roadmap of the right record when it is not the national one (e.g. ars-vdb)

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
            roadmap=str(item.get("roadmap") or ""),
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


def build_kb(root: Path, region: bool = False) -> KnowledgeBase:
    """The knowledge under test: bundled data plus bench/data (and the regional roadmap), built in `root`."""
    kb = KnowledgeBase(root)
    kb.refresh([str(BENCH_DATA), *([str(REGION)] if region else [])], bundled=True)
    return kb


def _ref_matches(ref: str, kind: str, rid: str, roadmap: str = "", anywhere: bool = False) -> bool:
    """'DNS' matches any kind with id DNS; 'axes:1' only the axis 1. With `roadmap`, the id is that roadmap's
    (stored as 'ars-vdb:1'); `anywhere` (a label tagged ambiguous) takes the id in any roadmap."""
    want_kind, _, want_id = ref.partition(":") if ref.partition(":")[0] in _KINDS else ("", "", ref)
    if want_kind and kind != want_kind:
        return False
    if roadmap:
        return rid == f"{roadmap}:{want_id}"
    return rid == want_id or (anywhere and rid.rpartition(":")[2] == want_id)


def _record_ok(case: Case, refs: list[tuple[str, str]], text: str) -> bool:
    if not (case.ids or case.all or case.contains):
        return True
    anywhere = "ambiguous" in case.tags

    def matches(ref: str, kind: str, rid: str) -> bool:
        return _ref_matches(ref, kind, rid, case.roadmap, anywhere)

    if case.ids and refs and any(matches(ref, *refs[0]) for ref in case.ids):
        return True
    if case.all and all(any(matches(ref, kind, rid) for kind, rid in refs) for ref in case.all):
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
            if not any(_ref_matches(ref, kind, rid, case.roadmap, "ambiguous" in case.tags) for kind, rid in known):
                missing.append(f"{ref} (in {case.q!r})")
    return missing


def set_names(chosen: tuple[str, ...]) -> list[str]:
    """The file-sets named by `--set` values, in order, each once ('test' -> 'test', 'test-region')."""
    for name in chosen:
        if name not in SET_FILES:
            raise ValueError(f"unknown question set {name!r} (use {', '.join(SET_FILES)})")
    return list(dict.fromkeys(stem for name in chosen for stem in SET_FILES[name]))


def set_paths(name: str) -> list[Path]:
    """The files of a question set: dev is the tuning set; test is every test*.yaml, frozen before tuning."""
    paths = [SETS / f"{stem}.yaml" for stem in set_names((name,))]
    return [p for p in paths if p.exists()]


def load_set(name: str, limit: int | None = None) -> list[Case]:
    """All the cases of one file-set ('dev', 'test', 'test-region'; [] when it has no file yet), sampled
    evenly when `limit` is given."""
    path = SETS / f"{name}.yaml"
    cases = load_cases(path) if path.exists() else []
    if limit and limit < len(cases):
        step = len(cases) / limit
        cases = [cases[int(i * step)] for i in range(limit)]
    return cases


@dataclass
class SetResult:
    """One question set: govbot and both baselines on the clean questions, govbot on each perturbation."""

    name: str
    cases: list[Case]
    mine: list[Outcome]
    baselines: dict[str, list[Outcome]]
    cutoffs: dict[str, float]
    perturbed: dict[str, list[Outcome]]
    missing: list[str]
    seconds: float


def evaluate_set(name: str, cases: list[Case], kb: KnowledgeBase, reader: Reader) -> SetResult:
    started = time.perf_counter()
    mine = [judge(case, kb.ask(case.q)) for case in cases]
    elapsed = time.perf_counter() - started
    fts_cut, fts = _baseline(cases, [fts_guess(reader, c.q) for c in cases])
    fuzzy = fuzzy_guesser(reader)
    fuzzy_cut, fuzz_out = _baseline(cases, [fuzzy(c.q) for c in cases])
    perturbed = {
        label: [judge(case, kb.ask(change(case.q))) for case in cases] for label, change in PERTURBATIONS.items()
    }
    return SetResult(
        name,
        cases,
        mine,
        {"fts5": fts, "rapidfuzz": fuzz_out},
        {"fts5": fts_cut, "rapidfuzz": fuzzy_cut},
        perturbed,
        missing_ids(reader, cases),
        elapsed,
    )


def run(
    limit: int | None = None,
    quiet: bool = False,
    sets: tuple[str, ...] = ("dev", "test"),
    list_test: bool = False,
) -> dict[str, Any]:
    """Evaluate govbot and both baselines on each set that has questions; print the tables unless quiet.

    dev.yaml runs over the bundled knowledge and bench/data; the other dev files and the test sets over those and
    the regional roadmap. Returns the first set's figures at the top level (as before sets existed) and every set's under
    "sets". A test set's per-question lists are printed only with `list_test`.
    """
    names = set_names(sets)
    chosen = {name: load_set(name, limit) for name in names}
    chosen = {name: cases for name, cases in chosen.items() if cases}
    results: dict[str, SetResult] = {}
    for region in (False, True):
        batch = {n: c for n, c in chosen.items() if (n in _REGIONAL) == region}
        if not batch:
            continue
        with tempfile.TemporaryDirectory(prefix="govbot-eval-") as tmp:
            kb = build_kb(Path(tmp), region=region)
            reader = open_reader(kb)
            try:
                for name, cases in batch.items():
                    results[name] = evaluate_set(name, cases, kb, reader)
            finally:
                reader.close()
    results = {n: results[n] for n in chosen}
    figures = {"sets": {name: _figures(r) for name, r in results.items()}}
    if results:
        figures.update(next(iter(figures["sets"].values())))
    if not quiet:
        _print(results, [n for n in names if n not in results], list_test)
    return figures


def _figures(r: SetResult) -> dict[str, Any]:
    systems = {"govbot": Scores.of(r.mine), **{k: Scores.of(v) for k, v in r.baselines.items()}}
    return {
        "questions": len(r.cases),
        "missing_ids": r.missing,
        "seconds": r.seconds,
        "cutoffs": r.cutoffs,
        **{name: vars(s) for name, s in systems.items()},
        "perturbed": {label: vars(Scores.of(outs)) for label, outs in r.perturbed.items()},
        "failures": [o for o in r.mine if not o.right],
        "confident_wrong": _confident_wrong(r.mine),
    }


def _print(results: dict[str, SetResult], absent: list[str], list_test: bool = False) -> None:
    names = list(results)
    for name in absent:
        print(f"\n(question set {name!r}: no file under {SETS} yet)")
    if not names:
        return
    scores = {n: {"govbot": Scores.of(r.mine), **{k: Scores.of(v) for k, v in r.baselines.items()}}
              for n, r in results.items()}  # fmt: skip
    sizes = ", ".join(f"{n}: {len(r.cases)} ({scores[n]['govbot'].n_out} out of scope)" for n, r in results.items())
    section(f"eval: answer quality ({sizes})")
    headers = ["metric"] + [f"{n} {system}" for n in names for system in ("govbot", "FTS5", "rapidfuzz")]

    def row(label: str, value: Callable[[Scores], object], baselines: bool = True) -> list[object]:
        cells: list[object] = [label]
        for n in names:
            s = scores[n]
            cells += [value(s["govbot"])] + [value(s[b]) if baselines else "—" for b in ("fts5", "rapidfuzz")]
        return cells

    rows = [
        row("strict top-1, in scope (govbot: intent and record)", lambda s: pct(s.right_in, s.n_in)),
        row("top-1, in scope, record only", lambda s: pct(s.record_right_in, s.n_in)),
        row("overall (in-scope right + out-of-scope IDK)", lambda s: pct(s.overall, s.n_in + s.n_out)),
        row("asked back (choices)", lambda s: s.asked, baselines=False),
        row("first choice right, when asked back", lambda s: pct(s.first_choice, s.asked), baselines=False),
        row("right directly or by first choice, in scope", lambda s: pct(s.right_in + s.first_choice, s.n_in),
            baselines=False),
        row('"I don\'t know" precision', lambda s: pct(s.idk_right, s.idk)),
        row('"I don\'t know" recall (out of scope)', lambda s: pct(s.idk_right, s.n_out)),
        row("wrong answers (answered, not IDK, not asked back)", lambda s: s.wrong),
        row(f"wrong but confident (confidence >= {ANSWER_AT})", lambda s: s.confident_wrong, baselines=False),
    ]  # fmt: skip
    cut = ["IDK cutoff (tuned on each set's own questions)"]
    for n in names:
        c = results[n].cutoffs
        cut += ["—", f"bm25 >= {c['fts5']:.2f}", f"WRatio >= {c['rapidfuzz']:.0f}"]
    print_table(headers, [*rows, cut])
    for n, r in results.items():
        per = 1000 * r.seconds / max(1, len(r.cases))
        print(f"({n}: govbot answered {len(r.cases)} questions in {r.seconds * 1000:.0f} ms, {per:.2f} ms each)")
    _print_perturbed(results)
    for r in results.values():
        _print_categories(r)
    listed = [n for n in results if n.startswith("dev") or list_test]  # a test set is read as figures unless asked
    for n in results:
        if results[n].missing:
            print(f"\nLabelled ids missing from the knowledge ({len(results[n].missing)}; fix the {n} set):")
            for ref in results[n].missing if n in listed else []:
                print(f"  {ref}")
    for n in listed:
        confident = _confident_wrong(results[n].mine)
        print(f"\n{n}: wrong but confident ({len(confident)}):")
        for o in confident:
            print(f"  * {o.case.q!r}: expected {_expected(o.case)}; got {o.got}")
    for n in listed:
        _print_misses(results[n])


def _print_perturbed(results: dict[str, SetResult]) -> None:
    print("\nPerturbed questions (govbot; the label is unchanged, only the spelling):")
    headers = ["variant"]
    for n in results:
        headers += [f"{n} strict top-1", f"{n} IDK recall", f"{n} wrong+confident"]
    variants = {"clean": {n: r.mine for n, r in results.items()}}
    for label in PERTURBATIONS:
        variants[label] = {n: r.perturbed[label] for n, r in results.items()}
    variants["all perturbations"] = {n: [o for outs in r.perturbed.values() for o in outs] for n, r in results.items()}
    rows = []
    for label, by_set in variants.items():
        cells: list[object] = [label]
        for n in results:
            s = Scores.of(by_set[n])
            cells += [pct(s.right_in, s.n_in), pct(s.idk_right, s.n_out), s.confident_wrong]
        rows.append(cells)
    print_table(headers, rows)


def _print_categories(r: SetResult) -> None:
    print(f"\nBy category, {r.name} set (right / questions: govbot · FTS5 · rapidfuzz):")
    tags = sorted({t for c in r.cases for t in c.tags}, key=lambda t: -sum(t in c.tags for c in r.cases))
    systems_outcomes = [r.mine, r.baselines["fts5"], r.baselines["rapidfuzz"]]
    for tag in tags:
        counts = [sum(o.right for o in outs if tag in o.case.tags) for outs in systems_outcomes]
        total = sum(tag in c.tags for c in r.cases)
        print(f"  {tag:<9} {total:>3}:  " + " · ".join(f"{100 * c / total:5.1f} %" for c in counts))


def _print_misses(r: SetResult) -> None:
    wrong = [o for o in r.mine if not o.right]
    print(f"\ngovbot misses on the {r.name} set ({len(wrong)}; * = wrong but confident):")
    confident = {id(o) for o in _confident_wrong(r.mine)}
    for o in wrong:
        mark = "*" if id(o) in confident else " "
        first = " (first choice right)" if o.first_choice else ""
        print(f" {mark} {o.case.q!r}: expected {_expected(o.case)}; got {o.got}{first}")
    perturbed = [(label, o) for label, outs in r.perturbed.items() for o in outs if not o.right]
    clean_wrong = {o.case.q for o in wrong}
    fresh = [(label, o) for label, o in perturbed if o.case.q not in clean_wrong]
    print(f"\ngovbot misses on perturbed {r.name} questions right when clean ({len(fresh)}):")
    for label, o in fresh:
        change = PERTURBATIONS[label]
        print(f"  [{label}] {change(o.case.q)!r}: expected {_expected(o.case)}; got {o.got}")


def _expected(case: Case) -> str:
    parts = ["/".join(case.intents)]
    if case.ids:
        parts.append("ids=" + ",".join(case.ids))
    if case.all:
        parts.append("all=" + ",".join(case.all))
    if case.contains:
        parts.append("contains=" + " or ".join(repr(c) for c in case.contains))
    return " ".join(parts)
