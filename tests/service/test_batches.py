"""The vendors' batch APIs over the job machinery, against the loopback mail world: Kickbox's
`PUT /v2/verify-batch` (callback, signed download) and Reacher's `/v1/bulk`."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from tests.service.inprocess import Running
from tests.service.polling import poll
from tests.service.receiver import receiving
from tests.service.world import World
from tests.unit.service.shapes import assert_types, load

EMAILS = ["user1@shop.test", "ghost@shop.test", "user2@shop.test", "not-an-address"]
STATES = ["deliverable", "undeliverable", "deliverable", "undeliverable"]


@pytest.fixture
def svc_settings() -> dict[str, Any]:
    return {"allow_private_callbacks": True}


# -- Kickbox -----------------------------------------------------------------------------------


async def test_kickbox_batch_from_csv_to_callback_and_download(svc: Running) -> None:
    c = svc.client
    shape = load("kickbox_batch")
    secret = (await c.get("/v1/webhooks/secret", headers={"X-API-Key": svc.key})).json()["secret"]
    async with receiving() as receiver:
        made = await c.put(
            "/kickbox/v2/verify-batch",
            params={"apikey": svc.key},
            content=("\n".join(EMAILS) + "\n").encode(),
            headers={
                "Content-Type": "text/csv",
                "X-Kickbox-Callback": receiver.url,
                "X-Kickbox-Filename": "march.csv",
            },
        )
        assert made.status_code == 200, made.text
        assert set(made.json()) == set(shape["submit"])
        assert_types(made.json(), shape["submit_types"])
        number = made.json()["id"]
        path = f"/kickbox/v2/verify-batch/{number}"
        status = await poll(
            c, path, lambda b: b["status"] == "completed", params={"apikey": svc.key}
        )
        await receiver.wait_for(lambda got: len(got) >= 1)
    assert set(status) == set(shape["examples"]["completed"])
    assert_types(status, shape["types"])
    assert status["id"] == number and status["name"] == "march.csv"
    assert status["stats"] == {
        "deliverable": 2,
        "undeliverable": 2,
        "risky": 0,
        "unknown": 0,
        "sendex": status["stats"]["sendex"],
        "addresses": 4,
    }
    assert 0.0 <= status["stats"]["sendex"] <= 1.0
    # The callback: the completed status, once, with Standard Webhooks headers on top.
    (hook,) = receiver.received
    called = json.loads(hook.body)
    Webhook(secret).verify(hook.body, hook.headers)
    assert called["status"] == "completed" and called["id"] == number
    assert called["stats"] == status["stats"]
    # The download link needs no key, as Kickbox's signed link; rows in input order.
    link = httpx.URL(status["download_url"])
    assert link.host == "service.test" and "apikey" not in str(link)
    got = await c.get(link.raw_path.decode())
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(got.text)))
    assert [r["email"] for r in rows] == EMAILS
    assert [r["result"] for r in rows] == STATES
    assert rows[1]["reason"] == "rejected_email" and rows[0]["role"] == "false"
    forged = str(link).replace(link.params["signature"][:4], "0000")
    assert (await c.get(httpx.URL(forged).raw_path.decode())).status_code == 403
    bare = await c.get(f"{path}/download")
    assert bare.status_code == 403 and bare.json()["success"] is False


async def test_kickbox_batch_keeps_a_csv_s_columns_and_is_private_to_its_key(
    svc: Running,
) -> None:
    c = svc.client
    source = "name,email\nAnn,user1@shop.test\nBob,ghost@shop.test\n"
    made = await c.put(
        "/kickbox/v2/verify-batch",
        content=source.encode(),
        headers={"Content-Type": "text/csv", "Authorization": f"Bearer {svc.key}"},
    )
    number = made.json()["id"]
    path = f"/kickbox/v2/verify-batch/{number}"
    status = await poll(c, path, lambda b: b["status"] == "completed", params={"apikey": svc.key})
    assert status["name"].startswith("Batch API Process - ")
    text = (await c.get(httpx.URL(status["download_url"]).raw_path.decode())).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["name"], r["kickbox_email"], r["result"]) for r in rows] == [
        ("Ann", "user1@shop.test", "deliverable"),
        ("Bob", "ghost@shop.test", "undeliverable"),
    ]
    other = svc.new_key("other")
    hidden = await c.get(path, params={"apikey": other})
    assert hidden.status_code == 404 and hidden.json() == {
        "success": False,
        "message": f"no batch {number} for this key",
    }
    # The same number means nothing on another face: Reacher's jobs are Reacher's.
    assert (
        await c.get(f"/reacher/v1/bulk/{number}", headers={"x-reacher-secret": svc.key})
    ).status_code == 404


async def test_kickbox_batch_refusals_in_kickbox_s_shape(svc: Running) -> None:
    c = svc.client
    as_json = await c.put(
        "/kickbox/v2/verify-batch", params={"apikey": svc.key}, json={"emails": EMAILS}
    )
    assert as_json.status_code == 415 and as_json.json()["success"] is False
    empty = await c.put(
        "/kickbox/v2/verify-batch",
        params={"apikey": svc.key},
        content=b"",
        headers={"Content-Type": "text/csv"},
    )
    assert empty.status_code == 400 and empty.json()["success"] is False
    no_key = await c.put("/kickbox/v2/verify-batch", content=b"a@b.test\n")
    assert no_key.status_code == 401
    private = await c.put(
        "/kickbox/v2/verify-batch",
        params={"apikey": svc.key},
        content=b"a@b.test\n",
        headers={"Content-Type": "text/csv", "X-Kickbox-Callback": "ftp://example.com/x"},
    )
    assert private.status_code == 400 and "callback" in private.json()["message"]
    for bad in ("abc", "99999999999999999999999", "-1"):
        reply = await c.get(f"/kickbox/v2/verify-batch/{bad}", params={"apikey": svc.key})
        assert reply.status_code == 404, bad


# -- Reacher -----------------------------------------------------------------------------------


async def test_reacher_bulk_progress_then_results_in_json_pages_and_csv(
    svc: Running, world: World
) -> None:
    c = svc.client
    shape = load("reacher_bulk")
    headers = {"x-reacher-secret": svc.key}
    emails = [*EMAILS, "held@slow.test"]
    made = await c.post("/reacher/v1/bulk", json={"input": emails}, headers=headers)
    assert made.status_code == 200 and set(made.json()) == set(shape["submit"])
    assert_types(made.json(), shape["submit_types"])
    number = made.json()["job_id"]
    path = f"/reacher/v1/bulk/{number}"
    # The held address keeps the job running: results are refused as Reacher refuses them.
    running_now = await poll(c, path, lambda b: b["total_processed"] == 4, headers=headers)
    assert running_now["job_status"] == "Running" and running_now["finished_at"] is None
    assert set(running_now) == set(shape["examples"]["running"])
    assert_types(running_now, shape["types"])
    early = await c.get(f"{path}/results", headers=headers)
    assert early.status_code == 400
    assert early.json() == {"error": shape["still_running"].format(job_id=number)}
    world.slow.release.set()
    done = await poll(c, path, lambda b: b["job_status"] == "Completed", headers=headers)
    assert done["total_processed"] == done["total_records"] == 5
    assert done["summary"] == {
        "total_safe": 2,
        "total_risky": 1,  # the held server accepts a random address too: a catch-all
        "total_invalid": 2,
        "total_unknown": 0,
    }
    assert_types(done, shape["types"])

    page = (await c.get(f"{path}/results", headers=headers)).json()
    assert list(page) == shape["results_keys"]
    assert [r["input"] for r in page["results"]] == emails
    assert [r["is_reachable"] for r in page["results"]] == [
        "safe", "invalid", "safe", "invalid", "risky",
    ]  # fmt: skip
    second = await c.get(f"{path}/results", params={"limit": 2, "offset": 2}, headers=headers)
    assert [r["input"] for r in second.json()["results"]] == emails[2:4]
    as_csv = await c.get(f"{path}/results", params={"format": "csv"}, headers=headers)
    table = list(csv.reader(io.StringIO(as_csv.text)))
    assert table[0] == shape["csv_columns"]
    assert [row[0] for row in table[1:]] == emails
    assert (await c.get(f"/reacher/v0/bulk/{number}", headers=headers)).json() == done


async def test_reacher_bulk_refusals_and_its_secret_on_every_route(svc: Running) -> None:
    c = svc.client
    headers = {"x-reacher-secret": svc.key}
    empty = await c.post("/reacher/v1/bulk", json={"input": []}, headers=headers)
    assert empty.status_code == 400 and empty.json() == {"error": "Empty input"}
    hooked = await c.post(
        "/reacher/v1/bulk",
        json={"input": ["a@b.test"], "webhook": {"on_each_email": {"url": "https://x.test"}}},
        headers=headers,
    )
    assert hooked.status_code == 400 and "webhook" in hooked.json()["error"]
    number = (
        await c.post("/reacher/v0/bulk", json={"input": ["user1@shop.test"]}, headers=headers)
    ).json()["job_id"]
    for path in (f"/reacher/v1/bulk/{number}", f"/reacher/v1/bulk/{number}/results"):
        anonymous = await c.get(path)
        assert anonymous.status_code == 400
        assert anonymous.text == 'Missing request header "x-reacher-secret"'
        other = await c.get(path, headers={"x-reacher-secret": svc.new_key(f"o{len(path)}")})
        assert other.status_code == 404 and "error" in other.json()
    bad = await c.get(f"/reacher/v1/bulk/{number}/results", params={"limit": "x"}, headers=headers)
    assert bad.status_code in (400, 404)
