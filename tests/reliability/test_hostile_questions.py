"""Hostile questions: any text never raises, answers in normal time, and never echoes much of itself.

Two hypothesis properties, 500 examples each in `make test` (derandomized, so a run is reproducible) and
30,000, freshly random, under `make soak`:
- `KnowledgeBase.ask` on any text: random Unicode up to 4,000 characters (lone surrogates, controls, NUL,
  right-to-left marks included), FTS5 syntax soup (quotes, `*`, `^`, `NEAR(`, `AND`/`OR`/`NOT`, column
  filters), SQL, chat mentions, and long repetitive text;
- `knowledge.text.fts_query` alone: every expression it builds is accepted by a real FTS5 `MATCH` on a table
  made with the store's own tokenizer.
"""

from __future__ import annotations

import itertools
import random
import re
import sqlite3
import time
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from knowledge import Answer, KnowledgeBase
from knowledge.model import INTENTS
from knowledge.text import STOPWORDS, fold, fts_query, strip_mentions

MAX_ECHO = 100  # characters of the question an answer may repeat
MAX_TEXT = 4000  # characters of answer text (a passage and a sentence, a list of 12, help...)
# Time is compared with ordinary questions asked in the same run, never with absolute seconds (a loaded CI
# machine slows both alike). A hostile question is up to 4,000 characters, so it may cost more than a short
# one; the factors catch a hang or a quadratic blow-up (a 4,000-character text is ~100 times a question).
SLOWEST_FACTOR = 50  # one hostile question vs the slowest ordinary one
MEAN_FACTOR = 5  # the mean over hostile questions vs the mean over ordinary ones
ORDINARY_QUESTIONS = (
    "qui pilote CaRE ?",
    "c'est quoi l'ANS ?",
    "what is Mon espace santé?",
    "objectifs en retard",
    "décisions du dernier comité",
    "où en est l'objectif 2.1 ?",
    "what changed since June 2024?",
    "aide",
)
FAST = settings(
    max_examples=500,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SOAK = settings(FAST, max_examples=30_000, derandomize=False)

# Pieces of hostile text: FTS5 syntax, SQL, chat markup, odd Unicode and words the bot reacts to.
_PIECES = [
    *"\"'*^:()[]{}-+.,;!?#@%_\\/<>|&=~`$",
    *("NEAR", "NEAR(", "NEAR/3", "AND", "OR", "NOT", "MATCH", "title:", "names:", "body:", "heading:"),
    *("{title body}:", "-title:", "entities_fts:", "rank:", "bm25(", '""', '"*', "*)", ")*", '^"'),
    *("' OR 1=1 --", "'; DROP TABLE entities; --", "UNION SELECT * FROM meta", "/*", "*/", "\\x00", "%00"),
    *("\x00", "\t", "\n", "\r", "\x0b", "\x1b[31m", "\x7f", "\u2028", "\ufeff", "\u200b", "\u202e", "\ud800", "\udfff"),
    *("🙂", "👩‍⚕️", "é", "ß", "İ", "ﬁ", "Ⅻ", "²", "٣", "中文", "עברית", "ǅ", "e\u0301", "\U0010ffff"),
    *("<@U123ABC>", "<!channel>", "<!here>", "@everyone", "<script>alert(1)</script>", "[x](javascript:1)"),
    *("objectif", "objective", "obj", "o", "#", "2.1", "2.10", "007", "12", "1.2.3", "axe 2", "14e", "CNS"),
    *("qui pilote", "who owns", "décisions", "depuis", "since", "status:", "owner:", "en retard", "help", "aide"),
    *("CaRE", "ANS", "HAS", "Ségur", "HospiConnect", "DMP", "Mon espace santé", "x" * 60, "1" * 40),
]
_SEPARATORS = st.sampled_from(["", " ", "  ", "\n", "\t", " OR ", ":", "."])
_ANY_CHAR = st.characters(exclude_categories=())  # every code point, lone surrogates included
# Characters long random texts are drawn from: mostly letters and spaces (so there are words), and every
# kind of code point (controls, accents, combining marks, other scripts, surrogates, private use, astral).
_POOL_RANGES = [
    ((0x61, 0x7A), 3000),
    ((0x20, 0x20), 1500),
    ((0x21, 0x7E), 1500),
    ((0x00, 0x1F), 100),
    ((0xA0, 0x24F), 800),
    ((0x300, 0x36F), 200),
    ((0x370, 0x2FFF), 800),
    ((0xD800, 0xDFFF), 100),
    ((0xE000, 0xFFFF), 300),
    ((0x10000, 0x10FFFF), 300),
]
_POOL_RNG = random.Random(0)
_POOL = "".join(chr(_POOL_RNG.randint(lo, hi)) for (lo, hi), count in _POOL_RANGES for _ in range(count))


def _long_text(rng: random.Random, size: int) -> str:
    """`size` random characters with a few hostile pieces spliced in (cheap to draw, unlike 4,000 draws)."""
    chars = rng.choices(_POOL, k=size)
    for _ in range(rng.randrange(12)):
        chars.insert(rng.randrange(len(chars) + 1), rng.choice(_PIECES))
    return "".join(chars)[:4000]


HOSTILE_TEXT = st.one_of(
    st.text(_ANY_CHAR, max_size=4000),
    st.tuples(st.lists(st.one_of(st.sampled_from(_PIECES), st.text(_ANY_CHAR, max_size=6)), max_size=80), _SEPARATORS)
    .map(lambda parts: parts[1].join(parts[0]))
    .map(lambda text: text[:4000]),
    st.tuples(st.sampled_from(_PIECES), st.integers(50, 1000), _SEPARATORS).map(
        lambda t: (t[2].join([t[0]] * t[1]))[:4000]
    ),
    st.builds(_long_text, st.randoms(use_true_random=True), st.integers(100, 4000)),
)


@pytest.fixture(scope="module")
def served_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    """The bundled knowledge, as deployed (read-only here)."""
    root = tmp_path_factory.mktemp("hostile-kb")
    KnowledgeBase(root).refresh([], bundled=True)
    return KnowledgeBase(root)


def _said(answer: Answer) -> str:
    """Everything an answer shows a user, one string."""
    parts = [answer.title, answer.text, *answer.fields, *answer.fields.values()]
    parts += [s.get("title", "") + " " + s.get("url", "") for s in answer.sources]
    parts += [c.get("label", "") + " " + c.get("query", "") for c in answer.choices]
    parts += [r.get("title", "") for r in answer.results]
    return "\n".join(parts)


def _echo(question: str, said: str) -> str:
    """A run of more than MAX_ECHO characters of the question (as typed or as cleaned) found in `said`.

    Any such run contains one of the question's windows of MAX_ECHO // 2 + 1 characters that start at a
    multiple of MAX_ECHO // 2: those few are searched first, the exact check runs only on a hit.
    """
    size, step = MAX_ECHO + 1, MAX_ECHO // 2
    for variant in {question, strip_mentions(question), " ".join(question.split()), fold(question)}:
        if not any(variant[i : i + step + 1] in said for i in range(0, len(variant) - step, step)):
            continue
        for i in range(len(variant) - size + 1):
            if variant[i : i + size] in said:
                return variant[i : i + size]
    return ""


def _timed_ask(kb: KnowledgeBase, question: str) -> tuple[Answer, float]:
    started = time.perf_counter()
    answer = kb.ask(question)
    return answer, time.perf_counter() - started


def check_answer(kb: KnowledgeBase, question: str, timings: list[float], slowest: float = float("inf")) -> None:
    """The answer is well formed, does not echo the question, and took less than `slowest` seconds."""
    answer, seconds = _timed_ask(kb, question)
    if seconds >= slowest:  # a slow question is slow again; a pause of a loaded machine is not
        seconds = min(seconds, _timed_ask(kb, question)[1])
    timings.append(seconds)
    assert isinstance(answer, Answer)
    assert answer.intent in INTENTS and answer.lang in ("fr", "en"), (answer.intent, answer.lang)
    assert len(answer.text) <= MAX_TEXT and len(answer.title) <= 300, (len(answer.text), len(answer.title))
    assert seconds < slowest, f"{seconds * 1000:.0f} ms, more than {slowest * 1000:.0f} ms"
    assert not (echoed := _echo(question, _said(answer))), f"the answer repeats the question: {echoed!r}"
    answer.to_json()  # front ends serialise every answer


def _property(kb: KnowledgeBase, config: settings) -> tuple[int, float, float, float]:
    """Runs the property; returns (examples, slowest, mean, ordinary mean).

    Each hostile question follows an ordinary one, so both are timed under the same load."""
    ordinary: list[float] = [_timed_ask(kb, question)[1] for question in ORDINARY_QUESTIONS]
    next_ordinary = itertools.cycle(ORDINARY_QUESTIONS)
    timings: list[float] = []

    @config
    @given(HOSTILE_TEXT)
    def ask_anything(question: str) -> None:
        ordinary.append(_timed_ask(kb, next(next_ordinary))[1])
        check_answer(kb, question, timings, SLOWEST_FACTOR * max(ordinary))

    ask_anything()
    mean, ordinary_mean = sum(timings) / len(timings), sum(ordinary) / len(ordinary)
    assert mean < MEAN_FACTOR * ordinary_mean, (mean, ordinary_mean)
    return len(timings), max(timings), mean, ordinary_mean


def test_any_text_gets_an_answer(served_kb: KnowledgeBase) -> None:
    runs, slowest, mean, ordinary = _property(served_kb, FAST)
    assert runs >= FAST.max_examples
    print(
        f"\nhostile questions: {runs} examples, slowest {slowest * 1000:.1f} ms, mean {mean * 1000:.2f} ms "
        f"(ordinary questions: mean {ordinary * 1000:.2f} ms)"
    )


@pytest.mark.soak
def test_any_text_gets_an_answer_soak(served_kb: KnowledgeBase) -> None:
    runs, slowest, mean, ordinary = _property(served_kb, SOAK)
    assert runs >= 10_000
    print(
        f"\nhostile questions (soak): {runs} examples, slowest {slowest * 1000:.1f} ms, mean/ordinary {mean / ordinary:.1f}"
    )


@pytest.mark.parametrize(
    "question",
    [
        "",
        " \t\n",
        "\x00",
        '"',
        "*",
        "NEAR(",
        "title:x",
        "{title body}: santé",
        "' OR 1=1 --",
        "\ud800",
        "<!channel> @everyone <script>alert(1)</script>",
        "qui pilote " * 400,
        "x" * 4000,
    ],
)
def test_known_hostile_questions(served_kb: KnowledgeBase, question: str) -> None:
    check_answer(served_kb, question, [])


def test_a_long_objective_number_is_not_echoed(served_kb: KnowledgeBase) -> None:
    check_answer(served_kb, "objectif " + "1." * 300 + "1", [])


def _fts_table(kb: KnowledgeBase) -> sqlite3.Connection:
    """An in-memory FTS5 table declared like the store's own (same columns, same tokenizer)."""
    current = kb.store.current()
    assert current is not None
    with sqlite3.connect(f"file:{current}?mode=ro&immutable=1", uri=True) as version:
        (sql,) = version.execute("SELECT sql FROM sqlite_master WHERE name = 'entities_fts'").fetchone()
    sql = re.sub(r"content='[^']*',\s*content_rowid='[^']*',\s*", "", sql)
    assert "tokenize=" in sql and "content=" not in sql, sql
    conn = sqlite3.connect(":memory:")
    conn.execute(sql)
    conn.executemany(
        "INSERT INTO entities_fts(title, names, body, heading) VALUES (?, ?, ?, ?)",
        [
            ("Objectif 2.10 — Plan de reprise", "objectif 2 10", "Sauvegardes hors ligne des applications", ""),
            ("Agence du numérique en santé", "ans agence", "Conduit les référentiels d'interopérabilité", "Rôle"),
            ("CaRE", "care cybersecurite", "Cybersécurité accélération et résilience des établissements", ""),
        ],
    )
    return conn


def _fts_property(kb: KnowledgeBase, config: settings) -> Callable[[], None]:
    conn = _fts_table(kb)

    @config
    @given(HOSTILE_TEXT)
    def every_expression_is_valid_fts5(text: str) -> None:
        expression = fts_query(text)
        if expression is None:  # only when nothing in the text is searchable
            assert all(w in STOPWORDS or (len(w) < 2 and not w.isdigit()) for w in fold(text).split()), text
            return
        conn.execute("SELECT rowid FROM entities_fts WHERE entities_fts MATCH ? LIMIT 5", (expression,)).fetchall()

    return every_expression_is_valid_fts5


def test_fts_query_always_builds_a_valid_expression(served_kb: KnowledgeBase) -> None:
    _fts_property(served_kb, FAST)()


@pytest.mark.soak
def test_fts_query_always_builds_a_valid_expression_soak(served_kb: KnowledgeBase) -> None:
    _fts_property(served_kb, SOAK)()


def test_raw_user_text_would_break_fts5_without_the_builder(served_kb: KnowledgeBase) -> None:
    """The counter-test: the same table rejects raw text, so the property above is not vacuous."""
    conn = _fts_table(served_kb)
    for raw in ['"', "*", "NEAR(", "owner:x", "C++", "-MFA", "' OR 1=1 --"]:
        with pytest.raises(sqlite3.OperationalError):
            conn.execute("SELECT rowid FROM entities_fts WHERE entities_fts MATCH ?", (raw,)).fetchall()
        expression = fts_query(raw)
        if expression:
            conn.execute("SELECT rowid FROM entities_fts WHERE entities_fts MATCH ?", (expression,)).fetchall()
