"""Reacher face: our Result as Reacher's `CheckEmailOutput` (`POST /v0/check_email`).

Follows Reacher's backend OpenAPI (`CheckEmailOutput`: input, is_reachable, misc, mx, smtp,
syntax required; `debug` optional; misc / mx / smtp each either its details object or a
`CoreError` {type, message}) and the field list of its docs ("Understanding is_reachable") and
core (`MiscDetails`, `MxDetails`, `SmtpDetails`, `SyntaxDetails`). Pure: no I/O.

    Reacher field            from our Result
    input                    input
    is_reachable             STATES[state]: safe, invalid, risky, unknown
    misc.is_disposable       flags.disposable
    misc.is_role_account     flags.role
    misc.is_b2c              flags.free
    misc.gravatar_url        null, misc.haveibeenpwned null: optional checks we do not make
    mx.accepts_mail          whether mail hosts were found (detail.dns, or a server's reply)
    mx.records               the mail hosts (mx, else mx_record), FQDNs with a trailing dot
    mx as an error           {"error": {"type": "ResolveError", ...}} when DNS failed or did not
                             finish (a transient fault, the caller's time limit)
    smtp.*                   REASONS[reason] when a server answered: can_connect_smtp true,
                             is_deliverable, is_disabled; is_catch_all from flags.accept_all,
                             has_full_inbox from flags.mailbox_full
    smtp as an error         {"error": {"type": "SmtpError", "message": ...}} when the mail
                             hosts were found but gave no answer about the mailbox
    syntax.address, normalized_email   email (null when the syntax failed)
    syntax.username, domain  user, domain ("" when the syntax failed, as Reacher does)
    syntax.is_valid_syntax   whether the input parsed
    syntax.suggestion        did_you_mean (the whole corrected address) or null

`debug` (server name, wall-clock start and end) is left out: it is optional in Reacher's schema
and a Result carries no wall-clock times. A step that did not run is Reacher's default object
(all false, no records), as Reacher itself reports a skipped step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from engine.model import Reason, Result, State
from engine.service.faces._batch import BatchFacts, csv_cell, rfc3339

STATES: Mapping[State, str] = MappingProxyType(
    {
        State.DELIVERABLE: "safe",
        State.UNDELIVERABLE: "invalid",
        State.RISKY: "risky",
        State.UNKNOWN: "unknown",
    }
)


@dataclass(frozen=True, slots=True)
class Smtp:
    """What Reacher's `smtp` says for one of our reasons."""

    answered: bool = False  # the server answered about this mailbox: an SmtpDetails object
    error: bool = False  # the mail hosts gave no usable answer: a CoreError object
    is_deliverable: bool = False
    is_disabled: bool = False
    description: str | None = None  # Reacher's SmtpErrorDesc, beside the error


_SKIPPED = Smtp()  # SMTP never ran: Reacher's default SmtpDetails
_REFUSED = Smtp(answered=True)  # the server refused this mailbox
_ACCEPTED = Smtp(answered=True, is_deliverable=True)
_NO_ANSWER = Smtp(error=True)

REASONS: Mapping[Reason, Smtp] = MappingProxyType(
    {
        Reason.SUCCESS: _ACCEPTED,
        # Reacher marks a catch-all acceptance deliverable and says is_catch_all beside it.
        Reason.SERVER_IS_CATCH_ALL: _ACCEPTED,
        Reason.MAILBOX_FULL: _REFUSED,
        Reason.MAILBOX_DOES_NOT_EXIST: _REFUSED,
        Reason.MAILBOX_DISABLED: Smtp(answered=True, is_disabled=True),
        Reason.SERVER_DOES_NOT_SUPPORT_INTERNATIONAL_MAILBOXES: _REFUSED,
        # Reacher reports a 4xx, a policy block or a lost connection as an SmtpError; a block
        # of our address carries the description Reacher gives it.
        Reason.GREYLISTED: _NO_ANSWER,
        Reason.SENDER_BLOCKED: Smtp(error=True, description="IpBlacklisted"),
        Reason.TRANSIENT_NETWORK_FAULT: _NO_ANSWER,
        Reason.TIMEOUT: _NO_ANSWER,
        Reason.UNKNOWN: _NO_ANSWER,
        # The SSRF guard refused to connect: an error, not a skipped step.
        Reason.MX_ADDRESS_NOT_PUBLIC: _NO_ANSWER,
        Reason.DOMAIN_IS_WELL_KNOWN_DEA: _SKIPPED,
        Reason.NOT_CHECKED: _SKIPPED,
        Reason.DOMAIN_IS_INEXISTENT: _SKIPPED,
        Reason.NO_MX_SERVERS_FOUND: _SKIPPED,
        Reason.DOMAIN_DOES_NOT_ACCEPT_MAIL: _SKIPPED,
        Reason.AT_SIGN_NOT_FOUND: _SKIPPED,
        Reason.TOO_MANY_AT_SIGNS_FOUND: _SKIPPED,
        Reason.INVALID_SYNTAX: _SKIPPED,
        Reason.SPECIAL_USE_DOMAIN: _SKIPPED,  # refused before DNS (RFC 6761)
    }
)

_HOSTS_FOUND = frozenset({"mx", "implicit-mx", "literal", "refused-non-public"})
_DNS_FAILED = frozenset({"transient", "error"})


def _message(result: Result) -> str:
    """The evidence in words: the reply the verdict rests on, else the last note."""
    if result.detail.reply is not None:
        return str(result.detail.reply)
    if result.detail.notes:
        return result.detail.notes[-1]
    return result.reason.value


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"error": {"type": kind, "message": message}}


def _mx(result: Result, smtp: Smtp) -> dict[str, Any]:
    dns = result.detail.dns
    if dns in _HOSTS_FOUND or smtp.answered or result.detail.reply is not None:
        hosts = [host.host for host in result.mx] or (
            [result.mx_record] if result.mx_record else []
        )
        records = [host if host.startswith("[") else f"{host}." for host in hosts]
        return {"accepts_mail": True, "records": records}
    if dns in _DNS_FAILED or (dns is None and smtp.error and result.email is not None):
        # The lookup failed or did not finish: an error, never "accepts_mail": false.
        return _error("ResolveError", _message(result))
    # No mail host, or DNS not asked: Reacher's default MxDetails.
    return {"accepts_mail": False, "records": []}


def _smtp(result: Result, smtp: Smtp, mx: dict[str, Any]) -> dict[str, Any]:
    if smtp.answered:
        return {
            "can_connect_smtp": True,
            "has_full_inbox": result.flags.mailbox_full,
            "is_catch_all": result.flags.accept_all is True,
            "is_deliverable": smtp.is_deliverable,
            "is_disabled": smtp.is_disabled,
        }
    if smtp.error and mx.get("accepts_mail") is True:
        out = _error("SmtpError", _message(result))
        if smtp.description is not None:
            out["description"] = smtp.description
        return out
    # SMTP did not run (no mail host, a DNS failure, a disposable domain, an offline check).
    return {
        "can_connect_smtp": False,
        "has_full_inbox": False,
        "is_catch_all": False,
        "is_deliverable": False,
        "is_disabled": False,
    }


def to_reacher(result: Result) -> dict[str, Any]:
    """Reacher's check_email response for one Result; never raises."""
    smtp = REASONS[result.reason]
    flags = result.flags
    mx = _mx(result, smtp)
    parsed = result.email is not None
    return {
        "input": result.input,
        "is_reachable": STATES[result.state],
        "misc": {
            "is_disposable": flags.disposable,
            "is_role_account": flags.role,
            "is_b2c": flags.free,
            "gravatar_url": None,
            "haveibeenpwned": None,
        },
        "mx": mx,
        "smtp": _smtp(result, smtp, mx),
        "syntax": {
            "address": result.email,
            "domain": result.domain if parsed and result.domain is not None else "",
            "is_valid_syntax": parsed,
            "username": result.user if parsed and result.user is not None else "",
            "normalized_email": result.email,
            "suggestion": result.did_you_mean,
        },
    }


# -- the bulk API (POST /v1/bulk, GET /v1/bulk/{id}, GET /v1/bulk/{id}/results) -----------------
#
#     Reacher field      from the job
#     job_id             number (Reacher ids are integers)
#     created_at         created, RFC 3339 in UTC
#     finished_at        finished, or null while the job runs
#     total_records      total
#     total_processed    processed
#     summary            counts per state as total_safe, total_risky, total_invalid, total_unknown
#     job_status         "Running" until the job ends, then "Completed" (a cancelled or failed
#                        job ends too: total_processed then says how far it got)


def to_reacher_progress(batch: BatchFacts) -> dict[str, Any]:
    """Reacher's bulk progress for one job; never raises."""
    return {
        "job_id": batch.number,
        "created_at": rfc3339(batch.created, digits=6),
        "finished_at": (
            rfc3339(batch.finished, digits=6)
            if batch.is_finished and batch.finished is not None
            else None
        ),
        "total_records": batch.total,
        "total_processed": batch.processed,
        "summary": {
            "total_safe": batch.count(State.DELIVERABLE.value),
            "total_risky": batch.count(State.RISKY.value),
            "total_invalid": batch.count(State.UNDELIVERABLE.value),
            "total_unknown": batch.count(State.UNKNOWN.value),
        },
        "job_status": "Completed" if batch.is_finished else "Running",
    }


# The columns of Reacher's results CSV (v1), in its order.
CSV_COLUMNS = (
    "input",
    "is_reachable",
    "misc.is_disposable",
    "misc.is_role_account",
    "misc.gravatar_url",
    "mx.accepts_mail",
    "smtp.can_connect",
    "smtp.has_full_inbox",
    "smtp.is_catch_all",
    "smtp.is_deliverable",
    "smtp.is_disabled",
    "syntax.is_valid_syntax",
    "syntax.domain",
    "syntax.username",
    "error",
)


def reacher_csv_cells(result: Result) -> list[str]:
    """One row of the results CSV: booleans as true/false, a step that failed as false with its
    error ("SmtpError: ...") in the error column."""
    body = to_reacher(result)
    misc, mx, smtp, syntax = body["misc"], body["mx"], body["smtp"], body["syntax"]
    errors = [
        f"{part['error']['type']}: {part['error']['message']}"
        for part in (misc, mx, smtp)
        if "error" in part
    ]
    cells: list[object] = [
        body["input"],
        body["is_reachable"],
        misc.get("is_disposable", False),
        misc.get("is_role_account", False),
        misc.get("gravatar_url"),
        mx.get("accepts_mail", False),
        smtp.get("can_connect_smtp", False),
        smtp.get("has_full_inbox", False),
        smtp.get("is_catch_all", False),
        smtp.get("is_deliverable", False),
        smtp.get("is_disabled", False),
        syntax["is_valid_syntax"],
        syntax["domain"],
        syntax["username"],
        "; ".join(errors) or None,
    ]
    return [csv_cell(value) for value in cells]
