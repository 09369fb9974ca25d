"""PendingCheck: one check running in the background, for callers with a deadline of their own.

A caller waits for it as long as it may, answers with what is known so far, and can take the
final Result later; the check goes on meanwhile. No I/O here, only the task and its progress.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from engine.errors import InternalError
from engine.model import Result, Timings
from engine.verdict import error_result

__all__ = ["PendingCheck"]

log = logging.getLogger(__name__)


class PendingCheck:
    """A check begun with `Verifier.begin()`; its methods never raise (cancellation passes).

    The check itself always ends within `Timeouts.budget_s` of its start (unknown/Timeout at
    worst), so `result()` never waits longer than that.
    """

    def __init__(
        self,
        task: asyncio.Future[Result] | None,
        partial: Callable[[], Result],
        *,
        settled: Result | None = None,
    ) -> None:
        self._task = task
        self._partial = partial
        self._settled = settled

    @classmethod
    def done_with(cls, result: Result) -> PendingCheck:
        """A check that was settled before it began (an input that is not text, say)."""
        return cls(None, lambda: result, settled=result)

    def done(self) -> bool:
        """Whether the check has ended (with its Result, or cancelled)."""
        return self._task is None or self._task.done()

    async def wait(self, timeout_s: float | None) -> bool:
        """Wait up to `timeout_s` seconds (None: until the end); True when the check is done.

        The check goes on after a wait that timed out; cancelling the caller does not stop it.
        """
        if self._task is not None and not self._task.done():
            limit = None if timeout_s is None else max(0.0, timeout_s)
            await asyncio.wait((self._task,), timeout=limit)
        return self.done()

    def snapshot(self) -> Result:
        """The final Result when done; else unknown/Timeout with what is known so far (syntax,
        flags, suggestion, mail hosts) and notes saying which stage was running."""
        if self._settled is not None:
            return self._settled
        task = self._task
        if task is None or not task.done() or task.cancelled():
            return self._partial()
        failure = task.exception()
        if failure is not None:  # a bug: the check's own boundary should have caught it
            log.error("internal error in a pending check", exc_info=failure)
            return self._failed()
        result = task.result()
        self._settled = result
        return result

    async def result(self) -> Result:
        """The final Result, waiting for the end (at most the budget); after `cancel()`, what
        was known when it stopped. Never raises; cancelling the caller leaves the check going.
        """
        task = self._task
        if task is not None and not task.done():
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                if not task.done():
                    raise  # the caller was cancelled, not the check
        return self.snapshot()

    def cancel(self) -> None:
        """Stop the check now; `snapshot()` then keeps what it knew."""
        if self._task is not None and not self._task.done():
            self._task.cancel()

    def _failed(self) -> Result:
        partial = self._partial()
        return error_result(partial.input, InternalError(), Timings())
