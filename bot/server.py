"""`govbot serve`: one aiohttp application for every front end, the web chat, health and metrics.

Slack and Teams are mounted through their modules' `mount(app, conv)`; each adds its routes only when its
platform is configured. The knowledge base is checked (and rebuilt only if its sources changed) in a
thread once the server listens, so the port is bound at once and `/readyz` says when answers can flow.
"""

from __future__ import annotations

import asyncio
import gc
import hmac
import importlib
import importlib.util
import json
import logging
import os
import re
import sys
import threading
import time
from argparse import Namespace
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from aiohttp import web

from knowledge import KnowledgeMissing, RefreshBusy, RefreshReport, SourceErrors, default_path

from . import answering, feed, inbox
from . import web as webchat_routes
from .answerqueue import QUEUE_FILE, AnswerQueue, Intake, limit_from_env
from .conversation import Conversation
from .http_guard import Limits, harden, read_body, serve
from .metrics import CONTENT_TYPE, FRONT_END_HEALTH, PUBLISH_EVERY, Metrics
from .schedule import service_context as subscriptions_service
from .settings import configure_logging, open_kb
from .workers import Answerers, Listener, supervise

__all__ = ["create_app", "main", "build_on_start", "check_production", "ConfigError", "MAX_BODY"]

log = logging.getLogger("govbot.server")
access = logging.getLogger("govbot.http")

MAX_BODY = 1024**2
FRONT_ENDS = ("slack", "teams", "matrix")
# A PaaS sends SIGKILL some seconds after SIGTERM (Heroku 30 s, Docker 10 s by default): finish before.
SHUTDOWN_TIMEOUT = 25.0
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_LOOPBACK = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class ConfigError(RuntimeError):
    """The environment asks for an unsafe or impossible service; the message says what to change."""


@dataclass
class Readiness:
    """Whether the start-up build is still running, and why the knowledge is missing if it failed."""

    starting: bool = False
    problem: str = ""


CONVERSATION = web.AppKey("govbot.conversation", Conversation)
METRICS = web.AppKey("govbot.metrics", Metrics)
READINESS = web.AppKey("govbot.readiness", Readiness)
REQUEST_ID = "govbot.request_id"


def teams_enabled(environ: Mapping[str, str]) -> bool:
    return environ.get("GOVBOT_TEAMS", "1").strip() != "0"


def check_production(environ: Mapping[str, str]) -> None:
    """Refuse what would be unsafe or silently broken on a public endpoint (raises ConfigError)."""
    if environ.get("GOVBOT_TEAMS_LOCAL", "").strip() == "1":
        raise ConfigError(
            "GOVBOT_ENV=production with GOVBOT_TEAMS_LOCAL=1: the Teams emulator mode accepts unauthenticated "
            "activities and is for a developer's machine only. Unset GOVBOT_TEAMS_LOCAL."
        )
    if teams_enabled(environ) and not environ.get("MicrosoftAppId", "").strip():
        raise ConfigError(
            "GOVBOT_ENV=production, Teams is enabled and MicrosoftAppId is empty: the Teams route would not be "
            "mounted. Set MicrosoftAppId and MicrosoftAppPassword, or set GOVBOT_TEAMS=0 to turn Teams off."
        )


def _request_id(request: web.Request) -> str:
    given = request.headers.get("X-Request-Id", "")
    return given if _REQUEST_ID.fullmatch(given) else os.urandom(8).hex()  # a third of uuid4's cost


def _route(request: web.Request) -> str:
    """The matched route's pattern (bounded, never user text), or '-' when nothing matched."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "-"


def _error(request: web.Request, status: int, reason: str, headers: Mapping[str, str] | None = None) -> web.Response:
    """An error response: JSON under /api/, plain text elsewhere."""
    kept = {k: v for k, v in (headers or {}).items() if k.lower() not in ("content-type", "content-length")}
    if request.path.startswith("/api/"):
        body = {"error": reason, "status": status, "request_id": request.get(REQUEST_ID, "")}
        return web.json_response(body, status=status, headers=kept)
    return web.Response(text=f"{status}: {reason}\n", status=status, headers=kept)


def _reason(exc: web.HTTPException) -> str:
    """One line: the handler's text, or the status phrase when aiohttp's default text was kept."""
    text = (exc.text or "").strip()
    if not text or text == f"{exc.status}: {exc.reason}":
        text = exc.reason
    return " ".join(text.split())[:200]


@web.middleware
async def _observe(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
    """One log line per request (route, status, duration, request id) and the request counter."""
    rid = _request_id(request)
    request[REQUEST_ID] = rid
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        if not response.prepared:
            response.headers["X-Request-Id"] = rid
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response
    except web.HTTPException as exc:  # only redirects get here: _guard turns errors into responses
        status = exc.status
        raise
    except asyncio.CancelledError:
        status = 499  # the client went away, or shutdown outlasted SHUTDOWN_TIMEOUT: nothing was sent
        raise
    finally:
        route = _route(request)
        request.app[METRICS].observe_request(route, status)
        line = {
            "method": request.method if request.method in _METHODS else "OTHER",
            "route": route,
            "status": status,
            "ms": round((time.perf_counter() - started) * 1000, 1),
            "rid": rid,
        }
        access.info("request %s", json.dumps(line))


@web.middleware
async def _guard(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
    """Body size limit and deadline, and every error as a short response (JSON under /api/), never a traceback."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        return _error(request, 413, f"request body over {MAX_BODY} bytes")
    try:
        return await read_body(request) or await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _error(request, exc.status, _reason(exc), exc.headers)
    except Exception:
        # Logged at ERROR with the request id the user sees; the message text stays out of INFO.
        log.exception("unhandled error in %s (request %s)", _route(request), request.get(REQUEST_ID))
        return _error(request, 500, "internal error")


def _front_end_health(app: web.Application) -> dict[str, dict[str, Any]]:
    return {name: dict(probe()) for name, probe in app[FRONT_END_HEALTH].items()}


async def _healthz(request: web.Request) -> web.Response:
    """The process answers; front ends with a client of their own (Matrix) add how it is doing."""
    front_ends = _front_end_health(request.app)
    return web.json_response({"ok": True, "front_ends": front_ends} if front_ends else {"ok": True})


def _info(conv: Conversation) -> dict[str, Any] | None:
    try:
        return conv.kb.info()
    except KnowledgeMissing:
        return None


async def _readyz(request: web.Request) -> web.Response:
    state = request.app[READINESS]
    if state.starting:
        return web.json_response({"ready": False, "reason": "building the knowledge base"}, status=503)
    try:
        info = await asyncio.to_thread(_info, request.app[CONVERSATION])
    except Exception as exc:  # a damaged file must read as "not ready", not crash the probe
        return web.json_response({"ready": False, "reason": type(exc).__name__}, status=503)
    if info is None:
        return web.json_response({"ready": False, "reason": state.problem or "no knowledge built yet"}, status=503)
    return web.json_response({"ready": True, "version": info["version"], "built_at": info["built_at"]})


def _may_scrape(request: web.Request) -> bool:
    """With GOVBOT_METRICS_TOKEN, its bearer only; without, a direct loopback client (no proxy in between)."""
    token = os.environ.get("GOVBOT_METRICS_TOKEN", "")
    if token:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    peer = request.transport.get_extra_info("peername") if request.transport else None
    host = peer[0] if isinstance(peer, tuple) and peer else ""
    proxied = any(h in request.headers for h in ("X-Forwarded-For", "Forwarded", "X-Real-IP"))
    return host in _LOOPBACK and not proxied


async def _metrics(request: web.Request) -> web.Response:
    if not _may_scrape(request):
        return _error(
            request, 401, "metrics need GOVBOT_METRICS_TOKEN as a bearer token", {"WWW-Authenticate": "Bearer"}
        )
    conv = request.app[CONVERSATION]
    try:
        info = await asyncio.to_thread(_info, conv)
    except Exception:
        info = None
    ready = info is not None and not request.app[READINESS].starting
    text = request.app[METRICS].render(conv.refreshes, info, ready, _front_end_health(request.app))
    return web.Response(body=text.encode(), headers={"Content-Type": CONTENT_TYPE})


# Answer workers when `--answer-workers` and GOVBOT_ANSWER_WORKERS are not given: one is enough for 2 cores
# (it answers at a lower priority, so it only takes what the acks leave), and with none an ack or a Teams turn
# waits for CPU behind answers (docs/benchmarks.md); it costs one process (about 60 MB PSS).
DEFAULT_ANSWER_WORKERS = 1


def answer_workers_from_env(environ: Mapping[str, str]) -> int:
    """GOVBOT_ANSWER_WORKERS: processes that answer the Slack and Teams questions listeners queue
    (DEFAULT_ANSWER_WORKERS unless set; 0: each listener answers its own)."""
    raw = environ.get("GOVBOT_ANSWER_WORKERS", "").strip()
    try:
        count = int(raw) if raw else DEFAULT_ANSWER_WORKERS
    except ValueError:
        count = -1
    if count < 0:
        raise ValueError(f"GOVBOT_ANSWER_WORKERS must be a number of processes (0 or more), not {raw!r}")
    return count


def queued_platforms(environ: Mapping[str, str], front_ends: tuple[str, ...]) -> tuple[str, ...]:
    """The configured front ends whose questions answer workers can answer: Slack in HTTP mode, Teams (an
    app id, or the emulator mode). The web chat answers within its request, so it has nothing to queue."""
    platforms = []
    if "slack" in front_ends and environ.get("SLACK_BOT_TOKEN") and environ.get("SLACK_SIGNING_SECRET"):
        platforms.append("slack")
    local = environ.get("GOVBOT_TEAMS_LOCAL", "").strip() == "1"
    if "teams" in front_ends and teams_enabled(environ) and (environ.get("MicrosoftAppId", "").strip() or local):
        platforms.append("teams")
    return tuple(platforms)


def mount_front_ends(
    app: web.Application,
    conv: Conversation,
    names: tuple[str, ...],
    answer_queue: Intake | None = None,
    queued: tuple[str, ...] = (),
) -> None:
    """Mount each front end whose module exists; each decides from the environment if it is configured.
    The `queued` ones queue their questions on `answer_queue`."""
    for name in names:
        if name == "teams" and not teams_enabled(os.environ):
            log.info("Teams front end turned off (GOVBOT_TEAMS=0)")
            continue
        module_name = f"{__package__}.{name}"
        if importlib.util.find_spec(module_name) is None:
            log.warning("%s front end not installed (no module %s): its route is not mounted", name, module_name)
            continue
        module = importlib.import_module(module_name)
        mounted = module.mount(app, conv, answer_queue) if name in queued else module.mount(app, conv)
        log.info("%s front end %s", name, "mounted" if mounted else "not configured (route not mounted)")


def create_app(
    conv: Conversation,
    *,
    webchat: bool = True,
    production: bool = False,
    limits: Limits | None = None,
    front_ends: tuple[str, ...] | None = None,
    run_dir: Path | None = None,
    answer_queue: Intake | None = None,
) -> web.Application:
    """The whole service over `conv` (`front_ends`: which chat platforms, default all); raises ConfigError
    when production settings are unsafe.

    `limits` (timeouts, connection cap) default to `http_guard.Limits()`; tests shorten them. `run_dir` is
    given to each of several listening processes: /metrics sums the figures they publish there. With an
    `answer_queue`, Slack and Teams questions are queued for the answer workers (bot/answerqueue.py).
    """
    front_ends = FRONT_ENDS if front_ends is None else front_ends
    if production and "teams" in front_ends:
        check_production(os.environ)
    app = web.Application(middlewares=[_observe, _guard], client_max_size=MAX_BODY)
    harden(app, limits or Limits())
    app[CONVERSATION] = conv
    app[READINESS] = Readiness()
    app[METRICS] = Metrics(run_dir)
    app[METRICS].attach(conv)
    if run_dir is not None:
        app.cleanup_ctx.append(_publish_metrics)
    app[FRONT_END_HEALTH] = {}
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    app.router.add_get("/metrics", _metrics)
    feed.add_routes(app, conv.kb)
    if webchat:
        webchat_routes.add_routes(app, conv, production=production)
        inbox.add_routes(app, conv.kb)  # the visitor's digests (docs/subscriptions.md)
    else:
        log.info("web chat turned off (GOVBOT_WEBCHAT=0)")
    queued = queued_platforms(os.environ, front_ends) if answer_queue is not None else ()
    mount_front_ends(app, conv, front_ends, answer_queue, queued)
    return app


async def _prepare(app: web.Application, build: Callable[[], RefreshReport | None]) -> None:
    state, conv = app[READINESS], app[CONVERSATION]
    started = time.time()
    try:
        report = await asyncio.to_thread(build)
    except RefreshBusy:
        state.problem = "another process is refreshing the knowledge"
        log.warning("knowledge: %s; this instance answers once it is done", state.problem)
    except SourceErrors as exc:
        conv.record_refresh(started, ok=False)
        state.problem = f"the knowledge could not be built ({len(exc.problems)} source problem(s))"
        log.error("knowledge: %s:\n%s", state.problem, exc)
    except Exception as exc:  # the service stays up (healthz) and says why it is not ready (readyz)
        conv.record_refresh(started, ok=False)
        state.problem = f"the knowledge could not be built ({type(exc).__name__})"
        log.exception("knowledge: %s", state.problem)
    else:
        if report is None:
            log.info("knowledge unchanged since its last build: not rebuilt")
        else:
            conv.record_refresh(started, ok=True, duration=report.duration)
            log.info("knowledge built: version %s in %.2f s", report.version, report.duration)
    finally:
        state.starting = False


def build_on_start(
    build: Callable[[], RefreshReport | None], announce: Callable[[], None] | None = None
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context that runs `build` (e.g. `kb.ensure`) in a thread while the server already listens,
    then calls `announce` (the address banner: the last thing a first run prints, once answers can flow)."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        app[READINESS].starting = True
        task = asyncio.create_task(_prepare(app, build))
        if announce is not None:
            task.add_done_callback(lambda _: announce())
        yield
        await task  # a thread cannot be cancelled: let a build in progress finish (it is crash-safe anyway)

    return context


async def _publish_metrics(app: web.Application) -> AsyncIterator[None]:
    """A cleanup context: this listener's counters written for the others' scrapes, every second and at the end."""
    metrics, conv = app[METRICS], app[CONVERSATION]

    async def loop() -> None:
        while True:
            metrics.publish(conv.refreshes)
            await asyncio.sleep(PUBLISH_EVERY)

    task = asyncio.create_task(loop())
    yield
    task.cancel()
    metrics.publish(conv.refreshes)


def banner_line(what: str, url: str, bound: str, terminal: bool) -> str:
    """The line that says where to go, printed once the knowledge is ready; bold after a blank line on a
    terminal, so it stands out of the log lines above it."""
    line = f"govbot: {what} on {url} (listening on {bound}; Ctrl-C stops)"
    return f"\n\033[1m{line}\033[0m" if terminal else line


def _url(host: str, port: int) -> str:
    shown = "localhost" if host in ("", "0.0.0.0", "::") else host
    return f"http://[{shown}]:{port}/" if ":" in shown else f"http://{shown}:{port}/"


def main(args: Namespace, *, front_ends: tuple[str, ...] | None = None, webchat: bool | None = None) -> int:
    """Run the service until SIGTERM or Ctrl-C (in-flight requests finish first): in this process, or in
    `--workers N` listening processes sharing the port (bot/workers.py).

    `govbot slack` runs this with Slack alone: the same guards, health, metrics and port.
    """
    configure_logging()
    workers = getattr(args, "workers", 1)
    if workers < 0:
        print(
            f"govbot serve: refusing to start: --workers is a number of processes (1 or more), not {workers}",
            file=sys.stderr,
        )
        return 2
    try:
        answerer_count = getattr(args, "answer_workers", None)
        answerer_count = answer_workers_from_env(os.environ) if answerer_count is None else answerer_count
        if answerer_count < 0:
            raise ValueError(f"--answer-workers is a number of processes (0 or more), not {answerer_count}")
    except ValueError as exc:
        print(f"govbot serve: refusing to start: {exc}", file=sys.stderr)
        return 2
    queued = queued_platforms(os.environ, FRONT_ENDS if front_ends is None else front_ends)
    answerer_count = answerer_count if queued else 0  # nothing to queue: no worker to run
    if workers <= 1 and not answerer_count:  # 0 was "answers in threads of the one process": the same as 1 today
        return _serve(args, front_ends, webchat, None)
    queue_path = Path(getattr(args, "db", None) or default_path()) / QUEUE_FILE
    answerers = None
    if answerer_count:
        released = partial(_release, queue_path)
        answerers = Answerers(answerer_count, lambda run_dir: _answer(args, queue_path, run_dir, queued), released)
    try:
        return supervise(
            max(workers, 1),
            args.host,
            args.port,
            lambda listener: _serve(args, front_ends, webchat, listener, queue_path if answerer_count else None),
            shutdown_timeout=SHUTDOWN_TIMEOUT,
            answerers=answerers,
        )
    except OSError as exc:  # the port is taken, or the platform cannot share it
        print(f"govbot serve: refusing to start: {exc}", file=sys.stderr)
        return 2


def _release(path: Path, pid: int | None) -> None:
    """The supervisor gives a dead answer worker's questions back (all of them at start), its connection
    closed at once: a listener forked later must not inherit it."""
    queue = AnswerQueue(path)
    try:
        count = queue.release(pid) if pid is not None else queue.release_all()
    finally:
        queue.close()
    if count:
        log.warning("%d queued question(s) given back to the answer workers", count)


def _answer(args: Namespace, queue_path: Path, run_dir: Path, platforms: tuple[str, ...]) -> int:
    """One answer worker (bot/workers.py forks it at a lower priority): answers the questions `platforms`
    queued, and publishes what it answered for /metrics as a listener does."""
    kb = open_kb(getattr(args, "db", None), build=False)
    conv = Conversation(kb)
    queue = AnswerQueue(queue_path)
    metrics = Metrics(run_dir)
    metrics.attach(conv)
    stop = threading.Event()

    def publish() -> None:
        while not stop.wait(PUBLISH_EVERY):
            metrics.publish(conv.refreshes)

    publisher = threading.Thread(target=publish, name="govbot-answer-metrics", daemon=True)
    publisher.start()
    try:
        answerers = {name: importlib.import_module(f"{__package__}.{name}").answerer for name in platforms}
        return answering.serve(conv, queue, answerers)
    finally:
        stop.set()
        publisher.join()
        metrics.publish(conv.refreshes)
        queue.close()
        conv.close()


def _serve(
    args: Namespace,
    front_ends: tuple[str, ...] | None,
    webchat: bool | None,
    listener: Listener | None,
    queue_path: Path | None = None,
) -> int:
    """One whole service process: alone, or `listener` of several (only the first builds and announces);
    Slack and Teams questions go to the answer queue at `queue_path` when there is one."""
    production = os.environ.get("GOVBOT_ENV", "").strip().lower() == "production"
    if webchat is None:
        webchat = os.environ.get("GOVBOT_WEBCHAT", "1").strip() != "0"
    kb = open_kb(getattr(args, "db", None), build=False)
    run_dir = listener.run_dir if listener else None
    try:
        conv = Conversation(kb)
        queue = Intake(AnswerQueue(queue_path, limit_from_env())) if queue_path else None
        app = create_app(
            conv, webchat=webchat, production=production, front_ends=front_ends, run_dir=run_dir, answer_queue=queue
        )
    except (ConfigError, ValueError) as exc:  # ValueError: a setting that does not parse (the message names it)
        print(f"govbot serve: refusing to start: {exc}", file=sys.stderr)
        return 2
    try:  # scheduled refreshes, digests and their delivery (docs/subscriptions.md)
        app.cleanup_ctx.append(subscriptions_service(app, kb, conv, args))
    except ValueError as exc:
        print(f"govbot serve: refusing to start: {exc}", file=sys.stderr)
        return 2
    port = listener.port if listener else args.port
    what = "web chat" if webchat else "service"
    banner = banner_line(what, _url(args.host, port), f"{args.host}:{port}", sys.stdout.isatty())
    first = listener is None or listener.index == 0
    # The banner comes last, once the port is bound and the start-up build is over, whichever ends first.
    waiting = {"listening", "built"} if first else {"listening"}

    def step(done: str) -> None:
        # What start-up built lives as long as the process: out of the collector's sight, a full collection
        # under load scans only what requests made (it took tens of ms with ~100,000 objects tracked).
        gc.freeze()
        if done == "listening":
            log.info("listening on %s:%s", args.host, port)
            if listener is not None:
                listener.listening.set()
        waiting.discard(done)
        if not waiting and first:
            print(banner, flush=True)

    if first:  # the others answer as soon as it is built (each reader follows the current version)
        app.cleanup_ctx.append(build_on_start(kb.ensure, announce=lambda: step("built")))
    reuse = listener is not None
    serve(app, args.host, port, shutdown_timeout=SHUTDOWN_TIMEOUT, ready=lambda: step("listening"), reuse_port=reuse)
    if queue is not None:
        queue.close()
    conv.close()
    return 0
