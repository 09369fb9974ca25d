"""Verifier: owns the Config, the data lists, the DNS and SMTP backends and their caches.

Real backends are built on first use, never at import; tests inject fakes or point the real
ones at loopback servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

from engine.config import Config
from engine.datasets import Datasets
from engine.errors import InternalError, InvalidAddress
from engine.model import Result, Timings
from engine.pending import PendingCheck
from engine.pipeline import (
    Deps,
    MxStage,
    ProbeStage,
    Watchdog,
    check_offline,
    check_one,
    offline_stage,
    timed_out,
    within,
)
from engine.progress import Progress
from engine.typos import TypoCorrector
from engine.verdict import error_result

if TYPE_CHECKING:
    from engine.bulk import BulkChecker
    from engine.cache import ResultCache
    from engine.clock import Clock
    from engine.mx import Resolver
    from engine.politeness import Gates
    from engine.smtp import SmtpTransport

log = logging.getLogger(__name__)

T = TypeVar("T")

# Longer inputs are refused before any parsing: no address is longer than 254 octets, and a
# clean-up never needs more than this much surrounding noise.
MAX_INPUT_CHARS = 4096


def coerce_input(raw: object) -> str | None:
    """The input as text, or None when it cannot be an address at all (wrong type)."""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, (bytes, bytearray)):
        return bytes(raw).decode("utf-8", errors="surrogateescape")
    return None


class Verifier:
    """Verifies addresses with shared caches; use as `async with Verifier(config) as v:`."""

    def __init__(
        self,
        config: Config | None = None,
        *,
        datasets: Datasets | None = None,
        resolver: Resolver | None = None,
        transport: SmtpTransport | None = None,
        clock: Clock | None = None,
        mx: MxStage | None = None,
        prober: ProbeStage | None = None,
    ) -> None:
        self.config = config if config is not None else Config()
        self.datasets = datasets if datasets is not None else Datasets(self.config.data_dir)
        self._resolver = resolver
        self._transport = transport
        self._clock = clock
        self._mx = mx
        self._prober = prober
        self._deps: Deps | None = None
        self._bulk: BulkChecker | None = None
        self._gates: Gates | None = None
        self._cache: ResultCache | None = None
        self._deps_lock = threading.Lock()  # the first check may build them off the loop
        self._warm = False  # the data lists are loaded (a first offline stage has run)
        self._watchdog = Watchdog()  # the time limit of every check begun here, on one timer

    @property
    def clock(self) -> Clock:
        """The clock every retry, back-off and budget reads (the system's unless injected)."""
        if self._clock is None:
            from engine.clock import SystemClock

            self._clock = SystemClock()
        return self._clock

    @property
    def gates(self) -> Gates:
        """Politeness limits shared by every session this Verifier opens, bulk or one by one."""
        if self._gates is None:
            from engine.politeness import Gates

            self._gates = Gates(self.config.politeness, self.clock)
        return self._gates

    @property
    def deps(self) -> Deps:
        """The stage bundle, built on first use."""
        if self._deps is None:
            with self._deps_lock:
                if self._deps is None:
                    self._deps = self._build_deps()
        return self._deps

    def _build_deps(self) -> Deps:
        config = self.config
        typos = TypoCorrector.from_datasets(self.datasets) if config.suggest_typos else None
        mx = self._mx
        prober = self._prober
        provider: Callable[[str], str | None] = _no_provider
        ip_allowed: Callable[[str], bool] = _no_ip
        if config.check_dns:
            from engine.addresses import is_public_ip
            from engine.mx import MxLookup
            from engine.providers import smtp_provider

            if mx is None:
                mx = MxLookup(config, self._resolver, clock=self.clock.monotonic)
            table = self.datasets.smtp_providers

            # Per Verifier, bounded: a list has few distinct MX hosts.
            @functools.lru_cache(maxsize=4096)
            def provider_of(host: str) -> str | None:
                return smtp_provider(host, table)

            provider = provider_of
            ip_allowed = is_public_ip
            if prober is None and config.check_smtp:
                from engine.politeness import PoliteTransport
                from engine.probe import SmtpProber
                from engine.smtp import AioSmtpTransport

                if config.egresses:
                    from engine.egress import EgressPool

                    gates = self.gates
                    pool = EgressPool.build(
                        config,
                        provider=provider,
                        transport=self._transport,
                        wrap=lambda e, t: PoliteTransport(t, gates, provider, egress=e.name),
                    )
                    first = pool.transport(pool.router.egresses[0].name)
                    prober = SmtpProber(first, config, self.clock, egresses=pool)
                else:
                    transport = self._transport or AioSmtpTransport(config)
                    polite = PoliteTransport(transport, self.gates, provider)
                    prober = SmtpProber(polite, config, self.clock)
        self._mx, self._prober = mx, prober
        return Deps(
            config=config,
            datasets=self.datasets,
            typos=typos,
            mx=mx if config.check_dns else None,
            prober=prober if config.check_smtp else None,
            provider=provider,
            ip_allowed=ip_allowed,
            now=self.clock.monotonic,
        )

    def check_offline(self, raw: object) -> Result:
        """Synchronous offline check (syntax, typos, flags); never raises."""
        text = coerce_input(raw)
        if text is None or len(text) > MAX_INPUT_CHARS:
            return _refused(raw, text)
        try:
            result = check_offline(text, self.deps)
            self._warm = True
            return result
        except Exception:
            log.exception("internal error")
            return error_result(text, InternalError(), Timings())

    async def averify(self, raw: object, *, timeout_s: float | None = None) -> Result:
        """Verify one address; never raises (cancellation passes through).

        The check ends within `Timeouts.budget_s` (DNS included) whatever the servers do. With
        `timeout_s` (seconds) it returns by then, never later: if the check has not ended, it
        is stopped and the Result is what is known, unknown/Timeout, with notes saying which
        stage was running.
        """
        pending = self.begin(raw)
        try:
            if timeout_s is None:
                return await pending.result()
            if not await pending.wait(timeout_s):
                pending.cancel()
            return pending.snapshot()
        except asyncio.CancelledError:
            pending.cancel()
            raise

    def verify(self, raw: object, *, timeout_s: float | None = None) -> Result:
        """Blocking form of averify(); not for use inside a running event loop."""
        return asyncio.run(self.averify(raw, timeout_s=timeout_s))

    def begin(self, raw: object) -> PendingCheck:
        """Start checking one address in the background; call from a running event loop.

        The check ends within `Timeouts.budget_s` of now; meanwhile `snapshot()` gives what is
        known so far. For services that must answer within a caller's timeout and keep the
        check's answer for later. Never raises.
        """
        text = coerce_input(raw)
        if text is None or len(text) > MAX_INPUT_CHARS:
            return PendingCheck.done_with(_refused(raw, text))
        budget_s = self.config.timeouts.budget_s
        progress = Progress(text, time.perf_counter(), self.clock.monotonic() + budget_s)
        work = within(budget_s, progress, self._run(progress), self.config, self._watchdog)
        task = asyncio.ensure_future(work)
        return PendingCheck(task, lambda: timed_out(progress, self.config))

    async def _run(self, progress: Progress) -> Result:
        text = progress.raw
        try:
            if not self._warm:
                # The first check loads the data lists (a few hundred ms): off the event loop,
                # so a caller's timeout holds even then.
                found = await _off_loop(lambda: offline_stage(text, self.deps, progress.started))
                self._warm = True
                # A syntax failure is answered by check_one, which checks its suggestion in DNS.
                if not isinstance(found, Result):
                    progress.findings = found
            return await check_one(text, self.deps, progress)
        except Exception:
            log.exception("internal error")
            return error_result(text, InternalError(), Timings())

    def bulk(self, *, cache: ResultCache | None = None, refresh: bool = False) -> BulkChecker:
        """The bulk checker: addresses grouped per MX host, sessions reused, polite limits.

        `cache` (e.g. engine.cache.SqliteCache) keeps settled results between runs; with
        `refresh`, cached results are not read, only replaced.
        """
        if self._bulk is None:
            from engine.bulk import BulkChecker
            from engine.smtp import AioSmtpTransport, Identity

            transport = self._transport or AioSmtpTransport(self.config)
            identity = Identity(self.config)
            pool = None
            if self.config.egresses:
                from engine.egress import EgressPool

                pool = EgressPool.build(
                    self.config, provider=self.deps.provider, transport=self._transport
                )
            self._cache = cache
            self._bulk = BulkChecker(
                self.deps,
                transport,
                sender=identity.sender,
                clock=self.clock,
                cache=cache,
                gates=self.gates,
                refresh=refresh,
                egresses=pool,
            )
        return self._bulk

    async def aclose(self) -> None:
        """Close open SMTP sessions and caches."""
        for part in (self._bulk, self._cache, self._prober, self._mx):
            close = getattr(part, "aclose", None)
            if close is not None:
                await close()

    async def __aenter__(self) -> Verifier:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def _no_provider(host: str) -> str | None:
    return None


def _no_ip(ip: str) -> bool:
    return False


def _refused(raw: object, text: str | None) -> Result:
    start = time.perf_counter()
    if text is None:
        shown = repr(raw)[:200]
        exc = InvalidAddress(f"not text: {type(raw).__name__}")
    else:
        shown = text[:200] + "..."
        exc = InvalidAddress(f"input longer than {MAX_INPUT_CHARS} characters")
    return error_result(shown, exc, Timings(total_ms=(time.perf_counter() - start) * 1000))


async def averify(
    address: object, config: Config | None = None, *, timeout_s: float | None = None
) -> Result:
    """Verify one address with a one-off Verifier; never raises. `timeout_s` as in
    Verifier.averify()."""
    async with Verifier(config) as verifier:
        return await verifier.averify(address, timeout_s=timeout_s)


def verify(
    address: object, config: Config | None = None, *, timeout_s: float | None = None
) -> Result:
    """Blocking form of averify(); not for use inside a running event loop."""
    return asyncio.run(averify(address, config, timeout_s=timeout_s))


async def _off_loop(work: Callable[[], T]) -> T:
    """`work()` in a thread of its own, awaited without blocking the loop.

    A daemon thread rather than the loop's executor: a caller that stops waiting (a time
    limit) never waits for it, not even when asyncio.run() shuts its loop down.
    """
    loop = asyncio.get_running_loop()
    landed: asyncio.Future[T] = loop.create_future()

    def settle(value: T | None, error: Exception | None) -> None:
        if landed.done():  # the waiter gave up (cancelled)
            return
        if error is not None:
            landed.set_exception(error)
        else:
            landed.set_result(value)  # type: ignore[arg-type]

    def run() -> None:
        value: T | None = None
        error: Exception | None = None
        try:
            value = work()
        except Exception as exc:  # handed to the awaiting task
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits any more
            loop.call_soon_threadsafe(settle, value, error)

    threading.Thread(target=run, name="mailprobe-data", daemon=True).start()
    return await landed
