"""The delivery loop: sends the outbox's pending digests through each platform's `send`, with backoff.

A front end gives one async `send(subscription, digest) -> Sent` and says what the platform answered:
delivered; retry later (429, 5xx, a timeout: `retry_after` when the platform says how long); or gone (the
channel no longer exists or removed the bot: Slack `channel_not_found`/`not_in_channel`, Teams 403/404,
Matrix `M_FORBIDDEN`), which pauses the subscription and tells the admins once.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from .digests import Digest, queue_notice
from .state import OutboxRow, State, Subscription

__all__ = ["Outcome", "Sent", "Sender", "deliver_due", "backoff", "MAX_ATTEMPTS"]

log = logging.getLogger("govbot.delivery")

# Backoff: 30 s doubling to one hour, about a day of attempts in all (a platform outage rarely lasts longer);
# then the digest is dropped as failed (it would be stale) and counted in the outbox figures.
FIRST_DELAY = 30.0
MAX_DELAY = 3600.0
MAX_ATTEMPTS = 30
# A platform's Retry-After is honoured up to this (a hostile or broken value must not park the outbox).
MAX_RETRY_AFTER = 6 * 3600.0
# Batches per call: a notice queued while delivering (a paused channel) goes out in the same call.
PASSES = 5


class Outcome(enum.Enum):
    DELIVERED = "delivered"
    RETRY = "retry"
    GONE = "gone"


@dataclass(frozen=True)
class Sent:
    outcome: Outcome
    reason: str = ""
    retry_after: float | None = None


Sender = Callable[[Subscription, Digest], Awaitable[Sent]]


def backoff(attempts: int) -> float:
    """Seconds before attempt `attempts + 1`."""
    return min(MAX_DELAY, FIRST_DELAY * 2 ** max(0, attempts - 1))


async def deliver_due(
    state: State, senders: Mapping[str, Sender], now: Callable[[], float] = time.time
) -> Counter[str]:
    """Send every digest due now; returns what happened (delivered / retry / gone / failed / raced)."""
    counts: Counter[str] = Counter()
    for _ in range(PASSES):
        rows = await asyncio.to_thread(state.due, now(), set(senders))
        if not rows:
            break
        for row in rows:
            await _deliver(state, senders, row, counts, now)
    return counts


async def _deliver(
    state: State, senders: Mapping[str, Sender], row: OutboxRow, counts: Counter[str], now: Callable[[], float]
) -> None:
    if not await asyncio.to_thread(state.claim, row.id):
        counts["raced"] += 1
        return
    digest = Digest.from_dict(row.payload)
    try:
        sent = await senders[row.subscription.platform](row.subscription, digest)
    except Exception as exc:  # a bug or an unexpected error in a sender: retried, never lost
        log.exception("sending digest %s failed", row.digest_id)
        sent = Sent(Outcome.RETRY, type(exc).__name__)
    if sent.outcome is Outcome.DELIVERED:
        await asyncio.to_thread(state.delivered, row.id)
    elif sent.outcome is Outcome.GONE:
        await asyncio.to_thread(state.gone, row.id, row.subscription.id, sent.reason)
        await asyncio.to_thread(_tell_admins_paused, state, row.subscription, sent.reason)
        log.warning("subscription %d paused: %s", row.subscription.id, sent.reason)
    else:
        attempts = row.attempts + 1
        wait = min(sent.retry_after, MAX_RETRY_AFTER) if sent.retry_after is not None else backoff(attempts)
        give_up = attempts >= MAX_ATTEMPTS
        await asyncio.to_thread(state.retry, row.id, now() + wait, sent.reason, give_up)
        log.warning("digest %s: %s, %s", row.digest_id, sent.reason, "dropped" if give_up else f"retry in {wait:.0f} s")
        counts["failed" if give_up else "retry"] += 1
        return
    counts[sent.outcome.value] += 1


def _tell_admins_paused(state: State, sub: Subscription, reason: str) -> None:
    queue_notice(
        state,
        f"paused:{sub.id}",
        "admin_subscription_paused",
        platform=sub.platform,
        channel=sub.channel,
        scope=f"{sub.scope_kind} {sub.scope_label}".strip(),
        reason=reason,
    )
