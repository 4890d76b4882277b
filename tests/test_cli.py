"""The govbot command line, as an admin and a user would type it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import build_parser, main
from tests.conftest import TEST_SOURCE


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_refresh_then_ask_then_stats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "kb")
    code, out, _ = run(capsys, "refresh", "--db", db, "--no-bundled", "--source", str(TEST_SOURCE))
    assert code == 0 and "objectives: 7" in out
    code, out, _ = run(capsys, "--db", db, "ask", "qui", "pilote", "le", "programme", "Atlas", "?")
    assert code == 0
    assert out.splitlines()[0] == "Programme Atlas"
    assert "→ Schéma directeur SI du GHT Exemple 2024-2027 <https://example.org/ght/schema-directeur>" in out
    code, out, _ = run(capsys, "ask", "--db", db, "--json", "obj 12")
    assert json.loads(out)["results"][0]["id"] == "12"
    code, out, _ = run(capsys, "stats", "--db", db, "--json")
    assert json.loads(out)["counts"]["objectives"] == 7


def test_refresh_with_a_broken_source_prints_every_error_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "kb")
    assert run(capsys, "refresh", "--db", db, "--no-bundled", "-s", str(TEST_SOURCE))[0] == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("objectives:\n  - {id: '1', title: A, status: bof}\n  - {title: B}\n", encoding="utf-8")
    code, out, err = run(capsys, "refresh", "--db", db, "--no-bundled", "-s", str(TEST_SOURCE), "-s", str(bad))
    assert code == 1 and out == ""
    assert "Refresh refused (4 problem(s)); the previous knowledge is unchanged:" in err
    assert f"{bad}, objectives[0] (id '1'), field 'status': unknown status 'bof'" in err
    assert run(capsys, "ask", "--db", db, "obj 12")[1].startswith("Objectif 12")


def test_first_use_builds_from_the_bundled_sources(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "ask", "--db", str(tmp_path / "fresh"), "qui dirige l'ANS ?")
    assert code == 0 and "Building the knowledge base" in err
    assert "ANS — Agence du numérique en santé" in out


def test_python_dash_m_bot_is_the_same_program(tmp_path: Path) -> None:
    db = tmp_path / "kb"
    subprocess.run(
        [sys.executable, "-m", "bot", "refresh", "--db", str(db), "--no-bundled", "-s", str(TEST_SOURCE)],
        check=True,
        capture_output=True,
    )
    done = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "--db", str(db), "--json", "who owns objective 12?"],
        check=True,
        capture_output=True,
        text=True,
    )
    answer = json.loads(done.stdout)
    assert answer["intent"] == "owner" and answer["lang"] == "en"


def test_ask_does_not_import_chat_sdks(tmp_path: Path) -> None:
    """`govbot ask` must start fast: the Slack and Teams SDKs load only for the commands that need them."""
    db = tmp_path / "kb"
    main(["refresh", "--db", str(db), "--no-bundled", "-s", str(TEST_SOURCE)])
    code = (
        f"import sys; from bot.cli import main; main(['ask', '--db', {str(db)!r}, 'obj 12']); "
        "print([m for m in sys.modules if m.split('.')[0] in ('slack_bolt', 'slack_sdk', 'botbuilder', 'aiohttp')])"
    )
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_front_ends_import_neither_the_cli_nor_the_server() -> None:
    """No import cycle: settings and the knowledge live in bot.settings, which every command shares."""
    code = "import sys, bot.slack, bot.teams, bot.web; print(sorted(set(sys.modules) & {'bot.cli', 'bot.server'}))"
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert done.stdout.strip() == "[]"


def test_serve_and_slack_listen_on_the_same_port_by_default() -> None:
    parser = build_parser()
    assert parser.parse_args(["serve"]).port == parser.parse_args(["slack"]).port == 3978


def test_chat_answers_each_line_until_end_of_input(tmp_path: Path) -> None:
    db = tmp_path / "kb"
    main(["refresh", "--db", str(db), "--no-bundled", "-s", str(TEST_SOURCE)])
    done = subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--db", str(db)],
        input="obj 12\nqui pilote Atlas ?\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0
    assert "Objectif 12 — Interopérabilité" in done.stdout and "Programme Atlas" in done.stdout
