"""An answer worker's life (`govbot serve --answer-workers K`, bot/workers.py forks it): take the questions
listeners queued (bot/answerqueue.py), answer them and post the replies, until SIGTERM or SIGINT.

Each job names its platform; the platform's module (bot/slack.py, bot/teams.py) gives the `Answerer` that
answers one job and posts its reply. Several jobs are in flight at once: posting waits on the network, not
the CPU. A job is done once its reply is posted (`sent`), or once its answerer gave up on it: a refresh it
started runs on and is never started twice, and a job that cannot be answered never comes back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from functools import partial
from typing import Any

from .answerqueue import AnswerQueue
from .conversation import Conversation

__all__ = ["Answerer", "Platform", "serve", "answer", "ANSWERS_AT_ONCE"]

log = logging.getLogger("govbot.answering")

# (the job, call once its reply is posted) -> None; logs what goes wrong rather than raising
Answerer = Callable[[dict[str, Any], Callable[[], None]], Awaitable[None]]
# What a platform module gives: given the conversation, an answerer for the worker's life (its HTTP clients)
Platform = Callable[[Conversation], AbstractAsyncContextManager[Answerer]]

ANSWERS_AT_ONCE = 16  # jobs one worker has in flight: enough to cover the posts' round trips
# Seconds an idle worker sleeps between looks at the queue, doubling from the first to the most.
POLL_FIRST, POLL_MOST = 0.002, 0.05
# Jobs queued before they named their platform were Slack's, the only platform queued then.
DEFAULT_PLATFORM = "slack"


def serve(conv: Conversation, queue: AnswerQueue, platforms: Mapping[str, Platform]) -> int:
    """Answer queued jobs of `platforms` until SIGTERM or SIGINT; the jobs in flight are finished first."""
    asyncio.run(_serve(conv, queue, platforms))
    return 0


async def _serve(conv: Conversation, queue: AnswerQueue, platforms: Mapping[str, Platform]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with contextlib.AsyncExitStack() as stack:
        answerers = {name: await stack.enter_async_context(make(conv)) for name, make in platforms.items()}
        await answer(queue, answerers, stop)


async def answer(queue: AnswerQueue, answerers: Mapping[str, Answerer], stop: asyncio.Event) -> None:
    """Take and answer jobs until `stop` is set (seen within POLL_MOST); then finish those in flight and
    mark them done."""
    in_flight: set[asyncio.Task[None]] = set()
    finished: set[int] = set()  # done, not yet deleted: the next `take` deletes them in its transaction
    # Set when a job is done, so an idle worker deletes it at once: it counts against the queue's bound.
    woken = asyncio.Event()

    def finish(job_id: int) -> None:
        finished.add(job_id)
        woken.set()

    owner, pause = os.getpid(), POLL_FIRST
    while not stop.is_set():
        room = ANSWERS_AT_ONCE - len(in_flight)
        if room <= 0:
            await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
            continue
        woken.clear()  # before the take: a job done after it wakes the wait below
        done = list(finished)
        finished.clear()
        taken = queue.take(owner, room, done)
        if not taken:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), pause)
            pause = min(pause * 2, POLL_MOST)
            continue
        pause = POLL_FIRST
        for job_id, job in taken:
            task = asyncio.create_task(_one(answerers, job, partial(finish, job_id)))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
            task.add_done_callback(lambda _, job_id=job_id: finish(job_id))
    if in_flight:
        await asyncio.wait(in_flight)
    if finished:
        queue.done(*finished)


async def _one(answerers: Mapping[str, Answerer], job: dict[str, Any], sent: Callable[[], None]) -> None:
    answerer = answerers.get(job.get("platform", DEFAULT_PLATFORM))
    if answerer is None:  # a platform no longer configured: nobody can answer it
        log.warning("a queued %s question dropped: that platform is not configured", job.get("platform"))
        return
    try:
        await answerer(job, sent)
    except Exception:  # an answerer's own failure: logged, and the job is done all the same
        log.exception("queued question not answered")
