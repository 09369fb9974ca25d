"""Results as the engine makes them (through verdict.decide / error_result), one per case the
faces must translate."""

from __future__ import annotations

from dataclasses import replace

from engine.config import Config
from engine.errors import AtSignNotFound, DnsTransient, NoPublicMxAddress, NoSuchDomain
from engine.model import Detail, Flags, MxHost, ProbeOutcome, Reason, Reply, Result, Stage, Timings
from engine.syntax import parse_address
from engine.verdict import Findings, decide, error_result

CONFIG = Config()
TIMINGS = Timings(dns_ms=12.0, smtp_ms=480.0, total_ms=493.0)
HOSTS = (
    MxHost("mx1.example.com", 10, ("192.0.2.1",)),
    MxHost("mx2.example.com", 20, ("192.0.2.2",)),
)
ACCEPTED = Reply(250, "OK", "2.1.5")
REFUSED_RANDOM = Reply(550, "No such user", "5.1.1")


def _online(raw: str, outcome: ProbeOutcome | None, **kw: object) -> Result:
    findings = Findings(address=parse_address(raw), hosts=HOSTS, dns="mx", provider="google")
    findings = replace(findings, **kw)
    return decide(replace(findings, outcome=outcome), CONFIG, TIMINGS)


def deliverable() -> Result:
    outcome = ProbeOutcome(
        reason=Reason.SUCCESS,
        reply=ACCEPTED,
        host="mx1.example.com",
        accept_all=False,
        catch_all_reply=REFUSED_RANDOM,
    )
    return _online("Jane.Doe+news@Example.com", outcome)


def named(result: Result) -> Result:
    return replace(
        result, first_name="Jane", last_name="Doe", full_name="Jane Doe", gender="female"
    )


def unknown_user() -> Result:
    reply = Reply(550, "<nobody@example.com>: Recipient address rejected", "5.1.1")
    outcome = ProbeOutcome(
        reason=Reason.MAILBOX_DOES_NOT_EXIST, reply=reply, host="mx1.example.com"
    )
    return _online("nobody@example.com", outcome)


def catch_all() -> Result:
    outcome = ProbeOutcome(
        reason=Reason.SUCCESS,
        reply=ACCEPTED,
        host="mx1.example.com",
        accept_all=True,
        catch_all_reply=ACCEPTED,
    )
    return _online("anyone@example.com", outcome)


def disposable() -> Result:
    # A disposable domain is risky without asking its server (disposable_is_risky).
    return _online("throwaway@mailinator.com", None, flags=Flags(disposable=True))


def role() -> Result:
    outcome = ProbeOutcome(
        reason=Reason.SUCCESS, reply=ACCEPTED, host="mx1.example.com", accept_all=False
    )
    return _online("info@example.com", outcome, flags=Flags(role=True))


def full_mailbox() -> Result:
    reply = Reply(552, "Mailbox full", "5.2.2")
    outcome = ProbeOutcome(reason=Reason.MAILBOX_FULL, reply=reply, host="mx1.example.com")
    return _online("hoarder@example.com", outcome)


def greylisted() -> Result:
    reply = Reply(450, "Greylisted, please try again later", "4.7.1")
    outcome = ProbeOutcome(
        reason=Reason.GREYLISTED,
        reply=reply,
        host="mx1.example.com",
        greylisted=True,
        greylist_resolved=False,
    )
    return _online("patient@example.com", outcome)


def sender_blocked() -> Result:
    reply = Reply(554, "Service unavailable; client host blocked", "5.7.1")
    outcome = ProbeOutcome(reason=Reason.SENDER_BLOCKED, reply=reply, host="mx1.example.com")
    return _online("someone@example.com", outcome)


def timeout() -> Result:
    # The caller's time limit ended the check after DNS, before the server answered RCPT.
    outcome = ProbeOutcome(reason=Reason.TIMEOUT, notes=("time limit reached during SMTP",))
    return _online("slow@example.com", outcome)


def timeout_in_dns() -> Result:
    # The time limit ended the check before DNS answered: no mail host is known either way.
    return replace(
        timeout(),
        mx=(),
        mx_record=None,
        smtp_provider=None,
        detail=Detail(notes=("time limit reached during DNS",)),
    )


def syntax_error() -> Result:
    return error_result("jane.doe.example.com", AtSignNotFound("no @ in the address"), TIMINGS)


def typo() -> Result:
    # gmial.com does not exist; its suggestion gmail.com accepts mail.
    findings = Findings(
        address=parse_address("john@gmial.com"),
        flags=Flags(free=False),
        did_you_mean="gmail.com",
        suggestion_accepts_mail=True,
        dns="nxdomain",
        error=NoSuchDomain("gmial.com does not exist"),
    )
    return decide(findings, CONFIG, TIMINGS)


def dns_transient() -> Result:
    findings = Findings(
        address=parse_address("jane@example.org"),
        dns="transient",
        error=DnsTransient("SERVFAIL for example.org"),
    )
    return decide(findings, CONFIG, TIMINGS)


def mx_not_public() -> Result:
    findings = Findings(
        address=parse_address("jane@intranet.example"),
        dns="refused-non-public",
        error=NoPublicMxAddress("every mail host address of intranet.example is private"),
    )
    return decide(findings, CONFIG, TIMINGS)


def not_checked() -> Result:
    findings = Findings(address=parse_address("jane@example.net"))
    return decide(findings, CONFIG, Timings())


def disabled() -> Result:
    reply = Reply(550, "The email account that you tried to reach is disabled", "5.2.1")
    outcome = ProbeOutcome(reason=Reason.MAILBOX_DISABLED, reply=reply, host="mx1.example.com")
    return _online("gone@example.com", outcome)


def unclear() -> Result:
    outcome = ProbeOutcome(
        reason=Reason.UNKNOWN, reply=Reply(550, "Denied", None, Stage.RCPT), host="mx1.example.com"
    )
    return _online("maybe@example.com", outcome)


ALL = {
    "deliverable": deliverable,
    "unknown_user": unknown_user,
    "catch_all": catch_all,
    "disposable": disposable,
    "role": role,
    "full_mailbox": full_mailbox,
    "greylisted": greylisted,
    "sender_blocked": sender_blocked,
    "timeout": timeout,
    "timeout_in_dns": timeout_in_dns,
    "syntax_error": syntax_error,
    "typo": typo,
    "dns_transient": dns_transient,
    "mx_not_public": mx_not_public,
    "not_checked": not_checked,
    "disabled": disabled,
    "unclear": unclear,
}
