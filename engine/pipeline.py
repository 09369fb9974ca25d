"""check_one(): the stages in order for one input; every error becomes exactly one Result.

Offline stages (syntax, typos, flags) run synchronously in `check_offline`; the DNS and SMTP
stages come in through the small protocols below so tests can swap them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Protocol

from engine.config import Config
from engine.datasets import Datasets
from engine.errors import AddressError, DnsError, EngineError, InternalError, NoPublicMxAddress
from engine.model import Address, MxHost, ProbeOutcome, Reason, Result, State, Timings
from engine.names import person_name
from engine.reputation import reputation_flags
from engine.syntax import clean_address, parse_address
from engine.typos import TypoCorrector
from engine.verdict import Findings, decide, error_result

log = logging.getLogger(__name__)

# Popularity (data/mail_domains.txt) from which a suggestion stands even when the typed domain
# has MX records of its own: the big providers and their country variants (hotmail.co.uk 40).
KEEP_SUGGESTION_WEIGHT = 30.0


class MxStage(Protocol):
    """The DNS stage as the pipeline sees it (engine.mx.MxLookup)."""

    async def lookup(self, ascii_domain: str) -> tuple[MxHost, ...]: ...

    async def accepts_mail(self, ascii_domain: str) -> bool | None: ...


class ProbeStage(Protocol):
    """The SMTP stage as the pipeline sees it (engine.probe.SmtpProber)."""

    async def probe(self, address: Address, hosts: tuple[MxHost, ...]) -> ProbeOutcome: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Deps:
    """Everything a check needs, built once by the Verifier."""

    config: Config
    datasets: Datasets
    typos: TypoCorrector | None = None
    mx: MxStage | None = None
    prober: ProbeStage | None = None
    provider: Callable[[str], str | None] = lambda host: None
    ip_allowed: Callable[[str], bool] = lambda ip: False


def elapsed_ms(start: float) -> float:
    """Milliseconds since `start` (a time.perf_counter() reading)."""
    return (time.perf_counter() - start) * 1000.0


def offline_findings(raw: str, deps: Deps) -> Findings:
    config = deps.config
    address = parse_address(raw, clean=config.clean, private_names=config.allow_private_addresses)
    flags = reputation_flags(address, deps.datasets)
    suggestion = None
    if deps.typos is not None and address.domain_literal is None:
        suggestion = deps.typos.suggest(address.ascii_domain)
    # A role or no-reply address names a function, not a person.
    name = None if flags.role else person_name(address.local, deps.datasets)
    return Findings(
        address=address,
        flags=flags,
        did_you_mean=suggestion,
        first_name=name.first_name if name else None,
        last_name=name.last_name if name else None,
        gender=name.gender if name else None,
    )


def invalid_suggestion(raw: str, deps: Deps) -> tuple[str, str] | None:
    """(address, domain) that an input failing the syntax check was probably meant to be:
    "john@gmail,com" and "john@gmailcom" -> ("john@gmail.com", "gmail.com"); else None."""
    text = clean_address(raw) if deps.config.clean else raw.strip()
    if deps.typos is None or "@" not in text:
        return None
    local, _, typed = text.rpartition("@")
    domain = deps.typos.suggest(typed.lower())
    if domain is None:
        return None
    try:
        fixed = parse_address(f"{local}@{domain}")
    except AddressError:
        return None  # the local part is broken too: nothing to suggest
    return fixed.ascii_email, fixed.ascii_domain


def _invalid_result(
    raw: str, exc: AddressError, deps: Deps, start: float, suggestion: tuple[str, str] | None
) -> Result:
    result = error_result(raw, exc, Timings(total_ms=elapsed_ms(start)))
    if suggestion is None:
        return result
    return replace(result, did_you_mean=suggestion[0], did_you_mean_domain=suggestion[1])


def check_offline(raw: str, deps: Deps) -> Result:
    """Syntax, typos, flags and the verdict, with no network; never raises."""
    start = time.perf_counter()
    try:
        findings = offline_findings(raw, deps)
        return decide(findings, deps.config, Timings(total_ms=elapsed_ms(start)))
    except AddressError as exc:
        return _invalid_result(raw, exc, deps, start, invalid_suggestion(raw, deps))
    except Exception:  # a bug; this input still gets exactly one Result
        log.exception("internal error while checking an address")
        return error_result(raw, InternalError(), Timings(total_ms=elapsed_ms(start)))


async def check_one(raw: str, deps: Deps) -> Result:
    """The whole pipeline for one input; never raises (cancellation passes through)."""
    if deps.mx is None:
        return check_offline(raw, deps)
    return await check_with(raw, deps, lambda f, start: _check_online(f, deps, start))


Online = Callable[[Findings, float], Awaitable[Result]]


async def check_with(raw: str, deps: Deps, online: Online) -> Result:
    """The offline stages, then `online(findings, start)`: the one error boundary that every
    way of checking shares. Never raises (cancellation passes through)."""
    start = time.perf_counter()
    try:
        findings = offline_findings(raw, deps)
    except AddressError as exc:
        try:
            suggestion = await _checked_suggestion(invalid_suggestion(raw, deps), deps)
        except Exception:  # a bug; the input still gets its syntax verdict
            log.exception("internal error while suggesting for %r", raw)
            suggestion = None
        return _invalid_result(raw, exc, deps, start, suggestion)
    except Exception:  # a bug; this input still gets exactly one Result
        log.exception("internal error while checking an address")
        return error_result(raw, InternalError(), Timings(total_ms=elapsed_ms(start)))
    try:
        return await online(findings, start)
    except Exception:  # a bug; keep what the offline stages found
        log.exception("internal error while checking %s", findings.address.email)
        return decide(
            _with(findings, error=InternalError("internal error")),
            deps.config,
            Timings(total_ms=elapsed_ms(start)),
        )


def _with(f: Findings, **changes: object) -> Findings:
    return replace(f, **changes)  # type: ignore[arg-type]


async def _check_online(f: Findings, deps: Deps, start: float) -> Result:
    assert deps.mx is not None
    dns_start = time.perf_counter()
    f = await resolve(f, deps)
    dns_ms = elapsed_ms(dns_start)
    smtp_ms = 0.0
    if deps.prober is not None and needs_probe(f, deps):
        smtp_start = time.perf_counter()
        try:
            f = _with(f, outcome=await deps.prober.probe(f.address, f.hosts))
        except EngineError as exc:
            f = _with(f, error=exc)
        smtp_ms = elapsed_ms(smtp_start)
    timings = Timings(dns_ms=dns_ms, smtp_ms=smtp_ms, total_ms=elapsed_ms(start))
    return decide(f, deps.config, timings)


async def _checked_suggestion(
    suggestion: tuple[str, str] | None, deps: Deps
) -> tuple[str, str] | None:
    """The suggestion for an input that failed the syntax check, if its domain takes mail."""
    if suggestion is None or deps.mx is None:
        return suggestion
    accepts = await deps.mx.accepts_mail(suggestion[1])
    provider = suggestion[1] in deps.datasets.mail_domains
    return suggestion if accepts is True or (provider and accepts is None) else None


async def resolve(f: Findings, deps: Deps) -> Findings:
    """The DNS stage: mail hosts (or the DNS error) and the typo suggestion's own MX check."""
    assert deps.mx is not None
    address = f.address
    # A suggestion outside the mail providers' list is a mistyped suffix of any domain
    # ("acme.con"): it stands only when the suggested domain takes mail and the typed one
    # does not, so a real domain is never "corrected" into another company's.
    corporate = f.did_you_mean is not None and f.did_you_mean not in deps.datasets.mail_domains
    try:
        if f.did_you_mean is not None:
            accepts = await deps.mx.accepts_mail(f.did_you_mean)
            keep = accepts is True if corporate else accepts is not False
            f = _with(
                f,
                suggestion_accepts_mail=accepts,
                did_you_mean=f.did_you_mean if keep else None,
            )
        hosts = await _mail_hosts(address, deps)
    except DnsError as exc:
        f = _with(f, error=exc, dns=_dns_words(exc))
        if corporate and f.did_you_mean is not None and exc.state is not State.UNDELIVERABLE:
            # The typed domain may take mail after all: no suggestion on a guess.
            note = f"typo suggestion {f.did_you_mean} dropped: {address.ascii_domain} unclear"
            f = _with(f, did_you_mean=None, notes=(*f.notes, note))
        return f
    dns = "literal" if address.domain_literal else "implicit-mx" if hosts[0].implicit else "mx"
    f = _with(f, hosts=hosts, dns=dns, provider=deps.provider(hosts[0].host))
    suggestion = f.did_you_mean
    # A domain with mail servers of its own, one slip from a small provider, is more likely a
    # real business (livre.fr, chatter.net) than a typo; typo-squats of the big providers
    # (gmial.com) have MX records too, so those suggestions stay.
    popularity = deps.datasets.mail_domains.get(suggestion or "", 0.0)
    takes_mail = dns == "mx" or (corporate and dns == "implicit-mx")
    if suggestion is not None and takes_mail and popularity < KEEP_SUGGESTION_WEIGHT:
        note = f"typo suggestion {suggestion} dropped: {address.ascii_domain} takes mail itself"
        f = _with(f, did_you_mean=None, notes=(*f.notes, note))
    return f


def needs_probe(f: Findings, deps: Deps) -> bool:
    """Whether the SMTP stage should ask about this address."""
    if f.error is not None or not f.hosts or not deps.config.check_smtp:
        return False
    return not (f.flags.disposable and deps.config.disposable_is_risky)


async def _mail_hosts(address: Address, deps: Deps) -> tuple[MxHost, ...]:
    assert deps.mx is not None
    ip = address.domain_literal
    if ip is None:
        return await deps.mx.lookup(address.ascii_domain)
    # RFC 5321 §4.1.3: a domain literal names the mail host directly; the SSRF guard still applies.
    if not deps.config.allow_private_addresses and not deps.ip_allowed(ip):
        raise NoPublicMxAddress(f"refused non-public address literal {ip}")
    return (MxHost(address.ascii_domain, 0, (ip,), implicit=True),)


def _dns_words(exc: DnsError) -> str:
    words = {
        Reason.DOMAIN_IS_INEXISTENT: "nxdomain",
        Reason.DOMAIN_DOES_NOT_ACCEPT_MAIL: "null-mx",
        Reason.NO_MX_SERVERS_FOUND: "no-mail-host",
        Reason.MX_ADDRESS_NOT_PUBLIC: "refused-non-public",
        Reason.TRANSIENT_NETWORK_FAULT: "transient",
    }
    return words.get(exc.reason, "error")
