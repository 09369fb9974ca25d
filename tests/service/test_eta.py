"""A job's ETA while rows wait on slow servers: no "0 s" from the rate of the rows done, but a
count of the rows that wait, and what the per-address budget still allows them; in the job's
status, the list of jobs and its live events. Through a real `mailprobe serve`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx

from tests.service.polling import poll
from tests.service.world import USERS, mail_world, make_key, serving


async def _event_with(client: httpx.AsyncClient, path: str, want: Any) -> dict[str, Any]:
    """The first server-sent event whose data satisfies `want` (the stream ends at the job's)."""
    async with client.stream("GET", path) as events:
        async for line in events.aiter_lines():
            if line.startswith("data: "):
                data: dict[str, Any] = json.loads(line.removeprefix("data: "))
                if want(data):
                    return data
    raise AssertionError("the events ended first")


async def test_rows_held_by_a_slow_server_show_as_waiting_not_as_an_eta(tmp_path: Path) -> None:
    async with mail_world() as world:
        flags = [*world.engine_flags(), "--timeout", "90", "--slow-after", "0.2",
                 "--cache", str(tmp_path / "cache.sqlite3")]  # fmt: skip
        async with serving(tmp_path / "data", flags) as server:
            key = await make_key(tmp_path / "data", "k")
            async with server.client(key) as c:
                emails = [*USERS[:5], "held1@slow.test", "held2@slow.test"]
                job_id = (await c.post("/v1/jobs", json={"emails": emails})).json()["id"]
                path = f"/v1/jobs/{job_id}"
                # The live events say it as soon as it is so (or at once, if it already is).
                event = await asyncio.wait_for(
                    _event_with(c, f"{path}/events", lambda d: d["waiting"] == 2), 60
                )
                assert event["processed"] == 5 and event["eta_s"] is None
                stalled = await poll(c, path, lambda j: j["waiting"] == 2)
                assert stalled["status"] == "running" and stalled["processed"] == 5
                assert stalled["eta_s"] is None
                assert 0 < stalled["waiting_at_most_s"] <= 90.0
                listed = (await c.get("/v1/jobs")).json()["jobs"][0]
                assert listed["id"] == job_id and listed["waiting"] == 2
                world.slow.release.set()
                done = await poll(c, path, lambda j: j["status"] == "completed")
                assert (done["eta_s"], done["waiting"], done["waiting_at_most_s"]) == (0.0, 0, None)
                assert done["counts"]["unknown"] == 0  # released, not timed out
