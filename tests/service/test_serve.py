"""`mailprobe serve` as a real process on loopback: keys, the native single check, timeouts."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from tests.service.world import Server, World, make_key, rcpts


def _keys(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine", "keys", *args],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_keys_create_prints_the_key_alone_and_stores_only_its_hash(tmp_path: Path) -> None:
    made = _keys("create", "--name", "ci", "--data-dir", str(tmp_path))
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert made.stdout == key + "\n" and key.startswith("mp_") and len(key) > 40
    assert key.encode() not in (tmp_path / "service.sqlite3").read_bytes()
    again = _keys("create", "--name", "ci", "--data-dir", str(tmp_path))
    assert again.returncode == 2 and "exists already" in again.stderr
    listed = _keys("list", "--data-dir", str(tmp_path))
    assert listed.stdout.startswith("ci\tactive")
    assert _keys("revoke", "ci", "--data-dir", str(tmp_path)).returncode == 0
    assert "revoked" in _keys("list", "--data-dir", str(tmp_path)).stdout
    assert _keys("revoke", "nobody", "--data-dir", str(tmp_path)).returncode == 2


async def test_every_route_but_healthz_needs_a_valid_key(server: Server, tmp_path: Path) -> None:
    key = await make_key(tmp_path / "data", "alice")
    async with server.client() as anonymous:
        assert (await anonymous.get("/healthz")).json() == {"status": "ok"}
        for path in ("/version", "/metrics", "/openapi.json", "/docs", "/v1/jobs",
                     "/v1/verify?email=user1@shop.test"):  # fmt: skip
            reply = await anonymous.get(path)
            assert reply.status_code == 401, path
            assert reply.json()["error"]["code"] == "missing_key"
        wrong = await anonymous.get("/version", headers={"X-API-Key": "mp_wrong"})
        assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_key"
        ok = await anonymous.get("/version", headers={"X-API-Key": key})
        assert ok.status_code == 200 and ok.json()["name"] == "mailprobe"
        assert "RateLimit-Limit" in ok.headers
        assert (await anonymous.get(f"/openapi.json?api_key={key}")).json()["paths"]
    assert _keys("revoke", "alice", "--data-dir", str(tmp_path / "data")).returncode == 0
    async with server.client(key) as client:
        for _ in range(100):  # the server remembers a key for about a second
            if (await client.get("/version")).status_code == 401:
                break
            await asyncio.sleep(0.05)
        assert (await client.get("/version")).status_code == 401


async def test_native_verify_answers_from_the_mail_world(
    server: Server, world: World, tmp_path: Path
) -> None:
    key = await make_key(tmp_path / "data", "k")
    async with server.client(key) as client:
        good = await client.get("/v1/verify", params={"email": "user7@shop.test"})
        assert good.status_code == 200
        body = good.json()
        assert (body["state"], body["reason"]) == ("deliverable", "Success")
        assert body["complete"] is True and body["cached"] is False
        assert body["mx_record"] == "mx.shop.test"
        bad = await client.post("/v1/verify", json={"email": "ghost@shop.test", "timeout": 20})
        assert (bad.json()["state"], bad.json()["reason"]) == (
            "undeliverable",
            "MailboxDoesNotExist",
        )
        # Asked again: answered from the earlier check, not probed again.
        before = sum(rcpts(world.mx).values())
        again = await client.get("/v1/verify", params={"email": "user7@shop.test"})
        assert again.json()["state"] == "deliverable" and again.json()["cached"] is True
        assert sum(rcpts(world.mx).values()) == before
        syntax = await client.get("/v1/verify", params={"email": "not an address"})
        assert syntax.json()["reason"] in ("InvalidSyntax", "AtSignNotFound")


async def test_slow_check_answers_what_is_known_then_finishes_without_a_second_probe(
    server: Server, world: World, tmp_path: Path
) -> None:
    key = await make_key(tmp_path / "data", "k")
    async with server.client(key) as client:
        first = await client.get("/v1/verify", params={"email": "Jo@slow.test", "timeout": "0.5"})
        assert first.status_code == 200
        body = first.json()
        assert body["complete"] is False
        assert (body["state"], body["reason"]) == ("unknown", "Timeout")
        assert body["email"] == "Jo@slow.test" and body["domain"] == "slow.test"
        assert int(first.headers["Retry-After"]) >= 1
        world.slow.release.set()
        second = await client.post("/v1/verify", json={"email": "Jo@slow.test", "timeout": 30})
        body = second.json()
        assert body["complete"] is True and body["cached"] is True
        assert body["state"] in ("deliverable", "risky")
    assert list(rcpts(world.slow).elements()).count("jo@slow.test") == 1
