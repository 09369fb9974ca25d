"""Byteplant face: `GET /byteplant/api/verify?email=&key=&correct=0|1&timeout=` (seconds).

Every answer about an address is HTTP 200 with `status` Ok / Bad / Unknown; a slow check
answers what is known (Unknown) as that API does for a server that does not answer in time.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from engine.service.faces.byteplant import to_byteplant
from engine.service.web import ApiError, authorize, seconds_field, service_of

PREFIX = "/byteplant"
router = APIRouter(prefix=PREFIX, tags=["byteplant"])

DEFAULT_TIMEOUT_S = 15.0
_WORDS = {
    "missing_key": "ApiKeyMissing",
    "invalid_key": "ApiKeyInvalid",
    "rate_limited": "RateLimitExceeded",
}


def render_error(err: ApiError) -> Response:
    body = {
        "status": "Unknown",
        "additionalStatus": _WORDS.get(err.code, "RequestError"),
        "message": err.message,
    }
    return JSONResponse(body, err.status, headers=err.headers)


@router.get("/api/verify", summary="Byteplant: verify one address")
async def verify(request: Request) -> Response:
    q = request.query_params
    await authorize(request, q.get("key"), where="?key=KEY")
    email = q.get("email")
    if email is None:
        raise ApiError(400, "missing_email", "missing the email parameter: ?email=ADDRESS")
    correct = q.get("correct", "0")
    if correct not in ("0", "1", "true", "false"):
        raise ApiError(400, "bad_correct", "correct is 0 or 1")
    service = service_of(request)
    wait = seconds_field(q.get("timeout"), "timeout", high=service.settings.max_wait_s)
    answer = await service.check(email, wait or DEFAULT_TIMEOUT_S)
    return JSONResponse(to_byteplant(answer.result, correct=correct in ("1", "true")))
