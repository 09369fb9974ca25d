"""Server-sent events from a real `mailprobe serve`: progress while a job runs, then its end."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.service.world import Server, World, make_key


@pytest.fixture
def server_flags(world: World) -> list[str]:
    return [*world.engine_flags(), "--no-cache"]


async def _events(lines: AsyncIterator[str]) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    kind = None
    async for line in lines:
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: ") and kind is not None:
            yield kind, json.loads(line[6:])
            kind = None


async def test_events_stream_progress_then_completion(
    server: Server, world: World, tmp_path: Path
) -> None:
    key = await make_key(tmp_path / "data", "k")
    emails = ["user1@shop.test", "user2@shop.test", "held@slow.test"]
    async with server.client(key) as client:
        job_id = (await client.post("/v1/jobs", json={"emails": emails})).json()["id"]
        seen: list[tuple[str, dict[str, Any]]] = []
        async with client.stream("GET", f"/v1/jobs/{job_id}/events") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")

            async def listen() -> None:
                async for kind, data in _events(stream.aiter_lines()):
                    seen.append((kind, data))
                    if kind == "progress" and not world.slow.release.is_set():
                        world.slow.release.set()  # let the held address settle

            await asyncio.wait_for(listen(), 60)
        assert seen[0][0] in ("progress", "started")
        assert seen[-1][0] == "completed"
        assert seen[-1][1]["processed"] == 3 and seen[-1][1]["status"] == "completed"
        # A finished job's stream says so at once and ends.
        async with client.stream("GET", f"/v1/jobs/{job_id}/events") as again:
            got = [e async for e in _events(again.aiter_lines())]
        assert [k for k, _ in got] == ["completed"]


async def test_progress_is_announced_while_a_slow_row_is_awaited(
    server: Server, world: World, tmp_path: Path
) -> None:
    # Results settle in input order, so the held address last keeps the job running: what
    # settled before it must still be stored and announced, not wait for the held one.
    key = await make_key(tmp_path / "data", "k")
    emails = [f"user{i}@shop.test" for i in range(40)] + ["held@slow.test"]
    async with server.client(key) as client:
        job_id = (await client.post("/v1/jobs", json={"emails": emails})).json()["id"]
        kinds: list[str] = []
        async with client.stream("GET", f"/v1/jobs/{job_id}/events") as stream:

            async def listen() -> None:
                async for kind, data in _events(stream.aiter_lines()):
                    kinds.append(kind)
                    if data["processed"] == 40 and not world.slow.release.is_set():
                        assert data["status"] == "running" and kind == "progress"
                        stored = (await client.get(f"/v1/jobs/{job_id}/results")).text
                        assert len(stored.splitlines()) == 40
                        world.slow.release.set()

            await asyncio.wait_for(listen(), 60)
        assert world.slow.release.is_set(), "no event showed the 40 settled rows"
        assert kinds[-1] == "completed"
