"""The `govbot` command: ask, chat, refresh, stats, and the service commands (serve, slack, matrix, teams-package).

Chat SDKs are imported only by the commands that need them, so `govbot ask` starts fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from knowledge import KnowledgeBase, KnowledgeMissing, RefreshBusy, SourceErrors, default_path
from knowledge.phrases import say

from .settings import default_host, default_port, default_workers, open_kb
from .state import STATE_FILE, State

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="govbot", description="Answers questions on public governance, with sources.")
    parser.add_argument("--db", type=Path, help="knowledge directory (default: $GOVBOT_DB or ~/.local/share/govbot)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ask = sub.add_parser("ask", help="answer one question")
    ask.add_argument("question", nargs="+")
    ask.add_argument("--json", action="store_true", help="print the Answer as JSON")

    sub.add_parser("chat", help="chat in the terminal")

    refresh = sub.add_parser("refresh", help="rebuild the knowledge from the sources")
    refresh.add_argument("--source", "-s", action="append", default=[], help="a file, folder or URL (repeatable)")
    bundled = refresh.add_mutually_exclusive_group()
    bundled.add_argument(
        "--no-bundled", dest="bundled", action="store_false", default=None, help="leave the bundled knowledge out"
    )
    bundled.add_argument("--bundled", dest="bundled", action="store_true", help="put the bundled knowledge back in")
    refresh.add_argument(
        "--forget", action="store_true", help="drop the sources added by earlier refreshes (keep only --source)"
    )
    refresh.add_argument("--json", action="store_true", help="print the report as JSON")

    stats = sub.add_parser("stats", help="what the knowledge holds")
    stats.add_argument("--json", action="store_true")

    serve = sub.add_parser("serve", help="run the web service (web chat, Slack, Teams, health, metrics)")
    serve.add_argument(
        "--refresh-every",
        metavar="DURATION",
        help="refresh the knowledge every DURATION (30m, 6h, 1d); or GOVBOT_REFRESH_SCHEDULE (cron)",
    )
    slack = sub.add_parser("slack", help="run the Slack front end alone (the service with only Slack mounted)")
    slack.add_argument("--socket", action="store_true", help="Socket Mode (needs SLACK_APP_TOKEN)")
    for each in (serve, slack):
        each.add_argument("--host", default=default_host(), help="address to listen on")
        each.add_argument("--port", type=int, default=default_port())
        each.add_argument(
            "--workers", type=int, default=default_workers(), help="listening processes sharing the port (default: 1)"
        )
        each.add_argument(
            "--answer-workers",
            type=int,
            metavar="K",
            help="processes answering Slack and Teams questions apart from the listeners, at a lower priority "
            "(default: $GOVBOT_ANSWER_WORKERS, else 1; 0: each listener answers its own)",
        )

    matrix = sub.add_parser("matrix", help="run the Matrix (Tchap) front end alone")

    package = sub.add_parser("teams-package", help="build the Teams app package (zip)")
    package.add_argument("--app-id", required=True, help="the bot's Microsoft App ID")
    package.add_argument("--out", type=Path, default=Path("govbot-teams.zip"))
    for each in (ask, refresh, stats, serve, slack, matrix, package):
        each.add_argument("--db", type=Path, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    sub.choices["chat"].add_argument("--db", type=Path, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


def _ask(kb: KnowledgeBase, args: argparse.Namespace) -> int:
    answer = kb.ask(" ".join(args.question))
    print(answer.to_json() if args.json else answer.to_text())
    return 0


def _chat(kb: KnowledgeBase) -> int:
    print(say("chat_greeting", "fr"))
    while True:
        try:
            line = input("> ")
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if line.strip():
            print(kb.ask(line).to_text() + "\n")


def _refresh(args: argparse.Namespace) -> int:
    kb = KnowledgeBase(args.db or default_path())
    try:
        report = kb.refresh(args.source, bundled=args.bundled, forget=args.forget)
    except SourceErrors as exc:
        print(
            f"Refresh refused ({len(exc.problems)} problem(s)); the previous knowledge is unchanged:", file=sys.stderr
        )
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    except RefreshBusy as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) if args.json else report.to_text())
    return 0


def _stats(kb: KnowledgeBase, args: argparse.Namespace) -> int:
    info = kb.info()
    # Subscriptions and scheduled refreshes, once `govbot serve` has made its state database.
    service = State(kb.path).summary() if (kb.path / STATE_FILE).exists() else None
    if args.json:
        print(json.dumps({**info, "service": service}, ensure_ascii=False, indent=2))
        return 0
    print(f"Knowledge {info['version']} built {info['built_at']} (newest source date {info['latest_date']})")
    for kind, count in info["counts"].items():
        print(f"  {kind}: {count}")
    if service is not None:
        print(f"Subscriptions: {service['subscriptions']} (+{service['paused']} paused); digests: {service['outbox']}")
        if last := service["last_scheduled_refresh"]:
            failing = f" — {service['failed_in_a_row']} failed in a row" if service["failed_in_a_row"] else ""
            print(f"Last scheduled refresh: {last['outcome']} at {last['at']} {last['detail']}".rstrip() + failing)
    return 0


def _slack(args: argparse.Namespace) -> int:
    """Socket Mode on its own; HTTP mode is `govbot serve` with only Slack mounted (same guards and port)."""
    from .slack import config_problem, run_socket_mode

    if problem := config_problem(args.socket):
        print(problem, file=sys.stderr)
        return 2
    if args.socket:
        return run_socket_mode(args)
    from .server import main as serve

    return serve(args, front_ends=("slack",), webchat=False)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "refresh":
            return _refresh(args)
        if args.command == "serve":
            from .server import main as serve

            return serve(args)
        if args.command == "slack":
            return _slack(args)
        if args.command == "matrix":
            from .matrix import main as matrix

            return matrix(args)
        if args.command == "teams-package":
            from .teams_package import main as package

            return package(args)
        kb = open_kb(args.db)
        if args.command == "ask":
            return _ask(kb, args)
        if args.command == "chat":
            return _chat(kb)
        return _stats(kb, args)
    except SourceErrors as exc:
        print("The bundled knowledge could not be built:\n" + str(exc), file=sys.stderr)
        return 1
    except KnowledgeMissing as exc:
        print(str(exc), file=sys.stderr)
        return 1
