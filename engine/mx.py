"""The DNS stage: a domain's mail hosts, in the order to try, with the addresses we may use.

The only module that imports dnspython. It never blocks the event loop, never turns a broken
resolver into an undeliverable address, and hands on no private, loopback or reserved address
unless `Config.allow_private_addresses` says so.
"""

from __future__ import annotations

import asyncio
import copy
import ipaddress
import math
import random
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import dns.asyncresolver
import dns.exception
import dns.name
import dns.rdatatype
import dns.rdtypes.ANY.MX
import dns.rdtypes.IN.A
import dns.rdtypes.IN.AAAA
import dns.resolver
import idna

from engine.addresses import is_public_ip
from engine.config import Config
from engine.errors import (
    DnsError,
    DnsTransient,
    NoMailServer,
    NoPublicMxAddress,
    NoSuchDomain,
    NullMx,
)
from engine.model import MxHost

__all__ = [
    "DnsPythonResolver",
    "DnsStats",
    "HostAddresses",
    "MxLookup",
    "MxRecords",
    "Resolver",
]

T = TypeVar("T")

# -- the Resolver protocol, in our own terms ------------------------------------------------


@dataclass(frozen=True, slots=True)
class MxRecords:
    """A domain's MX answer: (preference, host) as published, and the TTL to keep it.

    Hosts are lower-case without the final dot; "." is the root (RFC 7505 null MX). No records:
    the domain exists but has no MX.
    """

    records: tuple[tuple[int, str], ...]
    ttl: float


@dataclass(frozen=True, slots=True)
class HostAddresses:
    """A host's A and AAAA addresses and the smallest TTL among them; empty: it has none."""

    ips: tuple[str, ...]
    ttl: float


class Resolver(Protocol):
    """DNS as the engine asks it. Implementations translate their library's outcomes."""

    async def mx(self, domain: str) -> MxRecords:
        """The MX records of an A-label domain; raises NoSuchDomain or DnsTransient."""
        ...

    async def addresses(self, host: str) -> HostAddresses:
        """The A and AAAA records of a host; raises NoSuchDomain or DnsTransient."""
        ...


# -- dnspython at its seam -------------------------------------------------------------------

# Follow-up questions for answers that stop at a CNAME (Unbound does so for its local data);
# with dnspython's own limit of 16 links per answer, this bounds any chain.
_MAX_CNAME_QUERIES = 8
_EDNS_PAYLOAD = 1232  # DNS Flag Day 2020: big enough for most answers, too small to fragment


class DnsPythonResolver:
    """Resolver over dnspython's asyncio stub resolver, built on first use, never at import.

    Config.nameservers (or the system's configuration when None), dns_port, timeouts.dns_s per
    attempt and dns_attempts per nameserver. dnspython retries truncated UDP answers over TCP.

    Args:
        max_in_flight: questions waiting for an answer at once; more wait their turn, so a bulk
            run does not overflow the resolver's receive buffer (lost questions look like
            timeouts).
    """

    def __init__(self, config: Config, *, max_in_flight: int = 64) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be >= 1")
        self._config = config
        self._resolver: dns.asyncresolver.Resolver | None = None
        self._max_in_flight = max_in_flight
        # One semaphore per event loop: verify() runs a loop per call.
        self._in_flight: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]
        self._in_flight = weakref.WeakKeyDictionary()

    async def mx(self, domain: str) -> MxRecords:
        rdatas, ttl = await self._query(domain, dns.rdatatype.MX)
        records = tuple(
            (int(r.preference), _host_text(r.exchange))
            for r in rdatas
            if isinstance(r, dns.rdtypes.ANY.MX.MX)
        )
        return MxRecords(records, ttl)

    async def addresses(self, host: str) -> HostAddresses:
        v4, v6 = await _settled(
            [self._family(host, dns.rdatatype.A), self._family(host, dns.rdatatype.AAAA)]
        )
        answers = [r for r in (v4, v6) if isinstance(r, HostAddresses)]
        ips = tuple(ip for r in answers for ip in r.ips)
        if ips:
            # One family is enough to reach a host: some servers fail AAAA questions only.
            return HostAddresses(ips, min(r.ttl for r in answers if r.ips))
        for result in (v4, v6):
            if isinstance(result, DnsTransient):
                raise DnsTransient(str(result))
        for result in (v4, v6):
            if isinstance(result, DnsError):
                raise NoSuchDomain(str(result))
        return HostAddresses((), min(r.ttl for r in answers))

    async def _family(self, host: str, rdtype: dns.rdatatype.RdataType) -> HostAddresses:
        rdatas, ttl = await self._query(host, rdtype)
        families = (dns.rdtypes.IN.A.A, dns.rdtypes.IN.AAAA.AAAA)
        return HostAddresses(tuple(str(r.address) for r in rdatas if isinstance(r, families)), ttl)

    async def _query(
        self, name: str, rdtype: dns.rdatatype.RdataType
    ) -> tuple[tuple[object, ...], float]:
        resolver = await self._resolver_ready()
        label = f"{name} {rdtype.name}"
        try:
            qname = dns.name.from_text(name)
        except dns.exception.DNSException as exc:  # empty or over-long labels cannot exist
            raise NoSuchDomain(f"{name}: not a DNS name ({exc})") from None
        ttl = math.inf
        seen = {qname}
        for _ in range(_MAX_CNAME_QUERIES + 1):
            try:
                async with self._turn():
                    answer = await resolver.resolve(
                        qname, rdtype, search=False, raise_on_no_answer=False
                    )
            except dns.resolver.NXDOMAIN:
                raise NoSuchDomain(f"{label}: NXDOMAIN") from None
            except dns.resolver.NoNameservers as exc:  # SERVFAIL, REFUSED, broken answers
                raise DnsTransient(f"{label}: {_failures(exc)}") from None
            except dns.exception.Timeout:
                raise DnsTransient(f"{label}: no answer within {resolver.lifetime:g}s") from None
            except dns.exception.DNSException as exc:
                raise DnsTransient(f"{label}: {type(exc).__name__}: {exc}") from None
            ttl = min(ttl, float(answer.chaining_result.minimum_ttl))
            if answer.rrset is not None:
                return tuple(answer.rrset), ttl
            target = answer.canonical_name
            if target == qname:
                return (), ttl  # NODATA: the name exists without such records
            if target in seen:
                raise DnsTransient(f"{label}: CNAME loop at {target}")
            seen.add(target)
            qname = target  # the answer stopped at a CNAME: ask about its target
        raise DnsTransient(f"{label}: CNAME chain longer than {_MAX_CNAME_QUERIES} answers")

    def _turn(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        limit = self._in_flight.get(loop)
        if limit is None:
            limit = self._in_flight[loop] = asyncio.Semaphore(self._max_in_flight)
        return limit

    async def _resolver_ready(self) -> dns.asyncresolver.Resolver:
        if self._resolver is not None:
            return self._resolver
        config = self._config
        try:
            if config.nameservers is None:
                # Reading /etc/resolv.conf is file I/O: keep it off the event loop.
                resolver = await asyncio.to_thread(dns.asyncresolver.Resolver, configure=True)
            else:
                resolver = dns.asyncresolver.Resolver(configure=False)
                resolver.nameservers = list(config.nameservers)
        except dns.exception.DNSException as exc:
            raise DnsTransient(f"no resolver configuration: {exc}") from None
        resolver.port = config.dns_port
        resolver.timeout = config.timeouts.dns_s
        tries = config.dns_attempts * max(1, len(resolver.nameservers))
        resolver.lifetime = config.timeouts.dns_s * tries
        resolver.cache = None  # MxLookup keeps its own, with our TTL policy
        resolver.retry_servfail = False  # a SERVFAIL is an answer: transient, and cached briefly
        resolver.use_edns(0, 0, _EDNS_PAYLOAD)
        if self._resolver is None:  # two first calls may race; keep one
            self._resolver = resolver
        return self._resolver


def _host_text(name: dns.name.Name) -> str:
    if name == dns.name.root:
        return "."
    return str(name.to_text(omit_final_dot=True)).lower()


def _failures(exc: dns.resolver.NoNameservers) -> str:
    errors = exc.kwargs.get("errors") or []
    said = [f"{server} said {error}" for server, _tcp, _port, error, _response in errors[:3]]
    return "; ".join(said) or "no nameserver answered"


# -- the lookup: ordering, caps, filter, cache -----------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class DnsStats:
    """What one MxLookup has asked upstream and answered from memory."""

    mx_queries: int = 0  # MX questions sent to the resolver
    address_queries: int = 0  # hosts resolved, one A and one AAAA question each
    domain_cache_hits: int = 0
    host_cache_hits: int = 0
    joined: int = 0  # lookups that waited for the same lookup already in flight

    @property
    def queries_by_type(self) -> dict[str, int]:
        return {"MX": self.mx_queries, "A": self.address_queries, "AAAA": self.address_queries}


@dataclass(frozen=True, slots=True)
class _Entry(Generic[T]):
    outcome: T | DnsError
    expires: float


class _Memo(Generic[T]):
    """Outcomes by key until they expire, with at most one computation in flight per key."""

    def __init__(self, clock: Callable[[], float], max_entries: int) -> None:
        self._clock = clock
        self._max_entries = max_entries
        self._entries: dict[str, _Entry[T]] = {}
        self._inflight: dict[str, asyncio.Future[_Entry[T]]] = {}
        self.hits = 0
        self.joined = 0

    async def get(
        self, key: str, compute: Callable[[], Awaitable[tuple[T | DnsError, float]]]
    ) -> _Entry[T]:
        entry = self._entries.get(key)
        if entry is not None:
            if entry.expires > self._clock():
                self.hits += 1
                return entry
            del self._entries[key]
        task = self._inflight.get(key)
        if task is None or task.cancelled():
            task = asyncio.ensure_future(self._fill(key, compute))
            task.add_done_callback(self._landed(key))
            self._inflight[key] = task
        else:
            self.joined += 1
        # shield: one waiter giving up must not cancel the lookup the others wait for.
        return await asyncio.shield(task)

    async def _fill(
        self, key: str, compute: Callable[[], Awaitable[tuple[T | DnsError, float]]]
    ) -> _Entry[T]:
        outcome, ttl = await compute()
        entry = _Entry(outcome, self._clock() + ttl)
        if ttl > 0:
            self._store(key, entry)
        return entry

    def _landed(self, key: str) -> Callable[[asyncio.Future[_Entry[T]]], None]:
        def done(task: asyncio.Future[_Entry[T]]) -> None:
            if self._inflight.get(key) is task:
                del self._inflight[key]
            # A lookup whose waiters all gave up still ends; its error must not be logged as lost.
            if not task.cancelled():
                task.exception()

        return done

    def _store(self, key: str, entry: _Entry[T]) -> None:
        self._entries.pop(key, None)
        if len(self._entries) >= self._max_entries:
            now = self._clock()
            for stale in [k for k, e in self._entries.items() if e.expires <= now]:
                del self._entries[stale]
            # Still full: drop the oldest eighth, so this pass runs once per many inserts.
            while len(self._entries) > self._max_entries * 7 // 8:
                del self._entries[next(iter(self._entries))]
        self._entries[key] = entry


async def _settled(awaitables: Iterable[Awaitable[T]]) -> list[T | DnsError]:
    """Run concurrently until all end; a DnsError becomes a value, anything else is raised."""
    results = await asyncio.gather(*awaitables, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, DnsError):
            raise result
    return [r for r in results if not isinstance(r, BaseException) or isinstance(r, DnsError)]


def _fresh(error: DnsError) -> DnsError:
    # Each raise gets its own copy: one cached error raised many times would grow its traceback.
    return copy.copy(error)


class MxLookup:
    """Mail hosts of domains, with a TTL cache and one lookup in flight per domain.

    Args:
        config: nameservers, timeouts, caps, TTL bounds, prefer_ipv6, allow_private_addresses.
        resolver: the DNS backend; DnsPythonResolver(config) when None.
        clock: seconds from a monotonic clock, for cache expiry.
        rng: shuffles MX hosts of equal preference (RFC 5321 §5.1).
        max_entries: domains (and, apart, hosts) kept in memory at most.
    """

    def __init__(
        self,
        config: Config,
        resolver: Resolver | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        max_entries: int = 100_000,
    ) -> None:
        self.config = config
        self.resolver: Resolver = resolver if resolver is not None else DnsPythonResolver(config)
        self._clock = clock
        self._rng = rng if rng is not None else random.Random()
        self._domains: _Memo[tuple[MxHost, ...]] = _Memo(clock, max_entries)
        self._hosts: _Memo[HostAddresses] = _Memo(clock, max_entries)
        self._mx_queries = 0
        self._address_queries = 0

    @property
    def stats(self) -> DnsStats:
        return DnsStats(
            mx_queries=self._mx_queries,
            address_queries=self._address_queries,
            domain_cache_hits=self._domains.hits,
            host_cache_hits=self._hosts.hits,
            joined=self._domains.joined + self._hosts.joined,
        )

    async def lookup(self, ascii_domain: str) -> tuple[MxHost, ...]:
        """The domain's mail hosts in the order to try, each with its approved addresses.

        Raises NoSuchDomain, NullMx, NoMailServer, NoPublicMxAddress or DnsTransient; a
        ValueError for a domain literal ("[192.0.2.1]"), which is not looked up.
        """
        domain = _dns_name(ascii_domain)
        entry = await self._domains.get(domain, lambda: self._resolve(domain))
        if isinstance(entry.outcome, DnsError):
            raise _fresh(entry.outcome)
        return self._shuffle_equals(entry.outcome)

    async def accepts_mail(self, ascii_domain: str) -> bool | None:
        """Whether the domain has a mail host (MX other than null MX, or an address).

        None when DNS could not tell (transient failure). Never raises a DnsError.
        """
        try:
            await self.lookup(ascii_domain)
        except NoPublicMxAddress:
            return True  # it has mail hosts; we only refuse to connect to them
        except DnsTransient:
            return None
        except DnsError:
            return False
        return True

    async def _resolve(self, domain: str) -> tuple[tuple[MxHost, ...] | DnsError, float]:
        config = self.config
        self._mx_queries += 1
        try:
            answer = await self.resolver.mx(domain)
        except DnsError as exc:
            return self._failed(exc)
        start = self._clock()
        exchanges = _exchanges(answer.records)
        if answer.records and not exchanges:
            # RFC 7505: a lone "MX 0 ." says the domain accepts no mail.
            return NullMx(f"{domain} publishes a null MX (RFC 7505)"), self._ttl(answer.ttl)
        if exchanges:
            # RFC 5321 §5.1: lowest preference first, equal preferences in random order.
            self._rng.shuffle(exchanges)
            exchanges.sort(key=lambda e: e[0])
            candidates = [MxHost(host, pref) for pref, host in exchanges[: config.max_mx_hosts]]
            expires = start + self._ttl(answer.ttl)
        else:
            # RFC 5321 §5.1: with no MX, an A/AAAA record makes the domain its own mail host.
            candidates = [MxHost(domain, 0, implicit=True)]
            expires = math.inf
        # The hosts' A/AAAA questions go out together; _addresses never raises a DnsError.
        found = await asyncio.gather(*(self._addresses(c.host) for c in candidates))
        usable: list[tuple[MxHost, list[str]]] = []
        refused: list[str] = []
        unresolved: list[str] = []
        for candidate, entry in zip(candidates, found, strict=True):
            outcome = entry.outcome
            if isinstance(outcome, DnsTransient):
                unresolved.append(str(outcome))
                continue
            if isinstance(outcome, DnsError) or not outcome.ips:
                continue  # a mail host without an address is skipped, not fatal
            ips = self._ordered(outcome.ips)
            if not config.allow_private_addresses:
                refused.extend(f"{candidate.host} {ip}" for ip in ips if not is_public_ip(ip))
                ips = [ip for ip in ips if is_public_ip(ip)]
            expires = min(expires, entry.expires)
            if ips:
                usable.append((candidate, ips))
        ttl = max(0.0, min(expires - start, config.dns_ttl_max_s))
        if usable:
            if unresolved:  # partial: try again soon for the hosts that failed
                ttl = min(ttl, config.dns_transient_ttl_s)
            return self._allot(usable), ttl
        if unresolved:
            failures = "; ".join(unresolved[:5])
            return DnsTransient(f"{domain}: no mail host resolved: {failures}"), (
                config.dns_transient_ttl_s
            )
        if refused:
            shown = ", ".join(refused[:10]) + (", ..." if len(refused) > 10 else "")
            return NoPublicMxAddress(f"{domain}: no public address; refused {shown}"), ttl
        if candidates[0].implicit:
            message = f"{domain} has no MX and no A/AAAA record"
        else:
            message = f"no mail host of {domain} has an address: " + ", ".join(
                c.host for c in candidates
            )
        return NoMailServer(message), config.dns_negative_ttl_s

    async def _addresses(self, host: str) -> _Entry[HostAddresses]:
        return await self._hosts.get(host, lambda: self._fetch_addresses(host))

    async def _fetch_addresses(self, host: str) -> tuple[HostAddresses | DnsError, float]:
        config = self.config
        self._address_queries += 1
        try:
            found = await self.resolver.addresses(host)
        except DnsError as exc:
            return self._failed(exc)
        if not found.ips:
            return found, config.dns_negative_ttl_s
        return found, self._ttl(found.ttl)

    def _failed(self, exc: DnsError) -> tuple[DnsError, float]:
        """A failed question as it is cached: NXDOMAIN for the negative TTL; any other failure
        is transient (it says nothing about the name) and kept for the transient TTL."""
        if isinstance(exc, NoSuchDomain):
            return exc, self.config.dns_negative_ttl_s
        return DnsTransient(str(exc)), self.config.dns_transient_ttl_s

    def _ttl(self, record_ttl: float) -> float:
        return min(max(record_ttl, self.config.dns_ttl_min_s), self.config.dns_ttl_max_s)

    def _ordered(self, ips: Iterable[str]) -> list[str]:
        """Unique, valid addresses, IPv4 first (IPv6 first with prefer_ipv6), DNS order kept."""
        v4: list[str] = []
        v6: list[str] = []
        for text in ips:
            try:
                address = ipaddress.ip_address(text)
            except ValueError:
                continue
            family = v4 if address.version == 4 else v6
            if str(address) not in family:
                family.append(str(address))
        return v6 + v4 if self.config.prefer_ipv6 else v4 + v6

    def _allot(self, usable: list[tuple[MxHost, list[str]]]) -> tuple[MxHost, ...]:
        """At most max_addresses in all, dealt one per host in turn so every host keeps one."""
        allotted: list[list[str]] = [[] for _ in usable]
        budget = self.config.max_addresses
        depth = 0
        while budget > 0:
            dealt = False
            for share, (_, ips) in zip(allotted, usable, strict=True):
                if depth < len(ips) and budget > 0:
                    share.append(ips[depth])
                    budget -= 1
                    dealt = True
            if not dealt:
                break
            depth += 1
        return tuple(
            MxHost(host.host, host.preference, tuple(share), host.implicit)
            for share, (host, _) in zip(allotted, usable, strict=True)
            if share
        )

    def _shuffle_equals(self, hosts: tuple[MxHost, ...]) -> tuple[MxHost, ...]:
        # RFC 5321 §5.1 asks for random order among equal preferences on every delivery.
        if len({h.preference for h in hosts}) == len(hosts):
            return hosts
        keyed = [(h.preference, self._rng.random(), i) for i, h in enumerate(hosts)]
        return tuple(hosts[i] for _, _, i in sorted(keyed))


def _exchanges(records: Iterable[tuple[int, str]]) -> list[tuple[int, str]]:
    """(preference, host) without the root and without repeats (a repeated host keeps its best)."""
    best: dict[str, int] = {}
    for preference, host in records:
        name = host.lower().rstrip(".")
        if name and (name not in best or preference < best[name]):
            best[name] = preference
    return [(preference, host) for host, preference in best.items()]


def _dns_name(domain: str) -> str:
    """The lower-case A-label form of a domain, without the final dot."""
    name = domain.strip().rstrip(".").lower()
    if name.startswith("["):
        raise ValueError(
            f"{domain!r} is a domain literal: check it with engine.addresses.is_public_ip()"
        )
    if not name:
        raise NoSuchDomain(f"{domain!r} is not a domain")
    if not name.isascii():  # callers pass Address.ascii_domain; be kind to others
        try:
            name = idna.encode(name, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise NoSuchDomain(f"{domain!r} has no A-label form: {exc}") from None
    return name
