"""The values the core hands out (Answer, RefreshReport) and the vocabulary of the source format."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from .phrases import label, problem_text, report_text

__all__ = [
    "Answer",
    "RefreshReport",
    "SourceProblem",
    "SourceErrors",
    "RECORD_TYPES",
    "ENTITY_KINDS",
    "PERSON_FIELDS",
    "LIST_FIELDS",
    "STATUSES",
    "INTENTS",
]

INTENTS = ("status", "owner", "decisions", "list", "changes", "about", "passage", "help", "unknown")

# Objective status buckets (knowledge/vocabulary.py maps the words admins write to them).
STATUSES = ("not_started", "in_progress", "late", "on_hold", "postponed", "done", "dropped")

# The fields each record type knows; anything else is kept as an extra field.
RECORD_TYPES: dict[str, tuple[str, ...]] = {
    "actors": ("id", "name", "kind", "role", "parent", "people", "aliases", "url"),
    "axes": ("id", "title", "summary", "aliases", "url"),
    "objectives": (
        "id",
        "axis",
        "priority",
        "title",
        "description",
        "owners",
        "status",
        "progress",
        "due",
        "updated",
        "aliases",
        "url",
    ),
    "decisions": (
        "id",
        "council",
        "date",
        "title",
        "summary",
        "owners",
        "objectives",
        "amount",
        "status",
        "aliases",
        "url",
    ),
    "councils": ("id", "name", "number", "date", "place", "participants", "summary", "aliases", "url"),
    "programmes": ("id", "name", "owners", "budget", "start", "end", "summary", "aliases", "url"),
    "reports": ("id", "published", "title", "url", "statuses"),
    "documents": ("url", "path", "title", "published", "format"),
}
# The kinds stored as records with ids (documents are split into passages instead): the one list of them.
ENTITY_KINDS: tuple[str, ...] = tuple(kind for kind in RECORD_TYPES if kind != "documents")
# The fields of one person on an actor: a tenure is `since` and `until` ("unknown" = left, end not dated),
# or `dates: unknown` when no source dates it.
PERSON_FIELDS = ("name", "title", "since", "until", "dates")
# Fields every record may carry: a second opinion and the sources behind it.
COMMON_FIELDS = ("sources", "disputed")
LIST_FIELDS = frozenset({"owners", "aliases", "objectives", "people", "statuses", "sources"})
DATE_FIELDS = frozenset({"due", "updated", "date", "start", "end", "published"})


@dataclass
class Answer:
    """What the bot says, platform-free. Front ends render it; `to_dict()` is the JSON contract.

    `fields` are keyed by a name that does not depend on the language ("status", "owners", or a source's
    own extra field name); `labelled_fields()` gives them with their label in the answer's language.
    """

    intent: str
    lang: str
    title: str
    text: str
    fields: dict[str, str] = field(default_factory=dict)
    sources: list[dict[str, str]] = field(default_factory=list)
    confidence: float = 0.0
    choices: list[dict[str, str]] = field(default_factory=list)
    results: list[dict[str, str]] = field(default_factory=list)
    details: str = ""  # the whole text when `text` is shortened: front ends offer it behind "More"

    @property
    def answered(self) -> bool:
        """True when the bot answered from records, rather than help, a question back or "I don't know"."""
        return self.intent not in ("unknown", "help") and not self.choices and bool(self.results)

    def labelled_fields(self) -> list[tuple[str, str]]:
        """(label in the answer's language, value) for each field, in order."""
        return [(label(key, self.lang), value) for key, value in self.fields.items()]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    def to_text(self) -> str:
        """The one plain-text rendering the core offers (CLI, notifications, fallbacks)."""
        lines = [self.title] if self.title else []
        if self.details or self.text:
            lines.append(self.details or self.text)  # plain text has room for all of it
        lines += [f"  {name}: {value}" for name, value in self.labelled_fields()]
        lines += [f"  {i}. {c['label']}" for i, c in enumerate(self.choices, 1)]
        lines += [f"  → {s['title']} <{s['url']}>" for s in self.sources]
        return "\n".join(lines)


@dataclass(frozen=True)
class SourceProblem:
    """One problem in a source, precise enough to fix without reading code."""

    source: str
    message: str
    index: int | None = None
    record_id: str | None = None
    field: str | None = None
    record_type: str | None = None
    row: int | None = None  # the row of a table (CSV, sheet), counting the header as row 1
    tabular: bool = False  # `field` is then a column as the admin wrote it

    def __str__(self) -> str:
        return self.text("en")

    def text(self, lang: str = "en") -> str:
        """One line in the admin's language: where (file, record or row, field or column), then what."""
        return problem_text(self, lang)


class SourceErrors(Exception):
    """A refresh was refused: every problem found in the sources, reported together."""

    def __init__(self, problems: list[SourceProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class RefreshReport:
    """What a refresh did: per record type added/changed/removed, sources read, warnings, duration."""

    added: dict[str, int] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    sources: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    duration: float = 0.0
    version: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_text(self, lang: str = "en") -> str:
        return report_text(self, lang)
