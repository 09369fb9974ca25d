"""Reacher face: `POST /reacher/v0/check_email` and `/v1/check_email` with `{"to_email", ...}`,
and the bulk API: `POST /reacher/v1/bulk {"input": [...]}`, `GET /reacher/v1/bulk/{job_id}`
(progress) and `GET /reacher/v1/bulk/{job_id}/results?format=json|csv&limit=&offset=` (also
under `/v0/bulk`); the key in `x-reacher-secret`, on every route.

A missing or wrong secret is HTTP 400 with a plain-text body, as Reacher's backend answers;
other errors are `{"error": ...}`. As Reacher does, results are refused (400) until the job is
over; unlike Reacher, they come in input order, and a job's routes need the key that made it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

from engine.service.exports import csv_stream, settled_pages, stored_result
from engine.service.faces.reacher import (
    CSV_COLUMNS,
    reacher_csv_cells,
    to_reacher,
    to_reacher_progress,
)
from engine.service.jobs import batch_facts
from engine.service.store import JobRecord, KeyRecord, StoredRow
from engine.service.uploads import UploadError, json_emails
from engine.service.web import ApiError, authorize, fields, json_body, service_of, text_field

PREFIX = "/reacher"
router = APIRouter(prefix=PREFIX, tags=["reacher"])

_BODY = json_body(
    ["to_email"],
    {
        "to_email": {"type": "string"},
        "smtp_timeout": {"type": "object", "properties": {"secs": {"type": "integer"}}},
    },
)


def render_error(err: ApiError) -> Response:
    if err.code == "missing_key":
        return PlainTextResponse('Missing request header "x-reacher-secret"', 400)
    if err.code == "invalid_key":
        return PlainTextResponse('Invalid request header "x-reacher-secret"', 400)
    return JSONResponse({"error": err.message}, err.status, headers=err.headers)


def _wait_s(data: dict[str, Any], high: float) -> float:
    # Reacher's smtp_timeout is a Rust Duration: {"secs": N, "nanos": N}.
    timeout = data.get("smtp_timeout")
    if isinstance(timeout, dict):
        secs, nanos = timeout.get("secs", 0), timeout.get("nanos", 0)
        if isinstance(secs, (int, float)) and isinstance(nanos, (int, float)):
            total = float(secs) + float(nanos) / 1e9
            if total > 0:
                return min(total, high)
    elif timeout is not None:
        raise ApiError(400, "bad_timeout", 'smtp_timeout is {"secs": N, "nanos": N}')
    return high  # Reacher waits for the answer: the engine's own budget bounds it


async def _key(request: Request) -> KeyRecord:
    return await authorize(
        request, request.headers.get("x-reacher-secret"), where="x-reacher-secret"
    )


async def _check(request: Request) -> Response:
    await _key(request)
    service = service_of(request)
    data = await fields(request, service.settings.max_body_bytes)
    email = text_field(data, "to_email")
    if email is None:
        raise ApiError(400, "missing_email", "to_email field is required.")
    answer = await service.check(email, _wait_s(data, service.settings.max_wait_s))
    return JSONResponse(to_reacher(answer.result))


@router.post("/v0/check_email", summary="Reacher: check one address", openapi_extra=_BODY)
async def check_v0(request: Request) -> Response:
    return await _check(request)


@router.post("/v1/check_email", summary="Reacher: check one address", openapi_extra=_BODY)
async def check_v1(request: Request) -> Response:
    return await _check(request)


# -- bulk ----------------------------------------------------------------------------------------

PAGE_SIZE = 50  # Reacher's default page of JSON results
MAX_PAGE_SIZE = 10_000

_BULK_BODY = json_body(["input"], {"input": {"type": "array", "items": {"type": "string"}}})


@router.post("/v0/bulk", summary="Reacher: start a bulk job", openapi_extra=_BULK_BODY)
@router.post("/v1/bulk", summary="Reacher: start a bulk job", openapi_extra=_BULK_BODY)
async def bulk_post(request: Request) -> Response:
    key = await _key(request)
    service = service_of(request)
    data = await fields(request, service.settings.max_json_job_bytes, what="a bulk job")
    if data.get("webhook") is not None:
        raise ApiError(
            400,
            "webhook_not_supported",
            "per-address webhooks are not sent; poll GET /v1/bulk/{job_id} for progress",
        )
    value = data.get("input")
    if isinstance(value, list) and not value:
        raise ApiError(400, "empty_input", "Empty input")
    try:
        emails = json_emails(value)
    except UploadError as exc:
        raise ApiError(400, "bad_input", str(exc).replace('"emails"', '"input"')) from exc
    job = await service.new_job(key, service.rows_from_list(emails), face="reacher")
    return JSONResponse({"job_id": batch_facts(job).number})


async def _own_bulk(request: Request, job_id: str) -> JobRecord:
    key = await _key(request)
    job = None
    if job_id.isdigit() and len(job_id) < 20:
        job = await service_of(request).store.job_by_number(int(job_id), key.id)
    if job is None or job.face != "reacher":
        raise ApiError(404, "job_not_found", f"no bulk job {job_id} for this key")
    return job


@router.get("/v0/bulk/{job_id}", summary="Reacher: a bulk job's progress")
@router.get("/v1/bulk/{job_id}", summary="Reacher: a bulk job's progress")
async def bulk_progress(request: Request, job_id: str) -> Response:
    job = await _own_bulk(request, job_id)
    return JSONResponse(to_reacher_progress(batch_facts(job)))


def _count(value: str | None, name: str, default: int | None, high: int) -> int | None:
    if value is None or value == "":
        return default
    if not value.isdigit():
        raise ApiError(400, "bad_query", f"{name} must be a whole number from 0")
    return min(int(value), high)


@router.get("/v0/bulk/{job_id}/results", summary="Reacher: a finished bulk job's results")
@router.get("/v1/bulk/{job_id}/results", summary="Reacher: a finished bulk job's results")
async def bulk_results(request: Request, job_id: str) -> Response:
    job = await _own_bulk(request, job_id)
    facts = batch_facts(job)
    if not facts.is_finished:
        raise ApiError(
            400, "job_running", f"Job {facts.number} is still running, please try again later"
        )
    q = request.query_params
    fmt = q.get("format", "json")
    if fmt not in ("json", "csv"):
        raise ApiError(400, "bad_format", "format is json or csv")
    offset = _count(q.get("offset"), "offset", 0, job.total) or 0
    store = service_of(request).store
    if fmt == "csv":
        limit = _count(q.get("limit"), "limit", None, job.total)

        def cells(row: StoredRow) -> list[str]:
            return reacher_csv_cells(stored_result(row))

        pages = settled_pages(store, job.id, after=offset - 1, limit=limit)
        return StreamingResponse(
            csv_stream(pages, CSV_COLUMNS, cells),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="job_{facts.number}.csv"'},
        )
    limit = _count(q.get("limit"), "limit", PAGE_SIZE, MAX_PAGE_SIZE)
    rows = [
        to_reacher(stored_result(row))
        async for page in settled_pages(store, job.id, after=offset - 1, limit=limit)
        for row in page
    ]
    return JSONResponse({"results": rows})
