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
from typing import Any

from engine.model import Reason, Result
from engine.service.faces._reasons import SHARED_REASONS, shared_reason

# Kickbox reasons: the vocabulary Kickbox and Emailable share (groups in _reasons.py).
REASONS: Mapping[Reason, str] = SHARED_REASONS


def to_kickbox(result: Result) -> dict[str, Any]:
    """Kickbox's verify response for one Result; never raises."""
    flags = result.flags
    return {
        "result": result.state.value,
        "reason": shared_reason(result),
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
