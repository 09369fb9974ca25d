"""Reacher face: `POST /reacher/v0/check_email` and `/v1/check_email` with `{"to_email", ...}`,
the key in `x-reacher-secret`. A missing or wrong secret is HTTP 400 with a plain-text body, as
Reacher's backend answers; other errors are `{"error": ...}`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from engine.service.faces.reacher import to_reacher
from engine.service.web import ApiError, authorize, fields, service_of, text_field

PREFIX = "/reacher"
router = APIRouter(prefix=PREFIX, tags=["reacher"])

_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["to_email"],
                    "properties": {
                        "to_email": {"type": "string"},
                        "smtp_timeout": {
                            "type": "object",
                            "properties": {"secs": {"type": "integer"}},
                        },
                    },
                }
            }
        },
    }
}


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


async def _check(request: Request) -> Response:
    await authorize(request, request.headers.get("x-reacher-secret"), where="x-reacher-secret")
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
