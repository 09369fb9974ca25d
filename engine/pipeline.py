"""check_one(): the stages in order for one input; every error becomes exactly one Result.

Offline stages (syntax, typos, flags) run synchronously in `check_offline`; the DNS and SMTP
stages come in through the small protocols below so tests can swap them. `within` ends a check
at its time limit with what it learned so far.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from engine.config import Config
from engine.datasets import Datasets
from engine.errors import (
    AddressError,
    CheckTimedOut,
    DnsError,
    EngineError,
    InternalError,
    NoPublicMxAddress,
)
from engine.model import Address, MxHost, ProbeOutcome, Reason, Result, State, Timings
from engine.names import person_name
from engine.progress import PROBING, RESOLVING, Progress, collapse_notes
from engine.reputation import reputation_flags
from engine.syntax import clean_address, parse_address
from engine.typos import TypoCorrector
from engine.verdict import Findings, decide, error_result

log = logging.getLogger(__name__)

_TIMER_SLACK_S = 0.001  # the loop may run a timer this much before its time

# Popularity (data/mail_domains.txt) from which a suggestion stands even when the typed domain
# has MX records of its own: the big providers and their country variants (hotmail.co.uk 40).
KEEP_SUGGESTION_WEIGHT = 30.0


class MxStage(Protocol):
    """The DNS stage as the pipeline sees it (engine.mx.MxLookup)."""

    async def lookup(self, ascii_domain: str) -> tuple[MxHost, ...]: ...

    async def accepts_mail(self, ascii_domain: str) -> bool | None: ...


class ProbeStage(Protocol):
    """The SMTP stage as the pipeline sees it (engine.probe.SmtpProber).

    `deadline` (Clock seconds) ends the stage early; `progress` gets its notes and the step it
    waits on as it goes.
    """

    async def probe(
        self,
        address: Address,
        hosts: tuple[MxHost, ...],
        *,
        deadline: float | None = None,
        progress: Progress | None = None,
    ) -> ProbeOutcome: ...


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
    now: Callable[[], float] = time.monotonic  # the Clock deadlines are read on


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


def offline_stage(raw: str, deps: Deps, start: float) -> Findings | Result:
    """Syntax, typos and flags: the findings, or the Result when they settle it; never raises."""
    try:
        return offline_findings(raw, deps)
    except AddressError as exc:
        return _invalid_result(raw, exc, deps, start, invalid_suggestion(raw, deps))
    except Exception:  # a bug; this input still gets exactly one Result
        log.exception("internal error while checking an address")
        return error_result(raw, InternalError(), Timings(total_ms=elapsed_ms(start)))


def check_offline(raw: str, deps: Deps) -> Result:
    """Syntax, typos, flags and the verdict, with no network; never raises."""
    start = time.perf_counter()
    found = offline_stage(raw, deps, start)
    if isinstance(found, Result):
        return found
    try:
        return decide(found, deps.config, Timings(total_ms=elapsed_ms(start)))
    except Exception:  # a bug; this input still gets exactly one Result
        log.exception("internal error while checking an address")
        return error_result(raw, InternalError(), Timings(total_ms=elapsed_ms(start)))


async def check_one(raw: str, deps: Deps, progress: Progress | None = None) -> Result:
    """The whole pipeline for one input; never raises (cancellation passes through)."""
    if deps.mx is None:
        return check_offline(raw, deps)
    return await check_with(
        raw, deps, lambda f, start, p: _check_online(f, deps, start, p), progress
    )


Online = Callable[[Findings, float, Progress], Awaitable[Result]]


async def check_with(
    raw: str, deps: Deps, online: Online, progress: Progress | None = None
) -> Result:
    """The offline stages (unless `progress` has their findings already), then
    `online(findings, start, progress)`: the one error boundary that every way of checking
    shares. Never raises (cancellation passes through)."""
    if progress is None:
        progress = Progress(raw, time.perf_counter())
    start = progress.started
    findings = progress.findings
    if findings is None:
        try:
            findings = progress.findings = offline_findings(raw, deps)
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
        return await online(findings, start, progress)
    except Exception:  # a bug; keep what the offline stages found
        log.exception("internal error while checking %s", findings.address.email)
        return decide(
            _with(findings, error=InternalError("internal error")),
            deps.config,
            Timings(total_ms=elapsed_ms(start)),
        )


async def _checked_suggestion(
    suggestion: tuple[str, str] | None, deps: Deps
) -> tuple[str, str] | None:
    """The suggestion for an input that failed the syntax check, if its domain takes mail."""
    if suggestion is None or deps.mx is None:
        return suggestion
    accepts = await deps.mx.accepts_mail(suggestion[1])
    provider = suggestion[1] in deps.datasets.mail_domains
    return suggestion if accepts is True or (provider and accepts is None) else None


async def within(
    limit_s: float,
    progress: Progress,
    work: Awaitable[Result],
    config: Config,
    watchdog: Watchdog | None = None,
) -> Result:
    """`work`'s Result if it ends within `limit_s` seconds; else `work` is cancelled and the
    Result is what `progress` knows, unknown/Timeout. Never raises (cancellation passes).

    `work` runs in the calling task (no task of its own); at the limit the task is cancelled,
    and that one cancellation is taken back here. Checks that share a `watchdog` share its
    one timer.
    """
    watch = (watchdog or Watchdog()).watch(max(0.0, limit_s))
    progress.expires = watch.when
    try:
        result = await work
    except asyncio.CancelledError:
        if not watch.expired or watch.others_cancelled():
            raise  # the caller was cancelled (and the check with it)
        return timed_out(progress, config)
    finally:
        watch.cancel()
    if watch.expired:
        watch.others_cancelled()  # the answer came as time ran out: it stands
    return result


class Watchdog:
    """Ends checks at their time limits with one timer for all of them.

    Checks with the same limit, started in turn, reach it in the order they started, so a
    queue in that order and a timer for its head do what a timer per check would, at a
    fraction of the cost. A check whose limit comes out of order gets a timer of its own.
    Bound to the event loop it is first used in (a new loop starts afresh).
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._watches: deque[_Watch] = deque()
        self._timer: asyncio.TimerHandle | None = None

    def watch(self, limit_s: float) -> _Watch:
        """Cancel the calling task in `limit_s` seconds unless the returned watch is
        cancelled first."""
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("a watch is kept on a task")
        loop = task.get_loop()
        if loop is not self._loop:
            self._loop, self._watches, self._timer = loop, deque(), None
        watch = _Watch(self, loop.time() + limit_s, task)
        if self._watches and watch.when < self._watches[-1].when:
            watch.own = loop.call_at(watch.when, watch.fire)
            return watch
        self._watches.append(watch)
        if self._timer is None:
            self._timer = loop.call_at(watch.when, self._fire)
        return watch

    def _trim(self) -> None:
        watches = self._watches
        while watches and watches[0].task is None:
            watches.popleft()

    def _fire(self) -> None:
        self._timer = None
        loop = self._loop
        if loop is None:
            return
        now = loop.time() + _TIMER_SLACK_S
        while self._watches and (self._watches[0].task is None or self._watches[0].when <= now):
            self._watches.popleft().fire()
        if self._watches:
            self._timer = loop.call_at(self._watches[0].when, self._fire)


class _Watch:
    """One task's time limit, kept by a Watchdog."""

    __slots__ = ("_owner", "expired", "own", "task", "when")

    def __init__(self, owner: Watchdog, when: float, task: asyncio.Task[Any]) -> None:
        self._owner = owner
        self.when = when
        self.task: asyncio.Task[Any] | None = task
        self.expired = False
        self.own: asyncio.TimerHandle | None = None

    def fire(self) -> None:
        task, self.task = self.task, None
        if task is not None:
            self.expired = True
            task.cancel()

    def cancel(self) -> None:
        # Drop the task at once: a watch waiting in the queue behind a slower check must not
        # keep its finished check (frames, result) alive.
        self.task = None
        if self.own is not None:
            self.own.cancel()
            self.own = None
        self._owner._trim()

    def others_cancelled(self) -> bool:
        """Take back the one cancellation this watch asked for; True if others are pending
        too (Python 3.11+ counts them; on 3.10 the time limit is taken to be the only one)."""
        uncancel = getattr(asyncio.current_task(), "uncancel", None)
        return uncancel is not None and uncancel() > 0


def timed_out(progress: Progress, config: Config) -> Result:
    """The Result of a check stopped by its time limit: unknown/Timeout with what was learned
    (syntax, flags, suggestion, mail hosts), and notes saying where it stopped."""
    took_s = time.perf_counter() - progress.started
    error = CheckTimedOut(f"stopped by the time limit after {took_s:.1f} s, {progress.doing()}")
    timings = Timings(dns_ms=progress.dns_ms, total_ms=took_s * 1000.0)
    findings = progress.findings
    notes = collapse_notes(progress.notes)
    if findings is None:
        result = error_result(progress.raw, error, timings)
        return replace(result, detail=replace(result.detail, notes=(*notes, str(error))))
    findings = _with(findings, error=error, notes=(*findings.notes, *notes))
    return decide(findings, config, timings)


def _with(f: Findings, **changes: object) -> Findings:
    return replace(f, **changes)  # type: ignore[arg-type]


async def _check_online(f: Findings, deps: Deps, start: float, progress: Progress) -> Result:
    assert deps.mx is not None
    dns_start = time.perf_counter()
    progress.stage = RESOLVING
    f = progress.findings = await resolve(f, deps)
    dns_ms = progress.dns_ms = elapsed_ms(dns_start)
    smtp_ms = 0.0
    if deps.prober is not None and needs_probe(f, deps):
        smtp_start = time.perf_counter()
        progress.stage = PROBING
        try:
            outcome = await deps.prober.probe(
                f.address, f.hosts, deadline=progress.deadline, progress=progress
            )
            f = _with(f, outcome=outcome)
        except EngineError as exc:
            f = _with(f, error=exc)
        smtp_ms = elapsed_ms(smtp_start)
    timings = Timings(dns_ms=dns_ms, smtp_ms=smtp_ms, total_ms=elapsed_ms(start))
    return decide(f, deps.config, timings)


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
        if address.domain_literal is None:
            hosts = await deps.mx.lookup(address.ascii_domain)
        else:
            hosts = _literal_host(address, deps)
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


def _literal_host(address: Address, deps: Deps) -> tuple[MxHost, ...]:
    # RFC 5321 §4.1.3: a domain literal names the mail host directly; the SSRF guard still applies.
    ip = address.domain_literal
    assert ip is not None
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
