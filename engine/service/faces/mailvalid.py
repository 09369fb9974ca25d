"""MailValid face: our Result as MailValid's `POST /api/v1/verify` answer; its webhook signature.

Follows the MailValid shape the service is built to (status valid / invalid / risky / unknown,
a 0-100 score, `checks` {syntax_valid, domain_exists, mx_found, smtp_reachable, disposable,
role_based, catch_all}, `suggestion`, `provider`; webhooks signed with HMAC-SHA256 hex in
`X-Webhook-Signature`). MailValid's later public docs describe a `/verify/single` endpoint with
another result object (catch_all and do_not_mail statuses, confidence_score); this face keeps
the shape above. Pure: no I/O.

    MailValid field        from our Result
    email                  email (normalized); the input when the syntax failed
    status                 STATES[state]
    score                  round(score * 100), an integer 0-100
    checks.syntax_valid    false for a syntax reason, else whether the input parsed
    checks.domain_exists   what REASONS[reason] says, else detail.dns, else null
    checks.mx_found        the same: a mail host (MX, or the domain itself per RFC 5321 §5.1)
    checks.smtp_reachable  true when a mail server answered; false when there is none
    checks.disposable      flags.disposable
    checks.role_based      flags.role
    checks.catch_all       flags.accept_all (null when not known)
    suggestion             did_you_mean (the whole corrected address) or null
    provider               smtp_provider or null

A check the engine did not reach is null, never a guessed true or false.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from engine.model import Reason, Result, State

STATES: Mapping[State, str] = MappingProxyType(
    {
        State.DELIVERABLE: "valid",
        State.UNDELIVERABLE: "invalid",
        State.RISKY: "risky",
        State.UNKNOWN: "unknown",
    }
)


@dataclass(frozen=True, slots=True)
class Checks:
    """What a reason alone establishes about MailValid's four checks; None: it says nothing."""

    syntax_valid: bool | None = None
    domain_exists: bool | None = None
    mx_found: bool | None = None
    smtp_reachable: bool | None = None


_NOTHING = Checks()
_ANSWERED = Checks(True, True, True, True)  # only a mail server's reply gives these reasons
_BAD_SYNTAX = Checks(syntax_valid=False)  # nothing after the syntax was checked

# MailValid has no reason field: its checks are its vocabulary for why.
REASONS: Mapping[Reason, Checks] = MappingProxyType(
    {
        Reason.SUCCESS: _ANSWERED,
        Reason.SERVER_IS_CATCH_ALL: _ANSWERED,
        Reason.MAILBOX_FULL: _ANSWERED,
        Reason.MAILBOX_DOES_NOT_EXIST: _ANSWERED,
        Reason.MAILBOX_DISABLED: _ANSWERED,
        Reason.SERVER_DOES_NOT_SUPPORT_INTERNATIONAL_MAILBOXES: _ANSWERED,
        Reason.GREYLISTED: _ANSWERED,
        Reason.SENDER_BLOCKED: _ANSWERED,
        Reason.DOMAIN_IS_INEXISTENT: Checks(True, False, False, False),
        Reason.NO_MX_SERVERS_FOUND: Checks(True, True, False, False),
        Reason.DOMAIN_DOES_NOT_ACCEPT_MAIL: Checks(True, True, False, False),
        # The mail hosts exist; the SSRF guard kept us from asking them.
        Reason.MX_ADDRESS_NOT_PUBLIC: Checks(True, True, True, None),
        Reason.AT_SIGN_NOT_FOUND: _BAD_SYNTAX,
        Reason.TOO_MANY_AT_SIGNS_FOUND: _BAD_SYNTAX,
        Reason.INVALID_SYNTAX: _BAD_SYNTAX,
        # RFC 6761 special-use names are refused before any DNS query: only the syntax is known.
        Reason.SPECIAL_USE_DOMAIN: Checks(syntax_valid=True),
        # These say nothing by themselves: the DNS outcome and the reply (if any) do.
        Reason.DOMAIN_IS_WELL_KNOWN_DEA: _NOTHING,
        Reason.TRANSIENT_NETWORK_FAULT: _NOTHING,
        Reason.TIMEOUT: _NOTHING,
        Reason.NOT_CHECKED: _NOTHING,
        Reason.UNKNOWN: _NOTHING,
    }
)

# detail.dns words -> (domain_exists, mx_found); "transient" and "error" tell nothing.
_DNS: Mapping[str, tuple[bool, bool]] = MappingProxyType(
    {
        "mx": (True, True),
        "implicit-mx": (True, True),
        "literal": (True, True),
        "refused-non-public": (True, True),
        "null-mx": (True, False),
        "no-mail-host": (True, False),
        "nxdomain": (False, False),
    }
)


def _checks(result: Result) -> Checks:
    said = REASONS[result.reason]
    domain_exists, mx_found = _DNS.get(result.detail.dns or "", (None, None))
    answered = result.detail.reply is not None or said.smtp_reachable is True
    if answered:
        domain_exists, mx_found = True, True
    smtp_reachable = said.smtp_reachable
    if smtp_reachable is None:
        # A reply proves a reachable server; no mail host at all proves there is none.
        smtp_reachable = True if answered else (False if mx_found is False else None)
    parsed = result.email is not None
    return Checks(
        syntax_valid=said.syntax_valid if said.syntax_valid is not None else parsed,
        domain_exists=said.domain_exists if said.domain_exists is not None else domain_exists,
        mx_found=said.mx_found if said.mx_found is not None else mx_found,
        smtp_reachable=smtp_reachable,
    )


def to_mailvalid(result: Result) -> dict[str, Any]:
    """MailValid's verify response for one Result; never raises."""
    checks = _checks(result)
    flags = result.flags
    return {
        "email": result.email if result.email is not None else result.input,
        "status": STATES[result.state],
        "score": round(result.score * 100),
        "checks": {
            "syntax_valid": checks.syntax_valid,
            "domain_exists": checks.domain_exists,
            "mx_found": checks.mx_found,
            "smtp_reachable": checks.smtp_reachable,
            "disposable": flags.disposable,
            "role_based": flags.role,
            # null when the engine could not tell (no catch-all probe was answered).
            "catch_all": flags.accept_all,
        },
        "suggestion": result.did_you_mean,
        "provider": result.smtp_provider,
    }


def sign_mailvalid(body: bytes, secret: str) -> str:
    """The `X-Webhook-Signature` value for a webhook body: HMAC-SHA256 of the raw bytes, hex."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
