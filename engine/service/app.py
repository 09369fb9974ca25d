"""The ASGI application: FastAPI on Starlette, one Service behind it, routes per face.

FastAPI for its OpenAPI and docs at no cost, Starlette's streaming responses for results and
server-sent events; bodies are parsed by hand (web.py) so every refusal can say what to fix.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from types import ModuleType

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from engine.service.routes import (
    byteplant,
    console,
    emailable,
    jobs,
    keys,
    kickbox,
    mailvalid,
    native,
    ops,
    reacher,
)
from engine.service.runtime import Service
from engine.service.web import ApiError, BodyTooLarge, Gate

log = logging.getLogger(__name__)

VERSION = "0.1.0"

ErrorRenderer = Callable[[ApiError], Response]


def native_error(err: ApiError) -> Response:
    return JSONResponse(
        {"error": {"code": err.code, "message": err.message}},
        status_code=err.status,
        headers=err.headers,
    )


# The vendor faces, each under its own prefix with its own error habit.
FACES: tuple[ModuleType, ...] = (kickbox, emailable, byteplant, mailvalid, reacher)


def create_app(service: Service, *, manage_service: bool = True) -> FastAPI:
    """The app for `service`; with `manage_service` the app's lifespan starts and stops it."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if manage_service:
            async with service:
                yield
        else:
            yield

    app = FastAPI(
        title="mailprobe",
        version=VERSION,
        description="Email verification without sending mail: a native API and vendor faces.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.service = service
    renderers: list[tuple[str, ErrorRenderer]] = [(f.PREFIX, f.render_error) for f in FACES]
    for module in (ops, native, jobs, keys, *FACES, console):
        app.include_router(module.router)
        register = getattr(module, "register", None)
        if register is not None:
            register(service)

    def render(request: Request, err: ApiError) -> Response:
        path = request.url.path
        for prefix, renderer in renderers:
            if path == prefix or path.startswith(prefix + "/"):
                return renderer(err)
        return native_error(err)

    @app.exception_handler(ApiError)
    async def on_api_error(request: Request, err: ApiError) -> Response:
        return render(request, err)

    @app.exception_handler(BodyTooLarge)
    async def on_too_large(request: Request, err: BodyTooLarge) -> Response:
        return render(
            request,
            ApiError(413, "body_too_large", f"the body is larger than {err.limit} bytes"),
        )

    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, err: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in err.errors()
        )
        return render(request, ApiError(400, "bad_request", problems or "bad request"))

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, err: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(err.status_code, "http_error")
        message = {
            404: f"no route {request.url.path}; see /docs for the API",
            405: f"{request.method} is not allowed on {request.url.path}",
        }.get(err.status_code, str(err.detail))
        return render(request, ApiError(err.status_code, code, message, headers=err.headers))

    @app.exception_handler(Exception)
    async def on_bug(request: Request, err: Exception) -> Response:
        log.exception("internal error on %s %s", request.method, request.url.path)
        return native_error(ApiError(500, "internal_error", "internal error; see the server log"))

    app.add_middleware(Gate, service=service)
    return app
