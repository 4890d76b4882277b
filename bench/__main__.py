"""`python -m bench`: answer quality, speed and scale, then the service under load, one table each.

Each section is bounded (fixed question set, time budgets per size and per load level) and a section that
breaks is reported and skipped, so the others still run; the exit code is 1 only when a section broke.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback

from . import eval as quality
from . import load, speed
from .machine import describe

SECTIONS = ("eval", "speed", "load")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=SECTIONS, help="run only this section (repeatable)")
    parser.add_argument("--quick", action="store_true", help="smoke mode: 10 questions, 1x only, 1 s load levels")
    parser.add_argument("--sizes", default="1,10,100", help="speed: sizes to measure (default 1,10,100)")
    parser.add_argument("--duration", type=float, default=10.0, help="load: seconds per level (max 60)")
    parser.add_argument("--limit", type=int, help="eval: evaluate an evenly spread sample of N questions")
    parser.add_argument(
        "--workers", type=int, default=1, help="load: the service's listening processes (govbot serve --workers)"
    )
    parser.add_argument(
        "--answer-workers",
        type=int,
        metavar="K",
        help="load: processes answering Slack and Teams questions apart from the listeners (govbot serve "
        "--answer-workers; default: the service's own)",
    )
    parser.add_argument(
        "--answer-cache",
        type=int,
        metavar="N",
        help="load: answers each server process keeps (GOVBOT_ANSWER_CACHE; 0: off; default: the service's own)",
    )
    parser.add_argument(
        "--set",
        action="append",
        choices=("dev", "test", "test-region", "held"),
        dest="sets",
        help="eval: question set (repeatable; default dev and test side by side; test = test.yaml and test-region.yaml;"
        " held = a blind set never tuned on, figures only)",
    )
    parser.add_argument(
        "--list-test",
        action="store_true",
        help="eval: also print the test sets' per-question lists (never while tuning: the test set is read as figures)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    chosen = args.only or list(SECTIONS)
    print(describe())
    print(f"command: python -m bench {' '.join(argv if argv is not None else sys.argv[1:])}".rstrip())
    broken = []
    for name in SECTIONS:
        if name not in chosen:
            continue
        started = time.perf_counter()
        try:
            if name == "eval":
                quality.run(
                    limit=args.limit or (10 if args.quick else None),
                    sets=tuple(args.sets or ("dev", "test")),
                    list_test=args.list_test,
                )
            elif name == "speed":
                sizes = (1,) if args.quick else tuple(int(s) for s in args.sizes.split(","))
                speed.run(quick=args.quick, sizes=sizes)
            else:
                load.run(
                    duration=1.0 if args.quick else min(args.duration, 60.0),
                    quick=args.quick,
                    workers=args.workers,
                    answer_workers=args.answer_workers,
                    cache=args.answer_cache,
                )
        except Exception:  # one broken section must not hide the others' figures
            traceback.print_exc()
            broken.append(name)
        print(f"({name} took {time.perf_counter() - started:.1f} s)", flush=True)
    if broken:
        print(f"sections that broke: {', '.join(broken)}", file=sys.stderr)
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
