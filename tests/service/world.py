"""A loopback mail world for the service's tests, and `mailprobe serve` as a real process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from engine.localworld.dns import LocalDnsServer
from engine.localworld.smtp import LoopbackServer, MailboxServer, RawServer
from tests.loopback.ports import free_port

DNS_HOST = "127.0.6.53"
MX_IP = "127.0.6.1"
SLOW_IP = "127.0.6.2"
SMTP_PORT = free_port([MX_IP, SLOW_IP])
USERS = [f"user{i}@shop.test" for i in range(2000)]
ZONE = {
    "shop.test": {"MX": [(10, "mx.shop.test")]},
    "mx.shop.test": {"A": [MX_IP]},
    "slow.test": {"MX": [(10, "mx.slow.test")]},
    "mx.slow.test": {"A": [SLOW_IP]},
}


class HeldServer(RawServer):
    """Accepts every recipient, but answers RCPT only once `release` is set."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(host, port)
        self.release = asyncio.Event()

    async def _talk(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._send(writer, "220 mx.slow.test ESMTP")
        while (line := await self._read(reader)) is not None:
            verb = line.partition(" ")[0].upper()
            if verb in ("EHLO", "HELO"):
                await self._send(writer, "250 mx.slow.test")
            elif verb == "RCPT":
                await self.release.wait()
                await self._send(writer, "250 2.1.5 Ok")
            elif verb in ("MAIL", "RSET", "NOOP"):
                await self._send(writer, "250 2.0.0 Ok")
            elif verb == "QUIT":
                await self._send(writer, "221 2.0.0 Bye")
                return
            else:
                await self._send(writer, "502 5.5.2 Error")


@dataclass
class World:
    dns: LocalDnsServer
    mx: MailboxServer
    slow: HeldServer

    def engine_flags(self) -> list[str]:
        return [
            "--nameserver", DNS_HOST, "--dns-port", str(self.dns.port),
            "--smtp-port", str(SMTP_PORT), "--allow-private",
            "--helo", "probe.mailprobe.test", "--mail-from", "verify@mailprobe.test",
        ]  # fmt: skip


def rcpts(server: LoopbackServer, start: int = 0) -> Counter[str]:
    """RCPT TO addresses a server was asked, lower-case, from command number `start`."""
    return Counter(
        line.split("<", 1)[1].split(">", 1)[0].lower()
        for line in server.stats.commands[start:]
        if line.upper().startswith("RCPT")
    )


@contextlib.asynccontextmanager
async def mail_world(
    extra_zone: dict[str, Any] | None = None, **mx_options: object
) -> AsyncIterator[World]:
    mx = MailboxServer(
        MX_IP, SMTP_PORT, users=USERS, domains=["shop.test"], pipelining=True, **mx_options
    )  # type: ignore[arg-type]
    slow = HeldServer(SLOW_IP, SMTP_PORT)
    async with LocalDnsServer({**ZONE, **(extra_zone or {})}, host=DNS_HOST) as dns:
        await mx.start()
        await slow.start()
        try:
            yield World(dns, mx, slow)
        finally:
            slow.release.set()
            await slow.stop()
            await mx.stop()
    assert mx.stats.count("DATA") == 0


async def make_key(data_dir: Path, name: str, *, admin: bool = False) -> str:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "engine", "keys", "create", "--name", name,
        "--data-dir", str(data_dir), *(["--admin"] if admin else []),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    return out.decode().strip()


class Server:
    """A `mailprobe serve` process on 127.0.0.1, port picked by the system."""

    def __init__(self, data_dir: Path, flags: Sequence[str]) -> None:
        self.data_dir = data_dir
        self.flags = list(flags)
        self.proc: asyncio.subprocess.Process | None = None
        self.url = ""
        self.stderr: list[str] = []
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "engine", "serve", "--host", "127.0.0.1", "--port", "0",
            "--data-dir", str(self.data_dir), *self.flags,
            stdin=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env=env,
        )  # fmt: skip
        assert self.proc.stderr is not None
        for _ in range(200):
            line = await asyncio.wait_for(self.proc.stderr.readline(), 60)
            if not line:
                raise AssertionError("the server ended early:\n" + "".join(self.stderr))
            text = line.decode(errors="replace")
            self.stderr.append(text)
            if "serving on " in text:
                self.url = text.split("serving on ", 1)[1].split()[0]
                break
        else:
            raise AssertionError("no 'serving on' line:\n" + "".join(self.stderr))
        self._reader = asyncio.ensure_future(self._drain())
        async with httpx.AsyncClient(base_url=self.url, timeout=5) as client:
            for _ in range(500):
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/healthz")).status_code == 200:
                        return
                await asyncio.sleep(0.02)
        raise AssertionError("the server never became healthy")

    async def _drain(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        while line := await self.proc.stderr.readline():
            self.stderr.append(line.decode(errors="replace"))

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)

    async def stop(self) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 20)
            except asyncio.TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if self._reader is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._reader, 5)
        return int(self.proc.returncode or 0)

    def client(self, key: str | None = None, **kw: object) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=30, **kw)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def serving(data_dir: Path, flags: Sequence[str]) -> AsyncIterator[Server]:
    server = Server(data_dir, flags)
    try:
        await server.start()
        yield server
    finally:
        if server.proc is not None:
            await server.stop()
