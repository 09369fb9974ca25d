"""The app's shape: every vendor face is mounted under its prefix, with its own error habit."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import Route

from engine.service.app import FACES, create_app
from tests.service.inprocess import running

FACE_NAMES = {p.stem for p in (Path(__file__).parents[2] / "engine/service/faces").glob("[!_]*.py")}


def test_every_face_with_a_mapper_has_routes() -> None:
    assert {face.PREFIX.strip("/") for face in FACES} == FACE_NAMES


async def test_every_face_is_mounted_and_renders_its_own_errors(tmp_path: Path) -> None:
    async with running(None, tmp_path) as svc:
        # The OpenAPI document lists what the app serves (FastAPI may include routers lazily).
        paths = set(create_app(svc.service, manage_service=False).openapi()["paths"])
        for face in FACES:
            own = {r.path for r in face.router.routes if isinstance(r, Route)}
            assert own and all(p.startswith(face.PREFIX + "/") for p in own), face.PREFIX
            assert own <= paths, f"{face.PREFIX} is not mounted: {sorted(own - paths)}"
        # A route no face has, under a face's prefix, is answered in that vendor's manner.
        kickbox = await svc.client.get("/kickbox/nothing")
        assert kickbox.status_code == 404 and kickbox.json()["success"] is False
        reacher = await svc.client.get("/reacher/nothing")
        assert reacher.status_code == 404 and "error" in reacher.json()
        native = await svc.client.get("/nothing")
        assert native.json()["error"]["code"] == "not_found"
