"""The vendor faces' routes: where each takes its key, its status-code habits, its batches.

The response bodies are the faces' mappers' (tested field by field with them); here the routes
are checked against the loopback mail world.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from tests.service.inprocess import Running, running
from tests.service.world import World


async def test_kickbox_takes_apikey_and_answers_timeout_as_unknown(
    svc: Running, world: World
) -> None:
    c = svc.client
    missing = await c.get("/kickbox/v2/verify", params={"email": "user1@shop.test"})
    assert missing.status_code == 401 and missing.json()["success"] is False
    wrong = await c.get("/kickbox/v2/verify", params={"email": "a@shop.test", "apikey": "x"})
    assert wrong.status_code == 403 and wrong.json()["success"] is False
    good = await c.get("/kickbox/v2/verify", params={"email": "user1@shop.test", "apikey": svc.key})
    assert good.status_code == 200
    assert (good.json()["result"], good.json()["success"]) == ("deliverable", True)
    assert int(good.headers["X-Kickbox-Response-Time"]) >= 0
    bearer = await c.get(
        "/kickbox/v2/verify",
        params={"email": "ghost@shop.test"},
        headers={"Authorization": f"Bearer {svc.key}"},
    )
    assert bearer.json()["result"] == "undeliverable"
    slow = await c.get(
        "/kickbox/v2/verify", params={"email": "a@slow.test", "timeout": "300", "apikey": svc.key}
    )
    assert slow.status_code == 200
    assert (slow.json()["result"], slow.json()["reason"]) == ("unknown", "timeout")


async def test_emailable_answers_249_while_slow_then_the_result(svc: Running, world: World) -> None:
    c = svc.client
    params = {"email": "b@slow.test", "timeout": "2", "api_key": svc.key}
    slow = await c.get("/emailable/v1/verify", params=params)
    assert slow.status_code == 249 and "longer than normal" in slow.json()["message"]
    world.slow.release.set()
    again = await c.get("/emailable/v1/verify", params=params)
    assert again.status_code == 200 and again.json()["state"] in ("deliverable", "risky")
    assert world.slow.stats.count("RCPT") <= 2  # the address once, and its catch-all probe
    bad_timeout = await c.get("/emailable/v1/verify", params={**params, "timeout": "60"})
    assert bad_timeout.status_code == 400 and "2 to 10" in bad_timeout.json()["message"]
    no_key = await c.get("/emailable/v1/verify", params={"email": "a@shop.test"})
    assert no_key.status_code == 401 and "message" in no_key.json()
    posted = await c.post(
        "/emailable/v1/verify",
        data={"email": "user2@shop.test"},
        headers={"Authorization": f"Bearer {svc.key}"},
    )
    assert posted.status_code == 200 and posted.json()["state"] == "deliverable"


async def test_emailable_batch_with_partial_and_complete_shapes(svc: Running) -> None:
    c = svc.client
    emails = ["user1@shop.test", "ghost@shop.test", "user3@shop.test"]
    made = await c.post("/emailable/v1/batch", json={"emails": emails, "api_key": svc.key})
    assert made.status_code == 200
    batch_id = made.json()["id"]
    assert len(batch_id) == 32 and uuid.UUID(batch_id)
    body = {}
    for _ in range(400):
        body = (
            await c.get("/emailable/v1/batch", params={"id": batch_id, "api_key": svc.key})
        ).json()
        if body.get("status") == "complete":
            break
        assert body["status"] == "verifying" or "emails" in body
        await asyncio.sleep(0.05)
    assert body["status"] == "complete"
    assert [e["email"] for e in body["emails"]] == emails
    assert body["total_counts"]["total"] == 3 and body["total_counts"]["processed"] == 3
    assert sum(body["reason_counts"].values()) == 3
    partial = await c.get(
        "/emailable/v1/batch", params={"id": batch_id, "partial": "true", "api_key": svc.key}
    )
    assert partial.json()["status"] == "complete"
    other = svc.new_key("other")
    hidden = await c.get("/emailable/v1/batch", params={"id": batch_id, "api_key": other})
    assert hidden.status_code == 404


async def test_byteplant_key_param_and_correct(svc: Running) -> None:
    c = svc.client
    r = await c.get("/byteplant/api/verify", params={"email": "user1@shop.test", "key": svc.key})
    assert r.status_code == 200 and r.json()["status"] == "Ok"
    typo = await c.get(
        "/byteplant/api/verify",
        params={"email": " user1@shop.test", "key": svc.key, "correct": "1"},
    )
    assert typo.json()["emailAddressProvided"] == " user1@shop.test"
    no_key = await c.get("/byteplant/api/verify", params={"email": "a@b.test"})
    assert no_key.status_code == 401 and no_key.json()["status"] == "Unknown"
    assert (await c.get("/byteplant/api/verify", params={"key": svc.key})).status_code == 400


async def test_mailvalid_header_key_verify_and_bulk(svc: Running) -> None:
    c = svc.client
    headers = {"X-API-Key": svc.key}
    r = await c.post("/mailvalid/api/v1/verify", json={"email": "ghost@shop.test"}, headers=headers)
    assert r.status_code == 200 and r.json()["status"] == "invalid"
    assert r.json()["checks"]["mx_found"] is True
    missing = await c.post("/mailvalid/api/v1/verify", json={}, headers=headers)
    assert missing.status_code == 400 and "email" in missing.json()["message"]
    made = await c.post(
        "/mailvalid/api/v1/bulk/verify",
        json={"emails": ["user1@shop.test", "ghost@shop.test"]},
        headers=headers,
    )
    assert made.status_code == 202 and made.json()["total"] == 2
    job_id = made.json()["job_id"]
    view = {}
    for _ in range(400):
        view = (await c.get(f"/mailvalid/api/v1/bulk/{job_id}", headers=headers)).json()
        if view["status"] == "completed":
            break
        await asyncio.sleep(0.05)
    assert [x["status"] for x in view["results"]] == ["valid", "invalid"]


async def test_reacher_secret_header_and_its_400_habits(svc: Running) -> None:
    c = svc.client
    none = await c.post("/reacher/v0/check_email", json={"to_email": "user1@shop.test"})
    assert none.status_code == 400 and none.text == 'Missing request header "x-reacher-secret"'
    wrong = await c.post(
        "/reacher/v1/check_email",
        json={"to_email": "user1@shop.test"},
        headers={"x-reacher-secret": "nope"},
    )
    assert wrong.status_code == 400 and wrong.text == 'Invalid request header "x-reacher-secret"'
    headers = {"x-reacher-secret": svc.key}
    empty = await c.post("/reacher/v0/check_email", json={}, headers=headers)
    assert empty.status_code == 400 and empty.json() == {"error": "to_email field is required."}
    good = await c.post(
        "/reacher/v0/check_email",
        json={"to_email": "user1@shop.test", "smtp_timeout": {"secs": 20, "nanos": 0}},
        headers=headers,
    )
    assert good.status_code == 200 and good.json()["is_reachable"] == "safe"
    assert good.json()["input"] == "user1@shop.test"


async def test_mailvalid_webhook_is_signed_with_hmac_hex_and_emailable_posts_its_url(
    world: World, tmp_path: Path
) -> None:
    import hashlib
    import hmac
    import json

    from tests.service.receiver import receiving

    async with (
        receiving() as receiver,
        running(world, tmp_path, allow_private_callbacks=True, webhook_backoff_s=(0.05,)) as svc,
    ):
        c = svc.client
        made = await c.post(
            "/mailvalid/api/v1/bulk/verify",
            json={
                "emails": ["user1@shop.test", "ghost@shop.test"],
                "webhook_url": receiver.url,
                "webhook_secret": "s3cret",
            },
            headers={"X-API-Key": svc.key},
        )
        assert made.status_code == 202
        batch = await c.post(
            "/emailable/v1/batch",
            json={"emails": ["user2@shop.test"], "url": receiver.url},
            headers={"Authorization": f"Bearer {svc.key}"},
        )
        assert batch.status_code == 200
        await receiver.wait_for(lambda got: len(got) >= 2)
    by_kind = {("mailvalid" if "x-webhook-signature" in r.headers else "emailable"): r
               for r in receiver.received}  # fmt: skip
    mv = by_kind["mailvalid"]
    expected = hmac.new(b"s3cret", mv.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(mv.headers["x-webhook-signature"], expected)
    body = json.loads(mv.body)
    assert body["event"] == "bulk.completed"
    assert [x["status"] for x in body["data"]["results"]] == ["valid", "invalid"]
    em = json.loads(by_kind["emailable"].body)
    assert em["status"] == "complete" and em["id"] == batch.json()["id"]
    assert [e["email"] for e in em["emails"]] == ["user2@shop.test"]
