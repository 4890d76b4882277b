"""`govbot serve` under abuse (issue 7, items 3, 8, 9, 10; issue 11, items 7, 8, 10, 11, 13): size limits, rate
limits, secrets, file modes, HTML, bad Unicode and nesting, header echoes in logs, retention, Slack rendering.

Each test drives the real application over loopback HTTP with aiohttp's test client.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import stat
import time
from pathlib import Path

import aiohttp
import pytest

from bot.conversation import Conversation
from bot.questionlog import QuestionLog
from bot.server import MAX_BODY, ConfigError, create_app
from bot.slack_blocks import answer_message, text_message
from bot.web import COOKIE
from knowledge import KnowledgeBase
from knowledge.phrases import say
from tests.conftest import TEST_SOURCE
from tests.fakes.service import started, wait_ready

JSON = {"Content-Type": "application/json"}
SECRETS = {
    "SLACK_BOT_TOKEN": "xoxb-111-222-CANARYBOTTOKEN",
    "SLACK_SIGNING_SECRET": "CANARYSIGNINGSECRET0123456789ab",
    "SLACK_APP_TOKEN": "xapp-1-CANARYAPPTOKEN",
    "MicrosoftAppId": "00000000-0000-0000-0000-0000c0ffee00",
    "MicrosoftAppPassword": "CANARYAPPPASSWORD~secret",
}
CANARY = "PHI-CANARY-7f3a"
HOSTILE_SOURCE = """\
source:
  title: Plan <b>hostile</b>
  url: https://example.org/hostile
actors:
  - id: XSS
    name: Cellule <script>alert(1)</script> Zorglub
    kind: service
    role: Gère <img src=x onerror=alert(2)> les tests.
"""


async def test_bodies_over_one_mebibyte_are_413_with_or_without_content_length(kb, aiohttp_client):
    client = await aiohttp_client(create_app(Conversation(kb)))
    two_mib = json.dumps({"question": "x" * (2 * 1024 * 1024)}).encode()
    response = await client.post("/api/chat", data=two_mib, headers=JSON)
    assert response.status == 413 and (await response.json())["status"] == 413

    async def chunks():
        for start in range(0, len(two_mib), 64 * 1024):
            yield two_mib[start : start + 64 * 1024]

    response = await client.post("/api/chat", data=chunks(), headers=JSON)  # chunked: no Content-Length
    assert response.status == 413
    for path in ("/slack/events", "/api/messages", "/anything"):
        assert (await client.post(path, data=b"x" * (MAX_BODY + 1))).status == 413, path

    exactly = json.dumps({"question": "Qui pilote le programme Atlas ?" + " " * MAX_BODY})[: MAX_BODY - 2] + '"}'
    assert len(exactly.encode()) == MAX_BODY
    response = await client.post("/api/chat", data=exactly, headers=JSON)
    assert response.status == 200 and (await response.json())["title"] == "Programme Atlas"


async def test_questions_are_rate_limited_per_visitor_with_a_polite_reply(kb, aiohttp_client):
    alice = await aiohttp_client(create_app(Conversation(kb, rate_limit=3)))
    await alice.get("/")
    replies = [await (await alice.post("/api/chat", json={"question": "objectif 12"})).json() for _ in range(4)]
    assert [r["results"][0]["id"] for r in replies[:3]] == ["12", "12", "12"]
    assert (replies[3]["text"], replies[3]["results"]) == (say("rate_limited", "fr"), [])
    assert (await (await alice.post("/api/chat", json={"choice": "status objectives:12"})).json())["results"] == []
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as bob:  # another browser
        await bob.get(alice.make_url("/"))
        reply = await (await bob.post(alice.make_url("/api/chat"), json={"question": "objectif 12"})).json()
    assert reply["results"][0]["id"] == "12"
    metrics = await (await alice.get("/metrics")).text()
    assert 'govbot_questions_total{intent="status",platform="web"} 4' in metrics  # refused ones are not answers


async def test_a_client_without_cookies_is_limited_by_its_address(kb, aiohttp_client):
    client = await aiohttp_client(create_app(Conversation(kb, rate_limit=2)))
    texts = []
    for _ in range(3):
        client.session.cookie_jar.clear()
        texts.append((await (await client.post("/api/chat", json={"question": "objectif 12"})).json())["text"])
    assert texts[2] == say("rate_limited", "fr") and say("rate_limited", "fr") not in texts[:2]


async def test_feedback_floods_are_limited(kb, aiohttp_client):
    client = await aiohttp_client(create_app(Conversation(kb, rate_limit=2)))
    await client.get("/")  # the visitor cookie
    statuses = [(await client.post("/api/chat", json={"feedback": "up", "question": "q"})).status for _ in range(3)]
    assert statuses == [200, 200, 429]


async def test_secrets_never_reach_metrics_logs_or_error_replies(kb, aiohttp_client, monkeypatch, caplog):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    caplog.set_level(logging.DEBUG)
    client = await aiohttp_client(create_app(Conversation(kb), production=True))  # Slack and Teams both mounted
    seen = []
    for method, path, body in [
        ("GET", "/metrics", None),
        ("GET", "/readyz", None),
        ("GET", "/nowhere", None),
        ("POST", "/api/chat", b"{broken"),
        ("POST", "/api/chat", json.dumps({"question": "Qui pilote le programme Atlas ?"}).encode()),
        ("POST", "/slack/events", b'{"type": "event_callback"}'),
        ("POST", "/api/messages", b'{"type": "message", "text": "hi"}'),
        ("POST", "/api/chat", b"x" * (MAX_BODY + 1)),
    ]:
        response = await client.request(method, path, data=body, headers=JSON)
        seen.append(f"{response.status} {dict(response.headers)} {await response.text()}")
    assert seen[5].startswith("401") and seen[6].startswith("401")  # the front ends are really there
    everything = "\n".join(seen) + caplog.text
    for name, value in SECRETS.items():
        assert value not in everything, name


async def test_question_text_and_rejected_bodies_stay_out_of_info_logs(kb, aiohttp_client, caplog):
    caplog.set_level(logging.INFO)
    client = await aiohttp_client(create_app(Conversation(kb)))
    await client.post("/api/chat", json={"question": f"Qui pilote {CANARY} ?"})
    await client.post("/api/chat", json={"choice": CANARY})
    await client.post("/api/chat", json={"feedback": "down", "question": CANARY})
    await client.post("/api/chat", data=f'{{"question": "{CANARY}"', headers=JSON)
    await client.post("/api/chat", data=CANARY, headers={"Content-Type": "text/plain"})
    await client.post("/api/chat", data=CANARY.encode() * 100_000, headers=JSON)
    await client.get(f"/{CANARY}?q={CANARY}")
    await client.post("/api/messages", data=json.dumps({"type": "message", "text": CANARY}), headers=JSON)
    assert len([r for r in caplog.records if r.name == "govbot.http"]) == 8
    # aiohttp's access log (the test server's; `main` turns it off and configure_logging silences it) aside:
    logged = [logging.Formatter().format(r) for r in caplog.records if r.name != "aiohttp.access"]
    assert not [line for line in logged if CANARY in line]


async def test_every_file_in_the_knowledge_directory_is_private(tmp_path, aiohttp_client):
    previous = os.umask(0o022)  # the usual umask: files would be world-readable unless created 0600
    try:
        kb = KnowledgeBase(tmp_path / "kb")
        conv = Conversation(kb)
        client = await started(aiohttp_client, conv, lambda: kb.ensure([str(TEST_SOURCE)], bundled=False))
        await wait_ready(client)
        await client.post("/api/chat", json={"question": "Qui pilote le programme Atlas ?"})
        await client.post("/api/chat", json={"feedback": "up", "question": "Qui pilote le programme Atlas ?"})
        files = {p.name: stat.S_IMODE(p.stat().st_mode) for p in kb.path.iterdir()}
    finally:
        os.umask(previous)
    version = Path(kb.path / "current").read_text().strip()
    assert {"current", version, "questions.sqlite", "salt"} <= set(files)
    assert {name: mode for name, mode in files.items() if mode & 0o077} == {}
    assert stat.S_IMODE(kb.path.stat().st_mode) == 0o700


def test_production_refuses_teams_without_an_app_id(kb, monkeypatch):
    with pytest.raises(ConfigError, match="MicrosoftAppId is empty"):
        create_app(Conversation(kb), production=True)
    monkeypatch.setenv("MicrosoftAppId", "  ")
    with pytest.raises(ConfigError):
        create_app(Conversation(kb), production=True)


async def test_knowledge_html_is_returned_as_json_text_never_as_markup(tmp_path, aiohttp_client):
    source = tmp_path / "hostile"
    source.mkdir()
    (source / "roadmap.yaml").write_text(HOSTILE_SOURCE, encoding="utf-8")
    kb = KnowledgeBase(tmp_path / "kb")
    kb.refresh([str(source)], bundled=False)
    client = await aiohttp_client(create_app(Conversation(kb)))
    response = await client.post("/api/chat", json={"question": "cellule zorglub"})
    assert response.content_type == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    answer = await response.json()
    assert answer["title"] == "XSS — Cellule <script>alert(1)</script> Zorglub"
    assert answer["text"].splitlines()[0] == "Gère <img src=x onerror=alert(2)> les tests."
    assert answer["sources"][0]["title"] == "Plan <b>hostile</b>"
    page = await (await client.get("/")).text()
    assert "Zorglub" not in page  # the page carries no knowledge text at all: the script fills it in as text
    await client.get("/")
    assert client.session.cookie_jar.filter_cookies(client.make_url("/"))[COOKIE].value


async def test_a_client_cannot_mint_visitor_ids_to_escape_the_rate_limit(kb, aiohttp_client):
    client = await aiohttp_client(create_app(Conversation(kb, rate_limit=3)))
    statuses = []
    for n in range(6):
        client.session.cookie_jar.clear()
        client.session.cookie_jar.update_cookies({COOKIE: f"forged-visitor-id-number-{n:04d}"})
        response = await client.post("/api/chat", json={"question": "Qui pilote le programme Atlas ?"})
        statuses.append((await response.json())["text"].startswith("Vous posez beaucoup de questions"))
    assert statuses == [False, False, False, True, True, True]  # unsigned ids count as one client (its address)


# --- issue 11 -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"question": "objectif \\ud800 12"}', "malformed JSON: a string holds a lone UTF-16 surrogate"),
        (b'{"choice": "\\udfff"}', "malformed JSON: a string holds a lone UTF-16 surrogate"),
        (b'{"feedback": "up", "question": "\\ud83d"}', "malformed JSON: a string holds a lone UTF-16 surrogate"),
        (b'{"question": ' + b"[" * 200_000 + b"]" * 200_000 + b"}", "malformed JSON: nested too deeply"),
        (b'{"question": ' + b'{"a":' * 100_000 + b"1" + b"}" * 100_000 + b"}", "malformed JSON: nested too deeply"),
    ],
)
async def test_surrogates_and_deep_nesting_are_400_with_one_line(kb, aiohttp_client, caplog, body, reason):
    client = await aiohttp_client(create_app(Conversation(kb)))
    response = await client.post("/api/chat", data=body, headers=JSON)
    assert response.status == 400 and (await response.json())["error"] == reason
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    pair = await client.post("/api/chat", data=b'{"question": "objectif \\ud83d\\ude00 12"}', headers=JSON)
    assert pair.status == 200, "a surrogate pair is an ordinary character"


async def test_an_oversized_cookie_or_authorization_is_never_logged(kb, aiohttp_client, caplog):
    caplog.set_level(logging.DEBUG)
    client = await aiohttp_client(create_app(Conversation(kb)))
    for header in (b"Cookie: govbot_uid=" + CANARY.encode(), b"Authorization: Bearer " + CANARY.encode()):
        reader, writer = await asyncio.open_connection("127.0.0.1", client.server.port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n" + header + b"z" * 9000 + b"\r\n\r\n")
        assert b" 400 " in (await asyncio.wait_for(reader.read(), 5)).split(b"\r\n")[0]
        writer.close()
    logged = "\n".join(logging.Formatter().format(r) for r in caplog.records)
    assert "malformed HTTP request refused (LineTooLong)" in logged
    assert CANARY not in logged


def test_a_loose_knowledge_directory_is_tightened_and_logged(tmp_path, caplog):
    root = tmp_path / "kb"
    root.mkdir()
    root.chmod(0o755)
    with caplog.at_level(logging.WARNING, logger="govbot.store"):
        KnowledgeBase(root)
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert f"knowledge directory {root} was mode 755: tightened to 700" in caplog.text


def test_the_question_log_forgets_rows_past_the_retention(tmp_path, monkeypatch):
    log = QuestionLog(tmp_path / "questions.sqlite")
    assert log.days == 90
    log.question("web", "u", "récente", "owner", 1.0, True)
    log.feedback("web", "u", "récente", "up")
    log.admin_action("web", "u", "stats", "", "ok")
    log.close()
    old = time.time() - 91 * 86400
    with sqlite3.connect(tmp_path / "questions.sqlite") as db:
        for table, row in {
            "questions": (old, "web", "h", "ancienne", "owner", 1.0, 1),
            "feedback": (old, "web", "h", "ancienne", "up"),
            "admin_actions": (old, "web", "h", "stats", "", "ok"),
        }.items():
            db.execute(f"INSERT INTO {table} VALUES ({', '.join('?' * len(row))})", row)

    monkeypatch.setenv("GOVBOT_LOG_DAYS", "30")
    reopened = QuestionLog(tmp_path / "questions.sqlite")  # the sweep runs at start, then hourly
    assert reopened.days == 30
    with sqlite3.connect(tmp_path / "questions.sqlite") as db:
        assert db.execute("SELECT question FROM questions").fetchall() == [("récente",)]
        assert db.execute("SELECT count(*) FROM feedback").fetchone() == (1,)
        assert db.execute("SELECT count(*) FROM admin_actions").fetchone() == (1,)
    reopened.close()


def test_slack_text_is_verbatim_and_unanswered_questions_lose_bidi_controls(kb):
    conv = Conversation(kb)
    message = answer_message(conv.kb.ask("qui pilote le programme Atlas ?"), question="q", as_of="2025-01-01")
    objects = [b["text"] for b in message["blocks"] if isinstance(b.get("text"), dict)]
    objects += [f for b in message["blocks"] for f in b.get("fields", [])]
    objects += [e for b in message["blocks"] if b["type"] == "context" for e in b["elements"]]
    objects += [text_message("x")["blocks"][0]["text"]]
    mrkdwn = [o for o in objects if o["type"] == "mrkdwn"]
    assert len(mrkdwn) >= 3 and all(o.get("verbatim") is True for o in mrkdwn)

    conv.log.question("slack", "U1", "evil \u202etxt.exe\u2066 \u200fq", "unknown", 0.0, False)
    listed = conv.unanswered_text("fr")
    assert "evil txt.exe q" in listed
    assert not set(listed) & {"\u202e", "\u2066", "\u200f"}
