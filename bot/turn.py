"""The values one conversation turn is made of, whatever the platform.

A front end builds a `Turn` from its event (who asked, where, what they typed or clicked), hands it to
`Conversation.handle`, and renders the one `Reply` it gets back. Button payloads are `Action` values,
written and read here only (`payload`, `read_action`), so no front end parses another's strings.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from knowledge import Answer

__all__ = [
    "Action",
    "Choice",
    "Feedback",
    "Kind",
    "More",
    "Reply",
    "Share",
    "Turn",
    "payload",
    "payload_json",
    "read_action",
    "PAYLOAD_TEXT",
]

PAYLOAD_TEXT = 500  # characters of a question a button carries: platforms cap button values


@dataclass(frozen=True)
class Choice:
    """A clicked choice: ask `query` (always a question, never a command)."""

    query: str


@dataclass(frozen=True)
class Feedback:
    """👍 / 👎 on the answer to `question`."""

    value: Literal["up", "down"]
    question: str


@dataclass(frozen=True)
class Share:
    """Post an answer already given again, for everyone (Slack's private answers): not a new question."""

    question: str


@dataclass(frozen=True)
class More:
    """The whole answer to `question`, for a platform that showed it cut: not a new question either."""

    question: str


Action = Choice | Feedback | Share | More

# The one spelling of each action in a button payload: {key: text} (+ "question" for feedback).
_KEYS: dict[type, str] = {Choice: "choice", Share: "share", More: "more"}


def payload(action: Action) -> dict[str, str]:
    """The JSON object a button carries for `action` (texts cut to PAYLOAD_TEXT)."""
    if isinstance(action, Feedback):
        return {"feedback": action.value, "question": action.question[:PAYLOAD_TEXT]}
    key = _KEYS[type(action)]
    return {key: (action.query if isinstance(action, Choice) else action.question)[:PAYLOAD_TEXT]}


def payload_json(action: Action) -> str:
    """`payload` as a string, for platforms whose button values are strings (Slack)."""
    return json.dumps(payload(action), ensure_ascii=False)


def read_action(raw: str | dict[str, Any] | None) -> Action | None:
    """The action a button payload (a JSON string or an object) stands for; None when it is none of ours."""
    try:
        data = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    texts = {k: v[:PAYLOAD_TEXT] for k, v in data.items() if isinstance(v, str)}
    if texts.get("feedback") in ("up", "down"):
        return Feedback("up" if texts["feedback"] == "up" else "down", texts.get("question", ""))
    if texts.get("choice"):
        return Choice(texts["choice"])
    if texts.get("share"):
        return Share(texts["share"])
    if texts.get("more"):
        return More(texts["more"])
    return None


@dataclass(frozen=True)
class Turn:
    """One thing a person did: typed `text`, or clicked a button (`action`).

    `user` keys the rate limits and the question log (salted there); `where` names the conversation
    (a channel, a chat, a browser) for what is remembered per place; `admin` is decided by the front
    end from an identity its platform authenticated (Slack's signed user id, Teams' AAD object id, the
    web chat's signed visitor id).
    """

    platform: str
    user: str
    where: str = ""
    text: str = ""
    action: Action | None = None
    admin: bool = False
    # For subscriptions (docs/subscriptions.md): a one-to-one conversation, and what the platform needs to
    # post to `where` later unprompted ({} when `where` is enough; None when it cannot, e.g. Teams with no
    # app id, or a web visitor without a signed id).
    direct: bool = False
    reach: Mapping[str, Any] | None = None


class Kind(StrEnum):
    """What a reply is; front ends pick their rendering from it."""

    ANSWER = "answer"  # `answer` holds it (help and greetings included)
    ADMIN = "admin"  # an admin command's output; a refresh also has `background` work
    THANKS = "thanks"  # feedback recorded
    REFUSED = "refused"  # an admin command from someone who is not an admin
    RATE_LIMITED = "rate_limited"
    NOT_READY = "not_ready"  # the first build of the knowledge is still running
    ERROR = "error"  # something failed; `ref` is also in the logs


@dataclass(frozen=True)
class Reply:
    """The one value a turn returns. `text` is always what to say in plain words (for an answer, its
    plain-text rendering); `question` is what was asked (buttons under an answer carry it); `as_of` is
    the knowledge date an answer speaks for."""

    kind: Kind
    lang: str
    text: str
    answer: Answer | None = None
    question: str = ""
    as_of: str = ""
    ref: str = ""
    background: Callable[[], Awaitable[str]] | None = None

    @property
    def private(self) -> bool:
        """Only the asker should see it (in a channel): everything but an answer."""
        return self.kind is not Kind.ANSWER
