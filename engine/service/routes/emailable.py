"""Emailable face: `GET|POST /emailable/v1/verify`, `POST /emailable/v1/batch` (+ `url` callback),
`GET /emailable/v1/batch?id=` (with `partial=true` while it runs); key in `api_key` or Bearer.

A check slower than `timeout` (2 to 10 s, default 5) answers HTTP 249 "try again", as Emailable
does; it goes on, and asking again within 5 minutes is answered from it.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from engine.service.faces.emailable import to_emailable
from engine.service.jobs import settled_results
from engine.service.runtime import CallbackFormat, Service
from engine.service.store import COMPLETED, JobRecord, KeyRecord
from engine.service.uploads import UploadError, json_emails
from engine.service.web import (
    ApiError,
    authorize,
    bearer,
    checked_callback,
    fields,
    media_type,
    service_of,
)
from engine.service.webhooks import UNSIGNED

PREFIX = "/emailable"
router = APIRouter(prefix=PREFIX, tags=["emailable"])

DEFAULT_TIMEOUT_S = 5.0
MIN_TIMEOUT_S, MAX_TIMEOUT_S = 2.0, 10.0
INLINE_LIMIT = 1000  # Emailable returns a batch's emails inline up to this size
SLOW = "Your request is taking longer than normal. Please send your request again."
ACCEPTED = "Your batch has been accepted and is being processed."


def render_error(err: ApiError) -> Response:
    status = 403 if err.code == "invalid_key" else err.status
    return JSONResponse({"message": err.message}, status, headers=err.headers)


async def _key(request: Request, data: dict[str, Any] | None = None) -> KeyRecord:
    q = request.query_params
    presented = q.get("api_key") or q.get("access_token") or bearer(request)
    if presented is None and data is not None:
        value = data.get("api_key") or data.get("access_token")
        presented = value if isinstance(value, str) else None
    return await authorize(request, presented, where="?api_key=KEY or Authorization: Bearer KEY")


async def _body(request: Request, limit: int) -> dict[str, Any]:
    if media_type(request) == "" and not request.headers.get("content-length", "0").strip("0"):
        return {}
    return await fields(request, limit)


def _timeout(value: Any) -> float:
    if value is None or value == "":
        return DEFAULT_TIMEOUT_S
    try:
        seconds = float(value)
    except (TypeError, ValueError) as exc:
        raise ApiError(400, "bad_timeout", "timeout is a number of seconds from 2 to 10") from exc
    if not MIN_TIMEOUT_S <= seconds <= MAX_TIMEOUT_S:
        raise ApiError(400, "bad_timeout", "timeout is a number of seconds from 2 to 10")
    return seconds


async def _verify(request: Request, data: dict[str, Any]) -> Response:
    merged = {**data, **request.query_params}
    email = merged.get("email")
    if not isinstance(email, str) or not email:
        raise ApiError(400, "missing_email", "missing the email parameter")
    answer = await service_of(request).check(email, _timeout(merged.get("timeout")))
    if not answer.complete:
        return JSONResponse({"message": SLOW}, 249)
    return JSONResponse(to_emailable(answer.result))


@router.get("/v1/verify", summary="Emailable: verify one address")
async def verify_get(request: Request) -> Response:
    await _key(request)
    return await _verify(request, {})


@router.post("/v1/verify", summary="Emailable: verify one address")
async def verify_post(request: Request) -> Response:
    data = await _body(request, service_of(request).settings.max_body_bytes)
    await _key(request, data)
    return await _verify(request, data)


@router.post("/v1/batch", summary="Emailable: start a batch")
async def batch_post(request: Request) -> Response:
    service = service_of(request)
    data = await _body(request, service.settings.max_json_job_bytes)
    key = await _key(request, data)
    merged = {**data, **request.query_params}
    try:
        emails = json_emails(merged.get("emails"))
    except UploadError as exc:
        raise ApiError(400, "bad_emails", str(exc)) from exc
    callback = await checked_callback(service, merged.get("url"))
    job = await service.new_job(
        key, service.rows_from_list(emails), face="emailable", callback_url=callback
    )
    return JSONResponse({"message": ACCEPTED, "id": uuid.UUID(job.id).hex})


async def batch_view(service: Service, job: JobRecord, *, partial: bool) -> dict[str, Any]:
    """One of the four shapes of Emailable's batch status."""
    bid = uuid.UUID(job.id).hex
    states = job.counts.get("state", {})
    totals = {"total": job.total, "processed": job.processed, **states}
    if job.status != COMPLETED:
        if partial and job.total <= INLINE_LIMIT:
            rows = await settled_results(service.store, job.id, INLINE_LIMIT)
            return {
                "id": bid,
                "message": "Your batch is being processed.",
                "total_counts": totals,
                "emails": [to_emailable(r) for _, r in rows],
            }
        return {"id": bid, "status": "verifying", "total": job.total, "processed": job.processed}
    if job.total > INLINE_LIMIT:
        return {
            "id": bid,
            "status": "complete",
            "total_counts": totals,
            "download_file": f"/v1/jobs/{job.id}/results?format=csv",
        }
    emails = [to_emailable(r) for _, r in await settled_results(service.store, job.id, job.total)]
    reasons = Counter(str(e.get("reason")) for e in emails)
    return {
        "id": bid,
        "status": "complete",
        "reason_counts": dict(reasons),
        "total_counts": totals,
        "emails": emails,
    }


@router.get("/v1/batch", summary="Emailable: batch status and results")
async def batch_get(request: Request) -> Response:
    key = await _key(request)
    service = service_of(request)
    q = request.query_params
    try:
        job_id = str(uuid.UUID(q.get("id", "")))
    except ValueError as exc:
        raise ApiError(404, "job_not_found", "no batch with that id") from exc
    job = await service.store.job(job_id, key.id)
    if job is None:
        raise ApiError(404, "job_not_found", "no batch with that id")
    partial = q.get("partial", "false").lower() in ("1", "true")
    return JSONResponse(await batch_view(service, job, partial=partial))


async def _callback(service: Service, job: JobRecord, event: str) -> str | None:
    if event != "job.completed":
        return None  # Emailable calls back once, when the batch is complete
    return json.dumps(await batch_view(service, job, partial=False), separators=(",", ":"))


def register(service: Service) -> None:
    service.callbacks["emailable"] = CallbackFormat(UNSIGNED, _callback)
