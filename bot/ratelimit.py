"""A per-key rate limiter that costs O(1) per call and holds at most `max_keys` keys.

Each key is a token bucket (a burst of `per_minute`, refilled at `per_minute` a minute), kept in an
insertion-ordered table: a key that is used moves to the end, and past `max_keys` the least recently used
key is forgotten. Forgetting a key only ever gives it a fresh quota, so the bound costs no safety for the
keys that matter (the busy ones stay at the end) and an attacker who floods keys gains nothing.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

__all__ = ["RateLimiter", "MAX_KEYS"]

# 100,000 buckets are about 15 MB: more distinct users a minute than a governance bot will ever see.
MAX_KEYS = 100_000


class RateLimiter:
    """`allow(key)` is True while `key` has quota; called from the event loop and from worker threads."""

    def __init__(
        self, per_minute: int, *, max_keys: int = MAX_KEYS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_minute = per_minute
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._buckets)

    def refund(self, key: str) -> None:
        """Give one use back (a refresh that failed: fixing a source and retrying is normal work)."""
        with self._lock:
            if key in self._buckets:
                tokens, at = self._buckets[key]
                self._buckets[key] = (min(float(self.per_minute), tokens + 1.0), at)

    def allow(self, key: str) -> bool:
        now = self._clock()
        rate = self.per_minute / 60.0
        with self._lock:
            tokens, at = self._buckets.pop(key, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - at) * rate)
            allowed = tokens >= 1.0
            self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
            return allowed
