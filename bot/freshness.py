"""Conditional fetch: has a remote source changed since the last good refresh? (ETag / Last-Modified, then sha256)

The decision is here, the network is not: a `Probe` makes one GET with the conditional headers and returns
(status, headers, body). `govbot serve` probes through the knowledge's fetcher (`schedule.fetch_probe`),
which takes no request headers yet: until it does, the decision rests on the sha256 (one download per
scheduled check, no new version when nothing changed). Passing the headers through is the remaining wiring.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["Validators", "Probe", "conditional_headers", "validators_of", "unchanged", "remote_changes"]

Probe = Callable[[str, Mapping[str, str]], tuple[int, Mapping[str, str], bytes]]


@dataclass(frozen=True)
class Validators:
    """What identifies the copy a good refresh read: the server's validators and the body's sha256."""

    etag: str = ""
    last_modified: str = ""
    sha256: str = ""


def conditional_headers(saved: Validators | None) -> dict[str, str]:
    if saved is None:
        return {}
    headers = {}
    if saved.etag:
        headers["If-None-Match"] = saved.etag
    if saved.last_modified:
        headers["If-Modified-Since"] = saved.last_modified
    return headers


def validators_of(headers: Mapping[str, str], body: bytes) -> Validators:
    lowered = {k.lower(): v for k, v in headers.items()}
    return Validators(lowered.get("etag", ""), lowered.get("last-modified", ""), hashlib.sha256(body).hexdigest())


def unchanged(saved: Validators | None, status: int, body: bytes) -> bool:
    """304 Not Modified, or the same bytes as last time (servers without validators, or that ignore them)."""
    if saved is None:
        return False
    return status == 304 or (status == 200 and hashlib.sha256(body).hexdigest() == saved.sha256)


def remote_changes(
    urls: list[str], saved: Mapping[str, Validators], probe: Probe
) -> tuple[bool, dict[str, Validators]]:
    """(whether any source changed, the validators to save once the refresh that reads them succeeds).

    A probe that fails counts as changed: the refresh then decides (and falls back on the last good copy).
    """
    changed = False
    fresh: dict[str, Validators] = {}
    for url in urls:
        try:
            status, headers, body = probe(url, conditional_headers(saved.get(url)))
        except (OSError, ValueError):
            changed = True
            continue
        if unchanged(saved.get(url), status, body):
            continue
        changed = True
        if status == 200:
            fresh[url] = validators_of(headers, body)
    return changed, fresh
