"""Bulk fail-over between egresses after a proxy fault, with in-memory egresses: which egress
asked for which address, what moved, what stayed (greylisting), and that every address stays
within its bounds. No sockets; retries and waits run on a FakeClock."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
from collections import Counter
from collections.abc import AsyncIterator, Sequence

from engine.bulk import BulkChecker
from engine.clock import FakeClock
from engine.config import Config
from engine.egress import EgressPool
from engine.errors import ProxyFault
from engine.model import Reason, Reply, Result, Stage, State
from engine.routing import Egress, parse_route
from engine.smtp import SmtpSession
from engine.testing import FakeResolver
from engine.verifier import Verifier

ZONE = {
    "fail.test": {"MX": [(10, "mx.fail.test")]},
    "mx.fail.test": {"A": ["127.0.9.10"]},
}
OK = Reply(250, "2.1.5 Ok", "2.1.5", Stage.RCPT)
GREYLISTED = Reply(450, "Greylisted, try again later", "4.2.0", Stage.RCPT)


class _World:
    """The mail host and the proxies of three egresses: which are down, what each asked."""

    def __init__(self, greylisted: Sequence[str] = ()) -> None:
        self.down: set[str] = set()  # egresses whose proxy refuses every connection
        self.fail_on: dict[str, set[int]] = {}  # egress -> its connections (1, 2, ...) refused
        self.opened: Counter[str] = Counter()
        self.asked: list[tuple[str, str]] = []  # (egress, recipient) of every RCPT
        self.greylisted = set(greylisted)  # recipients greylisted per (egress, recipient)
        self._passed: set[tuple[str, str]] = set()

    def reply(self, egress: str, recipient: str) -> Reply:
        self.asked.append((egress, recipient))
        if recipient in self.greylisted and (egress, recipient) not in self._passed:
            self._passed.add((egress, recipient))  # the client IP is part of the triplet
            return GREYLISTED
        return OK

    def egresses_asking(self, recipient: str) -> list[str]:
        return [egress for egress, rcpt in self.asked if rcpt == recipient]


class _Session:
    def __init__(self, world: _World, egress: str, host: str, ip: str) -> None:
        self.host, self.ip = host, ip
        self.extensions = frozenset({"PIPELINING"})
        self._world = world
        self._egress = egress

    async def transaction(
        self, sender: str, recipients: Sequence[str], *, smtputf8: bool = False, last: bool = False
    ) -> list[Reply]:
        await asyncio.sleep(0)
        rcpts = [self._world.reply(self._egress, r) for r in recipients]
        return [
            Reply(250, "Ok", "2.1.0", Stage.MAIL),
            *rcpts,
            Reply(250, "Ok", "2.0.0", Stage.RSET),
        ]

    async def mail(self, sender: str, *, smtputf8: bool = False) -> Reply:
        raise AssertionError("the grouped path is used")

    async def rcpt(self, recipient: str) -> Reply:
        raise AssertionError("the grouped path is used")

    async def rset(self) -> Reply:
        raise AssertionError("the grouped path is used")


class _Egress:
    """One egress's transport: through its proxy, which may be down."""

    def __init__(self, world: _World, name: str) -> None:
        self._world = world
        self._name = name

    @contextlib.asynccontextmanager
    async def open(self, host: str, ip: str, port: int) -> AsyncIterator[SmtpSession]:
        self._world.opened[self._name] += 1
        n = self._world.opened[self._name]
        if self._name in self._world.down or n in self._world.fail_on.get(self._name, set()):
            proxy = f"socks5://127.0.0.9:1080 (egress {self._name})"
            raise ProxyFault(
                f"proxy {proxy} could not reach the proxy: connection refused",
                proxy=proxy,
                step="reach the proxy",
            )
        yield _Session(self._world, self._name, host, ip)


class _NoDirect:
    def open(
        self, host: str, ip: str, port: int
    ) -> contextlib.AbstractAsyncContextManager[SmtpSession]:
        raise AssertionError("every session leaves by an egress")


async def _sender() -> str:
    return "verify@mailprobe.test"


def _config(route: str, **changes: object) -> Config:
    base = Config(
        allow_private_addresses=True,
        helo_name="probe.mailprobe.test",
        mail_from="verify@mailprobe.test",
        detect_catch_all=False,
        greylist_delay_s=30.0,
        egresses=(Egress(name="a"), Egress(name="b"), Egress(name="c")),
        routes=(parse_route(route),),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def _checker(config: Config, world: _World) -> AsyncIterator[tuple[BulkChecker, FakeClock]]:
    clock = FakeClock()
    async with Verifier(config, resolver=FakeResolver(ZONE), clock=clock) as verifier:
        pool = EgressPool.build(
            config,
            provider=verifier.deps.provider,
            transport=_NoDirect(),
            wrap=lambda egress, inner: _Egress(world, egress.name),
        )
        checker = BulkChecker(
            verifier.deps,
            _NoDirect(),
            sender=_sender,
            clock=clock,
            gates=verifier.gates,
            egresses=pool,
        )
        try:
            yield checker, clock
        finally:
            await checker.aclose()


async def _run(checker: BulkChecker, addresses: list[str]) -> list[Result]:
    return list(await asyncio.gather(*(checker.check(a) for a in addresses)))


def _notes(result: Result) -> str:
    return " | ".join(result.detail.notes if result.detail else ())


def _proxy_faults(result: Result) -> int:
    """The failed sessions an address's notes tell of (a repeated note says how often)."""
    count = 0
    for note in result.detail.notes if result.detail else ():
        if "could not reach the proxy" in note:
            times = re.search(r"\((\d+) times\)$", note)
            count += int(times.group(1)) if times else 1
    return count


ADDRESSES = [f"user{i}@fail.test" for i in range(20)]


async def test_after_a_proxy_fault_the_addresses_take_another_egress_of_the_route() -> None:
    world = _World()
    world.down.add("a")
    config = _config("mx.fail.test=a,b")
    async with _checker(config, world) as (checker, _):
        results = await _run(checker, ADDRESSES)

    assert [r.input for r in results] == ADDRESSES
    assert {(r.state, r.reason) for r in results} == {(State.DELIVERABLE, Reason.SUCCESS)}
    assert {egress for egress, _ in world.asked} == {"b"}  # c is not on the host's route
    assert Counter(rcpt for _, rcpt in world.asked) == Counter(ADDRESSES)  # each asked once
    assert world.opened["c"] == 0
    assert 1 <= world.opened["a"] <= config.politeness.sessions_per_host
    moved = [r for r in results if "egress a" in _notes(r)]
    assert moved, "round robin queued some addresses for egress a"
    for result in moved:
        assert "egress b (after a proxy fault on egress a)" in _notes(result)
    tried = [r for r in moved if "could not reach the proxy" in _notes(r)]
    assert tried, "the addresses whose session failed say so"


async def test_new_addresses_for_the_host_avoid_the_failed_egress_for_a_while() -> None:
    world = _World()
    world.down.add("a")
    async with _checker(_config("mx.fail.test=a,b"), world) as (checker, clock):
        await _run(checker, ADDRESSES[:10])
        opened = world.opened["a"]
        later = await _run(checker, ADDRESSES[10:16])
        assert world.opened["a"] == opened  # not tried again while it rests
        assert all("egress a" not in _notes(r) for r in later)
        assert {r.reason for r in later} == {Reason.SUCCESS}

        clock.advance(3600.0)  # long after: egress a is given its turn again
        world.down.clear()
        again = await _run(checker, ADDRESSES[16:])

    assert {r.reason for r in again} == {Reason.SUCCESS}
    assert world.opened["a"] > opened
    assert "a" in {egress for egress, rcpt in world.asked if rcpt in ADDRESSES[16:]}


async def test_a_greylisted_address_retries_through_the_egress_of_its_first_try() -> None:
    # Egress a's proxy refuses its second connection only: the greylisting retry of the
    # address first asked through a fails there, and it must come back through a, not b
    # (the greylist triplet holds the client IP; b would be greylisted afresh).
    first, second = "grey0@fail.test", "grey1@fail.test"
    world = _World(greylisted=[first, second])
    world.fail_on["a"] = {2}
    async with _checker(_config("mx.fail.test=a,b"), world) as (checker, _):
        results = await _run(checker, [first, second])

    assert world.egresses_asking(first) == ["a", "a"]
    assert world.egresses_asking(second) == ["b", "b"]
    for result in results:
        assert result.reason is Reason.SUCCESS, _notes(result)
        assert result.detail is not None and result.detail.greylisted
        assert result.detail.greylist_resolved is True
    assert "could not reach the proxy" in _notes(results[0])
    assert "after a proxy fault" not in _notes(results[0])


async def test_a_greylisted_address_whose_egress_stays_down_ends_unknown_there() -> None:
    address = "grey0@fail.test"
    world = _World(greylisted=[address])
    world.fail_on["a"] = set(range(2, 100))  # up after the first session, then down for good
    async with _checker(_config("mx.fail.test=a,b"), world) as (checker, _):
        (result,) = await _run(checker, [address])

    assert world.egresses_asking(address) == ["a"]
    assert world.opened["b"] == 0
    assert result.state is State.UNKNOWN
    assert result.reason is Reason.TRANSIENT_NETWORK_FAULT
    assert result.detail is not None and result.detail.greylisted
    assert result.detail.greylist_resolved is False


async def test_with_no_other_egress_on_the_route_the_addresses_keep_theirs() -> None:
    world = _World()
    world.down.add("a")
    config = _config("mx.fail.test=a")
    async with _checker(config, world) as (checker, _):
        results = await _run(checker, ADDRESSES[:6])

    assert world.asked == []
    assert world.opened["b"] == world.opened["c"] == 0
    for result in results:
        assert (result.state, result.reason) == (State.UNKNOWN, Reason.TRANSIENT_NETWORK_FAULT)
        assert "after a proxy fault" not in _notes(result)


async def test_with_every_egress_down_each_address_stays_within_its_bounds() -> None:
    world = _World()
    world.down.update({"a", "b", "c"})
    config = _config("*=a,b,c", transient_retries=2)
    async with _checker(config, world) as (checker, _):
        results = await _run(checker, ADDRESSES)

    assert world.asked == []
    for result in results:
        assert (result.state, result.reason) == (State.UNKNOWN, Reason.TRANSIENT_NETWORK_FAULT)
        # A failed session costs the addresses it held one attempt each, wherever they went.
        assert 1 <= _proxy_faults(result) <= 1 + config.transient_retries, _notes(result)
    # Sessions, like attempts, stay bounded: no retry loop between the egresses.
    assert sum(world.opened.values()) <= len(ADDRESSES) * (1 + config.transient_retries)
