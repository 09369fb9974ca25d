"""Bulk jobs: run through the Verifier's bulk checker in input order, rows stored as they settle.

Each settled batch and the job's progress are written in one transaction, so after a crash
(even `kill -9`) a restart picks the job up at its first unsettled row: every row is answered
once, and no settled row is asked again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from engine.model import Result, State
from engine.ordered import check_many
from engine.output import jsonl_line
from engine.service.events import Event, JobEvents
from engine.service.faces._batch import BatchFacts
from engine.service.store import (
    CANCELLED,
    COMPLETED,
    FAILED,
    RUNNING,
    JobRecord,
    Store,
    job_number,
)

log = logging.getLogger(__name__)

_FLUSH_ROWS = 500  # settled rows per transaction...
_FLUSH_S = 0.25  # ...or this often, whichever comes first

Check = Callable[[str], Awaitable[Result]]
Notify = Callable[[JobRecord, str], Awaitable[None]]  # (job, "job.started" | ...) -> webhooks


def empty_counts() -> dict[str, dict[str, int]]:
    return {"state": {s.value: 0 for s in State}, "reason": {}}


@dataclass(frozen=True, slots=True)
class Flight:
    """What a running job is waiting for right now, beyond what its rows settled say."""

    # Checks in flight for longer than Settings.slow_after_s, while no row settled for as long:
    # slow servers (a tarpit, greylisting, a held reply) the rate of the rows done says nothing of.
    waiting: int = 0
    waiting_at_most_s: float | None = None  # what the per-address budget still allows them


def job_view(
    job: JobRecord, *, now: float | None = None, flight: Flight | None = None
) -> dict[str, Any]:
    """The job as the native API shows it.

    `eta_s` comes from the rate of the rows done; while rows wait on slow servers that rate
    means nothing, so `eta_s` is null and `waiting` counts them (`waiting_at_most_s`: the most
    the per-address budget lets them take).
    """
    now = time.time() if now is None else now
    counts = job.counts or empty_counts()
    waiting = flight.waiting if flight is not None and job.status == RUNNING else 0
    eta: float | None = None
    if waiting:
        eta = None
    elif job.status == RUNNING and job.started and job.processed:
        rate = job.processed / max(now - job.started, 1e-6)
        eta = round((job.total - job.processed) / rate, 1) if rate > 0 else None
    elif job.status == COMPLETED:
        eta = 0.0
    return {
        "id": job.id,
        "status": job.status,
        "total": job.total,
        "processed": job.processed,
        "percent": round(100.0 * job.processed / job.total, 2) if job.total else 100.0,
        "counts": dict(counts.get("state", {})),
        "reasons": dict(counts.get("reason", {})),
        "eta_s": eta,
        "waiting": waiting,
        "waiting_at_most_s": flight.waiting_at_most_s if waiting and flight else None,
        "created_at": job.created,
        "started_at": job.started,
        "finished_at": job.finished,
        "metadata": job.metadata,
        "callback_url": job.callback_url,
        "error": job.error,
    }


def batch_facts(job: JobRecord) -> BatchFacts:
    """The job as the vendor faces map it (their ids are integers: job_number())."""
    meta = job.metadata if isinstance(job.metadata, dict) else {}
    name = meta.get("file")
    return BatchFacts(
        number=job_number(job.id),
        status=job.status,
        total=job.total,
        processed=job.processed,
        states=dict(job.counts.get("state", {})),
        created=job.created,
        started=job.started,
        finished=job.finished,
        error=job.error,
        name=name if isinstance(name, str) else None,
    )


class JobRunner:
    """Runs queued jobs, at most `max_running` at once, all through one shared bulk checker."""

    def __init__(
        self,
        store: Store,
        check: Check,
        events: JobEvents,
        notify: Notify,
        *,
        window: int,
        max_running: int,
        progress_every_s: float,
        event_every_s: float,
        slow_after_s: float = 5.0,
        budget_s: float = 120.0,
        on_row: Callable[[Result], None] = lambda r: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`slow_after_s`: how long a check may be in flight, with no row settling, before
        the job counts it as waiting; `budget_s`: the engine's time limit for one address."""
        self._store = store
        self._check = check
        self._events = events
        self._notify = notify
        self._window = window
        self._slots = asyncio.Semaphore(max_running)
        self._progress_every_s = progress_every_s
        self._event_every_s = event_every_s
        self._slow_after_s = slow_after_s
        self._budget_s = budget_s
        self._on_row = on_row
        self._clock = clock
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._flights: dict[str, _InFlight] = {}

    def flight(self, job_id: str) -> Flight | None:
        """What the job, if running here, waits for now (None when it is not running here)."""
        live = self._flights.get(job_id)
        if live is None:
            return None
        now = self._clock()
        if now - live.last_settled < self._slow_after_s:
            return Flight()
        ages = [now - t for t in live.started.values() if now - t >= self._slow_after_s]
        if not ages:
            return Flight()
        return Flight(len(ages), round(max(0.0, self._budget_s - min(ages)), 1))

    def view(self, job: JobRecord) -> dict[str, Any]:
        """job_view() with what the job waits for, when it runs here."""
        return job_view(job, flight=self.flight(job.id))

    async def resume(self) -> int:
        """Queue the jobs a previous process left unfinished; returns how many."""
        jobs = await self._store.unfinished_jobs()
        for job in jobs:
            self.submit(job.id)
        return len(jobs)

    def submit(self, job_id: str) -> None:
        if job_id not in self._tasks:
            task = asyncio.ensure_future(self._guarded(job_id))
            self._tasks[job_id] = task
            task.add_done_callback(lambda _: self._tasks.pop(job_id, None))

    def running(self) -> int:
        return len(self._tasks)

    async def cancel(self, job_id: str) -> bool:
        """Stop a job; True if it was queued or running here."""
        task = self._tasks.get(job_id)
        if task is None:
            return False
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return True

    async def aclose(self) -> None:
        """Stop every job without marking it: the next start resumes them."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _guarded(self, job_id: str) -> None:
        async with self._slots:
            job = await self._store.job(job_id)
            if job is None or job.status not in ("queued", "running"):
                return
            try:
                await self._run(job)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug or a broken disk: the job fails, the service stays
                log.exception("job %s failed", job_id)
                await self._finish(job_id, FAILED, f"internal error: {type(exc).__name__}")

    async def _finish(self, job_id: str, status: str, error: str | None = None) -> None:
        await self._store.set_status(job_id, status, error=error)
        job = await self._store.job(job_id)
        if job is None:
            return
        self._events.publish(job_id, Event(status, self.view(job)))
        if status in (COMPLETED, FAILED):
            await self._notify(job, "job." + status)

    async def _run(self, job: JobRecord) -> None:
        first_start = job.started is None
        await self._store.set_status(job.id, RUNNING, started=True)
        fresh = await self._store.job(job.id)
        if fresh is None:
            return
        job = fresh
        self._events.publish(job.id, Event("started", self.view(job)))
        if first_start:
            await self._notify(job, "job.started")
        counts = job.counts if job.counts.get("state") else empty_counts()
        processed = job.processed
        settled: list[tuple[int, str]] = []
        last_flush = last_event = last_hook = time.monotonic()
        live = self._flights[job.id] = _InFlight(self._clock())
        announced_waiting = 0

        async def flush() -> None:
            nonlocal settled
            if settled:
                batch, settled = settled, []
                await self._store.settle(job.id, batch, processed, counts)

        async def tick(now: float) -> None:
            nonlocal last_flush, last_event, last_hook, announced_waiting
            await flush()
            last_flush = now
            if now - last_event >= self._event_every_s or now - last_hook >= (
                self._progress_every_s
            ):
                current = await self._store.job(job.id)
                if current is not None:
                    if now - last_event >= self._event_every_s:
                        last_event = now
                        view = self.view(current)
                        announced_waiting = int(view["waiting"])
                        self._events.publish(job.id, Event("progress", view))
                    if now - last_hook >= self._progress_every_s:
                        last_hook = now
                        await self._notify(current, "job.progress")

        async def timed(item: tuple[int, str]) -> Result:
            live.started[item[0]] = self._clock()
            try:
                return await self._check(item[1])
            finally:
                live.started.pop(item[0], None)

        rows = self._store.pending_rows(job.id)
        results = check_many(rows, timed, window=self._window)
        next_row = asyncio.ensure_future(results.__anext__())
        try:
            while True:
                # One slow row (a tarpit, a held reply) must not freeze the job's progress:
                # what settled before it is stored and announced while it is awaited, and so
                # is a change in how many rows wait on slow servers.
                done, _ = await asyncio.wait({next_row}, timeout=_FLUSH_S)
                if not done:
                    flight = self.flight(job.id)
                    waiting = flight.waiting if flight is not None else 0
                    if settled or last_event < last_flush or waiting != announced_waiting:
                        await tick(time.monotonic())
                    continue
                try:
                    (idx, _raw), result = next_row.result()
                except StopAsyncIteration:
                    break
                next_row = asyncio.ensure_future(results.__anext__())
                live.last_settled = self._clock()
                settled.append((idx, jsonl_line(result)))
                processed += 1
                _count(counts, result)
                self._on_row(result)
                now = time.monotonic()
                if len(settled) >= _FLUSH_ROWS or now - last_flush >= _FLUSH_S:
                    await tick(now)
        finally:
            self._flights.pop(job.id, None)
            if not next_row.done():
                next_row.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await next_row
            await results.aclose()  # type: ignore[attr-defined]
        await flush()
        await self._finish(job.id, COMPLETED)


class _InFlight:
    """A running job's checks in flight (row index -> when it started) and its last settle."""

    __slots__ = ("last_settled", "started")

    def __init__(self, now: float) -> None:
        self.started: dict[int, float] = {}
        self.last_settled = now


def _count(counts: dict[str, dict[str, int]], result: Result) -> None:
    states = counts.setdefault("state", {})
    states[result.state.value] = states.get(result.state.value, 0) + 1
    reasons = counts.setdefault("reason", {})
    reasons[result.reason.value] = reasons.get(result.reason.value, 0) + 1


async def cancel_job(runner: JobRunner, store: Store, events: JobEvents, job: JobRecord) -> None:
    """Cancel a queued or running job; the rows settled so far stay readable."""
    await runner.cancel(job.id)
    if job.status in ("queued", "running"):
        await store.set_status(job.id, CANCELLED)
        fresh = await store.job(job.id)
        if fresh is not None:
            events.publish(job.id, Event(CANCELLED, job_view(fresh)))


def result_json_with_index(index: int, result_text: str) -> str:
    """`{"index": N, ...result}` without parsing the stored JSON again."""
    return '{"index":' + str(index) + "," + result_text[1:]


async def settled_results(store: Store, job_id: str, limit: int) -> list[tuple[int, Result]]:
    """Up to `limit` settled rows of a job as (index, Result), in input order."""
    from engine.model import result_from_dict

    rows = await store.settled_rows(job_id, -1, limit)
    return [(r.index, result_from_dict(json.loads(r.result))) for r in rows]
