"""The SMTP stage against real Postfix: the replies it classifies are Postfix's own, not ours.

The prober gets its hosts directly (no DNS); the end-to-end tests at the end resolve them through
a loopback DNS server. See postfix_world.py for the servers' setup.
"""

from __future__ import annotations

import dataclasses

import pytest

from engine.clock import SystemClock
from engine.config import Config, Timeouts, TlsPolicy
from engine.localworld import Zone
from engine.localworld.dns import LocalDnsServer
from engine.model import MxHost, ProbeOutcome, Reason, State
from engine.probe import SmtpProber
from engine.smtp import AioSmtpTransport
from engine.syntax import parse_address
from engine.verifier import Verifier
from tests.realmta.postfix_world import (
    BLOCKED_DOMAIN,
    CATCH_ALL_DOMAIN,
    KNOWN_DOMAIN,
    MAIN_IP,
    MX_NAME,
    POSTGREY_DELAY_S,
    PostfixInstance,
    PostfixWorld,
)

pytestmark = pytest.mark.realmta

DNS_IP = "127.0.0.74"  # the loopback DNS server of the end-to-end tests
TLS_LOGGED = "TLS connection established from"  # smtpd_tls_loglevel = 1

CONFIG = Config(
    allow_private_addresses=True,
    helo_name="probe.mailprobe.test",
    mail_from="verify@mailprobe.test",
    # Postfix on loopback answers in milliseconds; a hang should fail fast, not in minutes.
    timeouts=Timeouts(connect_s=5.0, greeting_s=5.0, command_s=5.0, budget_s=20.0),
    retry_backoff_s=0.1,
)


async def _probe(email: str, server: PostfixInstance, config: Config = CONFIG) -> ProbeOutcome:
    prober = SmtpProber(AioSmtpTransport(config), config, SystemClock())
    outcome = await prober.probe(parse_address(email), (MxHost(MX_NAME, 10, (server.ip,)),))
    assert outcome.host == MX_NAME
    return outcome


async def test_existing_mailbox_is_success_and_domain_is_not_catch_all(
    postfix_world: PostfixWorld,
) -> None:
    outcome = await _probe(f"alice@{KNOWN_DOMAIN}", postfix_world.main)

    assert outcome.reason is Reason.SUCCESS
    assert outcome.accept_all is False
    assert outcome.reply is not None and outcome.reply.code == 250
    assert outcome.catch_all_reply is not None
    assert (outcome.catch_all_reply.code, outcome.catch_all_reply.enhanced) == (550, "5.1.1")


async def test_unknown_mailbox_is_rejected_at_rcpt(postfix_world: PostfixWorld) -> None:
    outcome = await _probe(f"nobody@{KNOWN_DOMAIN}", postfix_world.main)

    assert outcome.reason is Reason.MAILBOX_DOES_NOT_EXIST
    assert outcome.reply is not None
    assert (outcome.reply.code, outcome.reply.enhanced) == (550, "5.1.1")
    assert "User unknown in virtual mailbox table" in outcome.reply.text
    assert outcome.accept_all is False


async def test_full_mailbox_is_mailbox_full(postfix_world: PostfixWorld) -> None:
    outcome = await _probe(f"full@{KNOWN_DOMAIN}", postfix_world.main)

    assert outcome.reason is Reason.MAILBOX_FULL
    assert outcome.reply is not None
    assert (outcome.reply.code, outcome.reply.enhanced) == (552, "5.2.2")


async def test_disabled_mailbox_is_mailbox_disabled(postfix_world: PostfixWorld) -> None:
    outcome = await _probe(f"disabled@{KNOWN_DOMAIN}", postfix_world.main)

    assert outcome.reason is Reason.MAILBOX_DISABLED
    assert outcome.reply is not None
    assert (outcome.reply.code, outcome.reply.enhanced) == (550, "5.2.1")


async def test_catch_all_domain_accepts_any_address(postfix_world: PostfixWorld) -> None:
    outcome = await _probe(f"anything@{CATCH_ALL_DOMAIN}", postfix_world.main)

    assert outcome.reason is Reason.SUCCESS
    assert outcome.accept_all is True
    assert outcome.catch_all_reply is not None and outcome.catch_all_reply.code == 250


async def test_dnsbl_listing_of_the_client_is_sender_blocked(postfix_world: PostfixWorld) -> None:
    outcome = await _probe(f"postmaster@{BLOCKED_DOMAIN}", postfix_world.main)

    assert outcome.reason is Reason.SENDER_BLOCKED
    assert outcome.reply is not None
    assert (outcome.reply.code, outcome.reply.enhanced) == (554, "5.7.1")
    assert "zen.spamhaus.org" in outcome.reply.text


async def test_relay_refusal_never_says_the_mailbox_is_missing(
    postfix_world: PostfixWorld,
) -> None:
    outcome = await _probe("someone@elsewhere.test", postfix_world.main)

    assert outcome.reply is not None and outcome.reply.code == 554
    assert "Relay access denied" in outcome.reply.text
    assert outcome.reason not in (
        Reason.SUCCESS,
        Reason.MAILBOX_DOES_NOT_EXIST,
        Reason.MAILBOX_DISABLED,
    )


async def test_greylisted_rcpt_without_retry_is_greylisted(postfix_world: PostfixWorld) -> None:
    config = dataclasses.replace(CONFIG, greylist_retry=False)

    outcome = await _probe(f"carol@{KNOWN_DOMAIN}", postfix_world.greylist, config)

    assert outcome.reason is Reason.GREYLISTED
    assert outcome.greylisted is True
    assert outcome.greylist_resolved is None
    assert outcome.reply is not None
    assert (outcome.reply.code, outcome.reply.enhanced) == (450, "4.2.0")


async def test_greylisted_rcpt_is_resolved_by_the_retry(postfix_world: PostfixWorld) -> None:
    # postgrey counts whole seconds: a retry just past its delay is let through.
    config = dataclasses.replace(CONFIG, greylist_delay_s=POSTGREY_DELAY_S + 0.5)

    outcome = await _probe(f"bob@{KNOWN_DOMAIN}", postfix_world.greylist, config)

    assert outcome.greylisted is True
    assert outcome.greylist_resolved is True
    assert outcome.reason is Reason.SUCCESS
    assert outcome.reply is not None and outcome.reply.code == 250
    # The random address of the catch-all probe is a new triplet, greylisted in its turn.
    assert outcome.accept_all is None


async def test_international_mailbox_on_smtputf8_server_is_success(
    postfix_world: PostfixWorld,
) -> None:
    outcome = await _probe(f"josé@{KNOWN_DOMAIN}", postfix_world.main)

    assert outcome.reason is Reason.SUCCESS
    assert outcome.accept_all is False


async def test_international_mailbox_without_smtputf8_is_not_supported(
    postfix_world: PostfixWorld,
) -> None:
    outcome = await _probe(f"josé@{KNOWN_DOMAIN}", postfix_world.no_utf8)

    assert outcome.reason is Reason.SERVER_DOES_NOT_SUPPORT_INTERNATIONAL_MAILBOXES


async def test_ascii_mailbox_on_server_without_smtputf8_is_success(
    postfix_world: PostfixWorld,
) -> None:
    outcome = await _probe(f"alice@{KNOWN_DOMAIN}", postfix_world.no_utf8)

    assert outcome.reason is Reason.SUCCESS


async def test_required_starttls_works_with_postfix(postfix_world: PostfixWorld) -> None:
    config = dataclasses.replace(CONFIG, starttls=TlsPolicy.REQUIRED)
    tls_sessions = postfix_world.main.log_count(TLS_LOGGED)

    outcome = await _probe(f"alice@{KNOWN_DOMAIN}", postfix_world.main, config)

    assert outcome.reason is Reason.SUCCESS
    assert postfix_world.main.wait_for_log(TLS_LOGGED, more_than=tls_sessions)


async def test_required_starttls_on_server_without_it_is_transient(
    postfix_world: PostfixWorld,
) -> None:
    config = dataclasses.replace(CONFIG, starttls=TlsPolicy.REQUIRED, transient_retries=0)

    outcome = await _probe(f"alice@{KNOWN_DOMAIN}", postfix_world.no_utf8, config)

    assert outcome.reason is Reason.TRANSIENT_NETWORK_FAULT


async def test_unknown_mailboxes_on_separate_sessions_stay_below_anti_harvest_limits(
    postfix_world: PostfixWorld,
) -> None:
    # More rejections than smtpd_hard_error_limit (20), but each session makes only one.
    outcomes = [
        await _probe(f"nobody{n:02d}@{KNOWN_DOMAIN}", postfix_world.main) for n in range(25)
    ]

    others = [o for o in outcomes if o.reason is not Reason.MAILBOX_DOES_NOT_EXIST]
    assert others == []


ZONE: Zone = {
    KNOWN_DOMAIN: {"MX": [(10, MX_NAME)]},
    CATCH_ALL_DOMAIN: {"MX": [(10, MX_NAME)]},
    MX_NAME: {"A": [MAIN_IP]},
}


@pytest.mark.parametrize(
    ("email", "state", "reason", "accept_all"),
    [
        (f"alice@{KNOWN_DOMAIN}", State.DELIVERABLE, Reason.SUCCESS, False),
        (f"nobody@{KNOWN_DOMAIN}", State.UNDELIVERABLE, Reason.MAILBOX_DOES_NOT_EXIST, False),
        (f"disabled@{KNOWN_DOMAIN}", State.UNDELIVERABLE, Reason.MAILBOX_DISABLED, None),
        (f"full@{KNOWN_DOMAIN}", State.RISKY, Reason.MAILBOX_FULL, None),
        (f"anyone@{CATCH_ALL_DOMAIN}", State.RISKY, Reason.SERVER_IS_CATCH_ALL, True),
    ],
)
async def test_verifier_end_to_end_through_dns_and_postfix(
    postfix_world: PostfixWorld,
    email: str,
    state: State,
    reason: Reason,
    accept_all: bool | None,
) -> None:
    async with LocalDnsServer(ZONE, host=DNS_IP) as dns:
        config = dataclasses.replace(CONFIG, nameservers=(DNS_IP,), dns_port=dns.port)
        async with Verifier(config) as verifier:
            result = await verifier.averify(email)

    assert (result.state, result.reason) == (state, reason)
    assert result.flags.accept_all is accept_all
    assert result.mx_record == MX_NAME
    assert dns.count(KNOWN_DOMAIN if KNOWN_DOMAIN in email else CATCH_ALL_DOMAIN, "MX") >= 1
