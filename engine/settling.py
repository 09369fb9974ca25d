"""What becomes of each address in a bulk run after its group's replies, or after a session
that failed: settled (its ProbeOutcome), put back in its queue for a later session, or given
up past its bounds (RCPTs and requeues per address, its time limit) as unknown with the last
reply.

Bookkeeping over the queues and the politeness gates: no SMTP, no verdicts (those are
engine.verdict's); a reply that cannot be placed never makes an address undeliverable.
"""

from __future__ import annotations

from engine.catchalls import CatchAlls
from engine.clock import Clock
from engine.config import Config
from engine.hostqueue import BulkStats, HostQueue, Job
from engine.model import ProbeOutcome, Reason, Reply
from engine.politeness import Gates
from engine.progress import collapse_notes
from engine.replies import Classification, classify

__all__ = ["MAX_RCPTS_PER_ADDRESS", "MAX_REQUEUES_PER_ADDRESS", "Settler"]

# Bounds per address and run, whatever the servers say: RCPT TO commands answered for it
# (catch-all probes apart) and times it is put back in a queue. Past them it is settled
# unknown with the last reply as evidence, never asked again.
MAX_RCPTS_PER_ADDRESS = 3
MAX_REQUEUES_PER_ADDRESS = 10
# What a reply that cannot be placed may still say: it never makes an address undeliverable.
_UNPLACED = frozenset({Reason.TRANSIENT_NETWORK_FAULT, Reason.GREYLISTED, Reason.UNKNOWN})


class Settler:
    """Settles, requeues or gives up on the addresses of one bulk run."""

    def __init__(
        self, config: Config, clock: Clock, gates: Gates, catch_alls: CatchAlls, stats: BulkStats
    ) -> None:
        self._config = config
        self._clock = clock
        self._gates = gates
        self._catch_alls = catch_alls
        self._stats = stats

    def _answer(
        self, queue: HostQueue, job: Job, reply: Reply, meaning: Classification, host: str
    ) -> None:
        """`host` answered `reply` to the job's RCPT (`meaning` is its classification)."""
        if meaning.greylisting:
            self._greylisted(queue, job, reply, host)
            return
        reason = meaning.reason
        if reason is Reason.TRANSIENT_NETWORK_FAULT:
            # A 4xx that is not greylisting says nothing about the mailbox: ask again later.
            self.transient(queue, job, reply, f"{host}: RCPT TO: {reply}")
            return
        self.settle(job, reason, reply, host)

    def group_replies(
        self,
        queue: HostQueue,
        host: str,
        ip: str,
        batch: list[Job],
        probes: list[tuple[str, str]],
        replies: list[Reply],
    ) -> int:
        """What `host` told a group's transaction: `replies` are [MAIL, the RCPTs of the
        catch-all `probes` (domain, recipient) then of `batch`, RSET], fewer if it closed.
        Each address is settled, requeued or given up; returns the rejected RCPTs (-1: end
        the session)."""
        mail, rcpts = replies[0], replies[1 : 1 + len(probes) + len(batch)]
        closing = any(r.code == 421 for r in replies)
        if closing:
            # RFC 5321 §3.8: the server is closing the session; come back later (known before
            # the addresses are put back, so none waits past its time limit for that).
            self._gates.back_off(host, queue.egress)
        if mail.code // 100 != 2:
            self._catch_alls.failed([domain for domain, _ in probes])
            return self._mail_refused(queue, host, ip, batch, mail)
        self._stats.rcpts += len(rcpts)
        errors = 0
        for (domain, _), reply in zip(probes, rcpts, strict=False):
            self._catch_alls.record(domain, reply, host)
            errors += reply.code >= 400
        self._catch_alls.failed([domain for domain, _ in probes[len(rcpts) :]])
        accepted = 0
        for position, (job, reply) in enumerate(zip(batch, rcpts[len(probes) :], strict=False)):
            errors += reply.code >= 400
            queue.asked += 1
            job.rcpts += 1
            job.host = host
            meaning = classify(reply, host=host)
            if meaning.too_many_recipients:
                if position + len(probes) > 0:
                    # Outlook.com and others take few RCPTs per transaction: shrink, ask again.
                    queue.batch = max(1, accepted)
                    job.last = reply
                    job.notes.append(f"{host}: RCPT TO: {reply}; asked again in a smaller group")
                    self.requeue(queue, job, front=True)
                    continue
                # The first RCPT of its transaction: not about the group's size but a limit on
                # us (per hour, per sender). Come back later, within the address's bounds.
                self._gates.back_off(host, queue.egress)
                self.transient(queue, job, reply, f"{host}: RCPT TO: {reply}")
                continue
            accepted += reply.code // 100 == 2
            queue.rejected += reply.code >= 500
            self._answer(queue, job, reply, meaning, host)
        for job in batch[max(0, len(rcpts) - len(probes)) :]:
            self.requeue(queue, job, front=True)  # never asked (the server closed)
        return -1 if closing else errors

    def _mail_refused(
        self, queue: HostQueue, host: str, ip: str, batch: list[Job], reply: Reply
    ) -> int:
        if reply.code // 100 == 4:
            if reply.code != 421:  # a 421 has backed the host off already
                self._gates.back_off(host, queue.egress)
            for job in batch:
                note = f"{host} [{ip}]: MAIL FROM: {reply}"
                self.transient(queue, job, reply, note)
            return -1
        # A refusal at MAIL FROM is about us, not the mailboxes: the same for every address.
        reason = classify(reply, host=host).reason
        for job in batch:
            self.settle(job, reason, reply, host)
        return -1

    def _greylisted(self, queue: HostQueue, job: Job, reply: Reply, host: str) -> None:
        now = self._clock.monotonic()
        retry_at = now + self._config.greylist_delay_s
        if job.greylisted or not self._config.greylist_retry or retry_at >= job.deadline:
            if job.greylisted:
                job.notes.append("greylisted again on retry")
            elif self._config.greylist_retry:
                job.notes.append("greylisted; a retry does not fit the budget")
            self.settle(
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
        self.requeue(queue, job)

    def transient(self, queue: HostQueue, job: Job, reply: Reply | None, note: str) -> None:
        """The job was left unanswered (a failed session, a 4xx): ask again after a back-off
        that doubles, within its retries, bounds and time limit; else settle it unknown."""
        job.attempts += 1
        job.notes.append(note)
        job.last = reply or job.last
        now = self._clock.monotonic()
        backoff = self._config.retry_backoff_s * 2 ** (job.attempts - 1)
        if (
            job.attempts > self._config.transient_retries
            or job.rcpts >= MAX_RCPTS_PER_ADDRESS
            or now + backoff >= job.deadline
        ):
            self.settle(job, Reason.TRANSIENT_NETWORK_FAULT, job.last, job.host)
            return
        job.not_before = now + backoff
        self.requeue(queue, job)

    def requeue(self, queue: HostQueue, job: Job, *, front: bool = False) -> None:
        """Put the job back in `queue` (at the front: it was never asked), within its bounds."""
        if job.future.done():
            return  # its check has ended (its time limit): nothing to ask any more
        job.requeues += 1
        if job.rcpts >= MAX_RCPTS_PER_ADDRESS or job.requeues > MAX_REQUEUES_PER_ADDRESS:
            self._give_up(job)
            return
        if self.too_late(queue, job):
            return
        self._stats.requeued += 1
        wait = job.not_before - self._clock.monotonic()
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

    def too_late(self, queue: HostQueue, job: Job) -> bool:
        """Settle `job` now if its next chance (its own wait, the host's back-off after a 421
        or a limit on us) comes after its time limit: an answer now beats a Timeout later."""
        host = queue.targets[queue.target_index % len(queue.targets)][0]
        blocked_until = self._gates.state(host, queue.egress).blocked_until
        if max(job.not_before, blocked_until) < job.deadline:
            return False
        if blocked_until >= job.deadline:
            wait = blocked_until - self._clock.monotonic()
            note = f"not asked again: {host} is to be left alone {wait:.0f} s more (back-off)"
        else:
            note = "not asked again: the next try would come after this address's time limit"
        self.settle(job, Reason.TRANSIENT_NETWORK_FAULT, job.last, job.host, note=note)
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
        self.settle(job, reason, job.last, job.host, note=note)

    def settle(
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
        """The job's ProbeOutcome, once (an accepted address waits for its domain's catch-all
        answer when that is still out)."""
        if job.future.done():
            return
        if reason is Reason.SUCCESS and self._catch_alls.is_pending(job.domain):
            # The domain's catch-all answer is on its way in another session: wait for it,
            # so the verdict is the same whichever session answers first.
            job.step("accepted; waiting for the domain's catch-all probe in another session")
            self._catch_alls.wait(
                job.domain,
                lambda: self.settle(
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
            # Resolved only by an answer: a retry that could not talk settles nothing.
            resolved = reason not in _UNPLACED
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

    def fail_all(self, queue: HostQueue, reason: Reason, note: str) -> None:
        """Settle every job waiting in `queue` with `reason` and `note`."""
        while queue.jobs:
            job = queue.jobs.popleft()
            self.settle(job, reason, job.last, job.host, note=note)
