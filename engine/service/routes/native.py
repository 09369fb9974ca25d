"""The native single check: `GET|POST /v1/verify` -> Result.to_dict() + `cached` + `complete`.

A check that does not finish within `timeout` answers what is known with `complete: false`
and `Retry-After`; it goes on, and the same question asked again is answered from it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from engine.service.checks import Answer
from engine.service.web import (
    ApiError,
    fields,
    json_body,
    native_caller,
    seconds_field,
    service_of,
    text_field,
)

router = APIRouter()

_VERIFY_BODY = json_body(
    ["email"],
    {
        "email": {"type": "string"},
        "timeout": {"type": "number", "description": "seconds to wait"},
    },
)


def answer_body(answer: Answer) -> dict[str, Any]:
    body = answer.result.to_dict()
    body["cached"] = answer.cached
    body["complete"] = answer.complete
    return body


def answer_response(answer: Answer) -> Response:
    headers = {}
    if answer.retry_after_s is not None:
        headers["Retry-After"] = str(answer.retry_after_s)
    return JSONResponse(answer_body(answer), headers=headers)


async def _verify(request: Request, email: str | None, timeout: Any) -> Response:
    service = service_of(request)
    if email is None:
        raise ApiError(400, "missing_email", 'give the address to check as "email"')
    wait = seconds_field(timeout, "timeout", high=service.settings.max_wait_s)
    return answer_response(await service.check(email, wait))


@router.get("/v1/verify", tags=["native"], summary="Verify one address")
async def verify_get(request: Request) -> Response:
    await native_caller(request)
    q = request.query_params
    return await _verify(request, q.get("email"), q.get("timeout"))


@router.post(
    "/v1/verify", tags=["native"], summary="Verify one address", openapi_extra=_VERIFY_BODY
)
async def verify_post(request: Request) -> Response:
    await native_caller(request)
    data = await fields(request, service_of(request).settings.max_body_bytes)
    return await _verify(request, text_field(data, "email"), data.get("timeout"))
