"""The web console: its static files under /console/, and sign-in and sign-out.

The console is another client of the native API: its scripts call /v1/... with the session
cookie and, on every change, the session's CSRF token. This module only serves the files (read
once from the package, never from a path the request names) and turns an API key into a session.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from engine.service.sessions import (
    COOKIE,
    CSRF_HEADER,
    SESSION_TTL_S,
    close_session,
    csrf_matches,
    find_session,
    open_session,
)
from engine.service.store import KeyRecord
from engine.service.web import ApiError, fields, media_type, service_of, text_field

PREFIX = "/console"
router = APIRouter(include_in_schema=False)

# No inline script or style anywhere in the console: the policy can forbid both.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    media_type: str
    etag: str


def load_assets() -> dict[str, Asset]:
    """Every servable file of the engine.console package by its path under /console/."""
    found: dict[str, Asset] = {}

    def walk(node: Any, prefix: str) -> None:
        for child in node.iterdir():
            name = prefix + child.name
            if child.is_dir():
                if not child.name.startswith(("_", ".")):
                    walk(child, name + "/")
                continue
            kind = MEDIA_TYPES.get("." + child.name.rpartition(".")[2])
            if kind is None:
                continue
            body = child.read_bytes()
            found[name] = Asset(body, kind, '"' + hashlib.sha256(body).hexdigest()[:20] + '"')

    walk(importlib.resources.files("engine.console"), "")
    return found


@functools.cache
def assets() -> dict[str, Asset]:
    """The console's files, read on first use and kept: they are part of the installed package
    and never change while it runs (a few dozen kilobytes)."""
    return load_assets()


def _secured(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


def _session_body(key: KeyRecord, csrf: str, expires: float) -> dict[str, Any]:
    return {
        "key": {"id": key.id, "name": key.name, "admin": key.admin},
        "csrf_token": csrf,
        "csrf_header": CSRF_HEADER,
        "expires_at": expires,
    }


def _json(body: Any, status: int = 200) -> Response:
    return _secured(JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"}))


@router.get("/")
async def root() -> Response:
    return RedirectResponse(PREFIX + "/", status_code=303)


@router.get(PREFIX)
async def bare() -> Response:
    return RedirectResponse(PREFIX + "/", status_code=308)


@router.get(PREFIX + "/session")
async def session(request: Request) -> Response:
    """Who is signed in, and the CSRF token the page sends back; `{"key": null}` when nobody
    is (a normal answer for a page asking whether to show its sign-in form)."""
    found = await find_session(service_of(request).store, request.cookies.get(COOKIE, ""))
    if found is None:
        return _json({"key": None})
    return _json(_session_body(found.key, found.csrf, found.expires))


@router.post(PREFIX + "/session")
async def sign_in(request: Request) -> Response:
    """Trade an API key for a session cookie.

    JSON only: a cross-site page cannot send JSON without a CORS preflight, which this service
    never grants, so no other site can sign a visitor in under its own key.
    """
    if media_type(request) != "application/json":
        raise ApiError(415, "unsupported_media_type", 'sign in with a JSON body {"key": "..."}')
    service = service_of(request)
    data = await fields(request, service.settings.max_body_bytes, what="a sign-in")
    presented = text_field(data, "key", required=True) or ""
    key = await service.keys.resolve(presented.strip())
    if key is None:
        raise ApiError(401, "invalid_key", "the API key is unknown or revoked")
    # A sign-in replaces the session this browser had: its old id is ended, never reused.
    await close_session(service.store, request.cookies.get(COOKIE, ""))
    new = await open_session(service.store, key)
    response = _json(_session_body(key, new.csrf, new.expires))
    response.set_cookie(
        COOKIE,
        new.cookie,
        max_age=int(SESSION_TTL_S),
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.delete(PREFIX + "/session")
async def sign_out(request: Request) -> Response:
    """End the session (with its CSRF token, so no other site can sign a visitor out)."""
    store = service_of(request).store
    cookie = request.cookies.get(COOKIE, "")
    found = await find_session(store, cookie)
    if found is not None:
        if not csrf_matches(found, request.headers.get(CSRF_HEADER)):
            raise ApiError(403, "csrf_token_invalid", f"signing out needs the {CSRF_HEADER} header")
        await close_session(store, cookie)
    response = _json({"signed_out": True})
    response.delete_cookie(
        COOKIE, path="/", httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )
    return response


@router.get(PREFIX + "/{path:path}")
async def asset(request: Request, path: str) -> Response:
    found = assets().get(path or "index.html")
    if found is None:
        raise ApiError(404, "not_found", f"no console file {path!r}")
    headers = {"ETag": found.etag, "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == found.etag:
        return _secured(Response(status_code=304, headers=headers))
    return _secured(Response(found.body, media_type=found.media_type, headers=headers))
