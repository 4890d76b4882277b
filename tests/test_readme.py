"""The README and docs/ are the user's manual: their examples must load and answer as documented, their links
must lead somewhere, and every command they name must exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.cli import build_parser
from knowledge import KnowledgeBase

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = {p: p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").glob("*.md"))}
SOURCE_FORMAT = DOCS[ROOT / "docs" / "source-format.md"]


def block(text: str, language: str) -> str:
    found = re.findall(rf"```{language}\n(.*?)```", text, re.S)
    assert found, f"no {language} example"
    return found[0]


def code(text: str) -> list[str]:
    """The fenced blocks (but ```text outputs) and the inline `spans` of a Markdown page."""
    parts: list[str] = []
    prose: list[str] = []
    fence: list[str] | None = None
    language = ""
    for line in text.splitlines():
        if line.startswith("```") and fence is None:
            fence, language = [], line[3:].strip()
        elif line.startswith("```"):
            if language != "text":
                parts.append("\n".join(fence))
            fence = None
        elif fence is not None:
            fence.append(line)
        else:
            prose.append(line)
    return parts + re.findall(r"`([^`\n]+)`", "\n".join(prose))


def test_source_format_example_loads_and_answers(tmp_path: Path) -> None:
    (tmp_path / "plan.yaml").write_text(block(SOURCE_FORMAT, "yaml"), encoding="utf-8")
    (tmp_path / "copil-2.md").write_text("# Compte rendu\n\nLe comité a réuni 42 participants.\n", encoding="utf-8")
    kb = KnowledgeBase(tmp_path / "kb")
    report = kb.refresh([str(tmp_path / "plan.yaml")], bundled=False)
    assert report.warnings == []
    answer = kb.ask("où en est l'objectif 12 ?")
    assert answer.fields["status"] == "en retard" and answer.fields["referent"] == "Dr Leroy"
    assert kb.ask("qui pilote le programme Atlas ?").intent == "owner"


def test_source_format_csv_example_loads(tmp_path: Path) -> None:
    (tmp_path / "objectives.csv").write_text(block(SOURCE_FORMAT, "csv"), encoding="utf-8")
    kb = KnowledgeBase(tmp_path / "kb")
    kb.refresh([str(tmp_path / "objectives.csv")], bundled=False)
    assert kb.ask("objectif 2.10").fields["status"] == "en retard"


def test_readme_documents_every_cli_command() -> None:
    commands = build_parser()._subparsers._group_actions[0].choices  # noqa: SLF001 - argparse has no public API
    for name in commands:
        assert f"govbot {name}" in README or f"`{name}" in README, name


def test_every_command_the_manual_names_exists() -> None:
    commands = set(build_parser()._subparsers._group_actions[0].choices)  # noqa: SLF001
    for text in [README, *DOCS.values()]:
        # Commands appear in code (`spans` and fences, but not ```text outputs); prose, chat messages
        # (`/govbot help`, `@govbot …`) and host names are not commands.
        named = {m for part in code(text) for m in re.findall(r"(?<![@/\w])govbot ([a-z][a-z-]+)(?=[\s`]|$)", part)}
        assert named <= commands, named - commands


@pytest.mark.parametrize("page", [ROOT / "README.md", *DOCS], ids=lambda p: p.name)
def test_every_relative_link_leads_to_a_file(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    for target in re.findall(r"\]\((?!https?://)([\w./-]+)(?:#[\w-]*)?\)", text):
        assert (page.parent / target).exists(), f"{page.name} links to {target}"


def test_the_readme_is_read_to_the_end() -> None:
    assert len(README.splitlines()) < 250
