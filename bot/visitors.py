"""Web visitors: who is asking (a signed id, else the client's address), and who may be given a new id.

A visitor id is `token.issued.signature`: a random token, the Unix time it was issued, and an HMAC of both
keyed on the question log's salt, so a client can neither mint ids nor change their age. Handing out ids
is itself rate limited per client address and in all, otherwise each fresh id would be a fresh question
quota. The client address is the socket peer; `X-Forwarded-For` counts only when the peer is one of the
proxies listed in `GOVBOT_TRUSTED_PROXIES`. An id listed in `GOVBOT_WEB_ADMINS` gives admin rights for
`GOVBOT_WEB_ADMIN_HOURS` after it was issued, unless it was revoked.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from aiohttp import web

from .ratelimit import RateLimiter, SharedRateLimiter

__all__ = ["Visitors", "Visitor", "client_address", "parse_networks", "ISSUE_PER_ADDRESS", "ISSUE_GLOBAL"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# New ids per client address per minute: a team behind one NAT address opening the chat together.
ISSUE_PER_ADDRESS = 10
# New ids per minute from everyone: past it, newcomers are counted by their address until the minute ends.
ISSUE_GLOBAL = 300
# Hours an admin's id keeps its rights after it was issued: one working day, then a new id is listed.
ADMIN_HOURS = 12.0
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")
_ISSUED = re.compile(r"[0-9]{1,12}")


def parse_networks(raw: str) -> tuple[Network, ...]:
    """'10.0.0.0/8, 127.0.0.1' -> networks; raises ValueError naming the first bad entry."""
    networks = []
    for part in raw.replace(";", ",").split(","):
        if part := part.strip():
            try:
                networks.append(ipaddress.ip_network(part, strict=False))
            except ValueError:
                raise ValueError(f"GOVBOT_TRUSTED_PROXIES: {part!r} is not an IP address or network") from None
    return tuple(networks)


def _ip(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address((text or "").strip().strip("[]"))
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address | None, proxies: tuple[Network, ...]) -> bool:
    return address is not None and any(address in network for network in proxies)


def client_address(request: web.BaseRequest, proxies: tuple[Network, ...]) -> str:
    """The socket peer, or, when the peer is a trusted proxy, the nearest untrusted X-Forwarded-For entry."""
    peer = request.transport.get_extra_info("peername") if request.transport else None
    address = _ip(peer[0] if isinstance(peer, tuple) and peer else None)
    if not _trusted(address, proxies):
        return str(address) if address else "unknown"
    hops = [hop for header in request.headers.getall("X-Forwarded-For", []) for hop in header.split(",")]
    for hop in reversed(hops):  # appended by each proxy in turn: the right end is the closest
        forwarded = _ip(hop)
        if forwarded is None:
            break  # a spoofed or garbled entry: trust nothing to its left
        address = forwarded
        if not _trusted(forwarded, proxies):
            break
    return str(address)


def forwarded_https(request: web.BaseRequest, proxies: tuple[Network, ...]) -> bool:
    """A trusted proxy says the client used HTTPS (`X-Forwarded-Proto`, any case, the client's hop first)."""
    peer = request.transport.get_extra_info("peername") if request.transport else None
    if not _trusted(_ip(peer[0] if isinstance(peer, tuple) and peer else None), proxies):
        return False
    return request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower() == "https"


class Limiter(Protocol):
    def allow(self, key: str) -> bool: ...


@dataclass(frozen=True)
class Visitor:
    """Who is asking: `user` keys the rate limit and the log; `new_id` is a cookie to set ('' for none)."""

    user: str
    new_id: str = ""
    issued: float | None = None


@dataclass
class Visitors:
    """Reads and issues visitor ids for one service."""

    sign: Callable[[str], str]
    proxies: tuple[Network, ...] = ()
    admin_hours: float = ADMIN_HOURS
    per_address: Limiter = field(default_factory=lambda: RateLimiter(ISSUE_PER_ADDRESS))
    everyone: Limiter = field(default_factory=lambda: RateLimiter(ISSUE_GLOBAL, max_keys=1))
    clock: Callable[[], float] = time.time

    @classmethod
    def from_env(cls, sign: Callable[[str], str], environ: Mapping[str, str], limits: Path | None = None) -> Visitors:
        """From GOVBOT_TRUSTED_PROXIES and GOVBOT_WEB_ADMIN_HOURS; a ValueError names a setting that does not parse.

        `limits` (the knowledge's `ratelimit.LIMITS_FILE`) keeps the issuing quotas in SQLite, shared by every
        process serving that knowledge: with per-process quotas, N listeners would issue N times as many ids.
        """
        raw = environ.get("GOVBOT_WEB_ADMIN_HOURS", "").strip()
        try:
            hours = float(raw) if raw else ADMIN_HOURS
        except ValueError:
            raise ValueError(f"GOVBOT_WEB_ADMIN_HOURS must be a number of hours, not {raw!r}") from None
        proxies = parse_networks(environ.get("GOVBOT_TRUSTED_PROXIES", ""))
        if limits is None:
            return cls(sign, proxies, hours)
        per_address = SharedRateLimiter(limits, ISSUE_PER_ADDRESS, name="issue-address")
        everyone = SharedRateLimiter(limits, ISSUE_GLOBAL, name="issue-all")
        return cls(sign, proxies, hours, per_address, everyone)

    def new_id(self, token: str | None = None, issued: int | None = None) -> str:
        token = token or secrets.token_urlsafe(18)
        issued = int(self.clock()) if issued is None else issued
        return f"{token}.{issued}.{self.sign(f'{token}.{issued}')}"

    def read(self, uid: str) -> float | None:
        """The issue time of a genuine id (0 for an id from before ids carried one), else None."""
        parts = uid.split(".")
        if len(parts) == 2 and _TOKEN.fullmatch(parts[0]) and hmac.compare_digest(parts[1], self.sign(parts[0])):
            return 0.0
        if len(parts) == 3 and _TOKEN.fullmatch(parts[0]) and _ISSUED.fullmatch(parts[1]):
            if hmac.compare_digest(parts[2], self.sign(f"{parts[0]}.{parts[1]}")):
                return float(parts[1])
        return None

    def identify(self, request: web.BaseRequest, cookie: str) -> Visitor:
        """The visitor behind `request`: its cookie's id, else its address (with a new id if one may be issued).

        A request without a valid id is always counted by its address, even when it gets a new id, so a
        client that drops its cookies shares one quota per address.
        """
        issued = self.read(cookie)
        if issued is not None:
            return Visitor(cookie, issued=issued)
        address = client_address(request, self.proxies)
        user = f"ip:{address}"
        if self.per_address.allow(address) and self.everyone.allow("all"):
            return Visitor(user, new_id=self.new_id())
        return Visitor(user)

    def admin_fresh(self, visitor: Visitor) -> bool:
        """Whether this id may still act as an admin: issued less than `admin_hours` ago (and not in the future)."""
        if not visitor.issued:
            return False
        age = self.clock() - visitor.issued
        return -60 <= age < self.admin_hours * 3600

    def secure(self, request: web.BaseRequest, production: bool) -> bool:
        """Whether cookies get the Secure flag: always in production, else when the client used HTTPS."""
        return production or request.secure or forwarded_https(request, self.proxies)
