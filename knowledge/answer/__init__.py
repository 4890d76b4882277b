"""Question + knowledge -> Answer, phrased in the asker's language. Never states what no record says.

`route.compose` picks the answer; one module per family of answers renders it: `records` (one record, by
kind), `lists`, `councils` (and their decisions), `changes`, `fallbacks` (passage, ask back, help and its
examples, "I don't know"); `common` holds what they share.
"""

from ..tuning import ANSWER_AT, ASK_AT
from .fallbacks import examples
from .route import compose

__all__ = ["compose", "examples", "ANSWER_AT", "ASK_AT"]
