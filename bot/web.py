"""The web chat: the page at `/`, its two static files, and `POST /api/chat`.

The page's own words come from knowledge/phrases.py, filled in on the server (escaped) or handed to the
script as JSON; answers travel as the core's Answer JSON and the script builds them with textContent, so
no knowledge text is ever parsed as HTML. A visitor is a signed id in a cookie (no login; see `visitors`):
it keys the per-user rate limit and the question log's salted hash. `{"logout": true}` revokes it.
"""

from __future__ import annotations

import asyncio
import html
import json
import os
import re
from pathlib import Path
from typing import Any

from aiohttp import web

from knowledge import Answer, KnowledgeMissing
from knowledge.phrases import EXAMPLES, say

from .conversation import ADMIN_COMMANDS, Conversation, parse_command, reply_language
from .render import knowledge_date
from .visitors import Visitor, Visitors

__all__ = ["add_routes", "new_visitor", "render_page", "read_json", "COOKIE", "PAGE_POLICY"]

STATIC = Path(__file__).parent / "static"
COOKIE = "govbot_uid"
_PLACEHOLDER = re.compile(r"\{\{ *(\w+) *\}\}")
LANGS = ("fr", "en")
# The page runs only its own script and talks only to its own server; links open elsewhere.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
CONVERSATION = web.AppKey("govbot.web.conversation", Conversation)
_TEMPLATE = web.AppKey("govbot.web.template", str)
VISITORS = web.AppKey("govbot.web.visitors", Visitors)
PRODUCTION = web.AppKey("govbot.web.production", bool)


def _words(lang: str) -> dict[str, str]:
    """The sentences the script needs for one language (answers may be in either)."""
    return {
        "you": say("web_you", lang),
        "thinking": say("web_thinking", lang),
        "sources": say("sources_word", lang),
        "up": say("feedback_up", lang),
        "down": say("feedback_down", lang),
        "feedback": say("web_feedback", lang),
        "error": say("error", lang, ref="{ref}"),
    }


def _script_json(value: Any) -> str:
    """JSON that cannot end its <script> element or open a comment inside it."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def render_page(template: str, lang: str, as_of: str = "") -> str:
    """The chat page in `lang`: every {{name}} replaced by its escaped phrase; `as_of` is the knowledge date."""
    other = "en" if lang == "fr" else "fr"
    values = {
        "as_of": say("knowledge_date", lang, date=as_of) if as_of else "",
        "lang": lang,
        "other_lang": other,
        "title": say("home_title", lang),
        "welcome": say("welcome", lang),
        "examples_label": say("web_examples", lang),
        "conversation": say("web_conversation", lang),
        "question_label": say("web_question_label", lang),
        "placeholder": say("web_placeholder", lang),
        "send": say("web_send", lang),
        "privacy": say("web_privacy", lang),
        "switch_language": say("web_switch_language", lang),
    }
    raw = {
        "examples": "".join(
            f'<li><button type="button" class="example">{html.escape(example)}</button></li>'
            for example in EXAMPLES[lang]
        ),
        "data": _script_json({code: _words(code) for code in LANGS}),
    }
    return _PLACEHOLDER.sub(lambda m: raw[m[1]] if m[1] in raw else html.escape(values[m[1]]), template)


def new_visitor(conv: Conversation, token: str | None = None) -> str:
    """A visitor id issued now (a token, the time, and their signature): a client cannot mint ids."""
    return Visitors(conv.log.sign).new_id(token)


def _visitor(request: web.Request) -> Visitor:
    """The visitor id from the cookie if the server issued it, else the client's address (see visitors)."""
    return request.app[VISITORS].identify(request, request.cookies.get(COOKIE, ""))


def _remember(request: web.Request, response: web.StreamResponse, visitor: Visitor) -> None:
    if not visitor.new_id:
        return
    secure = request.app[VISITORS].secure(request, request.app[PRODUCTION])
    response.set_cookie(
        COOKIE, visitor.new_id, max_age=365 * 24 * 3600, path="/", httponly=True, samesite="Lax", secure=secure or None
    )


async def read_json(request: web.Request) -> dict[str, Any]:
    """The request's JSON object, or an HTTP error with a one-line reason (bodies over the limit are 413)."""
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(text="expected Content-Type: application/json")
    body = await request.read()
    try:
        data = json.loads(body.decode("utf-8"))
        # A "\\ud800" escape decodes to a lone surrogate, which no UTF-8 consumer (SQLite, logs) accepts.
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeDecodeError:
        raise web.HTTPBadRequest(text="malformed JSON: the body is not UTF-8") from None
    except UnicodeEncodeError:
        raise web.HTTPBadRequest(text="malformed JSON: a string holds a lone UTF-16 surrogate") from None
    except RecursionError:
        raise web.HTTPBadRequest(text="malformed JSON: nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise web.HTTPBadRequest(text=f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="malformed request: expected a JSON object")
    return data


def _text(data: dict[str, Any], key: str) -> str:
    value = data[key]
    if not isinstance(value, str):
        raise web.HTTPBadRequest(text=f'malformed request: "{key}" must be a string')
    return value


async def _page(request: web.Request) -> web.Response:
    lang = request.query.get("lang", "fr")
    lang = lang if lang in LANGS else "fr"
    conv = request.app[CONVERSATION]
    try:
        as_of = knowledge_date(await asyncio.to_thread(conv.kb.info))
    except KnowledgeMissing:  # still building: the page works, without the date
        as_of = ""
    response = web.Response(text=render_page(request.app[_TEMPLATE], lang, as_of), content_type="text/html")
    response.headers["Content-Security-Policy"] = PAGE_POLICY
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    _remember(request, response, _visitor(request))
    return response


async def _chat(request: web.Request) -> web.Response:
    conv = request.app[CONVERSATION]
    data = await read_json(request)
    visitor = _visitor(request)
    user = visitor.user
    try:
        if "logout" in data:
            reply = await _logout(request, visitor)
        elif "feedback" in data:
            reply = await _feedback(conv, user, data)
        elif "choice" in data:
            reply = await _ask(conv, user, _text(data, "choice"))
        elif "question" in data:
            reply = await _question(request, visitor, _text(data, "question"))
        else:
            raise web.HTTPBadRequest(text='malformed request: expected "question", "choice" or "feedback"')
    except KnowledgeMissing:
        lang = reply_language(str(data.get("question") or data.get("choice") or ""))
        reply = web.json_response({"error": "knowledge base not ready", "text": say("not_ready", lang)}, status=503)
    _remember(request, reply, visitor)
    return reply


async def _ask(conv: Conversation, user: str, text: str) -> web.Response:
    answer = await conv.ask_async("web", user, text)
    return web.json_response(answer.to_dict())


async def _question(request: web.Request, visitor: Visitor, text: str) -> web.Response:
    conv = request.app[CONVERSATION]
    command = parse_command(text)
    if command.name not in ADMIN_COMMANDS:
        return await _ask(conv, visitor.user, text)
    # Admins are listed in GOVBOT_WEB_ADMINS by visitor id, for GOVBOT_WEB_ADMIN_HOURS after it was issued and
    # until revoked; an expired or revoked id is refused (and logged) as someone else. A refresh answers with
    # its report: the page waits for it (Slack and Teams, which cannot wait, post it later).
    fresh = request.app[VISITORS].admin_fresh(visitor) and not await asyncio.to_thread(conv.log.revoked, visitor.user)
    reply = await conv.admin_async("web", visitor.user if fresh else f"{visitor.user}#expired", command)
    said = await reply.background() if reply.background else reply.text
    answer = Answer(intent="admin", lang=reply.lang, title="", text=said)
    return web.json_response(answer.to_dict())


async def _logout(request: web.Request, visitor: Visitor) -> web.Response:
    """Revoke the caller's visitor id for good (an admin leaving a shared computer); the next request gets a new one."""
    if visitor.issued is not None:
        await asyncio.to_thread(request.app[CONVERSATION].log.revoke, visitor.user)
    response = web.json_response({"ok": True})
    response.del_cookie(COOKIE, path="/")
    return response


async def _feedback(conv: Conversation, user: str, data: dict[str, Any]) -> web.Response:
    value = _text(data, "feedback")
    question = _text(data, "question") if "question" in data else ""
    if value not in ("up", "down"):
        raise web.HTTPBadRequest(text='malformed request: "feedback" must be "up" or "down"')
    if not conv.limiter.allow(conv.log.user_hash("web", user) + ":feedback"):
        return web.json_response({"ok": False, "text": say("rate_limited", reply_language(question))}, status=429)
    return web.json_response({"ok": True, "text": await conv.feedback_async("web", user, question, value)})


async def _asset(request: web.Request) -> web.FileResponse:
    response = web.FileResponse(STATIC / request.match_info["name"])
    response.headers["Cache-Control"] = "no-cache"
    return response


def add_routes(app: web.Application, conv: Conversation, *, production: bool = False) -> None:
    """Mount the web chat: GET /, GET /static/chat.{css,js}, POST /api/chat.

    `production` makes the visitor cookie Secure whatever the request says (the service is behind HTTPS).
    """
    app[CONVERSATION] = conv
    app[VISITORS] = Visitors.from_env(conv.log.sign, os.environ)
    app[PRODUCTION] = production
    app[_TEMPLATE] = (STATIC / "index.html").read_text(encoding="utf-8")
    app.router.add_get("/", _page)
    app.router.add_get("/static/{name:chat\\.(?:css|js)}", _asset)
    app.router.add_post("/api/chat", _chat)
