"""Verifier.begin() and PendingCheck: answer early with what is known, let the check go on,
take its final Result later; the DNS answer is held back by a gate the test opens."""

from __future__ import annotations

import asyncio

from engine import PendingCheck
from engine.config import Config
from engine.model import Reason, State
from engine.testing import FakeResolver
from engine.verifier import Verifier

ZONE = {"example.test": {"MX": [(10, "mx.example.test")]}, "mx.example.test": {"A": ["192.0.2.7"]}}
CONFIG = Config(check_smtp=False, allow_private_addresses=True, helo_name="probe.example.test")


def _verifier(gate: asyncio.Event) -> Verifier:
    verifier = Verifier(CONFIG, resolver=FakeResolver(ZONE, gate=gate))
    verifier.check_offline("warm@up.test")  # the data lists, loaded before the clock starts
    return verifier


async def test_snapshot_before_the_end_is_timeout_with_the_offline_findings() -> None:
    gate = asyncio.Event()
    async with _verifier(gate) as v:
        pending = v.begin("Sales@Example.test")
        assert isinstance(pending, PendingCheck)
        assert await pending.wait(0) is False and not pending.done()
        early = pending.snapshot()
        gate.set()
        final = await pending.result()
    assert (early.state, early.reason) == (State.UNKNOWN, Reason.TIMEOUT)
    assert early.email == "Sales@example.test" and early.flags.role is True
    assert any("resolving the mail hosts" in note for note in early.detail.notes)
    assert (final.state, final.reason) == (State.UNKNOWN, Reason.NOT_CHECKED)
    assert final.mx_record == "mx.example.test"
    assert pending.done() and pending.snapshot() is final


async def test_wait_says_done_once_the_check_has_ended() -> None:
    gate = asyncio.Event()
    gate.set()
    async with _verifier(gate) as v:
        pending = v.begin("ann@example.test")
        assert await pending.wait(None) is True
        assert pending.snapshot().mx_record == "mx.example.test"


async def test_cancel_keeps_what_was_known() -> None:
    gate = asyncio.Event()
    async with _verifier(gate) as v:
        pending = v.begin("ann@example.test")
        await pending.wait(0.01)
        pending.cancel()
        result = await pending.result()
    assert pending.done()
    assert (result.state, result.reason) == (State.UNKNOWN, Reason.TIMEOUT)
    assert result.email == "ann@example.test"


async def test_a_cancelled_caller_leaves_the_check_going() -> None:
    gate = asyncio.Event()
    async with _verifier(gate) as v:
        pending = v.begin("ann@example.test")
        waiter = asyncio.ensure_future(pending.result())
        await pending.wait(0.01)
        waiter.cancel()
        await asyncio.wait((waiter,))
        assert waiter.cancelled() and not pending.done()
        gate.set()
        final = await pending.result()
    assert final.reason is Reason.NOT_CHECKED and final.mx_record == "mx.example.test"


async def test_input_that_is_not_text_is_settled_at_once() -> None:
    async with _verifier(asyncio.Event()) as v:
        pending = v.begin(12345)
        assert pending.done() and await pending.wait(0) is True
        result = await pending.result()
    assert (result.state, result.reason) == (State.UNDELIVERABLE, Reason.INVALID_SYNTAX)


def test_pending_check_is_public() -> None:
    import engine

    assert "PendingCheck" in engine.__all__ and engine.PendingCheck is PendingCheck
