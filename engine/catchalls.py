"""Each domain's catch-all answer in a bulk run: asked once, by one probe RCPT in one session,
kept for the run (and, when settled, in the result cache), and waited for by the addresses
that another session accepted meanwhile.

Bookkeeping only: the probes go out in the bulk checker's transactions; the cache is written
through the `spawn` callable the checker gives (so closing the checker waits for it).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any

from engine.cache import ResultCache
from engine.model import Reply
from engine.replies import catch_all_verdict
from engine.smtp import guard_argument, random_local

__all__ = ["CatchAll", "CatchAlls"]

_CATCH_ALL_TTL_S = 7 * 86400.0  # a domain's catch-all verdict, kept in the result cache


@dataclass(slots=True)
class CatchAll:
    """What a domain's catch-all probe found."""

    verdict: bool | None  # None: asked, answer inconclusive
    reply: Reply | None  # None: the verdict came from the result cache


class CatchAlls:
    """The catch-all answers of one bulk run, the probes out, and who waits for them."""

    def __init__(
        self,
        *,
        detect: bool,
        cache: ResultCache | None,
        refresh: bool,
        spawn: Callable[[Coroutine[Any, Any, None]], None],
    ) -> None:
        self._detect = detect
        self._cache = None if refresh else cache  # read from; written through `spawn`
        self._store = cache
        self._spawn = spawn
        self._known: dict[str, CatchAll] = {}
        self._pending: set[str] = set()
        # Accepted addresses of a domain whose catch-all probe is still out in another session.
        self._awaiting: dict[str, list[Callable[[], None]]] = {}

    def get(self, domain: str) -> CatchAll | None:
        """The domain's answer, if it was asked (or cached)."""
        return self._known.get(domain)

    def to_load(self, domain: str) -> bool:
        """Whether `load(domain)` may find a cached verdict (checked first: most addresses
        need no coroutine at all)."""
        return self._cache is not None and domain not in self._known

    async def load(self, domain: str) -> None:
        """Take the domain's verdict from the result cache, if it holds one."""
        if domain in self._known or self._cache is None:
            return
        value = await self._cache.get_domain(domain, "catch_all")
        if value is not None:
            self._known[domain] = CatchAll(value == "true", None)

    def needs_probe(self, domain: str) -> bool:
        """Whether a transaction with an address of `domain` should carry its probe."""
        return self._detect and domain not in self._known and domain not in self._pending

    def is_pending(self, domain: str) -> bool:
        """Whether the domain's probe is out, its answer still to come."""
        return domain in self._pending

    def probes(self, domains: Iterable[str]) -> list[tuple[str, str]]:
        """(domain, probe recipient) for each of `domains` still to be asked, now pending."""
        probes = []
        for domain in dict.fromkeys(domains):
            if not self.needs_probe(domain):
                continue
            self._pending.add(domain)
            probes.append((domain, guard_argument(f"{random_local()}@{domain}")))
        return probes

    def failed(self, domains: Iterable[str]) -> None:
        """The probes of these domains got no answer: ask again later, release who waits."""
        for domain in domains:
            self._pending.discard(domain)
            self._release(domain)

    def record(self, domain: str, reply: Reply, host: str) -> None:
        """The probe's reply from `host`: the domain's answer; release who waits for it."""
        self._pending.discard(domain)
        verdict = catch_all_verdict(reply, host=host)
        self._known[domain] = CatchAll(verdict, reply)
        if verdict is not None and self._store is not None:
            self._spawn(
                self._store.put_domain(domain, "catch_all", str(verdict).lower(), _CATCH_ALL_TTL_S)
            )
        self._release(domain)

    def wait(self, domain: str, then: Callable[[], None]) -> None:
        """Call `then` once the domain's pending probe is answered or has failed."""
        self._awaiting.setdefault(domain, []).append(then)

    def _release(self, domain: str) -> None:
        for then in self._awaiting.pop(domain, ()):
            then()
