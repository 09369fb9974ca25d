"""Byteplant face: our Result in the `status` / `additionalStatus` shape of `GET /api/verify`.

Follows the shape the service names Byteplant: the real-time email verification API documented
as "Email Verification API v1" (api.emailverifyapi.com, docs-rtapi: `configuration.rst` for the
five response fields and the `correct` parameter, `status-codes.rst` for the status words).
That API's `additionalStatus` is a word, not a number; Byteplant's own email-validator.net API
(numeric codes 200, 207, 215, ...) has another shape (`status`, `info`, `details`) that this
face does not speak. Pure: no I/O.

    field                   from our Result
    status                  STATES[state]: Ok, Bad or Unknown
    additionalStatus        REASONS[reason]
    emailAddressProvided    input, exactly as given
    emailAddressChecked     with correct: email (the cleaned, normalized address) or the input
                            when it did not parse; without correct: the input untouched
    emailAddressSuggestion  did_you_mean (the whole corrected address), "" when none
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from engine.model import Reason, Result, State

# "Ok: passes all checks"; "Bad: fails checks for definitive reasons"; "Unknown: conclusive
# verification result cannot be achieved". Risky is not definitive, so it is Unknown, and the
# additional status says why (ServerIsCatchAll, MailboxFull, DomainIsWellKnownDea).
STATES: Mapping[State, str] = MappingProxyType(
    {
        State.DELIVERABLE: "Ok",
        State.UNDELIVERABLE: "Bad",
        State.RISKY: "Unknown",
        State.UNKNOWN: "Unknown",
    }
)

# The documented additional statuses: None, AtSignNotFound, DomainIsInexistent,
# DomainIsWellKnownDea, MailboxFull, MailboxDoesNotExist, NoMxServersFound,
# ServerDoesNotSupportInternationalMailboxes, ServerIsCatchAll, Success, TooManyAtSignsFound,
# Unknown, TransientNetworkFault, PossibleSpamTrapDetected; and IpBlockDetected from the same
# vendor's later list. Several of our reason names come from this vocabulary.
REASONS: Mapping[Reason, str] = MappingProxyType(
    {
        Reason.SUCCESS: "Success",
        Reason.SERVER_IS_CATCH_ALL: "ServerIsCatchAll",
        Reason.MAILBOX_FULL: "MailboxFull",
        Reason.DOMAIN_IS_WELL_KNOWN_DEA: "DomainIsWellKnownDea",
        Reason.MAILBOX_DOES_NOT_EXIST: "MailboxDoesNotExist",
        # The mailbox exists but is disabled: "MailboxDoesNotExist" would be false; "None" is
        # the documented "no additional information" (and retrying will not change it).
        Reason.MAILBOX_DISABLED: "None",
        Reason.SERVER_DOES_NOT_SUPPORT_INTERNATIONAL_MAILBOXES: (
            "ServerDoesNotSupportInternationalMailboxes"
        ),
        Reason.DOMAIN_IS_INEXISTENT: "DomainIsInexistent",
        Reason.NO_MX_SERVERS_FOUND: "NoMxServersFound",
        # RFC 7505 null MX: the domain says it has no mail server.
        Reason.DOMAIN_DOES_NOT_ACCEPT_MAIL: "NoMxServersFound",
        Reason.AT_SIGN_NOT_FOUND: "AtSignNotFound",
        Reason.TOO_MANY_AT_SIGNS_FOUND: "TooManyAtSignsFound",
        # No documented word for our other syntax failures (the notes say which rule).
        Reason.INVALID_SYNTAX: "None",
        # RFC 6761 special-use names (.invalid, .onion, .local): no documented word either.
        Reason.SPECIAL_USE_DOMAIN: "None",
        # Our SSRF guard's refusal is a setting, not a fault: a retry gives the same answer.
        Reason.MX_ADDRESS_NOT_PUBLIC: "None",
        Reason.TRANSIENT_NETWORK_FAULT: "TransientNetworkFault",
        # The docs name greylisting and remote time-outs as causes of TransientNetworkFault.
        Reason.GREYLISTED: "TransientNetworkFault",
        Reason.TIMEOUT: "TransientNetworkFault",
        Reason.SENDER_BLOCKED: "IpBlockDetected",
        Reason.NOT_CHECKED: "None",
        Reason.UNKNOWN: "Unknown",
    }
)


def to_byteplant(result: Result, *, correct: bool = False) -> dict[str, Any]:
    """The verify response for one Result; `correct` is the request's `correct=1`. Never raises."""
    checked = result.input
    if correct and result.email is not None:
        checked = result.email
    return {
        "status": STATES[result.state],
        "additionalStatus": REASONS[result.reason],
        "emailAddressProvided": result.input,
        "emailAddressChecked": checked,
        # The documented example answers "" when there is no suggestion, not null.
        "emailAddressSuggestion": result.did_you_mean or "",
    }
