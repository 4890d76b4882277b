"""The answers to the questions asked most, kept while the knowledge does not change.

An answer is a function of the question's text, the roadmap meant when it names none, and the knowledge
version: the key is exactly that (the text with its whitespace collapsed, nothing else normalised: the
language, and all the understanding, follow from the words). The knowledge version is read on every
call, the same way the knowledge's own reader notices a refresh, so an answer is never served from a
version that is gone, in any process; the whole cache is dropped when the version moves. Each process
has its own (answers are computed, not state: nothing needs sharing for them to be right), bounded to
`size` entries, least recently used out first. Answers are shared, never modified: front ends only read them.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from typing import Any

from knowledge import Answer, KnowledgeBase

__all__ = ["AnswerCache", "DEFAULT_SIZE", "size_from_env"]

# Entries per process: an answer is a few kB, so 1,000 cost a few MB; a governance bot's questions repeat
# (examples clicked, the same objective asked by a whole team), and distinct questions past that just miss.
DEFAULT_SIZE = 1000


def size_from_env() -> int:
    """GOVBOT_ANSWER_CACHE: answers kept per process (0 turns the cache off)."""
    raw = os.environ.get("GOVBOT_ANSWER_CACHE", "").strip()
    try:
        size = int(raw) if raw else DEFAULT_SIZE
    except ValueError:
        raise ValueError(f"GOVBOT_ANSWER_CACHE must be a number of answers, not {raw!r}") from None
    if size < 0:
        raise ValueError(f"GOVBOT_ANSWER_CACHE must be 0 or more, not {size}")
    return size


class AnswerCache:
    """`ask(question, roadmap=...)` like `KnowledgeBase.ask`, answering again from memory when it can."""

    def __init__(self, kb: KnowledgeBase, size: int):
        self.kb, self.size = kb, size
        self._lock = threading.Lock()
        self._answers: OrderedDict[tuple[str, str], Answer] = OrderedDict()
        # id of each answer held -> (that answer, its to_dict() once asked for)
        self._dicts: dict[int, tuple[Answer, dict[str, Any] | None]] = {}
        self._version = ""
        self.hits = self.misses = 0

    def holds(self, question: str, roadmap: str = "") -> bool:
        """Whether `ask` would answer from memory (KnowledgeMissing before the first build)."""
        if self.size == 0:
            return False
        version = self.kb.info()["version"]
        with self._lock:
            return version == self._version and (" ".join(question.split()), roadmap) in self._answers

    def ask(self, question: str, roadmap: str = "") -> Answer:
        if self.size == 0:
            return self.kb.ask(question, roadmap=roadmap)
        version = self.kb.info()["version"]  # KnowledgeMissing before the first build, as ask would raise
        key = (" ".join(question.split()), roadmap)
        with self._lock:
            if version != self._version:
                self._answers.clear()
                self._dicts.clear()
                self._version = version
            found = self._answers.get(key)
            if found is not None:
                self._answers.move_to_end(key)
                self.hits += 1
                return found
            self.misses += 1
        answer = self.kb.ask(question, roadmap=roadmap)
        with self._lock:
            # A refresh may have landed while it was computed: keep it only under the version it came from.
            if version == self._version:
                self._answers[key] = answer
                self._dicts[id(answer)] = (answer, None)
                if len(self._answers) > self.size:
                    _, gone = self._answers.popitem(last=False)
                    self._dicts.pop(id(gone), None)
        return answer

    def as_dict(self, answer: Answer) -> dict[str, Any]:
        """`answer.to_dict()`, computed once for an answer the cache holds (a new top-level dict each time:
        the caller may change its keys, never what they hold)."""
        with self._lock:
            found = self._dicts.get(id(answer))
        if found is None or found[0] is not answer:
            return answer.to_dict()
        body = found[1]
        if body is None:
            body = answer.to_dict()
            with self._lock:
                if id(answer) in self._dicts:  # still held (not evicted or dropped meanwhile)
                    self._dicts[id(answer)] = (answer, body)
        return dict(body)
