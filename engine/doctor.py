"""`mailprobe doctor`: checks what real verification needs from this machine, and says what to fix.

Runs the checks (resolver, outbound port 25, HELO name, MAIL FROM domain: engine.dnschecks and
engine.portchecks) in order, prints the report and reads the command's options. It opens at most
one connection to each of at most two MX hosts, sends no MAIL or RCPT, and goes through the
engine's own DNS and SMTP stages, so the SSRF guard applies as in a real run.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace

from engine.config import Config, TlsPolicy
from engine.dnschecks import check_helo, check_mail_from, check_resolver, helo_name_problem
from engine.findings import Check
from engine.mx import DnsPythonResolver, MxLookup, Resolver
from engine.options import (
    SETTINGS_EPILOG,
    UsageError,
    add_engine_options,
    add_spread_option,
    config_from_args,
)
from engine.portchecks import check_egress, check_port
from engine.settings import unknown_variables
from engine.smtp import AioSmtpTransport, SmtpTransport, helo_name_for

__all__ = [
    "Check",
    "add_parser",
    "exit_code",
    "format_checks",
    "run",
    "run_checks",
]

log = logging.getLogger(__name__)

DEFAULT_PROBE_DOMAIN = "gmail.com"


# -- running the checks --------------------------------------------------------------------------


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
    first, answered = await _guarded("resolver", check_resolver(config, resolver, probe_domain))
    lookup = MxLookup(config, resolver)
    if answered:
        # With egresses, port 25 is reached through each of them: the self-test replaces the
        # direct port check (a machine behind proxies may well have port 25 closed itself).
        reach = (
            [
                _guarded(f"egress {e.name}", check_egress(config, lookup, e, probe_domain))
                for e in config.egresses
            ]
            if config.egresses
            else [_guarded(port_name, check_port(config, lookup, transport, probe_domain))]
        )
        rest = (
            *reach,
            _guarded("HELO name", check_helo(config, resolver, helo)),
            _guarded("MAIL FROM domain", check_mail_from(config, lookup, helo)),
        )
        found = await asyncio.gather(*rest)
        return [first, *(check for check, _ in found)]
    skipped = "not checked: the resolver does not answer"
    helo_check = helo_name_problem(config, helo) or Check(
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
