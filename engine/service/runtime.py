"""The running service: one Verifier (its politeness gates and caches shared by every caller),
the store, the job runner, the webhook outbox, keys, limits and counters.

Routes reach everything through one `Service`; it starts and stops them together.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import IO, Any

from engine.config import Config
from engine.model import Result
from engine.service.checks import Answer, RecentChecks
from engine.service.events import JobEvents
from engine.service.jobs import JobRunner, cancel_job
from engine.service.keys import KeyRing
from engine.service.metrics import Metrics
from engine.service.ratelimit import RateLimiter
from engine.service.settings import Settings
from engine.service.store import JobRecord, KeyRecord, Store
from engine.service.uploads import Rows, csv_rows, plain_lines
from engine.service.webhooks import STANDARD, Outbox
from engine.verifier import Verifier

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CallbackFormat:
    """How one face calls back: the signing scheme and the body for an event (None: not sent)."""

    signing: str
    payload: Callable[[Service, JobRecord, str], Awaitable[str | None]]


async def _native_payload(service: Service, job: JobRecord, event: str) -> str | None:
    body = {
        "type": event,
        "timestamp": datetime.now(timezone.utc).isoformat(),
        "data": service.runner.view(job),
    }
    return json.dumps(body, separators=(",", ":"))


NATIVE = CallbackFormat(STANDARD, _native_payload)


class Service:
    """Everything one `mailprobe serve` process holds; `async with Service(...)` runs it."""

    def __init__(
        self,
        config: Config,
        settings: Settings,
        *,
        verifier: Verifier | None = None,
    ) -> None:
        self.config = config
        self.settings = settings
        self.verifier = verifier if verifier is not None else Verifier(config)
        self.store = Store(settings.data_dir)
        self.keys = KeyRing(self.store)
        self.events = JobEvents()
        self.metrics = Metrics()
        self.limiter = RateLimiter(settings.rate_per_s, settings.burst)
        self.started_at = time.time()
        self._background: set[asyncio.Future[Any]] = set()
        self._bulk_started = False
        self.cache: Any = None
        if config.cache_path is not None and config.check_dns:
            from engine.cache import SqliteCache

            self.cache = SqliteCache(config.cache_path, config)
        self.recent = RecentChecks(
            self.verifier,
            ttl_s=settings.recent_ttl_s,
            max_entries=settings.recent_max,
            cache_get=None if self.cache is None else self.cache.get,
            cache_put=None if self.cache is None else self._cache_put,
        )
        self.outbox = Outbox(
            self.store,
            backoff_s=settings.webhook_backoff_s,
            timeout_s=settings.webhook_timeout_s,
            allow_private=settings.allow_private_callbacks,
            on_attempt=lambda state: self.metrics.inc(
                "mailprobe_webhook_attempts_total", outcome=state
            ),
        )
        self.runner = JobRunner(
            self.store,
            self._bulk_check,
            self.events,
            self._notify,
            window=settings.window,
            max_running=settings.max_running_jobs,
            progress_every_s=settings.progress_every_s,
            event_every_s=settings.event_every_s,
            slow_after_s=settings.slow_after_s,
            budget_s=config.timeouts.budget_s,
            on_row=lambda r: self.metrics.inc("mailprobe_job_rows_total", state=r.state.value),
        )
        self.callbacks: dict[str, CallbackFormat] = {"native": NATIVE}
        self._describe_metrics()

    def _describe_metrics(self) -> None:
        m = self.metrics
        m.describe("mailprobe_http_requests_total", "HTTP requests by route and status code")
        m.describe("mailprobe_checks_total", "single checks answered, by state and completeness")
        m.describe("mailprobe_job_rows_total", "job rows settled, by state")
        m.describe("mailprobe_webhook_attempts_total", "webhook delivery attempts by outcome")
        m.describe("mailprobe_rate_limited_total", "requests refused by the per-key rate limit")

    # -- life -------------------------------------------------------------------------------

    async def start(self) -> None:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.outbox.start()
        resumed = await self.runner.resume()
        if resumed:
            log.warning("resuming %d unfinished job(s)", resumed)

    async def aclose(self) -> None:
        await self.runner.aclose()
        await self.outbox.aclose()
        self.recent.cancel_all()
        for task in list(self._background):
            task.cancel()
        await self.verifier.aclose()
        if self.cache is not None and not self._bulk_started:
            await self.cache.aclose()  # once the bulk checker has it, the Verifier closes it
        await self.store.aclose()

    async def __aenter__(self) -> Service:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _cache_put(self, result: Result) -> None:
        if self.cache is not None:
            self.spawn(self.cache.put(result))

    # -- checks -----------------------------------------------------------------------------

    async def check(self, raw: str, wait_s: float | None) -> Answer:
        """One address, waiting at most `wait_s` (the service default when None)."""
        wait = self.settings.verify_wait_s if wait_s is None else wait_s
        answer = await self.recent.ask(raw, min(max(wait, 0.0), self.settings.max_wait_s))
        self.metrics.inc(
            "mailprobe_checks_total",
            state=answer.result.state.value,
            complete=str(answer.complete).lower(),
        )
        return answer

    async def _bulk_check(self, raw: str) -> Result:
        self._bulk_started = True
        return await self.verifier.bulk(cache=self.cache).check(raw)

    # -- jobs -------------------------------------------------------------------------------

    async def new_job(
        self,
        key: KeyRecord,
        rows: Callable[[], tuple[list[str] | None, Rows]],
        *,
        face: str = "native",
        callback_url: str | None = None,
        webhook_secret: str | None = None,
        metadata: Any = None,
    ) -> JobRecord:
        """Create a job from `rows` (called on a worker thread; it may raise UploadError)."""
        secret = webhook_secret or (key.webhook_secret if face == "native" else None)
        for _ in range(100):  # a number already taken (about 1 in 2**48 a job): a new id
            job_id = str(uuid.uuid4())
            if await self.store.create_job(
                job_id=job_id,
                key_id=key.id,
                face=face,
                callback_url=callback_url,
                webhook_secret=secret,
                metadata=metadata,
            ):
                break
        else:
            raise RuntimeError("no free job id after 100 tries")

        def load() -> int:
            header, items = rows()
            return self.store.import_rows(job_id, items, header)

        try:
            await asyncio.to_thread(load)
        except asyncio.CancelledError:
            self.spawn(self.store.delete_job(job_id))  # the client left mid-upload
            raise
        except Exception:  # UploadError and friends: the caller turns them into a 4xx
            await self.store.delete_job(job_id)
            raise
        job = await self.store.job(job_id)
        assert job is not None
        self.runner.submit(job_id)
        return job

    @staticmethod
    def rows_from_list(emails: list[str]) -> Callable[[], tuple[list[str] | None, Rows]]:
        return lambda: (None, ((e, None) for e in emails))

    @staticmethod
    def rows_from_file(
        stream: IO[bytes], *, kind: str, column: str | None
    ) -> Callable[[], tuple[list[str] | None, Rows]]:
        if kind == "lines":
            return lambda: (None, plain_lines(stream))  # type: ignore[arg-type]
        return lambda: csv_rows(stream, column)  # type: ignore[arg-type]

    async def cancel(self, job: JobRecord) -> None:
        await cancel_job(self.runner, self.store, self.events, job)

    async def delete(self, job: JobRecord) -> None:
        await self.cancel(job)
        await self.store.delete_job(job.id)

    async def _notify(self, job: JobRecord, event: str) -> None:
        if not job.callback_url:
            return
        fmt = self.callbacks.get(job.face)
        if fmt is None:
            return
        payload = await fmt.payload(self, job, event)
        if payload is None:
            return
        await self.outbox.enqueue(
            job_id=job.id,
            event=event,
            url=job.callback_url,
            signing=fmt.signing,
            secret=job.webhook_secret,
            payload=payload,
        )
