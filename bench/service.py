"""Child processes for the benchmarks: a clean environment, `govbot` commands, `govbot serve` until ready."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "child_env",
    "govbot_command",
    "serve_missing",
    "Server",
    "serving",
    "free_port",
    "memory_mb",
    "cpu_seconds",
    "process_tree",
    "pss_mb",
]

_PRIVATE_PREFIXES = ("GOVBOT_", "SLACK_", "Microsoft", "MICROSOFT")


def child_env(**extra: str) -> dict[str, str]:
    """This environment without the developer's govbot, Slack or Teams settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_PRIVATE_PREFIXES)}
    env.update(extra)
    return env


def govbot_command() -> list[str]:
    """The installed `govbot` script next to this interpreter, else `python -m bot`."""
    script = Path(sys.executable).with_name("govbot")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


def serve_missing() -> str | None:
    """Why `govbot serve` cannot run yet, or None when bot/server.py is there."""
    if importlib.util.find_spec("bot.server") is None:
        return "bot/server.py does not exist yet (govbot serve is being written)"
    return None


def free_port() -> int:
    """An ephemeral loopback port, free when this returns."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def memory_mb(pid: int, field: str = "VmHWM") -> float | None:
    """A memory figure of a live process from /proc/<pid>/status (VmHWM = peak RSS, VmRSS = now), in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def pss_mb(pid: int) -> float | None:
    """A live process's proportional set size in MB: pages shared with other processes (a fork's parent and
    siblings) counted in shares, so the figures of a process tree add up to its real memory."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time a live process has used so far (from /proc/<pid>/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # After the command name: state is field 3, utime and stime are fields 14 and 15 (man 5 proc).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    """`pid` and its live descendants (`govbot serve --workers N`: the supervisor and its N listeners)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                queue += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    ready_seconds: float
    log: Path


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/readyz", timeout=1) as response:  # noqa: S310 (loopback)
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def serving(db: Path, env: dict[str, str], timeout: float = 30.0) -> Iterator[Server]:
    """`govbot serve` on a free loopback port, yielded once /readyz answers 200; stopped with SIGTERM after."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.NamedTemporaryFile(prefix="govbot-serve-", suffix=".log", delete=False) as log_file:
        log = Path(log_file.name)
        command = [*govbot_command(), "--db", str(db), "serve", "--host", "127.0.0.1", "--port", str(port)]
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        while not _ready(url):
            if process.poll() is not None:
                raise RuntimeError(f"govbot serve exited with {process.returncode}: {_tail(log)}")
            if time.perf_counter() - started > timeout:
                raise RuntimeError(f"govbot serve not ready after {timeout:.0f} s: {_tail(log)}")
            time.sleep(0.01)
        yield Server(url, process, time.perf_counter() - started, log)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.unlink(missing_ok=True)


def _tail(log: Path, lines: int = 5) -> str:
    try:
        return " | ".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
