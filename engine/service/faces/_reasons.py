"""The reason vocabulary Kickbox and Emailable share, as one table from our Reason.

Both APIs answer with the same eleven reasons, grouped by state (Emailable's help documents the
groups): deliverable accepted_email; undeliverable invalid_email, invalid_domain,
rejected_email, invalid_smtp; risky low_quality, low_deliverability; unknown no_connect,
timeout, unavailable_smtp, unexpected_error. Each of our reasons maps into the group of the
state the engine gives it, so a face's state and reason never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from engine.model import Reason, Result, State

SHARED_REASONS: Mapping[Reason, str] = MappingProxyType(
    {
        Reason.SUCCESS: "accepted_email",
        # Accepted, but so is any address: "deliverability cannot be guaranteed".
        Reason.SERVER_IS_CATCH_ALL: "low_deliverability",
        Reason.MAILBOX_FULL: "low_deliverability",
        # Both call a disposable address low quality.
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
        # RFC 6761 names: .invalid and .localhost can never take mail (undeliverable); for
        # .onion and .local the engine answers unknown, and shared_reason() says so.
        Reason.SPECIAL_USE_DOMAIN: "invalid_domain",
        # Our SSRF guard refused every mail host address: no connection was made.
        Reason.MX_ADDRESS_NOT_PUBLIC: "no_connect",
        Reason.TRANSIENT_NETWORK_FAULT: "no_connect",
        Reason.GREYLISTED: "unavailable_smtp",
        Reason.SENDER_BLOCKED: "unavailable_smtp",
        Reason.TIMEOUT: "timeout",
        # No word for "not checked" or "unclear answer"; invalid_smtp is in the undeliverable
        # group, so both take the unknown catch-all.
        Reason.NOT_CHECKED: "unexpected_error",
        Reason.UNKNOWN: "unexpected_error",
    }
)


def shared_reason(result: Result) -> str:
    """The reason word for `result`, always in the group of its state (a special-use name
    the engine could not judge is `unknown`, so its word comes from the unknown group)."""
    if result.reason is Reason.SPECIAL_USE_DOMAIN and result.state is not State.UNDELIVERABLE:
        return "unexpected_error"
    return SHARED_REASONS[result.reason]
