"""Single checks with a bounded wait: start a check, wait up to a time limit, answer what is known.

A check that outlives its caller's limit goes on; the same question asked again within
`Settings.recent_ttl_s` is answered from it (finished or still running), never probed again.
`start_check` is the one place that knows how a check is started and watched.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from engine import PendingCheck
from engine.model import Result
from engine.verifier import Verifier


class _Started:
    """A check begun with `Verifier.begin()`, which can also call back when it ends (the
    service stores the result in the engine's cache then)."""

    def __init__(self, pending: PendingCheck) -> None:
        self._pending = pending
        self._watcher: asyncio.Task[bool] | None = None

    def done(self) -> bool:
        return self._pending.done()

    async def wait(self, timeout_s: float) -> bool:
        return await self._pending.wait(timeout_s)

    def snapshot(self) -> Result:
        return self._pending.snapshot()

    async def result(self) -> Result:
        return await self._pending.result()

    def cancel(self) -> None:
        self._pending.cancel()

    def add_done_callback(self, fn: Callable[[], None]) -> None:
        self._watcher = asyncio.ensure_future(self._pending.wait(None))
        self._watcher.add_done_callback(lambda _: fn())


def start_check(verifier: Verifier, raw: str) -> _Started:
    """Start checking `raw` in the background and return a handle to watch it."""
    return _Started(verifier.begin(raw))


@dataclass(frozen=True, slots=True)
class Answer:
    """What a single check returns to a route."""

    result: Result
    complete: bool  # the check finished within the wait
    cached: bool  # answered from the result cache or from an earlier check of the same question
    retry_after_s: int | None  # when incomplete: when asking again is worth it


class RecentChecks:
    """Checks started in the last `ttl_s` seconds, by question; bounded to `max_entries`."""

    def __init__(
        self,
        verifier: Verifier,
        *,
        ttl_s: float,
        max_entries: int,
        cache_get: Callable[[str], Awaitable[Result | None]] | None = None,
        cache_put: Callable[[Result], object] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._verifier = verifier
        self._ttl_s = ttl_s
        self._max = max_entries
        self._clock = clock
        self._cache_get = cache_get
        self._cache_put = cache_put
        self._checks: OrderedDict[str, tuple[float, _Started]] = OrderedDict()
        self.started = 0  # checks that went to the network

    def _key(self, raw: str) -> tuple[str, Result]:
        offline = self._verifier.check_offline(raw)
        # The normalized address when there is one: "Jane@Example.com" and "jane@example.com"
        # are one question for the domain part, and the local part is kept as given.
        return (offline.email or raw), offline

    def _expire(self, now: float) -> None:
        # Oldest first; a check dropped here still runs to its end, it is only not reused.
        while self._checks:
            at = next(iter(self._checks.values()))[0]
            if now - at < self._ttl_s and len(self._checks) <= self._max:
                return
            self._checks.popitem(last=False)

    async def ask(self, raw: str, wait_s: float) -> Answer:
        """Answer `raw` within about `wait_s` seconds; never raises."""
        now = self._clock()
        self._expire(now)
        key, offline = self._key(raw)
        entry = self._checks.get(key)
        reused = entry is not None
        if entry is None:
            if offline.email is None or not self._verifier.config.check_dns:
                return Answer(offline, True, False, None)
            if self._cache_get is not None:
                cached = await self._cache_get(offline.email)
                if cached is not None:
                    return Answer(replace(cached, input=raw), True, True, None)
            check = start_check(self._verifier, raw)
            self.started += 1
            if self._cache_put is not None:
                put = self._cache_put
                check.add_done_callback(lambda: _store_result(check, put))
            self._checks[key] = (now, check)
        else:
            check = entry[1]
        finished = await check.wait(wait_s)
        result = check.snapshot()
        if result.input != raw:
            result = replace(result, input=raw)
        retry = None if finished else max(1, min(30, round(wait_s) or 1))
        return Answer(result, finished, reused, retry)

    def cancel_all(self) -> None:
        for _, check in self._checks.values():
            check.cancel()
        self._checks.clear()

    def __len__(self) -> int:
        return len(self._checks)


def _store_result(check: _Started, put: Callable[[Result], object]) -> None:
    if check.done():
        with contextlib.suppress(Exception):
            put(check.snapshot())
