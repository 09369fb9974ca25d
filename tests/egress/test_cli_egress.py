"""`mailprobe verify` with --egress and --route (and the proxy's password in the environment)
against a loopback DNS server and mail servers that record each session's client address."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from engine.localworld.dns import LocalDnsServer
from engine.localworld.smtp import MailboxServer
from tests.egress.conftest import MICRO_PASSWORD, MICRO_USER, MICROSOCKS_HOST, Proxies
from tests.loopback.ports import free_port

DNS_HOST = "127.0.0.44"
A_IP, B_IP = "127.0.0.45", "127.0.0.46"
PORT = free_port([A_IP, B_IP])


@pytest.fixture
async def world() -> AsyncIterator[tuple[LocalDnsServer, MailboxServer, MailboxServer]]:
    zone = {
        "a.test": {"MX": [(10, "mx.a.test")]},
        "mx.a.test": {"A": [A_IP]},
        "b.test": {"MX": [(10, "mx.b.test")]},
        "mx.b.test": {"A": [B_IP]},
    }
    a = MailboxServer(A_IP, PORT, users=[f"u{i}@a.test" for i in range(5)])
    b = MailboxServer(B_IP, PORT, users=[f"u{i}@b.test" for i in range(5)])
    async with LocalDnsServer(zone, host=DNS_HOST) as dns, a, b:
        yield dns, a, b


async def test_verify_routes_hosts_to_egresses_from_flags_and_env(
    proxies: Proxies,
    world: tuple[LocalDnsServer, MailboxServer, MailboxServer],
    tmp_path: Path,
) -> None:
    dns, a, b = world
    out = tmp_path / "out.jsonl"
    src = tmp_path / "in.txt"
    addresses = [f"u{i}@a.test" for i in range(3)] + [f"u{i}@b.test" for i in range(3)]
    src.write_text("\n".join(addresses) + "\n")
    env = dict(os.environ)
    micro = proxies.micro.url(MICRO_USER, MICRO_PASSWORD)
    # The egresses (and the password) come from the environment, the routes from flags.
    env["MAILPROBE_EGRESSES"] = (
        f"m,proxy={micro},helo=m.verifier.test\nd,proxy={proxies.dante.url()}\n"
    )
    args = [
        sys.executable, "-m", "engine", "verify", "-q", "--no-cache",
        "--nameserver", DNS_HOST, "--dns-port", str(dns.port),
        "--smtp-port", str(PORT), "--allow-private",
        "--helo", "probe.verifier.test", "--mail-from", "verify@verifier.test",
        "--route", "mx.a.test=m", "--route", "*=d",
        "-i", str(src), "-o", str(out), "--format", "jsonl",
    ]  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        *args, stdin=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env=env
    )
    _, err = await asyncio.wait_for(proc.communicate(), 120)

    assert proc.returncode == 0, err.decode()
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["input"] for r in rows] == addresses
    assert {r["reason"] for r in rows} == {"Success"}
    assert set(a.stats.peers) == {MICROSOCKS_HOST}
    assert set(b.stats.peers) == {proxies.dante.host}
    assert "EHLO m.verifier.test" in a.stats.commands
    assert "EHLO probe.verifier.test" in b.stats.commands
    assert MICRO_PASSWORD not in out.read_text() + err.decode()
