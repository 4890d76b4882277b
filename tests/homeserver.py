"""A real Synapse homeserver for tests: SQLite, loopback only, no federation, accounts by shared secret.

One `Homeserver` is started per test session (see tests/matrix/conftest.py) and reused by every Matrix
test; `kill()` and `start()` let a test take it down and bring it back on the same port and data.
The generated config turns off everything that would reach outside 127.0.0.1: federation (no listener,
empty whitelist), trusted key servers, presence, URL previews, push, stats reporting.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Account", "Homeserver", "HomeserverUnavailable", "SERVER_NAME"]

SERVER_NAME = "govbot.test"  # never resolved: federation is off and nothing looks it up
START_TIMEOUT = 120  # seconds; the first start creates the SQLite schema (about 10 s on 2 shared cores)
GENEROUS = {"per_second": 1000, "burst_count": 1000}  # tests send fast; real limits are tested on their own


class HomeserverUnavailable(RuntimeError):
    """Synapse is not installed or did not start; the message says why (tests skip with it)."""


@dataclass(frozen=True)
class Account:
    user_id: str
    password: str
    access_token: str
    device_id: str


def free_port() -> int:
    """An OS-assigned free port on 127.0.0.1 (Synapse takes a port number, not a socket)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _config(root: Path, port: int, secret: str) -> dict[str, Any]:
    return {
        "server_name": SERVER_NAME,
        "public_baseurl": f"http://127.0.0.1:{port}/",
        "pid_file": str(root / "homeserver.pid"),
        "listeners": [
            {
                "port": port,
                "bind_addresses": ["127.0.0.1"],
                "type": "http",
                "tls": False,
                "x_forwarded": False,
                "resources": [{"names": ["client"], "compress": False}],  # no "federation" resource
            }
        ],
        "database": {"name": "sqlite3", "args": {"database": str(root / "homeserver.db")}},
        "log_config": str(root / "log.yaml"),
        "media_store_path": str(root / "media"),
        "signing_key_path": str(root / "signing.key"),
        "registration_shared_secret": secret,
        "enable_registration": False,
        "report_stats": False,
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "federation_domain_whitelist": [],
        "presence": {"enabled": False},
        "url_preview_enabled": False,
        "push": {"enabled": False},
        "enable_metrics": False,
        "serve_server_wellknown": False,
        "caches": {"global_factor": 0.2},
        "rc_message": GENEROUS,
        "rc_login": {"address": GENEROUS, "account": GENEROUS, "failed_attempts": GENEROUS},
        "rc_joins": {"local": GENEROUS, "remote": GENEROUS},
        "rc_invites": {"per_room": GENEROUS, "per_user": GENEROUS, "per_issuer": GENEROUS},
        "rc_registration": GENEROUS,
        "rc_admin_redaction": GENEROUS,
    }


_LOG_CONFIG = """version: 1
formatters: {plain: {format: '%(asctime)s %(levelname)s %(name)s %(message)s'}}
handlers: {file: {class: logging.FileHandler, filename: LOGFILE, formatter: plain}}
root: {level: WARNING, handlers: [file]}
disable_existing_loggers: false
"""


class Homeserver:
    """A Synapse process in `root`; `url` is its client API on 127.0.0.1."""

    def __init__(self, root: Path):
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server_name = SERVER_NAME
        self._secret = secrets.token_hex(16)
        self._process: subprocess.Popen[bytes] | None = None
        root.mkdir(parents=True, exist_ok=True)
        (root / "media").mkdir(exist_ok=True)
        (root / "homeserver.yaml").write_text(json.dumps(_config(root, self.port, self._secret), indent=1))
        (root / "log.yaml").write_text(_LOG_CONFIG.replace("LOGFILE", str(root / "homeserver.log")))

    def _synapse(self, *args: str, **kwargs: Any) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "synapse.app.homeserver", "-c", str(self.root / "homeserver.yaml"), *args]
        output = open(self.root / "stdout.log", "ab")  # noqa: SIM115 - closed with the process
        return subprocess.Popen(command, cwd=self.root, stdout=output, stderr=subprocess.STDOUT, **kwargs)

    def start(self) -> None:
        """Start Synapse (generating its signing key the first time) and wait until it answers."""
        try:
            import synapse  # noqa: F401
        except ImportError as exc:
            raise HomeserverUnavailable(f"matrix-synapse is not installed ({exc}); `pip install -e '.[test]'`") from exc
        if not (self.root / "signing.key").exists():
            if self._synapse("--generate-keys").wait(timeout=START_TIMEOUT) != 0:
                raise HomeserverUnavailable(f"synapse --generate-keys failed: {self.log_tail()}")
        self._process = self._synapse()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise HomeserverUnavailable(f"synapse exited with {self._process.returncode}: {self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_matrix/client/versions", timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        self.kill()
        raise HomeserverUnavailable(f"synapse did not answer within {START_TIMEOUT} s: {self.log_tail()}")

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def kill(self) -> None:
        """SIGKILL, as a crash would: no clean shutdown."""
        if self._process and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(timeout=30)
        self._process = None

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self._process = None

    def log_tail(self, lines: int = 15) -> str:
        text = ""
        for name in ("stdout.log", "homeserver.log"):
            path = self.root / name
            if path.exists():
                text += "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) + "\n"
        return text.strip() or "(no log)"

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None, token: str = "") -> dict[str, Any]:
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"{}")

    def register(self, name: str, *, admin: bool = False, password: str | None = None) -> Account:
        """A new account through the shared-secret admin API (registration is otherwise closed)."""
        password = password or secrets.token_urlsafe(12)
        nonce = self._call("GET", "/_synapse/admin/v1/register")["nonce"]
        mac = hmac.new(self._secret.encode(), digestmod=hashlib.sha1)
        for part in (nonce, name, password):
            mac.update(part.encode() + b"\x00")
        mac.update(b"admin" if admin else b"notadmin")
        body = {"nonce": nonce, "username": name, "password": password, "admin": admin, "mac": mac.hexdigest()}
        made = self._call("POST", "/_synapse/admin/v1/register", body)
        return Account(made["user_id"], password, made["access_token"], made["device_id"])

    def devices(self, account: Account) -> list[str]:
        """The device ids of `account` (to check a restart made no new device)."""
        return [
            d["device_id"]
            for d in self._call("GET", "/_matrix/client/v3/devices", token=account.access_token)["devices"]
        ]

    def set_display_name(self, account: Account, name: str) -> None:
        path = f"/_matrix/client/v3/profile/{urllib.parse.quote(account.user_id)}/displayname"
        self._call("PUT", path, {"displayname": name}, token=account.access_token)

    def event(self, account: Account, room_id: str, event_id: str) -> dict[str, Any]:
        """An event as the server stores it (still encrypted, in an encrypted room)."""
        path = f"/_matrix/client/v3/rooms/{urllib.parse.quote(room_id)}/event/{urllib.parse.quote(event_id)}"
        return self._call("GET", path, token=account.access_token)

    def limit_messages(self, account: Account, admin: Account, *, per_second: float, burst: int) -> None:
        """A per-user message rate limit (the admin API's override), to meet 429 M_LIMIT_EXCEEDED for real."""
        path = f"/_synapse/admin/v1/users/{urllib.parse.quote(account.user_id)}/override_ratelimit"
        self._call("POST", path, {"messages_per_second": per_second, "burst_count": burst}, token=admin.access_token)
