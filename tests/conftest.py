"""Settings for the whole test suite."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from engine.localworld.smtp import LoopbackServer

StartServer = Callable[[LoopbackServer], Awaitable[LoopbackServer]]


@pytest.fixture(autouse=True, scope="session")
def _own_cache_and_data_homes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The command keeps a result cache under $XDG_CACHE_HOME and the service its database
    under $XDG_DATA_HOME by default: point both at folders of the run's own, so tests (and the
    processes they start) never touch those of the person running them, nor share answers
    between runs."""
    root = tmp_path_factory.mktemp("homes")
    saved = {name: os.environ.get(name) for name in ("XDG_CACHE_HOME", "XDG_DATA_HOME")}
    os.environ["XDG_CACHE_HOME"] = str(root / "cache")
    os.environ["XDG_DATA_HOME"] = str(root / "data")
    yield root
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
async def smtp_start() -> AsyncIterator[StartServer]:
    """Start loopback mail servers in the test's loop; stop them all afterwards and check that
    none of them was ever sent DATA (mailprobe never sends mail)."""
    started: list[LoopbackServer] = []

    async def start(server: LoopbackServer) -> LoopbackServer:
        await server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        await server.stop()
    for server in started:
        assert "DATA" not in server.stats.verbs(), f"DATA reached {server.host}"
