"""The loopback mail server's per-client connection rate: what the scale-out tests and benchmark
count on (Postfix's smtpd_client_connection_rate_limit, in miniature)."""

from __future__ import annotations

import asyncio

from engine.localworld.smtp import MailboxServer

HOST = "127.0.9.1"


async def _greeting(port: int, source: str) -> str:
    reader, writer = await asyncio.open_connection(HOST, port, local_addr=(source, 0))
    try:
        return (await asyncio.wait_for(reader.readline(), 5)).decode()
    finally:
        writer.close()
        await writer.wait_closed()


async def test_each_client_address_gets_its_own_connections_a_minute() -> None:
    async with MailboxServer(HOST, 0, users=["a@x.test"], connections_per_minute=3) as server:
        first = [await _greeting(server.port, "127.0.9.11") for _ in range(4)]
        other = await _greeting(server.port, "127.0.9.12")
    assert [line[:3] for line in first] == ["220", "220", "220", "421"]
    assert "Too many connections" in first[3] and "127.0.9.11" in first[3]
    assert other.startswith("220")  # another client address has an allowance of its own
    assert server.stats.rate_refused == 1
    assert server.stats.peers.count("127.0.9.11") == 4


async def test_without_a_rate_every_connection_is_greeted() -> None:
    async with MailboxServer(HOST, 0, users=["a@x.test"]) as server:
        lines = [await _greeting(server.port, "127.0.9.11") for _ in range(6)]
    assert all(line.startswith("220") for line in lines)
    assert server.stats.rate_refused == 0
