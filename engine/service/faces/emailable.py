"""Emailable face: our Result as the body of Emailable's `GET /v1/verify` (API v1).

Follows Emailable's API reference ("Verify an email": state, reason, score 0-100 and the fields
below) and its official clients' types (emailable-cli `VerifyResult`); its reasons are those of
Emailable's help ("Verification results": one group of reasons per state). Pure: no I/O.

    Emailable field   from our Result
    state             state (the same four words)
    reason            REASONS[reason]
    score             round(score * 100), an integer 0-100
    accept_all        flags.accept_all is True (false when not seen accepting any address)
    disposable, free, role, mailbox_full, no_reply   the flags of the same names
    did_you_mean      did_you_mean (the whole corrected address) or null
    domain, user, tag domain, user, tag (null when absent)
    email             email (normalized); the input when the syntax failed
    first_name, last_name, full_name, gender   the Result fields of the same names, or null
    mx_record         mx_record or null
    smtp_provider     smtp_provider or null
    duration          timings.total_ms / 1000 (seconds)

The slow-check habit (HTTP 249 "try again") is the route's: this module maps a settled Result.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.model import Reason, Result
from engine.service.faces._reasons import SHARED_REASONS, shared_reason

# Emailable reasons: the vocabulary Kickbox and Emailable share (groups in _reasons.py).
REASONS: Mapping[Reason, str] = SHARED_REASONS


def to_emailable(result: Result) -> dict[str, Any]:
    """Emailable's verify response for one Result; never raises."""
    flags = result.flags
    return {
        # Emailable's accept_all is a plain boolean: false unless the engine saw the server
        # accept a random address.
        "accept_all": flags.accept_all is True,
        "did_you_mean": result.did_you_mean,
        "disposable": flags.disposable,
        "domain": result.domain,
        "duration": round(result.timings.total_ms / 1000.0, 3),
        "email": result.email if result.email is not None else result.input,
        "first_name": result.first_name,
        "free": flags.free,
        "full_name": result.full_name,
        "gender": result.gender,
        "last_name": result.last_name,
        "mailbox_full": flags.mailbox_full,
        "mx_record": result.mx_record,
        "no_reply": flags.no_reply,
        "reason": shared_reason(result),
        "role": flags.role,
        "score": round(result.score * 100),
        "smtp_provider": result.smtp_provider,
        "state": result.state.value,
        "tag": result.tag,
        "user": result.user,
    }
