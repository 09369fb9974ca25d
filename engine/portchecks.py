"""The port check of `mailprobe doctor`: whether this machine reaches mail servers' port 25,
directly (a greeting from each of at most two MX hosts) or through each egress (engine.selftest).

One connection to each host, greeting and QUIT only (no MAIL, no RCPT), through the engine's own
DNS stage and SMTP transport, so the SSRF guard applies as in a real run. A failure says where it
happened (connect, greeting, after it) and who said no. Each check returns its Check (and True,
as the DNS checks say whether the resolver answered) and never raises for what it finds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from engine.config import Config
from engine.errors import (
    DnsError,
    NoMailServer,
    NoPublicMxAddress,
    NoSuchDomain,
    NullMx,
    SmtpError,
    SmtpProtocolError,
)
from engine.findings import HELO_FIX, RESOLVER_FIX, Check, Status
from engine.model import MxHost, Stage
from engine.mx import MxLookup
from engine.routing import Egress
from engine.selftest import self_test
from engine.smtp import SmtpTransport

__all__ = ["MAX_PORT_HOSTS", "check_egress", "check_port"]

MAX_PORT_HOSTS = 2  # MX hosts tried for the port check, one connection each

BLOCKED_FIX = (
    "many cloud providers block outbound port 25; "
    "ask your provider to open it or run mailprobe on a host that can"
)
REFUSED_BY_SERVER_FIX = (
    "the reply says why; a 5xx greeting usually means this machine's IP is on a blocklist (cloud "
    "and residential ranges often are, e.g. Spamhaus PBL): run mailprobe on a host with a clean "
    "IP and a matching PTR"
)


@dataclass(frozen=True, slots=True)
class _Attempt:
    """One connection of the port check: what happened, in words, and how bad it is."""

    kind: str  # "ok", "blocked", "refused-by-server", "after-greeting", "other"
    text: str
    fix: str | None = None


async def check_port(
    config: Config, lookup: MxLookup, transport: SmtpTransport, domain: str
) -> tuple[Check, bool]:
    """A greeting from the first of `domain`'s mail hosts that gives one (MAX_PORT_HOSTS tried)."""
    name = f"outbound port {config.smtp_port}"
    port = config.smtp_port
    try:
        hosts = await lookup.lookup(domain)
    except NoPublicMxAddress as exc:
        message = f"not checked: the SSRF guard refuses every mail host of {domain} ({exc})"
        fix = "choose another --probe-domain (or --allow-private for an intranet)"
        return Check(name=name, status="warn", message=message, fix=fix), True
    except (NullMx, NoMailServer, NoSuchDomain) as exc:
        message = f"not checked: {domain} has no mail host to connect to ({exc})"
        return Check(
            name=name, status="warn", message=message, fix="choose another --probe-domain"
        ), True
    except (DnsError, ValueError) as exc:  # ValueError: a domain literal, which has no MX
        message = f"not checked: could not resolve the mail hosts of {domain} ({exc})"
        return Check(name=name, status="warn", message=message, fix=RESOLVER_FIX), True
    attempts: list[_Attempt] = []
    for mx in _targets(hosts):
        attempt = await _attempt(config, transport, mx.host, mx.ips[0], port)
        if attempt.kind == "ok":
            tried = "".join(f"; {a.text}" for a in attempts)
            message = f"port {port} reachable ({attempt.text}{tried})"
            return Check(name=name, status="ok", message=message), True
        attempts.append(attempt)
    if not attempts:
        message = f"not checked: no mail host of {domain} has an address"
        return Check(name=name, status="warn", message=message), True
    head = attempts[0]
    details = "; ".join(a.text for a in attempts)
    if head.kind == "blocked":
        return Check(
            name=name, status="fail", message=f"port {port} looks blocked: {details}", fix=head.fix
        ), True
    if head.kind in ("refused-by-server", "after-greeting"):
        message = f"port {port} reachable, but {details}"
        return Check(name=name, status="warn", message=message, fix=head.fix), True
    return Check(name=name, status="fail", message=details, fix=head.fix), True


async def check_egress(
    config: Config, lookup: MxLookup, egress: Egress, domain: str
) -> tuple[Check, bool]:
    """The self-test ladder through one egress (engine.selftest), as a Check."""
    name = f"egress {egress.name}"
    try:
        hosts = await lookup.lookup(domain)
    except (DnsError, ValueError) as exc:
        message = f"not checked: no usable mail host for {domain} ({exc})"
        fix = "choose another --probe-domain (or --allow-private for an intranet)"
        return Check(name=name, status="warn", message=message, fix=fix), True
    found = await self_test(config, egress, hosts)
    status: Status = "ok" if found.ok else "fail"
    return Check(name=name, status=status, message=found.message(), fix=found.fix), True


def _targets(hosts: Sequence[MxHost]) -> list[MxHost]:
    """The first address of each of the first MAX_PORT_HOSTS hosts that have one."""
    return [mx for mx in hosts if mx.ips][:MAX_PORT_HOSTS]


async def _attempt(
    config: Config, transport: SmtpTransport, host: str, ip: str, port: int
) -> _Attempt:
    t = config.timeouts
    where = f"{host} [{ip}]"
    # The transport bounds each step; this bound is for one that does not.
    bound_s = t.connect_s + t.greeting_s + 2 * t.command_s + 1.0

    async def greet() -> None:
        async with transport.open(host, ip, port):
            pass  # greeted; leaving the session says QUIT

    try:
        await asyncio.wait_for(greet(), bound_s)
    except SmtpError as exc:
        return _explain(exc, where, config)
    except NoPublicMxAddress as exc:
        return _Attempt("other", f"{where}: {exc}", "choose another --probe-domain")
    except asyncio.TimeoutError:
        return _Attempt("blocked", f"{where} did not finish within {bound_s:g} s", BLOCKED_FIX)
    return _Attempt("ok", f"greeting from {where}")


def _is_timeout(exc: BaseException | None) -> bool:
    return isinstance(exc, (TimeoutError, asyncio.TimeoutError))


def _explain(exc: SmtpError, where: str, config: Config) -> _Attempt:
    """Words for a failed session: timeout, refused and reset are told apart, as is who said no."""
    t = config.timeouts
    cause = exc.__cause__
    stage = exc.stage
    if stage is Stage.CONNECT:
        if _is_timeout(cause):
            text = f"connection to {where} timed out after {t.connect_s:g} s"
            return _Attempt("blocked", text, BLOCKED_FIX)
        if isinstance(cause, ConnectionRefusedError):
            text = f"connection to {where} was refused"
            fix = (
                "a firewall on the way (or on this machine) rejects outbound port "
                f"{config.smtp_port}; " + BLOCKED_FIX
            )
            return _Attempt("blocked", text, fix)
        if isinstance(cause, ConnectionResetError):
            text = f"connection to {where} was reset"
            fix = "something on the way resets these connections; " + BLOCKED_FIX
            return _Attempt("blocked", text, fix)
        text = f"could not connect to {where}: {exc}"
        fix = "this machine has no route to the mail host (no IPv6 route?); " + BLOCKED_FIX
        return _Attempt("blocked", text, fix)
    if stage is Stage.GREETING and exc.reply is None:
        if isinstance(exc, SmtpProtocolError):
            text = f"{where} answered with something that is not SMTP: {exc}"
            fix = "a transparent proxy may intercept port 25; " + BLOCKED_FIX
            return _Attempt("blocked", text, fix)
        if _is_timeout(cause):
            text = f"{where} accepted the connection but sent no greeting within {t.greeting_s:g} s"
            fix = (
                "a firewall or transparent proxy may hold port 25 (or the server is slow: "
                "try a larger --timeouts-greeting-s); " + BLOCKED_FIX
            )
            return _Attempt("blocked", text, fix)
        text = f"{where} closed the connection before its greeting ({exc})"
        fix = "a firewall or filter may cut port 25 connections; " + BLOCKED_FIX
        return _Attempt("blocked", text, fix)
    if stage is Stage.GREETING:
        return _Attempt(
            "refused-by-server",
            f"{where} turned this machine away: {exc.reply}",
            REFUSED_BY_SERVER_FIX,
        )
    if stage in (Stage.EHLO, Stage.STARTTLS):
        said = exc.reply if exc.reply is not None else exc
        text = f"{where} greeted, then the session failed at {stage.value.upper()}: {said}"
        return _Attempt("after-greeting", text, HELO_FIX)
    return _Attempt("other", f"could not talk to {where}: {exc}", BLOCKED_FIX)
