"""The bulk checker's queues: addresses waiting for their SMTP answer, one queue per set of MX
targets, how a transaction's group of RCPTs is taken from it, and the run's counters.

Plain data and bookkeeping: no I/O, no clock of its own (callers pass `now`).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from engine.model import ProbeOutcome, Reply
from engine.progress import Progress
from engine.verdict import Findings

__all__ = ["BulkStats", "HostQueue", "Job"]


@dataclass(eq=False, slots=True)
class Job:
    """One address waiting for its SMTP answer."""

    findings: Findings
    recipient: str
    deadline: float  # Clock seconds: retries and waits must end before it
    future: asyncio.Future[ProbeOutcome]
    expires: float = 0.0  # the event loop's time when its check's time limit ends it
    attempts: int = 0  # sessions or transient replies that left it unanswered
    rcpts: int = 0  # RCPT TO replies received for it (catch-all probes apart)
    requeues: int = 0  # times it was put back in the queue
    not_before: float = 0.0
    greylisted: bool = False
    last: Reply | None = None  # the last reply about it, the evidence if it stays unsettled
    host: str | None = None  # the MX host that gave that reply
    notes: list[str] = field(default_factory=list)
    progress: Progress | None = None  # its check's progress: the step it waits on
    queue: HostQueue | None = None  # the queue it waits in (another egress's after a fail-over)
    domain: str = field(init=False)  # the address's A-label domain (asked for often)
    smtputf8: bool = field(init=False)  # the local part needs SMTPUTF8 (RFC 6531)

    def __post_init__(self) -> None:
        self.domain = self.findings.address.ascii_domain
        self.smtputf8 = self.findings.address.is_smtputf8

    def step(self, text: str) -> None:
        """Say what it waits on now (read when its time limit stops the check)."""
        if self.progress is not None:
            self.progress.step = text


@dataclass(eq=False)
class HostQueue:
    """Addresses that share the same mail hosts, and the state of their sessions."""

    targets: list[tuple[str, str]]  # (MX host, IP) in preference order
    provider: str | None
    batch: int  # RCPTs per transaction; shrinks on "452 too many recipients"
    egress: str = ""  # the egress every session of this queue leaves by ("": the only one)
    jobs: deque[Job] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    workers: int = 0
    busy: int = 0  # workers holding a group that is being asked right now
    stale: int = 0  # jobs given up (their time limit) since the last purge
    target_index: int = 0
    # Hosts that broke the protocol: (Clock time until which they are not asked, what they did)
    broken: dict[str, tuple[float, str]] = field(default_factory=dict)
    asked: int = 0  # RCPTs answered for real addresses (not catch-all probes)
    rejected: int = 0  # of those, permanent refusals: the host's rejection rate

    def usable_target(self, now: float) -> tuple[str, str] | None:
        """The next (host, IP) in turn whose host has not broken the protocol lately."""
        for step in range(len(self.targets)):
            host, ip = self.targets[(self.target_index + step) % len(self.targets)]
            until, _ = self.broken.get(host, (0.0, ""))
            if until <= now:
                self.target_index += step
                return host, ip
        return None

    def broken_note(self) -> str:
        """Why no target is usable: what each host did."""
        said = "; ".join(note for _, note in self.broken.values())
        return f"not asked: every mail host broke the protocol lately ({said})"

    def due(self, now: float) -> int:
        return sum(1 for job in self.jobs if job.not_before <= now)

    def any_due(self, now: float) -> bool:
        return any(job.not_before <= now for job in self.jobs)

    def purge(self) -> None:
        """Drop the jobs given up while they waited (their time limit), if any were."""
        if self.stale:
            self.jobs = deque(job for job in self.jobs if not job.future.done())
            self.stale = 0

    def hand_over(self) -> list[Job]:
        """Take out the waiting jobs that may go through another egress: all but those
        greylisted (their retry must come from the client IP the server saw first)."""
        moving = [job for job in self.jobs if not job.greylisted and not job.future.done()]
        self.jobs = deque(job for job in self.jobs if job.greylisted and not job.future.done())
        self.stale = 0
        return moving

    def take(
        self, now: float, limit: int, needs_probe: Callable[[str], bool] = lambda d: False
    ) -> list[Job]:
        """Up to `limit` RCPTs' worth of due jobs; a domain still to be probed for catch-all
        costs one RCPT more. The first due job is always taken, so a group is never empty."""
        taken: list[Job] = []
        probed: set[str] = set()
        skipped: list[Job] = []
        cost = 0
        while self.jobs and cost < limit:
            job = self.jobs.popleft()
            if job.future.done():
                continue  # its check ended while it waited (its time limit): never ask for it
            extra = int(job.domain not in probed and needs_probe(job.domain))
            if job.not_before <= now and (not taken or cost + 1 + extra <= limit):
                taken.append(job)
                cost += 1 + extra
                if extra:
                    probed.add(job.domain)
            else:
                skipped.append(job)
        # What was passed over goes back to the front, in its order: only the jobs looked at
        # are touched, so a long queue costs nothing per group.
        self.jobs.extendleft(reversed(skipped))
        return taken


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
