"""The SMTP stage for one address: ask its MX hosts, in order, whether they take RCPT TO for it,
and whether they take any (catch-all, kept per domain), within the per-address budget.

Talks only through an SmtpTransport (engine.smtp); never sends DATA, never opens a socket itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from engine.addresses import is_public_ip
from engine.clock import Clock, SystemClock
from engine.config import Config
from engine.egress import EgressPool
from engine.errors import (
    NoMailServer,
    NoPublicMxAddress,
    ProxyFault,
    SmtpError,
    SmtpProtocolError,
    SmtpTransient,
)
from engine.model import Address, MxHost, ProbeOutcome, Reason, Reply, Stage
from engine.progress import Progress, collapse_notes
from engine.replies import catch_all_verdict, classify, is_greylisting, is_too_many_recipients
from engine.smtp import (
    Identity,
    SmtpSession,
    SmtpTransport,
    guard_argument,
    random_local,
)

_CATCH_ALL_TTL_S = 3600.0


@dataclass(slots=True)
class _Answer:
    """What one session learned; filled as it goes, so a budget cut keeps what was answered."""

    host: str
    reason: Reason | None = None
    reply: Reply | None = None
    accept_all: bool | None = None
    catch_all_reply: Reply | None = None
    greylisted: bool = False
    notes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Job:
    """One call of probe(): what it sends, by when it must end, what it noted on the way."""

    address: Address
    recipient: str
    sender: str
    deadline: float  # Clock seconds
    progress: Progress | None = None
    notes: list[str] = field(default_factory=list)
    # Each host is asked through one egress for the whole probe: a greylisting retry must come
    # from the client IP the server saw first (the greylist triplet includes it).
    egress_by_host: dict[str, str] = field(default_factory=dict)

    def step(self, text: str | None) -> None:
        """Say what the stage waits on now (read when a time limit stops the check)."""
        if self.progress is not None:
            self.progress.step = text


@dataclass(frozen=True, slots=True)
class _CatchAll:
    accept_all: bool
    reply: Reply
    at: float


class SmtpProber:
    """The SMTP stage: `probe()` one address against its MX hosts; never sends DATA.

    Keeps each domain's catch-all verdict (bounded, an hour) so one domain is probed once.
    """

    def __init__(
        self,
        transport: SmtpTransport,
        config: Config,
        clock: Clock | None = None,
        *,
        fqdn: Callable[[], str] = socket.getfqdn,
        catch_all_cache_size: int = 4096,
        egresses: EgressPool | None = None,
    ) -> None:
        self._transport = transport
        self._egresses = egresses  # None: every session through `transport`
        self._config = config
        self._clock = clock or SystemClock()
        self._identity = Identity(config, fqdn)
        self._catch_all: OrderedDict[str, _CatchAll] = OrderedDict()
        self._catch_all_size = max(1, catch_all_cache_size)

    async def probe(
        self,
        address: Address,
        hosts: tuple[MxHost, ...],
        *,
        deadline: float | None = None,
        progress: Progress | None = None,
    ) -> ProbeOutcome:
        """Ask the MX hosts about `address`, in preference order, within `timeouts.budget_s`
        (and by `deadline`, Clock seconds, when given). `progress` gets the notes as they come.

        Raises InvalidAddress (control characters), NoMailServer (no address to try) and
        NoPublicMxAddress (every address refused by the SSRF guard); every SMTP answer and
        every failure to talk becomes the ProbeOutcome (Timeout when the time ran out while a
        server was still to answer).
        """
        recipient = guard_argument(address.ascii_email)
        by_preference = sorted(hosts, key=lambda mx: mx.preference)
        targets = [(mx.host, ip) for mx in by_preference for ip in mx.ips]
        if not targets:
            raise NoMailServer(f"no mail host address for {address.ascii_domain}")
        if not self._config.allow_private_addresses:
            targets = [t for t in targets if is_public_ip(t[1])]
            if not targets:
                raise NoPublicMxAddress(f"no public mail host address for {address.ascii_domain}")
        sender = guard_argument(await self._identity.sender())
        end = self._clock.monotonic() + self._config.timeouts.budget_s
        if deadline is not None:
            end = min(end, deadline)
        notes = progress.notes if progress is not None else []
        job = _Job(address, recipient, sender, end, progress, notes)
        answer, target = await self._first_answer(job, targets)
        greylisted, resolved = answer.greylisted, None
        if greylisted and self._config.greylist_retry:
            answer, resolved = await self._greylist_retry(job, answer, target)
        job.step(None)
        return ProbeOutcome(
            reason=answer.reason or Reason.TRANSIENT_NETWORK_FAULT,
            reply=answer.reply,
            host=answer.host,
            accept_all=answer.accept_all,
            catch_all_reply=answer.catch_all_reply,
            greylisted=greylisted,
            greylist_resolved=resolved,
            notes=collapse_notes(job.notes + answer.notes),
        )

    def _left_s(self, job: _Job) -> float:
        return job.deadline - self._clock.monotonic()

    async def _first_answer(
        self, job: _Job, targets: list[tuple[str, str]]
    ) -> tuple[_Answer, tuple[str, str]]:
        """Each address once, in order (fail-over); then up to `transient_retries` more attempts
        on the next addresses that may recover, after a back-off that doubles. A host that
        broke the protocol (garbage, a reply that never ends, a failed TLS handshake) is not
        asked again for this address."""
        cfg = self._config
        last = (_Answer(targets[0][0]), targets[0])
        hopeless: set[str] = set()  # hosts whose failure would repeat itself
        retries = 0
        for n in range(len(targets) * (1 + cfg.transient_retries)):
            target = targets[n % len(targets)]
            if target[0] in hopeless:
                continue
            if n >= len(targets):
                if retries >= cfg.transient_retries:
                    break
                delay = cfg.retry_backoff_s * 2**retries
                if self._left_s(job) <= delay:
                    job.notes.append(f"no retry: a {delay:g} s back-off does not fit the budget")
                    break
                retries += 1
                job.step(f"waiting {delay:g} s before trying again")
                await self._clock.sleep(delay)
            try:
                answer = await self._attempt(job, target)
            except SmtpError as exc:
                job.notes.append(f"{target[0]} [{target[1]}]: {exc}")
                last = (_Answer(target[0], exc.reason, exc.reply), target)
                if isinstance(exc, ProxyFault):
                    # The proxy failed before the host said a word: a retry may take another
                    # egress (nothing ties this address to the one that failed).
                    job.egress_by_host.pop(target[0], None)
                if (
                    exc.reply is not None
                    and classify(exc.reply, host=target[0]).reason is Reason.SENDER_BLOCKED
                ):
                    last[0].reason = Reason.SENDER_BLOCKED  # about us: other hosts say the same
                    return last
                if isinstance(exc, SmtpProtocolError) or exc.stage is Stage.STARTTLS:
                    hopeless.add(target[0])
                continue
            if answer.reason is Reason.TRANSIENT_NETWORK_FAULT and not answer.greylisted:
                # A 4xx that is not greylisting says nothing about the mailbox: ask elsewhere.
                job.notes.append(f"{target[0]} [{target[1]}]: {answer.reply}")
                last = (answer, target)
                continue
            return answer, target
        return last

    async def _greylist_retry(
        self, job: _Job, first: _Answer, target: tuple[str, str]
    ) -> tuple[_Answer, bool | None]:
        """RFC 6647 §2.1: greylisting wants the same client back later; come back once, to the
        same address, if the wait fits the budget. Returns the answer and whether it settled."""
        delay = self._config.greylist_delay_s
        if self._left_s(job) <= delay:
            job.notes.append(f"greylisted; a retry after {delay:g} s does not fit the budget")
            return first, None
        job.step(f"waiting {delay:g} s to ask again after greylisting")
        await self._clock.sleep(delay)
        try:
            second = await self._attempt(job, target)
        except SmtpError as exc:
            job.notes.append(f"greylist retry failed: {exc}")
            return first, False
        if second.greylisted:
            job.notes.append("greylisted again on retry")
        return second, not second.greylisted

    async def _attempt(self, job: _Job, target: tuple[str, str]) -> _Answer:
        """One session with one address, cut off where the time for this address ends."""
        answer = _Answer(target[0])
        left = self._left_s(job)
        if left <= 0:
            raise SmtpTransient("the budget for this address is spent")
        try:
            await asyncio.wait_for(self._session(job, target, answer), left)
        except asyncio.TimeoutError:
            if answer.reason is None:
                waiting = job.progress.step if job.progress is not None else None
                where = f" ({waiting})" if waiting else ""
                answer.reason = Reason.TIMEOUT
                answer.notes.append(f"the time for this address ran out{where}")
                return answer
            answer.notes.append("the budget ran out after the answer")
        return answer

    async def _session(self, job: _Job, target: tuple[str, str], out: _Answer) -> None:
        host, ip = target
        where = f"{host} [{ip}]"
        address = job.address
        transport = self._transport
        if self._egresses is not None:
            name = job.egress_by_host.get(host)
            if name is None:
                name = job.egress_by_host[host] = self._egresses.pick(host)
            transport = self._egresses.transport(name)
            job.sender = guard_argument(await self._egresses.sender(name))
            out.notes.append(f"egress {name}")
        job.step(f"{where}: connecting, greeting, EHLO")
        async with transport.open(host, ip, self._config.smtp_port) as session:
            if address.is_smtputf8 and "SMTPUTF8" not in session.extensions:
                # RFC 6531 §3.4: a non-ASCII mailbox can only be named to an SMTPUTF8 server.
                out.reason = Reason.SERVER_DOES_NOT_SUPPORT_INTERNATIONAL_MAILBOXES
                out.notes.append(f"{host} does not offer SMTPUTF8")
                return
            job.step(f"{where}: MAIL FROM")
            reply = await session.mail(job.sender, smtputf8=address.is_smtputf8)
            if reply.code // 100 != 2:
                self._record(out, reply)
                return
            job.step(f"{where}: RCPT TO")
            self._record(out, await session.rcpt(job.recipient))
            if out.reason is Reason.MAILBOX_DOES_NOT_EXIST:
                out.accept_all = False  # it refused one address, so it does not take all
            elif out.reason is Reason.SUCCESS and self._config.detect_catch_all:
                job.step(f"{where}: catch-all probe")
                try:
                    await self._catch_all_probe(session, job, out)
                except SmtpError as exc:  # the real answer stands; only the probe is open
                    out.notes.append(f"catch-all probe failed: {exc}")
                    return
            job.step(f"{where}: RSET, QUIT")
            with contextlib.suppress(SmtpError):
                await session.rset()

    @staticmethod
    def _record(out: _Answer, reply: Reply) -> None:
        out.reply = reply
        out.greylisted = is_greylisting(reply)
        out.reason = Reason.GREYLISTED if out.greylisted else classify(reply, host=out.host).reason

    async def _catch_all_probe(self, session: SmtpSession, job: _Job, out: _Answer) -> None:
        domain = job.address.ascii_domain
        cached = self._catch_all.get(domain)
        now = self._clock.monotonic()
        if cached is not None and now - cached.at < _CATCH_ALL_TTL_S:
            self._catch_all.move_to_end(domain)
            out.accept_all, out.catch_all_reply = cached.accept_all, cached.reply
            out.notes.append("catch-all verdict from an earlier probe of this domain")
            return
        probe = f"{random_local()}@{domain}"
        reply = await session.rcpt(probe)
        if is_too_many_recipients(reply):
            # Outlook.com takes one RCPT per transaction: ask again in a transaction of its own.
            out.notes.append(f"catch-all probe: {reply}; asked again in a new transaction")
            await session.rset()
            again = await session.mail(job.sender, smtputf8=job.address.is_smtputf8)
            reply = await session.rcpt(probe) if again.code // 100 == 2 else again
        out.catch_all_reply = reply
        verdict = catch_all_verdict(reply, host=out.host)
        if verdict is None:
            out.notes.append(f"catch-all probe inconclusive: {reply}")
            return
        out.accept_all = verdict
        self._catch_all[domain] = _CatchAll(verdict, reply, now)
        self._catch_all.move_to_end(domain)
        while len(self._catch_all) > self._catch_all_size:
            self._catch_all.popitem(last=False)
