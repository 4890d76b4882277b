"""The listening socket under abuse: slow clients, too many connections, version banners and header echoes.

aiohttp has a keep-alive timer but no deadline for headers or bodies and no connection cap, so a client
that sends one byte a second, or simply opens hundreds of connections, holds them for ever. Here:

- a request's headers must be complete within `Limits.idle` seconds of the connection opening or of the
  previous response (aiohttp's keep-alive timer, which also closes idle keep-alive connections);
- its body must be read within `Limits.body` seconds of its headers (`read_body`, called by the server's
  middleware), else 408 and the connection is closed (after at most `Limits.linger` s of draining);
- past `Limits.connections` open connections, a new one gets a 503 and is closed at once, so the ones
  already open, health probes included, keep being served;
- no response names the aiohttp or Python version, and the protocol's log line for a malformed request
  never carries the offending header (an oversized `Cookie` would otherwise be logged whole).

`start` and `serve` are the only ways the service listens, so tests exercise the same socket as production.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web, web_response
from aiohttp.http_exceptions import HttpProcessingError

__all__ = ["Limits", "LIMITS", "SERVER_NAME", "GuardedSite", "read_body", "harden", "start", "serve"]

SERVER_NAME = "govbot"
_REFUSED_BODY = b"503: too many connections\n"
_REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nRetry-After: 5\r\nConnection: close\r\n"
    b"Server: %s\r\nContent-Length: %d\r\n\r\n%s" % (SERVER_NAME.encode(), len(_REFUSED_BODY), _REFUSED_BODY)
)


@dataclass(frozen=True)
class Limits:
    """Deadlines (seconds) and the connection cap; tests shorten them."""

    # Headers within 15 s of connecting (a browser sends them at once), and idle keep-alive for as long.
    idle: float = 15.0
    # A 1 MiB body within 30 s is 35 kB/s: a slow mobile link, not a drip.
    body: float = 30.0
    # Each open connection costs a file descriptor and ~10 kB: 1,000 is far past a bot's real traffic.
    connections: int = 1000
    # After answering a request whose body was not read (408, 413), its rest is drained this long so the
    # client reads the answer; aiohttp's 10 s default would let a drip hold the connection that long.
    linger: float = 1.0


LIMITS = web.AppKey("govbot.http.limits", Limits)


async def read_body(request: web.Request) -> web.StreamResponse | None:
    """Read the whole body within the deadline (handlers then get it from aiohttp's cache); a 408 if not."""
    if not request.body_exists:
        return None
    try:
        async with asyncio.timeout(request.app[LIMITS].body):  # not wait_for: that costs a task per request
            await request.read()
    except TimeoutError:
        response = web.Response(status=408, text="408: request body too slow\n")
    except ConnectionResetError:  # the client went away mid-body: nothing to answer, nothing to log
        response = web.Response(status=400, text="400: connection lost\n")
    else:
        return None
    response.force_close()
    return response


class _QuietParseErrors(logging.Filter):
    """aiohttp logs a malformed request with its exception, whose text quotes the bad header: keep the kind only."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            record.msg = "malformed HTTP request refused (%s)"
            record.args = (type(exc).__name__,)
            record.exc_info = None
            record.exc_text = None
        return True


async def _name_server(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["Server"] = SERVER_NAME


def harden(app: web.Application, limits: Limits) -> None:
    """Install the limits, the server name and the log filter on `app` (the connection-level parts are in start)."""
    app[LIMITS] = limits
    app.on_response_prepare.append(_name_server)
    # Responses made by the protocol itself (400 for a malformed request) read this default, not the signal.
    web_response.SERVER_SOFTWARE = SERVER_NAME  # type: ignore[attr-defined]
    quiet = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, _QuietParseErrors) for f in quiet.filters):
        quiet.addFilter(_QuietParseErrors())


class _Refuse(asyncio.Protocol):
    """Answers 503 to a connection over the cap and closes it, without reading anything."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.write(_REFUSAL)
        transport.close()


class GuardedSite(web.TCPSite):
    """A TCP site whose connections are capped: over `limit`, new connections are refused with a 503."""

    def __init__(self, runner: web.AppRunner, host: str, port: int, limit: int, **kwargs: object) -> None:
        super().__init__(runner, host, port, **kwargs)  # type: ignore[arg-type]
        self.limit = limit
        self.refused = 0

    def _protocol(self) -> asyncio.Protocol:
        server = self._runner.server
        assert server is not None
        if len(server.connections) >= self.limit:
            self.refused += 1
            return _Refuse()
        return server()

    async def start(self) -> None:
        await web.BaseSite.start(self)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._protocol,
            self._host,
            self._port,
            backlog=self._backlog,
            reuse_address=self._reuse_address,
            reuse_port=self._reuse_port,
        )
        self._bound_port = self._server.sockets[0].getsockname()[1] if self._server.sockets else self._port


async def start(
    app: web.Application, host: str, port: int, *, shutdown_timeout: float = 60.0, reuse_port: bool = False
) -> tuple[web.AppRunner, GuardedSite]:
    """Listen on host:port with the app's limits (see `harden`); returns the runner (to clean up) and the site.

    `reuse_port`: share the port with the service's other listening processes (bot/workers.py)."""
    limits = app.get(LIMITS) or Limits()
    runner = web.AppRunner(
        app,
        access_log=None,
        keepalive_timeout=limits.idle,
        lingering_time=limits.linger,
        shutdown_timeout=shutdown_timeout,
        handle_signals=False,
    )
    await runner.setup()
    site = GuardedSite(runner, host, port, limits.connections, reuse_port=reuse_port or None)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner, site


def serve(
    app: web.Application,
    host: str,
    port: int,
    *,
    shutdown_timeout: float,
    ready: Callable[[], None],
    reuse_port: bool = False,
) -> None:
    """`web.run_app` with a guarded site: serve until SIGTERM or Ctrl-C, then let requests in flight finish."""

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        runner, _site = await start(app, host, port, shutdown_timeout=shutdown_timeout, reuse_port=reuse_port)
        try:
            ready()
            await stop.wait()
        finally:
            await runner.cleanup()  # stops listening, then waits for the requests in flight

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
