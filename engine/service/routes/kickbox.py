"""Kickbox face: `GET /kickbox/v2/verify?email=&timeout=` (milliseconds), the batch API
`PUT /kickbox/v2/verify-batch` (a text/csv body, `X-Kickbox-Callback`, `X-Kickbox-Filename`) and
`GET /kickbox/v2/verify-batch/{id}`; key in `apikey` or Bearer.

A check slower than `timeout` answers unknown / timeout with HTTP 200, as Kickbox does; errors
are `{"success": false, "message": ...}`. A completed batch's `download_url` is a signed link to
its results CSV, valid for an hour, that needs no key (as Kickbox's is); the callback gets the
completed status, as Kickbox sends it, plus Standard Webhooks headers a receiver may check.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from engine.service.exports import (
    csv_stream,
    input_cells,
    settled_pages,
    stored_result,
    with_input_columns,
)
from engine.service.faces.kickbox import (
    CSV_FIELDS,
    batch_name,
    kickbox_csv_cells,
    to_kickbox,
    to_kickbox_batch,
)
from engine.service.jobs import batch_facts
from engine.service.runtime import CallbackFormat, Service
from engine.service.store import COMPLETED, JobRecord, KeyRecord, StoredRow
from engine.service.uploads import UploadError
from engine.service.web import (
    ApiError,
    authorize,
    bearer,
    checked_callback,
    media_type,
    seconds_field,
    service_of,
    spool_body,
)
from engine.service.webhooks import STANDARD

PREFIX = "/kickbox"
router = APIRouter(prefix=PREFIX, tags=["kickbox"])

DEFAULT_TIMEOUT_MS = 6000  # Kickbox's documented default
MAX_TIMEOUT_MS = 30000
DOWNLOAD_TTL_S = 3600  # Kickbox's download links last an hour
ACCEPTED = "The batch was accepted and is being verified."
_BATCH_TYPES = ("text/csv", "application/csv", "text/plain", "")

_BATCH_BODY: dict[str, Any] = {
    "parameters": [
        {"name": "X-Kickbox-Callback", "in": "header", "schema": {"type": "string"}},
        {"name": "X-Kickbox-Filename", "in": "header", "schema": {"type": "string"}},
    ],
    "requestBody": {
        "required": True,
        "content": {"text/csv": {"schema": {"type": "string"}}},
    },
}


def render_error(err: ApiError) -> Response:
    status = 403 if err.code == "invalid_key" else err.status
    return JSONResponse({"success": False, "message": err.message}, status, headers=err.headers)


async def _key(request: Request) -> KeyRecord:
    presented = request.query_params.get("apikey") or bearer(request)
    return await authorize(request, presented, where="?apikey=KEY")


@router.get("/v2/verify", summary="Kickbox: verify one address")
async def verify(request: Request) -> Response:
    start = time.perf_counter()
    q = request.query_params
    await _key(request)
    email = q.get("email")
    if not email:
        raise ApiError(400, "missing_email", "missing the email parameter: ?email=ADDRESS")
    wait = seconds_field(q.get("timeout"), "timeout", scale=0.001, high=MAX_TIMEOUT_MS / 1000)
    answer = await service_of(request).check(email, wait or DEFAULT_TIMEOUT_MS / 1000)
    took_ms = round((time.perf_counter() - start) * 1000)
    return JSONResponse(
        to_kickbox(answer.result), headers={"X-Kickbox-Response-Time": str(took_ms)}
    )


def _filename(value: str | None) -> str | None:
    if not value:
        return None
    if len(value) > 255 or not value.isprintable():
        raise ApiError(400, "bad_filename", "X-Kickbox-Filename: at most 255 printable characters")
    return value


@router.put("/v2/verify-batch", summary="Kickbox: start a batch", openapi_extra=_BATCH_BODY)
async def verify_batch(request: Request) -> Response:
    key = await _key(request)
    service = service_of(request)
    kind = media_type(request)
    if kind not in _BATCH_TYPES:
        raise ApiError(
            415,
            "unsupported_media_type",
            f"send the addresses as text/csv, one per line or a CSV (got {kind!r})",
        )
    callback = await checked_callback(service, request.headers.get("x-kickbox-callback"))
    name = _filename(request.headers.get("x-kickbox-filename"))
    spool = await spool_body(
        request, service.settings.max_upload_bytes, service.settings.data_dir / "uploads"
    )
    try:
        rows = service.rows_from_file(
            spool, kind="lines" if kind == "text/plain" else "csv", column=None
        )
        job = await service.new_job(
            key,
            rows,
            face="kickbox",
            callback_url=callback,
            webhook_secret=key.webhook_secret,
            # Where the job was sent, for the links in its callback (sent with no request).
            metadata={"file": name, "base_url": str(request.base_url)},
        )
    except UploadError as exc:
        raise ApiError(400, "bad_csv", str(exc)) from exc
    finally:
        spool.close()
    return JSONResponse({"id": batch_facts(job).number, "success": True, "message": None})


def _signature(key: KeyRecord, job_id: str, expires: int) -> str:
    message = f"kickbox-download:{job_id}:{expires}".encode()
    return hmac.new(key.webhook_secret.encode(), message, hashlib.sha256).hexdigest()


def _download_url(job: JobRecord, key: KeyRecord, base_url: str, now: float) -> str:
    expires = int(now) + DOWNLOAD_TTL_S
    query = urlencode({"expires": expires, "signature": _signature(key, job.id, expires)})
    number = batch_facts(job).number
    return f"{base_url.rstrip('/')}{PREFIX}/v2/verify-batch/{number}/download?{query}"


async def status_view(service: Service, job: JobRecord, key: KeyRecord) -> dict[str, Any]:
    """Kickbox's status of the job: its progress, or its stats and a signed download link."""
    facts = batch_facts(job)
    if job.status != COMPLETED:
        return to_kickbox_batch(facts)
    meta = job.metadata if isinstance(job.metadata, dict) else {}
    base = meta.get("base_url") if isinstance(meta.get("base_url"), str) else "/"
    return to_kickbox_batch(
        facts,
        download_url=_download_url(job, key, str(base), time.time()),
        sendex=await service.store.mean_score(job.id),
    )


async def _numbered(service: Service, batch_id: str, key_id: str | None) -> JobRecord:
    job = None
    if batch_id.isdigit() and len(batch_id) < 20:
        job = await service.store.job_by_number(int(batch_id), key_id)
    if job is None or job.face != "kickbox":
        raise ApiError(404, "job_not_found", f"no batch {batch_id} for this key")
    return job


@router.get("/v2/verify-batch/{batch_id}", summary="Kickbox: a batch's status")
async def batch_status(request: Request, batch_id: str) -> Response:
    key = await _key(request)
    service = service_of(request)
    job = await _numbered(service, batch_id, key.id)
    return JSONResponse(await status_view(service, job, key))


@router.get(
    "/v2/verify-batch/{batch_id}/download",
    summary="Kickbox: a completed batch's results (the signed download_url; no key)",
)
async def batch_download(request: Request, batch_id: str) -> Response:
    service = service_of(request)
    q = request.query_params
    expires, signature = q.get("expires", ""), q.get("signature", "")
    refused = ApiError(403, "bad_signature", "the download link is wrong or has expired")
    if not expires.isdigit() or int(expires) < time.time() or len(signature) != 64:
        raise refused
    job = await _numbered(service, batch_id, None)
    key = await service.store.key_by_id(job.key_id)
    if key is None or key.revoked is not None:
        raise refused
    if not hmac.compare_digest(_signature(key, job.id, int(expires)), signature):
        raise refused
    width = len(job.header) if job.header is not None else 0

    def cells(row: StoredRow) -> list[str]:
        return [*input_cells(row, width), *kickbox_csv_cells(stored_result(row))]

    name = batch_name(batch_facts(job)).replace('"', "")
    body = csv_stream(
        settled_pages(service.store, job.id),
        with_input_columns(job.header, CSV_FIELDS, "kickbox_"),
        cells,
    )
    return StreamingResponse(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


async def _callback(service: Service, job: JobRecord, event: str) -> str | None:
    if event not in ("job.completed", "job.failed"):
        return None  # Kickbox calls back once, when the batch is over
    key = await service.store.key_by_id(job.key_id)
    if key is None:
        return None
    return json.dumps(await status_view(service, job, key), separators=(",", ":"))


def register(service: Service) -> None:
    service.callbacks["kickbox"] = CallbackFormat(STANDARD, _callback)
