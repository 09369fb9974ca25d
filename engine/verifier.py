"""Verifier: owns the Config, the data lists, the DNS and SMTP backends and their caches.

Real backends are built on first use, never at import; tests inject fakes or point the real
ones at loopback servers.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING

from engine.config import Config
from engine.datasets import Datasets
from engine.errors import InternalError, InvalidAddress
from engine.model import Result, Timings
from engine.pipeline import Deps, MxStage, ProbeStage, check_offline, check_one
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
        )

    def check_offline(self, raw: object) -> Result:
        """Synchronous offline check (syntax, typos, flags); never raises."""
        text = coerce_input(raw)
        if text is None or len(text) > MAX_INPUT_CHARS:
            return _refused(raw, text)
        try:
            return check_offline(text, self.deps)
        except Exception:
            log.exception("internal error")
            return error_result(text, InternalError(), Timings())

    async def averify(self, raw: object) -> Result:
        """Verify one address; never raises (cancellation passes through)."""
        text = coerce_input(raw)
        if text is None or len(text) > MAX_INPUT_CHARS:
            return _refused(raw, text)
        try:
            return await check_one(text, self.deps)
        except Exception:
            log.exception("internal error")
            return error_result(text, InternalError(), Timings())

    def verify(self, raw: object) -> Result:
        """Blocking form of averify(); not for use inside a running event loop."""
        return asyncio.run(self.averify(raw))

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


async def averify(address: object, config: Config | None = None) -> Result:
    """Verify one address with a one-off Verifier; never raises."""
    async with Verifier(config) as verifier:
        return await verifier.averify(address)


def verify(address: object, config: Config | None = None) -> Result:
    """Blocking form of averify(); not for use inside a running event loop."""
    return asyncio.run(averify(address, config))
