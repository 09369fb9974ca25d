"""Job events inside the process: progress and completion, fanned out to server-sent-event streams.

Progress is a snapshot, so a slow listener only ever misses intermediate ones; the final event
always gets through.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

_QUEUE = 16


@dataclass(frozen=True, slots=True)
class Event:
    kind: str  # "progress", "started", "completed", "failed", "cancelled"
    data: dict[str, Any]

    @property
    def final(self) -> bool:
        return self.kind in ("completed", "failed", "cancelled")


class JobEvents:
    """Subscribers per job id; publish never blocks."""

    def __init__(self) -> None:
        self._subs: dict[str, set[asyncio.Queue[Event]]] = {}

    def publish(self, job_id: str, event: Event) -> None:
        for queue in self._subs.get(job_id, ()):
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()  # drop the oldest snapshot; the newest says more
            queue.put_nowait(event)

    @contextlib.asynccontextmanager
    async def subscribe(self, job_id: str) -> AsyncIterator[asyncio.Queue[Event]]:
        queue: asyncio.Queue[Event] = asyncio.Queue(_QUEUE)
        self._subs.setdefault(job_id, set()).add(queue)
        try:
            yield queue
        finally:
            subs = self._subs.get(job_id)
            if subs is not None:
                subs.discard(queue)
                if not subs:
                    del self._subs[job_id]

    def listeners(self, job_id: str) -> int:
        return len(self._subs.get(job_id, ()))
