"""Loopback SMTP servers that behave like real MX hosts, well and badly, for tests and the demo.

They listen on 127.0.0.0/8 only, never deliver anything, and count what they were sent: every
connection, the peak of concurrent sessions and each command line, so a test can prove that no
DATA was ever sent. Each runs in the caller's event loop (`async with`) or in a thread of its own.
LatencyProxy puts a network's round trip between a client and any of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import ssl
import time
import weakref
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar

from aiosmtpd.smtp import SMTP, Envelope, Session

from engine.localworld.threads import serve_in_thread

_S = TypeVar("_S", bound="LoopbackServer")
_LINE_LIMIT = 4096  # longest command line a raw server reads
_ENDLESS_MAX_BYTES = 1 << 20  # an "endless" reply still ends after 1 MiB
_MAX_COMMANDS = 10_000  # a scripted session ends after this many command lines
_STOP_WAIT_S = 2.0

GREYLIST_REPLY = "450 4.2.0 <{rcpt}>: Recipient address rejected: Greylisted, try again later"
UNKNOWN_REPLY = "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown"
FULL_REPLY = "552 5.2.2 <{rcpt}>: Mailbox full"
DISABLED_REPLY = "550 5.2.1 <{rcpt}>: Mailbox disabled, not accepting messages"
BLOCKED_REPLY = (
    "550 5.7.1 Service unavailable, Client host [{peer}] blocked using Spamhaus; "
    "To request removal from this list see the list operator's site"
)
TOO_MANY_REPLY = "452 4.5.3 Too many recipients (AS780090)"
RATE_REPLY = "421 4.7.0 [{peer}] Too many connections from your IP, try again later"
ACCEPT_REPLY = "250 2.1.5 Recipient <{rcpt}> OK"


@dataclass
class ServerStats:
    """What a server saw. Lists grow only while the server runs; tests read them afterwards."""

    connections: int = 0
    active: int = 0
    peak: int = 0
    commands: list[str] = field(default_factory=list)  # each line received, CRLF removed
    errors: list[str] = field(default_factory=list)  # sessions that ended in an exception
    peers: list[str] = field(default_factory=list)  # the client address of each connection
    active_by_peer: dict[str, int] = field(default_factory=dict)
    peak_by_peer: dict[str, int] = field(default_factory=dict)  # concurrent sessions per client
    rate_refused: int = 0  # connections refused at the greeting: over the per-client rate

    def opened(self, peer: str = "") -> None:
        self.connections += 1
        self.active += 1
        self.peak = max(self.peak, self.active)
        self.peers.append(peer)
        now = self.active_by_peer.get(peer, 0) + 1
        self.active_by_peer[peer] = now
        self.peak_by_peer[peer] = max(self.peak_by_peer.get(peer, 0), now)

    def closed(self, peer: str = "") -> None:
        self.active -= 1
        self.active_by_peer[peer] = self.active_by_peer.get(peer, 1) - 1

    def verbs(self) -> list[str]:
        """The command words received, upper-case, in order ("EHLO", "MAIL", "RCPT", ...)."""
        return [line.split(" ", 1)[0].upper() for line in self.commands if line]

    def count(self, verb: str) -> int:
        return self.verbs().count(verb.upper())


class LoopbackServer:
    """Base of the family: `async with Server(...) as s` or `with s.running_in_thread()`."""

    def __init__(self, host: str = "127.0.0.25", port: int = 0) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"loopback servers listen on 127.0.0.0/8 only, not {host}")
        self.host = host
        self.port = port
        self.stats = ServerStats()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._transports: set[asyncio.BaseTransport] = set()

    async def start(self) -> None:
        self._server = await self._listen()
        self.port = self._server.sockets[0].getsockname()[1]

    async def _listen(self) -> asyncio.Server:
        raise NotImplementedError

    async def stop(self) -> None:
        """Stop listening, drop every open session and wait (bounded) for their tasks."""
        if self._server is None:
            return
        self._server.close()
        for transport in list(self._transports):
            transport.close()  # the sessions see end of input and finish on their own
        tasks = [t for t in self._tasks if not t.done()]
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=_STOP_WAIT_S)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=_STOP_WAIT_S)
        await asyncio.wait_for(self._server.wait_closed(), _STOP_WAIT_S)
        self._server = None

    async def __aenter__(self: _S) -> _S:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @contextlib.contextmanager
    def running_in_thread(self: _S, timeout_s: float = 5.0) -> Iterator[_S]:
        """Serve from a thread with its own event loop (for scripts and the demo)."""
        halt = serve_in_thread(self.start, self.stop, name=f"smtp-{self.host}", timeout_s=timeout_s)
        try:
            yield self
        finally:
            halt(timeout_s)

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    def admit(self, peer: str) -> str | None:
        """None to greet a new connection from `peer`, else the reply that refuses it."""
        return None

    def _keep(self, task: asyncio.Task[Any]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _track(self, transport: asyncio.BaseTransport) -> None:
        self._transports.add(transport)
        self.stats.opened(_peer(transport))

    def _untrack(self, transport: asyncio.BaseTransport | None) -> None:
        if transport is not None and transport in self._transports:
            self._transports.discard(transport)
            self.stats.closed(_peer(transport))


def _peer(transport: asyncio.BaseTransport) -> str:
    """The client's IP address ("" when the transport does not say)."""
    peer = transport.get_extra_info("peername")
    return str(peer[0]) if isinstance(peer, tuple) and peer else ""


# A well-behaved mail server, on aiosmtpd ------------------------------------------------------


class _CountingSMTP(SMTP):
    """aiosmtpd's SMTP that tells its server about connections and every line it receives."""

    def __init__(self, owner: LoopbackServer, handler: object, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._owner = owner
        self._raw: asyncio.BaseTransport | None = None
        self._pending = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._raw is None:  # the second call is the TLS layer after STARTTLS
            self._raw = transport
            self._owner._track(transport)
        super().connection_made(transport)
        if self._handler_coroutine is not None:
            self._owner._keep(self._handler_coroutine)

    def connection_lost(self, error: Exception | None) -> None:
        self._owner._untrack(self._raw)
        super().connection_lost(error)

    async def _handle_client(self) -> None:
        address = self.session.peer if self.session is not None else None
        refusal = self._owner.admit(str(address[0]) if isinstance(address, tuple) else "")
        if refusal is None:
            await super()._handle_client()
            return
        await self.push(refusal)  # as Postfix's anvil does past smtpd_client_connection_rate_limit
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        lines = (self._pending + data).split(b"\n")
        self._pending = lines.pop()[-_LINE_LIMIT:]
        for line in lines:
            self._owner.stats.commands.append(line.rstrip(b"\r").decode("utf-8", "replace"))
        super().data_received(data)


class _MailboxHandler:
    def __init__(self, server: MailboxServer) -> None:
        self._server = server
        self._rcpts: weakref.WeakKeyDictionary[Envelope, int] = weakref.WeakKeyDictionary()
        self._errors: weakref.WeakKeyDictionary[Session, int] = weakref.WeakKeyDictionary()

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname
        if self._server.pipelining:
            # RFC 2920: aiosmtpd reads pipelined commands in order; it only needs to say so.
            responses.insert(1, "250-PIPELINING")
        return responses

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        reply = await self._rcpt_reply(session, envelope, address)
        if reply[0] in "45":
            return await self._count_error(server, session, reply)
        return reply

    async def _count_error(self, server: SMTP, session: Session, reply: str) -> str:
        """Postfix's anti-harvest limits: slow down after soft_error_limit rejected RCPTs,
        say 421 and hang up at hard_error_limit."""
        s = self._server
        errors = self._errors.get(session, 0) + 1
        self._errors[session] = errors
        if s.hard_error_limit is not None and errors >= s.hard_error_limit:
            s.hard_limit_hits += 1
            transport = server.transport
            if transport is not None:
                asyncio.get_running_loop().call_soon(transport.close)
            return "421 4.7.0 mx.example.test Error: too many errors"
        if s.soft_error_limit is not None and errors > s.soft_error_limit:
            await asyncio.sleep(s.error_sleep_s)
        return reply

    async def _rcpt_reply(self, session: Session, envelope: Envelope, address: str) -> str:
        s = self._server
        seen = self._rcpts.get(envelope, 0)
        self._rcpts[envelope] = seen + 1
        key = address.casefold()
        peer = session.peer[0] if isinstance(session.peer, tuple) else "127.0.0.1"
        if s.rcpt_delay_s:
            await asyncio.sleep(s.rcpt_delay_s)
        if s.blocked:
            return BLOCKED_REPLY.format(peer=peer)
        if s.rcpt_per_transaction is not None and seen >= s.rcpt_per_transaction:
            return TOO_MANY_REPLY
        triplet = (peer, str(envelope.mail_from).casefold(), key)
        if s.greylist and triplet not in s.greylist_passed:
            s.greylist_passed.add(triplet)  # postgrey lets the same triplet in on its retry
            return GREYLIST_REPLY.format(rcpt=address)
        if key in s.full:
            return FULL_REPLY.format(rcpt=address)
        if key in s.disabled:
            return DISABLED_REPLY.format(rcpt=address)
        if key in s.users or (s.catch_all and key.rpartition("@")[2] in s.domains):
            envelope.rcpt_tos.append(address)
            return ACCEPT_REPLY.format(rcpt=address)
        return UNKNOWN_REPLY.format(rcpt=address)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return "554 5.7.0 This server never takes a message"

    async def handle_exception(self, error: Exception) -> str:
        # A client that gives up mid-handshake (an untrusted certificate) is expected here.
        self._server.stats.errors.append(f"{type(error).__name__}: {error}")
        return "421 4.3.0 Error: closing"


class _HeloOnlyHandler(_MailboxHandler):
    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        return ["502 5.5.2 Error: command not recognized"]


class MailboxServer(LoopbackServer):
    """A Postfix-like MX: knows its users, rejects unknown ones at RCPT time with 550 5.1.1.

    Args:
        users: addresses that exist ("alice@example.test"); their domains are this server's.
        catch_all: accept any local part at this server's domains (250 for everything).
        full / disabled: addresses answered 552 5.2.2 / 550 5.2.1.
        greylist: answer 450 4.2.0 to each (client IP, sender, recipient) the first time, as
            greylisters do (postgrey by default keys on the client's /24).
        smtputf8: advertise SMTPUTF8 (RFC 6531); without it MAIL ... SMTPUTF8 is refused.
        tls: a server-side context: advertise STARTTLS and use it.
        blocked: refuse every RCPT with a Spamhaus-style 550 5.7.1 (our IP is "listed").
        rcpt_per_transaction: answer 452 4.5.3 past this many RCPTs in one transaction.
        ehlo: False makes an old server that refuses EHLO and only knows HELO.
        pipelining: advertise PIPELINING (RFC 2920).
        soft_error_limit / hard_error_limit / error_sleep_s: Postfix's anti-harvest defence
            (10 / 20 / 1 s there): rejected RCPTs past the soft limit are answered after a
            sleep; at the hard limit the server says 421 and hangs up.
        rcpt_delay_s: every RCPT is answered after this pause (a slow or distant server).
        connections_per_minute: new connections each client address may open in any
            `rate_window_s` seconds (Postfix's smtpd_client_connection_rate_limit); past it the
            greeting is a 421 and `stats.rate_refused` counts it. None: no limit.
    """

    def __init__(
        self,
        host: str = "127.0.0.25",
        port: int = 0,
        *,
        users: Iterable[str] = (),
        domains: Iterable[str] = (),
        catch_all: bool = False,
        full: Iterable[str] = (),
        disabled: Iterable[str] = (),
        greylist: bool = False,
        smtputf8: bool = True,
        tls: ssl.SSLContext | None = None,
        blocked: bool = False,
        rcpt_per_transaction: int | None = None,
        ehlo: bool = True,
        hostname: str = "mx.example.test",
        pipelining: bool = False,
        soft_error_limit: int | None = None,
        hard_error_limit: int | None = None,
        error_sleep_s: float = 1.0,
        rcpt_delay_s: float = 0.0,
        connections_per_minute: int | None = None,
        rate_window_s: float = 60.0,
    ) -> None:
        super().__init__(host, port)
        self.users = frozenset(u.casefold() for u in users)
        self.full = frozenset(u.casefold() for u in full)
        self.disabled = frozenset(u.casefold() for u in disabled)
        every = self.users | self.full | self.disabled
        self.domains = frozenset(d.casefold() for d in domains) | {
            u.rpartition("@")[2] for u in every
        }
        self.catch_all = catch_all
        self.greylist = greylist
        self.greylist_passed: set[tuple[str, str, str]] = set()
        self.smtputf8 = smtputf8
        self.tls = tls
        self.blocked = blocked
        self.rcpt_per_transaction = rcpt_per_transaction
        self.hostname = hostname
        self.pipelining = pipelining
        self.soft_error_limit = soft_error_limit
        self.hard_error_limit = hard_error_limit
        self.error_sleep_s = error_sleep_s
        self.hard_limit_hits = 0
        self.rcpt_delay_s = rcpt_delay_s
        self.connections_per_minute = connections_per_minute
        self.rate_window_s = rate_window_s
        self._connects: dict[str, deque[float]] = {}
        self._handler = _MailboxHandler(self) if ehlo else _HeloOnlyHandler(self)

    def admit(self, peer: str) -> str | None:
        if self.connections_per_minute is None:
            return None
        now = time.monotonic()
        times = self._connects.setdefault(peer, deque())
        while times and now - times[0] >= self.rate_window_s:
            times.popleft()
        if len(times) >= self.connections_per_minute:
            self.stats.rate_refused += 1
            return RATE_REPLY.format(peer=peer)
        times.append(now)
        return None

    async def _listen(self) -> asyncio.Server:
        loop = asyncio.get_running_loop()
        return await loop.create_server(
            lambda: _CountingSMTP(
                self,
                self._handler,
                hostname=self.hostname,
                ident="ESMTP",
                enable_SMTPUTF8=self.smtputf8,
                tls_context=self.tls,
                timeout=30,
                loop=loop,
            ),
            host=self.host,
            port=self.port,
        )


def self_signed_tls(hostname: str = "mx.example.test") -> ssl.SSLContext:
    """A server context with a certificate no client trusts (a throw-away CA, via trustme)."""
    import trustme  # test dependency; only the TLS servers need it

    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(hostname).configure_cert(context)
    return context


# Misbehaving servers, on plain asyncio streams ------------------------------------------------


class RawServer(LoopbackServer):
    """A server that speaks (or fails to speak) SMTP line by line, as a subclass scripts it."""

    async def _listen(self) -> asyncio.Server:
        return await asyncio.start_server(
            self._client, host=self.host, port=self.port, limit=_LINE_LIMIT
        )

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._keep(task)
        self._track(writer.transport)
        try:
            await self._talk(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self._untrack(writer.transport)
            writer.close()

    async def _talk(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    async def _read(self, reader: asyncio.StreamReader) -> str | None:
        """One command line, logged; None at end of input."""
        line = await reader.readline()
        if not line:
            return None
        text = line.rstrip(b"\r\n").decode("utf-8", "replace")
        self.stats.commands.append(text)
        return text

    @staticmethod
    async def _send(writer: asyncio.StreamWriter, *lines: str | bytes) -> None:
        for line in lines:
            writer.write((line.encode() if isinstance(line, str) else line) + b"\r\n")
        await writer.drain()


class GreetingRefusedServer(RawServer):
    """Answers the connection with a 421 (or the given reply) and hangs up (RFC 5321 §3.1)."""

    def __init__(
        self,
        host: str = "127.0.0.25",
        port: int = 0,
        reply: str = "421 4.3.2 Service not available, closing transmission channel",
    ) -> None:
        super().__init__(host, port)
        self.reply = reply

    async def _talk(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._send(writer, self.reply)


class TarpitServer(RawServer):
    """Accepts the connection and never says a word; only the client's timeout ends it."""

    async def _talk(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await self._read(reader) is not None:  # ends at EOF or when stop() cancels it
            pass


class HangUpServer(RawServer):
    """Accepts the connection and closes it without a word."""

    async def _talk(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        return


class DropAfterEhloServer(RawServer):
    """Greets, reads EHLO and closes the connection without an answer."""

    async def _talk(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._send(writer, "220 mx.example.test ESMTP")
        await self._read(reader)


class GarbageServer(RawServer):
    """Something else listens on the port (an SSH daemon, a web server): not SMTP."""

    def __init__(
        self, host: str = "127.0.0.25", port: int = 0, banner: bytes = b"SSH-2.0-OpenSSH_9.2p1"
    ) -> None:
        super().__init__(host, port)
        self.banner = banner

    async def _talk(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._send(writer, self.banner)
        await self._read(reader)


class EndlessReplyServer(RawServer):
    """Greets, then answers EHLO with a multi-line reply that never ends (up to 1 MiB)."""

    async def _talk(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._send(writer, "220 mx.example.test ESMTP")
        await self._read(reader)
        sent = 0
        line = b"250-" + b"X" * 60
        while sent < _ENDLESS_MAX_BYTES and not writer.is_closing():
            await self._send(writer, *([line] * 64))
            sent += 64 * (len(line) + 2)


class EndlessGreetingServer(RawServer):
    """Greets with a multi-line 220 that never ends: "220-" lines (up to 1 MiB), all at once
    or one every `line_interval_s`, as some tarpits do."""

    def __init__(self, host: str = "127.0.0.25", port: int = 0, line_interval_s: float = 0.0):
        super().__init__(host, port)
        self.line_interval_s = line_interval_s

    async def _talk(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line = b"220-mx.example.test ESMTP " + b"X" * 40
        burst = 1 if self.line_interval_s > 0 else 64
        sent = 0
        while sent < _ENDLESS_MAX_BYTES and not writer.is_closing():
            await self._send(writer, *([line] * burst))
            sent += burst * (len(line) + 2)
            if self.line_interval_s > 0:
                await asyncio.sleep(self.line_interval_s)


class SlowTalkerServer(RawServer):
    """A mail server that says everything one byte at a time, `byte_interval_s` apart (one
    byte per second by default): its greeting and every reply. It accepts every RCPT."""

    def __init__(self, host: str = "127.0.0.25", port: int = 0, byte_interval_s: float = 1.0):
        super().__init__(host, port)
        self.byte_interval_s = byte_interval_s

    async def _dribble(self, writer: asyncio.StreamWriter, text: str) -> None:
        for byte in (text + "\r\n").encode():
            if writer.is_closing():
                return
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(self.byte_interval_s)

    async def _talk(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._dribble(writer, "220 mx.example.test ESMTP")
        for _ in range(_MAX_COMMANDS):
            line = await self._read(reader)
            if line is None:
                return
            verb = line.partition(" ")[0].upper()
            if verb == "EHLO":
                await self._dribble(writer, "250-mx.example.test\r\n250 8BITMIME")
            elif verb == "QUIT":
                await self._dribble(writer, "221 2.0.0 Bye")
                return
            else:
                await self._dribble(writer, "250 2.0.0 Ok")


class MailNeverAnsweredServer(RawServer):
    """Greets and answers EHLO, then hangs at MAIL FROM: from there on nothing is answered;
    it reads on until the client leaves."""

    async def _talk(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._send(writer, "220 mx.example.test ESMTP")
        hung = False
        for _ in range(_MAX_COMMANDS):
            line = await self._read(reader)
            if line is None:
                return
            verb = line.partition(" ")[0].upper()
            hung = hung or verb == "MAIL"
            if hung:
                continue
            if verb == "EHLO":
                await self._send(writer, "250-mx.example.test", "250 PIPELINING")
            elif verb == "QUIT":
                await self._send(writer, "221 2.0.0 Bye")
                return
            else:
                await self._send(writer, "250 2.0.0 Ok")


class ScriptedRcptServer(RawServer):
    """A plain MTA that answers every RCPT TO from a script, and counts them.

    `reply` is the answer to each RCPT ("{rcpt}" is the recipient), or a function of the
    recipient and the RCPT's number in its transaction (1 for the first) that returns one. A
    421 ends the session after it is sent (RFC 5321 §3.8). `rcpts` maps each recipient to the
    RCPT TO commands it got; `stats.count("RCPT")` is their sum.
    """

    def __init__(
        self,
        host: str = "127.0.0.25",
        port: int = 0,
        reply: str | Callable[[str, int], str] = ACCEPT_REPLY,
        *,
        hostname: str = "mx.example.test",
        pipelining: bool = True,
    ) -> None:
        super().__init__(host, port)
        self.reply = reply
        self.hostname = hostname
        self.pipelining = pipelining
        self.rcpts: Counter[str] = Counter()

    def _answer(self, rcpt: str, n: int) -> str:
        if callable(self.reply):
            return self.reply(rcpt, n)
        return self.reply.format(rcpt=rcpt)

    async def _talk(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._send(writer, f"220 {self.hostname} ESMTP")
        in_transaction = 0
        for _ in range(_MAX_COMMANDS):
            line = await self._read(reader)
            if line is None:
                return
            verb, _, argument = line.partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                extensions = ["PIPELINING"] if self.pipelining else []
                lines = [self.hostname, *extensions, "8BITMIME"]
                await self._send(writer, *_multiline(250, lines))
            elif verb == "HELO":
                await self._send(writer, f"250 {self.hostname}")
            elif verb == "RCPT":
                rcpt = argument.partition(":")[2].strip().strip("<>")
                self.rcpts[rcpt.casefold()] += 1
                in_transaction += 1
                answer = self._answer(rcpt, in_transaction)
                await self._send(writer, answer)
                if answer.startswith("421"):
                    return
            elif verb in ("MAIL", "RSET"):
                in_transaction = 0
                await self._send(writer, "250 2.0.0 Ok")
            elif verb == "NOOP":
                await self._send(writer, "250 2.0.0 Ok")
            elif verb == "QUIT":
                await self._send(writer, "221 2.0.0 Bye")
                return
            else:
                await self._send(writer, "502 5.5.2 Error: command not recognized")


def _multiline(code: int, lines: list[str]) -> list[str]:
    """One SMTP reply over several lines: "250-first", ..., "250 last"."""
    return [f"{code}{'-' if i < len(lines) - 1 else ' '}{line}" for i, line in enumerate(lines)]


# A network's round trip on loopback ----------------------------------------------------------

_RELAY_HIGH_WATER = 1 << 20  # bytes held for one direction before its sender is paused
_RELAY_CONNECT_S = 5.0
_RELAY_EARLY_S = 1e-4  # the event loop may run a timer this much before its time


class LatencyProxy(LoopbackServer):
    """A TCP relay that delays every chunk by `one_way_delay_s` in each direction, in order.

    This kernel has no netem, so a benchmark puts this between a client and a loopback server to
    get a network's round trip (2 x the one-way delay). Each chunk is delayed on its own, never
    reordered nor held back for a later one, so pipelined commands (RFC 2920) keep their benefit
    as on a real link; the target is reached one delay after the client connects (the SYN's
    trip) and an end of input travels like data. `stats` count the client connections and their
    peak (`commands` stays empty); `stats.errors` lists failed connections to the target.
    """

    def __init__(
        self,
        listen_host: str,
        listen_port: int,
        target_host: str,
        target_port: int,
        one_way_delay_s: float = 0.025,
    ) -> None:
        super().__init__(listen_host, listen_port)
        if not ipaddress.ip_address(target_host).is_loopback:
            raise ValueError(f"the proxy relays to loopback targets only, not {target_host}")
        if one_way_delay_s < 0:
            raise ValueError("one_way_delay_s must be >= 0")
        self.target_host = target_host
        self.target_port = target_port
        self.one_way_delay_s = one_way_delay_s
        self._relays: set[_Relay] = set()

    async def _listen(self) -> asyncio.Server:
        loop = asyncio.get_running_loop()
        return await loop.create_server(self._accept, host=self.host, port=self.port)

    def _accept(self) -> asyncio.Protocol:
        relay = _Relay(self, asyncio.get_running_loop())
        self._relays.add(relay)
        return relay.inbound

    async def stop(self) -> None:
        """Drop every relayed session at once (nothing in flight is delivered), then stop."""
        for relay in list(self._relays):
            relay.abort()
        await super().stop()


class _Relay:
    """A client's connection to the proxy and the proxy's connection to the target."""

    def __init__(self, proxy: LatencyProxy, loop: asyncio.AbstractEventLoop) -> None:
        self.proxy = proxy
        self.inbound = _RelaySide(self, inbound=True)
        self.outbound = _RelaySide(self, inbound=False)
        delay = proxy.one_way_delay_s
        self.upstream = _Direction(loop, delay, self.inbound, self._maybe_close)
        self.downstream = _Direction(loop, delay, self.outbound, self._maybe_close)
        self._closed = False

    def started(self, transport: asyncio.BaseTransport) -> None:
        """The client is connected: count it, and go and reach the target."""
        self.proxy._track(transport)
        self.proxy._keep(asyncio.ensure_future(self._connect()))

    async def _connect(self) -> None:
        inbound = self.inbound.transport
        if inbound is None:
            return
        self.downstream.attach(inbound)
        try:
            await asyncio.sleep(self.proxy.one_way_delay_s)
            if self._closed:
                return
            loop = asyncio.get_running_loop()
            transport, _ = await asyncio.wait_for(
                loop.create_connection(
                    lambda: self.outbound, self.proxy.target_host, self.proxy.target_port
                ),
                _RELAY_CONNECT_S,
            )
        except (OSError, asyncio.TimeoutError) as exc:
            self.proxy.stats.errors.append(f"connect to target: {type(exc).__name__}: {exc}")
            self.abort()
            return
        if self._closed or not isinstance(transport, asyncio.Transport):
            transport.close()
            return
        self.upstream.attach(transport)

    def received(self, side: _RelaySide, data: bytes | None) -> None:
        """Bytes (None: end of input) from one side, for the other one."""
        (self.upstream if side is self.inbound else self.downstream).push(data)

    def lost(self, side: _RelaySide) -> None:
        self.received(side, None)
        if side is self.inbound:
            self.proxy._untrack(side.transport)
            self.downstream.cancel()  # nothing more can reach the client
        else:
            self.upstream.cancel()  # nor the target
        if self.inbound.gone and self.outbound.gone:
            self.proxy._relays.discard(self)
        self._maybe_close()

    def _maybe_close(self) -> None:
        if self.upstream.ended and self.downstream.ended:
            self._close()

    def _close(self) -> None:
        self._closed = True
        self.inbound.close()
        self.outbound.close()
        if self.outbound.transport is None:  # never connected: only the client side to wait for
            self.outbound.gone = True

    def abort(self) -> None:
        self.upstream.cancel()
        self.downstream.cancel()
        self._close()
        self.proxy._relays.discard(self)


class _RelaySide(asyncio.Protocol):
    """One of the two TCP connections of a relayed session."""

    def __init__(self, relay: _Relay, *, inbound: bool) -> None:
        self.relay = relay
        self.is_inbound = inbound
        self.transport: asyncio.Transport | None = None
        self.gone = False
        self._paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not isinstance(transport, asyncio.Transport):  # pragma: no cover - TCP only
            transport.close()
            return
        self.transport = transport
        if self.is_inbound:
            self.relay.started(transport)

    def data_received(self, data: bytes) -> None:
        self.relay.received(self, data)

    def eof_received(self) -> bool:
        self.relay.received(self, None)
        return True  # keep our sending half open until the far side ends too

    def connection_lost(self, exc: Exception | None) -> None:
        self.gone = True
        self.relay.lost(self)

    def pause(self) -> None:
        if self.transport is not None and not self._paused and not self.transport.is_closing():
            self._paused = True
            self.transport.pause_reading()

    def resume(self) -> None:
        if self.transport is not None and self._paused and not self.transport.is_closing():
            self._paused = False
            self.transport.resume_reading()

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()


class _Direction:
    """Bytes from one side to the other, each chunk leaving `delay_s` after it came, in order.

    Chunks are written one by one at their due time, never merged here (the kernel may still
    coalesce them, as TCP does on a real network).
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        delay_s: float,
        source: _RelaySide,
        on_end: Callable[[], None],
    ) -> None:
        self._loop = loop
        self._delay_s = delay_s
        self._source = source  # paused while too much of what it sent waits here
        self._on_end = on_end
        self._queue: deque[tuple[float, bytes | None]] = deque()  # None: end of input
        self._held = 0
        self._timer: asyncio.TimerHandle | None = None
        self._sink: asyncio.Transport | None = None  # None until that side is connected
        self.ended = False  # the end of input was passed on, or nothing can be delivered

    def push(self, data: bytes | None) -> None:
        if self.ended or (self._queue and self._queue[-1][1] is None):
            return
        self._queue.append((self._loop.time() + self._delay_s, data))
        if data:
            self._held += len(data)
            if self._held > _RELAY_HIGH_WATER:
                self._source.pause()
        self._schedule()

    def attach(self, sink: asyncio.Transport) -> None:
        self._sink = sink
        self._schedule()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._queue.clear()
        self._held = 0
        self.ended = True

    def _schedule(self) -> None:
        if self._timer is None and self._queue and self._sink is not None:
            self._timer = self._loop.call_at(self._queue[0][0], self._flush)

    def _flush(self) -> None:
        self._timer = None
        sink = self._sink
        if sink is None:
            return
        now = self._loop.time() + _RELAY_EARLY_S
        while self._queue and self._queue[0][0] <= now:
            _, data = self._queue.popleft()
            if data is None:
                self._end(sink)
                return
            self._held -= len(data)
            if not sink.is_closing():
                sink.write(data)
        if self._held <= _RELAY_HIGH_WATER // 2:
            self._source.resume()
        self._schedule()

    def _end(self, sink: asyncio.Transport) -> None:
        self.cancel()
        if not sink.is_closing():
            try:
                if not sink.can_write_eof():
                    raise OSError("no half-close on this transport")
                sink.write_eof()  # a half-close: the far side may still answer
            except OSError:  # the far side is gone already
                sink.close()
        self._on_end()
