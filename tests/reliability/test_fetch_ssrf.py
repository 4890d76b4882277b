"""A source URL cannot reach the service's own network (SSRF): one fetcher checks every address it connects to.

Every test gives the fetcher its own resolver, so no test looks a real name up, and a connector that
records each connection, so a refused address is shown to be refused before any socket is opened. The
only servers contacted are on 127.0.0.1.
"""

from __future__ import annotations

import datetime
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from knowledge import KnowledgeBase, SourceErrors
from knowledge.fetch import MAX_REDIRECTS, Policy, fetch, system_connector

SOURCE = b"source: {title: Intranet, url: 'https://example.org/intra'}\nactors:\n  - {id: INTRA, name: Secret}\n"
# Spellings of addresses that must never be fetched by default, each with the reason given.
REFUSED = {
    "127.0.0.1": "loopback",
    "127.1": "loopback",
    "2130706433": "loopback",
    "0x7f000001": "loopback",
    "0177.0.0.1": "loopback",
    "127.0.0.1.": "loopback",
    "0.0.0.0": "unspecified",
    "0": "unspecified",
    "[::1]": "loopback",
    "[::]": "unspecified",
    "[::ffff:127.0.0.1]": "private",
    "[::ffff:7f00:1]": "private",
    "[64:ff9b::a00:5]": "reserved",
    "[2002:a00:5::]": "private",
    "localhost": "this machine",
    "LocalHost.": "this machine",
    "api.localhost": "this machine",
    "10.0.0.5": "private",
    "172.16.3.4": "private",
    "192.168.1.1": "private",
    "169.254.169.254": "link-local",
    "[fe80::1]": "link-local",
    "[fc00::1]": "private",
    "[fd00:ec2::254]": "private",
    "100.64.0.1": "not a public address",
    "224.0.0.1": "multicast",
    "[ff02::1]": "multicast",
    "255.255.255.255": "private",
}


class Seams:
    """A resolver from a table and a connector that records every connection (and makes only loopback ones)."""

    def __init__(self, names: dict[str, list[str]]):
        self.names = names
        self.lookups: list[str] = []
        self.connections: list[tuple[str, int]] = []

    def resolve(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        if host not in self.names:
            raise ValueError(f"could not fetch (cannot resolve {host})")
        return self.names[host]

    def connect(self, address: str, port: int, timeout: float) -> socket.socket:
        self.connections.append((address, port))
        assert address == "127.0.0.1", f"a test tried to connect to {address}"
        return system_connector(address, port, timeout)

    def policy(self, allow: str = "") -> Policy:
        return Policy.from_env(allow, resolver=self.resolve, connector=self.connect)


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        port = self.server.server_address[1]
        redirects = {
            "/to-loopback": f"http://127.0.0.1:{port}/source.yaml",
            "/to-intranet": f"http://intranet.example:{port}/source.yaml",
            "/to-file": "file:///etc/passwd",
            "/loop": "/loop",
        }
        try:
            if self.path in redirects:
                self.send_response(302)
                self.send_header("Location", redirects[self.path])
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif self.path == "/slow-headers":
                self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                for _ in range(400):  # 20 s of headers, one byte every 50 ms
                    self.wfile.write(b"X")
                    self.wfile.flush()
                    time.sleep(0.05)
                self.wfile.write(b": y\r\nContent-Length: 0\r\n\r\n")
            else:
                self.send_response(200)
                self.send_header("Content-Type", "application/yaml")
                self.send_header("Content-Length", str(len(SOURCE)))
                self.end_headers()
                self.wfile.write(SOURCE)
        except (BrokenPipeError, ConnectionResetError):
            self.server.cut = True  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server's signature)
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.cut = False  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection outside the connector seam fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a socket was opened outside the connector seam")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.mark.parametrize("host", list(REFUSED))
def test_internal_addresses_are_refused_in_every_spelling_before_any_connection(host: str, no_sockets: None) -> None:
    seams = Seams({})
    with pytest.raises(ValueError) as refused:
        fetch(f"http://{host}:8080/source.yaml", policy=seams.policy())
    message = str(refused.value)
    assert message.startswith("refused: ") and REFUSED[host] in message and "GOVBOT_FETCH_ALLOW" in message
    assert "\n" not in message
    assert seams.connections == [] and seams.lookups == []  # numbers and localhost are never looked up


def test_a_name_that_resolves_to_a_private_address_is_refused_without_connecting(no_sockets: None) -> None:
    seams = Seams({"intranet.example": ["10.0.0.5"]})
    with pytest.raises(ValueError, match=r"refused: intranet.example resolves to 10.0.0.5, which is a private"):
        fetch("http://intranet.example/roadmap.yaml", policy=seams.policy())
    assert seams.lookups == ["intranet.example"] and seams.connections == []


def test_a_name_with_one_internal_address_among_public_ones_is_refused(no_sockets: None) -> None:
    seams = Seams({"mixed.example": ["93.184.216.34", "169.254.169.254"]})
    with pytest.raises(ValueError, match="169.254.169.254, which is a link-local address"):
        fetch("https://mixed.example/", policy=seams.policy())
    assert seams.connections == []


def test_a_name_resolving_to_loopback_loads_only_when_allowed(server: ThreadingHTTPServer) -> None:
    port = server.server_address[1]
    seams = Seams({"files.example": ["127.0.0.1"]})
    url = f"http://files.example:{port}/source.yaml"
    with pytest.raises(ValueError, match="files.example resolves to 127.0.0.1, which is a loopback address"):
        fetch(url, policy=seams.policy())
    assert seams.connections == []
    for allow in ("127.0.0.1", "127.0.0.0/8", "files.example", "intranet.example, files.example"):
        assert fetch(url, policy=seams.policy(allow))[0] == SOURCE, allow
    assert seams.connections == [("127.0.0.1", port)] * 4


def test_the_checked_address_is_the_one_connected_to(server: ThreadingHTTPServer) -> None:
    """DNS rebinding: a second lookup would answer 10.0.0.5; the fetcher looks up once and uses its answer."""
    port = server.server_address[1]
    answers = iter([["127.0.0.1"], ["10.0.0.5"], ["10.0.0.5"]])
    seams = Seams({})
    seams.resolve = lambda host, p: (seams.lookups.append(host), next(answers))[1]  # type: ignore[method-assign]
    assert fetch(f"http://rebind.example:{port}/source.yaml", policy=seams.policy("127.0.0.1"))[0] == SOURCE
    assert seams.lookups == ["rebind.example"] and seams.connections == [("127.0.0.1", port)]


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/to-loopback", "refused: 127.0.0.1 is a loopback address"),
        ("/to-intranet", "refused: intranet.example resolves to 10.0.0.5, which is a private address"),
        ("/to-file", "refused: not an http(s) URL: 'file:///etc/passwd'"),
        ("/loop", f"more than {MAX_REDIRECTS} redirects"),
    ],
)
def test_every_redirect_is_checked_again(server: ThreadingHTTPServer, path: str, error: str) -> None:
    port = server.server_address[1]
    seams = Seams({"allowed.example": ["127.0.0.1"], "intranet.example": ["10.0.0.5"]})
    with pytest.raises(ValueError) as refused:
        fetch(f"http://allowed.example:{port}{path}", policy=seams.policy("allowed.example"))
    assert str(refused.value).startswith(error)
    expected = MAX_REDIRECTS + 1 if path == "/loop" else 1
    assert seams.connections == [("127.0.0.1", port)] * expected  # never to the refused target


def test_a_server_dripping_its_headers_is_cut_at_the_budget(server: ThreadingHTTPServer) -> None:
    port = server.server_address[1]
    with pytest.raises(ValueError) as slow:
        fetch(f"http://127.0.0.1:{port}/slow-headers", timeout=0.3, policy=Policy.from_env("127.0.0.1"))
    assert str(slow.value) == "could not fetch (not complete after 0.3 s)"
    for _ in range(100):  # the server notices the closed connection at its next byte
        if server.cut:  # type: ignore[attr-defined]
            break
        time.sleep(0.05)
    assert server.cut, "the connection was not closed by the fetcher"  # type: ignore[attr-defined]


def test_a_refresh_refuses_loopback_sources_by_default_and_loads_them_when_allowed(
    kb: KnowledgeBase, server: ThreadingHTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = server.server_address[1]
    url = f"http://127.0.0.1:{port}/source.yaml"
    document = tmp_path / "docs.yaml"
    document.write_text(
        "source: {url: 'https://example.org/docs'}\n"
        "documents:\n  - {url: 'http://169.254.169.254/latest/meta-data/', title: Metadata}\n",
        encoding="utf-8",
    )
    before = kb.info()["version"]
    with pytest.raises(SourceErrors) as refused:
        kb.refresh([url, str(document)], bundled=False, forget=True)
    lines = [str(p) for p in refused.value.problems]
    assert lines == [
        f"{url}: refused: 127.0.0.1 is a loopback address (set GOVBOT_FETCH_ALLOW to allow it)",
        f"{document}, documents[0] (id 'http://169.254.169.254/latest/meta-data/'), field 'url': "
        "refused: 169.254.169.254 is a link-local address (set GOVBOT_FETCH_ALLOW to allow it)",
    ]
    assert kb.info()["version"] == before
    monkeypatch.setenv("GOVBOT_FETCH_ALLOW", "127.0.0.1")
    kb.refresh([url], bundled=False, forget=True)
    assert kb.ask("c'est quoi Secret ?").results[0]["id"] == "INTRA"


def _certificate(folder: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for `name` (cert, key) made with `cryptography`."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def test_https_connects_to_the_checked_address_and_still_verifies_the_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = _certificate(tmp_path, "files.example")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        port = httpd.server_address[1]
        seams = Seams({"files.example": ["127.0.0.1"]})
        with pytest.raises(ValueError, match="certificate verify failed"):  # not trusted yet
            fetch(f"https://files.example:{port}/source.yaml", policy=seams.policy("127.0.0.1"))
        trusted = ssl.create_default_context
        monkeypatch.setattr(ssl, "create_default_context", lambda: trusted(cafile=str(cert)))
        assert fetch(f"https://files.example:{port}/source.yaml", policy=seams.policy("127.0.0.1"))[0] == SOURCE
        with pytest.raises(ValueError, match="certificate is not valid for '127.0.0.1'"):
            fetch(f"https://127.0.0.1:{port}/source.yaml", policy=seams.policy("127.0.0.1"))
        assert seams.connections == [("127.0.0.1", port)] * 3 and seams.lookups == ["files.example"] * 2
    finally:
        httpd.shutdown()
        httpd.server_close()
