"""Operations: health (no key), version, Prometheus metrics, the OpenAPI document and its docs."""

from __future__ import annotations

import time
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from engine.service.web import NATIVE_WHERE, authorize, native_caller, native_key, service_of

router = APIRouter()


@router.get("/healthz", tags=["ops"], summary="Liveness; needs no key")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/version", tags=["ops"])
async def version(request: Request) -> dict[str, str]:
    await native_caller(request)
    return {"version": request.app.version, "name": "mailprobe"}


@router.get("/metrics", tags=["ops"], summary="Prometheus text format")
async def metrics(request: Request) -> Response:
    await native_caller(request)
    service = service_of(request)
    jobs = await service.store.job_status_counts()
    gauges = [
        ("mailprobe_jobs", "jobs by status", {"status": status}, float(n))
        for status, n in sorted(jobs.items())
    ]
    gauges += [
        ("mailprobe_jobs_running_here", "jobs queued or running in this process", {},
         float(service.runner.running())),
        ("mailprobe_recent_checks", "single checks remembered for reuse", {},
         float(len(service.recent))),
        ("mailprobe_uptime_seconds", "seconds since the service started", {},
         round(time.time() - service.started_at, 3)),
    ]  # fmt: skip
    return PlainTextResponse(service.metrics.render(gauges), media_type="text/plain; version=0.0.4")


def _docs_key(request: Request) -> str | None:
    return native_key(request) or request.query_params.get("api_key")


@router.get("/openapi.json", include_in_schema=False)
async def openapi(request: Request) -> Response:
    await authorize(request, _docs_key(request), where=NATIVE_WHERE + " or ?api_key=KEY")
    return JSONResponse(request.app.openapi())


@router.get("/docs", include_in_schema=False)
async def docs(request: Request) -> Response:
    key = _docs_key(request)
    await authorize(request, key, where="?api_key=KEY")
    page = get_swagger_ui_html(
        openapi_url="/openapi.json?api_key=" + quote(key or "", safe=""),
        title="mailprobe API",
    )
    return HTMLResponse(page.body, headers={"Cache-Control": "no-store"})
