"""Which egress asks which mail hosts in a cluster run: each site (a provider, or the most
preferred MX hosts of a domain) is split into `spread` shards and every shard is owned by
exactly one egress for the whole run.

Pure bookkeeping over names: no Ray, no sockets, no clock.

Why this keeps politeness: each egress runs in one worker with one set of politeness gates, so
the per-egress limits toward a host hold exactly as on one machine. The cluster total toward
one MX host is bounded by the number of egresses that own a site containing it: with
`spread=1` and hosts that serve one site, one egress (so `sessions_per_host` in all); a
fallback MX listed by several sites, or `spread=k`, allows that many owners, each within its own
limits. `Owners.owners_per_host()` reports the bound a run actually had.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from engine.model import MxHost

__all__ = ["Owners", "Site", "shard_of", "site_of"]


@dataclass(frozen=True, slots=True)
class Site:
    """What one owner serves: a provider ("provider:google") or the most preferred MX host
    names of a domain ("mx:mx1.example.com"), and every host name seen under it."""

    key: str
    hosts: frozenset[str]


def site_of(hosts: Sequence[MxHost], provider: str | None) -> Site:
    """The site of a domain's mail hosts.

    A known provider is one site whatever MX names its customers publish (so its per-provider
    limit holds in the cluster too). Otherwise the site is named by the hosts with the lowest
    preference value: domains that share a primary MX share an owner, and the order DNS lists
    equal-preference hosts in does not matter.
    """
    names = frozenset(h.host.rstrip(".").lower() for h in hosts)
    if provider:
        return Site(f"provider:{provider.lower()}", names)
    if not hosts:
        return Site("mx:", names)
    best = min(h.preference for h in hosts)
    primary = sorted({h.host.rstrip(".").lower() for h in hosts if h.preference == best})
    return Site("mx:" + ",".join(primary), names)


def shard_of(email: str, spread: int) -> int:
    """The shard of an address within its site: a stable hash of the address, so shards are
    even and an address asked twice in a run goes through the same egress (greylisting keys
    on the client IP)."""
    if spread <= 1:
        return 0
    digest = hashlib.blake2b(email.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % spread


def _rank(site: str, shard: int, egress: str) -> int:
    """Rendezvous weight: breaks ties between equally loaded egresses the same way each run."""
    text = f"{site}\0{shard}\0{egress}".encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


class Owners:
    """The owner of each (site, shard) for one run, given when the shard is first seen.

    A new shard goes to the least loaded of its candidate egresses (the routes' choice) that
    owns no other shard of the same site, so `spread` shards land on distinct egresses while
    there are enough candidates; ties go by rendezvous hash. An owner never changes during the
    run: greylisting retries and back-off stay with the IP that earned them.
    """

    def __init__(self, spread: int = 1) -> None:
        if spread < 1:
            raise ValueError("spread must be >= 1")
        self.spread = spread
        self._owner: dict[tuple[str, int], str] = {}
        self._by_site: dict[str, set[str]] = {}  # site -> egresses owning one of its shards
        self._load: dict[str, int] = {}  # addresses sent to each egress so far
        self._hosts: dict[str, set[str]] = {}  # MX host -> egresses that may reach it

    def owner(self, site: Site, shard: int, candidates: Iterable[str]) -> str:
        """The egress that asks this shard's addresses; counts one address against it."""
        key = (site.key, shard)
        name = self._owner.get(key)
        if name is None:
            name = self._choose(site.key, shard, tuple(candidates))
            self._owner[key] = name
            self._by_site.setdefault(site.key, set()).add(name)
        for host in site.hosts:
            self._hosts.setdefault(host, set()).add(name)
        self._load[name] = self._load.get(name, 0) + 1
        return name

    def _choose(self, site: str, shard: int, candidates: tuple[str, ...]) -> str:
        if not candidates:
            raise ValueError(f"no egress may serve {site}")
        taken = self._by_site.get(site, set())
        free = [c for c in candidates if c not in taken] or list(candidates)
        return min(free, key=lambda c: (self._load.get(c, 0), _rank(site, shard, c)))

    def load(self) -> dict[str, int]:
        """Addresses sent to each egress so far."""
        return dict(self._load)

    def owners_per_host(self) -> dict[str, int]:
        """For each MX host seen, how many egresses own a site that contains it: the cluster
        total toward the host is at most this times `sessions_per_host`."""
        return {host: len(names) for host, names in self._hosts.items()}
