"""Kickbox face: `GET /kickbox/v2/verify?email=&timeout=` (milliseconds), key in `apikey` or Bearer.

A check slower than `timeout` answers unknown / timeout with HTTP 200, as Kickbox does; errors
are `{"success": false, "message": ...}`.
"""

from __future__ import annotations

import time

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from engine.service.faces.kickbox import to_kickbox
from engine.service.web import ApiError, authorize, bearer, seconds_field, service_of

PREFIX = "/kickbox"
router = APIRouter(prefix=PREFIX, tags=["kickbox"])

DEFAULT_TIMEOUT_MS = 6000  # Kickbox's documented default
MAX_TIMEOUT_MS = 30000


def render_error(err: ApiError) -> Response:
    status = 403 if err.code == "invalid_key" else err.status
    return JSONResponse({"success": False, "message": err.message}, status, headers=err.headers)


@router.get("/v2/verify", summary="Kickbox: verify one address")
async def verify(request: Request) -> Response:
    start = time.perf_counter()
    q = request.query_params
    await authorize(request, q.get("apikey") or bearer(request), where="?apikey=KEY")
    email = q.get("email")
    if not email:
        raise ApiError(400, "missing_email", "missing the email parameter: ?email=ADDRESS")
    wait = seconds_field(q.get("timeout"), "timeout", scale=0.001, high=MAX_TIMEOUT_MS / 1000)
    answer = await service_of(request).check(email, wait or DEFAULT_TIMEOUT_MS / 1000)
    took_ms = round((time.perf_counter() - start) * 1000)
    return JSONResponse(
        to_kickbox(answer.result), headers={"X-Kickbox-Response-Time": str(took_ms)}
    )
