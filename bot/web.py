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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from knowledge import Answer, KnowledgeMissing
from knowledge.phrases import say

from .conversation import ADMIN_COMMANDS, Conversation, knowledge_date, parse_command
from .ratelimit import LIMITS_FILE
from .turn import Choice, Feedback, Kind, Reply, Turn
from .visitors import Visitor, Visitors

__all__ = ["add_routes", "new_visitor", "render_page", "read_json", "reply_json", "COOKIE", "PAGE_POLICY", "STATUS"]

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
        "as_of": say("knowledge_date", lang, date="{date}"),
        "more": say("more_details", lang),
    }


def _script_json(value: Any) -> str:
    """JSON that cannot end its <script> element or open a comment inside it."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def render_page(template: str, lang: str, as_of: str = "", examples: list[str] | None = None) -> str:
    """The chat page in `lang`: every {{name}} replaced by its escaped phrase; `as_of` is the knowledge date,
    `examples` the questions offered one click away."""
    other = "en" if lang == "fr" else "fr"
    values = {
        "as_of": say("knowledge_date", lang, date=as_of) if as_of else "",
        "lang": lang,
        "other_lang": other,
        "title": say("home_title", lang),
        "welcome": say("welcome", lang) + (" " + say("welcome_try", lang) if examples else ""),
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
            for example in examples or []
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


def _page_facts(conv: Conversation, lang: str) -> tuple[str, list[str]]:
    """The knowledge date and the example questions; still building: the page works without them."""
    try:
        return knowledge_date(conv.kb.info()), conv.examples(lang)
    except KnowledgeMissing:
        return "", []


async def _page(request: web.Request) -> web.Response:
    lang = request.query.get("lang", "fr")
    lang = lang if lang in LANGS else "fr"
    conv = request.app[CONVERSATION]
    as_of, examples = await asyncio.to_thread(_page_facts, conv, lang)
    page = render_page(request.app[_TEMPLATE], lang, as_of, examples)
    response = web.Response(text=page, content_type="text/html")
    response.headers["Content-Security-Policy"] = PAGE_POLICY
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    _remember(request, response, _visitor(request))
    return response


# The HTTP status of each kind of reply: the script shows 200s as answers and anything else as a notice.
STATUS = {
    Kind.ANSWER: 200,
    Kind.ADMIN: 200,
    Kind.THANKS: 200,
    Kind.REFUSED: 403,
    Kind.RATE_LIMITED: 429,
    Kind.NOT_READY: 503,
    Kind.ERROR: 500,
}


async def _turn(request: web.Request, data: dict[str, Any], visitor: Visitor) -> Turn:
    """The turn a chat request stands for: a question, a clicked choice or a 👍 / 👎."""
    user = visitor.user
    if "feedback" in data:
        value = _text(data, "feedback")
        if value not in ("up", "down"):
            raise web.HTTPBadRequest(text='malformed request: "feedback" must be "up" or "down"')
        question = _text(data, "question") if "question" in data else ""
        return Turn("web", user, user, action=Feedback("up" if value == "up" else "down", question))
    if "choice" in data:
        return Turn("web", user, user, action=Choice(_text(data, "choice")))
    if "question" not in data:
        raise web.HTTPBadRequest(text='malformed request: expected "question", "choice" or "feedback"')
    text = _text(data, "question")
    admin = parse_command(text).name in ADMIN_COMMANDS and await _admin(request, visitor)
    # A digest waits in the visitor's inbox (bot/inbox.py): only a signed id has one.
    reach = {} if visitor.issued is not None else None
    return Turn("web", user, user, text=text, admin=admin, direct=True, reach=reach)


async def _admin(request: web.Request, visitor: Visitor) -> bool:
    """Admins are listed in GOVBOT_WEB_ADMINS by visitor id, an id the server signed, for
    GOVBOT_WEB_ADMIN_HOURS after it was issued and until revoked (anyone else is refused, and logged)."""
    conv = request.app[CONVERSATION]
    if not (conv.is_admin("web", visitor.user) and request.app[VISITORS].admin_fresh(visitor)):
        return False
    return not await asyncio.to_thread(conv.log.revoked, visitor.user)


def reply_json(
    reply: Reply, said: str | None = None, to_dict: Callable[[Answer], dict[str, Any]] | None = None
) -> dict[str, Any]:
    """One shape for every reply: the Answer's fields, plus `labels` (each field's label in the answer's
    language), `kind` and `as_of`; `said` replaces the text
    (a refresh's report, which the page waits for). `to_dict`: the answer cache's, which serialises a
    cached answer once."""
    answer = reply.answer or Answer(intent=str(reply.kind), lang=reply.lang, title="", text=reply.text)
    body = (to_dict or Answer.to_dict)(answer)
    if said is not None:
        body["text"] = said
    labels = dict(zip(answer.fields, (name for name, _ in answer.labelled_fields()), strict=True))
    return {**body, "labels": labels, "kind": str(reply.kind), "as_of": reply.as_of}


async def _chat(request: web.Request) -> web.Response:
    conv = request.app[CONVERSATION]
    data = await read_json(request)
    visitor = _visitor(request)
    if "logout" in data:
        response = await _logout(request, visitor)
    else:
        reply = await conv.handle(await _turn(request, data, visitor))
        # The page can wait for a refresh's report (Slack and Teams, which cannot, post it later).
        said = await reply.background() if reply.background else None
        response = web.json_response(reply_json(reply, said, conv.cache.as_dict), status=STATUS[reply.kind])
    _remember(request, response, visitor)
    return response


async def _logout(request: web.Request, visitor: Visitor) -> web.Response:
    """Revoke the caller's visitor id for good (an admin leaving a shared computer); the next request gets a new one."""
    if visitor.issued is not None:
        await asyncio.to_thread(request.app[CONVERSATION].log.revoke, visitor.user)
    response = web.json_response({"ok": True})
    response.del_cookie(COOKIE, path="/")
    return response


async def _asset(request: web.Request) -> web.FileResponse:
    response = web.FileResponse(STATIC / request.match_info["name"])
    response.headers["Cache-Control"] = "no-cache"
    return response


def add_routes(app: web.Application, conv: Conversation, *, production: bool = False) -> None:
    """Mount the web chat: GET /, GET /static/chat.{css,js}, POST /api/chat.

    `production` makes the visitor cookie Secure whatever the request says (the service is behind HTTPS).
    """
    app[CONVERSATION] = conv
    app[VISITORS] = Visitors.from_env(conv.log.sign, os.environ, limits=conv.kb.path / LIMITS_FILE)
    app[PRODUCTION] = production
    app[_TEMPLATE] = (STATIC / "index.html").read_text(encoding="utf-8")
    app.router.add_get("/", _page)
    app.router.add_get("/static/{name:chat\\.(?:css|js)}", _asset)
    app.router.add_post("/api/chat", _chat)
