"""`govbot serve`'s application over real loopback HTTP: every route, the error codes, readiness, metrics, logs."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sqlite3
import threading
from pathlib import Path

import pytest

from bot import server, settings
from bot.conversation import Conversation
from bot.server import create_app
from bot.web import COOKIE, new_visitor
from knowledge import KnowledgeBase
from knowledge.phrases import say
from tests.conftest import TEST_SOURCE
from tests.fakes.service import started, wait_ready

JSON = {"Content-Type": "application/json"}
# One sample line of the Prometheus text format: name{labels} value.
SAMPLE = re.compile(r'^[a-z_]+(\{([a-z_]+="[^"\\\n]*",?)*\})? -?[0-9.e+-]+$|^[a-z_]+(\{.*\})? \+?Inf$')


async def ask(client, body: dict) -> tuple[int, dict]:
    response = await client.post("/api/chat", json=body)
    return response.status, await response.json()


def metric(text: str, name: str) -> float:
    """The value of one sample (name with its labels, as printed) in a /metrics page; 0 when absent."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.fixture
def conv(kb: KnowledgeBase) -> Conversation:
    return Conversation(kb)


@pytest.fixture
def sdk_log_levels(monkeypatch: pytest.MonkeyPatch):
    """`main` configures logging for the process: keep pytest's handlers and restore the SDK loggers' levels."""
    monkeypatch.setattr(logging, "basicConfig", lambda **kw: None)
    levels = {name: logging.getLogger(name).level for name in settings._QUIET_LOGGERS}
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


async def test_page_is_french_by_default_with_examples_cookie_and_policy(conv, aiohttp_client):
    client = await aiohttp_client(create_app(conv))
    response = await client.get("/")
    assert response.status == 200
    assert response.content_type == "text/html"
    page = await response.text()
    assert '<html lang="fr">' in page
    assert '<label for="question">Votre question</label>' in page
    assert "Base du 2024-12-20" in page  # the knowledge date, as in Slack and Teams
    assert page.count('class="example"') == len(conv.examples("fr"))  # what they are: tests/test_examples.py
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    cookie = response.cookies[COOKIE]
    assert cookie["httponly"] is True and cookie["samesite"] == "Lax" and len(cookie.value) >= 20
    words = json.loads(re.search(r'<script id="govbot-data" type="application/json">(.*?)</script>', page)[1])
    assert words["en"]["feedback"] == say("web_feedback", "en")

    english = await (await client.get("/?lang=en")).text()
    assert '<html lang="en">' in english and "Your question" in english
    assert '<html lang="fr">' in await (await client.get("/?lang=xx")).text()


async def test_static_files_are_the_two_assets_only(conv, aiohttp_client):
    client = await aiohttp_client(create_app(conv))
    js = await client.get("/static/chat.js")
    assert js.status == 200 and js.content_type in ("application/javascript", "text/javascript")
    assert "textContent" in await js.text()
    css = await client.get("/static/chat.css")
    assert css.status == 200 and css.content_type == "text/css"
    for path in ("/static/index.html", "/static/", "/static/../server.py", "/static/chat.js.map"):
        assert (await client.get(path)).status == 404, path


async def test_question_returns_the_answer_json(conv, aiohttp_client):
    client = await aiohttp_client(create_app(conv))
    status, answer = await ask(client, {"question": "Qui pilote le programme Atlas ?"})
    assert status == 200
    assert set(answer) == {
        *("intent", "lang", "title", "text", "fields", "sources", "confidence", "choices", "results", "details"),
        *("labels", "kind", "as_of"),  # field labels, what the reply is, the date of the knowledge that gave it
    }
    assert (answer["kind"], answer["as_of"]) == ("answer", "2024-12-20")
    assert (answer["intent"], answer["lang"], answer["title"]) == ("owner", "fr", "Programme Atlas")
    assert answer["sources"] == [
        {"title": "Schéma directeur SI du GHT Exemple 2024-2027", "url": "https://example.org/ght/schema-directeur"}
    ]
    status, answer = await ask(client, {"question": "Who owns objective 12?"})
    assert (status, answer["lang"], answer["results"][0]["id"]) == (200, "en", "12")


async def test_choice_round_trip(conv, aiohttp_client):
    client = await aiohttp_client(create_app(conv))
    _, asked_back = await ask(client, {"question": "dossier patient"})
    queries = {c["label"]: c["query"] for c in asked_back["choices"]}
    status, answer = await ask(
        client, {"choice": queries["Objectif 2.10 — Plan de reprise d'activité du dossier patient"]}
    )
    assert status == 200
    assert answer["results"][0]["id"] == "2.10"
    assert answer["title"] == "Objectif 2.10 — Plan de reprise d'activité du dossier patient"


async def test_feedback_round_trip_is_logged(conv, aiohttp_client):
    client = await aiohttp_client(create_app(conv))
    status, body = await ask(client, {"feedback": "up", "question": "Qui pilote le programme Atlas ?"})
    assert (status, body["kind"], body["text"]) == (200, "thanks", say("feedback_thanks", "fr"))
    status, body = await ask(client, {"feedback": "down", "question": "Who owns objective 12?"})
    assert (status, body["kind"], body["text"]) == (200, "thanks", say("feedback_thanks", "en"))
    rows = (
        sqlite3.connect(conv.log.path).execute("SELECT platform, question, value FROM feedback ORDER BY ts").fetchall()
    )
    assert rows == [("web", "Qui pilote le programme Atlas ?", "up"), ("web", "Who owns objective 12?", "down")]
    status, body = await ask(client, {"feedback": "sideways", "question": "x"})
    assert status == 400 and body["error"] == 'malformed request: "feedback" must be "up" or "down"'


async def test_admin_commands_are_refused_to_visitors_and_run_for_listed_ones(kb, aiohttp_client):
    client = await aiohttp_client(create_app(Conversation(kb)))
    status, answer = await ask(client, {"question": "refresh"})
    assert (status, answer["kind"], answer["text"]) == (403, "refused", say("not_admin", "fr"))

    conv = Conversation(kb)
    visitor = new_visitor(conv)
    conv.admins = {"web": frozenset({visitor})}
    admin = await aiohttp_client(create_app(conv))
    admin.session.cookie_jar.update_cookies({COOKIE: visitor})
    status, answer = await ask(admin, {"question": "stats"})
    assert status == 200 and answer["intent"] == "admin"
    assert answer["text"].startswith("4 acteurs, 2 axes")


@pytest.mark.parametrize(
    ("body", "headers", "status", "error"),
    [
        (
            b"{not json",
            JSON,
            400,
            "malformed JSON: Expecting property name enclosed in double quotes at line 1 column 2",
        ),
        (b'["a list"]', JSON, 400, "malformed request: expected a JSON object"),
        (b'{"question": 42}', JSON, 400, 'malformed request: "question" must be a string'),
        (b'{"hello": "x"}', JSON, 400, 'malformed request: expected "question", "choice" or "feedback"'),
        (b'{"question": "\xff\xfe"}', JSON, 400, "malformed JSON: the body is not UTF-8"),
        (b"", JSON, 400, "malformed JSON: Expecting value at line 1 column 1"),
        (b'{"question": "x"}', {"Content-Type": "text/plain"}, 415, "expected Content-Type: application/json"),
    ],
)
async def test_bad_requests_get_a_one_line_json_reason(conv, aiohttp_client, body, headers, status, error):
    client = await aiohttp_client(create_app(conv))
    response = await client.post("/api/chat", data=body, headers=headers)
    assert response.status == status
    reply = await response.json()
    assert reply["error"] == error and "\n" not in reply["error"]
    assert reply["request_id"] == response.headers["X-Request-Id"]


async def test_unknown_routes_and_methods(conv, aiohttp_client):
    client = await aiohttp_client(create_app(conv))
    response = await client.get("/api/nothing-here")
    assert response.status == 404 and (await response.json())["error"] == "Not Found"
    response = await client.get("/nothing-here")
    assert response.status == 404 and await response.text() == "404: Not Found\n"
    response = await client.get("/api/chat")
    assert response.status == 405 and response.headers["Allow"] == "POST"
    assert (await response.json())["error"] == "Method Not Allowed"


async def test_oversized_body_is_413(conv, aiohttp_client):
    client = await aiohttp_client(create_app(conv))
    response = await client.post("/api/chat", data=b"x" * (2 * 1024 * 1024), headers=JSON)
    assert response.status == 413
    assert (await response.json())["error"] == "request body over 1048576 bytes"


async def test_before_the_first_build_the_chat_says_it_is_getting_ready(tmp_path, aiohttp_client):
    client = await aiohttp_client(create_app(Conversation(KnowledgeBase(tmp_path / "empty"))))
    status, body = await ask(client, {"question": "Who owns objective 12?"})
    assert (status, body["kind"], body["text"]) == (503, "not_ready", say("not_ready", "en"))


async def test_healthz(conv, aiohttp_client):
    client = await aiohttp_client(create_app(conv))
    response = await client.get("/healthz")
    assert (response.status, await response.json()) == (200, {"ok": True})


async def test_readyz_is_503_until_knowledge_exists(tmp_path, aiohttp_client):
    kb = KnowledgeBase(tmp_path / "empty")
    client = await aiohttp_client(create_app(Conversation(kb)))
    response = await client.get("/readyz")
    assert response.status == 503
    assert await response.json() == {"ready": False, "reason": "no knowledge built yet"}
    status, body = await ask(client, {"question": "Qui pilote le programme Atlas ?"})
    assert (status, body["text"]) == (503, say("not_ready", "fr"))

    report = await asyncio.to_thread(kb.refresh, [str(TEST_SOURCE)], False)
    response = await client.get("/readyz")
    assert response.status == 200
    assert (await response.json())["version"] == report.version
    assert (await ask(client, {"question": "Qui pilote le programme Atlas ?"}))[0] == 200


async def test_start_up_build_runs_while_the_server_answers(tmp_path, aiohttp_client):
    kb = KnowledgeBase(tmp_path / "kb")
    conv = Conversation(kb)
    gate = threading.Event()

    def build():
        assert gate.wait(10)
        return kb.ensure([str(TEST_SOURCE)], bundled=False)

    client = await started(aiohttp_client, conv, build)
    assert (await client.get("/healthz")).status == 200
    response = await client.get("/readyz")
    assert (response.status, await response.json()) == (503, {"ready": False, "reason": "building the knowledge base"})
    assert "govbot_ready 0" in await (await client.get("/metrics")).text()

    gate.set()
    await wait_ready(client)
    assert [r["ok"] for r in conv.refreshes] == [True]
    text = await (await client.get("/metrics")).text()
    assert metric(text, 'govbot_refreshes_total{outcome="ok"}') == 1
    assert metric(text, "govbot_ready") == 1
    assert metric(text, 'govbot_knowledge_records{kind="objectives"}') == 7


async def test_start_up_build_is_skipped_when_sources_did_not_change(kb, aiohttp_client):
    before = kb.info()["version"]
    conv = Conversation(kb)
    client = await started(aiohttp_client, conv, lambda: kb.ensure([str(TEST_SOURCE)], bundled=False))
    await wait_ready(client)
    assert (await (await client.get("/readyz")).json())["version"] == before
    assert conv.refreshes == []


async def test_metrics_count_questions_by_intent_and_platform(conv, aiohttp_client):
    client = await aiohttp_client(create_app(conv))
    text = await (await client.get("/metrics")).text()
    assert metric(text, "govbot_answer_seconds_count") == 0
    await ask(client, {"question": "Qui pilote le programme Atlas ?"})
    await ask(client, {"question": "xyzzy plugh"})
    await ask(client, {"feedback": "up", "question": "xyzzy plugh"})
    response = await client.get("/metrics")
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    text = await response.text()
    assert metric(text, 'govbot_questions_total{intent="owner",platform="web"}') == 1
    assert metric(text, 'govbot_questions_total{intent="unknown",platform="web"}') == 1
    assert metric(text, 'govbot_unanswered_total{platform="web"}') == 1
    assert metric(text, "govbot_answer_seconds_count") == 2
    assert metric(text, 'govbot_answer_seconds_bucket{le="+Inf"}') == 2
    assert 0 < metric(text, "govbot_answer_seconds_sum") < 5
    assert metric(text, 'govbot_http_requests_total{route="/api/chat",status="200"}') == 3
    assert metric(text, 'govbot_knowledge_records{kind="actors"}') == 4
    assert metric(text, "govbot_knowledge_built_timestamp_seconds") > 1.7e9
    assert metric(text, "govbot_ready") == 1
    for line in text.splitlines():
        assert line.startswith("# ") or SAMPLE.match(line), line


async def test_refresh_metrics_follow_the_conversation(tmp_path, aiohttp_client):
    conv = Conversation(KnowledgeBase(tmp_path / "kb"))
    client = await aiohttp_client(create_app(conv))
    said, outcome = await conv.refresh([])  # the bundled knowledge
    assert outcome == "ok", said
    assert (await conv.refresh([str(TEST_SOURCE / "missing.yaml")]))[1] == "failed"
    text = await (await client.get("/metrics")).text()
    assert metric(text, 'govbot_refreshes_total{outcome="ok"}') == 1
    assert metric(text, 'govbot_refreshes_total{outcome="failed"}') == 1
    assert metric(text, "govbot_refresh_seconds_count") == 2
    ok = conv.refreshes[0]
    assert metric(text, "govbot_refresh_last_success_timestamp_seconds") == pytest.approx(ok["at"] + ok["duration"])


async def test_one_log_line_per_request_with_the_request_id(conv, aiohttp_client, caplog):
    client = await aiohttp_client(create_app(conv))
    caplog.set_level(logging.INFO, logger="govbot.http")
    response = await client.post("/api/chat", json={"question": "Qui pilote le programme Atlas ?"})
    await client.get("/healthz", headers={"X-Request-Id": "lb-1234.abc"})
    junk = await client.get("/nope/secret-path", headers={"X-Request-Id": "bad id; <script>"})
    lines = [json.loads(r.getMessage().removeprefix("request ")) for r in caplog.records if r.name == "govbot.http"]
    assert [(x["method"], x["route"], x["status"]) for x in lines] == [
        ("POST", "/api/chat", 200),
        ("GET", "/healthz", 200),
        ("GET", "-", 404),
    ]
    assert [x["rid"] for x in lines[:2]] == [response.headers["X-Request-Id"], "lb-1234.abc"]
    assert re.fullmatch(r"[0-9a-f]{16}", junk.headers["X-Request-Id"])
    assert all(isinstance(x["ms"], float) for x in lines)


async def test_webchat_can_be_turned_off(conv, aiohttp_client):
    client = await aiohttp_client(create_app(conv, webchat=False))
    assert (await client.get("/")).status == 404
    assert (await client.post("/api/chat", json={"question": "x"})).status == 404
    assert (await client.get("/static/chat.js")).status == 404
    assert (await client.get("/healthz")).status == 200


async def test_teams_route_is_there_unless_turned_off(conv, aiohttp_client, monkeypatch):
    client = await aiohttp_client(create_app(conv))
    assert (await client.get("/api/messages")).status == 404  # no app id: not mounted (issue 11)
    monkeypatch.setenv("GOVBOT_TEAMS_LOCAL", "1")
    client = await aiohttp_client(create_app(conv))
    assert (await client.get("/api/messages")).status == 405  # mounted (POST only) for the local emulator
    monkeypatch.setenv("GOVBOT_TEAMS", "0")
    client = await aiohttp_client(create_app(conv))
    assert (await client.post("/api/messages", json={})).status == 404


async def test_a_missing_front_end_module_is_logged_and_skipped(conv, aiohttp_client, monkeypatch, caplog):
    monkeypatch.setattr(server, "FRONT_ENDS", ("xmpp",))
    caplog.set_level(logging.INFO, logger="govbot.server")
    client = await aiohttp_client(create_app(conv))
    assert "xmpp front end not installed (no module bot.xmpp): its route is not mounted" in caplog.text
    assert (await client.get("/healthz")).status == 200


def test_main_refuses_an_unauthenticated_teams_in_production(monkeypatch, capsys, tmp_path, sdk_log_levels):
    from bot.cli import main

    monkeypatch.setenv("GOVBOT_ENV", "production")
    code = main(["serve", "--db", str(tmp_path / "kb"), "--port", "0"])
    err = capsys.readouterr().err
    assert code == 2
    assert "refusing to start" in err and "MicrosoftAppId is empty" in err and "GOVBOT_TEAMS=0" in err


def test_production_accepts_teams_off_or_an_app_id(conv, monkeypatch):
    with pytest.raises(server.ConfigError):
        create_app(conv, production=True)
    monkeypatch.setenv("GOVBOT_TEAMS", "0")
    assert create_app(conv, production=True) is not None
    monkeypatch.setenv("GOVBOT_TEAMS", "1")
    monkeypatch.setenv("MicrosoftAppId", "00000000-0000-0000-0000-000000000001")
    assert create_app(conv, production=True) is not None


def test_logging_keeps_sdk_loggers_quiet(sdk_log_levels):
    settings.configure_logging()
    for name in ("slack_bolt", "botbuilder", "aiohttp.access"):
        assert logging.getLogger(name).getEffectiveLevel() == logging.WARNING


def test_static_page_has_no_inline_script_or_remote_resource():
    page = (Path(server.__file__).parent / "static" / "index.html").read_text(encoding="utf-8")
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    assert [attrs for attrs, body in scripts if body.strip() and "application/json" not in attrs] == []
    assert not re.search(r"(src|href)=\"(https?:)?//", page)


def test_the_address_stands_out_on_a_terminal_and_is_plain_in_a_log():
    plain = server.banner_line("web chat", "http://localhost:3978/", "127.0.0.1:3978", terminal=False)
    assert plain == "govbot: web chat on http://localhost:3978/ (listening on 127.0.0.1:3978; Ctrl-C stops)"
    shown = server.banner_line("web chat", "http://localhost:3978/", "127.0.0.1:3978", terminal=True)
    assert shown == f"\n\033[1m{plain}\033[0m"
