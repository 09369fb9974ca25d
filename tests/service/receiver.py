"""A webhook receiver on loopback: records every POST, answers scripted status codes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    host: str = "127.0.0.1"
    port: int = 0
    # Status to answer for the n-th request (0-based) carrying a given event type.
    answer: Callable[[Received, int], int] = lambda r, n: 200
    received: list[Received] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hook"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    k, _, v = line.partition(":")
                    headers[k.strip().lower()] = v.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            got = Received(path, headers, body)
            n = sum(1 for r in self.received if r.body == body)
            self.received.append(got)
            self.arrived.set()
            status = self.answer(got, n)
            writer.write(
                f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.TimeoutError):
            pass
        finally:
            writer.close()

    async def wait_for(self, check: Callable[[list[Received]], bool], limit_s: float = 60) -> None:
        for _ in range(int(limit_s / 0.02)):
            if check(self.received):
                return
            self.arrived.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), 0.5)
        raise AssertionError(f"the receiver did not get what was expected: {self.received}")


@contextlib.asynccontextmanager
async def receiving(**kw: object) -> AsyncIterator[Receiver]:
    receiver = Receiver(**kw)  # type: ignore[arg-type]
    server = await asyncio.start_server(receiver._handle, receiver.host, receiver.port)
    receiver.port = server.sockets[0].getsockname()[1]
    try:
        yield receiver
    finally:
        server.close()
        await server.wait_closed()
