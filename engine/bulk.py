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
from dataclasses import replace
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
    ProxyFault,
    SmtpError,
    SmtpProtocolError,
)
from engine.failover import EgressFailover
from engine.groupwatch import Abandoned, unless_all_end
from engine.hostqueue import BulkStats, HostQueue, Job
from engine.model import ProbeOutcome, Reason, Result, Stage, Timings
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
from engine.progress import PROBING, RESOLVING, Progress
from engine.rcptgroups import group_size, is_last_group, transaction_replies
from engine.settling import MAX_RCPTS_PER_ADDRESS, MAX_REQUEUES_PER_ADDRESS, Settler
from engine.smtp import (
    SmtpSession,
    SmtpTransport,
    guard_argument,
)
from engine.verdict import Findings, decide

__all__ = [
    "MAX_RCPTS_PER_ADDRESS",
    "MAX_REQUEUES_PER_ADDRESS",
    "BulkChecker",
    "BulkStats",
]

log = logging.getLogger(__name__)

# A worker with nothing due waits this long for more work before it gives its session up.
_LINGER_S = 0.05
_CLOSE_WAIT_S = 5.0  # seconds aclose() lets sessions end with QUIT
_BROKEN_S = 600.0  # a host that broke the protocol is not asked again for this long


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
        # and keeps it, unless its proxy fails: then it may take another the route allows. A
        # greylisted address keeps it: its retry must leave by the same client IP.
        self._egresses = egresses
        self._failover = EgressFailover(egresses, self.clock) if egresses is not None else None
        self._queues: dict[tuple[str, tuple[tuple[str, str], ...]], HostQueue] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._catch_alls = CatchAlls(
            detect=self.config.detect_catch_all, cache=cache, refresh=refresh, spawn=self._spawn
        )
        self._settler = Settler(self.config, self.clock, self.gates, self._catch_alls, self.stats)
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
        egress = self._failover.pick(targets[0][0]) if self._failover is not None else ""
        queue = self._queue(egress, targets, f.provider)
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
            queue=queue,
        )
        if egress:
            job.notes.append(f"egress {egress}")
        if self._catch_alls.to_load(job.domain):
            await self._catch_alls.load(job.domain)  # (no coroutine at all for most addresses)
        if self._settler.too_late(queue, job):
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
                if job.queue is not None:
                    job.queue.stale += 1

    def _queue(
        self, egress: str, targets: list[tuple[str, str]], provider: str | None
    ) -> HostQueue:
        key = (egress, tuple(targets))
        queue = self._queues.get(key)
        if queue is None:
            batch = self.config.politeness.rcpts_per_transaction
            queue = self._queues[key] = HostQueue(targets, provider, batch=batch, egress=egress)
        return queue

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
                target = queue.usable_target(self.clock.monotonic())
                if target is None:
                    self._settler.fail_all(
                        queue, Reason.TRANSIENT_NETWORK_FAULT, queue.broken_note()
                    )
                    continue
                host, ip = target
                async with self.gates.session(host, queue.provider, queue.egress):
                    await self._one_session(queue, host, ip)
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug: never leave callers waiting
            log.exception("bulk worker failed")
            self._settler.fail_all(queue, Reason.UNKNOWN, "internal error in the bulk scheduler")
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
            other = self._fail_over(queue) if isinstance(exc, ProxyFault) else None
            for job in taken:
                if not job.future.done() and job not in queue.jobs:
                    to = other if other is not None and not job.greylisted else queue
                    self._settler.transient(to, job, exc.reply, f"{host} [{ip}]: {exc}")
                    if to is not queue:
                        self._moved(job, queue, to)
            if other is not None:
                self._spawn_workers(other)

    def _fail_over(self, queue: HostQueue) -> HostQueue | None:
        """After a proxy fault on the queue's egress: the queue of another egress the host's
        route allows, holding this queue's waiting addresses from now (a greylisted one stays);
        None when no other egress may serve the host."""
        if self._failover is None:
            return None
        host = queue.targets[0][0]
        self._failover.failed(queue.egress, host)
        egress = self._failover.instead_of(queue.egress, host)
        if egress is None:
            return None
        other = self._queue(egress, queue.targets, queue.provider)
        for job in queue.hand_over():
            self._settler.requeue(other, job)  # within its bounds and time limit
            self._moved(job, queue, other)
        return other

    @staticmethod
    def _moved(job: Job, old: HostQueue, new: HostQueue) -> None:
        job.queue = new
        if not job.future.done():
            job.notes.append(f"egress {new.egress} (after a proxy fault on egress {old.egress})")

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
            self._settler.settle(
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
        return self._settler.group_replies(queue, session.host, session.ip, batch, probes, replies)

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
