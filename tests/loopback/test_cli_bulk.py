"""The CLI's online runs against a loopback world: order, caching, and resume after kill -9."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from engine.localworld.dns import LocalDnsServer
from engine.localworld.smtp import MailboxServer
from tests.loopback.ports import free_port

DNS_HOST = "127.0.5.53"
MX_IP = "127.0.5.1"
PORT = free_port([MX_IP])
GOOD = [f"user{i}@resume.test" for i in range(600)]
BAD = [f"ghost{i}@resume.test" for i in range(60)]


def _items() -> list[str]:
    items = []
    for i, good in enumerate(GOOD):
        items.append(good)
        if i % 10 == 0 and i // 10 < len(BAD):
            items.append(BAD[i // 10])
    return [*items, "not-an-address", "x@nxdomain.test"]


@pytest.fixture
async def world() -> AsyncIterator[tuple[LocalDnsServer, MailboxServer]]:
    zone = {
        "resume.test": {"MX": [(10, "mx.resume.test")]},
        "mx.resume.test": {"A": [MX_IP]},
    }
    # Rejected RCPTs are answered after a short pause (as Postfix does past its soft limit), so
    # the first run is still going when the test kills it.
    server = MailboxServer(
        MX_IP, PORT, users=GOOD, domains=["resume.test"], pipelining=True,
        soft_error_limit=0, error_sleep_s=0.03,
    )  # fmt: skip
    async with LocalDnsServer(zone, host=DNS_HOST) as dns:
        await server.start()
        try:
            yield dns, server
        finally:
            await server.stop()
    assert server.stats.count("DATA") == 0


def _args(dns: LocalDnsServer, src: Path, out: Path, cache: Path) -> list[str]:
    return [
        sys.executable, "-m", "engine", "verify", "-q",
        "--nameserver", DNS_HOST, "--dns-port", str(dns.port),
        "--smtp-port", str(PORT), "--allow-private",
        "--helo", "probe.mailprobe.test", "--mail-from", "verify@mailprobe.test",
        "--sessions-per-host", "1", "--window", "50",
        "--cache", str(cache), "-i", str(src), "-o", str(out), "--format", "jsonl",
    ]  # fmt: skip


async def _run(args: list[str], *, kill_after_rows: int | None = None, out: Path) -> int:
    proc = await asyncio.create_subprocess_exec(*args, stdin=asyncio.subprocess.DEVNULL)
    if kill_after_rows is not None:
        for _ in range(6000):  # up to 60 s
            if out.exists() and out.read_bytes().count(b"\n") >= kill_after_rows:
                proc.send_signal(signal.SIGKILL)
                break
            if proc.returncode is not None:
                break
            await asyncio.sleep(0.01)
    return await asyncio.wait_for(proc.wait(), 120)


def _rcpts(server: MailboxServer, start: int = 0) -> Counter[str]:
    lines = server.stats.commands[start:]
    return Counter(
        line.split("<", 1)[1].split(">", 1)[0].lower()
        for line in lines
        if line.upper().startswith("RCPT")
    )


async def test_killed_run_resumes_with_every_row_once_in_order(
    world: tuple[LocalDnsServer, MailboxServer], tmp_path: Path
) -> None:
    dns, server = world
    items = _items()
    src = tmp_path / "in.txt"
    src.write_text("\n".join(items) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    args = _args(dns, src, out, tmp_path / "cache.sqlite3")

    code = await _run(args, kill_after_rows=100, out=out)
    assert code == -signal.SIGKILL, "the first run finished before it could be killed"
    first_run_commands = len(server.stats.commands)
    written_before = [
        json.loads(x)["input"]
        for x in out.read_text().splitlines()
        if x.strip() and x.endswith("}")
    ]

    assert await _run([*args, "--resume"], out=out) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["input"] for r in rows] == items  # every row once, in input order
    for r in rows:
        if r["input"] in GOOD:
            assert r["reason"] == "Success", r
        elif r["input"] in BAD:
            assert r["reason"] == "MailboxDoesNotExist", r
    # Nothing settled in the first run is asked again: the rows it wrote were not probed again.
    again = _rcpts(server, first_run_commands)
    settled_first = {x.lower() for x in written_before}
    assert not settled_first & set(again)
    # At most the addresses that were in flight at the kill are asked twice.
    twice = [a for a, n in (_rcpts(server) + Counter()).items() if n > 1 and "@" in a]
    assert len([a for a in twice if a in {x.lower() for x in items}]) <= 60
    assert not os.path.exists(str(out) + ".tmp")


async def test_finished_run_with_resume_writes_nothing_more(
    world: tuple[LocalDnsServer, MailboxServer], tmp_path: Path
) -> None:
    dns, server = world
    items = GOOD[:40] + BAD[:10]
    src = tmp_path / "in.txt"
    src.write_text("\n".join(items) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    args = _args(dns, src, out, tmp_path / "cache.sqlite3")
    assert await _run(args, out=out) == 0
    before = out.read_bytes()
    rcpts = sum(_rcpts(server).values())
    assert await _run([*args, "--resume"], out=out) == 0
    assert out.read_bytes() == before
    assert sum(_rcpts(server).values()) == rcpts
