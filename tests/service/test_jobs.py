"""Jobs through a real `mailprobe serve` process: JSON and CSV input, results in input order,
per-key isolation, cancel and delete, and a `kill -9` in the middle of a job."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.service.polling import STEP_S, poll
from tests.service.world import USERS, Server, World, mail_world, make_key, rcpts, serving


async def wait_done(client: httpx.AsyncClient, job_id: str, limit_s: float = 120) -> dict[str, Any]:
    finished = ("completed", "failed", "cancelled")
    path, tries = f"/v1/jobs/{job_id}", int(limit_s / STEP_S)
    return await poll(client, path, lambda job: job["status"] in finished, tries=tries)


def _items(n_good: int, n_bad: int) -> list[str]:
    items: list[str] = []
    for i in range(n_good):
        items.append(USERS[i])
        if i % 10 == 0 and i // 10 < n_bad:
            items.append(f"ghost{i // 10}@shop.test")
    return [*items, "not-an-address", "x@nowhere.test"]


async def test_json_job_settles_every_row_in_input_order(server: Server, tmp_path: Path) -> None:
    key = await make_key(tmp_path / "data", "k")
    items = _items(120, 12)
    async with server.client(key) as client:
        made = await client.post("/v1/jobs", json={"emails": items, "metadata": {"list": "a"}})
        assert made.status_code == 201, made.text
        job_id = made.json()["id"]
        assert uuid.UUID(job_id).version == 4
        assert made.json()["total"] == len(items)
        job = await wait_done(client, job_id)
        assert job["status"] == "completed" and job["processed"] == len(items)
        assert job["counts"]["deliverable"] == 120
        assert job["counts"]["undeliverable"] == 12 + 2
        assert job["reasons"]["MailboxDoesNotExist"] == 12
        assert job["metadata"] == {"list": "a"} and job["eta_s"] == 0.0

        rows = [
            json.loads(x)
            for x in (await client.get(f"/v1/jobs/{job_id}/results")).text.splitlines()
        ]
        assert [r["input"] for r in rows] == items
        assert [r["index"] for r in rows] == list(range(len(items)))
        as_json = (await client.get(f"/v1/jobs/{job_id}/results?format=json")).json()
        assert as_json == rows
        bad = (
            await client.get(f"/v1/jobs/{job_id}/results?format=json&state=undeliverable")
        ).json()
        assert [r["index"] for r in bad] == [
            r["index"] for r in rows if r["state"] == "undeliverable"
        ]
        text = (await client.get(f"/v1/jobs/{job_id}/results?format=csv")).text
        table = list(csv.DictReader(io.StringIO(text)))
        assert [r["input"] for r in table] == items and table[0]["index"] == "0"
        assert (await client.get(f"/v1/jobs/{job_id}/results?format=xml")).status_code == 400
        listed = (await client.get("/v1/jobs")).json()["jobs"]
        assert [j["id"] for j in listed] == [job_id]


async def test_csv_upload_keeps_the_input_columns(server: Server, tmp_path: Path) -> None:
    key = await make_key(tmp_path / "data", "k")
    source = "name,Email,city\nAnn,user1@shop.test,Oslo\nBob,ghost@shop.test,Rome\nCy,,Lima\n"
    async with server.client(key) as client:
        made = await client.post(
            "/v1/jobs?column=Email",
            content=source.encode(),
            headers={"Content-Type": "text/csv"},
        )
        assert made.status_code == 201, made.text
        assert made.json()["total"] == 3
        await wait_done(client, made.json()["id"])
        text = (await client.get(f"/v1/jobs/{made.json()['id']}/results?format=csv")).text
        table = list(csv.DictReader(io.StringIO(text)))
        assert [(r["name"], r["Email"], r["city"]) for r in table] == [
            ("Ann", "user1@shop.test", "Oslo"),
            ("Bob", "ghost@shop.test", "Rome"),
            ("Cy", "", "Lima"),
        ]
        assert [r["state"] for r in table] == ["deliverable", "undeliverable", "undeliverable"]
        # The same file as a multipart upload, the column found by its name.
        multi = await client.post(
            "/v1/jobs", files={"file": ("list.csv", source.encode(), "text/csv")}
        )
        assert multi.status_code == 201 and multi.json()["total"] == 3
        missing = await client.post(
            "/v1/jobs?column=mail",
            content=source.encode(),
            headers={"Content-Type": "text/csv"},
        )
        assert missing.status_code == 400
        assert "'mail' is not a column" in missing.json()["error"]["message"]
        assert "Email" in missing.json()["error"]["message"]


async def test_another_keys_job_is_not_found(server: Server, tmp_path: Path) -> None:
    alice = await make_key(tmp_path / "data", "alice")
    bob = await make_key(tmp_path / "data", "bob")
    async with server.client(alice) as a, server.client(bob) as b:
        job_id = (await a.post("/v1/jobs", json={"emails": ["user1@shop.test"]})).json()["id"]
        for method, path in (
            ("GET", f"/v1/jobs/{job_id}"),
            ("GET", f"/v1/jobs/{job_id}/results"),
            ("GET", f"/v1/jobs/{job_id}/events"),
            ("GET", f"/v1/jobs/{job_id}/deliveries"),
            ("POST", f"/v1/jobs/{job_id}/cancel"),
            ("DELETE", f"/v1/jobs/{job_id}"),
        ):
            reply = await b.request(method, path)
            assert reply.status_code == 404, (method, path)
            assert reply.json()["error"]["code"] == "job_not_found"
        assert (await b.get("/v1/jobs")).json()["jobs"] == []
        assert (await b.get("/v1/jobs/not-a-uuid")).status_code == 404
        await wait_done(a, job_id)
        assert (await a.delete(f"/v1/jobs/{job_id}")).json() == {"id": job_id, "deleted": True}
        assert (await a.get(f"/v1/jobs/{job_id}")).status_code == 404


async def test_cancel_stops_a_job_and_keeps_what_settled(
    server: Server, world: World, tmp_path: Path
) -> None:
    key = await make_key(tmp_path / "data", "k")
    async with server.client(key) as client:
        # Held addresses never settle until released, so the job is surely still running.
        emails = ["user1@shop.test", *(f"u{i}@slow.test" for i in range(5))]
        job_id = (await client.post("/v1/jobs", json={"emails": emails})).json()["id"]
        for _ in range(400):
            job = (await client.get(f"/v1/jobs/{job_id}")).json()
            if job["status"] == "running" and world.slow.stats.count("RCPT"):
                break
            await asyncio.sleep(0.05)
        cancelled = (await client.post(f"/v1/jobs/{job_id}/cancel")).json()
        assert cancelled["status"] == "cancelled"
        assert cancelled["processed"] < len(emails)
        assert (await client.get(f"/v1/jobs/{job_id}")).json()["status"] == "cancelled"


def _settled(db_path: Path, job_id: str) -> list[str]:
    db = sqlite3.connect(db_path)
    try:
        rows = db.execute(
            "SELECT input FROM rows WHERE job_id = ? AND result IS NOT NULL ORDER BY idx", (job_id,)
        ).fetchall()
        return [r[0] for r in rows]
    finally:
        db.close()


async def test_kill_9_then_restart_finishes_the_job_with_every_row_once(tmp_path: Path) -> None:
    # Rejected RCPTs are answered after a pause (as Postfix does past its soft limit), so the
    # job is still going when the server is killed.
    async with mail_world(soft_error_limit=0, error_sleep_s=0.03) as world:
        flags = [
            *world.engine_flags(), "--cache", str(tmp_path / "cache.sqlite3"),
            "--sessions-per-host", "1", "--window", "50",
        ]  # fmt: skip
        data = tmp_path / "data"
        items = _items(1500, 150)
        key = await make_key(data, "k")
        first = Server(data, flags)
        await first.start()
        try:
            async with first.client(key) as client:
                job_id = (await client.post("/v1/jobs", json={"emails": items})).json()["id"]
                for _ in range(2400):
                    job = (await client.get(f"/v1/jobs/{job_id}")).json()
                    if job["processed"] >= 300:
                        break
                    await asyncio.sleep(0.025)
            first.kill()
            assert await first.stop() == -9
        finally:
            await first.stop()
        settled_before = _settled(data / "service.sqlite3", job_id)
        assert 300 <= len(settled_before) < len(items), "the job ended before the kill"
        assert settled_before == items[: len(settled_before)]
        commands_before = len(world.mx.stats.commands)

        async with serving(data, flags) as second, second.client(key) as client:
            job = await wait_done(client, job_id, limit_s=180)
            assert job["status"] == "completed" and job["processed"] == len(items)
            rows = [
                json.loads(x)
                for x in (await client.get(f"/v1/jobs/{job_id}/results")).text.splitlines()
            ]
        assert [r["input"] for r in rows] == items
        assert [r["index"] for r in rows] == list(range(len(items)))
        for r in rows:
            if r["input"].startswith("user"):
                assert r["reason"] == "Success", r
            elif r["input"].startswith("ghost"):
                assert r["reason"] == "MailboxDoesNotExist", r
        asked_again = set(rcpts(world.mx, commands_before))
        assert not {x.lower() for x in settled_before} & asked_again
