"""Values that flow between the stages: states, reasons, addresses, replies and the Result.

Plain frozen data only; nothing here does I/O or decides a verdict (that is verdict.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class State(str, Enum):
    """The one-word answer. Values are part of the public contract and never change."""

    DELIVERABLE = "deliverable"
    UNDELIVERABLE = "undeliverable"
    RISKY = "risky"
    UNKNOWN = "unknown"


class Reason(str, Enum):
    """Why the state was given. Values are part of the public contract and never change."""

    SUCCESS = "Success"
    MAILBOX_DOES_NOT_EXIST = "MailboxDoesNotExist"
    MAILBOX_DISABLED = "MailboxDisabled"
    MAILBOX_FULL = "MailboxFull"
    SERVER_IS_CATCH_ALL = "ServerIsCatchAll"
    DOMAIN_IS_WELL_KNOWN_DEA = "DomainIsWellKnownDea"
    DOMAIN_IS_INEXISTENT = "DomainIsInexistent"
    NO_MX_SERVERS_FOUND = "NoMxServersFound"
    DOMAIN_DOES_NOT_ACCEPT_MAIL = "DomainDoesNotAcceptMail"
    MX_ADDRESS_NOT_PUBLIC = "MxAddressNotPublic"
    AT_SIGN_NOT_FOUND = "AtSignNotFound"
    TOO_MANY_AT_SIGNS_FOUND = "TooManyAtSignsFound"
    INVALID_SYNTAX = "InvalidSyntax"
    SPECIAL_USE_DOMAIN = "SpecialUseDomain"  # a special-use name (RFC 6761): see the README
    SERVER_DOES_NOT_SUPPORT_INTERNATIONAL_MAILBOXES = "ServerDoesNotSupportInternationalMailboxes"
    TRANSIENT_NETWORK_FAULT = "TransientNetworkFault"
    GREYLISTED = "Greylisted"
    SENDER_BLOCKED = "SenderBlocked"
    NOT_CHECKED = "NotChecked"
    TIMEOUT = "Timeout"  # the caller's time limit ended the check before an answer
    UNKNOWN = "Unknown"


class Stage(str, Enum):
    """The step of the SMTP dialogue a reply answered."""

    CONNECT = "connect"
    GREETING = "greeting"
    EHLO = "ehlo"
    STARTTLS = "starttls"
    MAIL = "mail"
    RCPT = "rcpt"
    RSET = "rset"
    QUIT = "quit"
    DATA = "data"


@dataclass(frozen=True, slots=True, kw_only=True)
class Address:
    """A syntactically valid address, split and normalized."""

    input: str  # exactly as given
    checked: str  # after the optional clean-up; equals input when nothing was cleaned
    local: str  # the local part as it goes on the wire (case kept: RFC 5321 §2.4)
    ascii_domain: str  # lower-case A-label form, for DNS and SMTP; "[1.2.3.4]" for literals
    unicode_domain: str  # lower-case U-label form, for display
    tag: str | None = None  # the "+suffix" of the local part, without "+"
    is_smtputf8: bool = False  # the local part has non-ASCII characters (RFC 6531)
    domain_literal: str | None = None  # the IP address of "user@[ip]", else None

    @property
    def email(self) -> str:
        """The normalized address: local part as given, domain in U-label form."""
        return f"{self.local}@{self.unicode_domain}"

    @property
    def ascii_email(self) -> str:
        """The address as RCPT TO carries it when SMTPUTF8 is not needed for the domain."""
        return f"{self.local}@{self.ascii_domain}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Flags:
    """Reputation and mailbox facts; None where the engine could not tell."""

    disposable: bool = False
    role: bool = False
    free: bool = False
    no_reply: bool = False
    accept_all: bool | None = None
    mailbox_full: bool = False


@dataclass(frozen=True, slots=True)
class MxHost:
    """A mail host of a domain with the addresses the DNS stage approved, in the order to try."""

    host: str  # lower-case, no trailing dot
    preference: int
    ips: tuple[str, ...] = ()
    implicit: bool = False  # RFC 5321 §5.1: no MX, the domain itself is the mail host


@dataclass(frozen=True, slots=True)
class Reply:
    """One SMTP reply: basic code, RFC 3463 enhanced code (if any) and text, with its stage."""

    code: int
    text: str = ""
    enhanced: str | None = None
    stage: Stage = Stage.RCPT

    def __str__(self) -> str:
        parts = [str(self.code)]
        if self.enhanced:
            parts.append(self.enhanced)
        if self.text:
            parts.append(self.text)
        return " ".join(parts)


@dataclass(frozen=True, slots=True, kw_only=True)
class Timings:
    """Milliseconds spent in each part of the check."""

    dns_ms: float = 0.0
    smtp_ms: float = 0.0
    total_ms: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Detail:
    """The evidence behind a verdict."""

    dns: str | None = None  # the DNS outcome in words ("mx", "implicit-mx", "nxdomain", ...)
    reply: Reply | None = None  # the SMTP reply the verdict rests on
    catch_all_reply: Reply | None = None  # the reply to the random-address probe, if any
    greylisted: bool = False  # a greylisting reply was seen
    greylist_resolved: bool | None = None  # whether the retry settled it (None: no retry)
    suggestion_accepts_mail: bool | None = None  # did_you_mean's domain has MX or an address
    cleaned: bool = False  # the optional clean-up changed the input
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "dns": self.dns,
            "reply": _reply_dict(self.reply),
            "catch_all_reply": _reply_dict(self.catch_all_reply),
            "greylisted": self.greylisted,
            "greylist_resolved": self.greylist_resolved,
            "suggestion_accepts_mail": self.suggestion_accepts_mail,
            "cleaned": self.cleaned,
            "notes": list(self.notes),
        }


def _reply_dict(reply: Reply | None) -> dict[str, Any] | None:
    if reply is None:
        return None
    return {
        "code": reply.code,
        "enhanced": reply.enhanced,
        "text": reply.text,
        "stage": reply.stage.value,
    }


EMPTY_DETAIL = Detail()


@dataclass(frozen=True, slots=True, kw_only=True)
class Result:
    """The one answer for one input. `to_dict()` is the documented flat JSON shape."""

    input: str
    email: str | None  # normalized; None when the syntax failed
    state: State
    reason: Reason
    user: str | None = None
    domain: str | None = None  # U-label form
    tag: str | None = None
    did_you_mean: str | None = None  # the whole corrected address ("john@gmail.com")
    did_you_mean_domain: str | None = None  # its domain alone ("gmail.com")
    first_name: str | None = None  # from a local part that clearly splits into names
    last_name: str | None = None
    full_name: str | None = None
    gender: str | None = None  # "male" / "female" where the names list is confident, else None
    flags: Flags = field(default_factory=Flags)
    mx: tuple[MxHost, ...] = ()
    mx_record: str | None = None  # the MX host the verdict came from (or the first one)
    smtp_provider: str | None = None
    score: float = 0.0
    timings: Timings = field(default_factory=Timings)
    detail: Detail = EMPTY_DETAIL

    def to_dict(self) -> dict[str, Any]:
        """Flat, stable shape: key names and value types never change within a major version."""
        f = self.flags
        return {
            "input": self.input,
            "email": self.email,
            "state": self.state.value,
            "reason": self.reason.value,
            "user": self.user,
            "domain": self.domain,
            "tag": self.tag,
            "did_you_mean": self.did_you_mean,
            "did_you_mean_domain": self.did_you_mean_domain,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "full_name": self.full_name,
            "gender": self.gender,
            "disposable": f.disposable,
            "role": f.role,
            "free": f.free,
            "accept_all": f.accept_all,
            "mailbox_full": f.mailbox_full,
            "no_reply": f.no_reply,
            "mx_record": self.mx_record,
            "smtp_provider": self.smtp_provider,
            "score": self.score,
            "duration_ms": round(self.timings.total_ms, 3),
            "detail": self.detail.to_dict(),
        }


RESULT_FIELDS: tuple[str, ...] = (
    "input",
    "email",
    "state",
    "reason",
    "user",
    "domain",
    "tag",
    "did_you_mean",
    "did_you_mean_domain",
    "first_name",
    "last_name",
    "full_name",
    "gender",
    "disposable",
    "role",
    "free",
    "accept_all",
    "mailbox_full",
    "no_reply",
    "mx_record",
    "smtp_provider",
    "score",
    "duration_ms",
    "detail",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ProbeOutcome:
    """What the SMTP stage learned about one address; verdict.py turns it into a State."""

    reason: Reason  # the classified answer to RCPT TO (or why there was none)
    reply: Reply | None = None  # the reply the reason rests on
    host: str | None = None  # the MX host that answered
    accept_all: bool | None = None  # the random-address probe was accepted (None: not known)
    catch_all_reply: Reply | None = None
    greylisted: bool = False
    greylist_resolved: bool | None = None
    notes: tuple[str, ...] = ()


def _reply_from(data: dict[str, Any] | None) -> Reply | None:
    if not data:
        return None
    return Reply(
        code=int(data["code"]),
        text=str(data.get("text") or ""),
        enhanced=data.get("enhanced"),
        stage=Stage(data.get("stage", Stage.RCPT.value)),
    )


def result_from_dict(data: dict[str, Any]) -> Result:
    """The inverse of Result.to_dict() (the MX list beyond mx_record is not kept)."""
    d = data.get("detail") or {}
    return Result(
        input=data["input"],
        email=data.get("email"),
        state=State(data["state"]),
        reason=Reason(data["reason"]),
        user=data.get("user"),
        domain=data.get("domain"),
        tag=data.get("tag"),
        did_you_mean=data.get("did_you_mean"),
        did_you_mean_domain=data.get("did_you_mean_domain"),
        first_name=data.get("first_name"),
        last_name=data.get("last_name"),
        full_name=data.get("full_name"),
        gender=data.get("gender"),
        flags=Flags(
            disposable=bool(data.get("disposable")),
            role=bool(data.get("role")),
            free=bool(data.get("free")),
            no_reply=bool(data.get("no_reply")),
            accept_all=data.get("accept_all"),
            mailbox_full=bool(data.get("mailbox_full")),
        ),
        mx_record=data.get("mx_record"),
        smtp_provider=data.get("smtp_provider"),
        score=float(data.get("score") or 0.0),
        timings=Timings(total_ms=float(data.get("duration_ms") or 0.0)),
        detail=Detail(
            dns=d.get("dns"),
            reply=_reply_from(d.get("reply")),
            catch_all_reply=_reply_from(d.get("catch_all_reply")),
            greylisted=bool(d.get("greylisted")),
            greylist_resolved=d.get("greylist_resolved"),
            suggestion_accepts_mail=d.get("suggestion_accepts_mail"),
            cleaned=bool(d.get("cleaned")),
            notes=tuple(d.get("notes") or ()),
        ),
    )
