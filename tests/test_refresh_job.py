"""Refresh as a scheduled job: sources remembered as absolute paths, the last good copy of a remote source
when it is down, and admins who list and forget sources from chat without spending their command limit."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot.conversation import Command, Conversation, parse_command
from bot.turn import Kind, Reply, Turn
from knowledge import KnowledgeBase, SourceErrors

from .conftest import TEST_SOURCE

ROADMAP = b"""source: {url: "https://example.org/remote"}
programmes:
  - {id: ORION, name: Programme Orion}
"""


class _Remote:
    """A loopback HTTP server whose answer the test changes: a body, or an HTTP error."""

    def __init__(self) -> None:
        self.status = 200
        remote = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                self.send_response(remote.status)
                self.send_header("Content-Type", "application/yaml")
                body = ROADMAP if remote.status == 200 else b"down"
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/roadmap.yaml"


def admin(conv: Conversation, text: str) -> Reply:
    """What an admin of the web chat typing `text` gets."""
    return conv.respond(Turn("web", "admin", "", text, admin=True))


@pytest.fixture
def remote(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Remote]:
    monkeypatch.setenv("GOVBOT_FETCH_ALLOW", "127.0.0.1")  # the local source server; loopback is refused by default
    served = _Remote()
    thread = threading.Thread(target=served.server.serve_forever, daemon=True)
    thread.start()
    yield served
    served.server.shutdown()
    served.server.server_close()


def test_a_local_source_is_remembered_as_an_absolute_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "extra.yaml").write_text(
        "source: {url: 'https://example.org/x'}\nprogrammes:\n  - {id: VEGA, name: Programme Vega}\n"
    )
    kb = KnowledgeBase(tmp_path / "kb")
    monkeypatch.chdir(tmp_path / "work")
    kb.refresh(["extra.yaml"], bundled=False)
    assert kb.remembered() == [str(tmp_path / "work" / "extra.yaml")]
    monkeypatch.chdir(tmp_path)  # the nightly job runs from elsewhere
    assert kb.refresh().counts["programmes"] == 1


def test_a_remote_source_that_is_down_falls_back_to_its_last_good_copy(tmp_path: Path, remote: _Remote) -> None:
    kb = KnowledgeBase(tmp_path / "kb")
    remote.status = 500
    with pytest.raises(SourceErrors, match="HTTP 500"):  # never fetched: nothing to fall back on
        kb.refresh([remote.url], bundled=False)
    remote.status = 200
    kb.refresh([remote.url], bundled=False)
    copies = list((tmp_path / "kb" / "last-good").glob("*.json"))
    assert len(copies) == 1 and "sha256" in copies[0].read_text()
    remote.status = 503
    report = kb.refresh()
    assert report.counts["programmes"] == 1
    (warning,) = [w for w in report.warnings if remote.url in w]
    assert "HTTP 503" in warning and "using the copy fetched on" in warning
    assert "la copie téléchargée le" in report.to_text("fr")
    assert kb.ask("programme Orion").results[0]["id"] == "ORION"


def test_admins_list_and_forget_sources_from_chat(tmp_path: Path, remote: _Remote) -> None:
    kb = KnowledgeBase(tmp_path / "kb")
    kb.refresh([str(TEST_SOURCE), remote.url], bundled=False)
    conv = Conversation(kb, admins={"web": frozenset({"admin"})})
    listed = admin(conv, "sources").text
    assert f"1. {TEST_SOURCE}" in listed and f"2. {remote.url}" in listed
    assert parse_command(f"forget <{remote.url}>") == Command("forget", (remote.url,), f"forget <{remote.url}>")
    reply = admin(conv, "forget 2")
    assert reply.text.startswith(f"Source retirée : {remote.url}.")
    assert kb.remembered() == [str(TEST_SOURCE)]
    assert admin(conv, "forget 7").text.startswith("Aucune source ajoutée")
    assert not list((tmp_path / "kb" / "last-good").glob("*.json"))


def test_failed_refreshes_do_not_use_up_the_admin_limit(tmp_path: Path, remote: _Remote) -> None:
    kb = KnowledgeBase(tmp_path / "kb")
    kb.refresh([str(TEST_SOURCE)], bundled=False)
    conv = Conversation(kb, admins={"web": frozenset({"admin"})}, admin_rate_limit=2)
    remote.status = 500
    for _ in range(4):  # fix, retry, fix, retry...
        reply = admin(conv, f"refresh {remote.url}")
        assert reply.background is not None, reply.text
        text = asyncio.run(reply.background())
        assert text.startswith("La mise à jour a échoué") and "HTTP 500" in text
    remote.status = 200
    reply = admin(conv, f"refresh {remote.url}")
    assert asyncio.run(reply.background()).startswith("Base mise à jour")
    assert admin(conv, "stats").kind is Kind.ADMIN
    assert admin(conv, "stats").kind is Kind.RATE_LIMITED  # successes and the rest still count


def test_refusal_lines_are_in_the_admins_language(tmp_path: Path) -> None:
    bad = tmp_path / "objectifs.csv"
    bad.write_text("numéro;titre;statut;lien\n1;A;bof;https://example.org/a\n", encoding="utf-8")
    kb = KnowledgeBase(tmp_path / "kb")
    kb.refresh([str(TEST_SOURCE)], bundled=False)
    conv = Conversation(kb)
    french, _ = asyncio.run(conv.refresh([str(bad)], "fr"))
    assert (
        f"• {bad}, ligne 2 (id '1'), colonne 'statut': statut inconnu « bof » : ajoutez à la source la ligne" in french
    )
    english, _ = asyncio.run(conv.refresh([str(bad)], "en"))
    assert f"• {bad}, row 2 (id '1'), column 'statut': unknown status 'bof': add it to the source as" in english
