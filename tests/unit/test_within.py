"""pipeline.within(): the time cap every check runs under, in the caller's own task."""

from __future__ import annotations

import asyncio
import time

import pytest

from engine.config import Config
from engine.model import Reason, Result, State
from engine.pipeline import Watchdog, within
from engine.progress import Progress

CONFIG = Config()


def _progress() -> Progress:
    return Progress("someone@example.test", time.perf_counter())


ANSWER = Result(input="someone@example.test", email=None, state=State.DELIVERABLE,
                reason=Reason.SUCCESS)  # fmt: skip


async def _answer(gate: asyncio.Event) -> Result:
    await gate.wait()
    return ANSWER


async def test_a_check_that_ends_in_time_keeps_its_result_and_leaves_no_cancellation() -> None:
    gate = asyncio.Event()
    gate.set()
    result = await within(5.0, _progress(), _answer(gate), CONFIG)
    assert result is ANSWER
    await asyncio.sleep(0)  # a stray cancellation would be delivered here
    task = asyncio.current_task()
    assert task is not None and getattr(task, "cancelling", lambda: 0)() == 0


async def test_at_the_limit_the_result_is_timeout_and_the_task_goes_on() -> None:
    never = asyncio.Event()
    result = await within(0.01, _progress(), _answer(never), CONFIG)
    assert (result.state, result.reason) == (State.UNKNOWN, Reason.TIMEOUT)
    task = asyncio.current_task()
    assert task is not None and getattr(task, "cancelling", lambda: 0)() == 0
    await asyncio.sleep(0)  # the task that ran the check is not cancelled afterwards


async def test_a_cancelled_caller_is_cancelled_not_timed_out() -> None:
    never = asyncio.Event()
    started = asyncio.Event()

    async def caller() -> Result:
        started.set()
        return await within(60.0, _progress(), _answer(never), CONFIG)

    task = asyncio.ensure_future(caller())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_checks_sharing_a_watchdog_each_end_at_their_own_limit() -> None:
    watchdog = Watchdog()
    never = asyncio.Event()
    done = asyncio.Event()
    done.set()
    long = asyncio.ensure_future(within(60.0, _progress(), _answer(never), CONFIG, watchdog))
    quick = within(0.01, _progress(), _answer(never), CONFIG, watchdog)  # out of order
    finished = within(0.01, _progress(), _answer(done), CONFIG, watchdog)
    assert (await quick).reason is Reason.TIMEOUT
    assert await finished is ANSWER
    assert not long.done()
    long.cancel()
    with pytest.raises(asyncio.CancelledError):
        await long
