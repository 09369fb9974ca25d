"""The checks of `mailprobe doctor` that ask DNS: the resolver answers an MX question, the HELO
name is a public name that resolves, and the MAIL FROM domain can take bounces.

Through the engine's own resolver and MX lookup, so the SSRF guard applies as in a real run; no
SMTP. Each check returns its Check and whether the resolver answered, and never raises for what
it finds.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re

from engine.addresses import is_public_ip
from engine.clock import SystemClock
from engine.config import Config
from engine.errors import DnsError, NoMailServer, NoPublicMxAddress, NoSuchDomain, NullMx
from engine.findings import HELO_FIX, RESOLVER_FIX, Check
from engine.mx import MxLookup, Resolver
from engine.smtp import looks_like_mail_name, mail_from_for

__all__ = ["check_helo", "check_mail_from", "check_resolver", "helo_name_problem"]

# DnsTransient carries the outcome in words only: "... said SERVFAIL", "no answer within 5s".
_SERVFAIL = re.compile(r"\bSERVFAIL\b", re.IGNORECASE)
_REFUSED = re.compile(r"(?:said|:)\s+REFUSED\b", re.IGNORECASE)  # not "Connection refused"
_NO_ANSWER = re.compile(r"no answer|timed? ?out|:\s+drop$", re.IGNORECASE)

MAIL_FROM_FIX = (
    "servers check that the sender's domain can take bounces: set --mail-from to an address "
    "at a domain you control that has MX (or A) records"
)


def _resolver_name(config: Config) -> str:
    if config.nameservers is None:
        return "the system resolver"
    port = f" port {config.dns_port}" if config.dns_port != 53 else ""
    return ", ".join(config.nameservers) + port


def _dns_bound_s(config: Config) -> float:
    # The adapter gives up by itself; this bound is for a resolver that never does.
    servers = len(config.nameservers) if config.nameservers else 3  # resolv.conf holds up to 3
    return config.timeouts.dns_s * config.dns_attempts * servers + 1.0


async def check_resolver(config: Config, resolver: Resolver, domain: str) -> tuple[Check, bool]:
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


def helo_name_problem(config: Config, helo: str) -> Check | None:
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


async def check_helo(config: Config, resolver: Resolver, helo: str) -> tuple[Check, bool]:
    """The HELO name is a public name whose addresses are public (or allowed to be private)."""
    problem = helo_name_problem(config, helo)
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


async def check_mail_from(config: Config, lookup: MxLookup, helo: str) -> tuple[Check, bool]:
    """The MAIL FROM domain has MX hosts or an address, so that it could take a bounce."""
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
