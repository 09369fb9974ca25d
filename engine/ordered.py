"""An ordered, windowed async map: results in input order, a bounded number of checks in flight.

Pure asyncio; it knows nothing of SMTP or DNS, only that each check returns a Result.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import TypeVar

from engine.model import Result

T = TypeVar("T")


async def check_many(
    items: Iterable[T],
    check: Callable[[T], Awaitable[Result]],
    *,
    window: int = 64,
) -> AsyncIterator[tuple[T, Result]]:
    """Yield (item, result) pairs in input order, with at most `window` checks in flight."""
    if window < 1:
        raise ValueError("window must be >= 1")
    pending: deque[tuple[T, asyncio.Task[Result]]] = deque()
    try:
        for item in items:
            pending.append((item, asyncio.ensure_future(check(item))))
            while len(pending) >= window or (pending and pending[0][1].done()):
                head, task = pending.popleft()
                yield head, await task
        while pending:
            head, task = pending.popleft()
            yield head, await task
    finally:
        for _, task in pending:
            task.cancel()
