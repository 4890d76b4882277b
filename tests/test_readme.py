"""The README is the user's manual: its source-format example must load and answer as documented."""

from __future__ import annotations

import re
from pathlib import Path

from knowledge import KnowledgeBase

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def block(language: str) -> str:
    found = re.findall(rf"```{language}\n(.*?)```", README, re.S)
    assert found, f"README has no {language} example"
    return found[0]


def test_readme_source_example_loads_and_answers(tmp_path: Path) -> None:
    (tmp_path / "plan.yaml").write_text(block("yaml"), encoding="utf-8")
    (tmp_path / "copil-2.md").write_text("# Compte rendu\n\nLe comité a réuni 42 participants.\n", encoding="utf-8")
    kb = KnowledgeBase(tmp_path / "kb")
    report = kb.refresh([str(tmp_path / "plan.yaml")], bundled=False)
    assert report.warnings == []
    answer = kb.ask("où en est l'objectif 12 ?")
    assert answer.fields["status"] == "en retard" and answer.fields["referent"] == "Dr Leroy"
    assert kb.ask("qui pilote le programme Atlas ?").intent == "owner"


def test_readme_csv_example_loads(tmp_path: Path) -> None:
    (tmp_path / "objectives.csv").write_text(block("csv"), encoding="utf-8")
    kb = KnowledgeBase(tmp_path / "kb")
    kb.refresh([str(tmp_path / "objectives.csv")], bundled=False)
    assert kb.ask("objectif 2.10").fields["status"] == "en retard"


def test_readme_documents_every_cli_command() -> None:
    from bot.cli import build_parser

    commands = build_parser()._subparsers._group_actions[0].choices  # noqa: SLF001 - argparse has no public API
    for name in commands:
        assert f"govbot {name}" in README or f"`{name}" in README, name
