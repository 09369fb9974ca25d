"""Egress fail-over in bulk runs: after a proxy fault on an egress (its proxy failed before the
mail host said a word), that host's addresses go through another egress its route allows, for
a while; with no other egress allowed, they keep theirs.

Bookkeeping over an EgressPool and a Clock: no connections, no queues, no verdicts.
"""

from __future__ import annotations

from engine.clock import Clock
from engine.egress import EgressPool

__all__ = ["EgressFailover"]

# After a proxy fault, the egress is passed over for the host this long (Clock seconds): long
# enough that a dead proxy does not cost every address a failed session, short enough that a
# proxy back from a restart serves the host again within minutes.
_REST_S = 120.0


class EgressFailover:
    """Which egress a bulk run's new addresses for a mail host take, and where the addresses
    of an egress that failed go instead. Owned by one bulk checker."""

    def __init__(self, pool: EgressPool, clock: Clock) -> None:
        self._pool = pool
        self._clock = clock
        self._faults: dict[str, dict[str, float]] = {}  # host -> egress -> rests until

    def pick(self, host: str) -> str:
        """The egress for a new address of `host`: routes first, else in turn, passing over
        the egresses that failed toward it lately."""
        if host not in self._faults:
            return self._pool.pick(host)
        return self._pool.pick(host, self._resting(host))

    def failed(self, egress: str, host: str) -> None:
        """The proxy of `egress` failed on the way to `host`."""
        self._faults.setdefault(host, {})[egress] = self._clock.monotonic() + _REST_S

    def instead_of(self, egress: str, host: str) -> str | None:
        """Another egress the route allows for `host` while `egress` rests after a proxy fault;
        None when `egress` is not resting or no other egress may serve the host."""
        resting = self._resting(host)
        if egress not in resting:
            return None
        other = self._pool.pick(host, resting)
        return None if other in resting else other

    def _resting(self, host: str) -> frozenset[str]:
        now = self._clock.monotonic()
        faults = self._faults.get(host, {})
        for egress in [e for e, until in faults.items() if until <= now]:
            del faults[egress]
        if not faults:
            self._faults.pop(host, None)
        return frozenset(faults)
