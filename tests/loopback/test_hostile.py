"""Hostile mail servers: a host that breaks the protocol (garbage, an overlong line, a code
outside 2xx-5xx, a greeting that never ends, a byte a second) is asked once per address and
never again; connection-level faults are retried; notes say once, in words, what happened.

Every server listens on 127.0.5.x and is stopped by the fixture; back-offs run on a FakeClock.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable

import pytest

from engine.clock import FakeClock
from engine.config import Config, Timeouts
from engine.localworld.smtp import (
    DropAfterEhloServer,
    EndlessGreetingServer,
    GarbageServer,
    HangUpServer,
    LoopbackServer,
    MailboxServer,
    SlowTalkerServer,
    TarpitServer,
)
from engine.model import Address, MxHost, ProbeOutcome, Reason, State
from engine.ordered import check_many
from engine.probe import SmtpProber
from engine.smtp import AioSmtpTransport
from engine.testing import FakeResolver
from engine.verifier import Verifier
from tests.loopback.ports import free_port

BAD_IP, GOOD_IP = "127.0.5.21", "127.0.5.22"
PORT = free_port([BAD_IP, GOOD_IP])
USER = "alice@example.test"
FAST = Timeouts(connect_s=2.0, greeting_s=0.3, command_s=0.3, budget_s=30.0)

Start = Callable[[LoopbackServer], Awaitable[LoopbackServer]]


@pytest.fixture
def start(smtp_start: Start) -> Start:
    return smtp_start


def _config(**changes: object) -> Config:
    base = Config(
        allow_private_addresses=True,
        smtp_port=PORT,
        helo_name="probe.example.test",
        mail_from="verify@probe.example.test",
        timeouts=FAST,
        transient_retries=3,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def _address(email: str = USER) -> Address:
    local, _, domain = email.rpartition("@")
    return Address(input=email, checked=email, local=local, ascii_domain=domain,
                   unicode_domain=domain)  # fmt: skip


async def _probe(clock: FakeClock, *hosts: MxHost, **changes: object) -> ProbeOutcome:
    config = _config(**changes)
    prober = SmtpProber(AioSmtpTransport(config), config, clock)
    return await prober.probe(_address(), hosts)


BAD = MxHost("mx1.example.test", 10, (BAD_IP,))
GOOD = MxHost("mx2.example.test", 20, (GOOD_IP,))

VIOLATIONS: dict[str, Callable[[], LoopbackServer]] = {
    "garbage": lambda: GarbageServer(BAD_IP, PORT),
    "overlong-line": lambda: GarbageServer(BAD_IP, PORT, banner=b"220 " + b"x" * 10_000),
    "code-999": lambda: GarbageServer(BAD_IP, PORT, banner=b"999 mx1.example.test hello"),
    "code-199": lambda: GarbageServer(BAD_IP, PORT, banner=b"199 mx1.example.test hello"),
    "endless-greeting": lambda: EndlessGreetingServer(BAD_IP, PORT),
    "endless-greeting-slow": lambda: EndlessGreetingServer(BAD_IP, PORT, line_interval_s=0.01),
    "byte-a-second": lambda: SlowTalkerServer(BAD_IP, PORT, byte_interval_s=0.02),
}
SAYS = {
    "garbage": "not SMTP",
    "overlong-line": "too long",
    "code-999": "not an SMTP reply",
    "code-199": "not an SMTP reply",
    "endless-greeting": "too long",
    "endless-greeting-slow": "never ended",
    "byte-a-second": "never ended",
}


@pytest.mark.parametrize("kind", list(VIOLATIONS), ids=list(VIOLATIONS))
async def test_a_protocol_violation_is_not_retried_on_that_host(kind: str, start: Start) -> None:
    server = await start(VIOLATIONS[kind]())
    clock = FakeClock()
    outcome = await _probe(clock, BAD)

    assert outcome.reason is Reason.TRANSIENT_NETWORK_FAULT
    assert server.stats.connections == 1 and clock.sleeps == []
    assert any(SAYS[kind] in note for note in outcome.notes), outcome.notes
    assert all(note.startswith(f"mx1.example.test [{BAD_IP}]: greeting: ")
               for note in outcome.notes), outcome.notes  # fmt: skip


async def test_a_reply_that_never_ends_after_the_greeting_is_a_violation_too(
    start: Start,
) -> None:
    # The greeting (27 bytes) comes in time; the EHLO reply, a byte at a time, does not.
    server = await start(SlowTalkerServer(BAD_IP, PORT, byte_interval_s=0.01))
    clock = FakeClock()
    timeouts = dataclasses.replace(FAST, greeting_s=5.0, command_s=0.15)
    outcome = await _probe(clock, BAD, timeouts=timeouts)

    assert outcome.reason is Reason.TRANSIENT_NETWORK_FAULT
    assert server.stats.connections == 1 and clock.sleeps == []
    assert len(outcome.notes) == 1 and "EHLO: a reply that never ended" in outcome.notes[0]


@pytest.mark.parametrize("kind", ["garbage", "byte-a-second"])
async def test_after_a_protocol_violation_the_next_mx_answers(kind: str, start: Start) -> None:
    bad = await start(VIOLATIONS[kind]())
    good = await start(MailboxServer(GOOD_IP, PORT, users=[USER]))
    outcome = await _probe(FakeClock(), BAD, GOOD)

    assert outcome.reason is Reason.SUCCESS and outcome.host == "mx2.example.test"
    assert bad.stats.connections == 1 and good.stats.connections == 1


async def test_a_silent_server_is_retried_and_its_failure_noted_once(start: Start) -> None:
    server = await start(TarpitServer(BAD_IP, PORT))
    clock = FakeClock()
    outcome = await _probe(clock, BAD, transient_retries=2)

    assert outcome.reason is Reason.TRANSIENT_NETWORK_FAULT
    assert server.stats.connections == 3 and clock.sleeps == [1.0, 2.0]
    assert outcome.notes == (
        f"mx1.example.test [{BAD_IP}]: greeting: no answer within 0.3 s (3 times)",
    )


@pytest.mark.parametrize(
    ("server", "says"),
    [
        (lambda: HangUpServer(BAD_IP, PORT), "greeting: the server closed the connection"),
        (lambda: DropAfterEhloServer(BAD_IP, PORT), "EHLO: the server closed the connection"),
    ],
    ids=["at-greeting", "after-ehlo"],
)
async def test_notes_say_which_host_which_step_and_what_happened(
    server: Callable[[], LoopbackServer], says: str, start: Start
) -> None:
    await start(server())
    outcome = await _probe(FakeClock(), BAD, transient_retries=0)

    assert outcome.notes == (f"mx1.example.test [{BAD_IP}]: {says}",)
    assert not any("None" in note for note in outcome.notes)


async def test_a_refused_connection_says_so(start: Start) -> None:
    outcome = await _probe(FakeClock(), BAD, transient_retries=0)  # nothing listens there

    assert outcome.notes == (f"mx1.example.test [{BAD_IP}]: connect to port {PORT}: connection "
                             "refused",)  # fmt: skip


# Bulk ----------------------------------------------------------------------------------------

ZONE = {
    "broken.test": {"MX": [(10, "mx1.broken.test")]},
    "mx1.broken.test": {"A": [BAD_IP]},
    "backup.test": {"MX": [(10, "mx1.backup.test"), (20, "mx2.backup.test")]},
    "mx1.backup.test": {"A": [BAD_IP]},
    "mx2.backup.test": {"A": [GOOD_IP]},
}


async def _bulk(items: list[str]) -> list[str]:
    async with Verifier(_config(), resolver=FakeResolver(ZONE), clock=FakeClock()) as v:
        results = [r async for _, r in check_many(items, v.bulk().check, window=100)]
    return [f"{r.state.value} {r.reason.value} {' | '.join(r.detail.notes)}" for r in results]


async def test_bulk_stops_asking_a_host_that_broke_the_protocol(start: Start) -> None:
    server = await start(GarbageServer(BAD_IP, PORT))
    items = [f"user{i}@broken.test" for i in range(8)]
    rows = await _bulk(items)

    assert all(row.startswith(f"{State.UNKNOWN.value} TransientNetworkFault") for row in rows)
    assert all("not SMTP" in row for row in rows), rows
    assert server.stats.connections <= _config().politeness.sessions_per_host


async def test_bulk_fails_over_from_a_host_that_broke_the_protocol(start: Start) -> None:
    bad = await start(EndlessGreetingServer(BAD_IP, PORT))
    good = await start(MailboxServer(GOOD_IP, PORT, domains=["backup.test"], catch_all=True))
    rows = await _bulk([f"user{i}@backup.test" for i in range(8)])

    assert all(row.startswith("risky ServerIsCatchAll") for row in rows), rows
    assert bad.stats.connections <= _config().politeness.sessions_per_host
    assert good.stats.connections >= 1
