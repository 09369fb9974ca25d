"""Bulk verification on a Ray cluster, from the library:

    from engine import Config
    from engine.scaleout import ScaleOut, averify_many

    async for result in averify_many(addresses, config, ScaleOut(address="auto")):
        print(result.input, result.state.value)

One Result per input, in input order. This process (the driver) parses, resolves, keeps the
result cache and makes every verdict; one worker per egress asks the SMTP questions on the node
that owns the egress. Ray loads when a run starts (`pip install 'mailprobe[ray]'`).
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import AsyncIterator, Iterable
from types import TracebackType
from typing import TYPE_CHECKING

from engine.cache import ResultCache
from engine.config import Config
from engine.model import Result
from engine.ordered import check_many
from engine.routing import DIRECT
from engine.scaleout.config import ScaleOut
from engine.scaleout.driver import ClusterChecker
from engine.scaleout.errors import ClusterError
from engine.scaleout.worker import WorkerStats
from engine.verifier import Verifier

if TYPE_CHECKING:
    from engine.scaleout.cluster import Cluster

__all__ = ["RAY_EXTRA_HINT", "ClusterVerifier", "averify_many", "verify_many"]

RAY_EXTRA_HINT = "Ray is not installed: pip install 'mailprobe[ray]'"


class ClusterVerifier:
    """Verifies addresses with the SMTP stage spread over a Ray cluster.

    `async with ClusterVerifier(config, ScaleOut(address=...)) as cv:` joins the cluster and
    starts the egress workers (raising engine.scaleout.cluster.ClusterError when it cannot);
    `await cv.check(raw)` never raises. On exit the workers end their sessions and stop; the
    verifier and cache given are closed too.

    Args:
        verifier: the driver's Verifier (its DNS resolver, data lists and clock); by default
            one built from `config`.
        cache: settled results kept between runs (engine.cache.SqliteCache), on the driver.
        refresh: do not read cached results (still store new ones).
    """

    def __init__(
        self,
        config: Config | None = None,
        scaleout: ScaleOut | None = None,
        *,
        verifier: Verifier | None = None,
        cache: ResultCache | None = None,
        refresh: bool = False,
    ) -> None:
        if verifier is None:
            verifier = Verifier(config)
        self.config = verifier.config
        self.scaleout = scaleout if scaleout is not None else ScaleOut()
        self.egresses = self.config.egresses or (DIRECT,)
        self.workers: tuple[WorkerStats, ...] = ()  # each worker's counters, read at close
        self._verifier = verifier
        self._cache = cache
        self._refresh = refresh
        self._cluster: Cluster | None = None
        self._checker: ClusterChecker | None = None

    async def start(self) -> None:
        """Join the cluster and wait for every egress's worker; raises ClusterError."""
        if importlib.util.find_spec("ray") is None:
            raise ClusterError(RAY_EXTRA_HINT)
        from engine.scaleout.cluster import Cluster  # Ray loads here, not at import

        cluster = Cluster(self.config, self.egresses, self.scaleout)
        self._cluster = cluster
        cluster.start()
        await cluster.ready()
        self._checker = ClusterChecker(
            self._verifier.deps,
            cluster.probe,
            self.scaleout,
            clock=self._verifier.clock,
            cache=self._cache,
            refresh=self._refresh,
        )

    @property
    def cluster(self) -> Cluster:
        """The running workers (for tests and diagnostics)."""
        if self._cluster is None:
            raise RuntimeError("ClusterVerifier not started: use `async with`")
        return self._cluster

    async def check(self, raw: str) -> Result:
        """Verify one input; never raises (cancellation passes through)."""
        if self._checker is None:
            raise RuntimeError("ClusterVerifier not started: use `async with`")
        return await self._checker.check(raw)

    def summary(self) -> str:
        """One line on what the cluster did: workers, sessions, RCPTs, the politeness bound."""
        checker = self._checker
        if checker is None:
            return "cluster: not started"
        sessions = sum(w.sessions for w in self.workers)
        rcpts = sum(w.rcpts for w in self.workers)
        sent = ", ".join(f"{n} {c}" for n, c in sorted(checker.batches.sent.items())) or "none"
        owners = max(checker.owners.owners_per_host().values(), default=0)
        per_host = self.config.politeness.sessions_per_host
        resent = self._cluster.resent if self._cluster is not None else 0
        return (
            f"SMTP on Ray: egress workers {len(self.egresses)}, sessions {sessions}, "
            f"RCPTs {rcpts}; addresses per egress: {sent}; each MX host asked through at most "
            f"{owners} egress(es), so at most {owners * per_host} sessions at once in the "
            f"cluster; batches sent again after a worker restart: {resent}; "
            f"cache hits {checker.stats.cache_hits}"
        )

    async def aclose(self) -> None:
        """Stop the workers (after QUIT) and close the verifier and cache."""
        try:
            if self._cluster is not None:
                self.workers = tuple(await self._cluster.stats())
            if self._checker is not None:
                await self._checker.aclose()
        finally:
            try:
                if self._cluster is not None:
                    await self._cluster.aclose()
            finally:
                await self._verifier.aclose()
                if self._cache is not None:
                    await self._cache.aclose()

    async def __aenter__(self) -> ClusterVerifier:
        try:
            await self.start()
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


async def averify_many(
    inputs: Iterable[str],
    config: Config | None = None,
    scaleout: ScaleOut | None = None,
    *,
    cache: ResultCache | None = None,
    window: int = 2000,
) -> AsyncIterator[Result]:
    """One Result per input, in input order, with at most `window` addresses in flight.

    Raises ClusterError before the first result when the cluster cannot run the job."""
    async with ClusterVerifier(config, scaleout, cache=cache) as verifier:
        async for _, result in check_many(inputs, verifier.check, window=window):
            yield result


def verify_many(
    inputs: Iterable[str],
    config: Config | None = None,
    scaleout: ScaleOut | None = None,
    *,
    cache: ResultCache | None = None,
    window: int = 2000,
) -> list[Result]:
    """Blocking form of averify_many(); not for use inside a running event loop."""

    async def collect() -> list[Result]:
        return [r async for r in averify_many(inputs, config, scaleout, cache=cache, window=window)]

    return asyncio.run(collect())
