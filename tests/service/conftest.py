"""The service's tests need the `server` extra (make installs it); without it they are skipped.

The fixtures the test modules share: `world` (the loopback mail world), `server` (a real
`mailprobe serve` process on it) and `svc` (the service in the test's own event loop). A module
changes how they start by overriding `server_flags` or `svc_settings`, or a whole fixture.
"""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.service.inprocess import Running
    from tests.service.world import Server, World

_NEEDED = ("fastapi", "uvicorn", "httpx", "standardwebhooks", "multipart")
_MISSING = [name for name in _NEEDED if importlib.util.find_spec(name) is None]

if _MISSING:
    collect_ignore_glob = ["test_*.py"]

    def pytest_report_header() -> str:
        return f"tests/service skipped: install mailprobe[server] ({', '.join(_MISSING)} missing)"


@pytest.fixture(autouse=True)
def _no_proxy_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Test clients talk to loopback only; a proxy set for the machine must not catch them.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)


# The helpers are imported inside the fixtures: without the `server` extra this file must still
# load, to skip the tests.


@pytest.fixture
async def world() -> AsyncIterator[World]:
    from tests.service.world import mail_world

    async with mail_world() as w:
        yield w


@pytest.fixture
def server_flags(world: World, tmp_path: Path) -> list[str]:
    """What `server` passes to `mailprobe serve`: the mail world's, and a cache of the test's."""
    return [*world.engine_flags(), "--cache", str(tmp_path / "cache.sqlite3")]


@pytest.fixture
async def server(server_flags: list[str], tmp_path: Path) -> AsyncIterator[Server]:
    from tests.service.world import serving

    async with serving(tmp_path / "data", server_flags) as s:
        yield s


@pytest.fixture
def svc_settings() -> dict[str, Any]:
    """Settings `svc` changes from their defaults."""
    return {}


@pytest.fixture
async def svc(world: World, tmp_path: Path, svc_settings: dict[str, Any]) -> AsyncIterator[Running]:
    from tests.service.inprocess import running

    async with running(world, tmp_path, **svc_settings) as r:
        yield r
