"""The driver's side of a cluster run: every stage but SMTP runs here (syntax, typos, DNS, the
result cache, the verdict), and the SMTP stage of each address goes, in batches, to the worker
of the egress that owns its site (engine.scaleout.ownership).

No Ray here: batches leave through a `send` callable (Cluster.probe in a run, a plain function
in tests). The driver opens no SMTP session of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager

from engine.addresses import is_public_ip
from engine.bulk import BulkChecker
from engine.cache import ResultCache
from engine.clock import Clock
from engine.errors import (
    EngineError,
    InternalError,
    NoMailServer,
    NoPublicMxAddress,
    SmtpProtocolError,
    SmtpTransient,
)
from engine.model import ProbeOutcome
from engine.pipeline import Deps
from engine.progress import Progress
from engine.routing import EgressRouter
from engine.scaleout.config import ScaleOut
from engine.scaleout.ownership import Owners, shard_of, site_of
from engine.scaleout.worker import Answer, Failure
from engine.smtp import SmtpSession
from engine.verdict import Findings

__all__ = ["Batches", "ClusterChecker", "Send"]

Send = Callable[[str, list[tuple[int, Findings]]], Awaitable[list[tuple[int, Answer]]]]
"""Sends one batch of (sequence number, findings) to an egress's worker; returns the answers."""

# Errors a worker may report by name; anything else comes back as a transient fault.
_ERRORS: dict[str, Callable[[str], EngineError]] = {
    "NoPublicMxAddress": NoPublicMxAddress,
    "NoMailServer": NoMailServer,
    "SmtpProtocolError": SmtpProtocolError,
    "InternalError": InternalError,
}


def error_of(failure: Failure) -> EngineError:
    """The engine error a worker's Failure stands for (the verdict needs its class)."""
    return _ERRORS.get(failure.error, SmtpTransient)(failure.message)


class Batches:
    """Collects each egress's addresses into batches and settles every address exactly once.

    An address waits at most `linger_s` for its batch to fill. A batch that fails for good
    (its worker lost) settles its addresses as transient faults: unknown, never undeliverable.
    Answers are matched by sequence number, so an answer that comes twice counts once.
    """

    def __init__(self, send: Send, *, size: int, linger_s: float) -> None:
        self._send = send
        self._size = size
        self._linger_s = linger_s
        self._seq = itertools.count()
        self._pending: dict[str, list[tuple[int, Findings]]] = {}
        self._waiting: dict[int, asyncio.Future[Answer]] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.sent: dict[str, int] = {}  # addresses sent to each egress

    async def ask(self, egress: str, findings: Findings) -> Answer:
        """The worker's answer for `findings`, asked through `egress`."""
        loop = asyncio.get_running_loop()
        seq = next(self._seq)
        future: asyncio.Future[Answer] = loop.create_future()
        self._waiting[seq] = future
        batch = self._pending.setdefault(egress, [])
        batch.append((seq, findings))
        if len(batch) >= self._size:
            self._flush(egress)
        elif egress not in self._timers:
            self._timers[egress] = loop.call_later(self._linger_s, self._flush, egress)
        try:
            return await future
        finally:
            self._waiting.pop(seq, None)

    def _flush(self, egress: str) -> None:
        timer = self._timers.pop(egress, None)
        if timer is not None:
            timer.cancel()
        batch = self._pending.pop(egress, [])
        if not batch:
            return
        self.sent[egress] = self.sent.get(egress, 0) + len(batch)
        task = asyncio.ensure_future(self._deliver(egress, batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, egress: str, batch: list[tuple[int, Findings]]) -> None:
        try:
            answers = await self._send(egress, batch)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            lost = Failure("SmtpTransient", f"egress {egress}: {type(exc).__name__}: {exc}")
            answers = [(seq, lost) for seq, _ in batch]
        for seq, answer in answers:
            self._settle(seq, answer)
        # A worker that skipped an address (it never should) must not leave it waiting.
        for seq, _ in batch:
            self._settle(seq, Failure("InternalError", f"egress {egress} gave no answer"))

    def _settle(self, seq: int, answer: Answer) -> None:
        future = self._waiting.get(seq)
        if future is not None and not future.done():
            future.set_result(answer)

    async def aclose(self) -> None:
        """Stop waiting: cancel timers and batches still out."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task


class _NoSessions:
    """The driver's transport: it never opens a session (its workers do)."""

    def open(self, host: str, ip: str, port: int) -> AbstractAsyncContextManager[SmtpSession]:
        raise RuntimeError("the driver of a cluster run opens no SMTP session")


async def _no_sender() -> str:
    raise RuntimeError("the driver of a cluster run sends no MAIL FROM")


class ClusterChecker(BulkChecker):
    """The bulk checker of the driver: the stages before and after SMTP as on one machine
    (same verdicts, same cache), the SMTP stage through the owning egress's worker."""

    def __init__(
        self,
        deps: Deps,
        send: Send,
        scaleout: ScaleOut,
        *,
        clock: Clock | None = None,
        cache: ResultCache | None = None,
        refresh: bool = False,
    ) -> None:
        super().__init__(
            deps, _NoSessions(), sender=_no_sender, clock=clock, cache=cache, refresh=refresh
        )
        config = deps.config
        self.scaleout = scaleout
        self.router = EgressRouter(config.egresses, config.routes)
        self.owners = Owners(scaleout.spread)
        self.batches = Batches(send, size=scaleout.batch, linger_s=scaleout.linger_s)

    async def _probe(self, f: Findings, progress: Progress) -> ProbeOutcome:
        # `progress` stays here: the worker that asks keeps the address's time limit itself.
        # The bulk checker's SSRF guard, before anything leaves the driver.
        hosts = sorted(f.hosts, key=lambda h: h.preference)
        ips = [ip for h in hosts for ip in h.ips]
        if not self.config.allow_private_addresses:
            ips = [ip for ip in ips if is_public_ip(ip)]
            if not ips:
                raise NoPublicMxAddress(f"no public mail host address for {f.address.ascii_domain}")
        if not ips:
            raise NoMailServer(f"no mail host address for {f.address.ascii_domain}")
        primary = next(h.host for h in hosts if h.ips)
        site = site_of(hosts, f.provider)
        candidates = [e.name for e in self.router.candidates(primary, f.provider)]
        shard = shard_of(f.address.ascii_email, self.scaleout.spread)
        egress = self.owners.owner(site, shard, candidates)
        answer = await self.batches.ask(egress, f)
        if isinstance(answer, Failure):
            raise error_of(answer)
        return answer

    async def aclose(self) -> None:
        await self.batches.aclose()
        await super().aclose()
