"""Bad sources never damage the knowledge: each bad input is accepted correctly or refused with a one-line error.

Every case refreshes a served knowledge base (the test source) with one bad input. A refused input must
name its file (and, for a record, the record and field) on one line, leave every file of the knowledge
directory byte-for-byte the same, and leave the bot answering as before. An accepted input must load
what it says, exactly (ids as written, accents decoded, no script text indexed).
The corpus is tests/data/bad/ (listed in its README.md); the 50 MB file, a device and the URLs that fail
(HTTP 500, no answer, a byte at a time, endless, an HTML page) are made at test time on 127.0.0.1.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from knowledge import KnowledgeBase, SourceErrors
from knowledge.store import Reader
from tests.conftest import DATA
from tests.reliability.helpers import tree_digest

BAD = DATA / "bad"
ACCEPTED, REJECTED = "accepted", "rejected"
PROBE = "qui pilote le programme Atlas ?"  # answered by the served test knowledge
FETCH_TIMEOUT = 0.5
PAGE_ID = "https-example-org-bad-page#0"


@dataclass(frozen=True)
class Case:
    """One bad input and what must happen to it.

    `source`: a file of tests/data/bad/ (CSV files are read as objectives), `url:/path` (served on 127.0.0.1),
    `huge` (50 MB, made at test time) or a device path. `fragment`: in the error (rejected) or in a warning
    (accepted). `where`: what the error line must also name (record, field). `answers`: for an accepted
    input, (question, id of the first result, words of its title). `absent`: text that must not be indexed.
    """

    source: str
    outcome: str
    fragment: str = ""
    where: tuple[str, ...] = ()
    answers: tuple[tuple[str, str, str], ...] = ()
    absent: tuple[str, ...] = ()


CASES = (
    # YAML syntax and structure
    Case("yaml-malformed.yaml", REJECTED, "cannot parse: while parsing a flow sequence"),
    Case("yaml-tabs.yaml", REJECTED, "cannot parse: while scanning for the next token found character"),
    Case("yaml-unterminated-quote.yaml", REJECTED, "cannot parse: while scanning a quoted scalar"),
    Case("empty.yaml", REJECTED, "empty source"),
    Case("comments-only.yaml", REJECTED, "empty source"),
    Case("scalar.yaml", REJECTED, "expected a mapping of record types"),
    Case("python-tag.yaml", REJECTED, "could not determine a constructor for the tag"),
    Case("alias-bomb.yaml", REJECTED, "values once aliases are expanded (an alias bomb?)"),
    Case("alias-recursive.yaml", REJECTED, "a recursive alias"),
    Case("yaml-deep.yaml", REJECTED, "cannot parse: while increasing flow level exceeded maximum nesting depth"),
    Case("duplicate-keys.yaml", REJECTED, "cannot parse: duplicate key 'title'", ("line 5",)),
    Case("duplicate-section.yaml", REJECTED, "cannot parse: duplicate key 'objectives'", ("line 6",)),
    Case("duplicate-ids.yaml", REJECTED, "duplicate id (also in", ("objectives[1] (id '3')", "field 'id'")),
    Case("unknown-type.yaml", REJECTED, "unknown record type 'people'"),
    Case("not-a-list.yaml", REJECTED, "'actors' must be a list of records"),
    Case("missing-id.yaml", REJECTED, "missing id", ("objectives[0]", "field 'id'")),
    # Values
    Case("bad-status.yaml", REJECTED, "unknown status 'bof'", ("objectives[0] (id '3')", "field 'status'")),
    Case("bad-date.yaml", REJECTED, "not a date: 'demain'", ("objectives[0] (id '3')", "field 'due'")),
    Case("bad-progress.yaml", REJECTED, "expected a number from 0 to 100", ("objectives[0]", "field 'progress'")),
    Case(
        "ids-distinct.yaml",
        ACCEPTED,
        answers=(
            ("objectif 2.1", "2.1", "Sauvegardes"),
            ("objectif 2.10", "2.10", "Plan de reprise"),
            ("objectif 2.100", "2.100", "Centième"),
            ("objectif 007", "007", "DMP"),
            ("objectif 7", "7", "sept"),
        ),
    ),
    Case(
        "dangling-owner.yaml", ACCEPTED, "objectives '3': owner 'NOBODY' names no actor", answers=(("obj 3", "3", ""),)
    ),
    # URLs
    Case("missing-url.yaml", REJECTED, "no source URL", ("objectives[0] (id '3')", "field 'url'")),
    Case("url-javascript.yaml", REJECTED, "not an http(s) URL: 'javascript:", ("objectives[0]", "field 'url'")),
    Case("url-ftp.yaml", REJECTED, "not an http(s) URL: 'ftp:", ("objectives[0]", "field 'url'")),
    Case("url-file.yaml", REJECTED, "not an http(s) URL: 'file:", ("objectives[0]", "field 'url'")),
    Case("url-data-source.yaml", REJECTED, "not an http(s) URL: 'data:", ("field 'source.url'",)),
    Case("sources-javascript.yaml", REJECTED, "needs an http(s) url", ("objectives[0]", "field 'sources'")),
    # Encodings
    Case(
        "latin1.yaml",
        ACCEPTED,
        "not UTF-8, read as Windows-1252/Latin-1",
        answers=(("c'est quoi l'équipe santé publique ?", "EQS", "Équipe santé publique"),),
    ),
    Case(
        "cp1252.yaml",
        ACCEPTED,
        "not UTF-8",
        answers=(("c'est quoi la cellule qualité de l'hôpital ?", "CPQ", "Cellule qualité de l’hôpital"),),
    ),
    Case("bom.yaml", ACCEPTED, answers=(("c'est quoi l'équipe au BOM ?", "BOM", "Équipe au BOM"),)),
    Case("utf16.yaml", REJECTED, "NUL byte on line 1: binary data or UTF-16"),
    # Documents
    Case(
        "documents-scripts.yaml",
        ACCEPTED,
        answers=(("budget de la cybersécurité des hôpitaux", PAGE_ID, "Budget cybersécurité"),),
        absent=("exfiltration", "cookie", "alert", "injecté", "Menu Accueil", "Mentions légales", "JavaScript"),
    ),
    Case("scripts.html", REJECTED, "expected a mapping of record types"),
    Case("documents-traversal.yaml", REJECTED, "the path leaves the source's folder", ("documents[0]", "field 'path'")),
    Case("documents-missing.yaml", REJECTED, "no such file: nowhere.md", ("documents[0]", "field 'path'")),
    Case("documents-bad-format.yaml", REJECTED, "unknown format 'pdf'", ("documents[0]", "field 'format'")),
    Case("documents-url-500.yaml", REJECTED, "HTTP 500", ("documents[0]", "field 'url'")),
    Case("documents-bad-port.yaml", REJECTED, "could not fetch (nonnumeric port", ("documents[0]", "field 'url'")),
    Case(
        "documents-url-metadata.yaml",
        REJECTED,
        "refused: 169.254.169.254 is a link-local address",
        ("documents[0]", "field 'url'"),
    ),
    Case(
        "documents-url-loopback-hex.yaml",
        REJECTED,
        "refused: 0x7f000002 is a loopback address",
        ("documents[0]", "field 'url'"),
    ),
    Case(
        "documents-too-many.yaml",
        REJECTED,
        "51 documents to fetch by URL; at most 50 per source",
        ("field 'documents'",),
    ),
    # JSON
    Case("json-truncated.json", REJECTED, "cannot parse: Unterminated string"),
    Case("json-scalar.json", REJECTED, "expected a mapping of record types"),
    Case("json-list.json", REJECTED, "expected a mapping of record types"),
    Case("json-duplicate-keys.json", REJECTED, "duplicate key 'id' (in the record with id '3')"),
    Case("json-nan.json", REJECTED, "got 'nan'", ("objectives[0] (id '3')", "field 'progress'")),
    Case("json-deep.json", REJECTED, "cannot parse: nested too deeply"),
    Case("json-bom.json", ACCEPTED, answers=(("c'est quoi l'équipe JSON au BOM ?", "JBOM", "Équipe JSON au BOM"),)),
    Case(
        "json-ids.json",
        ACCEPTED,
        answers=(("objectif 2.1", "2.1", "un"), ("objectif 2.10", "2.10", "dix"), ("objectif 7", "7", "Sept")),
    ),
    # CSV
    Case("csv-ragged.csv", REJECTED, "cannot parse: line 3 has 6 fields, the header has 4"),
    Case("csv-short-row.csv", REJECTED, "missing title", ("row 3 (id '4')", "column 'title'")),
    Case("csv-unterminated-quote.csv", REJECTED, "cannot parse: unexpected end of data"),
    Case("csv-empty.csv", REJECTED, "cannot parse: empty CSV"),
    Case("csv-header-only.csv", REJECTED, "cannot parse: no records under the header"),
    Case("csv-nul.csv", REJECTED, "NUL byte on line 2"),
    Case(
        "csv-latin1.csv",
        ACCEPTED,
        "not UTF-8",
        answers=(("objectif 3", "3", "Équipement des hôpitaux"),),
    ),
    Case("csv-bom.csv", ACCEPTED, answers=(("objectif 3", "3", "Objectif au BOM"),)),
    Case(
        "csv-ids.csv",
        ACCEPTED,
        answers=(("objectif 2.1", "2.1", "un"), ("objectif 2.10", "2.10", "dix"), ("objectif 007", "007", "sept")),
    ),
    Case(
        "csv-blank-lines.csv",
        ACCEPTED,
        answers=(("objectif 3", "3", "Objectif 3 — Trois avec espaces"), ("objectif 4", "4", "Quatre")),
    ),
    Case("csv-duplicate-id-row-251.csv", REJECTED, "duplicate id (also in", ("row 252 (id '7')", "column 'id'")),
    # Made at test time
    Case("huge", REJECTED, "larger than 20 MB"),
    Case("/dev/zero", REJECTED, "not a regular file"),
    Case("url:/500.yaml", REJECTED, "HTTP 500"),
    Case("url:/silent.yaml", REJECTED, f"could not fetch (not complete after {FETCH_TIMEOUT:g} s)"),
    Case("url:/drip.yaml", REJECTED, f"could not fetch (not complete after {FETCH_TIMEOUT:g} s)"),
    Case("url:/endless.yaml", REJECTED, "larger than 20 MB"),
    Case("url:/page.html", REJECTED, "unknown record type '<!doctype html>"),
    Case("url:/roadmap.yaml", ACCEPTED, answers=(("objectif 3", "3", "Servi en local"),)),
)

_PAGE = (
    "<!doctype html><html><head><title>Feuille de route</title><script>alert(1)</script></head>"
    "<body><p>Objectifs: voir la page suivante</p></body></html>"
)


_SERVED: list[str] = []  # the paths the server below finished sending, in order
_SLOW = ("url:/silent.yaml", "url:/drip.yaml")  # sources a refresh must give up on before they are sent


class _Handler(BaseHTTPRequestHandler):
    """The sources a refresh may meet on the web: broken, silent, dripping, endless, not a source at all."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        try:
            {
                "/500.yaml": self._fail,
                "/500.html": self._fail,
                "/silent.yaml": self._silent,
                "/drip.yaml": self._drip,
                "/endless.yaml": self._endless,
                "/page.html": self._page,
                "/roadmap.yaml": self._roadmap,
            }.get(self.path, self._missing)()
            _SERVED.append(self.path)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the refresh gave up on us, as it should

    def _send(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _fail(self) -> None:
        self._send(500, b"internal error", "text/plain")

    def _missing(self) -> None:
        self._send(404, b"not found", "text/plain")

    def _silent(self) -> None:
        time.sleep(FETCH_TIMEOUT * 6)
        self._send(200, b"actors: []\n", "application/yaml")

    def _drip(self) -> None:
        body = b"source: {url: 'https://example.org/drip'}\n" + b"#" * 400 + b"\n"
        self.send_response(200)
        self.send_header("Content-Type", "application/yaml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        for byte in body:
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            time.sleep(FETCH_TIMEOUT / 10)

    def _endless(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/yaml")
        self.end_headers()
        chunk = b"# " + b"x" * 1022 + b"\n"
        while True:
            self.wfile.write(chunk * 1024)

    def _page(self) -> None:
        self._send(200, _PAGE.encode(), "text/html; charset=utf-8")

    def _roadmap(self) -> None:
        body = "objectives:\n  - {id: '3', title: Servi en local, status: en cours}\n"
        self._send(200, body.encode(), "application/yaml")

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server's signature)
        pass


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _spec(case: Case, base: str, tmp_path: Path) -> str:
    """The source spec a refresh is given for this case (made at test time when needed)."""
    if case.source.startswith("url:"):
        return base + case.source[4:]
    if case.source == "huge":
        huge = tmp_path / "huge.yaml"
        with huge.open("wb") as out:
            out.write(b"source: {url: 'https://example.org/huge'}\nactors:\n")
            line = b"  - {id: A, name: Huge}  # " + b"x" * 996 + b"\n"
            out.write(line * (50 * 1024))
        assert huge.stat().st_size >= 50 * 1024 * 1024
        return str(huge)
    if case.source.startswith("/"):
        return case.source
    path = BAD / case.source
    if "{BASE}" in path.read_text(encoding="utf-8", errors="replace"):
        path = tmp_path / case.source
        path.write_text((BAD / case.source).read_text(encoding="utf-8").replace("{BASE}", base), encoding="utf-8")
    return str(path) + ("?type=objectives" if path.suffix == ".csv" else "")


def _indexed(kb: KnowledgeBase, word: str) -> int:
    """How many records or passages of the current version hold `word` anywhere."""
    current = kb.store.current()
    assert current is not None
    reader = Reader(current)
    try:
        like = f"%{word}%"
        sql = "SELECT count(*) AS n FROM entities WHERE title LIKE ? OR body LIKE ? OR heading LIKE ? OR names LIKE ?"
        return reader.rows(sql, (like, like, like, like))[0]["n"]
    finally:
        reader.close()


@pytest.mark.parametrize("case", CASES, ids=[c.source for c in CASES])
def test_bad_source(
    case: Case, kb: KnowledgeBase, base_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("knowledge.sources.FETCH_TIMEOUT", FETCH_TIMEOUT)
    monkeypatch.setenv("GOVBOT_FETCH_ALLOW", "127.0.0.1")  # the test server; loopback is refused by default
    spec = _spec(case, base_url, tmp_path)
    served = KnowledgeBase(kb.path)  # the bot's long-lived instance
    answer_before = served.ask(PROBE).to_dict()
    assert answer_before["results"][0]["id"] == "ATLAS"
    files_before = tree_digest(kb.path)
    sent = len(_SERVED)
    try:
        report = kb.refresh([spec], bundled=False, forget=True)
    except SourceErrors as exc:
        problems, report = [str(p) for p in exc.problems], None
    else:
        problems = []
    if case.source in _SLOW:  # the refresh returned before the server had sent the source: it gave up
        assert case.source[4:] not in _SERVED[sent:]
    if case.outcome == REJECTED:
        assert problems, f"{case.source} was accepted"
        for line in problems:
            assert "\n" not in line and line.startswith(spec), line
        assert any(case.fragment in p and all(w in p for w in case.where) for p in problems), problems
        assert tree_digest(kb.path) == files_before, "a refused source changed the knowledge directory"
        assert served.ask(PROBE).to_dict() == answer_before
        assert KnowledgeBase(kb.path).ask(PROBE).to_dict() == answer_before
        return
    assert not problems, problems
    assert report is not None
    if case.fragment:
        assert any(case.fragment in w for w in report.warnings), report.warnings
    for question, first_id, title in case.answers:
        for reader_kb in (served, KnowledgeBase(kb.path)):
            answer = reader_kb.ask(question)
            assert answer.results and answer.results[0]["id"] == first_id, (question, answer.to_dict())
            assert title in answer.title, (question, answer.title)
    for word in case.absent:
        assert _indexed(kb, word) == 0, word


def test_the_corpus_is_large_documented_and_entirely_tested() -> None:
    """At least 30 bad inputs; every file is in the table and README.md states the same outcome and error."""
    files = {p.name for p in BAD.iterdir() if p.name != "README.md"}
    assert len(files) >= 30
    assert files <= {c.source for c in CASES}, files - {c.source for c in CASES}
    readme = (BAD / "README.md").read_text(encoding="utf-8")
    rows = {
        m[0]: (m[1], m[2]) for m in re.findall(r"^\| `([^`]+)` \| (accepted|rejected) \| `?([^|`]*)`? \|", readme, re.M)
    }
    for case in CASES:
        assert case.source in rows, f"{case.source} is not in tests/data/bad/README.md"
        outcome, fragment = rows[case.source]
        assert outcome == case.outcome and fragment.strip() == case.fragment, (case.source, rows[case.source])
