"""Keys over HTTP: `GET /v1/keys` lists them, `POST /v1/keys` makes one (shown once),
`DELETE /v1/keys/{id}` revokes one.

Listing all keys, making and revoking them take an admin key (`mailprobe keys create --admin`);
any other key lists only itself. Keys are stored hashed: no route can show a key again.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from engine.service.keys import KeyProblem, acreate_key, alist_keys, arevoke_key
from engine.service.store import KeyRecord
from engine.service.web import ApiError, fields, native_caller, service_of, text_field

router = APIRouter()


def key_view(record: KeyRecord, me: KeyRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "admin": record.admin,
        "created_at": record.created,
        "revoked_at": record.revoked,
        "current": record.id == me.id,
    }


def _admin(key: KeyRecord) -> None:
    if not key.admin:
        raise ApiError(
            403,
            "admin_key_needed",
            "managing keys needs an admin key: mailprobe keys create --name NAME --admin",
        )


@router.get("/v1/keys", tags=["keys"], summary="API keys (all for an admin key, else itself)")
async def list_keys(request: Request) -> Response:
    me = await native_caller(request)
    records = await alist_keys(service_of(request).store) if me.admin else [me]
    return JSONResponse({"keys": [key_view(r, me) for r in records], "admin": me.admin})


@router.post("/v1/keys", tags=["keys"], status_code=201, summary="Make a key (admin)")
async def create(request: Request) -> Response:
    me = await native_caller(request)
    _admin(me)
    data = await fields(request, service_of(request).settings.max_body_bytes, what="a key")
    name = text_field(data, "name", required=True)
    admin = data.get("admin", False)
    if admin in ("true", "1", "on"):
        admin = True
    elif admin in ("false", "0", "", None):
        admin = False
    if not isinstance(admin, bool):
        raise ApiError(400, "bad_field", '"admin" must be true or false')
    try:
        key, record = await acreate_key(service_of(request).store, name or "", admin=admin)
    except KeyProblem as exc:
        raise ApiError(409 if "exists" in str(exc) else 400, "bad_key_name", str(exc)) from exc
    body = {**key_view(record, me), "key": key}
    return JSONResponse(body, status_code=201, headers={"Cache-Control": "no-store"})


@router.delete("/v1/keys/{key_id}", tags=["keys"], summary="Revoke a key (admin)")
async def revoke(request: Request, key_id: str) -> Response:
    me = await native_caller(request)
    _admin(me)
    try:
        await arevoke_key(service_of(request).store, key_id)
    except KeyProblem as exc:
        raise ApiError(404, "key_not_found", str(exc)) from exc
    return JSONResponse({"id": key_id, "revoked": True})
