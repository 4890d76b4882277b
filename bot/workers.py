"""Answers computed in worker processes: they use every core, and never hold the GIL the event loop (and
so every ack) needs.

A worker only turns a question into an `Answer`, over its own reader of the same knowledge directory
(each reader follows the current version as refreshes move it). Everything that must be one for the
whole service stays in the main process: rate limits, the duplicate filter, the question log.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from knowledge import Answer, KnowledgeBase

__all__ = ["AnswerPool"]

_kb: KnowledgeBase | None = None  # the worker process's knowledge base


def _start(path: str) -> None:
    global _kb
    _kb = KnowledgeBase(path)


def _ask(question: str, roadmap: str) -> Answer:
    assert _kb is not None, "worker not started"
    return _kb.ask(question, roadmap)


class AnswerPool:
    """`ask(question)` in one of `workers` processes; blocks the calling thread (a worker thread) until done.

    Processes are spawned, not forked: the service has threads and open sockets a fork would copy.
    """

    def __init__(self, path: Path, workers: int):
        context = multiprocessing.get_context("spawn")
        self.executor = ProcessPoolExecutor(workers, mp_context=context, initializer=_start, initargs=(str(path),))
        for _ in range(workers):  # start them all now: the first questions must not wait for a spawn
            self.executor.submit(os.getpid)

    def ask(self, question: str, roadmap: str = "") -> Answer:
        return self.executor.submit(_ask, question, roadmap).result()

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
