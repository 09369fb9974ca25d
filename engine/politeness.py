"""Limits that keep bulk runs polite: per-MX-host and per-provider session caps, a global cap,
a cap on new connections per minute per host, and back-off after 421s and bursts of 4xx.

Host and provider limits hold per egress (Config.egresses): a mail server judges each client
IP on its own, and greylisting and back-off belong to the IP that earned them.

Reads an injected Clock; knows nothing of SMTP itself.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from engine.clock import Clock
from engine.config import Politeness

_WINDOW_S = 60.0

S_co = TypeVar("S_co", covariant=True)


@dataclass
class HostState:
    """What the gates know about one MX host."""

    sessions: asyncio.Semaphore
    connects: deque[float] = field(default_factory=deque)  # times of recent new connections
    blocked_until: float = 0.0  # back-off: no new session before this time
    backoff_s: float = 0.0
    active: int = 0
    peak: int = 0
    opened: int = 0


class Gates:
    """Hands out permission to open a session to an MX host, within every limit."""

    def __init__(self, limits: Politeness, clock: Clock) -> None:
        self.limits = limits
        self.clock = clock
        self._global = asyncio.Semaphore(limits.sessions_total)
        self._providers: dict[tuple[str, str], asyncio.Semaphore] = {}
        self._hosts: dict[tuple[str, str], HostState] = {}  # (egress, host) -> state
        self.active_total = 0
        self.peak_total = 0

    def state(self, host: str, egress: str = "") -> HostState:
        st = self._hosts.get((egress, host))
        if st is None:
            st = HostState(sessions=asyncio.Semaphore(self.limits.sessions_per_host))
            self._hosts[(egress, host)] = st
        return st

    def peak_per_host(self) -> dict[str, int]:
        """The most concurrent sessions to each host through any one egress."""
        peaks: dict[str, int] = {}
        for (_, host), st in self._hosts.items():
            peaks[host] = max(peaks.get(host, 0), st.peak)
        return peaks

    def opened_per_host(self) -> dict[str, int]:
        """Sessions opened to each host, all egresses together."""
        opened: dict[str, int] = {}
        for (_, host), st in self._hosts.items():
            opened[host] = opened.get(host, 0) + st.opened
        return opened

    def peak_per_egress(self) -> dict[tuple[str, str], int]:
        """The most concurrent sessions per (egress, host)."""
        return {key: st.peak for key, st in self._hosts.items()}

    @contextlib.asynccontextmanager
    async def session(
        self, host: str, provider: str | None = None, egress: str = ""
    ) -> AsyncIterator[None]:
        """Hold a session slot for `host` (and its provider) through `egress` while the block
        runs ("" is the one egress of a Config without egresses).

        Waits for the host's back-off and for a connection-rate slot before yielding.
        """
        st = self.state(host, egress)
        provider_sem = None
        if provider:
            provider_sem = self._providers.setdefault(
                (egress, provider), asyncio.Semaphore(self.limits.sessions_per_provider)
            )
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(st.sessions)
            if provider_sem is not None:
                await stack.enter_async_context(provider_sem)
            await stack.enter_async_context(self._global)
            await self._wait_for_slot(st)
            st.active += 1
            st.opened += 1
            st.peak = max(st.peak, st.active)
            self.active_total += 1
            self.peak_total = max(self.peak_total, self.active_total)
            try:
                yield
            finally:
                st.active -= 1
                self.active_total -= 1

    async def _wait_for_slot(self, st: HostState) -> None:
        cap = self.limits.connections_per_minute_per_host
        for _ in range(10_000):  # bounded: each pass either returns or sleeps forward
            now = self.clock.monotonic()
            while st.connects and now - st.connects[0] >= _WINDOW_S:
                st.connects.popleft()
            wait = st.blocked_until - now
            if cap and len(st.connects) >= cap:
                wait = max(wait, st.connects[0] + _WINDOW_S - now)
            if wait <= 0:
                if cap:  # 0: no cap on the rate, so no need to remember the connections
                    st.connects.append(now)
                return
            await self.clock.sleep(wait)
        raise RuntimeError("connection slot never came free")  # pragma: no cover

    def back_off(self, host: str, egress: str = "") -> float:
        """Record a 421 or a burst of 4xx from `host`; returns the new back-off in seconds."""
        st = self.state(host, egress)
        base, top = self.limits.backoff_base_s, self.limits.backoff_max_s
        st.backoff_s = min(top, st.backoff_s * 2 if st.backoff_s else base)
        st.blocked_until = max(st.blocked_until, self.clock.monotonic() + st.backoff_s)
        return st.backoff_s

    def recovered(self, host: str, egress: str = "") -> None:
        """A session with `host` went well: forget its back-off."""
        self.state(host, egress).backoff_s = 0.0


class _Opens(Protocol[S_co]):
    def open(self, host: str, ip: str, port: int) -> AbstractAsyncContextManager[S_co]: ...


class PoliteTransport(Generic[S_co]):
    """Wraps a transport so every session it opens holds a slot from `gates` first.

    The one-address path (Verifier.averify) uses it, so callers that verify many addresses
    concurrently one by one get the same per-host caps and connection rate as bulk runs.
    """

    def __init__(
        self,
        inner: _Opens[S_co],
        gates: Gates,
        provider: Callable[[str], str | None],
        *,
        egress: str = "",
    ) -> None:
        self._inner = inner
        self._gates = gates
        self._provider = provider
        self._egress = egress

    @contextlib.asynccontextmanager
    async def open(self, host: str, ip: str, port: int) -> AsyncIterator[S_co]:
        async with (
            self._gates.session(host, self._provider(host), self._egress),
            self._inner.open(host, ip, port) as session,
        ):
            yield session
