"""govbot's core: sourced knowledge in SQLite and question answering in French and English.

No chat SDK is imported here; front ends live in `bot`.
"""

from .kb import KnowledgeBase, default_path, default_sources
from .model import Answer, RefreshReport, SourceErrors, SourceProblem
from .store import KnowledgeMissing, RefreshBusy

__all__ = [
    "Answer",
    "default_path",
    "default_sources",
    "KnowledgeBase",
    "KnowledgeMissing",
    "RefreshBusy",
    "RefreshReport",
    "SourceErrors",
    "SourceProblem",
]
