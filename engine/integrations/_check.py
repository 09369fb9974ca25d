"""The time-bounded check every integration uses: the full verdict if it comes in time, else the
offline findings as unknown / Timeout. The one place that decides how a form's wait ends.

`check_within` runs in the loop that owns the Verifier (the engine's own `timeout_s` bounds
it); `wait_within` (blocking) and `await_within` (from another event loop) wait for a check
handed to that loop. None raises.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import logging

from engine.model import Reason, Result, State
from engine.verdict import score
from engine.verifier import Verifier

log = logging.getLogger(__name__)

# How much longer than its time limit a blocking caller waits for the owning loop's own
# fallback before it falls back itself (the loop may be busy with other checks).
GRACE_S = 1.0


async def check_within(verifier: Verifier, raw: str, timeout_s: float) -> Result:
    """The full check of `raw`, or its offline verdict as unknown / Timeout after `timeout_s`.

    Must run in the event loop that owns `verifier`. Never raises (cancellation passes).
    """
    # The engine's own time limit: by then it answers with what it learned (syntax, flags,
    # suggestion, mail hosts) as unknown/Timeout, and notes where it stopped.
    return await verifier.averify(raw, timeout_s=timeout_s)


def wait_within(
    future: concurrent.futures.Future[Result], verifier: Verifier, raw: str, timeout_s: float
) -> Result:
    """Block until `future` (a `check_within` handed to the owning loop) ends, at most
    `timeout_s` plus a grace; then cancel it and return the offline verdict. Never raises."""
    try:
        return future.result(timeout_s + GRACE_S)
    except (concurrent.futures.TimeoutError, concurrent.futures.CancelledError):
        pass
    except Exception:  # a bug in the owning loop; this input still gets one Result
        log.exception("internal error while waiting for a check")
    future.cancel()
    return timed_out(verifier, raw, f"no answer within {timeout_s:g} s")


async def await_within(
    future: concurrent.futures.Future[Result], verifier: Verifier, raw: str, timeout_s: float
) -> Result:
    """`wait_within` for a caller in another event loop: awaits without blocking it. Never
    raises; cancelling the caller cancels `future`."""
    loop = asyncio.get_running_loop()
    landed: asyncio.Future[Result | None] = loop.create_future()

    def settle(done: concurrent.futures.Future[Result]) -> None:
        # Runs in the owning loop's thread; a cancelled or failed check lands as None, so that
        # only the caller's own cancellation raises CancelledError here.
        value = None if done.cancelled() or done.exception() else done.result()
        with contextlib.suppress(RuntimeError):  # the caller's loop has closed meanwhile
            loop.call_soon_threadsafe(_set, landed, value)

    future.add_done_callback(settle)
    try:
        result = await asyncio.wait_for(landed, timeout_s + GRACE_S)
    except asyncio.TimeoutError:
        result = None
    except asyncio.CancelledError:
        future.cancel()
        raise
    if result is None:
        future.cancel()
        return timed_out(verifier, raw, f"no answer within {timeout_s:g} s")
    return result


def _set(waiter: asyncio.Future[Result | None], value: Result | None) -> None:
    if not waiter.done():
        waiter.set_result(value)


def timed_out(verifier: Verifier, raw: str, note: str) -> Result:
    """What is known without the network, as the caller's time limit leaves it: unknown /
    Timeout, except that an input that is no address at all stays undeliverable."""
    offline = verifier.check_offline(raw)
    if offline.email is None:  # syntax failed: no probe was ever needed to say so
        return offline
    state, reason = State.UNKNOWN, Reason.TIMEOUT
    return dataclasses.replace(
        offline,
        state=state,
        reason=reason,
        score=score(state, reason, offline.flags, offline.did_you_mean_domain),
        detail=dataclasses.replace(offline.detail, notes=(*offline.detail.notes, note)),
    )
