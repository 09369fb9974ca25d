"""The SMTP stage's pure pieces, and SmtpProber's decisions over an in-memory transport.

No sockets here: the transport below answers from a script; loopback tests use real servers.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest

from engine.clock import FakeClock, SystemClock
from engine.config import Config, Timeouts
from engine.errors import (
    InvalidAddress,
    NoMailServer,
    NoPublicMxAddress,
    SmtpError,
    SmtpProtocolError,
    SmtpTransient,
)
from engine.model import Address, MxHost, Reason, Reply, Stage
from engine.probe import SmtpProber
from engine.smtp import (
    AioSmtpTransport,
    SmtpSession,
    guard_argument,
    helo_name_for,
    looks_like_mail_name,
    mail_from_for,
    parse_reply,
)

OK = Reply(250, "Ok", "2.1.5")
UNKNOWN = Reply(550, "User unknown", "5.1.1")
GREYLISTED = Reply(450, "Recipient address rejected: Greylisted", "4.2.0")
TOO_MANY = Reply(452, "Too many recipients", "4.5.3")
TEMPFAIL = Reply(451, "Temporary local problem", "4.3.0")

# parse_reply ---------------------------------------------------------------------------------


def test_parse_reply_takes_the_enhanced_code_from_the_text() -> None:
    reply = parse_reply(550, "5.1.1 <x@example.test>: User unknown", Stage.RCPT)
    assert reply == Reply(550, "<x@example.test>: User unknown", "5.1.1", Stage.RCPT)
    assert str(reply) == "550 5.1.1 <x@example.test>: User unknown"


def test_parse_reply_joins_lines_and_drops_repeated_enhanced_codes() -> None:
    message = (
        "5.1.1 The email account that you tried to reach does not exist.\n"
        "5.1.1 Please try double-checking the recipient's email address."
    )
    reply = parse_reply(550, message, Stage.RCPT)
    assert reply.enhanced == "5.1.1"
    assert reply.text == (
        "The email account that you tried to reach does not exist. "
        "Please try double-checking the recipient's email address."
    )


@pytest.mark.parametrize(
    ("code", "message", "enhanced"),
    [
        (250, "Ok", None),
        (550, "2.0.0 mismatched class", None),  # RFC 3463: the class matches the basic code
        (452, "4.5.3 Too many recipients (AS780090)", "4.5.3"),
        (421, "4.7.0 [TSS04] Messages temporarily deferred", "4.7.0"),
        (550, "5.1.10 RESOLVER.ADR.RecipientNotFound", "5.1.10"),
        (550, "5.1.1x not a code", None),
    ],
)
def test_parse_reply_enhanced_codes(code: int, message: str, enhanced: str | None) -> None:
    assert parse_reply(code, message, Stage.RCPT).enhanced == enhanced


@pytest.mark.parametrize("code", [-1, 0, 100, 199, 600, 999])
def test_parse_reply_refuses_codes_that_are_not_smtp(code: int) -> None:
    with pytest.raises(SmtpProtocolError):
        parse_reply(code, "hello", Stage.GREETING)


def test_parse_reply_keeps_evidence_printable_and_bounded() -> None:
    reply = parse_reply(550, "bad \udcff byte\tand tab " + "x" * 5000, Stage.RCPT)
    reply.text.encode("utf-8")  # no lone surrogates survive
    assert "\t" not in reply.text and len(reply.text) <= 1000


def test_parse_reply_refuses_an_endless_multiline_reply() -> None:
    with pytest.raises(SmtpProtocolError):
        parse_reply(250, "\n".join(["PIPELINING"] * 500), Stage.EHLO)


# Guards ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("arg", ["a\r\nDATA@x.test", "a\n@x.test", "a\r@x.test", "a\x00@x.test"])
def test_guard_refuses_line_breaks_and_nul(arg: str) -> None:
    with pytest.raises(InvalidAddress):
        guard_argument(arg)


def test_guard_passes_ordinary_and_international_addresses() -> None:
    for arg in ("alice@example.test", '"a b"@example.test', "josé@example.test", ""):
        assert guard_argument(arg) == arg


@pytest.mark.parametrize(
    ("name", "real"),
    [
        ("mail.example.org", True),
        ("probe.example.test", True),
        ("localhost", False),
        ("localhost.localdomain", False),
        ("buildbox", False),
        ("laptop.local", False),
        ("host.internal", False),
        ("192.0.2.1", False),
        ("[192.0.2.1]", False),
        ("[IPv6:2001:db8::1]", False),
        ("", False),
    ],
)
def test_looks_like_mail_name(name: str, real: bool) -> None:
    assert looks_like_mail_name(name) is real


def test_helo_and_sender_defaults_come_from_this_machine() -> None:
    config = Config()
    assert helo_name_for(config, "mx.mine.example") == "mx.mine.example"
    assert mail_from_for(config, "mx.mine.example") == "verify@mx.mine.example"
    chosen = Config(helo_name="probe.example.org", mail_from="bounce@example.org")
    assert helo_name_for(chosen, "ignored") == "probe.example.org"
    assert mail_from_for(chosen, "probe.example.org") == "bounce@example.org"
    assert mail_from_for(Config(mail_from=""), "x.example.org") == ""  # the null sender <>


@pytest.mark.parametrize("ip", ["127.0.0.1", "192.0.0.9", "::8.8.8.8", "64:ff9b:1::1", "5f00::1"])
async def test_transport_refuses_what_the_dns_stage_refuses_before_connecting(ip: str) -> None:
    # The same policy (engine.addresses) at both stages; open() raises before any socket.
    with pytest.raises(NoPublicMxAddress):
        async with AioSmtpTransport(Config(helo_name="probe.example.test")).open("mx", ip, 25):
            pass


# Clocks ----------------------------------------------------------------------------------------


async def test_fake_clock_sleep_advances_virtual_time_at_once() -> None:
    clock = FakeClock(start=100.0)
    await clock.sleep(60.0)
    await clock.sleep(-1.0)
    clock.advance(5.0)
    assert clock.monotonic() == 165.0
    assert clock.sleeps == [60.0, 0.0]
    with pytest.raises(ValueError):
        clock.advance(-1.0)


async def test_system_clock_is_monotonic() -> None:
    clock = SystemClock()
    before = clock.monotonic()
    await clock.sleep(0)
    assert clock.monotonic() >= before


# SmtpProber over a scripted transport ----------------------------------------------------------


class _Session:
    def __init__(self, transport: _Transport, host: str, ip: str) -> None:
        self.host, self.ip = host, ip
        self.extensions = transport.extensions
        self._t = transport
        self._rcpts = 0

    async def mail(self, sender: str, *, smtputf8: bool = False) -> Reply:
        self._t.log.append((self.ip, "MAIL", sender))
        self._rcpts = 0
        return Reply(250, "Ok", "2.1.0", Stage.MAIL)

    async def rcpt(self, recipient: str) -> Reply:
        self._t.log.append((self.ip, "RCPT", recipient))
        self._rcpts += 1
        answer = self._t.script(self.ip, recipient, self._rcpts)
        if isinstance(answer, SmtpError):
            raise answer
        return answer

    async def rset(self) -> Reply:
        self._t.log.append((self.ip, "RSET", ""))
        return Reply(250, "Ok", "2.0.0", Stage.RSET)


class _Transport:
    def __init__(
        self,
        script: Callable[[str, str, int], Reply | SmtpError],
        *,
        fail: dict[str, SmtpError] | None = None,
        extensions: frozenset[str] = frozenset({"SMTPUTF8", "PIPELINING"}),
    ) -> None:
        self.script = script
        self.fail = fail or {}
        self.extensions = extensions
        self.log: list[tuple[str, str, str]] = []
        self.opened: list[str] = []

    def open(self, host: str, ip: str, port: int) -> AbstractAsyncContextManager[SmtpSession]:
        return self._open(host, ip)

    @asynccontextmanager
    async def _open(self, host: str, ip: str) -> AsyncIterator[SmtpSession]:
        self.opened.append(ip)
        if ip in self.fail:
            raise self.fail[ip]
        yield _Session(self, host, ip)

    def rcpts(self) -> list[str]:
        return [arg for _, verb, arg in self.log if verb == "RCPT"]


def _address(email: str) -> Address:
    local, _, domain = email.rpartition("@")
    return Address(
        input=email,
        checked=email,
        local=local,
        ascii_domain=domain,
        unicode_domain=domain,
        is_smtputf8=not local.isascii(),
    )


def _config(**changes: object) -> Config:
    kwargs: dict[str, object] = {
        "allow_private_addresses": True,
        "helo_name": "probe.example.test",
        "mail_from": "verify@probe.example.test",
    }
    kwargs.update(changes)
    return Config(**kwargs)  # type: ignore[arg-type]


def _known(*users: str) -> Callable[[str, str, int], Reply]:
    return lambda ip, rcpt, n: OK if rcpt in users else UNKNOWN


HOSTS = (MxHost("mx1.example.test", 10, ("192.0.2.1",)),)


async def test_catch_all_cache_expires_and_is_bounded() -> None:
    transport = _Transport(_known("a@one.test", "b@one.test", "a@two.test", "a@three.test"))
    clock = FakeClock()
    prober = SmtpProber(transport, _config(), clock, catch_all_cache_size=2)

    for email in ("a@one.test", "b@one.test"):
        assert (await prober.probe(_address(email), HOSTS)).accept_all is False
    assert len(transport.rcpts()) == 3  # the second address reused the verdict
    clock.advance(3601.0)
    await prober.probe(_address("a@one.test"), HOSTS)
    assert len(transport.rcpts()) == 5  # an hour later, asked again
    await prober.probe(_address("a@two.test"), HOSTS)
    await prober.probe(_address("a@three.test"), HOSTS)  # evicts one.test
    await prober.probe(_address("a@one.test"), HOSTS)
    assert len(transport.rcpts()) == 11


async def test_too_many_recipients_twice_leaves_catch_all_open() -> None:
    transport = _Transport(lambda ip, rcpt, n: OK if rcpt == "a@example.test" else TOO_MANY)
    config = _config()
    outcome = await SmtpProber(transport, config, FakeClock()).probe(
        _address("a@example.test"), HOSTS
    )
    assert outcome.reason is Reason.SUCCESS
    assert outcome.accept_all is None
    verbs = [verb for _, verb, _ in transport.log]
    assert verbs == ["MAIL", "RCPT", "RCPT", "RSET", "MAIL", "RCPT", "RSET"]


async def test_catch_all_probe_cut_off_keeps_the_real_answer() -> None:
    def script(ip: str, rcpt: str, n: int) -> Reply | SmtpError:
        return OK if n == 1 else SmtpTransient("connection lost", stage=Stage.RCPT)

    transport = _Transport(script)
    outcome = await SmtpProber(transport, _config(), FakeClock()).probe(
        _address("a@example.test"), HOSTS
    )
    assert outcome.reason is Reason.SUCCESS and outcome.accept_all is None
    assert outcome.reply == OK
    assert any("catch-all probe failed" in note for note in outcome.notes)


async def test_hosts_are_tried_in_preference_order_and_a_tempfail_moves_on() -> None:
    hosts = (
        MxHost("mx2.example.test", 20, ("192.0.2.2",)),
        MxHost("mx1.example.test", 10, ("192.0.2.1",)),
    )
    transport = _Transport(lambda ip, rcpt, n: TEMPFAIL if ip == "192.0.2.1" else UNKNOWN)
    outcome = await SmtpProber(transport, _config(), FakeClock()).probe(
        _address("a@example.test"), hosts
    )
    assert transport.opened == ["192.0.2.1", "192.0.2.2"]
    assert outcome.reason is Reason.MAILBOX_DOES_NOT_EXIST and outcome.host == "mx2.example.test"


async def test_blocked_greeting_does_not_fail_over() -> None:
    blocked = Reply(554, "Service unavailable; client host blocked using Spamhaus", "5.7.1")
    hosts = (
        MxHost("mx1.example.test", 10, ("192.0.2.1",)),
        MxHost("mx2.example.test", 20, ("192.0.2.2",)),
    )
    greeting = Reply(blocked.code, blocked.text, blocked.enhanced, Stage.GREETING)
    transport = _Transport(_known(), fail={"192.0.2.1": SmtpTransient("refused", reply=greeting)})
    outcome = await SmtpProber(transport, _config(), FakeClock()).probe(
        _address("a@example.test"), hosts
    )
    assert outcome.reason is Reason.SENDER_BLOCKED and outcome.reply == greeting
    assert transport.opened == ["192.0.2.1"]


async def test_greylisted_again_on_retry_is_not_resolved() -> None:
    transport = _Transport(lambda ip, rcpt, n: GREYLISTED)
    clock = FakeClock()
    config = _config(timeouts=Timeouts(budget_s=300.0))
    outcome = await SmtpProber(transport, config, clock).probe(_address("a@example.test"), HOSTS)
    assert outcome.reason is Reason.GREYLISTED
    assert (outcome.greylisted, outcome.greylist_resolved) == (True, False)
    assert clock.sleeps == [60.0]


async def test_by_default_a_greylisting_retry_does_not_fit_and_the_answer_comes_at_once() -> None:
    # The trade-off of the defaults: the 60 s wait before a greylisting retry never fits in
    # the 60 s an address may take, so the answer is Greylisted (unknown) without waiting.
    transport = _Transport(lambda ip, rcpt, n: GREYLISTED)
    clock = FakeClock()
    outcome = await SmtpProber(transport, _config(), clock).probe(_address("a@example.test"), HOSTS)
    assert outcome.reason is Reason.GREYLISTED and outcome.greylist_resolved is None
    assert clock.sleeps == [] and transport.opened == ["192.0.2.1"]
    assert any("does not fit the budget" in note for note in outcome.notes)


def test_the_default_worst_case_per_address_is_a_minute() -> None:
    assert Timeouts().budget_s <= 60.0


async def test_greylist_retry_that_cannot_connect_is_not_resolved() -> None:
    refused = SmtpTransient("connection refused", stage=Stage.CONNECT)

    def script(ip: str, rcpt: str, n: int) -> Reply:
        transport.fail[ip] = refused  # the host is gone when the retry comes
        return GREYLISTED

    transport = _Transport(script)
    config = _config(timeouts=Timeouts(budget_s=300.0))
    outcome = await SmtpProber(transport, config, FakeClock()).probe(
        _address("a@example.test"), HOSTS
    )
    assert outcome.reason is Reason.GREYLISTED and outcome.greylist_resolved is False
    assert outcome.reply == GREYLISTED and transport.opened == ["192.0.2.1", "192.0.2.1"]


async def test_nothing_to_probe_raises() -> None:
    transport = _Transport(_known())
    prober = SmtpProber(transport, _config(allow_private_addresses=False), FakeClock())
    with pytest.raises(NoMailServer):
        await prober.probe(_address("a@example.test"), (MxHost("mx.example.test", 10, ()),))
    with pytest.raises(NoPublicMxAddress):
        await prober.probe(
            _address("a@example.test"), (MxHost("mx.example.test", 10, ("10.0.0.5", "::1")),)
        )
    assert transport.opened == []


async def test_null_sender_is_sent_as_configured() -> None:
    transport = _Transport(_known("a@example.test"))
    await SmtpProber(transport, _config(mail_from=""), FakeClock()).probe(
        _address("a@example.test"), HOSTS
    )
    assert transport.log[0] == ("192.0.2.1", "MAIL", "")


async def test_sender_defaults_to_this_machine_and_warns_when_it_looks_private(
    caplog: pytest.LogCaptureFixture,
) -> None:
    transport = _Transport(_known("a@example.test"))
    config = _config(helo_name=None, mail_from=None)
    prober = SmtpProber(transport, config, FakeClock(), fqdn=lambda: "buildbox")
    with caplog.at_level(logging.WARNING, logger="engine.smtp"):
        await prober.probe(_address("a@example.test"), HOSTS)
    assert transport.log[0] == ("192.0.2.1", "MAIL", "verify@buildbox")
    assert any("buildbox" in r.getMessage() for r in caplog.records)


async def test_budget_spent_before_an_attempt_is_transient() -> None:
    transport = _Transport(_known("a@example.test"))
    clock = FakeClock()
    config = _config(transient_retries=1, retry_backoff_s=0.5, timeouts=Timeouts(budget_s=1.0))
    fail = SmtpTransient("connection refused", stage=Stage.CONNECT)
    transport.fail["192.0.2.1"] = fail
    outcome = await SmtpProber(transport, config, clock).probe(_address("a@example.test"), HOSTS)
    assert outcome.reason is Reason.TRANSIENT_NETWORK_FAULT
    assert transport.opened == ["192.0.2.1", "192.0.2.1"] and clock.sleeps == [0.5]


async def test_a_connect_cancelled_by_a_time_limit_closes_its_socket(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A caller's time limit cancels the check mid-connect: the socket must be closed then,
    not left to the garbage collector (an unclosed-socket warning in some later test)."""
    import asyncio
    import socket

    from engine import smtp

    made: list[socket.socket] = []

    class Recorded(socket.socket):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            made.append(self)

    async def never(sock: socket.socket, address: object) -> None:
        await asyncio.Event().wait()

    monkeypatch.setattr(smtp.socket, "socket", Recorded)
    monkeypatch.setattr(asyncio.get_running_loop(), "sock_connect", never)
    task = asyncio.ensure_future(smtp._connect_directly("192.0.2.1", 25, socket.AF_INET, 30.0))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(made) == 1 and made[0].fileno() == -1  # closed
