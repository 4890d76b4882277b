"""`govbot serve --workers N`: N whole service processes listening on one port, so acks and answers use
every core.

Each process is the complete service (its own event loop, front ends and knowledge reader). They share
the port through SO_REUSEPORT: the kernel spreads new connections over them, and a process that dies
takes only its own connections with it. What must be one for the whole service is kept in SQLite beside
the knowledge, which every process opens: rate limits (`ratelimit.SharedRateLimiter`), the duplicate
filter and the question log (`questionlog`), subscriptions and the outbox (`state`). `/metrics` sums
every process's figures through small files in a run directory (`metrics.Metrics.share`).

This process only supervises: it reserves the port, forks the listeners before it has any thread or
open database (so a fork copies nothing shared), restarts one that dies, and on SIGTERM or Ctrl-C asks
them all to finish their requests in flight, then waits for them.

It also forks the answer workers (GOVBOT_ANSWER_WORKERS, bot/answerqueue.py): processes that answer the
questions listeners have queued, at a lower CPU priority (`ANSWER_NICE`), so that when the cores are
busy the scheduler runs acknowledgements first. One that dies gets its unfinished questions back
(`Answerers.released`) before it is replaced.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.synchronize import Event
from pathlib import Path
from types import FrameType

__all__ = ["Listener", "Answerers", "supervise", "reserve_port", "RESTART_PAUSE", "ANSWER_NICE"]

log = logging.getLogger("govbot.workers")

# Seconds between two restarts of the same listener: a process that dies at once must not spin the CPU.
RESTART_PAUSE = 1.0
# Seconds a listener has to come up (open the knowledge, mount the front ends, listen) before it is given up.
START_TIMEOUT = 60.0
# Added to an answer worker's nice value: its CPU weight becomes about a tenth of a listener's (Linux CFS
# weights 1024 at nice 0, 110 at nice 10), so a listener with an ack to send almost always runs first.
ANSWER_NICE = 10


@dataclass(frozen=True)
class Listener:
    """What one listening process is told: its number (0 builds the knowledge at start and prints the
    address), the port every listener shares, the run directory for metrics, and an event to set once
    it listens."""

    index: int
    port: int
    run_dir: Path
    listening: Event


def reserve_port(host: str, port: int) -> socket.socket:
    """A socket bound to host:port with SO_REUSEPORT, never listening: it resolves port 0 to a free port
    and holds it while listeners come and go (only listening sockets receive connections)."""
    if not hasattr(socket, "SO_REUSEPORT"):
        raise OSError("--workers above 1 needs SO_REUSEPORT (Linux, BSD, macOS); use --workers 1")
    family, kind, proto, _, address = socket.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except BaseException:
        sock.close()
        raise
    return sock


@dataclass(frozen=True)
class Answerers:
    """The answer workers to run beside the listeners: how many, what each runs (given the run directory,
    where it publishes its metrics like a listener), and what to call with a dead worker's pid (None at
    start: every worker of an earlier run is gone)."""

    count: int
    target: Callable[[Path], int]
    released: Callable[[int | None], None]


class _Stop:
    """Set by SIGTERM or SIGINT in the supervisor."""

    def __init__(self) -> None:
        self.asked = False

    def __call__(self, _signum: int, _frame: FrameType | None) -> None:
        self.asked = True


_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def _start(process: multiprocessing.process.BaseProcess) -> None:
    """Fork `process` with SIGTERM and SIGINT held back until it has handlers of its own (`_own_signals`):
    one sent to it in between would only set a flag in its copy of the supervisor's handler, and it would
    then run until killed."""
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        process.start()
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)


def _own_signals() -> None:
    # The supervisor's handlers were copied by the fork: until the process's loop installs its own, a
    # SIGTERM must stop this process, not set a flag in a copy of the supervisor.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)


def _child(target: Callable[[Listener], int], listener: Listener) -> None:
    _own_signals()
    raise SystemExit(target(listener))


def _answerer(target: Callable[[Path], int], run_dir: Path) -> None:
    _own_signals()
    os.nice(ANSWER_NICE)
    raise SystemExit(target(run_dir))


def supervise(
    count: int,
    host: str,
    port: int,
    target: Callable[[Listener], int],
    *,
    shutdown_timeout: float,
    answerers: Answerers | None = None,
) -> int:
    """Run `target` in `count` forked processes (and `answerers`) until SIGTERM or Ctrl-C; returns the exit code.

    A listener that exits before it listens (a setting that does not parse, a port taken) stops them all
    with its exit code: every other one would fail the same way.
    """
    context = multiprocessing.get_context("fork")
    reserved = reserve_port(host, port)
    bound = reserved.getsockname()[1]
    run_dir = Path(tempfile.mkdtemp(prefix="govbot-run-"))
    stop = _Stop()
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    slots: dict[int, tuple[multiprocessing.process.BaseProcess, Listener, float]] = {}
    workers: dict[int, tuple[multiprocessing.process.BaseProcess, float]] = {}

    def start(index: int) -> None:
        listener = Listener(index, bound, run_dir, context.Event())
        process = context.Process(target=_child, args=(target, listener), name=f"govbot-listener-{index}")
        _start(process)
        slots[index] = (process, listener, time.monotonic())

    def start_answerer(index: int) -> None:
        assert answerers is not None
        process = context.Process(target=_answerer, args=(answerers.target, run_dir), name=f"govbot-answerer-{index}")
        _start(process)
        workers[index] = (process, time.monotonic())

    def replace_dead_answerers() -> None:
        for index, (process, started) in list(workers.items()):
            if process.is_alive() or stop.asked or answerers is None:
                continue
            log.warning(
                "answer worker %d (pid %s) exited with %s: starting another", index, process.pid, process.exitcode
            )
            answerers.released(process.pid)
            time.sleep(max(0.0, RESTART_PAUSE - (time.monotonic() - started)))
            start_answerer(index)

    code = 0
    try:
        if answerers is not None:
            answerers.released(None)
        start(0)
        log.info(
            "%d listening processes on port %d (the first, pid %s, before the others)", count, bound, slots[0][0].pid
        )
        while not stop.asked:
            sentinels = [process.sentinel for process, _, _ in slots.values()]
            sentinels += [process.sentinel for process, _ in workers.values()]
            multiprocessing.connection.wait(sentinels, timeout=0.5)
            # The other processes start once the first listens: it has then created the knowledge
            # directory's SQLite files, which two processes must not create at the same instant (switching
            # a new file to WAL fails with "database is locked" while another opens it).
            if stop.asked:  # asked while waiting: start nothing more
                break
            if len(slots) < count and slots[0][1].listening.is_set():
                for index in range(1, count):
                    start(index)
            if answerers is not None and not workers and all(lis.listening.is_set() for _, lis, _ in slots.values()):
                for index in range(answerers.count):
                    start_answerer(index)
            replace_dead_answerers()
            for index, (process, listener, started) in list(slots.items()):
                if process.is_alive() or stop.asked:
                    continue
                if not listener.listening.is_set():
                    log.error("listener %d exited with %s before listening: stopping", index, process.exitcode)
                    code = process.exitcode or 1
                    stop.asked = True
                    break
                log.warning(
                    "listener %d (pid %s) exited with %s: starting another", index, process.pid, process.exitcode
                )
                time.sleep(max(0.0, RESTART_PAUSE - (time.monotonic() - started)))
                start(index)
            for index, (process, listener, started) in slots.items():
                waited = time.monotonic() - started
                if process.is_alive() and not listener.listening.is_set() and waited > START_TIMEOUT:
                    log.error("listener %d not listening after %.0f s: stopping", index, waited)
                    code, stop.asked = 1, True
    finally:
        processes = [process for process, _, _ in slots.values()] + [process for process, _ in workers.values()]
        for process in processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: each finishes its requests in flight (server.SHUTDOWN_TIMEOUT)
        deadline = time.monotonic() + shutdown_timeout + 5
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        reserved.close()
        with contextlib.suppress(OSError):
            shutil.rmtree(run_dir)
    return code
