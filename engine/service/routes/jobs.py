"""Native jobs: create from JSON or CSV, list, status, results in input order, events, cancel,
delete, webhook deliveries. A key sees only its own jobs; another key's job is a 404.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator
from typing import IO, Any
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from engine.model import State
from engine.output import CSV_FIELDS, csv_row
from engine.service.exports import (
    csv_stream,
    input_cells,
    settled_pages,
    stored_result,
    with_input_columns,
)
from engine.service.jobs import job_view, result_json_with_index
from engine.service.store import FINISHED, JobRecord, KeyRecord, StoredRow
from engine.service.uploads import UploadError, json_emails
from engine.service.web import (
    ApiError,
    checked_callback,
    fields,
    media_type,
    native_caller,
    service_of,
    spool_body,
)

router = APIRouter()

_KEEPALIVE_S = 15.0

_JOB_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["emails"],
                    "properties": {
                        "emails": {"type": "array", "items": {"type": "string"}},
                        "callback_url": {"type": "string"},
                        "webhook_secret": {"type": "string"},
                        "metadata": {},
                    },
                }
            },
            "text/csv": {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "column": {"type": "string"},
                        "callback_url": {"type": "string"},
                        "metadata": {"type": "string"},
                    },
                }
            },
        },
    }
}


async def own_job(request: Request, job_id: str, key: KeyRecord) -> JobRecord:
    """The key's job, or a 404 that says nothing about other keys' jobs."""
    try:
        canonical = str(uuid.UUID(job_id))
    except ValueError:
        canonical = None
    job = None if canonical is None else await service_of(request).store.job(canonical, key.id)
    if job is None:
        raise ApiError(404, "job_not_found", f"no job {job_id} for this key")
    return job


def _metadata(value: Any, *, from_text: bool) -> Any:
    if value is None or value == "":
        return None
    if from_text:
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ApiError(400, "bad_metadata", f'"metadata" must be JSON text: {exc}') from exc
    if len(json.dumps(value)) > 16384:
        raise ApiError(400, "bad_metadata", '"metadata" must be at most 16 KiB of JSON')
    return value


def _secret(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not value.startswith("whsec_") or len(value) > 200:
        raise ApiError(
            400,
            "bad_webhook_secret",
            '"webhook_secret" must be a Standard Webhooks secret "whsec_..."',
        )
    return value


async def create_from_request(
    request: Request, key: KeyRecord, *, face: str = "native"
) -> tuple[JobRecord, dict[str, Any]]:
    """A job from a JSON, CSV, plain-text or multipart body; returns (job, the JSON fields)."""
    service = service_of(request)
    kind = media_type(request)
    q = request.query_params
    spool: IO[bytes] | None = None
    try:
        if kind in ("text/csv", "application/csv", "text/plain"):
            spool = await spool_body(
                request, service.settings.max_upload_bytes, service.settings.data_dir / "uploads"
            )
            data: dict[str, Any] = dict(q)
            column = q.get("column")
            file_kind = "csv" if kind != "text/plain" or column else "lines"
            rows = service.rows_from_file(spool, kind=file_kind, column=column)
            meta = _metadata(q.get("metadata"), from_text=True)
        elif kind == "multipart/form-data":
            data, spool, column = await _multipart(request)
            rows = service.rows_from_file(spool, kind="csv", column=column)
            meta = _metadata(data.get("metadata"), from_text=True)
        else:
            data = await fields(request, service.settings.max_json_job_bytes, what="a job")
            try:
                emails = json_emails(data.get("emails"))
            except UploadError as exc:
                raise ApiError(400, "bad_emails", str(exc)) from exc
            rows = service.rows_from_list(emails)
            meta = _metadata(data.get("metadata"), from_text=False)
        callback = await checked_callback(service, data.get("callback_url"))
        try:
            job = await service.new_job(
                key,
                rows,
                face=face,
                callback_url=callback,
                webhook_secret=_secret(data.get("webhook_secret")),
                metadata=meta,
            )
        except UploadError as exc:
            raise ApiError(400, "bad_csv", str(exc)) from exc
        return job, data
    finally:
        if spool is not None:
            spool.close()


async def _multipart(request: Request) -> tuple[dict[str, Any], IO[bytes], str | None]:
    try:
        form = await request.form(max_files=1, max_fields=20)
    except ApiError:
        raise
    except Exception as exc:  # the multipart parser's own errors
        raise ApiError(400, "bad_multipart", f"cannot read the multipart body: {exc}") from exc
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise ApiError(400, "missing_file", 'a multipart job needs its CSV in a "file" part')
    data = {k: v for k, v in form.items() if isinstance(v, str)}
    column = data.get("column") or request.query_params.get("column")
    return data, upload.file, column


@router.post("/v1/jobs", tags=["jobs"], status_code=201, openapi_extra=_JOB_BODY)
async def create_job(request: Request) -> Response:
    key = await native_caller(request)
    job, _ = await create_from_request(request, key)
    return JSONResponse(
        {"id": job.id, "status": job.status, "total": job.total},
        status_code=201,
        headers={"Location": f"/v1/jobs/{job.id}"},
    )


DEFAULT_PAGE = 100
MAX_PAGE = 1000

_LIST_PARAMETERS: dict[str, Any] = {
    "parameters": [
        {
            "name": "limit",
            "in": "query",
            "description": f"jobs a page, 1 to {MAX_PAGE} (default {DEFAULT_PAGE})",
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
        },
        {
            "name": "cursor",
            "in": "query",
            "description": "where the page starts: the next_cursor of the page before",
            "schema": {"type": "string"},
        },
        {
            "name": "after",
            "in": "query",
            "description": "the same as cursor",
            "schema": {"type": "string"},
        },
    ],
    "responses": {
        "200": {
            "description": "A page of the key's jobs, newest first; `next` is the link to the "
            "page after it (also in a Link header), null on the last page",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "jobs": {"type": "array", "items": {"type": "object"}},
                            "next": {"type": ["string", "null"]},
                            "next_cursor": {"type": ["string", "null"]},
                        },
                    }
                }
            },
        }
    },
}


def _page_size(value: str | None) -> int:
    if value is None or value == "":
        return DEFAULT_PAGE
    if not value.isdigit() or not 1 <= int(value) <= MAX_PAGE:
        raise ApiError(400, "bad_limit", f'"limit" is a whole number from 1 to {MAX_PAGE}')
    return int(value)


def _cursor(position: int) -> str:
    # Opaque to clients: where a page ends in the store's order, which deletions do not move.
    return base64.urlsafe_b64encode(f"jobs:{position}".encode()).decode().rstrip("=")


def _position(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, number = text.partition(":")
        if kind == "jobs" and number.isdigit() and len(number) < 19:
            return int(number)
    except (ValueError, UnicodeDecodeError):
        pass
    raise ApiError(400, "bad_cursor", "the cursor is not one this service gave; start again")


@router.get(
    "/v1/jobs", tags=["jobs"], summary="The key's jobs, a page at a time",
    openapi_extra=_LIST_PARAMETERS,
)  # fmt: skip
async def list_jobs(request: Request) -> Response:
    key = await native_caller(request)
    q = request.query_params
    limit = _page_size(q.get("limit"))
    given = q.get("cursor") or q.get("after")
    before = _position(given) if given else None
    service = service_of(request)
    runner = service.runner
    jobs, more = await service.store.jobs_of(key.id, limit=limit, before=before)
    cursor = None if more is None else _cursor(more)
    link = None if cursor is None else f"/v1/jobs?{urlencode({'limit': limit, 'cursor': cursor})}"
    return JSONResponse(
        {"jobs": [runner.view(j) for j in jobs], "next": link, "next_cursor": cursor},
        headers={} if link is None else {"Link": f'<{link}>; rel="next"'},
    )


@router.get("/v1/jobs/{job_id}", tags=["jobs"])
async def get_job(request: Request, job_id: str) -> Response:
    key = await native_caller(request)
    return JSONResponse(service_of(request).runner.view(await own_job(request, job_id, key)))


def _states(value: str | None) -> frozenset[str] | None:
    if not value:
        return None
    wanted = frozenset(v.strip() for v in value.split(",") if v.strip())
    known = {s.value for s in State}
    if not wanted or not wanted <= known:
        raise ApiError(
            400, "bad_state", f'"state" takes a comma-separated subset of {sorted(known)}'
        )
    return wanted


def csv_header(header: list[str] | None) -> list[str]:
    return ["index", *with_input_columns(header, CSV_FIELDS, "mailprobe_")]


@router.get("/v1/jobs/{job_id}/results", tags=["jobs"])
async def results(request: Request, job_id: str) -> Response:
    key = await native_caller(request)
    job = await own_job(request, job_id, key)
    service = service_of(request)
    q = request.query_params
    fmt = q.get("format", "jsonl")
    if fmt not in ("jsonl", "csv", "json"):
        raise ApiError(400, "bad_format", '"format" is one of jsonl, csv, json')
    states = _states(q.get("state"))
    headers = {"X-Job-Status": job.status, "X-Job-Processed": str(job.processed)}

    async def jsonl() -> AsyncIterator[bytes]:
        async for page in settled_pages(service.store, job.id, states):
            yield "".join(result_json_with_index(r.index, r.result) + "\n" for r in page).encode()

    async def as_json() -> AsyncIterator[bytes]:
        yield b"["
        first = True
        async for page in settled_pages(service.store, job.id, states):
            parts = [result_json_with_index(r.index, r.result) for r in page]
            yield (("" if first else ",") + ",".join(parts)).encode()
            first = False
        yield b"]"

    width = len(job.header) if job.header is not None else 0

    def csv_cells(row: StoredRow) -> list[str]:
        return [str(row.index), *input_cells(row, width), *csv_row(stored_result(row))]

    if fmt == "csv":
        headers["Content-Disposition"] = f'attachment; filename="{job.id}.csv"'
        body = csv_stream(
            settled_pages(service.store, job.id, states), csv_header(job.header), csv_cells
        )
        return StreamingResponse(body, media_type="text/csv; charset=utf-8", headers=headers)
    if fmt == "json":
        return StreamingResponse(as_json(), media_type="application/json", headers=headers)
    return StreamingResponse(jsonl(), media_type="application/x-ndjson", headers=headers)


def _sse(kind: str, data: dict[str, Any]) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


@router.get("/v1/jobs/{job_id}/events", tags=["jobs"], summary="Server-sent events")
async def events(request: Request, job_id: str) -> Response:
    key = await native_caller(request)
    job = await own_job(request, job_id, key)
    service = service_of(request)

    async def stream() -> AsyncIterator[bytes]:
        async with service.events.subscribe(job.id) as queue:
            current = await service.store.job(job.id)
            if current is None:
                yield _sse("deleted", {"id": job.id})
                return
            if current.status in FINISHED:
                yield _sse(current.status, job_view(current))
                return
            yield _sse("progress", service.runner.view(current))
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), _KEEPALIVE_S)
                except asyncio.TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                yield _sse(event.kind, event.data)
                if event.final:
                    return

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.post("/v1/jobs/{job_id}/cancel", tags=["jobs"])
async def cancel(request: Request, job_id: str) -> Response:
    key = await native_caller(request)
    job = await own_job(request, job_id, key)
    service = service_of(request)
    await service.cancel(job)
    fresh = await service.store.job(job.id)
    return JSONResponse(job_view(fresh or job))


@router.delete("/v1/jobs/{job_id}", tags=["jobs"])
async def delete(request: Request, job_id: str) -> Response:
    key = await native_caller(request)
    job = await own_job(request, job_id, key)
    await service_of(request).delete(job)
    return JSONResponse({"id": job.id, "deleted": True})


@router.get("/v1/jobs/{job_id}/deliveries", tags=["jobs"], summary="Webhook delivery log")
async def deliveries(request: Request, job_id: str) -> Response:
    key = await native_caller(request)
    job = await own_job(request, job_id, key)
    return JSONResponse({"deliveries": await service_of(request).store.deliveries_of(job.id)})


@router.get("/v1/webhooks/secret", tags=["jobs"], summary="The key's webhook signing secret")
async def webhook_secret(request: Request) -> Response:
    key = await native_caller(request)
    return JSONResponse({"scheme": "standard-webhooks", "secret": key.webhook_secret})
