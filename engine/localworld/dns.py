"""A loopback DNS server (UDP and TCP, dnslib's wire format) that serves a LocalZone.

It listens on 127.0.0.0/8 only, answers as a recursive resolver would (CNAMEs followed), plays
the zone's faults, and counts the questions it gets per (name, type) so tests can assert them.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from collections import Counter
from collections.abc import Callable
from types import TracebackType
from typing import Any, cast

from dnslib import AAAA, CNAME, MX, QTYPE, RCODE, RR, TXT, A, DNSRecord

from engine.localworld import Answer, LocalZone, Zone
from engine.localworld.threads import serve_in_thread

__all__ = ["LocalDnsServer"]

_RDATA = {"A": A, "AAAA": AAAA, "CNAME": CNAME, "TXT": TXT}
_BIND_TRIES = 20  # port 0: free UDP ports are not always free for TCP too
_RECEIVE_BUFFER = 4 << 20  # bytes; the kernel may cap it (net.core.rmem_max)


class LocalDnsServer:
    """Serves a zone on one loopback address, UDP and TCP on the same port.

    Use `async with LocalDnsServer(zone) as server:` inside an event loop, or `with` (or
    `start_thread()` / `stop_thread()`) from blocking code; either way `server.port` is the port.
    """

    def __init__(
        self,
        zone: Zone | LocalZone,
        *,
        host: str = "127.0.0.53",
        port: int = 0,
        default_ttl: int = 300,
    ) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"LocalDnsServer listens on loopback addresses only, not {host}")
        self.host = host
        self.port = port
        self._default_ttl = default_ttl
        self.zone = _as_zone(zone, default_ttl)
        self.queries: Counter[tuple[str, str]] = Counter()  # (name, type) -> questions received
        self.tcp_queries: Counter[tuple[str, str]] = Counter()  # the part that came over TCP
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.AbstractServer | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._halt: Callable[[float], None] | None = None

    def set_zone(self, zone: Zone | LocalZone) -> None:
        """Serve other records from now on (the counters are kept)."""
        self.zone = _as_zone(zone, self._default_ttl)

    def count(self, name: str, rtype: str) -> int:
        """Questions received for (name, type), over UDP and TCP."""
        return self.queries[(name.lower().rstrip("."), rtype.upper())]

    # -- in the running event loop --------------------------------------------------------

    async def start(self) -> None:
        """Bind UDP and TCP on `host` and start answering."""
        loop = asyncio.get_running_loop()
        last_error: OSError | None = None
        for _ in range(_BIND_TRIES if self.port == 0 else 1):
            udp, _protocol = await loop.create_datagram_endpoint(
                lambda: _UdpProtocol(self), local_addr=(self.host, self.port)
            )
            port = int(udp.get_extra_info("sockname")[1])
            with contextlib.suppress(OSError):  # room for bursts of questions; best effort
                udp.get_extra_info("socket").setsockopt(
                    socket.SOL_SOCKET, socket.SO_RCVBUF, _RECEIVE_BUFFER
                )
            try:
                self._tcp = await asyncio.start_server(self._serve_tcp, self.host, port)
            except OSError as exc:
                udp.close()
                last_error = exc
                continue
            self._udp, self.port = udp, port
            return
        raise OSError(f"no port free for both UDP and TCP on {self.host}") from last_error

    async def stop(self) -> None:
        """Stop answering and close every socket and connection."""
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._tcp is not None:
            self._tcp.close()
            for task in list(self._connections):
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)
            await self._tcp.wait_closed()
            self._tcp = None

    async def __aenter__(self) -> LocalDnsServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- from blocking code: a loop of its own in a thread -------------------------------------

    def start_thread(self, timeout_s: float = 10.0) -> None:
        """Run the server in a thread of its own until `stop_thread()`."""
        if self._halt is not None:
            raise RuntimeError("already running in a thread")
        self._halt = serve_in_thread(
            self.start, self.stop, name=f"dns-{self.host}", timeout_s=timeout_s
        )

    def stop_thread(self, timeout_s: float = 10.0) -> None:
        """Stop the server that `start_thread()` started and wait for its thread."""
        halt, self._halt = self._halt, None
        if halt is not None:
            halt(timeout_s)

    def __enter__(self) -> LocalDnsServer:
        self.start_thread()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_thread()

    # -- answering --------------------------------------------------------------------------

    def reply(self, data: bytes, *, tcp: bool) -> bytes | None:
        """The wire reply to one query, or None when the query gets no answer."""
        try:
            request = DNSRecord.parse(data)
        except Exception:  # dnslib raises several types on garbage; garbage gets no answer
            return None
        if request.header.qr or not request.questions:
            return None
        question = request.q
        name = str(question.qname).lower().rstrip(".") or "."
        try:
            rtype = str(QTYPE[question.qtype])
        except Exception:  # a type dnslib has no name for
            rtype = f"TYPE{question.qtype}"
        self.queries[(name, rtype)] += 1
        if tcp:
            self.tcp_queries[(name, rtype)] += 1
        answer = self.zone.answer(name, rtype)
        if answer.drop:
            return None
        response = _response(request, answer)
        packed: bytes = response.pack()
        if not tcp and (answer.truncate or len(packed) > _udp_limit(request)):
            response.rr = []
            response.header.tc = 1
            packed = response.pack()
        return packed

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            while True:
                size = int.from_bytes(await reader.readexactly(2), "big")
                reply = self.reply(await reader.readexactly(size), tcp=True)
                if reply is not None:
                    writer.write(len(reply).to_bytes(2, "big") + reply)
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client closed the connection
        finally:
            if task is not None:
                self._connections.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: LocalDnsServer) -> None:
        self._server = server
        self._transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        reply = self._server.reply(data, tcp=False)
        if reply is not None and self._transport is not None:
            self._transport.sendto(reply, addr)


def _as_zone(zone: Zone | LocalZone, default_ttl: int) -> LocalZone:
    return zone if isinstance(zone, LocalZone) else LocalZone(zone, default_ttl=default_ttl)


def _response(request: DNSRecord, answer: Answer) -> DNSRecord:
    response = request.reply()
    response.header.rcode = getattr(RCODE, answer.rcode)
    for owner, rtype, ttl, value in answer.records:
        if rtype == "MX":
            assert isinstance(value, tuple)
            rdata = MX(value[1] + ".", value[0]) if value[1] != "." else MX(".", value[0])
        else:
            rdata = _RDATA[rtype](value)
        response.add_answer(RR(owner, getattr(QTYPE, rtype), rdata=rdata, ttl=ttl))
    return response


def _udp_limit(request: DNSRecord) -> int:
    # RFC 6891 §6.2.3: the requestor's UDP payload size (in the OPT class), at least 512.
    for rr in request.ar:
        if rr.rtype == QTYPE.OPT:
            return max(512, min(int(rr.rclass), 65535))
    return 512  # RFC 1035 §4.2.1
