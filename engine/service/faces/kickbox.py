"""Kickbox face: our Result as the body of Kickbox's `GET /v2/verify` (API v2).

Follows Kickbox's "Single Verification API" and the response list of its official clients
(kickbox-node README: result, reason, role, free, disposable, accept_all, did_you_mean, sendex,
email, user, domain, success, message). Pure: no I/O, plain JSON-ready values.

    Kickbox field   from our Result
    result          state (the same four words)
    reason          REASONS[reason]
    role, free, disposable   flags.role, flags.free, flags.disposable
    accept_all      flags.accept_all is True (false when not seen accepting any address)
    did_you_mean    did_you_mean (the whole corrected address) or null
    sendex          score (both 0-1)
    email           email (normalized); the input when the syntax failed
    user, domain    user, domain (null when the syntax failed)
    success         true: the API call itself worked
    message         null: Kickbox fills it only for an API error
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from engine.model import Reason, Result

# Kickbox's eleven reasons, grouped by the result they go with (the grouping Emailable, which
# shares the vocabulary, documents): deliverable accepted_email; undeliverable invalid_email,
# invalid_domain, rejected_email, invalid_smtp; risky low_quality, low_deliverability; unknown
# no_connect, timeout, unavailable_smtp, unexpected_error. Each of our reasons maps into the
# group of the state the engine gives it, so `result` and `reason` never disagree.
REASONS: Mapping[Reason, str] = MappingProxyType(
    {
        Reason.SUCCESS: "accepted_email",
        # Accepted, but so is any address: "deliverability cannot be guaranteed".
        Reason.SERVER_IS_CATCH_ALL: "low_deliverability",
        Reason.MAILBOX_FULL: "low_deliverability",
        # Kickbox calls a disposable address low quality.
        Reason.DOMAIN_IS_WELL_KNOWN_DEA: "low_quality",
        Reason.MAILBOX_DOES_NOT_EXIST: "rejected_email",
        Reason.MAILBOX_DISABLED: "rejected_email",
        Reason.SERVER_DOES_NOT_SUPPORT_INTERNATIONAL_MAILBOXES: "rejected_email",
        Reason.DOMAIN_IS_INEXISTENT: "invalid_domain",
        Reason.NO_MX_SERVERS_FOUND: "invalid_domain",
        Reason.DOMAIN_DOES_NOT_ACCEPT_MAIL: "invalid_domain",
        Reason.AT_SIGN_NOT_FOUND: "invalid_email",
        Reason.TOO_MANY_AT_SIGNS_FOUND: "invalid_email",
        Reason.INVALID_SYNTAX: "invalid_email",
        # Our SSRF guard refused every mail host address: no connection was made.
        Reason.MX_ADDRESS_NOT_PUBLIC: "no_connect",
        Reason.TRANSIENT_NETWORK_FAULT: "no_connect",
        Reason.GREYLISTED: "unavailable_smtp",
        Reason.SENDER_BLOCKED: "unavailable_smtp",
        Reason.TIMEOUT: "timeout",
        # Kickbox has no word for "not checked" or "unclear answer"; invalid_smtp would put an
        # unknown address in the undeliverable group, so both use the unknown catch-all.
        Reason.NOT_CHECKED: "unexpected_error",
        Reason.UNKNOWN: "unexpected_error",
    }
)


def to_kickbox(result: Result) -> dict[str, Any]:
    """Kickbox's verify response for one Result; never raises."""
    flags = result.flags
    return {
        "result": result.state.value,
        "reason": REASONS[result.reason],
        "role": flags.role,
        "free": flags.free,
        "disposable": flags.disposable,
        # A plain boolean in Kickbox ("the domain appears to accept all emails"): false unless
        # the engine saw the server accept a random address.
        "accept_all": flags.accept_all is True,
        "did_you_mean": result.did_you_mean,
        "sendex": result.score,
        # Kickbox echoes a normalized address; with no parse there is none, so the input.
        "email": result.email if result.email is not None else result.input,
        "user": result.user,
        "domain": result.domain,
        "success": True,
        "message": None,
    }
