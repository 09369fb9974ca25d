"""HTTP plumbing shared by every face: errors, key lookup, rate limit, bodies read within limits.

Every refusal is an ApiError with a message that says what to fix; each face renders it in its
vendor's habit (status code and body), the native API as `{"error": {"code", "message"}}`.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.service.runtime import Service
from engine.service.sessions import COOKIE, CSRF_HEADER, SAFE_METHODS, csrf_matches, find_session
from engine.service.store import KeyRecord
from engine.service.webhooks import CallbackRefused, check_url_target


class ApiError(Exception):
    """A 4xx (or 503) the client can act on."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


class BodyTooLarge(Exception):
    """Raised from the request's receive channel once a body passes the service's cap."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


def service_of(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


async def authorize(request: Request, presented: str | None, *, where: str) -> KeyRecord:
    """The key record for `presented` (or for the console session the request carries), after
    the per-key rate limit; raises ApiError."""
    service = service_of(request)
    if presented:
        key = await service.keys.resolve(presented)
        if key is None:
            raise ApiError(401, "invalid_key", "the API key is unknown or revoked")
    else:
        session_key = await _session_key(request)
        if session_key is None:
            raise ApiError(401, "missing_key", f"this route needs an API key: {where}")
        key = session_key
    decision = service.limiter.take(key.id)
    request.state.ratelimit = decision.headers()
    if not decision.allowed:
        service.metrics.inc("mailprobe_rate_limited_total")
        raise ApiError(
            429,
            "rate_limited",
            f"too many requests for this key; retry in {decision.retry_after_s} s "
            f"(limit {decision.limit} at once, refilled at {service.limiter.rate:g}/s)",
            headers=decision.headers(),
        )
    request.state.key = key
    return key


async def _session_key(request: Request) -> KeyRecord | None:
    """The key of the console session on a native API request (/v1/...), or None without one.

    A session stands in for its key only with the CSRF token on a request that changes
    something: the cookie alone is what a forged cross-site request would carry.
    """
    cookie = request.cookies.get(COOKIE)
    if not cookie or not request.url.path.startswith("/v1/"):
        return None
    session = await find_session(service_of(request).store, cookie)
    if session is None:
        raise ApiError(
            401, "session_ended", "the console session has ended or its key was revoked; sign in"
        )
    if request.method not in SAFE_METHODS and not csrf_matches(
        session, request.headers.get(CSRF_HEADER)
    ):
        raise ApiError(
            403,
            "csrf_token_invalid",
            f"a change made with a console session needs the session's {CSRF_HEADER} header",
        )
    return session.key


def bearer(request: Request) -> str | None:
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def native_key(request: Request) -> str | None:
    return bearer(request) or request.headers.get("x-api-key")


NATIVE_WHERE = "Authorization: Bearer KEY or X-API-Key: KEY"  # where the native routes take it


async def native_caller(request: Request) -> KeyRecord:
    """The key of a native route's caller (or of the console's sign-in); 401/403 otherwise."""
    return await authorize(request, native_key(request), where=NATIVE_WHERE)


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refused with 413 past `limit` bytes."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def spool_body(request: Request, limit: int, directory: Path) -> IO[bytes]:
    """The body in an anonymous temporary file (flat memory), rewound; 413 past `limit`."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise _too_large(limit)
    directory.mkdir(parents=True, exist_ok=True)
    spool = tempfile.TemporaryFile(dir=directory)  # noqa: SIM115 - returned to the caller
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            # A write to the page cache: microseconds for a network chunk.
            spool.write(chunk)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool


async def checked_callback(service: Service, url: Any) -> str | None:
    """A callback URL that passed the SSRF guard, or None when none was given; 400 otherwise."""
    if url is None or url == "":
        return None
    try:
        await check_url_target(url, allow_private=service.settings.allow_private_callbacks)
    except CallbackRefused as exc:
        raise ApiError(400, "bad_callback_url", str(exc)) from exc
    return str(url)


def json_body(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    """A route's `openapi_extra` when its body is one JSON object with these properties."""
    schema = {"type": "object", "required": required, "properties": properties}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _too_large(limit: int) -> ApiError:
    return ApiError(
        413, "body_too_large", f"the body is larger than {limit} bytes; send less per request"
    )


async def fields(request: Request, limit: int, *, what: str = "the request") -> dict[str, Any]:
    """A JSON object body, or form fields (application/x-www-form-urlencoded) as a dict.

    Raises ApiError 415 for other media types and 400 for malformed JSON or a non-object.
    """
    kind = media_type(request)
    body = await read_body(request, limit)
    if kind in ("application/x-www-form-urlencoded",) and not body.lstrip().startswith(b"{"):
        try:
            return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError as exc:
            raise ApiError(400, "bad_form", "form fields must be UTF-8") from exc
    if kind not in ("application/json", "", "application/x-www-form-urlencoded", "text/json"):
        raise ApiError(
            415,
            "unsupported_media_type",
            f"send {what} as JSON with Content-Type: application/json (got {kind!r})",
        )
    if not body.strip():
        raise ApiError(400, "empty_body", f"{what} needs a JSON object body")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, "malformed_json", f"the body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "not_an_object", "the body must be a JSON object ({...})")
    return data


def text_field(data: Mapping[str, Any], name: str, *, required: bool = False) -> str | None:
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise ApiError(400, "missing_field", f'"{name}" is required')
        return None
    if not isinstance(value, str):
        raise ApiError(400, "bad_field", f'"{name}" must be a string')
    return value


def seconds_field(value: Any, name: str, *, scale: float = 1.0, high: float) -> float | None:
    """A positive number of seconds (`scale` converts, e.g. 0.001 for milliseconds)."""
    if value is None or value == "":
        return None
    try:
        number = float(value) * scale
    except (TypeError, ValueError) as exc:
        raise ApiError(400, "bad_timeout", f'"{name}" must be a number') from exc
    if not number > 0 or number != number:
        raise ApiError(400, "bad_timeout", f'"{name}" must be greater than 0')
    return min(number, high)


ErrorStyle = Callable[[ApiError], Awaitable[Any]]


class Gate:
    """ASGI middleware: caps every body at the service's largest limit, adds the rate-limit
    headers decided for the request, and counts requests per route and status."""

    def __init__(self, app: ASGIApp, service: Service) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.service.settings.max_upload_bytes
        seen = 0
        status = 500
        state: dict[str, Any] = scope.setdefault("state", {})

        async def capped_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > cap:
                    raise BodyTooLarge(cap)
            return message

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                extra = state.get("ratelimit")
                if extra:
                    headers = list(message.get("headers", []))
                    present = {k.lower() for k, _ in headers}
                    for name, value in extra.items():
                        if name.lower().encode() not in present:
                            headers.append((name.lower().encode(), value.encode()))
                    message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, capped_receive, send_with_headers)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            self.service.metrics.inc(
                "mailprobe_http_requests_total", route=path, status=str(status)
            )
