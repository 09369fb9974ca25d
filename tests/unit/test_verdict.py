"""verdict.decide: the only place a state is chosen. Unclear is unknown, never undeliverable."""

from __future__ import annotations

import pytest

from engine.config import Config
from engine.errors import DnsTransient, NoMailServer, NoPublicMxAddress, NoSuchDomain, NullMx
from engine.model import Address, Flags, MxHost, ProbeOutcome, Reason, Reply, State, Timings
from engine.verdict import Findings, decide, score

ADDRESS = Address(
    input="Jane+news@Example.COM",
    checked="Jane+news@Example.COM",
    local="Jane+news",
    ascii_domain="example.com",
    unicode_domain="example.com",
    tag="news",
)
HOSTS = (MxHost("mx1.example.com", 10, ("192.0.2.1",)),)
CONFIG = Config()


def _decide(**kw: object) -> tuple[State, Reason, float]:
    findings = Findings(address=ADDRESS, hosts=HOSTS, dns="mx", **kw)  # type: ignore[arg-type]
    r = decide(findings, CONFIG, Timings())
    return r.state, r.reason, r.score


@pytest.mark.parametrize(
    ("reason", "state"),
    [
        (Reason.SUCCESS, State.DELIVERABLE),
        (Reason.MAILBOX_DOES_NOT_EXIST, State.UNDELIVERABLE),
        (Reason.MAILBOX_DISABLED, State.UNDELIVERABLE),
        (Reason.MAILBOX_FULL, State.RISKY),
        (Reason.GREYLISTED, State.UNKNOWN),
        (Reason.SENDER_BLOCKED, State.UNKNOWN),
        (Reason.TRANSIENT_NETWORK_FAULT, State.UNKNOWN),
        (Reason.UNKNOWN, State.UNKNOWN),
        (Reason.SERVER_DOES_NOT_SUPPORT_INTERNATIONAL_MAILBOXES, State.UNDELIVERABLE),
    ],
)
def test_smtp_reason_maps_to_state(reason: Reason, state: State) -> None:
    got_state, got_reason, _ = _decide(outcome=ProbeOutcome(reason=reason))
    assert (got_state, got_reason) == (state, reason)


def test_accepted_by_catch_all_server_is_risky() -> None:
    outcome = ProbeOutcome(reason=Reason.SUCCESS, accept_all=True)
    findings = Findings(address=ADDRESS, hosts=HOSTS, outcome=outcome)
    r = decide(findings, CONFIG, Timings())
    assert (r.state, r.reason, r.flags.accept_all) == (
        State.RISKY,
        Reason.SERVER_IS_CATCH_ALL,
        True,
    )


def test_accepted_with_catch_all_unknown_stays_deliverable_and_says_unknown() -> None:
    findings = Findings(address=ADDRESS, outcome=ProbeOutcome(reason=Reason.SUCCESS))
    r = decide(findings, CONFIG, Timings())
    assert r.state is State.DELIVERABLE
    assert r.flags.accept_all is None


def test_mailbox_full_sets_flag() -> None:
    findings = Findings(address=ADDRESS, outcome=ProbeOutcome(reason=Reason.MAILBOX_FULL))
    assert decide(findings, CONFIG, Timings()).flags.mailbox_full is True


@pytest.mark.parametrize(
    ("exc", "state", "reason"),
    [
        (NoSuchDomain(), State.UNDELIVERABLE, Reason.DOMAIN_IS_INEXISTENT),
        (NullMx(), State.UNDELIVERABLE, Reason.DOMAIN_DOES_NOT_ACCEPT_MAIL),
        (NoMailServer(), State.UNDELIVERABLE, Reason.NO_MX_SERVERS_FOUND),
        (DnsTransient("timeout"), State.UNKNOWN, Reason.TRANSIENT_NETWORK_FAULT),
        (NoPublicMxAddress("10.0.0.1"), State.UNKNOWN, Reason.MX_ADDRESS_NOT_PUBLIC),
    ],
)
def test_dns_errors_map_to_state(exc: Exception, state: State, reason: Reason) -> None:
    got_state, got_reason, _ = _decide(error=exc)
    assert (got_state, got_reason) == (state, reason)


def test_disposable_is_risky_dea_unless_configured_otherwise() -> None:
    flags = Flags(disposable=True)
    findings = Findings(address=ADDRESS, flags=flags, outcome=ProbeOutcome(reason=Reason.SUCCESS))
    assert decide(findings, CONFIG, Timings()).reason is Reason.DOMAIN_IS_WELL_KNOWN_DEA
    relaxed = Config(disposable_is_risky=False)
    r = decide(findings, relaxed, Timings())
    assert (r.state, r.reason) == (State.DELIVERABLE, Reason.SUCCESS)


def test_not_checked_when_no_smtp_stage_ran() -> None:
    r = decide(Findings(address=ADDRESS), CONFIG, Timings())
    assert (r.state, r.reason) == (State.UNKNOWN, Reason.NOT_CHECKED)


def test_result_carries_address_parts_and_evidence() -> None:
    reply = Reply(250, "OK", "2.1.5")
    findings = Findings(
        address=ADDRESS,
        hosts=HOSTS,
        dns="mx",
        provider="google",
        outcome=ProbeOutcome(reason=Reason.SUCCESS, reply=reply, host="mx1.example.com"),
    )
    d = decide(findings, CONFIG, Timings(total_ms=3.0)).to_dict()
    assert d["user"] == "Jane+news"
    assert d["tag"] == "news"
    assert d["domain"] == "example.com"
    assert d["mx_record"] == "mx1.example.com"
    assert d["smtp_provider"] == "google"
    assert d["detail"]["reply"] == {"code": 250, "enhanced": "2.1.5", "text": "OK", "stage": "rcpt"}
    assert d["detail"]["dns"] == "mx"


def test_score_is_deterministic_and_bounded() -> None:
    flags = Flags(role=True, no_reply=True)
    for state in State:
        for reason in Reason:
            s = score(state, reason, flags, "gmail.com")
            assert 0.0 <= s <= 1.0
            assert s == score(state, reason, flags, "gmail.com")


def test_score_orders_outcomes_sensibly() -> None:
    none = Flags()
    deliverable = score(State.DELIVERABLE, Reason.SUCCESS, none, None)
    catch_all = score(State.RISKY, Reason.SERVER_IS_CATCH_ALL, none, None)
    unknown = score(State.UNKNOWN, Reason.GREYLISTED, none, None)
    dead = score(State.UNDELIVERABLE, Reason.MAILBOX_DOES_NOT_EXIST, none, None)
    assert deliverable > catch_all > dead
    assert deliverable > unknown > dead
    assert score(State.DELIVERABLE, Reason.SUCCESS, Flags(role=True), None) < deliverable
    assert score(State.DELIVERABLE, Reason.SUCCESS, none, "gmail.com") < deliverable


def test_disposable_domain_with_transient_dns_failure_is_still_dea() -> None:
    flags = Flags(disposable=True)
    findings = Findings(address=ADDRESS, flags=flags, error=DnsTransient("SERVFAIL"))
    r = decide(findings, CONFIG, Timings())
    assert (r.state, r.reason) == (State.RISKY, Reason.DOMAIN_IS_WELL_KNOWN_DEA)
    # A definite DNS answer still wins: a disposable domain that is gone is undeliverable.
    findings = Findings(address=ADDRESS, flags=flags, error=NoSuchDomain())
    assert decide(findings, CONFIG, Timings()).state is State.UNDELIVERABLE


def test_only_undeliverable_results_score_below_the_floor() -> None:
    stacked = Flags(disposable=True, role=True, no_reply=True)
    assert score(State.RISKY, Reason.DOMAIN_IS_WELL_KNOWN_DEA, stacked, "gmail.com") == 0.05
    assert score(State.UNDELIVERABLE, Reason.INVALID_SYNTAX, stacked, None) == 0.0
