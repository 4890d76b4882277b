"""The README and docs/ are the user's manual: their examples must load and answer as documented, their links
must lead somewhere, and every command they name must exist."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from knowledge import KnowledgeBase

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = {p: p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").glob("*.md"))}
SOURCE_FORMAT = DOCS[ROOT / "docs" / "source-format.md"]


def block(text: str, language: str) -> str:
    found = re.findall(rf"```{language}\n(.*?)```", text, re.S)
    assert found, f"no {language} example"
    return found[0]


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


def _cli_commands() -> list[str]:
    """The sub-commands, as `govbot --help` lists them."""
    from bot.cli import build_parser

    listed = build_parser().format_help().split("positional arguments:")[1].split("options:")[0]
    return re.findall(r"^ {4}([a-z][a-z-]*)(?:\s|$)", listed, re.M)


def _documented_invocations() -> list[str]:
    """Every `govbot <command> …` of the README and docs/ (inline code and shell blocks), chat commands left out."""
    docs = [README, *DOCS.values()]
    spans = [span for text in docs for span in re.findall(r"`([^`\n]+)`", text)]
    spans += [
        line
        for text in docs
        for b in re.findall(r"```(?:sh|bash|console)\n(.*?)```", text, re.S)
        for line in b.splitlines()
    ]
    commands = _cli_commands()
    found = []
    for span in spans:
        match = re.match(r"(?:\.venv/bin/|/opt/govbot/bin/)?govbot ([a-z][a-z-]*)\b(.*)", span.strip())
        if match and match[1] in commands:  # `govbot stats` may also be a chat command: it must parse then
            found.append(match[1] + match[2].split("#")[0])
    return found


def _examples(usage: str) -> list[list[str]]:
    """Command lines a usage line allows: without its optional parts, then with each choice of each one."""
    usage = usage.replace("\\|", "|").replace("…", "")
    optional = re.findall(r"\[([^\[\]]*)\]", usage)
    bare = re.sub(r"\[[^\[\]]*\]", " ", usage)
    return [shlex.split(bare)] + [shlex.split(bare + " " + choice) for part in optional for choice in part.split("|")]


def test_every_documented_cli_command_is_accepted_by_the_parser() -> None:
    from bot.cli import build_parser

    invocations = _documented_invocations()
    for usage in invocations:
        if usage.strip() in _cli_commands():
            continue  # a bare name refers to the command (`govbot ask` answers one question)
        for argv in _examples(usage):
            try:
                build_parser().parse_args(argv)
            except SystemExit as exit:
                raise AssertionError(f"the documented `govbot {usage}` is refused as {argv}") from exit
    documented = {usage.split()[0] for usage in invocations}
    assert documented == set(_cli_commands()), set(_cli_commands()) - documented


@pytest.mark.parametrize("page", [ROOT / "README.md", *DOCS], ids=lambda p: p.name)
def test_every_relative_link_leads_to_a_file(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    for target in re.findall(r"\]\((?!https?://)([\w./-]+)(?:#[\w-]*)?\)", text):
        assert (page.parent / target).exists(), f"{page.name} links to {target}"


def test_the_readme_is_read_to_the_end() -> None:
    assert len(README.splitlines()) < 250
