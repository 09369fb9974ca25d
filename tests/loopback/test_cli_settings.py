"""A real run against a loopback world, set up by a config file: a warning that several parts of
the engine log is shown once a run, and -q hides it."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from engine.localworld.dns import LocalDnsServer
from engine.localworld.smtp import MailboxServer
from tests.loopback.ports import free_port

DNS_HOST = "127.0.7.53"
MX_IPS = ("127.0.7.1", "127.0.7.2")
PORT = free_port(MX_IPS)
DOMAINS = ("one.test", "two.test")
USERS = [f"user{i}@{d}" for d in DOMAINS for i in range(6)]
HELO_WARNING = "does not look like a public host name"


@pytest.fixture
async def world() -> AsyncIterator[tuple[LocalDnsServer, list[MailboxServer]]]:
    zone: dict[str, dict[str, object]] = {}
    for domain, ip in zip(DOMAINS, MX_IPS, strict=True):
        zone[domain] = {"MX": [(10, f"mx.{domain}")]}
        zone[f"mx.{domain}"] = {"A": [ip]}
    servers = [
        MailboxServer(ip, PORT, users=USERS, domains=[domain])
        for domain, ip in zip(DOMAINS, MX_IPS, strict=True)
    ]
    async with LocalDnsServer(zone, host=DNS_HOST) as dns:
        for server in servers:
            await server.start()
        try:
            yield dns, servers
        finally:
            for server in servers:
                await server.stop()
    assert all(server.stats.count("DATA") == 0 for server in servers)


async def _mailprobe(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "engine", *args,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def _config_file(tmp_path: Path, dns: LocalDnsServer) -> Path:
    # "localhost" is a HELO name receiving servers distrust: the transport warns about it, and
    # so does the bulk checker when it makes the sender (verify@localhost) from it.
    file = tmp_path / "mailprobe.toml"
    file.write_text(
        f'nameservers = ["{DNS_HOST}"]\n'
        f"dns_port = {dns.port}\n"
        f"smtp_port = {PORT}\n"
        'helo_name = "localhost"\n'
        "allow_private_addresses = true\n"
        'cache_path = ""\n'
        "[politeness]\n"
        "sessions_per_host = 1\n"
        "connections_per_minute_per_host = 0\n",
        encoding="utf-8",
    )
    return file


async def test_a_repeated_warning_is_shown_once_a_run_and_q_hides_it(
    world: tuple[LocalDnsServer, list[MailboxServer]], tmp_path: Path
) -> None:
    dns, servers = world
    env = {"MAILPROBE_CONFIG": str(_config_file(tmp_path, dns)), "PATH": ""}
    addresses = [*USERS, "ghost@one.test"]
    code, out, err = await _mailprobe("verify", "--format", "jsonl", *addresses, env=env)
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["input"] for r in rows] == addresses
    assert [r["reason"] for r in rows] == ["Success"] * len(USERS) + ["MailboxDoesNotExist"]
    # Both servers were asked, and both saw the distrusted name.
    for server in servers:
        assert "ehlo localhost" in (line.lower() for line in server.stats.commands)
    assert err.count(HELO_WARNING) == 1, err

    code, out, err = await _mailprobe("verify", "-q", "--format", "jsonl", *addresses, env=env)
    assert code == 0
    assert len(out.splitlines()) == len(addresses)
    assert err == ""
