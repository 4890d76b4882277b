"""The one door to the network for sources: every outbound GET of a refresh goes through `fetch`.

A source URL comes from whoever may refresh (an admin in a chat, a file a deployer did not write), and
what is fetched becomes public passages; so a URL must not reach the service's own network:
- the host is resolved once, every address it resolves to is checked, and the connection goes to the
  checked address (a second lookup could answer differently: DNS rebinding);
- loopback, private, link-local, unique-local, shared (CGNAT), multicast, reserved and unspecified
  addresses are refused in every spelling (`127.1`, `2130706433`, `0x7f000001`, `[::ffff:127.0.0.1]`...),
  and so are `localhost` names, unless GOVBOT_FETCH_ALLOW lists the host or a network holding the address;
- each redirect is checked again (at most MAX_REDIRECTS, http and https only);
- one time budget covers the whole exchange (connect, headers, body) and the body is capped in size.
No proxy is used (a proxy would connect to addresses it resolved itself). Errors are ValueError, one line.
"""

from __future__ import annotations

import http.client
import ipaddress
import os
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Policy", "Fetched", "fetch", "fetch_conditional", "FETCH_TIMEOUT", "MAX_SOURCE_BYTES", "MAX_REDIRECTS"]

MAX_SOURCE_BYTES = 20 * 1024 * 1024  # a source larger than this is a mistake (or an attack), not a roadmap
FETCH_TIMEOUT = 20.0  # seconds for one whole exchange: a slow server cannot hold a refresh for ever
MAX_REDIRECTS = 5  # enough for http -> https -> canonical host; more is a loop
_CHUNK = 64 * 1024
_REDIRECTS = {301, 302, 303, 307, 308}
# IPv6 prefixes that carry an IPv4 address in their low 32 bits (NAT64, IPv4-compatible).
_EMBEDDING = (
    ipaddress.ip_network("64:ff9b::/96"),
    ipaddress.ip_network("64:ff9b:1::/48"),
    ipaddress.ip_network("::/96"),
)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]  # (host, port) -> the addresses to connect to
Connector = Callable[[str, int, float], socket.socket]  # (address, port, timeout) -> a connected socket


def system_resolver(host: str, port: int) -> list[str]:
    """The system's lookup (getaddrinfo), once per host."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ValueError(f"could not fetch (cannot resolve {host}: {exc.strerror or exc})") from None
    return list(dict.fromkeys(str(info[4][0]) for info in found))


def system_connector(address: str, port: int, timeout: float) -> socket.socket:
    return socket.create_connection((address, port), timeout=timeout)


@dataclass(frozen=True)
class Policy:
    """Which hosts and networks are allowed beyond the public Internet, and the seams tests replace."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    resolver: Resolver = field(default=system_resolver, compare=False)
    connector: Connector = field(default=system_connector, compare=False)

    @classmethod
    def from_env(cls, value: str | None = None, **seams: object) -> Policy:
        """GOVBOT_FETCH_ALLOW: host names, addresses or CIDR networks, separated by commas or spaces."""
        text = os.environ.get("GOVBOT_FETCH_ALLOW", "") if value is None else value
        hosts: set[str] = set()
        networks = []
        for entry in text.replace(",", " ").split():
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                hosts.add(_host_key(entry))
        return cls(frozenset(hosts), tuple(networks), **seams)  # type: ignore[arg-type]

    def check(self, host: str, port: int) -> list[str]:
        """The addresses `host` may be fetched from; ValueError naming the refused address otherwise."""
        key = _host_key(host)
        literal = _literal(key)
        named = key in self.hosts
        if literal is None and not named and (key == "localhost" or key.endswith(".localhost")):
            raise ValueError(f"refused: {host} is this machine (set GOVBOT_FETCH_ALLOW to allow it)")
        addresses = [literal] if literal is not None else [ipaddress.ip_address(a) for a in self.resolver(key, port)]
        if not addresses:
            raise ValueError(f"could not fetch (no address for {host})")
        for address in addresses:
            why = _internal(address)
            if why and not named and not any(address in net for net in self.networks if net.version == address.version):
                shown = host if literal is not None else f"{host} resolves to {address}, which"
                raise ValueError(f"refused: {shown} is {why} (set GOVBOT_FETCH_ALLOW to allow it)")
        return [str(a) for a in addresses]


def _host_key(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def _literal(host: str) -> Address | None:
    """An address written as one, in any spelling the C library accepts (127.1, 0x7f000001, 2130706433...)."""
    try:
        return ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))  # no lookup: inet_aton only parses numbers
    except OSError:
        return None


def _internal(address: Address) -> str:
    """Why an address is not on the public Internet ('' when it is); IPv6 forms of IPv4 count as IPv4."""
    for test, name in (
        ("is_unspecified", "an unspecified address"),
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_private", "a private address"),
        ("is_reserved", "a reserved address"),
    ):
        if getattr(address, test):
            return name
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]
        if embedded is None and any(address in net for net in _EMBEDDING):
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None and (why := _internal(embedded)):
            return why
    if not address.is_global:
        return "not a public address"  # 100.64.0.0/10 (CGNAT) and the other special-purpose ranges
    return ""


class _Deadline:
    """Shuts the socket down when the budget is spent, wherever the exchange is waiting (even mid-header)."""

    def __init__(self, budget: float):
        self.budget = budget
        self.end = time.monotonic() + budget
        self.expired = False
        self._sock: socket.socket | None = None
        self._timer: threading.Timer | None = None

    def remaining(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise self.error()
        return left

    def watch(self, sock: socket.socket) -> None:
        self.cancel()
        self._sock = sock
        self._timer = threading.Timer(self.remaining(), self._cut)
        self._timer.daemon = True
        self._timer.start()

    def _cut(self) -> None:
        self.expired = True
        if self._sock is not None:
            try:
                socket.socket.shutdown(self._sock, socket.SHUT_RDWR)  # the raw socket, under any TLS layer
            except OSError:
                pass

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def error(self) -> ValueError:
        return ValueError(f"could not fetch (not complete after {self.budget:g} s)")


def _connection(scheme: str, host: str, port: int, address: str, deadline: _Deadline, policy: Policy):
    """An http.client connection to `host` that connects to the checked `address` (TLS still checks `host`)."""
    base = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection

    class Pinned(base):  # type: ignore[misc, valid-type]
        def connect(self) -> None:
            sock = policy.connector(address, port, deadline.remaining())
            # The watchdog ends the exchange at the budget; the socket timeout is only a backstop.
            sock.settimeout(deadline.budget + 1)
            if scheme == "https":
                sock = self._context.wrap_socket(sock, server_hostname=host)
            self.sock = sock
            deadline.watch(sock)

    kwargs = {"context": ssl.create_default_context()} if scheme == "https" else {}
    return Pinned(host, port, timeout=deadline.budget + 1, **kwargs)


@dataclass(frozen=True)
class Fetched:
    """One answered GET: 200 with its body, or 304 Not Modified (empty body) to a conditional request."""

    status: int
    body: bytes
    content_type: str
    etag: str = ""
    last_modified: str = ""


def fetch(
    url: str, *, timeout: float | None = None, limit: int | None = None, policy: Policy | None = None
) -> tuple[bytes, str]:
    """GET an http(s) URL under the address policy, a time budget and a size cap: (body, content type)."""
    got = fetch_conditional(url, timeout=timeout, limit=limit, policy=policy)
    return got.body, got.content_type


def fetch_conditional(
    url: str,
    *,
    etag: str = "",
    last_modified: str = "",
    timeout: float | None = None,
    limit: int | None = None,
    policy: Policy | None = None,
) -> Fetched:
    """`fetch` with the validators of a copy already held: a server that still has it answers 304, no body."""
    budget = timeout or FETCH_TIMEOUT
    limit = limit or MAX_SOURCE_BYTES
    policy = policy or Policy.from_env()
    headers = {"User-Agent": "govbot (knowledge refresh)"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    deadline = _Deadline(budget)
    try:
        for _ in range(MAX_REDIRECTS + 1):
            got, location = _get_once(url, deadline, limit, policy, headers)
            if got.status not in _REDIRECTS:
                return got
            if not location:
                raise ValueError(f"HTTP {got.status} without a Location")
            url = urllib.parse.urljoin(url, location)
        raise ValueError(f"more than {MAX_REDIRECTS} redirects")
    finally:
        deadline.cancel()


def _get_once(
    url: str, deadline: _Deadline, limit: int, policy: Policy, headers: dict[str, str]
) -> tuple[Fetched, str]:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"refused: not an http(s) URL: {url!r}")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ValueError(f"could not fetch (nonnumeric port: {parts.netloc!r})") from None
    addresses = policy.check(parts.hostname, port)
    target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
    last: Exception | None = None
    for address in addresses:
        conn = _connection(parts.scheme, parts.hostname, port, address, deadline, policy)
        try:
            conn.request("GET", target, headers=headers)
            response = conn.getresponse()
            if response.status in _REDIRECTS:
                return Fetched(response.status, b"", ""), response.headers.get("Location", "")
            if response.status == 304:
                return Fetched(304, b"", ""), ""
            if response.status >= 400:
                raise ValueError(f"HTTP {response.status} {response.reason}")
            chunks: list[bytes] = []
            size = 0
            while size <= limit and (chunk := response.read1(_CHUNK)):
                chunks.append(chunk)
                size += len(chunk)
            if deadline.expired:
                raise deadline.error()
            if size > limit:
                raise ValueError(f"larger than {limit // (1024 * 1024)} MB")
            got = Fetched(
                response.status,
                b"".join(chunks),
                response.headers.get("Content-Type", ""),
                response.headers.get("ETag", ""),
                response.headers.get("Last-Modified", ""),
            )
            return got, ""
        except (http.client.HTTPException, OSError) as exc:
            if deadline.expired:
                raise deadline.error() from None
            last = exc
        finally:
            conn.close()
    reason = getattr(last, "strerror", None) or str(last) or type(last).__name__
    raise ValueError(f"could not fetch ({reason})")
