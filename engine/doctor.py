"""`mailprobe doctor`: checks what real verification needs from this machine, and says what to fix.

Resolver, outbound port 25, HELO name, MAIL FROM domain. It opens at most one connection to each
of at most two MX hosts, sends no MAIL or RCPT, and goes through the engine's own DNS and SMTP
stages, so the SSRF guard applies as in a real run.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import os
import re
import socket
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from engine.addresses import is_public_ip
from engine.clock import SystemClock
from engine.config import Config, TlsPolicy
from engine.errors import (
    DnsError,
    NoMailServer,
    NoPublicMxAddress,
    NoSuchDomain,
    NullMx,
    SmtpError,
    SmtpProtocolError,
)
from engine.model import MxHost, Stage
from engine.mx import DnsPythonResolver, MxLookup, Resolver
from engine.options import (
    SETTINGS_EPILOG,
    UsageError,
    add_engine_options,
    add_spread_option,
    config_from_args,
)
from engine.routing import Egress
from engine.selftest import self_test
from engine.settings import unknown_variables
from engine.smtp import (
    AioSmtpTransport,
    SmtpTransport,
    helo_name_for,
    looks_like_mail_name,
    mail_from_for,
)

__all__ = [
    "Check",
    "add_parser",
    "exit_code",
    "format_checks",
    "run",
    "run_checks",
]

log = logging.getLogger(__name__)

Status = Literal["ok", "warn", "fail"]

DEFAULT_PROBE_DOMAIN = "gmail.com"
MAX_PORT_HOSTS = 2  # MX hosts tried for the port check, one connection each

# DnsTransient carries the outcome in words only: "... said SERVFAIL", "no answer within 5s".
_SERVFAIL = re.compile(r"\bSERVFAIL\b", re.IGNORECASE)
_REFUSED = re.compile(r"(?:said|:)\s+REFUSED\b", re.IGNORECASE)  # not "Connection refused"
_NO_ANSWER = re.compile(r"no answer|timed? ?out|:\s+drop$", re.IGNORECASE)

RESOLVER_FIX = (
    "point mailprobe at a working recursive resolver with --nameserver IP (and --dns-port), "
    "or fix this machine's resolver configuration (/etc/resolv.conf)"
)
BLOCKED_FIX = (
    "many cloud providers block outbound port 25; "
    "ask your provider to open it or run mailprobe on a host that can"
)
REFUSED_BY_SERVER_FIX = (
    "the reply says why; a 5xx greeting usually means this machine's IP is on a blocklist (cloud "
    "and residential ranges often are, e.g. Spamhaus PBL): run mailprobe on a host with a clean "
    "IP and a matching PTR"
)
HELO_FIX = (
    "servers judge the HELO name: set --helo to a name that resolves to this machine's "
    "public IP, with a matching PTR"
)
MAIL_FROM_FIX = (
    "servers check that the sender's domain can take bounces: set --mail-from to an address "
    "at a domain you control that has MX (or A) records"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Check:
    """The outcome of one check: what was found and, unless all is well, what to do about it."""

    name: str
    status: Status
    message: str
    fix: str | None = None


# -- the checks -----------------------------------------------------------------------------


async def run_checks(
    config: Config,
    *,
    probe_domain: str = DEFAULT_PROBE_DOMAIN,
    resolver: Resolver | None = None,
    transport: SmtpTransport | None = None,
    fqdn: Callable[[], str] = socket.getfqdn,
) -> list[Check]:
    """Run every check, in order: resolver, outbound port, HELO name, MAIL FROM domain.

    Args:
        resolver: the DNS backend; DnsPythonResolver(config) when None.
        transport: opens the port check's sessions; AioSmtpTransport (no STARTTLS) when None.
        fqdn: this machine's name, the HELO name when config.helo_name is None.

    Never raises: a check that cannot run says so in its own Check.
    """
    resolver = resolver if resolver is not None else DnsPythonResolver(config)
    helo = helo_name_for(config, "" if config.helo_name else await asyncio.to_thread(fqdn))
    if transport is None:
        # Reachability needs only the greeting; STARTTLS would add a handshake and nothing more.
        transport = AioSmtpTransport(replace(config, helo_name=helo, starttls=TlsPolicy.NEVER))
    port_name = f"outbound port {config.smtp_port}"
    first, answered = await _guarded("resolver", _check_resolver(config, resolver, probe_domain))
    lookup = MxLookup(config, resolver)
    if answered:
        # With egresses, port 25 is reached through each of them: the self-test replaces the
        # direct port check (a machine behind proxies may well have port 25 closed itself).
        reach = (
            [
                _guarded(f"egress {e.name}", _check_egress(config, lookup, e, probe_domain))
                for e in config.egresses
            ]
            if config.egresses
            else [_guarded(port_name, _check_port(config, lookup, transport, probe_domain))]
        )
        rest = (
            *reach,
            _guarded("HELO name", _check_helo(config, resolver, helo)),
            _guarded("MAIL FROM domain", _check_mail_from(config, lookup, helo)),
        )
        found = await asyncio.gather(*rest)
        return [first, *(check for check, _ in found)]
    skipped = "not checked: the resolver does not answer"
    helo_check = _helo_name_problem(config, helo) or Check(
        name="HELO name", status="warn", message=f"{skipped} ({helo!r})"
    )
    return [
        first,
        Check(name=port_name, status="warn", message=skipped),
        helo_check,
        Check(name="MAIL FROM domain", status="warn", message=skipped),
    ]


async def _guarded(name: str, check: Awaitable[tuple[Check, bool]]) -> tuple[Check, bool]:
    try:
        return await check
    except Exception as exc:  # a bug in a check must not hide the other checks
        log.exception("doctor check %r failed", name)
        return Check(name=name, status="fail", message=f"internal error: {exc!r}"), True


def _resolver_name(config: Config) -> str:
    if config.nameservers is None:
        return "the system resolver"
    port = f" port {config.dns_port}" if config.dns_port != 53 else ""
    return ", ".join(config.nameservers) + port


def _dns_bound_s(config: Config) -> float:
    # The adapter gives up by itself; this bound is for a resolver that never does.
    servers = len(config.nameservers) if config.nameservers else 3  # resolv.conf holds up to 3
    return config.timeouts.dns_s * config.dns_attempts * servers + 1.0


async def _check_resolver(config: Config, resolver: Resolver, domain: str) -> tuple[Check, bool]:
    """The MX question for the probe domain; the bool says whether the resolver answered."""
    who = _resolver_name(config)
    clock = SystemClock()
    start = clock.monotonic()
    try:
        answer = await asyncio.wait_for(resolver.mx(domain), _dns_bound_s(config))
    except NoSuchDomain:
        message = f"{who} says {domain} does not exist (NXDOMAIN)"
        fix = (
            "check --probe-domain; if that domain surely exists, the resolver filters or "
            "rewrites answers: " + RESOLVER_FIX
        )
        return Check(name="resolver", status="warn", message=message, fix=fix), True
    except asyncio.TimeoutError:
        message = f"no answer from {who} within {_dns_bound_s(config):g} s ({domain} MX)"
        return Check(name="resolver", status="fail", message=message, fix=RESOLVER_FIX), False
    except DnsError as exc:
        text = str(exc)
        answered = True
        if _SERVFAIL.search(text):
            message = (
                f"{who} answered SERVFAIL to {domain} MX: it could not resolve the name "
                f"(upstream unreachable, or a DNSSEC failure) [{text}]"
            )
        elif _REFUSED.search(text):
            message = (
                f"{who} refused to answer {domain} MX (no recursion for this machine) [{text}]"
            )
        elif _NO_ANSWER.search(text):
            message = f"no answer from {who} ({domain} MX) [{text}]"
            answered = False
        else:
            message = f"{who} did not answer {domain} MX: {text}"
        return Check(name="resolver", status="fail", message=message, fix=RESOLVER_FIX), answered
    ms = (clock.monotonic() - start) * 1000.0
    records = sorted(answer.records)
    if not records:
        said = f"{domain} has no MX records"
    elif records == [(records[0][0], ".")]:
        said = f"{domain} publishes a null MX"
    else:
        more = f" (+{len(records) - 1} more)" if len(records) > 1 else ""
        said = f"{domain} MX {records[0][0]} {records[0][1]}{more}"
    return Check(name="resolver", status="ok", message=f"{who} answers: {said} ({ms:.0f} ms)"), True


@dataclass(frozen=True, slots=True)
class _Attempt:
    """One connection of the port check: what happened, in words, and how bad it is."""

    kind: str  # "ok", "blocked", "refused-by-server", "after-greeting", "other"
    text: str
    fix: str | None = None


async def _check_port(
    config: Config, lookup: MxLookup, transport: SmtpTransport, domain: str
) -> tuple[Check, bool]:
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


async def _check_egress(
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
        text = f"could not connect to {where}: {cause or exc}"
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
        text = f"{where} closed the connection before its greeting ({cause or exc})"
        fix = "a firewall or filter may cut port 25 connections; " + BLOCKED_FIX
        return _Attempt("blocked", text, fix)
    if stage is Stage.GREETING:
        return _Attempt(
            "refused-by-server",
            f"{where} turned this machine away: {exc.reply}",
            REFUSED_BY_SERVER_FIX,
        )
    if stage in (Stage.EHLO, Stage.STARTTLS):
        said = exc.reply if exc.reply is not None else (cause or exc)
        text = f"{where} greeted, then the session failed at {stage.value.upper()}: {said}"
        return _Attempt("after-greeting", text, HELO_FIX)
    return _Attempt("other", f"could not talk to {where}: {exc}", BLOCKED_FIX)


def _helo_name_problem(config: Config, helo: str) -> Check | None:
    """A warning when the HELO name cannot be a public host name; None when it could be."""
    if looks_like_mail_name(helo):
        return None
    name = helo.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        why = "is localhost"
    elif _is_ip_literal(name):
        why = "is an IP address, not a name"
    elif "." not in name:
        why = "has no dot (not a fully qualified name)"
    else:
        why = "ends in a private suffix such as .local, .lan or .internal"
    message = f"{helo!r}{_helo_source(config)} {why}"
    return Check(name="HELO name", status="warn", message=message, fix=HELO_FIX)


def _is_ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return name.strip("[]").replace(".", "").isdigit()
    return True


def _helo_source(config: Config) -> str:
    return "" if config.helo_name else " (this machine's FQDN)"


async def _check_helo(config: Config, resolver: Resolver, helo: str) -> tuple[Check, bool]:
    problem = _helo_name_problem(config, helo)
    if problem is not None:
        return problem, True
    name = f"{helo}{_helo_source(config)}"

    def warn(message: str) -> tuple[Check, bool]:
        return Check(name="HELO name", status="warn", message=message, fix=HELO_FIX), True

    try:
        found = await asyncio.wait_for(resolver.addresses(helo), _dns_bound_s(config))
    except NoSuchDomain:
        return warn(f"{name} does not resolve (NXDOMAIN)")
    except DnsError as exc:
        return warn(f"{name} could not be resolved: {exc}")
    except asyncio.TimeoutError:
        return warn(f"{name} could not be resolved: no answer")
    if not found.ips:
        return warn(f"{name} has no A or AAAA record")
    shown = ", ".join(found.ips[:4]) + (", ..." if len(found.ips) > 4 else "")
    public = [ip for ip in found.ips if is_public_ip(ip)]
    if public:
        return Check(name="HELO name", status="ok", message=f"{name} resolves to {shown}"), True
    if config.allow_private_addresses:
        message = f"{name} resolves to {shown} (private addresses allowed by --allow-private)"
        return Check(name="HELO name", status="ok", message=message), True
    return warn(f"{name} resolves only to addresses that are not public: {shown}")


async def _check_mail_from(config: Config, lookup: MxLookup, helo: str) -> tuple[Check, bool]:
    sender = mail_from_for(config, helo)
    label = "MAIL FROM domain"

    def warn(message: str) -> tuple[Check, bool]:
        return Check(name=label, status="warn", message=message, fix=MAIL_FROM_FIX), True

    if sender == "":
        return Check(name=label, status="ok", message="null sender <>: no domain to check"), True
    local, at, domain = sender.rpartition("@")
    if not at or not local or not domain:
        return warn(f"{sender!r} is not an address with a domain")
    if not looks_like_mail_name(domain):
        return warn(f"{sender}: {domain!r} is not a public domain name")
    try:
        hosts = await asyncio.wait_for(lookup.lookup(domain), 2 * _dns_bound_s(config))
    except NoPublicMxAddress:
        return warn(f"{sender}: the mail hosts of {domain} have no public address")
    except NullMx:
        return warn(f"{sender}: {domain} publishes a null MX (it takes no mail)")
    except NoMailServer:
        return warn(f"{sender}: {domain} has no MX and no A/AAAA record")
    except NoSuchDomain:
        return warn(f"{sender}: {domain} does not exist (NXDOMAIN)")
    except DnsError as exc:
        return warn(f"{sender}: could not check {domain}: {exc}")
    except asyncio.TimeoutError:
        return warn(f"{sender}: could not check {domain}: no answer")
    if hosts and hosts[0].implicit:
        said = f"{domain} has no MX but an address (RFC 5321 §5.1 implicit MX)"
    else:
        said = f"{domain} has MX " + ", ".join(h.host for h in hosts[:3])
    return Check(name=label, status="ok", message=f"{sender}: {said}"), True


# -- the report ---------------------------------------------------------------------------------


def format_checks(checks: Sequence[Check]) -> str:
    """One line per check (OK / WARN / FAIL, name, what was found; fix), then a summary line."""
    lines = []
    for check in checks:
        line = f"{check.status.upper():<4} {check.name}: {check.message}"
        if check.fix and check.status != "ok":
            line += f"; fix: {check.fix}"
        lines.append(line)
    lines.append(_summary(checks))
    return "\n".join(lines)


def _summary(checks: Sequence[Check]) -> str:
    bad = [c for c in checks if c.status != "ok"]
    if not bad:
        return f"summary: all {len(checks)} checks OK; this machine can verify addresses"
    named = ", ".join(f"{c.name} ({c.status.upper()})" for c in bad)
    return f"summary: {len(bad)} of {len(checks)} checks need fixing: {named}"


def exit_code(checks: Sequence[Check]) -> int:
    """0 when every check is OK, 1 when something needs fixing."""
    return 0 if all(c.status == "ok" for c in checks) else 1


# -- the command ---------------------------------------------------------------------------------

# The timeouts of one step each; --step-timeout sets them all (--timeout is the per-address
# budget, as in `verify`, and the doctor has no address to spend it on).
STEP_TIMEOUTS = (
    "timeouts.dns_s",
    "timeouts.connect_s",
    "timeouts.greeting_s",
    "timeouts.command_s",
)

DOCTOR_EPILOG = """\
checks: the resolver answers an MX query; outbound port 25 reaches the probe domain's mail hosts
(one connection to each of at most two, greeting and QUIT only); the HELO name is a public name
that resolves; the MAIL FROM domain has MX or A records. With egresses (--proxy, --egress),
port 25 is checked through each of them instead: reach the proxy, authenticate, reach a mail
host's port 25, read its banner; a failure names the step and what to fix.

The doctor takes the settings `verify` takes, from the same flags, config file and variables,
so `mailprobe doctor --config FILE` checks what `mailprobe verify --config FILE` would use.
--step-timeout sets the timeout of every step (DNS query, TCP connect, greeting, command).

exit codes:
  0    every check is OK
  1    something needs fixing (the summary line names it)
  2    usage error (an option, variable or config file that cannot be used)
"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `doctor` command and its options to the CLI's subparsers."""
    d = subparsers.add_parser(
        "doctor",
        help="check that this machine can verify addresses (DNS, port 25, HELO name)",
        description="Check what real verification needs from this machine, and say what to fix.",
        epilog=DOCTOR_EPILOG + SETTINGS_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    d.add_argument(
        "--probe-domain",
        default=DEFAULT_PROBE_DOMAIN,
        help=f"domain whose MX hosts the checks use (default {DEFAULT_PROBE_DOMAIN})",
    )
    add_spread_option(
        d,
        "--step-timeout",
        STEP_TIMEOUTS,
        metavar="SECONDS",
        help="seconds for each step: DNS query, TCP connect, greeting, command "
        "(sets --timeouts-dns-s, --timeouts-connect-s, --timeouts-greeting-s and "
        "--timeouts-command-s; default: theirs)",
    )
    add_engine_options(d)


def run(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> int:
    """Run the checks the parsed `doctor` options describe; print the report on stdout.

    `environ` (default os.environ) holds the MAILPROBE_* settings, read as `verify` reads them.
    Returns 0 when every check is OK, 1 when something needs fixing, 2 for unusable settings.
    """
    try:
        config = config_from_args(args, environ)
    except UsageError as exc:
        print(f"mailprobe: error: {exc}", file=sys.stderr)
        return 2
    for name in unknown_variables(environ if environ is not None else os.environ):
        log.warning("%s is not a setting and is ignored (see mailprobe config show)", name)
    checks = asyncio.run(run_checks(config, probe_domain=args.probe_domain))
    print(format_checks(checks), flush=True)
    return exit_code(checks)
