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
from engine.service.faces._batch import (
    CANCELLED,
    COMPLETED,
    FAILED,
    QUEUED,
    RUNNING,
    BatchFacts,
    csv_cell,
    rfc3339,
    utc,
)
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


# -- the Batch Verification API (PUT /v2/verify-batch, GET /v2/verify-batch/{id}) ---------------
#
#     Kickbox field      from the job
#     id                 number (Kickbox ids are integers)
#     status             BATCH_STATUS[status]: starting, processing, completed, failed
#     progress           while processing: counts per state, total, unprocessed
#     stats              when completed: counts per state, sendex (the mean score), addresses
#     name, created_at, error, duration   when completed or failed
#     download_url       when completed: where the results CSV is
#     success, message   true and null: the API call itself worked

BATCH_STATUS: Mapping[str, str] = MappingProxyType(
    {
        QUEUED: "starting",
        RUNNING: "processing",
        COMPLETED: "completed",
        FAILED: "failed",
        # Kickbox has no cancel; a job stopped before its end did not complete.
        CANCELLED: "failed",
    }
)
_STATES = ("deliverable", "undeliverable", "risky", "unknown")


def batch_name(batch: BatchFacts) -> str:
    """The job's name, or one like Kickbox gives a job sent without X-Kickbox-Filename."""
    return batch.name or f"Batch API Process - {utc(batch.created):%m-%d-%Y-%H-%M-%S}"


def to_kickbox_batch(
    batch: BatchFacts, *, download_url: str | None = None, sendex: float | None = None
) -> dict[str, Any]:
    """Kickbox's batch status for one job; never raises."""
    status = BATCH_STATUS.get(batch.status, "failed")
    out: dict[str, Any] = {"id": batch.number, "status": status}
    if status == "processing":
        out["progress"] = {
            **{s: batch.count(s) for s in _STATES},
            "total": batch.total,
            "unprocessed": max(batch.total - batch.processed, 0),
        }
    if status in ("completed", "failed"):
        out["name"] = batch_name(batch)
        out["created_at"] = rfc3339(batch.created, digits=3)
        end = batch.finished if batch.finished is not None else batch.created
        out["duration"] = max(0, round(end - (batch.started or batch.created)))
    if status == "completed":
        out["download_url"] = download_url
        out["stats"] = {
            **{s: batch.count(s) for s in _STATES},
            "sendex": round(sendex, 2) if sendex is not None else 0.0,
            "addresses": batch.total,
        }
        out["error"] = None
    elif status == "failed":
        out["error"] = batch.error or "the job was cancelled before it completed"
    out["success"] = True
    out["message"] = None
    return out


# The results file: the input's columns (for a CSV with a header), then these fields of each row's
# verify response.
CSV_FIELDS = (
    "email",
    "result",
    "reason",
    "role",
    "free",
    "disposable",
    "accept_all",
    "did_you_mean",
    "sendex",
    "user",
    "domain",
)


def kickbox_csv_cells(result: Result) -> list[str]:
    """One row's CSV_FIELDS cells: booleans as true/false, null as empty."""
    body = to_kickbox(result)
    return [csv_cell(body[name]) for name in CSV_FIELDS]
