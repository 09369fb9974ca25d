"""The egress worker: one per egress, on the node that owns the egress's address. It asks the
SMTP questions of the addresses the driver sends it, through that egress only, with one bulk
checker and one set of politeness gates for the whole run.

A plain class with async methods; engine.scaleout.cluster makes it a Ray actor, and tests can
drive it without Ray. It never resolves names: the driver sends findings with their mail hosts.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from engine.config import Config
from engine.errors import EngineError
from engine.model import ProbeOutcome
from engine.progress import Progress
from engine.routing import DIRECT, Egress
from engine.verdict import Findings
from engine.verifier import Verifier

if TYPE_CHECKING:
    from engine.bulk import BulkChecker

__all__ = ["Answer", "EgressWorker", "Failure", "WorkerStats", "worker_config"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Failure:
    """The SMTP stage raised instead of answering: the error's class name and message."""

    error: str
    message: str


Answer = ProbeOutcome | Failure
"""What the worker sends back for one address."""


@dataclass(frozen=True, slots=True)
class WorkerStats:
    """What one worker did since it (last) started."""

    egress: str
    pid: int
    started: float  # time.time() when this incarnation started: a restart changes it
    sessions: int
    transactions: int
    rcpts: int
    peak_per_host: tuple[tuple[str, int], ...]  # most concurrent sessions to each MX host
    opened_per_host: tuple[tuple[str, int], ...]  # sessions opened to each MX host


def worker_config(config: Config, egress: Egress) -> Config:
    """The Config of `egress`'s worker: that egress alone, no routes (the driver routes), no
    result cache (the driver keeps it), no typo lists (the driver suggested already)."""
    return replace(
        config,
        egresses=() if egress == DIRECT else (egress,),
        routes=(),
        cache_path=None,
        suggest_typos=False,
    )


class EgressWorker:
    """Asks through one egress; every method is async and none raises for an address."""

    def __init__(self, config: Config, egress: Egress) -> None:
        self.egress = egress
        self.config = worker_config(config, egress)
        self._verifier = Verifier(self.config)
        self._checker: BulkChecker | None = None
        self._started = time.time()

    async def ready(self) -> int:
        """The worker's process id, once it can take work."""
        return os.getpid()

    async def probe(self, batch: list[tuple[int, Findings]]) -> list[tuple[int, Answer]]:
        """The SMTP answer for each (sequence number, findings) of `batch`, in any order.

        The addresses join the worker's queues per MX host, so a batch shares sessions with
        every other batch in flight here."""
        answers = await asyncio.gather(*(self._one(findings) for _, findings in batch))
        return [(seq, answer) for (seq, _), answer in zip(batch, answers, strict=True)]

    async def _one(self, findings: Findings) -> Answer:
        if self._checker is None:
            self._checker = self._verifier.bulk()
        try:
            # The bulk checker's SMTP stage alone: the driver ran the stages before it. The
            # address gets the per-address budget here, from when the worker takes it.
            budget_s = self._verifier.config.timeouts.budget_s
            progress = Progress(
                findings.address.input,
                time.perf_counter(),
                self._verifier.clock.monotonic() + budget_s,
                expires=asyncio.get_running_loop().time() + budget_s,
                findings=findings,
            )
            return await self._checker._probe(findings, progress)
        except EngineError as exc:
            return Failure(type(exc).__name__, str(exc))
        except Exception as exc:  # a bug; the address still gets an answer
            log.exception("internal error in the egress worker")
            return Failure("InternalError", f"egress {self.egress.name}: {type(exc).__name__}")

    async def stats(self) -> WorkerStats:
        """Counters of this incarnation (sessions, RCPTs, peaks per MX host)."""
        s = self._checker.stats if self._checker is not None else None
        gates = self._verifier.gates
        return WorkerStats(
            egress=self.egress.name,
            pid=os.getpid(),
            started=self._started,
            sessions=s.sessions if s else 0,
            transactions=s.transactions if s else 0,
            rcpts=s.rcpts if s else 0,
            peak_per_host=tuple(sorted(gates.peak_per_host().items())),
            opened_per_host=tuple(sorted(gates.opened_per_host().items())),
        )

    async def aclose(self) -> None:
        """End idle sessions with QUIT."""
        await self._verifier.aclose()
