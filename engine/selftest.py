"""The egress self-test of `mailprobe doctor`: through each egress, reach the proxy, authenticate,
reach a mail host's port 25 and read its banner; say which step failed and what to fix.

One session per egress to the probe domain's first mail host, greeting, EHLO and QUIT only (no
MAIL, no RCPT); the mail host's address comes from the engine's DNS stage, so the SSRF guard
applies as in a real run, and the proxy is handed that vetted IP.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
from collections.abc import Sequence

from engine.config import Config, TlsPolicy
from engine.egress import SOCKS_EXTRA_HINT, ProxyStep, connector_for, egress_config
from engine.errors import ProxyFault, SmtpError
from engine.model import MxHost, Stage
from engine.routing import Egress
from engine.smtp import AioSmtpTransport, SmtpTransport

__all__ = ["FIXES", "SelfTest", "self_test"]

FIXES = {
    ProxyStep.SETUP: SOCKS_EXTRA_HINT,
    ProxyStep.REACH: (
        "check the proxy's host and port in the URL, that the proxy runs, and that no firewall "
        "stands between this machine and it (and, with source_address, that this machine has "
        "that address)"
    ),
    ProxyStep.AUTHENTICATE: (
        "put the proxy's user name and password in its URL (socks5://user:pass@host:port, "
        "percent-encoded); Dante's `username` method checks system accounts and needs "
        "`user.privileged: root`"
    ),
    ProxyStep.CONNECT: (
        "the proxy refuses or cannot reach port 25: allow it in the proxy's rules (Dante: a "
        "`socks pass` rule for port 25); most commercial proxies block port 25 for good, so "
        "run your own (Dante or microsocks on a host with port 25 open and a PTR record)"
    ),
    ProxyStep.HANDSHAKE: (
        "the proxy hung up or went silent before it connected: most often it blocks or "
        "blackholes port 25 (run your own proxy), or it is not a SOCKS proxy at all"
    ),
}
DIRECT_FIX = (
    "this machine (from the egress's source address, if it has one) cannot open port 25 to "
    "the mail host: check that the address is configured here, and that no firewall or "
    "provider blocks outbound port 25"
)
BANNER_FIX = (
    "the connection stands but the mail host sent no usable greeting: a 4xx/5xx banner "
    "usually means the egress IP is on a blocklist (record the text; use an egress with a "
    "clean IP and a matching PTR); silence means something on the way holds port 25"
)
HELO_FIX = (
    "the mail host greeted and then refused EHLO: give this egress a helo_name that its own "
    "IP's PTR record names"
)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SelfTest:
    """What the self-test of one egress found."""

    egress: Egress
    ok: bool
    steps: tuple[str, ...]  # the steps that passed, in order
    failed: str | None = None  # the step that failed
    detail: str = ""
    fix: str | None = None

    def message(self) -> str:
        done = ", ".join(self.steps)
        if self.ok:
            return f"{self.egress.describe()}: {done}"
        then = f"{done}; then " if done else ""
        return f"{self.egress.describe()}: {then}could not {self.failed}: {self.detail}"


async def self_test(
    config: Config,
    egress: Egress,
    targets: Sequence[MxHost],
    *,
    transport: SmtpTransport | None = None,
) -> SelfTest:
    """The ladder through `egress` against the first address of the first host in `targets`.

    Never raises for a failed step; `transport` replaces the egress's own (tests).
    """
    steps: list[str] = []
    hosts = [mx for mx in targets if mx.ips]
    if not hosts:
        return SelfTest(
            egress=egress,
            ok=False,
            steps=(),
            failed="find a mail host",
            detail="the probe domain has no mail host address",
            fix="choose another --probe-domain",
        )
    host, ip = hosts[0].host, hosts[0].ips[0]
    port = config.smtp_port
    timeout_s = config.timeouts.connect_s
    if egress.proxy is not None:
        reached = await _reach_proxy(egress, timeout_s)
        if reached is not None:
            return _failed(egress, steps, ProxyStep.REACH, reached)
        steps.append(f"reached the proxy {egress.proxy.host}:{egress.proxy.port}")
    own = dataclasses.replace(egress_config(config, egress), starttls=TlsPolicy.NEVER)
    if transport is None:
        transport = AioSmtpTransport(own, connector=connector_for(egress))
    t = config.timeouts
    bound_s = t.connect_s + t.greeting_s + 2 * t.command_s + 1.0
    try:
        await asyncio.wait_for(_greet(transport, host, ip, port), bound_s)
    except ProxyFault as exc:
        step = ProxyStep(exc.step)
        if step is ProxyStep.CONNECT:
            steps.append(_authenticated(egress))
        # The step is said once: keep what the fault adds after "could not <step>: ".
        detail = str(exc).split(f"could not {exc.step}: ", 1)[-1]
        return _failed(egress, steps, step, detail)
    except SmtpError as exc:
        if exc.stage is Stage.CONNECT:
            return SelfTest(
                egress=egress,
                ok=False,
                steps=tuple(steps),
                failed=f"connect to {host} [{ip}]:{port}",
                detail=str(exc),
                fix=DIRECT_FIX,
            )
        if egress.proxy is not None:
            steps.append(_authenticated(egress))
        steps.append(f"connected to {host} [{ip}]:{port}")
        failed = "read the banner" if exc.stage is Stage.GREETING else "say EHLO"
        fix = BANNER_FIX if exc.stage is Stage.GREETING else HELO_FIX
        return SelfTest(
            egress=egress, ok=False, steps=tuple(steps), failed=failed, detail=str(exc), fix=fix
        )
    except asyncio.TimeoutError:
        return SelfTest(
            egress=egress,
            ok=False,
            steps=tuple(steps),
            failed="finish the session",
            detail=f"no end within {bound_s:g} s",
            fix=BANNER_FIX,
        )
    if egress.proxy is not None:
        steps.append(_authenticated(egress))
    steps.append(f"{host} [{ip}]:{port} greeted and took EHLO")
    return SelfTest(egress=egress, ok=True, steps=tuple(steps))


async def _greet(transport: SmtpTransport, host: str, ip: str, port: int) -> None:
    async with transport.open(host, ip, port):
        pass  # greeted and EHLO answered; leaving says QUIT


async def _reach_proxy(egress: Egress, timeout_s: float) -> str | None:
    """None when a TCP connection to the proxy opens, else why not."""
    assert egress.proxy is not None
    proxy = egress.proxy
    local = (egress.source_address, 0) if egress.source_address else None
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(proxy.host, proxy.port, local_addr=local), timeout_s
        )
    except asyncio.TimeoutError:
        return f"no TCP connection to {proxy.host}:{proxy.port} within {timeout_s:g} s"
    except (OSError, socket.gaierror) as exc:
        return f"{proxy.host}:{proxy.port}: {type(exc).__name__}: {exc}"
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return None


def _authenticated(egress: Egress) -> str:
    user = egress.proxy.username if egress.proxy is not None else None
    return f"authenticated as {user}" if user else "SOCKS handshake done (no authentication)"


def _failed(egress: Egress, steps: list[str], step: ProxyStep, detail: str) -> SelfTest:
    return SelfTest(
        egress=egress,
        ok=False,
        steps=tuple(steps),
        failed=step.value,
        detail=detail,
        fix=FIXES[step],
    )
