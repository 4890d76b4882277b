"""Slack, hostile and unlucky: forged, malformed, replayed and retried requests, Slack outages, hostile text.

Issue 7 items 1, 2, 10 and 11, over real HTTP into the real bolt app, with a fake Slack on loopback.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import math
import random
import sqlite3
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.conversation import Conversation
from bot.slack import build_slack_app
from tests.fakes.slack_api import (
    ADMIN,
    BOT_TOKEN,
    SECRET,
    SlackRig,
    button,
    event_body,
    mention,
    sign,
    start_rig,
)

QUESTION = "qui pilote le programme Atlas ?"
CANARY = "PHI-CANARY-123"


@pytest.fixture
async def slack(kb, monkeypatch, aiohttp_server, aiohttp_client) -> SlackRig:
    return await start_rig(kb, monkeypatch, aiohttp_server, aiohttp_client)


def count(conv: Conversation, table: str) -> int:
    with sqlite3.connect(conv.log.path) as db:
        return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


async def assert_nothing_ran(slack: SlackRig) -> None:
    """No listener ran: nothing reached Slack, no question, feedback or admin action was logged."""
    await slack.barrier()
    assert slack.fake.posted() == []
    assert (count(slack.conv, "questions"), count(slack.conv, "admin_actions"), count(slack.conv, "feedback")) == (
        0,
        0,
        0,
    )


async def _logged(caplog: pytest.LogCaptureFixture, text: str, timeout: float = 5.0) -> None:
    """Wait for `text` to be logged."""
    deadline = time.monotonic() + timeout
    while text not in caplog.text:
        assert time.monotonic() < deadline, f"never logged: {text!r}"
        await asyncio.sleep(0.01)


def parsed_text(message: dict[str, Any]) -> str:
    """Everything Slack parses as mrkdwn (mentions, links) in a message; button values are opaque data."""
    mrkdwn = [message["text"]] + [
        element["text"]
        for block in message["blocks"]
        for element in [block.get("text"), *block.get("fields", []), *block.get("elements", [])]
        if isinstance(element, dict) and element.get("type") == "mrkdwn"
    ]
    return "\n".join(mrkdwn)


def forged_signature() -> str:
    return "v0=" + "".join(random.choice("0123456789abcdef") for _ in range(64))


def _forgeries(margin: int = 1) -> list[tuple[str, bytes, dict[str, str]]]:
    """Every way to fake a Slack request; `margin` more seconds past the window keep them stale for longer."""
    now = time.time()
    past, future = math.floor(now) - 300 - margin, math.ceil(now) + 300 + margin
    body = event_body(mention(QUESTION), "EvForged").encode()
    command = urllib.parse.urlencode({"command": "/govbot", "text": "refresh", "user_id": ADMIN}).encode()
    good = sign(body)
    return [
        ("random hmac", body, {**good, "X-Slack-Signature": forged_signature()}),
        ("wrong secret", body, sign(body, secret="not-the-secret")),
        ("tampered body", body.replace(b"Atlas", b"Zenith"), good),
        ("stale -301 s", body, sign(body, past)),
        ("future +301 s", body, sign(body, future)),
        ("very stale", body, sign(body, past - 10**6)),
        ("unsigned", body, {}),
        ("timestamp only", body, {"X-Slack-Request-Timestamp": str(int(now))}),
        ("v1 prefix", body, {**good, "X-Slack-Signature": "v1=" + good["X-Slack-Signature"][3:]}),
        ("uppercase hex", body, {**good, "X-Slack-Signature": good["X-Slack-Signature"].upper().replace("V0=", "v0=")}),
        (
            "forged admin refresh",
            command,
            {**sign(command, secret="guess"), "Content-Type": "application/x-www-form-urlencoded"},
        ),
    ]


@pytest.mark.parametrize("kind", [name for name, _, _ in _forgeries()])
async def test_forged_tampered_stale_and_unsigned_requests_get_401(slack: SlackRig, kind: str) -> None:
    [(body, headers)] = [(body, headers) for name, body, headers in _forgeries() if name == kind]
    assert await slack.post(body, headers=headers, signed=False) == 401
    await assert_nothing_ran(slack)


async def test_the_window_is_five_minutes_either_side(slack: SlackRig) -> None:
    now = int(time.time())
    assert await slack.event(mention(QUESTION), timestamp=now - 295) == 200
    assert await slack.event(mention(QUESTION), timestamp=now + 295) == 200
    await slack.fake.wait_for("chat.postMessage", 2)


def _signed_by_hand(body: bytes, timestamp: str) -> dict[str, str]:
    digest = hmac.new(SECRET.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": "v0=" + digest}


MALFORMED: list[tuple[str, bytes, str, Any]] = [
    # (name, body, content type, headers: a dict, or "sign" to sign the body correctly)
    ("timestamp abc", b"{}", "application/json", _signed_by_hand(b"{}", "abc")),
    ("timestamp 1e9", b"{}", "application/json", _signed_by_hand(b"{}", "1e9")),
    ("timestamp with a fraction", b"{}", "application/json", "fraction"),
    ("timestamp of 5,000 digits", b"{}", "application/json", _signed_by_hand(b"{}", "9" * 5000)),
    ("non-ASCII signature", b"{}", "application/json", "non-ascii"),
    ("unsigned non-UTF-8 body", b"\xff\xfe{\x80}", "application/json", {}),
    ("signed non-UTF-8 body", b"\xff\xfe{\x80}", "application/json", "sign"),
    ("unsigned malformed JSON", b"{not json", "application/json", {}),
    ("signed malformed JSON", b"{not json", "application/json", "sign"),
    ("signed malformed form payload", b"payload=%7Bbad", "application/x-www-form-urlencoded", "sign"),
    ("signed JSON array", b"[1, 2, 3]", "application/json", "sign"),
    ("signed payload that is a list", b"payload=%5B1%5D", "application/x-www-form-urlencoded", "sign"),
    ("no content type, unsigned", b"{}", "", {}),
    ("empty body, unsigned", b"", "application/json", {}),
]


@pytest.mark.parametrize("case", [m[0] for m in MALFORMED])
async def test_malformed_headers_and_bodies_get_400_or_401_never_500(slack: SlackRig, case: str) -> None:
    _, body, content_type, headers = next(m for m in MALFORMED if m[0] == case)
    if headers == "sign":
        headers = sign(body)
    elif headers == "fraction":
        headers = _signed_by_hand(body, f"{int(time.time())}.5")
    elif headers == "non-ascii":  # a fresh timestamp, so stock bolt would reach compare_digest (TypeError)
        headers = {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=" + "é" * 64}
    status = await slack.post(body, content_type=content_type, headers=headers, signed=False)
    assert status in (400, 401), case
    await assert_nothing_ran(slack)


async def test_a_body_over_one_mebibyte_is_refused(slack: SlackRig) -> None:
    body = b"{" + b" " * (2 * 1024 * 1024) + b"}"
    assert await slack.post(body) == 413
    await assert_nothing_ran(slack)


async def test_a_replayed_mention_runs_once(slack: SlackRig) -> None:
    body = event_body(mention(QUESTION), "EvReplayed")
    headers = {"Content-Type": "application/json", **sign(body)}
    statuses = [await slack.post(body, headers=headers, signed=False) for _ in range(5)]
    assert statuses == [200] * 5
    await slack.fake.wait_for("chat.postMessage")
    await slack.barrier()
    assert len(slack.fake.of("chat.postMessage")) == 1 and count(slack.conv, "questions") == 1


async def test_a_replayed_admin_command_runs_once(slack: SlackRig) -> None:
    body = slack.command_body("stats", user=ADMIN)
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
    statuses = [await slack.post(body, headers=headers, signed=False) for _ in range(5)]
    assert statuses == [200] * 5
    await slack.fake.wait_for("respond")
    await slack.barrier()
    assert len(slack.fake.of("respond")) == 1 and count(slack.conv, "admin_actions") == 1


async def test_a_flood_of_1000_forged_requests_is_all_rejected(slack: SlackRig) -> None:
    kinds = _forgeries(margin=60)  # the flood takes a while: stale and future stay out of the window
    statuses = await asyncio.gather(
        *(slack.post(kinds[i % len(kinds)][1], headers=kinds[i % len(kinds)][2], signed=False) for i in range(1000))
    )
    assert statuses == [401] * 1000
    await assert_nothing_ran(slack)


async def test_rejected_bodies_are_never_logged(slack: SlackRig, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    body = event_body(mention(f"{CANARY} secret patient question"), "EvCanary")
    for _ in range(100):
        assert await slack.post(body, headers={"X-Slack-Signature": forged_signature()}) == 401
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert CANARY not in logged and SECRET not in logged and BOT_TOKEN not in logged


async def test_even_bolts_own_verification_logs_no_body_at_info(kb, caplog: pytest.LogCaptureFixture) -> None:
    """Behind the guard bolt should never see a forgery; if it did, its INFO body dump stays off."""
    caplog.set_level(logging.INFO)
    bolt = build_slack_app(Conversation(kb), token=BOT_TOKEN, signing_secret=SECRET, api_url="http://127.0.0.1:9/")
    body = event_body(mention(CANARY), "EvBolt")
    headers = {"content-type": "application/json", **sign(body, secret="wrong")}
    response = await bolt.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
    assert response.status == 401
    assert CANARY not in caplog.text


async def test_retries_and_repeated_event_ids_are_acked_and_answered_once(slack: SlackRig) -> None:
    now = int(time.time())
    statuses = [
        await slack.event(mention(QUESTION), event_id="EvDup", timestamp=now),
        await slack.event(mention(QUESTION), event_id="EvDup", retry=1, timestamp=now - 1),
        await slack.event(mention(QUESTION), event_id="EvDup", retry=2, timestamp=now - 2),
        await slack.event(mention(QUESTION), event_id="EvDup", timestamp=now - 3),  # a redelivery without headers
    ]
    assert statuses == [200] * 4
    await slack.fake.wait_for("chat.postMessage")
    await slack.barrier()
    assert len(slack.fake.of("chat.postMessage")) == 1 and count(slack.conv, "questions") == 1


async def test_a_retry_whose_first_delivery_never_arrived_is_answered(slack: SlackRig) -> None:
    assert await slack.event(mention(QUESTION), event_id="EvLost", retry=1) == 200
    await slack.fake.wait_for("chat.postMessage")


async def test_rate_limited_posts_wait_for_retry_after_then_deliver(slack: SlackRig) -> None:
    slack.fake.fail("chat.postMessage", 429, headers={"Retry-After": "1"})
    assert await slack.event(mention(QUESTION)) == 200
    [delivered] = await slack.fake.wait_for("chat.postMessage", timeout=10)
    first, second = slack.fake.attempts("chat.postMessage")
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 1.0  # never earlier than Retry-After
    assert "Programme Atlas" in delivered["text"]


async def test_a_slack_error_while_posting_is_logged_and_the_next_answer_goes_out(
    slack: SlackRig, caplog: pytest.LogCaptureFixture
) -> None:
    slack.fake.fail("chat.postMessage", 500)
    assert await slack.event(mention(QUESTION)) == 200
    await _logged(caplog, "answer not delivered")  # the failed post happened; then nothing retries it
    await slack.barrier()
    assert slack.fake.of("chat.postMessage") == [] and "answer not delivered" in caplog.text
    assert await slack.event(mention(QUESTION)) == 200
    await slack.fake.wait_for("chat.postMessage")
    assert BOT_TOKEN not in caplog.text


async def test_slack_unreachable_is_logged_and_the_server_keeps_serving(
    slack: SlackRig, aiohttp_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    await slack.event(mention(QUESTION))
    await slack.fake.wait_for("chat.postMessage")  # bolt has its auth.test answer cached
    assert slack.fake.server is not None
    port = slack.fake.server.port
    await slack.fake.stop()
    assert await slack.event(mention(QUESTION)) == 200
    await _logged(caplog, "answer not delivered")
    await slack.fake.start(aiohttp_server, port=port)
    assert await slack.event(mention(QUESTION)) == 200
    await slack.fake.wait_for("chat.postMessage", 2)


async def test_hostile_knowledge_text_renders_inert(slack: SlackRig, tmp_path: Path) -> None:
    source = tmp_path / "hostile.yaml"
    source.write_text(
        "source:\n  title: Feuille <b>Orion</b> & co\n  url: 'https://example.org/orion?a=1&b=2'\n"
        "  published: 2025-02-01\nprogrammes:\n  - id: ORION\n    name: Programme Orion <!channel>\n"
        "    summary: 'Alerte <!channel> & <script>alert(1)</script> @everyone <https://evil.example|cliquez>'\n",
        encoding="utf-8",
    )
    slack.conv.kb.refresh([str(source)], bundled=False)
    await slack.event(mention("c'est quoi le programme Orion ?"))
    [posted] = await slack.fake.wait_for("chat.postMessage")
    parsed = parsed_text(posted)
    for raw in ("<!channel>", "<script>", "<https://evil.example", "<b>"):
        assert raw not in parsed
    assert "&lt;!channel&gt; &amp; &lt;script&gt;alert(1)&lt;/script&gt; @everyone" in parsed
    assert "<https://example.org/orion?a=1&amp;b=2|Feuille &lt;b&gt;Orion&lt;/b&gt; &amp; co>" in parsed
    # The header is plain_text, which Slack never parses for mentions or links.
    assert posted["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Programme Orion <!channel>", "emoji": False},
    }


async def test_a_shared_question_cannot_make_govbot_ping_the_channel(slack: SlackRig) -> None:
    await slack.command("<!channel> <!here> <@U999> <script>x</script> & qui pilote le programme Atlas ?")
    [private] = await slack.fake.wait_for("respond")
    await slack.click(button(private, "govbot_share"), ephemeral=True)
    public = (await slack.fake.wait_for("respond", 2))[1]
    assert public["response_type"] == "in_channel"
    shared = parsed_text(public)
    assert "<!channel>" not in shared and "<!here>" not in shared and "<@U999>" not in shared
    assert "<script>" not in shared and "&lt;script&gt;x&lt;/script&gt; &amp; qui pilote" in shared
