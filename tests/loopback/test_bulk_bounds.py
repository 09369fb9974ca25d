"""Bulk runs against servers whose RCPT replies cannot be placed: the RCPTs sent for one address
stay bounded, every address settles unknown with the reply as evidence, and the run ends.

Each server counts the RCPT TO commands it got per recipient; back-offs run on a FakeClock.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable

import pytest

from engine.bulk import MAX_RCPTS_PER_ADDRESS, MAX_REQUEUES_PER_ADDRESS
from engine.clock import FakeClock
from engine.config import Config, Politeness
from engine.localworld.smtp import ScriptedRcptServer
from engine.model import Reason, Result, State
from engine.ordered import check_many
from engine.testing import FakeResolver
from engine.verifier import Verifier
from tests.loopback.ports import free_port

MX_IP = "127.0.5.1"
PORT = free_port([MX_IP])
ZONE = {"bounds.test": {"MX": [(10, "mx.bounds.test")]}, "mx.bounds.test": {"A": [MX_IP]}}
ADDRESSES = [f"user{i}@bounds.test" for i in range(6)]
RUN_GUARD_S = 120.0  # a hang guard only: each run ends in well under a second of real waits


def _config(**changes: object) -> Config:
    base = Config(
        allow_private_addresses=True,
        smtp_port=PORT,
        helo_name="probe.mailprobe.test",
        mail_from="verify@mailprobe.test",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


async def _bulk(config: Config, items: list[str]) -> list[Result]:
    async with Verifier(config, resolver=FakeResolver(ZONE), clock=FakeClock()) as v:
        checker = v.bulk()
        return [r async for _, r in check_many(items, checker.check, window=100)]


def _on_second_rcpt(reply: str) -> Callable[[str, int], str]:
    """Accept the first RCPT of a transaction, answer `reply` to every later one."""
    return lambda rcpt, n: "250 2.1.5 Ok" if n == 1 else reply.format(rcpt=rcpt)


REPLIES = {
    "552-too-many": "552 Too many recipients",
    "550-5.1.1-too-many-this-hour": (
        "550 5.1.1 <{rcpt}> - 203.0.113.9 has sent to too many recipients this hour"
    ),
    "452-4.5.3-too-many": "452 4.5.3 Too many recipients",
    "421-after-every-rcpt": "421 4.7.0 mx.bounds.test Error: too many connections, closing",
    "451-every-rcpt": "451 4.3.0 Temporary local problem, try again",
}


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "one-by-one"])
@pytest.mark.parametrize("shape", list(REPLIES), ids=list(REPLIES))
async def test_unplaceable_rcpt_replies_stay_bounded_and_settle_unknown(
    shape: str, pipelining: bool
) -> None:
    server = ScriptedRcptServer(MX_IP, PORT, REPLIES[shape], pipelining=pipelining)
    await server.start()
    try:
        results = await asyncio.wait_for(_bulk(_config(), ADDRESSES), RUN_GUARD_S)
    finally:
        await server.stop()
    assert [r.input for r in results] == ADDRESSES
    for result in results:
        assert result.state is State.UNKNOWN, result.to_dict()
        assert result.reason is Reason.TRANSIENT_NETWORK_FAULT, result.to_dict()
    answered = [r for r in results if r.detail.reply is not None]
    assert answered, "at least the addresses that were asked keep the reply as evidence"
    code = int(REPLIES[shape][:3])
    assert all(r.detail.reply is not None and r.detail.reply.code == code for r in answered)
    for address in ADDRESSES:
        assert server.rcpts[address] <= MAX_RCPTS_PER_ADDRESS, dict(server.rcpts)
    probes = sum(n for rcpt, n in server.rcpts.items() if rcpt not in ADDRESSES)
    assert probes <= 1  # the catch-all question is asked once per domain, answered or not
    assert server.stats.count("DATA") == 0


@pytest.mark.parametrize(
    "reply",
    [REPLIES["552-too-many"], REPLIES["550-5.1.1-too-many-this-hour"]],
    ids=["552", "550-5.1.1"],
)
async def test_too_many_recipients_past_the_first_rcpt_shrinks_groups_then_stops(
    reply: str,
) -> None:
    # The first RCPT of each transaction is accepted: the catch-all probe (or one address)
    # gets through, every other address is asked again alone, where the server accepts it.
    server = ScriptedRcptServer(MX_IP, PORT, _on_second_rcpt(reply))
    await server.start()
    try:
        results = await asyncio.wait_for(_bulk(_config(), ADDRESSES), RUN_GUARD_S)
    finally:
        await server.stop()
    for result in results:
        # The catch-all probe was accepted too: the server takes any address.
        assert (result.state, result.reason) == (State.RISKY, Reason.SERVER_IS_CATCH_ALL)
    for address in ADDRESSES:
        assert server.rcpts[address] <= 2, dict(server.rcpts)


async def test_a_server_that_says_too_many_to_every_group_never_loops() -> None:
    # The reported case: 94 RCPTs for one address. Here every RCPT after the first of a
    # transaction is refused as "too many", and the first one is too.
    server = ScriptedRcptServer(MX_IP, PORT, REPLIES["552-too-many"])
    await server.start()
    try:
        config = _config(transient_retries=10)  # even generous retries stop at the RCPT bound
        results = await asyncio.wait_for(_bulk(config, ADDRESSES * 3), RUN_GUARD_S)
    finally:
        await server.stop()
    assert len(results) == len(ADDRESSES) * 3
    assert {(r.state, r.reason) for r in results} == {
        (State.UNKNOWN, Reason.TRANSIENT_NETWORK_FAULT)
    }
    assert max(server.rcpts[a] for a in ADDRESSES) <= MAX_RCPTS_PER_ADDRESS * 3
    assert server.stats.count("RCPT") <= MAX_RCPTS_PER_ADDRESS * len(ADDRESSES) * 3 + 1


async def test_addresses_never_reached_before_a_421_stop_at_the_requeue_bound() -> None:
    # Each session ends at its first RCPT with a 421: the addresses behind it in the group are
    # put back unasked, again and again; past the bound they settle unknown instead.
    items = [f"late{i}@bounds.test" for i in range(MAX_REQUEUES_PER_ADDRESS + 6)]
    server = ScriptedRcptServer(MX_IP, PORT, REPLIES["421-after-every-rcpt"])
    await server.start()
    # A host back-off short enough that the addresses are still in time to be asked.
    config = _config(politeness=Politeness(backoff_base_s=0.001, backoff_max_s=0.001))
    try:
        results = await asyncio.wait_for(_bulk(config, items), RUN_GUARD_S)
    finally:
        await server.stop()
    assert {(r.state, r.reason) for r in results} == {
        (State.UNKNOWN, Reason.TRANSIENT_NETWORK_FAULT)
    }
    given_up = [r for r in results if any("requeues" in note for note in r.detail.notes)]
    assert given_up, [r.detail.notes for r in results]
    assert all(n <= MAX_RCPTS_PER_ADDRESS for n in server.rcpts.values())
