"""Stage outcomes -> (State, Reason, score) and the Result: the only place a verdict is made.

Rule one: unclear or transient is UNKNOWN, never UNDELIVERABLE. Only a definite answer (a
permanent mailbox reply, NXDOMAIN, null MX, no mail host, bad syntax) makes an address
undeliverable.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from engine.config import Config
from engine.errors import AddressError, EngineError, SpecialUseDomain
from engine.model import (
    Address,
    Detail,
    Flags,
    MxHost,
    ProbeOutcome,
    Reason,
    Result,
    State,
    Timings,
)

# The state each SMTP answer leads to. Success is split by the catch-all probe below.
_SMTP_STATE: dict[Reason, State] = {
    Reason.SUCCESS: State.DELIVERABLE,
    Reason.MAILBOX_DOES_NOT_EXIST: State.UNDELIVERABLE,
    Reason.MAILBOX_DISABLED: State.UNDELIVERABLE,
    # RFC 6531 §3.4: without SMTPUTF8 the server cannot take a non-ASCII mailbox at all.
    Reason.SERVER_DOES_NOT_SUPPORT_INTERNATIONAL_MAILBOXES: State.UNDELIVERABLE,
    # RFC 7505 §4.2: "556 5.1.10 Recipient address has null MX" (RFC 7504 §3: 556 or 521 "does
    # not accept mail") says the domain takes no mail at all, the same verdict as a null MX in DNS.
    Reason.DOMAIN_DOES_NOT_ACCEPT_MAIL: State.UNDELIVERABLE,
    Reason.MAILBOX_FULL: State.RISKY,
    Reason.GREYLISTED: State.UNKNOWN,
    Reason.SENDER_BLOCKED: State.UNKNOWN,
    Reason.TRANSIENT_NETWORK_FAULT: State.UNKNOWN,
    Reason.UNKNOWN: State.UNKNOWN,
    Reason.TIMEOUT: State.UNKNOWN,
}

# Base score of each reason that is not undeliverable: how likely mail to the address is
# delivered and read.
_BASE_SCORE: dict[Reason, float] = {
    Reason.SUCCESS: 0.95,
    Reason.SERVER_IS_CATCH_ALL: 0.55,
    Reason.MAILBOX_FULL: 0.35,
    Reason.DOMAIN_IS_WELL_KNOWN_DEA: 0.2,
    Reason.NOT_CHECKED: 0.5,
    Reason.GREYLISTED: 0.5,
    Reason.SENDER_BLOCKED: 0.45,
    Reason.TRANSIENT_NETWORK_FAULT: 0.4,
    Reason.UNKNOWN: 0.4,
    Reason.TIMEOUT: 0.4,
    Reason.MX_ADDRESS_NOT_PUBLIC: 0.3,
    # Unknown only: a name outside the public DNS (.onion, .local) that was not looked into.
    Reason.SPECIAL_USE_DOMAIN: 0.3,
}
# Undeliverable results score 0, except where the mailbox itself may exist.
_UNDELIVERABLE_SCORE: dict[Reason, float] = {
    Reason.SERVER_DOES_NOT_SUPPORT_INTERNATIONAL_MAILBOXES: 0.05,
}
_SCORE_ROLE = 0.05
_SCORE_NO_REPLY = 0.2
_SCORE_TYPO = 0.25
_SCORE_DISPOSABLE = 0.1
_SCORE_FLOOR = 0.05


@dataclass(frozen=True, slots=True, kw_only=True)
class Findings:
    """What the stages found for one parsed address."""

    address: Address
    flags: Flags = field(default_factory=Flags)
    did_you_mean: str | None = None
    suggestion_accepts_mail: bool | None = None
    hosts: tuple[MxHost, ...] = ()
    dns: str | None = None  # DNS outcome in words; None when DNS was not checked
    provider: str | None = None
    outcome: ProbeOutcome | None = None  # None when SMTP was not checked
    error: EngineError | None = None  # a DNS or SMTP error that ended the check early
    notes: tuple[str, ...] = ()
    first_name: str | None = None  # from a local part that clearly splits into names
    last_name: str | None = None
    gender: str | None = None


def score(state: State, reason: Reason, flags: Flags, did_you_mean: str | None) -> float:
    """Deterministic 0-1 score: a base per reason, minus fixed penalties (see README)."""
    if state is State.UNDELIVERABLE:
        return _UNDELIVERABLE_SCORE.get(reason, 0.0)
    value = _BASE_SCORE.get(reason, 0.4)
    if flags.role:
        value -= _SCORE_ROLE
    if flags.no_reply:
        value -= _SCORE_NO_REPLY
    if did_you_mean:
        value -= _SCORE_TYPO
    if flags.disposable and reason is not Reason.DOMAIN_IS_WELL_KNOWN_DEA:
        value -= _SCORE_DISPOSABLE
    # Only an undeliverable address scores 0: penalties never sink the others that low.
    return round(min(1.0, max(_SCORE_FLOOR, value)), 2)


def _state_reason(f: Findings, config: Config) -> tuple[State, Reason, Flags]:
    flags = f.flags
    dea = f.flags.disposable and config.disposable_is_risky
    if f.error is not None:
        # A transient failure teaches nothing; the list still says what the domain is.
        if dea and f.error.state is State.UNKNOWN:
            return State.RISKY, Reason.DOMAIN_IS_WELL_KNOWN_DEA, flags
        return f.error.state, f.error.reason, flags
    if dea:
        return State.RISKY, Reason.DOMAIN_IS_WELL_KNOWN_DEA, flags
    outcome = f.outcome
    if outcome is None:
        return State.UNKNOWN, Reason.NOT_CHECKED, flags
    if outcome.accept_all is not None:
        flags = replace(flags, accept_all=outcome.accept_all)
    if outcome.reason is Reason.MAILBOX_FULL:
        flags = replace(flags, mailbox_full=True)
    state = _SMTP_STATE.get(outcome.reason, State.UNKNOWN)
    if outcome.reason is Reason.SUCCESS and outcome.accept_all:
        return State.RISKY, Reason.SERVER_IS_CATCH_ALL, flags
    if state is State.UNKNOWN and outcome.reason not in _SMTP_STATE:
        return state, Reason.UNKNOWN, flags
    return state, outcome.reason, flags


def decide(f: Findings, config: Config, timings: Timings) -> Result:
    """The Result for a parsed address; never raises."""
    state, reason, flags = _state_reason(f, config)
    outcome = f.outcome
    a = f.address
    notes = f.notes
    if f.error is not None and str(f.error):
        notes = (*notes, str(f.error))
    detail = Detail(
        dns=f.dns,
        reply=outcome.reply if outcome else None,
        catch_all_reply=outcome.catch_all_reply if outcome else None,
        greylisted=outcome.greylisted if outcome else False,
        greylist_resolved=outcome.greylist_resolved if outcome else None,
        suggestion_accepts_mail=f.suggestion_accepts_mail,
        cleaned=a.checked != a.input,
        notes=(*notes, *(outcome.notes if outcome else ())),
    )
    mx_record = (outcome.host if outcome and outcome.host else None) or (
        f.hosts[0].host if f.hosts else None
    )
    return Result(
        input=a.input,
        email=a.email,
        state=state,
        reason=reason,
        user=a.local,
        domain=a.unicode_domain,
        tag=a.tag,
        # Kickbox, Emailable and Byteplant suggest a whole address; the domain is kept apart.
        did_you_mean=f"{a.local}@{f.did_you_mean}" if f.did_you_mean else None,
        did_you_mean_domain=f.did_you_mean,
        first_name=f.first_name,
        last_name=f.last_name,
        full_name=f"{f.first_name} {f.last_name}" if f.first_name and f.last_name else None,
        gender=f.gender,
        flags=flags,
        mx=f.hosts,
        mx_record=mx_record,
        smtp_provider=f.provider,
        score=score(state, reason, flags, f.did_you_mean),
        timings=timings,
        detail=detail,
    )


def error_result(raw: str, exc: EngineError, timings: Timings) -> Result:
    """The Result for an input the stages stopped at: bad syntax, a special-use domain (whose
    parsed address is still shown) or an internal error."""
    message = str(exc)
    if not isinstance(exc, AddressError):
        message = message or "internal error"
    a = exc.address if isinstance(exc, SpecialUseDomain) else None
    return Result(
        input=raw,
        email=a.email if a else None,
        state=exc.state,
        reason=exc.reason,
        user=a.local if a else None,
        domain=a.unicode_domain if a else None,
        tag=a.tag if a else None,
        score=score(exc.state, exc.reason, Flags(), None),
        timings=timings,
        detail=Detail(
            cleaned=a.checked != a.input if a else False, notes=(message,) if message else ()
        ),
    )
