"""Time limits against servers that never answer: one address's budget ends its check (bulk and
one by one), a caller's `timeout_s` ends the call with what is known, and nothing waits on
a stuck address beyond its own limit.

The stuck servers never send the awaited reply and every per-step timeout is far longer than
the limit under test, so only the limit can end these checks; the waits below are hang guards.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import pytest

from engine import averify as one_off_averify
from engine import verify as one_off_verify
from engine.config import Config, Timeouts
from engine.localworld import Fault
from engine.localworld.dns import LocalDnsServer
from engine.localworld.smtp import MailboxServer, MailNeverAnsweredServer
from engine.model import Reason, Result, State
from engine.ordered import check_many
from engine.testing import FakeResolver
from engine.verifier import Verifier
from tests.loopback.ports import free_port

STUCK_IP, GOOD_IP = "127.0.5.11", "127.0.5.12"
PORT = free_port([STUCK_IP, GOOD_IP])
ZONE = {
    "stuck.test": {"MX": [(10, "mx.stuck.test")]},
    "mx.stuck.test": {"A": [STUCK_IP]},
    "good.test": {"MX": [(10, "mx.good.test")]},
    "mx.good.test": {"A": [GOOD_IP]},
}
LONG = Timeouts(connect_s=600.0, greeting_s=600.0, command_s=600.0, budget_s=600.0)
LIMIT_S = 1.0  # the limit under test: ample for loopback DNS and SMTP up to the stuck step
HANG_GUARD_S = 60.0
DNS_IP = "127.0.5.53"
SILENT_ZONE = {"test": {"fault": Fault.DROP}}  # a name server that never answers


def _config(timeouts: Timeouts = LONG, **changes: object) -> Config:
    base = Config(
        allow_private_addresses=True,
        smtp_port=PORT,
        helo_name="probe.mailprobe.test",
        mail_from="verify@mailprobe.test",
        timeouts=timeouts,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def _warm(verifier: Verifier) -> Verifier:
    """Load the data lists now, so the limit under test is spent on DNS and SMTP alone."""
    verifier.check_offline("warm@up.test")
    return verifier


async def _servers() -> tuple[MailNeverAnsweredServer, MailboxServer]:
    stuck = MailNeverAnsweredServer(STUCK_IP, PORT)
    good = MailboxServer(GOOD_IP, PORT, users=["ann@good.test", "bob@good.test"], pipelining=True)
    await stuck.start()
    await good.start()
    return stuck, good


async def test_bulk_settles_a_stuck_address_at_its_budget_and_the_rest_flow() -> None:
    stuck, good = await _servers()
    items = ["zed@stuck.test", "ann@good.test", "amy@stuck.test", "bob@good.test"]
    config = _config(dataclasses.replace(LONG, budget_s=LIMIT_S))
    try:
        async with _warm(Verifier(config, resolver=FakeResolver(ZONE))) as v:
            run = check_many(items, v.bulk().check, window=100)
            results = await asyncio.wait_for(_collect(run), HANG_GUARD_S)
    finally:
        await stuck.stop()
        await good.stop()
    assert [r.input for r in results] == items
    by_input = {r.input: r for r in results}
    for address in ("zed@stuck.test", "amy@stuck.test"):
        r = by_input[address]
        assert (r.state, r.reason) == (State.UNKNOWN, Reason.TIMEOUT), r.to_dict()
        assert r.email == address and [h.host for h in r.mx] == ["mx.stuck.test"]
        assert any("time limit" in note and "mx.stuck.test" in note for note in r.detail.notes)
    for address in ("ann@good.test", "bob@good.test"):
        assert by_input[address].reason is Reason.SUCCESS
    assert stuck.stats.count("MAIL") >= 1  # it was asked, and never answered


async def _collect(run: AsyncIterator[tuple[str, Result]]) -> list[Result]:
    return [r async for _, r in run]


async def test_averify_timeout_returns_what_is_known_while_mail_is_unanswered() -> None:
    stuck, good = await _servers()
    try:
        async with _warm(Verifier(_config(), resolver=FakeResolver(ZONE))) as v:
            result = await asyncio.wait_for(
                v.averify("Zed@stuck.test", timeout_s=LIMIT_S), HANG_GUARD_S
            )
    finally:
        await stuck.stop()
        await good.stop()
    assert (result.state, result.reason) == (State.UNKNOWN, Reason.TIMEOUT)
    assert result.email == "Zed@stuck.test" and result.domain == "stuck.test"
    assert result.mx_record == "mx.stuck.test" and result.detail.dns == "mx"
    assert any("MAIL FROM" in note and "time limit" in note for note in result.detail.notes)
    assert stuck.stats.count("MAIL") == 1


async def test_budget_ends_a_one_by_one_check_as_timeout() -> None:
    stuck, good = await _servers()
    config = _config(dataclasses.replace(LONG, budget_s=LIMIT_S), transient_retries=0)
    try:
        async with _warm(Verifier(config, resolver=FakeResolver(ZONE))) as v:
            result = await asyncio.wait_for(v.averify("zed@stuck.test"), HANG_GUARD_S)
    finally:
        await stuck.stop()
        await good.stop()
    assert (result.state, result.reason) == (State.UNKNOWN, Reason.TIMEOUT)
    assert result.mx_record == "mx.stuck.test"


async def test_timeout_during_dns_keeps_the_offline_findings() -> None:
    gate = asyncio.Event()  # never set: the DNS answer never comes
    async with _warm(Verifier(_config(), resolver=FakeResolver(ZONE, gate=gate))) as v:
        result = await asyncio.wait_for(
            v.averify("info@yahooo.com", timeout_s=LIMIT_S), HANG_GUARD_S
        )
    assert (result.state, result.reason) == (State.UNKNOWN, Reason.TIMEOUT)
    assert result.email == "info@yahooo.com"
    assert result.flags.role is True
    assert result.did_you_mean == "info@yahoo.com"
    assert result.mx == ()
    assert any("resolving the mail hosts" in note for note in result.detail.notes)


async def test_a_timeout_longer_than_the_check_changes_nothing() -> None:
    stuck, good = await _servers()
    try:
        async with Verifier(_config(), resolver=FakeResolver(ZONE)) as v:
            result = await asyncio.wait_for(
                v.averify("ann@good.test", timeout_s=HANG_GUARD_S), HANG_GUARD_S * 2
            )
    finally:
        await stuck.stop()
        await good.stop()
    assert (result.state, result.reason) == (State.DELIVERABLE, Reason.SUCCESS)


@pytest.fixture
async def silent_dns() -> AsyncIterator[LocalDnsServer]:
    async with LocalDnsServer(SILENT_ZONE, host=DNS_IP) as server:
        yield server


def _silent_config(server: LocalDnsServer) -> Config:
    return Config(
        nameservers=(server.host,),
        dns_port=server.port,
        timeouts=Timeouts(dns_s=600.0, budget_s=600.0),
    )


async def test_one_off_averify_with_a_cold_verifier_keeps_the_timeout(
    silent_dns: LocalDnsServer,
) -> None:
    # A fresh Verifier loads its data lists first; the timeout holds through that too.
    result = await asyncio.wait_for(
        one_off_averify("sam@slow.test", _silent_config(silent_dns), timeout_s=0.2),
        HANG_GUARD_S,
    )
    assert (result.state, result.reason) == (State.UNKNOWN, Reason.TIMEOUT)
    assert result.input == "sam@slow.test"
    assert any("time limit" in note for note in result.detail.notes)


async def test_one_off_blocking_verify_keeps_the_timeout(silent_dns: LocalDnsServer) -> None:
    # verify() runs its own event loop: from a thread, while this loop serves the DNS.
    config = _silent_config(silent_dns)
    result = await asyncio.wait_for(
        asyncio.to_thread(one_off_verify, "sam@slow.test", config, timeout_s=0.2), HANG_GUARD_S
    )
    assert (result.state, result.reason) == (State.UNKNOWN, Reason.TIMEOUT)
