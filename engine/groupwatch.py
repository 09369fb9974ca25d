"""The bulk checker's watch over a session's group: the transaction in flight is dropped once
every address of its group has reached its time limit while the server keeps them waiting.

One timer per group on the event loop; no SMTP, no clock of its own, no verdicts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from typing import Any

from engine.hostqueue import Job

__all__ = ["Abandoned", "GroupWatch", "unless_all_end"]

_LOOK_AGAIN_S = 0.05  # a stuck group whose addresses are not all ended yet is looked at again


class Abandoned(Exception):
    """A session's group was given up: every address in it reached its time limit."""


async def unless_all_end(batch: Sequence[Job], work: Coroutine[Any, Any, int]) -> int:
    """`work`'s value; if every job of `batch` ends first (their time limits, while the server
    keeps them waiting), `work` is cancelled and Abandoned raised."""
    task = asyncio.get_running_loop().create_task(work)
    watch = GroupWatch(batch, task)
    try:
        return await task
    except asyncio.CancelledError:
        if not watch.abandoned:
            raise  # the worker itself is being stopped
        raise Abandoned from None
    finally:
        watch.stop()


class GroupWatch:
    """One timer, at the last limit of a group's jobs, that cancels the group's transaction
    once every job in it has ended. Holds no reference cycle: after `stop()` nothing keeps
    the group's jobs alive."""

    __slots__ = ("_batch", "_task", "_timer", "abandoned")

    def __init__(self, batch: Sequence[Job], task: asyncio.Task[int]) -> None:
        self._batch = batch
        self._task = task
        self.abandoned = False
        when = max(job.expires for job in batch)
        self._timer: asyncio.TimerHandle | None = task.get_loop().call_at(when, self._look)

    def _look(self) -> None:
        self._timer = None
        if self._task.done():
            return
        if all(job.future.done() for job in self._batch):
            self.abandoned = self._task.cancel()
        else:  # a limit is about to be applied: look again shortly
            self._timer = self._task.get_loop().call_later(_LOOK_AGAIN_S, self._look)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
