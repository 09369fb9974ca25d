"""Jobs and their rows: the `jobs` and `rows` tables.

An upload's rows are imported on a connection of their own, on their own thread, committing in
batches; a job's results and its progress are settled in one transaction. Nothing here knows
HTTP or the engine's pipeline.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from engine.service.store.database import Database, connect, transaction

# Job statuses. "uploading" is internal: a job whose rows are still being written; one left over
# by a crash is deleted at start, since its client never got an id for it.
UPLOADING = "uploading"
QUEUED = "queued"
RUNNING = "running"
COMPLETED = "completed"
FAILED = "failed"
CANCELLED = "cancelled"
UNFINISHED = (QUEUED, RUNNING)
FINISHED = (COMPLETED, FAILED, CANCELLED)

IMPORT_BATCH = 10_000  # rows per transaction while an upload is imported

# Faces whose vendors number their jobs (Kickbox, Reacher) show a job as an integer: the first
# 48 bits of its random UUID, unique among all jobs (create_job refuses a second one).
NUMBER_BITS = 48


def job_number(job_id: str) -> int:
    """The job's integer id for faces whose vendors use integers (under 2**48, JSON-safe)."""
    return int(job_id[:8] + job_id[9:13], 16)


def _number_range(number: int) -> tuple[str, str]:
    """The id range [low, high) of the job with this number: a prefix scan of the id index."""
    digits = f"{number:012x}"
    low = f"{digits[:8]}-{digits[8:]}-"
    return low, low[:-1] + "."  # "." follows "-" in ASCII


@dataclass(frozen=True, slots=True)
class JobRecord:
    """A job as stored; `counts` holds {"state": {...}, "reason": {...}}."""

    id: str
    key_id: str
    face: str
    status: str
    total: int
    processed: int
    counts: dict[str, dict[str, int]]
    created: float
    started: float | None
    finished: float | None
    callback_url: str | None
    webhook_secret: str | None
    metadata: Any
    header: list[str] | None
    error: str | None


@dataclass(frozen=True, slots=True)
class StoredRow:
    index: int
    input: str
    columns: list[str] | None
    result: str  # the Result.to_dict() JSON text


_JOB_COLUMNS = (
    "id, key_id, face, status, total, processed, counts, created, started, finished, "
    "callback_url, webhook_secret, metadata, header, error"
)


def _job(row: Sequence[Any]) -> JobRecord:
    return JobRecord(
        id=row[0],
        key_id=row[1],
        face=row[2],
        status=row[3],
        total=int(row[4]),
        processed=int(row[5]),
        counts=json.loads(row[6]),
        created=float(row[7]),
        started=row[8],
        finished=row[9],
        callback_url=row[10],
        webhook_secret=row[11],
        metadata=None if row[12] is None else json.loads(row[12]),
        header=None if row[13] is None else json.loads(row[13]),
        error=row[14],
    )


class JobQueries(Database):
    """The store's jobs and their rows."""

    async def create_job(
        self,
        *,
        job_id: str,
        key_id: str,
        face: str,
        callback_url: str | None,
        webhook_secret: str | None,
        metadata: Any,
    ) -> bool:
        """Write a new job; False (and nothing written) when its number is taken already."""
        now = self.clock()
        meta = None if metadata is None else json.dumps(metadata)
        low, high = _number_range(job_number(job_id))

        def write(db: sqlite3.Connection) -> bool:
            if db.execute("SELECT 1 FROM jobs WHERE id >= ? AND id < ?", (low, high)).fetchone():
                return False
            db.execute(
                "INSERT INTO jobs (id, key_id, face, status, created, callback_url, "
                "webhook_secret, metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (job_id, key_id, face, UPLOADING, now, callback_url, webhook_secret, meta),
            )
            return True

        return await self.run(write)

    def import_rows(
        self,
        job_id: str,
        rows: Iterable[tuple[str, list[str] | None]],
        header: list[str] | None,
        *,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> int:
        """Write a job's rows (blocking; call it from a worker thread) and queue the job.

        Uses a connection of its own and commits every IMPORT_BATCH rows, so memory stays flat
        and the store's thread is free meanwhile. Returns the number of rows.
        """
        db = connect(self.path)
        try:
            n = 0
            batch: list[tuple[str, int, str, str | None]] = []
            for raw, columns in rows:
                if cancelled():
                    raise ImportCancelled
                cells = None if columns is None else json.dumps(columns, ensure_ascii=False)
                batch.append((job_id, n, raw, cells))
                n += 1
                if len(batch) >= IMPORT_BATCH:
                    _insert_rows(db, batch)
                    batch = []
            _insert_rows(db, batch)
            db.execute(
                "UPDATE jobs SET status = ?, total = ?, header = ? WHERE id = ?",
                (QUEUED, n, None if header is None else json.dumps(header), job_id),
            )
            return n
        finally:
            db.close()

    async def job(self, job_id: str, key_id: str | None = None) -> JobRecord | None:
        """The job, if it exists (and belongs to `key_id` when one is given)."""

        def read(db: sqlite3.Connection) -> JobRecord | None:
            row = db.execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                return None
            job = _job(row)
            if job.status == UPLOADING or (key_id is not None and job.key_id != key_id):
                return None
            return job

        return await self.run(read)

    async def job_by_number(self, number: int, key_id: str | None = None) -> JobRecord | None:
        """The job whose job_number() is `number` (and of `key_id` when one is given)."""
        if not 0 <= number < 1 << NUMBER_BITS:
            return None
        low, high = _number_range(number)

        def read(db: sqlite3.Connection) -> str | None:
            row = db.execute("SELECT id FROM jobs WHERE id >= ? AND id < ?", (low, high)).fetchone()
            return None if row is None else str(row[0])

        job_id = await self.run(read)
        return None if job_id is None else await self.job(job_id, key_id)

    async def mean_score(self, job_id: str) -> float | None:
        """The mean score of the job's settled rows (None before any settles)."""

        def read(db: sqlite3.Connection) -> float | None:
            value = db.execute(
                "SELECT AVG(json_extract(result, '$.score')) FROM rows "
                "WHERE job_id = ? AND result IS NOT NULL",
                (job_id,),
            ).fetchone()[0]
            return None if value is None else float(value)

        return await self.run(read)

    async def jobs_of(
        self, key_id: str, *, limit: int = 100, before: int | None = None
    ) -> tuple[list[JobRecord], int | None]:
        """A page of the key's jobs, newest first: up to `limit` made before the job numbered
        `before` in the store's order, and where the next page starts (None after the last)."""

        def read(db: sqlite3.Connection) -> tuple[list[JobRecord], int | None]:
            rows = db.execute(
                f"SELECT seq, {_JOB_COLUMNS} FROM jobs WHERE key_id = ? AND status != ? "
                "AND seq < ? ORDER BY seq DESC LIMIT ?",
                (key_id, UPLOADING, before if before is not None else 1 << 62, limit + 1),
            ).fetchall()
            more = len(rows) > limit
            rows = rows[:limit]
            return [_job(r[1:]) for r in rows], (int(rows[-1][0]) if more else None)

        return await self.run(read)

    async def unfinished_jobs(self) -> list[JobRecord]:
        """Jobs to run at start, oldest first; half-uploaded ones are deleted."""

        def read(db: sqlite3.Connection) -> list[JobRecord]:
            for (job_id,) in db.execute(
                "SELECT id FROM jobs WHERE status = ?", (UPLOADING,)
            ).fetchall():
                _delete_job(db, job_id)
            rows = db.execute(
                f"SELECT {_JOB_COLUMNS} FROM jobs WHERE status IN (?, ?) ORDER BY seq",
                UNFINISHED,
            ).fetchall()
            return [_job(r) for r in rows]

        return await self.run(read)

    async def set_status(
        self, job_id: str, status: str, *, error: str | None = None, started: bool = False
    ) -> None:
        now = self.clock()

        def write(db: sqlite3.Connection) -> None:
            if started:
                db.execute(
                    "UPDATE jobs SET status = ?, started = COALESCE(started, ?) WHERE id = ?",
                    (status, now, job_id),
                )
            elif status in FINISHED:
                db.execute(
                    "UPDATE jobs SET status = ?, finished = ?, error = ? WHERE id = ?",
                    (status, now, error, job_id),
                )
            else:
                db.execute("UPDATE jobs SET status = ? WHERE id = ?", (status, job_id))

        await self.run(write)

    async def settle(
        self,
        job_id: str,
        settled: Sequence[tuple[int, str]],
        processed: int,
        counts: dict[str, dict[str, int]],
    ) -> None:
        """Store results and the job's progress in one transaction: a crash keeps both or none."""
        counts_text = json.dumps(counts)

        def write(db: sqlite3.Connection) -> None:
            with transaction(db):
                db.executemany(
                    "UPDATE rows SET result = ? WHERE job_id = ? AND idx = ?",
                    [(text, job_id, idx) for idx, text in settled],
                )
                db.execute(
                    "UPDATE jobs SET processed = ?, counts = ? WHERE id = ?",
                    (processed, counts_text, job_id),
                )

        await self.run(write)

    async def delete_job(self, job_id: str) -> None:
        await self.run(lambda db: _delete_job(db, job_id))

    async def settled_rows(
        self, job_id: str, after: int, limit: int, states: frozenset[str] | None = None
    ) -> list[StoredRow]:
        """Settled rows with index > `after`, in input order."""

        def read(db: sqlite3.Connection) -> list[StoredRow]:
            found: list[StoredRow] = []
            cursor = after
            while len(found) < limit:
                rows = db.execute(
                    "SELECT idx, input, columns, result FROM rows WHERE job_id = ? AND idx > ? "
                    "AND result IS NOT NULL ORDER BY idx LIMIT ?",
                    (job_id, cursor, limit),
                ).fetchall()
                if not rows:
                    break
                for idx, raw, columns, result in rows:
                    cursor = idx
                    if states is not None and json.loads(result)["state"] not in states:
                        continue
                    found.append(
                        StoredRow(
                            idx, raw, None if columns is None else json.loads(columns), result
                        )
                    )
            return found

        return await self.run(read)

    def pending_rows(self, job_id: str, page: int = 1000) -> Iterator[tuple[int, str]]:
        """Rows still to check, in input order, read a page at a time.

        A plain iterator for engine.ordered.check_many, which takes a synchronous iterable: it
        reads through a connection of its own, on the caller's thread. One page is an indexed
        range scan of `page` rows, well under a millisecond, so the event loop barely notices.
        """
        db = connect(self.path)
        try:
            cursor = -1
            while True:
                rows = db.execute(
                    "SELECT idx, input FROM rows WHERE job_id = ? AND idx > ? AND result IS NULL "
                    "ORDER BY idx LIMIT ?",
                    (job_id, cursor, page),
                ).fetchall()
                if not rows:
                    return
                for idx, raw in rows:
                    cursor = idx
                    yield idx, raw
        finally:
            db.close()

    async def job_status_counts(self) -> dict[str, int]:
        def read(db: sqlite3.Connection) -> dict[str, int]:
            rows = db.execute(
                "SELECT status, COUNT(*) FROM jobs WHERE status != ? GROUP BY status", (UPLOADING,)
            ).fetchall()
            return {str(s): int(n) for s, n in rows}

        return await self.run(read)


class ImportCancelled(Exception):
    """The job was deleted while its upload was being written."""


def _insert_rows(db: sqlite3.Connection, batch: list[tuple[str, int, str, str | None]]) -> None:
    if not batch:
        return
    with transaction(db):
        db.executemany("INSERT INTO rows (job_id, idx, input, columns) VALUES (?, ?, ?, ?)", batch)


def _delete_job(db: sqlite3.Connection, job_id: str) -> None:
    with transaction(db):
        db.execute("DELETE FROM rows WHERE job_id = ?", (job_id,))
        db.execute(
            "DELETE FROM attempts WHERE delivery_id IN "
            "(SELECT id FROM deliveries WHERE job_id = ?)",
            (job_id,),
        )
        db.execute("DELETE FROM deliveries WHERE job_id = ?", (job_id,))
        db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
