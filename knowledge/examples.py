"""The example questions users are shown (help, the web chat, Slack's App Home, the Teams welcome).

They are the candidates of `phrases.EXAMPLE_CANDIDATES` that the loaded knowledge answers directly,
chosen once per knowledge version: an example that leads to "I don't know", a question back or "my
sources name no owner" would show the product at its worst.
"""

from __future__ import annotations

from collections.abc import Callable

from .model import Answer
from .phrases import EXAMPLE_CANDIDATES

__all__ = ["choose", "is_direct", "SHOWN"]

SHOWN = 5  # examples shown at most: more would push the input box off a phone's screen
MIN_CONFIDENCE = 0.8  # under this, the match itself is a guess
# What an answer of these intents must hold to answer the question asked (field keys are language-neutral):
# "who owns X?" answered with X's description but no owner is not an answer.
DIRECT_FIELDS: dict[str, tuple[str, ...]] = {"owner": ("owners", "people"), "status": ("status", "progress")}


def is_direct(answer: Answer) -> bool:
    """True when `answer` answers from records, surely, with what its intent asks for."""
    if not answer.answered or answer.confidence < MIN_CONFIDENCE:
        return False
    needed = DIRECT_FIELDS.get(answer.intent)
    return needed is None or any(answer.fields.get(key) for key in needed)


def choose(ask: Callable[[str], Answer], lang: str) -> list[str]:
    """The first SHOWN candidates in `lang` that `ask` answers directly, in that language."""
    chosen: list[str] = []
    for question in EXAMPLE_CANDIDATES.get(lang, EXAMPLE_CANDIDATES["fr"]):
        answer = ask(question)
        if answer.lang == lang and is_direct(answer):
            chosen.append(question)
            if len(chosen) == SHOWN:
                break
    return chosen
