"""MailValid face: `POST /mailvalid/api/v1/verify {"email"}` and
`POST /mailvalid/api/v1/bulk/verify {"emails", "webhook_url", "webhook_secret"}`, key in
`X-API-Key`. Bulk webhooks are signed with HMAC-SHA256 of the body, hex, in
`X-Webhook-Signature`.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from engine.service.faces.mailvalid import to_mailvalid
from engine.service.jobs import settled_results
from engine.service.runtime import CallbackFormat, Service
from engine.service.store import FINISHED, JobRecord, KeyRecord
from engine.service.uploads import UploadError, json_emails
from engine.service.web import (
    ApiError,
    authorize,
    checked_callback,
    fields,
    seconds_field,
    service_of,
    text_field,
)
from engine.service.webhooks import HMAC_HEX

PREFIX = "/mailvalid"
router = APIRouter(prefix=PREFIX, tags=["mailvalid"])

INLINE_LIMIT = 1000


def render_error(err: ApiError) -> Response:
    return JSONResponse(
        {"success": False, "error": err.code, "message": err.message},
        err.status,
        headers=err.headers,
    )


async def _key(request: Request) -> KeyRecord:
    return await authorize(request, request.headers.get("x-api-key"), where="X-API-Key: KEY")


@router.post("/api/v1/verify", summary="MailValid: verify one address")
async def verify(request: Request) -> Response:
    await _key(request)
    service = service_of(request)
    data = await fields(request, service.settings.max_body_bytes)
    email = text_field(data, "email", required=True)
    assert email is not None
    wait = seconds_field(data.get("timeout"), "timeout", high=service.settings.max_wait_s)
    answer = await service.check(email, wait)
    return JSONResponse(to_mailvalid(answer.result))


@router.post("/api/v1/bulk/verify", status_code=202, summary="MailValid: start a bulk job")
async def bulk(request: Request) -> Response:
    key = await _key(request)
    service = service_of(request)
    data = await fields(request, service.settings.max_json_job_bytes)
    try:
        emails = json_emails(data.get("emails"))
    except UploadError as exc:
        raise ApiError(400, "bad_emails", str(exc)) from exc
    callback = await checked_callback(service, data.get("webhook_url"))
    secret = text_field(data, "webhook_secret")
    if secret is not None and len(secret) > 500:
        raise ApiError(400, "bad_field", '"webhook_secret" is at most 500 characters')
    job = await service.new_job(
        key,
        service.rows_from_list(emails),
        face="mailvalid",
        callback_url=callback,
        webhook_secret=secret,
    )
    return JSONResponse(
        {"job_id": job.id, "status": job.status, "total": job.total}, status_code=202
    )


async def bulk_view(service: Service, job: JobRecord) -> dict[str, Any]:
    view: dict[str, Any] = {
        "job_id": job.id,
        "status": job.status,
        "total": job.total,
        "processed": job.processed,
        "summary": dict(job.counts.get("state", {})),
    }
    if job.status in FINISHED and job.total <= INLINE_LIMIT:
        rows = await settled_results(service.store, job.id, INLINE_LIMIT)
        view["results"] = [to_mailvalid(r) for _, r in rows]
    return view


@router.get("/api/v1/bulk/{job_id}", summary="MailValid: bulk job status and results")
async def bulk_status(request: Request, job_id: str) -> Response:
    key = await _key(request)
    service = service_of(request)
    try:
        canonical = str(uuid.UUID(job_id))
    except ValueError as exc:
        raise ApiError(404, "job_not_found", f"no bulk job {job_id}") from exc
    job = await service.store.job(canonical, key.id)
    if job is None:
        raise ApiError(404, "job_not_found", f"no bulk job {job_id}")
    return JSONResponse(await bulk_view(service, job))


async def _callback(service: Service, job: JobRecord, event: str) -> str | None:
    if event not in ("job.completed", "job.failed"):
        return None
    body = {
        "event": "bulk." + event.removeprefix("job."),
        "timestamp": datetime.now(timezone.utc).isoformat(),
        "data": await bulk_view(service, job),
    }
    return json.dumps(body, separators=(",", ":"))


def register(service: Service) -> None:
    service.callbacks["mailvalid"] = CallbackFormat(HMAC_HEX, _callback)
