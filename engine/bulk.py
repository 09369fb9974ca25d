"""Bulk verification: group addresses by mail server, reuse SMTP sessions, stay polite.

`BulkChecker` settles the SMTP questions of many addresses per MX host in few sessions (many RCPTs
per MAIL FROM, several transactions per connection, RCPTs pipelined when offered), asks each
domain's catch-all question once per run, and keeps every limit in `Config.politeness`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any

from engine.addresses import is_public_ip
from engine.cache import ResultCache
from engine.catchalls import CatchAlls
from engine.clock import Clock, SystemClock
from engine.egress import EgressPool
from engine.errors import (
    EngineError,
    NoMailServer,
    NoPublicMxAddress,
    SmtpError,
    SmtpProtocolError,
)
from engine.groupwatch import Abandoned, unless_all_end
from engine.hostqueue import HostQueue, Job
from engine.model import ProbeOutcome, Reason, Reply, Result, Stage, Timings
from engine.pipeline import (
    Deps,
    Watchdog,
    check_with,
    elapsed_ms,
    needs_probe,
    resolve,
    within,
)
from engine.politeness import Gates
from engine.progress import PROBING, RESOLVING, Progress, collapse_notes
from engine.rcptgroups import group_size, is_last_group, transaction_replies
from engine.replies import Classification, classify
from engine.smtp import (
    SmtpSession,
    SmtpTransport,
    guard_argument,
)
from engine.verdict import Findings, decide

log = logging.getLogger(__name__)

# A worker with nothing due waits this long for more work before it gives its session up.
_LINGER_S = 0.05
_CLOSE_WAIT_S = 5.0  # seconds aclose() lets sessions end with QUIT
_BROKEN_S = 600.0  # a host that broke the protocol is not asked again for this long
# Bounds per address and run, whatever the servers say: RCPT TO commands answered for it
# (catch-all probes apart) and times it is put back in a queue. Past them it is settled
# unknown with the last reply as evidence, never asked again.
MAX_RCPTS_PER_ADDRESS = 3
MAX_REQUEUES_PER_ADDRESS = 10
# What a reply that cannot be placed may still say: it never makes an address undeliverable.
_UNPLACED = frozenset({Reason.TRANSIENT_NETWORK_FAULT, Reason.GREYLISTED, Reason.UNKNOWN})


@dataclass
class BulkStats:
    """Counters for reports and benchmarks."""

    sessions: int = 0  # SMTP connections opened
    transactions: int = 0  # MAIL FROM transactions
    rcpts: int = 0  # RCPT TO commands sent (catch-all probes included)
    catch_all_probes: int = 0
    requeued: int = 0  # addresses put back (452, greylisting, transient faults)
    cache_hits: int = 0

    def rcpts_per_session(self) -> float:
        return self.rcpts / self.sessions if self.sessions else 0.0


class BulkChecker:
    """Verifies many addresses with shared sessions per MX host; `check()` never raises."""

    def __init__(
        self,
        deps: Deps,
        transport: SmtpTransport,
        *,
        sender: Callable[[], Awaitable[str]],
        clock: Clock | None = None,
        cache: ResultCache | None = None,
        gates: Gates | None = None,
        refresh: bool = False,
        egresses: EgressPool | None = None,
    ) -> None:
        self.deps = deps
        self.refresh = refresh  # do not read cached results (still store new ones)
        self.config = deps.config
        self.transport = transport
        self.clock = clock or SystemClock()
        self.cache = cache
        self.gates = gates or Gates(self.config.politeness, self.clock)
        self.stats = BulkStats()
        self._sender = sender
        # With egresses, each address is given one when it is queued (routes, else in turn)
        # and its queue keeps it: the greylisting retry leaves by the same client IP.
        self._egresses = egresses
        self._queues: dict[tuple[str, tuple[tuple[str, str], ...]], HostQueue] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._catch_alls = CatchAlls(
            detect=self.config.detect_catch_all, cache=cache, refresh=refresh, spawn=self._spawn
        )
        self._closing = False
        self._watchdog = Watchdog()  # every check's time limit, on one timer

    async def check(self, raw: str) -> Result:
        """The whole pipeline for one input, with the SMTP stage batched per MX host, ended
        after `Timeouts.budget_s` (DNS included) whatever the servers do; never raises
        (cancellation passes through)."""
        budget_s = self.config.timeouts.budget_s
        progress = Progress(raw, time.perf_counter(), self.clock.monotonic() + budget_s)
        work = check_with(raw, self.deps, self._check, progress)
        return await within(budget_s, progress, work, self.config, self._watchdog)

    async def _check(self, f: Findings, start: float, progress: Progress) -> Result:
        if self.deps.mx is None:
            return decide(f, self.config, Timings(total_ms=elapsed_ms(start)))
        progress.stage = RESOLVING
        f = progress.findings = await resolve(f, self.deps)
        dns_ms = progress.dns_ms = elapsed_ms(start)
        if not needs_probe(f, self.deps):
            return decide(f, self.config, Timings(dns_ms=dns_ms, total_ms=elapsed_ms(start)))
        if self.cache is not None and f.address.email and not self.refresh:
            cached = await self.cache.get(f.address.email)
            if cached is not None:
                self.stats.cache_hits += 1
                return replace(cached, input=f.address.input)
        progress.stage = PROBING
        try:
            outcome = await self._probe(f, progress)
        except EngineError as exc:
            f = replace(f, error=exc)
        else:
            f = replace(f, outcome=outcome)
        result = decide(f, self.config, Timings(dns_ms=dns_ms, total_ms=elapsed_ms(start)))
        if self.cache is not None:
            await self.cache.put(result)
        return result

    async def _probe(self, f: Findings, progress: Progress) -> ProbeOutcome:
        targets = [
            (h.host, ip) for h in sorted(f.hosts, key=lambda h: h.preference) for ip in h.ips
        ]
        if not self.config.allow_private_addresses:
            targets = [t for t in targets if is_public_ip(t[1])]
            if not targets:
                raise NoPublicMxAddress(f"no public mail host address for {f.address.ascii_domain}")
        if not targets:
            raise NoMailServer(f"no mail host address for {f.address.ascii_domain}")
        egress = self._egresses.pick(targets[0][0]) if self._egresses is not None else ""
        key = (egress, tuple(targets))
        queue = self._queues.get(key)
        if queue is None:
            queue = HostQueue(
                targets,
                f.provider,
                batch=self.config.politeness.rcpts_per_transaction,
                egress=egress,
            )
            self._queues[key] = queue
        loop = asyncio.get_running_loop()
        deadline = progress.deadline
        if deadline is None:
            deadline = self.clock.monotonic() + self.config.timeouts.budget_s
        job = Job(
            findings=f,
            recipient=guard_argument(f.address.ascii_email),
            deadline=deadline,
            future=loop.create_future(),
            expires=progress.expires,
            notes=progress.notes,
            progress=progress,
        )
        if egress:
            job.notes.append(f"egress {egress}")
        if self._catch_alls.to_load(job.domain):
            await self._catch_alls.load(job.domain)  # (no coroutine at all for most addresses)
        if self._too_late(queue, job):
            return await job.future
        job.step(f"waiting for a session with {targets[0][0]}")
        queue.jobs.append(job)
        queue.wake.set()
        self._spawn_workers(queue)
        try:
            return await job.future
        finally:
            if not job.future.done():
                job.future.cancel()  # its time limit: the scheduler passes it over from now on
                queue.stale += 1

    # Workers ---------------------------------------------------------------------------

    def _spawn_workers(self, queue: HostQueue) -> None:
        cap = self.config.politeness.sessions_per_host
        if queue.workers >= cap:
            return
        now = self.clock.monotonic()
        group = max(1, group_size(self.config.politeness, queue, 0))
        # Enough sessions for what waits, on top of those busy with a group already.
        wanted = max(1, queue.busy + -(-queue.due(now) // group))
        while queue.workers < min(cap, wanted):
            queue.workers += 1
            self._spawn(self._worker(queue))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` in a task of its own, which aclose() waits for."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _worker(self, queue: HostQueue) -> None:
        try:
            for _ in range(1_000_000):  # bounded: each pass settles, requeues or leaves
                if not await self._wait_for_work(queue):
                    return
                target = self._usable_target(queue)
                if target is None:
                    self._fail_all(queue, Reason.TRANSIENT_NETWORK_FAULT, _broken_note(queue))
                    continue
                host, ip = target
                async with self.gates.session(host, queue.provider, queue.egress):
                    await self._one_session(queue, host, ip)
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug: never leave callers waiting
            log.exception("bulk worker failed")
            self._fail_all(queue, Reason.UNKNOWN, "internal error in the bulk scheduler")
        finally:
            queue.workers -= 1
            if queue.jobs and queue.workers == 0 and not self._closing:
                self._spawn_workers(queue)

    async def _wait_for_work(self, queue: HostQueue) -> bool:
        """True when a job is due; sleeps (on the clock) for greylisted ones; False when idle."""
        for _ in range(10_000):
            if self._closing:
                return False
            now = self.clock.monotonic()
            queue.purge()
            if queue.any_due(now):
                return True
            if queue.jobs:
                wait = min(job.not_before for job in queue.jobs) - now
                await self.clock.sleep(max(wait, 0.0))
                continue
            queue.wake.clear()
            try:
                await asyncio.wait_for(queue.wake.wait(), _LINGER_S)
            except asyncio.TimeoutError:
                return bool(queue.jobs)
        return False

    async def _one_session(self, queue: HostQueue, host: str, ip: str) -> None:
        taken: list[Job] = []
        try:
            transport = self.transport
            if self._egresses is not None:
                transport = self._egresses.transport(queue.egress)
            async with transport.open(host, ip, self.config.smtp_port) as session:
                self.stats.sessions += 1
                await self._transactions(queue, session, taken)
            self.gates.recovered(host, queue.egress)
        except Abandoned:
            # Every address of its group reached its time limit while the server kept quiet:
            # drop the connection (no QUIT to wait for) and free the slot for the others.
            queue.target_index += 1
        except SmtpError as exc:
            # Could not talk (refused, timeout, 421, TLS): nothing learned about the addresses.
            queue.target_index += 1
            if isinstance(exc, SmtpProtocolError) or exc.stage is Stage.STARTTLS:
                # Garbage, a reply that never ends, a failed TLS handshake: asking this host
                # again would only repeat it, so it is not asked again for a while.
                queue.broken[host] = (self.clock.monotonic() + _BROKEN_S, f"{host} [{ip}]: {exc}")
            elif (exc.reply is not None and exc.reply.code == 421) or exc.stage is Stage.GREETING:
                self.gates.back_off(host, queue.egress)
            if not taken:  # the session never started: the next jobs in line pay for it
                taken = queue.take(self.clock.monotonic(), queue.batch)
            for job in taken:
                if not job.future.done() and job not in queue.jobs:
                    self._transient(queue, job, exc.reply, f"{host} [{ip}]: {exc}")

    async def _transactions(self, queue: HostQueue, session: SmtpSession, taken: list[Job]) -> None:
        errors = 0
        for index in range(self.config.politeness.transactions_per_session):
            size = group_size(self.config.politeness, queue, errors)
            if size == 0 or self._closing:
                return
            batch = queue.take(self.clock.monotonic(), size, self._catch_alls.needs_probe)
            if not batch:
                queue.wake.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(queue.wake.wait(), _LINGER_S)
                batch = queue.take(self.clock.monotonic(), size, self._catch_alls.needs_probe)
                if not batch:
                    return
            taken[:] = batch
            asking = f"{session.host} [{session.ip}]: waiting for the replies to its RCPT group"
            for job in batch:
                job.step(asking)
            queue.busy += 1
            self._spawn_workers(queue)  # work left behind may want the host's other session
            last = is_last_group(self.config.politeness, queue, errors, len(batch), index)
            try:
                rejected = await unless_all_end(
                    batch, self._transaction(queue, session, batch, last=last)
                )
            finally:
                queue.busy -= 1
            taken.clear()
            if rejected < 0 or last:  # refused, closing, or QUIT already sent
                return
            errors += rejected

    async def _transaction(
        self, queue: HostQueue, session: SmtpSession, batch: list[Job], *, last: bool = False
    ) -> int:
        """One MAIL FROM with RCPTs for `batch`; returns the rejected RCPTs (-1: stop)."""
        no_utf8 = [j for j in batch if j.smtputf8 and "SMTPUTF8" not in session.extensions]
        for job in no_utf8:
            # RFC 6531 §3.4: a non-ASCII mailbox can only be named to an SMTPUTF8 server.
            self._settle(
                job,
                Reason.SERVER_DOES_NOT_SUPPORT_INTERNATIONAL_MAILBOXES,
                None,
                session.host,
                note=f"{session.host} does not offer SMTPUTF8",
            )
        batch = [j for j in batch if j not in no_utf8]
        if not batch:
            return 0
        self.stats.transactions += 1
        if self._egresses is not None:
            sender = guard_argument(await self._egresses.sender(queue.egress))
        else:
            sender = guard_argument(await self._sender())
        probes = self._catch_alls.probes(j.domain for j in batch)
        self.stats.catch_all_probes += len(probes)
        recipients = [p[1] for p in probes] + [j.recipient for j in batch]
        try:
            replies = await transaction_replies(
                session, sender, recipients, smtputf8=any(j.smtputf8 for j in batch), last=last
            )
        except SmtpError:
            self._catch_alls.failed([domain for domain, _ in probes])
            raise
        mail, rcpts = replies[0], replies[1 : 1 + len(recipients)]
        closing = any(r.code == 421 for r in replies)
        if closing:
            # RFC 5321 §3.8: the server is closing the session; come back later (known before
            # the addresses are put back, so none waits past its time limit for that).
            self.gates.back_off(session.host, queue.egress)
        if mail.code // 100 != 2:
            self._catch_alls.failed([domain for domain, _ in probes])
            return self._mail_refused(queue, session, batch, mail)
        self.stats.rcpts += len(rcpts)
        errors = 0
        for (domain, _), reply in zip(probes, rcpts, strict=False):
            self._catch_alls.record(domain, reply, session.host)
            errors += reply.code >= 400
        self._catch_alls.failed([domain for domain, _ in probes[len(rcpts) :]])
        accepted = 0
        for position, (job, reply) in enumerate(zip(batch, rcpts[len(probes) :], strict=False)):
            errors += reply.code >= 400
            queue.asked += 1
            job.rcpts += 1
            job.host = session.host
            meaning = classify(reply, host=session.host)
            if meaning.too_many_recipients:
                if position + len(probes) > 0:
                    # Outlook.com and others take few RCPTs per transaction: shrink, ask again.
                    queue.batch = max(1, accepted)
                    job.last = reply
                    job.notes.append(
                        f"{session.host}: RCPT TO: {reply}; asked again in a smaller group"
                    )
                    self._requeue(queue, job, front=True)
                    continue
                # The first RCPT of its transaction: not about the group's size but a limit on
                # us (per hour, per sender). Come back later, within the address's bounds.
                self.gates.back_off(session.host, queue.egress)
                self._transient(queue, job, reply, f"{session.host}: RCPT TO: {reply}")
                continue
            accepted += reply.code // 100 == 2
            queue.rejected += reply.code >= 500
            self._answer(queue, job, reply, meaning, session.host)
        for job in batch[max(0, len(rcpts) - len(probes)) :]:
            self._requeue(queue, job, front=True)  # never asked (the server closed)
        return -1 if closing else errors

    def _mail_refused(
        self, queue: HostQueue, session: SmtpSession, batch: list[Job], reply: Reply
    ) -> int:
        if reply.code // 100 == 4:
            if reply.code != 421:  # a 421 has backed the host off already
                self.gates.back_off(session.host, queue.egress)
            for job in batch:
                note = f"{session.host} [{session.ip}]: MAIL FROM: {reply}"
                self._transient(queue, job, reply, note)
            return -1
        # A refusal at MAIL FROM is about us, not the mailboxes: the same for every address.
        reason = classify(reply, host=session.host).reason
        for job in batch:
            self._settle(job, reason, reply, session.host)
        return -1

    # Settling ---------------------------------------------------------------------------

    def _answer(
        self, queue: HostQueue, job: Job, reply: Reply, meaning: Classification, host: str
    ) -> None:
        if meaning.greylisting:
            self._greylisted(queue, job, reply, host)
            return
        reason = meaning.reason
        if reason is Reason.TRANSIENT_NETWORK_FAULT:
            # A 4xx that is not greylisting says nothing about the mailbox: ask again later.
            self._transient(queue, job, reply, f"{host}: RCPT TO: {reply}")
            return
        self._settle(job, reason, reply, host)

    def _greylisted(self, queue: HostQueue, job: Job, reply: Reply, host: str) -> None:
        now = self.clock.monotonic()
        retry_at = now + self.config.greylist_delay_s
        if job.greylisted or not self.config.greylist_retry or retry_at >= job.deadline:
            if job.greylisted:
                job.notes.append("greylisted again on retry")
            elif self.config.greylist_retry:
                job.notes.append("greylisted; a retry does not fit the budget")
            self._settle(
                job,
                Reason.GREYLISTED,
                reply,
                host,
                resolved=False if job.greylisted else None,
                greylisted=True,
            )
            return
        # RFC 6647 §2.1: greylisting wants the same client back later; come back once.
        job.greylisted = True
        job.last = reply
        job.not_before = retry_at
        self._requeue(queue, job)

    def _transient(self, queue: HostQueue, job: Job, reply: Reply | None, note: str) -> None:
        job.attempts += 1
        job.notes.append(note)
        job.last = reply or job.last
        now = self.clock.monotonic()
        backoff = self.config.retry_backoff_s * 2 ** (job.attempts - 1)
        if (
            job.attempts > self.config.transient_retries
            or job.rcpts >= MAX_RCPTS_PER_ADDRESS
            or now + backoff >= job.deadline
        ):
            self._settle(job, Reason.TRANSIENT_NETWORK_FAULT, job.last, job.host)
            return
        job.not_before = now + backoff
        self._requeue(queue, job)

    def _requeue(self, queue: HostQueue, job: Job, *, front: bool = False) -> None:
        if job.future.done():
            return  # its check has ended (its time limit): nothing to ask any more
        job.requeues += 1
        if job.rcpts >= MAX_RCPTS_PER_ADDRESS or job.requeues > MAX_REQUEUES_PER_ADDRESS:
            self._give_up(job)
            return
        if self._too_late(queue, job):
            return
        self.stats.requeued += 1
        wait = job.not_before - self.clock.monotonic()
        target = queue.targets[queue.target_index % len(queue.targets)][0]
        if wait > 0:
            job.step(f"waiting {wait:.3g} s to ask {target} again")
        else:
            job.step(f"waiting for a session with {target}")
        if front:
            queue.jobs.appendleft(job)
        else:
            queue.jobs.append(job)
        queue.wake.set()

    def _too_late(self, queue: HostQueue, job: Job) -> bool:
        """Settle `job` now if its next chance (its own wait, the host's back-off after a 421
        or a limit on us) comes after its time limit: an answer now beats a Timeout later."""
        host = queue.targets[queue.target_index % len(queue.targets)][0]
        blocked_until = self.gates.state(host, queue.egress).blocked_until
        if max(job.not_before, blocked_until) < job.deadline:
            return False
        if blocked_until >= job.deadline:
            wait = blocked_until - self.clock.monotonic()
            note = f"not asked again: {host} is to be left alone {wait:.0f} s more (back-off)"
        else:
            note = "not asked again: the next try would come after this address's time limit"
        self._settle(job, Reason.TRANSIENT_NETWORK_FAULT, job.last, job.host, note=note)
        return True

    def _give_up(self, job: Job) -> None:
        """Past its bounds: unknown, with the last reply as evidence; never a retry loop."""
        reason = Reason.TRANSIENT_NETWORK_FAULT
        if job.last is not None and classify(job.last, host=job.host).reason in _UNPLACED:
            reason = classify(job.last, host=job.host).reason
        note = (
            f"not asked again: {job.rcpts} RCPTs answered and {job.requeues} requeues without "
            "a reply that settles it"
        )
        self._settle(job, reason, job.last, job.host, note=note)

    def _settle(
        self,
        job: Job,
        reason: Reason,
        reply: Reply | None,
        host: str | None,
        *,
        note: str | None = None,
        greylisted: bool | None = None,
        resolved: bool | None = None,
    ) -> None:
        if job.future.done():
            return
        if reason is Reason.SUCCESS and self._catch_alls.is_pending(job.domain):
            # The domain's catch-all answer is on its way in another session: wait for it,
            # so the verdict is the same whichever session answers first.
            job.step("accepted; waiting for the domain's catch-all probe in another session")
            self._catch_alls.wait(
                job.domain,
                lambda: self._settle(
                    job, reason, reply, host, note=note, greylisted=greylisted, resolved=resolved
                ),
            )
            return
        if note:
            job.notes.append(note)
        accept_all: bool | None = None
        catch_all_reply = None
        if reason is Reason.MAILBOX_DOES_NOT_EXIST:
            accept_all = False  # it refused one address, so it does not take all
        elif reason is Reason.SUCCESS:
            known = self._catch_alls.get(job.domain)
            if known is not None:
                accept_all, catch_all_reply = known.verdict, known.reply
        was_greylisted = job.greylisted if greylisted is None else greylisted
        if was_greylisted and resolved is None and reason is not Reason.GREYLISTED:
            resolved = True
        job.future.set_result(
            ProbeOutcome(
                reason=reason,
                reply=reply,
                host=host,
                accept_all=accept_all,
                catch_all_reply=catch_all_reply,
                greylisted=was_greylisted,
                greylist_resolved=resolved,
                notes=collapse_notes(job.notes) if job.notes else (),
            )
        )

    def _usable_target(self, queue: HostQueue) -> tuple[str, str] | None:
        """The next (host, IP) in turn whose host has not broken the protocol lately."""
        now = self.clock.monotonic()
        for step in range(len(queue.targets)):
            host, ip = queue.targets[(queue.target_index + step) % len(queue.targets)]
            until, _ = queue.broken.get(host, (0.0, ""))
            if until <= now:
                queue.target_index += step
                return host, ip
        return None

    def _fail_all(self, queue: HostQueue, reason: Reason, note: str) -> None:
        while queue.jobs:
            job = queue.jobs.popleft()
            self._settle(job, reason, job.last, job.host, note=note)

    async def aclose(self) -> None:
        """Let idle sessions end with QUIT, then stop whatever is left."""
        self._closing = True
        for queue in self._queues.values():
            queue.wake.set()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=_CLOSE_WAIT_S)
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def _broken_note(queue: HostQueue) -> str:
    said = "; ".join(note for _, note in queue.broken.values())
    return f"not asked: every mail host broke the protocol lately ({said})"
