"""SmtpProber + AioSmtpTransport against loopback servers: each behaviour, reason and evidence.

Every server listens on 127.0.0.x and is stopped by the fixture that started it; retries and
budgets run on a FakeClock, timeouts come from a tarpit and tiny per-step limits.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

from engine.clock import FakeClock
from engine.config import Config, Timeouts, TlsPolicy
from engine.errors import InvalidAddress, NoPublicMxAddress, SmtpTransient
from engine.localworld.smtp import (
    DropAfterEhloServer,
    EndlessReplyServer,
    GarbageServer,
    GreetingRefusedServer,
    LoopbackServer,
    MailboxServer,
    TarpitServer,
    self_signed_tls,
)
from engine.model import Address, MxHost, ProbeOutcome, Reason, Stage
from engine.probe import SmtpProber
from engine.smtp import AioSmtpTransport

S = TypeVar("S", bound=LoopbackServer)
Start = Callable[[S], Awaitable[S]]

DOMAIN = "example.test"
USERS = ("alice@example.test", "bob@example.test")
DEAD_IP = "127.0.0.26"  # nothing listens here


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


def _config(port: int, **changes: object) -> Config:
    base = Config(
        allow_private_addresses=True,
        smtp_port=port,
        helo_name="probe.example.test",
        mail_from="verify@probe.example.test",
        timeouts=Timeouts(connect_s=2.0, greeting_s=2.0, command_s=2.0, budget_s=30.0),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def _mx(*ips: str, name: str = "mx1.example.test", preference: int = 10) -> MxHost:
    return MxHost(name, preference, tuple(ips))


async def _probe(
    config: Config,
    email: str,
    hosts: tuple[MxHost, ...],
    clock: FakeClock | None = None,
    prober: SmtpProber | None = None,
) -> ProbeOutcome:
    prober = prober or SmtpProber(AioSmtpTransport(config), config, clock or FakeClock())
    return await prober.probe(_address(email), hosts)


# Mailbox answers -------------------------------------------------------------------------


async def test_known_user_is_success_and_not_catch_all(smtp_start: Start[MailboxServer]) -> None:
    server = await smtp_start(MailboxServer(users=USERS))
    outcome = await _probe(_config(server.port), "alice@example.test", (_mx(server.host),))

    assert outcome.reason is Reason.SUCCESS
    assert outcome.reply is not None and (outcome.reply.code, outcome.reply.enhanced) == (
        250,
        "2.1.5",
    )
    assert outcome.host == "mx1.example.test"
    assert outcome.accept_all is False
    assert outcome.catch_all_reply is not None
    assert outcome.catch_all_reply.enhanced == "5.1.1"
    assert server.stats.verbs() == ["EHLO", "MAIL", "RCPT", "RCPT", "RSET", "QUIT"]
    assert server.stats.connections == 1 and server.stats.peak == 1
    random_rcpt = server.stats.commands[3]
    local = random_rcpt.removeprefix("RCPT TO:<").partition("@")[0]
    assert len(local) >= 20 and local.isalnum() and local.islower()


async def test_unknown_user_is_mailbox_does_not_exist(smtp_start: Start[MailboxServer]) -> None:
    server = await smtp_start(MailboxServer(users=USERS))
    outcome = await _probe(_config(server.port), "nobody@example.test", (_mx(server.host),))

    assert outcome.reason is Reason.MAILBOX_DOES_NOT_EXIST
    assert outcome.reply is not None and outcome.reply.code == 550
    assert outcome.reply.enhanced == "5.1.1" and outcome.reply.stage is Stage.RCPT
    assert outcome.accept_all is False
    assert server.stats.count("RCPT") == 1  # no catch-all probe after a refusal


async def test_catch_all_server_is_success_with_accept_all(
    smtp_start: Start[MailboxServer],
) -> None:
    server = await smtp_start(MailboxServer(domains=[DOMAIN], catch_all=True))
    outcome = await _probe(_config(server.port), "anyone@example.test", (_mx(server.host),))

    assert outcome.reason is Reason.SUCCESS
    assert outcome.accept_all is True
    assert outcome.catch_all_reply is not None and outcome.catch_all_reply.code == 250


async def test_full_mailbox_is_mailbox_full(smtp_start: Start[MailboxServer]) -> None:
    server = await smtp_start(MailboxServer(users=USERS, full=["carol@example.test"]))
    outcome = await _probe(_config(server.port), "carol@example.test", (_mx(server.host),))

    assert outcome.reason is Reason.MAILBOX_FULL
    assert outcome.reply is not None and (outcome.reply.code, outcome.reply.enhanced) == (
        552,
        "5.2.2",
    )


async def test_disabled_mailbox_is_mailbox_disabled(smtp_start: Start[MailboxServer]) -> None:
    server = await smtp_start(MailboxServer(users=USERS, disabled=["dave@example.test"]))
    outcome = await _probe(_config(server.port), "dave@example.test", (_mx(server.host),))

    assert outcome.reason is Reason.MAILBOX_DISABLED
    assert outcome.reply is not None and outcome.reply.enhanced == "5.2.1"


async def test_blocklisted_sender_at_rcpt_is_sender_blocked_not_undeliverable(
    smtp_start: Start[MailboxServer],
) -> None:
    server = await smtp_start(MailboxServer(users=USERS, blocked=True))
    outcome = await _probe(_config(server.port), "alice@example.test", (_mx(server.host),))

    assert outcome.reason is Reason.SENDER_BLOCKED
    assert outcome.reply is not None and outcome.reply.enhanced == "5.7.1"
    assert outcome.accept_all is None
    assert server.stats.connections == 1  # a block is about us: no fail-over, no retry


# Catch-all detection ------------------------------------------------------------------------


async def test_catch_all_verdict_is_cached_per_domain(smtp_start: Start[MailboxServer]) -> None:
    server = await smtp_start(MailboxServer(users=USERS))
    config = _config(server.port)
    prober = SmtpProber(AioSmtpTransport(config), config, FakeClock())
    hosts = (_mx(server.host),)

    first = await _probe(config, "alice@example.test", hosts, prober=prober)
    rcpts_first = server.stats.count("RCPT")
    second = await _probe(config, "bob@example.test", hosts, prober=prober)
    rcpts_second = server.stats.count("RCPT") - rcpts_first

    assert first.accept_all is False and second.accept_all is False
    assert (rcpts_first, rcpts_second) == (2, 1)
    assert second.catch_all_reply == first.catch_all_reply
    assert any("earlier probe" in note for note in second.notes)


async def test_too_many_recipients_moves_catch_all_probe_to_new_transaction(
    smtp_start: Start[MailboxServer],
) -> None:
    # Outlook.com answers 452 4.5.3 to the second RCPT of a transaction.
    server = await smtp_start(MailboxServer(users=USERS, rcpt_per_transaction=1))
    outcome = await _probe(_config(server.port), "alice@example.test", (_mx(server.host),))

    assert outcome.reason is Reason.SUCCESS
    assert outcome.accept_all is False
    assert outcome.catch_all_reply is not None and outcome.catch_all_reply.enhanced == "5.1.1"
    assert server.stats.verbs() == [
        "EHLO", "MAIL", "RCPT", "RCPT", "RSET", "MAIL", "RCPT", "RSET", "QUIT",
    ]  # fmt: skip
    assert any("4.5.3" in note for note in outcome.notes)


async def test_catch_all_server_limited_to_one_rcpt_is_still_detected(
    smtp_start: Start[MailboxServer],
) -> None:
    server = await smtp_start(
        MailboxServer(domains=[DOMAIN], catch_all=True, rcpt_per_transaction=1)
    )
    outcome = await _probe(_config(server.port), "anyone@example.test", (_mx(server.host),))

    assert outcome.reason is Reason.SUCCESS and outcome.accept_all is True


async def test_catch_all_detection_off_leaves_accept_all_unknown(
    smtp_start: Start[MailboxServer],
) -> None:
    server = await smtp_start(MailboxServer(users=USERS))
    config = _config(server.port, detect_catch_all=False)
    outcome = await _probe(config, "alice@example.test", (_mx(server.host),))

    assert outcome.reason is Reason.SUCCESS and outcome.accept_all is None
    assert server.stats.count("RCPT") == 1


# Greylisting and budgets ---------------------------------------------------------------------


async def test_greylisted_rcpt_is_retried_once_after_the_delay(
    smtp_start: Start[MailboxServer],
) -> None:
    server = await smtp_start(MailboxServer(users=USERS, greylist=True))
    clock = FakeClock()
    config = _config(server.port, greylist_delay_s=90.0, timeouts=Timeouts(budget_s=300.0))
    outcome = await _probe(config, "alice@example.test", (_mx(server.host),), clock)

    assert outcome.reason is Reason.SUCCESS
    assert outcome.greylisted is True and outcome.greylist_resolved is True
    assert clock.sleeps == [90.0]
    assert server.stats.connections == 2
    # The random address is greylisted too on its first try: the catch-all question stays open.
    assert outcome.accept_all is None


async def test_greylist_retry_that_does_not_fit_the_budget_is_not_made(
    smtp_start: Start[MailboxServer],
) -> None:
    server = await smtp_start(MailboxServer(users=USERS, greylist=True))
    clock = FakeClock()
    config = _config(server.port, greylist_delay_s=60.0, timeouts=Timeouts(budget_s=30.0))
    outcome = await _probe(config, "alice@example.test", (_mx(server.host),), clock)

    assert outcome.reason is Reason.GREYLISTED
    assert outcome.greylisted is True and outcome.greylist_resolved is None
    assert outcome.reply is not None and outcome.reply.code == 450
    assert clock.sleeps == [] and server.stats.connections == 1
    assert any("budget" in note for note in outcome.notes)


async def test_greylisting_without_retry_is_unknown_not_undeliverable(
    smtp_start: Start[MailboxServer],
) -> None:
    server = await smtp_start(MailboxServer(users=USERS, greylist=True))
    config = _config(server.port, greylist_retry=False)
    outcome = await _probe(config, "alice@example.test", (_mx(server.host),))

    assert outcome.reason is Reason.GREYLISTED
    assert outcome.greylisted is True and outcome.greylist_resolved is None


async def test_transient_failures_are_retried_with_doubling_backoff(
    smtp_start: Start[GreetingRefusedServer],
) -> None:
    server = await smtp_start(GreetingRefusedServer())
    clock = FakeClock()
    config = _config(server.port, transient_retries=2, retry_backoff_s=1.0)
    outcome = await _probe(config, "alice@example.test", (_mx(server.host),), clock)

    assert outcome.reason is Reason.TRANSIENT_NETWORK_FAULT
    assert outcome.reply is not None and outcome.reply.code == 421
    assert outcome.reply.stage is Stage.GREETING
    assert clock.sleeps == [1.0, 2.0]
    assert server.stats.connections == 3


async def test_budget_exhaustion_stops_the_retries(
    smtp_start: Start[GreetingRefusedServer],
) -> None:
    server = await smtp_start(GreetingRefusedServer())
    clock = FakeClock()
    config = _config(
        server.port,
        transient_retries=5,
        retry_backoff_s=1.0,
        timeouts=Timeouts(budget_s=2.5),
    )
    outcome = await _probe(config, "alice@example.test", (_mx(server.host),), clock)

    assert outcome.reason is Reason.TRANSIENT_NETWORK_FAULT
    assert clock.sleeps == [1.0]  # the next 2 s back-off would end after the 2.5 s budget
    assert server.stats.connections == 2
    assert any("budget" in note for note in outcome.notes)


# Hosts that cannot talk -------------------------------------------------------------------------


async def test_refused_connection_fails_over_to_the_next_mx(
    smtp_start: Start[MailboxServer],
) -> None:
    server = await smtp_start(MailboxServer(users=USERS))
    hosts = (
        _mx(server.host, name="mx2.example.test", preference=20),
        _mx(DEAD_IP, name="mx1.example.test", preference=10),
    )
    outcome = await _probe(_config(server.port), "alice@example.test", hosts)

    assert outcome.reason is Reason.SUCCESS
    assert outcome.host == "mx2.example.test"
    assert any(DEAD_IP in note for note in outcome.notes)
    assert server.stats.connections == 1


async def test_421_greeting_fails_over_to_the_next_mx(
    smtp_start: Start[LoopbackServer],
) -> None:
    good = await smtp_start(MailboxServer(users=USERS))
    busy = await smtp_start(GreetingRefusedServer("127.0.0.27", good.port))
    hosts = (_mx(busy.host), _mx(good.host, name="mx2.example.test", preference=20))
    outcome = await _probe(_config(good.port), "alice@example.test", hosts)

    assert outcome.reason is Reason.SUCCESS and outcome.host == "mx2.example.test"
    assert busy.stats.connections == 1 and good.stats.connections == 1


async def test_tarpit_times_out_as_transient(smtp_start: Start[TarpitServer]) -> None:
    server = await smtp_start(TarpitServer())
    config = _config(
        server.port,
        transient_retries=0,
        timeouts=Timeouts(connect_s=1.0, greeting_s=0.05, command_s=1.0),
    )
    outcome = await _probe(config, "alice@example.test", (_mx(server.host),))

    assert outcome.reason is Reason.TRANSIENT_NETWORK_FAULT
    assert outcome.reply is None
    assert any("greeting" in note for note in outcome.notes)
    assert server.stats.connections == 1 and server.stats.commands == []


async def test_drop_after_ehlo_is_transient(smtp_start: Start[DropAfterEhloServer]) -> None:
    server = await smtp_start(DropAfterEhloServer())
    outcome = await _probe(
        _config(server.port, transient_retries=0), "alice@example.test", (_mx(server.host),)
    )

    assert outcome.reason is Reason.TRANSIENT_NETWORK_FAULT
    assert server.stats.verbs() == ["EHLO"]


async def test_garbage_is_a_protocol_fault_and_not_retried(
    smtp_start: Start[GarbageServer],
) -> None:
    server = await smtp_start(GarbageServer())
    clock = FakeClock()
    config = _config(server.port, transient_retries=3)
    outcome = await _probe(config, "alice@example.test", (_mx(server.host),), clock)

    assert outcome.reason is Reason.TRANSIENT_NETWORK_FAULT
    assert server.stats.connections == 1 and clock.sleeps == []


async def test_endless_multiline_reply_is_cut_off(smtp_start: Start[EndlessReplyServer]) -> None:
    server = await smtp_start(EndlessReplyServer())
    outcome = await _probe(
        _config(server.port, transient_retries=0), "alice@example.test", (_mx(server.host),)
    )

    assert outcome.reason is Reason.TRANSIENT_NETWORK_FAULT
    assert server.stats.verbs() == ["EHLO"]


async def test_ehlo_refused_falls_back_to_helo(smtp_start: Start[MailboxServer]) -> None:
    server = await smtp_start(MailboxServer(users=USERS, ehlo=False))
    outcome = await _probe(_config(server.port), "alice@example.test", (_mx(server.host),))

    assert outcome.reason is Reason.SUCCESS
    assert server.stats.verbs()[:3] == ["EHLO", "HELO", "MAIL"]


# SMTPUTF8 ---------------------------------------------------------------------------------------


async def test_international_mailbox_uses_smtputf8(smtp_start: Start[MailboxServer]) -> None:
    server = await smtp_start(MailboxServer(users=["josé@example.test"], smtputf8=True))
    outcome = await _probe(_config(server.port), "josé@example.test", (_mx(server.host),))

    assert outcome.reason is Reason.SUCCESS
    assert server.stats.commands[1] == "MAIL FROM:<verify@probe.example.test> SMTPUTF8"
    assert "RCPT TO:<josé@example.test>" in server.stats.commands


async def test_international_mailbox_without_smtputf8_is_reported_as_such(
    smtp_start: Start[MailboxServer],
) -> None:
    server = await smtp_start(MailboxServer(users=["josé@example.test"], smtputf8=False))
    outcome = await _probe(_config(server.port), "josé@example.test", (_mx(server.host),))

    assert outcome.reason is Reason.SERVER_DOES_NOT_SUPPORT_INTERNATIONAL_MAILBOXES
    assert "MAIL" not in server.stats.verbs() and "RCPT" not in server.stats.verbs()


# TLS --------------------------------------------------------------------------------------------


async def test_starttls_with_self_signed_certificate_works_by_default(
    smtp_start: Start[MailboxServer],
) -> None:
    server = await smtp_start(MailboxServer(users=USERS, tls=self_signed_tls()))
    outcome = await _probe(_config(server.port), "alice@example.test", (_mx(server.host),))

    assert outcome.reason is Reason.SUCCESS
    # EHLO, STARTTLS, then EHLO again inside TLS (RFC 3207 §4.2).
    assert server.stats.verbs()[:4] == ["EHLO", "STARTTLS", "EHLO", "MAIL"]


async def test_starttls_with_self_signed_certificate_fails_when_verifying(
    smtp_start: Start[MailboxServer],
) -> None:
    server = await smtp_start(MailboxServer(users=USERS, tls=self_signed_tls()))
    config = _config(server.port, verify_certificates=True)
    outcome = await _probe(config, "alice@example.test", (_mx(server.host),))

    assert outcome.reason is Reason.TRANSIENT_NETWORK_FAULT
    assert any("STARTTLS" in note for note in outcome.notes)
    assert "MAIL" not in server.stats.verbs()
    assert server.stats.connections == 1  # a certificate does not get better on retry


async def test_tls_required_refuses_a_server_without_starttls(
    smtp_start: Start[MailboxServer],
) -> None:
    server = await smtp_start(MailboxServer(users=USERS))
    config = _config(server.port, starttls=TlsPolicy.REQUIRED)
    outcome = await _probe(config, "alice@example.test", (_mx(server.host),))

    assert outcome.reason is Reason.TRANSIENT_NETWORK_FAULT
    assert any("STARTTLS required" in note for note in outcome.notes)
    assert "MAIL" not in server.stats.verbs()


async def test_tls_never_stays_in_plaintext(smtp_start: Start[MailboxServer]) -> None:
    server = await smtp_start(MailboxServer(users=USERS, tls=self_signed_tls()))
    config = _config(server.port, starttls=TlsPolicy.NEVER)
    outcome = await _probe(config, "alice@example.test", (_mx(server.host),))

    assert outcome.reason is Reason.SUCCESS and "STARTTLS" not in server.stats.verbs()


# Safety: SSRF guard, line injection -----------------------------------------------------------


async def test_default_config_refuses_loopback_without_connecting(
    smtp_start: Start[MailboxServer],
) -> None:
    server = await smtp_start(MailboxServer(users=USERS))
    config = dataclasses.replace(_config(server.port), allow_private_addresses=False)

    with pytest.raises(NoPublicMxAddress):
        await _probe(config, "alice@example.test", (_mx(server.host),))
    with pytest.raises(NoPublicMxAddress):
        async with AioSmtpTransport(config).open("mx1.example.test", server.host, server.port):
            pass
    assert server.stats.connections == 0


async def test_transport_connects_only_to_ip_addresses(smtp_start: Start[MailboxServer]) -> None:
    server = await smtp_start(MailboxServer(users=USERS))
    with pytest.raises(NoPublicMxAddress):
        async with AioSmtpTransport(_config(server.port)).open("localhost", "localhost", 25):
            pass
    assert server.stats.connections == 0


async def test_crlf_in_recipient_never_reaches_the_wire(smtp_start: Start[MailboxServer]) -> None:
    server = await smtp_start(MailboxServer(users=USERS))
    config = _config(server.port)

    with pytest.raises(InvalidAddress):
        await _probe(config, "x\r\nDATA\r\nrcpt@example.test", (_mx(server.host),))
    assert server.stats.connections == 0

    async with AioSmtpTransport(config).open("mx1.example.test", server.host, server.port) as s:
        assert (await s.mail("verify@probe.example.test")).code == 250
        for evil in ("a\r\nDATA@example.test", "a\nDATA@example.test", "a\x00b@example.test"):
            with pytest.raises(InvalidAddress):
                await s.rcpt(evil)
        assert (await s.rset()).code == 250
    assert server.stats.verbs() == ["EHLO", "MAIL", "RSET", "QUIT"]
    assert not any("DATA" in line for line in server.stats.commands)


async def test_session_reports_extensions_and_replies_not_exceptions(
    smtp_start: Start[MailboxServer],
) -> None:
    server = await smtp_start(MailboxServer(users=USERS))
    config = _config(server.port)
    async with AioSmtpTransport(config).open("mx1.example.test", server.host, server.port) as s:
        assert {"SMTPUTF8", "8BITMIME"} <= s.extensions
        assert (s.host, s.ip) == ("mx1.example.test", server.host)
        await s.mail("verify@probe.example.test")
        refused = await s.rcpt("nobody@example.test")
    assert (refused.code, refused.enhanced, refused.stage) == (550, "5.1.1", Stage.RCPT)
    assert refused.text.startswith("<nobody@example.test>")


async def test_greeting_421_raises_transient_with_the_reply(
    smtp_start: Start[GreetingRefusedServer],
) -> None:
    server = await smtp_start(GreetingRefusedServer())
    with pytest.raises(SmtpTransient) as caught:
        async with AioSmtpTransport(_config(server.port)).open("mx", server.host, server.port):
            pass
    assert caught.value.reply is not None and caught.value.reply.code == 421
    assert caught.value.stage is Stage.GREETING


# Servers from a thread (scripts, the demo) ------------------------------------------------------


async def test_server_runs_in_a_thread_too() -> None:
    server = MailboxServer("127.0.0.28", users=USERS)
    with server.running_in_thread():
        outcome = await _probe(_config(server.port), "alice@example.test", (_mx(server.host),))
    assert outcome.reason is Reason.SUCCESS
    assert server.stats.connections == 1 and "DATA" not in server.stats.verbs()
