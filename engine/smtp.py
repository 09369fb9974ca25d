"""The SMTP transport: greeted sessions to the exact IP given, every answer turned into a Reply.

The only module that imports aiosmtplib. It never sends DATA, never connects to an IP the DNS stage
did not approve (nor, unless allowed, to a non-public one) and never puts CR, LF or NUL on the wire.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import re
import secrets
import socket
import ssl
import string
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

import aiosmtplib

from engine.addresses import is_public_ip
from engine.config import Config, TlsPolicy
from engine.errors import (
    InvalidAddress,
    NoPublicMxAddress,
    ProxyFault,
    SmtpError,
    SmtpProtocolError,
    SmtpTransient,
)
from engine.model import Reply, Stage
from engine.replies import parse_enhanced

log = logging.getLogger(__name__)

_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f]")  # CR, LF, NUL and every other control character
_MAX_REPLY_LINES = 100  # aiosmtplib already caps a reply at 32 KiB and a line at 8 KiB
_MAX_REPLY_TEXT = 1000  # characters of a reply kept as evidence
_RANDOM_LOCAL_LENGTH = 24
_RANDOM_ALPHABET = string.ascii_lowercase + string.digits
_QUIT_TIMEOUT_S = 2.0  # QUIT is a courtesy: never let it hold up an answer
_PRIVATE_TLDS = (".local", ".localdomain", ".lan", ".home", ".internal", ".home.arpa")


class SmtpSession(Protocol):
    """One open, greeted SMTP connection; every answer comes back as a Reply."""

    host: str
    ip: str
    extensions: frozenset[str]  # upper-case EHLO keywords ("STARTTLS", "SMTPUTF8", ...)

    async def mail(self, sender: str, *, smtputf8: bool = False) -> Reply: ...

    async def rcpt(self, recipient: str) -> Reply: ...

    async def rset(self) -> Reply: ...


class Connector(Protocol):
    """Opens the TCP connection a session runs on, to the exact vetted IP (engine.egress:
    SOCKS proxies, bound source addresses). Raises SmtpTransient (stage CONNECT) on failure."""

    label: str  # how sessions leave, for evidence: "through socks5://...:1080 (egress a)"

    async def connect(self, ip: str, port: int, family: int, timeout_s: float) -> socket.socket:
        """A connected, non-blocking socket to (ip, port)."""
        ...


class SmtpTransport(Protocol):
    """Opens sessions: connect, greeting, EHLO (HELO fallback), STARTTLS per policy; QUIT on exit.

    `open` raises SmtpTransient / SmtpProtocolError when it could not talk, NoPublicMxAddress
    for an address the SSRF guard refuses.
    """

    def open(self, host: str, ip: str, port: int) -> AbstractAsyncContextManager[SmtpSession]: ...


# Pure pieces ------------------------------------------------------------------------------


def parse_reply(code: int, message: str, stage: Stage) -> Reply:
    """A Reply from a basic code and aiosmtplib's message (lines joined by "\\n").

    The RFC 3463 code is taken from the first line when its class matches the basic code's;
    later lines repeating it are trimmed. Raises SmtpProtocolError for what is not SMTP.
    """
    if not 200 <= code <= 599:
        raise SmtpProtocolError(f"not an SMTP reply: {message[:80]!r}", stage=stage)
    # Keep the evidence printable and encodable whatever the server sent.
    message = message.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    lines = [_FORBIDDEN.sub(" ", line).strip() for line in message.split("\n")]
    if len(lines) > _MAX_REPLY_LINES:
        raise SmtpProtocolError(f"reply of {len(lines)} lines", stage=stage)
    enhanced, _ = parse_enhanced(lines[0])
    if enhanced is not None and enhanced[0] != str(code)[0]:
        enhanced = None  # RFC 3463 §2: the class must agree with the basic code
    parts = []
    for line in lines:
        found, rest = parse_enhanced(line)
        parts.append(rest if found is not None and found == enhanced else line)
    text = " ".join(part for part in parts if part)
    return Reply(code, text[:_MAX_REPLY_TEXT], enhanced, stage)


def guard_argument(arg: str) -> str:
    """The transport's seam: refuse an argument that could end the line and start a command.

    Raises InvalidAddress for CR, LF, NUL or any other control character; returns `arg`.
    """
    if _FORBIDDEN.search(arg):
        raise InvalidAddress(f"control character in SMTP argument {arg[:40]!r}")
    return arg


def random_local() -> str:
    """An improbable local part for the catch-all probe: 24 random lower-case letters and digits."""
    return "".join(secrets.choice(_RANDOM_ALPHABET) for _ in range(_RANDOM_LOCAL_LENGTH))


def looks_like_mail_name(name: str) -> bool:
    """Whether a HELO name could be a real, resolvable host name (not "localhost", an IP...)."""
    name = name.lower().rstrip(".")
    if "." not in name or name == "localhost" or name.endswith(".localhost"):
        return False
    if name.endswith(_PRIVATE_TLDS) or name.strip("[]").replace(".", "").isdigit():
        return False
    with contextlib.suppress(ValueError):
        ipaddress.ip_address(name.strip("[]"))
        return False
    return True


def helo_name_for(config: Config, fqdn: str) -> str:
    """The EHLO name: the configured one, else this machine's FQDN (never somebody else's)."""
    return config.helo_name or fqdn or "localhost"


def mail_from_for(config: Config, helo: str) -> str:
    """MAIL FROM: the configured one ("" is the null sender <>), else verify@<helo name>."""
    return config.mail_from if config.mail_from is not None else f"verify@{helo}"


class Identity:
    """HELO name and sender, worked out once on first use (getfqdn may block on DNS)."""

    def __init__(self, config: Config, fqdn: Callable[[], str] = socket.getfqdn) -> None:
        self._config = config
        self._fqdn = fqdn
        self._helo: str | None = None

    async def helo(self) -> str:
        if self._helo is None:
            fqdn = "" if self._config.helo_name else await asyncio.to_thread(self._fqdn)
            name = helo_name_for(self._config, fqdn)
            if not looks_like_mail_name(name):
                log.warning(
                    "HELO name %r does not look like a public host name; receiving servers "
                    "may distrust or refuse it: set Config.helo_name to a name whose A record "
                    "and PTR point at this machine",
                    name,
                )
            self._helo = name
        return self._helo

    async def sender(self) -> str:
        if self._config.mail_from is not None:
            return self._config.mail_from
        return mail_from_for(self._config, await self.helo())


# The aiosmtplib adapter ---------------------------------------------------------------------


def _tls_context(verify: bool) -> ssl.SSLContext:
    if verify:
        return ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    # RFC 7435: opportunistic TLS between MTAs encrypts without authenticating; no CA store.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _failure(
    exc: BaseException,
    stage: Stage,
    what: str,
    *,
    timeout_s: float | None = None,
    partial: int = 0,
) -> SmtpError:
    """Translate an aiosmtplib/OS error into ours, keeping any reply it carried, in words a
    person can read ("greeting: the server closed the connection").

    A reply that began but did not end in time (`partial` bytes of it had come) is a protocol
    violation, as is anything that is not SMTP: asking that host again would only repeat it.
    """
    code = getattr(exc, "code", None)
    message = str(getattr(exc, "message", exc))
    if isinstance(code, int) and 200 <= code <= 599:
        reply = parse_reply(code, message, stage)
        return SmtpTransient(f"{what}: {reply}", reply=reply)
    if partial and _is_timeout(exc):
        within = f" in {timeout_s:g} s" if timeout_s else ""
        return SmtpProtocolError(
            f"{what}: a reply that never ended ({partial} bytes{within})", stage=stage
        )
    text = f"{what}: {_describe(exc, timeout_s)}"
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return SmtpProtocolError(text, stage=stage)
    return SmtpTransient(text, stage=stage)


def _is_timeout(exc: BaseException) -> bool:
    return isinstance(exc, (TimeoutError, asyncio.TimeoutError))


def _describe(exc: BaseException, timeout_s: float | None) -> str:
    """What went wrong, for a person: never aiosmtplib's "Error connecting to None on port
    None" (it names the host it was given, and we give it a socket)."""
    if _is_timeout(exc):
        return f"no answer within {timeout_s:g} s" if timeout_s else "no answer in time"
    if isinstance(exc, aiosmtplib.SMTPConnectError) and exc.__cause__ is not None:
        return _describe(exc.__cause__, timeout_s)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        text = exc.message
        if text.startswith("Malformed SMTP response line:"):
            return f"not SMTP: {text.partition(':')[2].strip()[:80]!r}"
        if text == "Response too long":
            return "a reply too long for SMTP (a line over 8 KiB, or over 32 KiB in all)"
        return f"not an SMTP reply: {exc.code} {text[:80]!r}"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset by the server"
    if isinstance(exc, (aiosmtplib.SMTPServerDisconnected, BrokenPipeError, EOFError)):
        return "the server closed the connection"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {exc.reason or exc}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[:120]
    return f"{type(exc).__name__}: {str(exc)[:120]}"


def _pending_bytes(protocol: object) -> int:
    """Bytes of a reply that has begun and not ended: aiosmtplib keeps them in its protocol's
    buffer, which outlives the connection (it drops the protocol itself on a timeout, so
    callers take it before the command)."""
    buffer = getattr(protocol, "_buffer", None)
    return len(buffer) if isinstance(buffer, (bytes, bytearray)) else 0


def _can_pipeline(proto: object) -> bool:
    """Whether aiosmtplib's protocol exposes what a pipelined read needs (else: one by one)."""
    return all(
        hasattr(proto, name)
        for name in ("_buffer", "_read_response_from_buffer", "_command_lock", "write", "transport")
    )


async def _pipelined(
    proto: Any, wire: bytes, stages: Sequence[Stage], timeout_s: float
) -> list[Reply]:
    """Write a group of commands at once and read one reply per stage, in order.

    aiosmtplib reads one reply per command written and drops bytes that arrive while no reply
    is awaited, so for the group the protocol's buffer is fed directly and parsed here.
    """
    loop = asyncio.get_running_loop()
    arrived = asyncio.Event()

    def received(data: bytes) -> None:
        proto._buffer.extend(data)
        arrived.set()

    replies: list[Reply] = []
    count = len(stages)
    deadline = loop.time() + timeout_s
    async with proto._command_lock:
        proto.data_received = received
        try:
            proto.write(wire)
            for _ in range(count * 1000):  # bounded: every pass parses, waits or fails
                try:
                    response = proto._read_response_from_buffer()
                except aiosmtplib.SMTPException as exc:
                    stage = stages[len(replies)]
                    raise _failure(exc, stage, f"{stage.name} (pipelined group)") from exc
                if response is not None:
                    reply = parse_reply(response.code, response.message, stages[len(replies)])
                    replies.append(reply)
                    if reply.code == 421 or len(replies) == count:
                        break  # RFC 5321 §3.8: after 421 nothing more will come
                    continue
                left = deadline - loop.time()
                stage = stages[len(replies)]
                what = f"{stage.name} (pipelined group)"
                if left <= 0:
                    expired = asyncio.TimeoutError()
                    partial = len(proto._buffer)
                    raise _failure(expired, stage, what, timeout_s=timeout_s, partial=partial)
                if proto.transport is None or proto.transport.is_closing():
                    raise SmtpTransient(f"{what}: the server closed the connection", stage=stage)
                arrived.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(arrived.wait(), min(left, 0.25))
        finally:
            del proto.data_received  # back to aiosmtplib's own reader
    return replies


async def answer_or_closing(command: Awaitable[Reply]) -> Reply:
    """The command's reply; a 421 that ends the session is returned too, not raised, so the
    replies before it in a group keep their meaning."""
    try:
        return await command
    except SmtpTransient as exc:
        if exc.reply is not None and exc.reply.code == 421:
            return exc.reply
        raise


class _AioSession:
    def __init__(self, client: aiosmtplib.SMTP, host: str, ip: str, command_s: float) -> None:
        self.host = host
        self.ip = ip
        self.extensions = frozenset(k.upper() for k in client.esmtp_extensions)
        self._client = client
        self._command_s = command_s
        self._utf8 = False
        self._quit_sent = False

    async def mail(self, sender: str, *, smtputf8: bool = False) -> Reply:
        self._utf8 = smtputf8
        params = [b"SMTPUTF8"] if smtputf8 else []
        return await self._command(Stage.MAIL, b"MAIL", f"FROM:<{sender}>", *params)

    async def rcpt(self, recipient: str) -> Reply:
        return await self._command(Stage.RCPT, b"RCPT", f"TO:<{recipient}>")

    async def rset(self) -> Reply:
        return await self._command(Stage.RSET, b"RSET")

    async def transaction(
        self, sender: str, recipients: Sequence[str], *, smtputf8: bool = False, last: bool = False
    ) -> list[Reply]:
        """MAIL FROM, an RCPT TO per recipient and RSET: one write and one round trip when the
        server offers PIPELINING (RFC 2920 §3.1 lets MAIL, RCPT and RSET share a group).

        With `last`, QUIT takes RSET's place at the end of the group (RFC 2920 §3.1: QUIT may
        end a group) and its 221 is awaited with the rest, so closing costs no round trip of
        its own. Returns the MAIL reply, then the RCPT replies, then the RSET (or QUIT) reply;
        fewer when the server ends the session (421) or refuses MAIL.
        """
        proto = self._client.protocol
        if "PIPELINING" not in self.extensions or not _can_pipeline(proto):
            mail = await self.mail(sender, smtputf8=smtputf8)
            if mail.code // 100 != 2:
                return [mail]
            replies = [mail]
            for recipient in recipients:
                reply = await answer_or_closing(self.rcpt(recipient))
                replies.append(reply)
                if reply.code == 421:
                    return replies  # RFC 5321 §3.8: the server is closing the session
            replies.append(await self.rset())
            return replies
        self._utf8 = smtputf8
        encoding = "utf-8" if smtputf8 else "ascii"
        try:  # every argument passes the guard before anything is written
            mail_line = b"MAIL FROM:<" + guard_argument(sender).encode(encoding) + b">"
            if smtputf8:
                mail_line += b" SMTPUTF8"
            lines = [mail_line]
            lines += [b"RCPT TO:<" + guard_argument(r).encode(encoding) + b">" for r in recipients]
        except UnicodeEncodeError as exc:
            raise InvalidAddress("a non-ASCII address needs an SMTPUTF8 transaction") from exc
        lines.append(b"QUIT" if last else b"RSET")
        stages = [Stage.MAIL, *([Stage.RCPT] * len(recipients)), Stage.QUIT if last else Stage.RSET]
        assert proto is not None
        wire = b"".join(line + b"\r\n" for line in lines)
        self._quit_sent = last
        replies = await _pipelined(proto, wire, stages, self._command_s)
        if replies and replies[0].code // 100 != 2:
            return replies[:1]  # the RCPTs were answered "need MAIL first": not about them
        return replies

    async def _command(self, stage: Stage, verb: bytes, *args: str | bytes) -> Reply:
        encoding = "utf-8" if self._utf8 else "ascii"
        try:  # every argument passes the guard before anything is written
            wire = [a if isinstance(a, bytes) else guard_argument(a).encode(encoding) for a in args]
        except UnicodeEncodeError as exc:
            raise InvalidAddress("a non-ASCII address needs an SMTPUTF8 transaction") from exc
        protocol = self._client.protocol
        try:
            response = await self._client.execute_command(verb, *wire, timeout=self._command_s)
        except (aiosmtplib.SMTPException, OSError) as exc:
            partial = _pending_bytes(protocol)
            what = verb.decode()
            raise _failure(exc, stage, what, timeout_s=self._command_s, partial=partial) from exc
        reply = parse_reply(response.code, response.message, stage)
        if reply.code == 421:  # RFC 5321 §3.8: the server is closing the channel
            raise SmtpTransient(f"{verb.decode()}: {reply}", reply=reply)
        return reply

    async def quit(self) -> None:
        transport = self._client.transport
        if not self._quit_sent:  # else it went out at the end of the last pipelined group
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await self._client.quit(timeout=min(self._command_s, _QUIT_TIMEOUT_S))
        self._client.close()
        # A TLS close waits for the server's close_notify, which may never come before the
        # loop ends; after QUIT nothing more is owed, so drop the socket now.
        if isinstance(transport, asyncio.Transport):
            transport.abort()


async def _connect_directly(ip: str, port: int, family: int, timeout_s: float) -> socket.socket:
    """A TCP connection to (ip, port); the socket never outlives a failure or a cancel."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        loop = asyncio.get_running_loop()
        await asyncio.wait_for(loop.sock_connect(sock, (ip, port)), timeout_s)
    except (OSError, asyncio.TimeoutError) as exc:
        sock.close()
        what = f"connect to port {port}"
        raise _failure(exc, Stage.CONNECT, what, timeout_s=timeout_s) from exc
    except asyncio.CancelledError:  # the caller's time limit: no socket left for the GC
        sock.close()
        raise
    return sock


class AioSmtpTransport:
    """SmtpTransport on aiosmtplib, connecting to the exact IP the DNS stage approved."""

    def __init__(
        self,
        config: Config,
        *,
        fqdn: Callable[[], str] = socket.getfqdn,
        connector: Connector | None = None,
    ) -> None:
        self._config = config
        self._identity = Identity(config, fqdn)
        self._context: ssl.SSLContext | None = None
        self._connector = connector  # None: connect directly from any local address

    def open(self, host: str, ip: str, port: int) -> AbstractAsyncContextManager[SmtpSession]:
        return self._open(host, ip, port)

    @asynccontextmanager
    async def _open(self, host: str, ip: str, port: int) -> AsyncIterator[SmtpSession]:
        # A name would be resolved again here, after the DNS stage vetted it: DNS rebinding.
        try:
            family = socket.AF_INET6 if ipaddress.ip_address(ip).version == 6 else socket.AF_INET
        except ValueError:
            raise NoPublicMxAddress(f"not an IP address: {ip!r}") from None
        if not self._config.allow_private_addresses and not is_public_ip(ip):
            raise NoPublicMxAddress(f"{ip} is not a public address")
        try:
            client = await self._connect(host, ip, port, family)
        except SmtpError as exc:
            raise self._via(exc) from exc.__cause__
        session = _AioSession(client, host, ip, self._config.timeouts.command_s)
        done = False
        try:
            yield session
            done = True
        except SmtpError as exc:
            raise self._via(exc) from exc.__cause__
        finally:
            if done:
                await session.quit()
            else:
                client.close()

    async def _connect(self, host: str, ip: str, port: int, family: int) -> aiosmtplib.SMTP:
        t = self._config.timeouts
        helo = await self._identity.helo()
        if self._connector is not None:
            sock = await self._connector.connect(ip, port, family, t.connect_s)
        else:
            sock = await _connect_directly(ip, port, family, t.connect_s)
        ready = False
        try:  # from here on, the socket is closed on any way out but success (a cancel too)
            if self._context is None:  # loading the CA store reads files: once, off the loop
                verify = self._config.verify_certificates
                self._context = await asyncio.to_thread(_tls_context, verify)
            context = self._context
            client = aiosmtplib.SMTP(
                sock=sock,
                local_hostname=helo,
                timeout=t.command_s,
                start_tls=False,  # we decide below, per TlsPolicy
                validate_certs=self._config.verify_certificates,
                tls_context=context,
            )
            try:
                await self._greet(client, helo, t.greeting_s)
                await self._maybe_starttls(client, host, helo, context)
                ready = True
            finally:
                if not ready:
                    client.close()
        finally:
            if not ready:
                sock.close()
        return client

    def _via(self, exc: SmtpError) -> SmtpError:
        """`exc` with how the session left (the proxy, the source address) in its evidence:
        a proxy can close or stall a session as well as the mail server can."""
        label = self._connector.label if self._connector is not None else ""
        if not label or isinstance(exc, ProxyFault) or label in str(exc):
            return exc
        return type(exc)(f"{exc} ({label})", reply=exc.reply, stage=exc.stage)

    async def _greet(self, client: aiosmtplib.SMTP, helo: str, greeting_s: float) -> None:
        # The greeting is timed here rather than by aiosmtplib, so that at the end of the time
        # what has come of it is still there to look at: nothing (a silent server, a
        # connection-level fault) or a reply that began and never ended (a tarpit's endless
        # 220- lines, a server that says a byte a second: a protocol violation).
        connecting = asyncio.ensure_future(client.connect(timeout=None))
        try:
            await asyncio.wait((connecting,), timeout=greeting_s)
        except asyncio.CancelledError:
            connecting.cancel()
            raise
        if not connecting.done():
            partial = _pending_bytes(client.protocol)
            connecting.cancel()
            await asyncio.wait((connecting,))  # its end, whatever it is (a caller's cancel passes)
            if not connecting.cancelled():
                connecting.exception()  # retrieved: the timeout below is what is reported
            expired = asyncio.TimeoutError()
            raise _failure(
                expired, Stage.GREETING, "greeting", timeout_s=greeting_s, partial=partial
            ) from expired
        try:
            connecting.result()
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise _failure(exc, Stage.GREETING, "greeting", timeout_s=greeting_s) from exc
        await self._hello(client, helo)

    async def _hello(self, client: aiosmtplib.SMTP, helo: str) -> None:
        command_s = self._config.timeouts.command_s
        protocol = client.protocol
        try:
            await client.ehlo(hostname=helo, timeout=command_s)
            return
        except aiosmtplib.SMTPHeloError as exc:
            if exc.code == 421 or not client.is_connected:
                raise _failure(exc, Stage.EHLO, "EHLO") from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            partial = _pending_bytes(protocol)
            raise _failure(exc, Stage.EHLO, "EHLO", timeout_s=command_s, partial=partial) from exc
        protocol = client.protocol
        try:  # RFC 5321 §3.2: a server that does not know EHLO still takes HELO
            await client.helo(hostname=helo, timeout=command_s)
        except (aiosmtplib.SMTPException, OSError) as exc:
            partial = _pending_bytes(protocol)
            raise _failure(exc, Stage.EHLO, "HELO", timeout_s=command_s, partial=partial) from exc

    async def _maybe_starttls(
        self, client: aiosmtplib.SMTP, host: str, helo: str, context: ssl.SSLContext
    ) -> None:
        policy = self._config.starttls
        if policy is TlsPolicy.NEVER:
            return
        if not client.supports_extension("starttls"):
            if policy is TlsPolicy.REQUIRED:
                raise SmtpTransient("STARTTLS required but not offered", stage=Stage.STARTTLS)
            return
        try:
            await client.starttls(
                server_hostname=host, tls_context=context, timeout=self._config.timeouts.command_s
            )
        except aiosmtplib.SMTPResponseException as exc:
            # A refused STARTTLS (454) leaves a usable plaintext session.
            if policy is TlsPolicy.REQUIRED or exc.code == 421 or not client.is_connected:
                raise _failure(exc, Stage.STARTTLS, "STARTTLS") from exc
            return
        except (aiosmtplib.SMTPException, OSError) as exc:  # ssl.SSLError is an OSError
            command_s = self._config.timeouts.command_s
            raise _failure(exc, Stage.STARTTLS, "STARTTLS", timeout_s=command_s) from exc
        await self._hello(client, helo)  # RFC 3207 §4.2: forget what was said before TLS
