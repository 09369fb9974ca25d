"""BulkChecker with an in-memory transport: ordering races and group sizing, no sockets."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
from collections import Counter
from collections.abc import AsyncIterator, Sequence

from engine.clock import FakeClock
from engine.config import Config, Politeness
from engine.errors import SmtpTransient
from engine.model import Reply, Stage, State
from engine.ordered import check_many
from engine.testing import FakeResolver
from engine.verifier import Verifier

ZONE = {"catch.test": {"MX": [(10, "mx.catch.test")]}, "mx.catch.test": {"A": ["127.0.9.1"]}}
CONFIG = Config(
    allow_private_addresses=True,
    helo_name="probe.mailprobe.test",
    mail_from="verify@mailprobe.test",
)
OK = Reply(250, "Ok", "2.1.5", Stage.RCPT)


class _Session:
    """Accepts every RCPT; the first session ever opened answers slowly."""

    def __init__(self, host: str, ip: str, slow: bool, log: list[int]) -> None:
        self.host, self.ip = host, ip
        self.extensions = frozenset({"PIPELINING"})
        self._slow = slow
        self._log = log

    async def transaction(
        self, sender: str, recipients: Sequence[str], *, smtputf8: bool = False, last: bool = False
    ) -> list[Reply]:
        self._log.append(len(recipients))
        await asyncio.sleep(0.2 if self._slow else 0.0)
        mail = Reply(250, "Ok", "2.1.0", Stage.MAIL)
        return [mail, *([OK] * len(recipients)), Reply(250, "Ok", "2.0.0", Stage.RSET)]

    async def mail(self, sender: str, *, smtputf8: bool = False) -> Reply:
        raise AssertionError("the grouped path is used")

    async def rcpt(self, recipient: str) -> Reply:
        raise AssertionError("the grouped path is used")

    async def rset(self) -> Reply:
        raise AssertionError("the grouped path is used")


class _Transport:
    def __init__(self) -> None:
        self.opened = itertools.count()
        self.groups: list[int] = []

    @contextlib.asynccontextmanager
    async def open(self, host: str, ip: str, port: int) -> AsyncIterator[_Session]:
        yield _Session(host, ip, next(self.opened) == 0, self.groups)


async def test_catch_all_verdict_holds_whichever_session_answers_first() -> None:
    # The session carrying the domain's catch-all probe answers last: the addresses accepted
    # in the other session must still wait for that answer and come out ServerIsCatchAll.
    items = [f"anyone{i}@catch.test" for i in range(120)]
    transport = _Transport()
    async with Verifier(CONFIG, resolver=FakeResolver(ZONE), transport=transport) as v:
        results = [r async for _, r in check_many(items, v.bulk().check, window=1000)]
    verdicts = Counter((r.state.value, r.reason.value, r.flags.accept_all) for r in results)
    assert verdicts == Counter({("risky", "ServerIsCatchAll", True): 120})


async def test_groups_grow_with_a_low_rejection_rate_but_stay_within_the_hard_budget() -> None:
    items = [f"anyone{i}@catch.test" for i in range(300)]
    transport = _Transport()
    limits = Politeness(errors_per_session=8, max_errors_per_session=18, sessions_per_host=1)
    config = Config(
        allow_private_addresses=True,
        helo_name="probe.mailprobe.test",
        mail_from="verify@mailprobe.test",
        politeness=limits,
    )
    async with Verifier(config, resolver=FakeResolver(ZONE), transport=transport) as v:
        results = [r async for _, r in check_many(items, v.bulk().check, window=1000)]
    assert len(results) == 300
    # Before anything is known, half the RCPTs are assumed refused: 9 RCPTs (the catch-all
    # probe included) keep mean + 2 sigma of the rejections within the soft budget of 8; once
    # the host has accepted everything, groups grow to the hard budget and never past it.
    assert transport.groups[0] == 9
    assert max(transport.groups) == 18


GREYLISTED = Reply(450, "Greylisted, see https://postgrey.schweikert.ch/", "4.2.0", Stage.RCPT)


class _GreylistThenRefused:
    """The first session greylists every RCPT; every later connection is refused."""

    def __init__(self) -> None:
        self.opened = 0

    @contextlib.asynccontextmanager
    async def open(self, host: str, ip: str, port: int) -> AsyncIterator[_Greylisting]:
        self.opened += 1
        if self.opened > 1:
            raise SmtpTransient(f"connect {ip}:{port}: refused", stage=Stage.CONNECT)
        yield _Greylisting(host, ip)


class _Greylisting(_Session):
    def __init__(self, host: str, ip: str) -> None:
        super().__init__(host, ip, False, [])

    async def transaction(
        self, sender: str, recipients: Sequence[str], *, smtputf8: bool = False, last: bool = False
    ) -> list[Reply]:
        mail = Reply(250, "Ok", "2.1.0", Stage.MAIL)
        return [mail, *([GREYLISTED] * len(recipients)), Reply(250, "Ok", "2.0.0", Stage.RSET)]


async def test_a_greylisted_address_whose_retry_got_no_answer_is_not_resolved() -> None:
    config = dataclasses.replace(
        CONFIG, greylist_delay_s=10.0, transient_retries=0, detect_catch_all=False
    )
    transport = _GreylistThenRefused()
    async with Verifier(
        config, resolver=FakeResolver(ZONE), transport=transport, clock=FakeClock()
    ) as v:
        result = await v.bulk().check("jane@catch.test")
    assert transport.opened == 2  # the retry was tried, and could not talk
    assert result.state is State.UNKNOWN
    assert result.detail is not None and result.detail.greylisted
    assert result.detail.greylist_resolved is False, result.detail
