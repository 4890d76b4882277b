"""The machine a benchmark ran on, printed above its figures (they mean little without it)."""

from __future__ import annotations

import os
import platform
import sqlite3
from pathlib import Path

__all__ = ["describe"]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _ram_gb() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GB RAM"
    except OSError:
        pass
    return "RAM unknown"


def describe() -> str:
    cpus = os.cpu_count() or 0
    return (
        f"machine: {cpus} CPU(s) (nproc {len(os.sched_getaffinity(0))}), {_cpu_model()}, {_ram_gb()}; "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {platform.system()} {platform.release()}"
    )
