"""Webhooks from a real `mailprobe serve`: Standard Webhooks signatures checked by a real
receiver, retries with back-off, the deliveries log, and the SSRF guard on callback URLs."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from tests.service.inprocess import running
from tests.service.receiver import Received, receiving
from tests.service.world import Server, World, make_key, rcpts


@pytest.fixture
def server_flags(server_flags: list[str]) -> list[str]:
    return [*server_flags, "--allow-private-callbacks", "--webhook-backoff", "0.05,0.1,0.1,0.1"]


def _event(r: Received) -> str:
    return str(json.loads(r.body)["type"])


async def test_signed_events_retried_until_delivered_and_logged(
    server: Server, world: World, tmp_path: Path
) -> None:
    def answer(r: Received, n: int) -> int:
        # The completion event fails twice before the receiver takes it.
        return 503 if _event(r) == "job.completed" and n < 2 else 204

    emails = ["user1@shop.test", "ghost@shop.test", "user2@shop.test"]
    async with receiving(answer=answer) as receiver:
        key = await make_key(tmp_path / "data", "k")
        async with server.client(key) as client:
            secret = (await client.get("/v1/webhooks/secret")).json()["secret"]
            made = await client.post(
                "/v1/jobs",
                json={"emails": emails, "callback_url": receiver.url, "metadata": {"n": 1}},
            )
            job_id = made.json()["id"]
            await receiver.wait_for(lambda got: sum(_event(r) == "job.completed" for r in got) >= 3)
            log = {"deliveries": []}
            for _ in range(200):
                log = (await client.get(f"/v1/jobs/{job_id}/deliveries")).json()
                if all(d["state"] == "delivered" for d in log["deliveries"]):
                    break
                await asyncio.sleep(0.05)
    hook = Webhook(secret)
    events = []
    for r in receiver.received:
        payload = hook.verify(r.body, r.headers)  # raises unless the signature is right
        assert payload["data"]["id"] == job_id
        events.append(payload["type"])
    assert events[0] == "job.started"
    assert events.count("job.completed") == 3
    ids = {r.headers["webhook-id"] for r in receiver.received if _event(r) == "job.completed"}
    assert len(ids) == 1  # retries carry the same id, so the receiver can de-duplicate
    done = [json.loads(r.body) for r in receiver.received if _event(r) == "job.completed"][-1]
    assert done["data"]["status"] == "completed" and done["data"]["processed"] == 3
    assert done["data"]["metadata"] == {"n": 1}
    completed = [d for d in log["deliveries"] if d["event"] == "job.completed"]
    assert [a["status_code"] for a in completed[0]["attempts"]] == [503, 503, 204]
    assert completed[0]["state"] == "delivered"
    # Retrying a delivery never verifies an address again.
    assert all(rcpts(world.mx)[e] == 1 for e in emails)


async def test_a_delivery_gives_up_after_five_attempts(server: Server, tmp_path: Path) -> None:
    async with receiving(answer=lambda r, n: 500) as receiver:
        key = await make_key(tmp_path / "data", "k")
        async with server.client(key) as client:
            made = await client.post(
                "/v1/jobs", json={"emails": ["user1@shop.test"], "callback_url": receiver.url}
            )
            job_id = made.json()["id"]
            failed: list[dict[str, object]] = []
            for _ in range(400):
                log = (await client.get(f"/v1/jobs/{job_id}/deliveries")).json()["deliveries"]
                failed = [d for d in log if d["state"] == "failed"]
                if len(failed) == 2:
                    break
                await asyncio.sleep(0.05)
    assert {d["event"] for d in failed} == {"job.started", "job.completed"}
    assert all(len(d["attempts"]) == 5 for d in failed)  # type: ignore[arg-type]
    assert len(receiver.received) == 10


async def test_callback_urls_to_private_addresses_are_refused_by_default(tmp_path: Path) -> None:
    async with running(None, tmp_path) as svc:
        for url in (
            "http://127.0.0.1:9/hook",
            "http://[::1]/hook",
            "http://10.1.2.3/x",
            "http://169.254.169.254/latest/meta-data",
            "ftp://example.com/x",
            "not a url",
        ):
            reply = await svc.client.post(
                "/v1/jobs",
                json={"emails": ["a@b.test"], "callback_url": url},
                headers={"X-API-Key": svc.key},
            )
            assert reply.status_code == 400, url
            assert reply.json()["error"]["code"] == "bad_callback_url"
        listed = await svc.client.get("/v1/jobs", headers={"X-API-Key": svc.key})
        assert listed.json()["jobs"] == []
