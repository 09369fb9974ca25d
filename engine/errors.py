"""The engine's internal exception tree; each class names the Reason it maps to.

These never leave `averify()`: pipeline.py turns every one into a Result.

    EngineError
    ├── AddressError ── AtSignNotFound, TooManyAtSigns, InvalidAddress,
    │                   SpecialUseDomain ── SpecialUseDomainUnchecked
    ├── DnsError ───── NoSuchDomain, NullMx, NoMailServer, NoPublicMxAddress, DnsTransient
    ├── SmtpError ──── SmtpTransient (timeout, reset, 421, TLS), SmtpProtocolError (garbage)
    │                  └── ProxyFault (an egress's proxy failed: which proxy, which step)
    ├── CheckTimedOut  the time limit ended the check before an answer
    └── InternalError  a bug; the input still gets exactly one Result
"""

from __future__ import annotations

from typing import ClassVar

from engine.model import Address, Reason, Reply, Stage, State


class EngineError(Exception):
    """Base of every error the engine raises between its stages."""

    reason: ClassVar[Reason] = Reason.UNKNOWN
    state: ClassVar[State] = State.UNKNOWN


class AddressError(EngineError):
    reason = Reason.INVALID_SYNTAX
    state = State.UNDELIVERABLE


class AtSignNotFound(AddressError):
    reason = Reason.AT_SIGN_NOT_FOUND


class TooManyAtSigns(AddressError):
    reason = Reason.TOO_MANY_AT_SIGNS_FOUND


class InvalidAddress(AddressError):
    reason = Reason.INVALID_SYNTAX


class SpecialUseDomain(AddressError):
    """A well-formed address under a special-use name that never holds anybody's mailbox:
    .invalid, .localhost, the .arpa infrastructure (RFC 6761 §6.3, §6.4; RFC 3172).

    Carries the parsed address, so the Result still shows it."""

    reason = Reason.SPECIAL_USE_DOMAIN

    def __init__(self, message: str, *, address: Address) -> None:
        super().__init__(message)
        self.address = address


class SpecialUseDomainUnchecked(SpecialUseDomain):
    """A special-use name outside the public DNS that mailprobe does not look into: .onion
    (Tor), .alt, and .local unless private addresses are allowed. A mailbox may well exist
    there, so nothing is learned about the address."""

    state = State.UNKNOWN


class DnsError(EngineError):
    reason = Reason.TRANSIENT_NETWORK_FAULT
    state = State.UNKNOWN


class NoSuchDomain(DnsError):
    """NXDOMAIN: the domain does not exist."""

    reason = Reason.DOMAIN_IS_INEXISTENT
    state = State.UNDELIVERABLE


class NullMx(DnsError):
    """RFC 7505: the domain publishes `MX 0 .` and accepts no mail."""

    reason = Reason.DOMAIN_DOES_NOT_ACCEPT_MAIL
    state = State.UNDELIVERABLE


class NoMailServer(DnsError):
    """No MX and no A/AAAA (or every MX host has no address)."""

    reason = Reason.NO_MX_SERVERS_FOUND
    state = State.UNDELIVERABLE


class NoPublicMxAddress(DnsError):
    """Every address of every mail host is private/loopback/reserved and the SSRF guard is on."""

    reason = Reason.MX_ADDRESS_NOT_PUBLIC
    state = State.UNKNOWN


class DnsTransient(DnsError):
    """SERVFAIL, REFUSED, timeout, no nameserver answered: says nothing about the address."""

    reason = Reason.TRANSIENT_NETWORK_FAULT
    state = State.UNKNOWN


class SmtpError(EngineError):
    """Carries the reply that ended the dialogue (if any) and the step it happened at."""

    reason = Reason.TRANSIENT_NETWORK_FAULT
    state = State.UNKNOWN

    def __init__(
        self, message: str = "", *, reply: Reply | None = None, stage: Stage | None = None
    ) -> None:
        super().__init__(message)
        self.reply = reply
        self.stage = stage if stage is not None or reply is None else reply.stage


class SmtpTransient(SmtpError):
    """Could not talk: refused, timeout, reset, 421, TLS failure."""


class ProxyFault(SmtpTransient):
    """An egress's proxy failed before the mail server was reached: refused, authentication,
    could not reach the mail host, closed or silent. Says nothing about the address."""

    def __init__(self, message: str, *, proxy: str, step: str) -> None:
        super().__init__(message, stage=Stage.CONNECT)
        self.proxy = proxy  # the proxy URL without its password, and the egress name
        self.step = step  # engine.egress.ProxyStep value


class SmtpProtocolError(SmtpError):
    """The server spoke something that is not SMTP (garbage, endless replies)."""


class CheckTimedOut(EngineError):
    """The time limit (the caller's, or Timeouts.budget_s) ended the check before an answer."""

    reason = Reason.TIMEOUT
    state = State.UNKNOWN


class InternalError(EngineError):
    """A bug in the engine; reported as unknown so the input still gets one Result."""

    reason = Reason.UNKNOWN
    state = State.UNKNOWN
