"""The service's one SQLite database (WAL): keys, jobs, their rows and results, webhook deliveries.

Every write goes through one dedicated thread, so the event loop never waits on disk and
SQLite sees one writer. Imports of big uploads use their own connection on their own thread,
committing in batches. Nothing here knows HTTP or the engine's pipeline.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

DB_NAME = "service.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    hash TEXT NOT NULL UNIQUE,
    webhook_secret TEXT NOT NULL,
    created REAL NOT NULL,
    revoked REAL,
    admin INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    key_id TEXT NOT NULL,
    face TEXT NOT NULL,
    status TEXT NOT NULL,
    total INTEGER NOT NULL DEFAULT 0,
    processed INTEGER NOT NULL DEFAULT 0,
    counts TEXT NOT NULL DEFAULT '{}',
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    callback_url TEXT,
    webhook_secret TEXT,
    metadata TEXT,
    header TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS jobs_key ON jobs (key_id, seq);
CREATE TABLE IF NOT EXISTS rows (
    job_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    input TEXT NOT NULL,
    columns TEXT,
    result TEXT,
    PRIMARY KEY (job_id, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event TEXT NOT NULL,
    url TEXT NOT NULL,
    signing TEXT NOT NULL,
    secret TEXT,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (state, next_at);
CREATE TABLE IF NOT EXISTS sessions (
    hash TEXT PRIMARY KEY,
    key_id TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created REAL NOT NULL,
    expires REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_expires ON sessions (expires);
CREATE TABLE IF NOT EXISTS attempts (
    delivery_id INTEGER NOT NULL,
    n INTEGER NOT NULL,
    at REAL NOT NULL,
    status_code INTEGER,
    error TEXT,
    duration_ms REAL NOT NULL,
    PRIMARY KEY (delivery_id, n)
);
"""

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
class KeyRecord:
    id: str
    name: str
    webhook_secret: str
    created: float
    revoked: float | None
    admin: bool = False  # may list, create and revoke keys over HTTP


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A console sign-in: the key it acts as, its CSRF token and when it ends."""

    key: KeyRecord
    csrf: str
    expires: float


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


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    job_id: str
    event_id: str
    event: str
    url: str
    signing: str
    secret: str | None
    payload: str
    state: str
    attempts: int
    next_at: float
    created: float


_JOB_COLUMNS = (
    "id, key_id, face, status, total, processed, counts, created, started, finished, "
    "callback_url, webhook_secret, metadata, header, error"
)
_DELIVERY_COLUMNS = (
    "id, job_id, event_id, event, url, signing, secret, payload, state, attempts, next_at, created"
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


def connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode with WAL and the schema in place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA busy_timeout=30000")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(_SCHEMA)
    _migrate(db)
    return db


def _migrate(db: sqlite3.Connection) -> None:
    """Columns added after a database was first made (CREATE TABLE IF NOT EXISTS keeps old ones)."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(keys)")}
    if "admin" not in columns:
        try:
            db.execute("ALTER TABLE keys ADD COLUMN admin INTEGER NOT NULL DEFAULT 0")
        except sqlite3.OperationalError as exc:  # another connection added it first
            if "duplicate column" not in str(exc):
                raise


_KEY_COLUMNS = "id, name, webhook_secret, created, revoked, admin"


def _key(row: Sequence[Any]) -> KeyRecord:
    return KeyRecord(row[0], row[1], row[2], float(row[3]), row[4], bool(row[5]))


class Store:
    """The database; async methods run on the store's own thread."""

    def __init__(self, data_dir: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = data_dir / DB_NAME
        self.clock = clock
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mailprobe-store")
        self._db: sqlite3.Connection | None = None

    # -- plumbing ---------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = connect(self.path)
        return self._db

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: fn(self._conn()))

    def run_sync(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """For the command line (`mailprobe keys`): no event loop, same thread rules."""
        return self._pool.submit(lambda: fn(self._conn())).result()

    async def aclose(self) -> None:
        def close(db: sqlite3.Connection) -> None:
            db.close()
            self._db = None

        if self._db is not None:
            await self.run(close)
        self._pool.shutdown(wait=True)

    def close_sync(self) -> None:
        if self._db is not None:
            self.run_sync(lambda db: db.close())
            self._db = None
        self._pool.shutdown(wait=True)

    # -- keys -------------------------------------------------------------------------------

    @staticmethod
    def add_key(db: sqlite3.Connection, record: KeyRecord, key_hash: str) -> None:
        db.execute(
            "INSERT INTO keys (id, name, hash, webhook_secret, created, admin) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                record.id,
                record.name,
                key_hash,
                record.webhook_secret,
                record.created,
                int(record.admin),
            ),
        )

    @staticmethod
    def list_keys(db: sqlite3.Connection) -> list[KeyRecord]:
        rows = db.execute(f"SELECT {_KEY_COLUMNS} FROM keys ORDER BY created").fetchall()
        return [_key(row) for row in rows]

    @staticmethod
    def revoke_key(db: sqlite3.Connection, name: str, when: float) -> bool:
        cur = db.execute(
            "UPDATE keys SET revoked = ? WHERE name = ? AND revoked IS NULL", (when, name)
        )
        return cur.rowcount > 0

    @staticmethod
    def revoke_key_by_id(db: sqlite3.Connection, key_id: str, when: float) -> bool:
        cur = db.execute(
            "UPDATE keys SET revoked = ? WHERE id = ? AND revoked IS NULL", (when, key_id)
        )
        db.execute("DELETE FROM sessions WHERE key_id = ?", (key_id,))
        return cur.rowcount > 0

    async def key_by_hash(self, key_hash: str) -> KeyRecord | None:
        def read(db: sqlite3.Connection) -> KeyRecord | None:
            row = db.execute(
                f"SELECT {_KEY_COLUMNS} FROM keys WHERE hash = ?", (key_hash,)
            ).fetchone()
            return None if row is None else _key(row)

        return await self.run(read)

    async def key_by_id(self, key_id: str) -> KeyRecord | None:
        def read(db: sqlite3.Connection) -> KeyRecord | None:
            row = db.execute(f"SELECT {_KEY_COLUMNS} FROM keys WHERE id = ?", (key_id,)).fetchone()
            return None if row is None else _key(row)

        return await self.run(read)

    # -- console sessions -------------------------------------------------------------------

    async def add_session(self, session_hash: str, key_id: str, csrf: str, expires: float) -> None:
        """Store a sign-in; expired ones are swept out on the way."""
        now = self.clock()

        def write(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM sessions WHERE expires <= ?", (now,))
            db.execute(
                "INSERT INTO sessions (hash, key_id, csrf, created, expires) "
                "VALUES (?, ?, ?, ?, ?)",
                (session_hash, key_id, csrf, now, expires),
            )

        await self.run(write)

    async def session(self, session_hash: str) -> SessionRecord | None:
        """The live session with this hash whose key is still active, or None."""
        now = self.clock()

        def read(db: sqlite3.Connection) -> SessionRecord | None:
            key_columns = ", ".join("k." + c for c in _KEY_COLUMNS.split(", "))
            row = db.execute(
                f"SELECT s.csrf, s.expires, {key_columns} "
                "FROM sessions s JOIN keys k ON k.id = s.key_id "
                "WHERE s.hash = ? AND s.expires > ? AND k.revoked IS NULL",
                (session_hash, now),
            ).fetchone()
            return None if row is None else SessionRecord(_key(row[2:]), row[0], float(row[1]))

        return await self.run(read)

    async def delete_session(self, session_hash: str) -> None:
        def write(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM sessions WHERE hash = ?", (session_hash,))

        await self.run(write)

    # -- jobs -------------------------------------------------------------------------------

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
            db.execute("BEGIN")
            try:
                db.executemany(
                    "UPDATE rows SET result = ? WHERE job_id = ? AND idx = ?",
                    [(text, job_id, idx) for idx, text in settled],
                )
                db.execute(
                    "UPDATE jobs SET processed = ?, counts = ? WHERE id = ?",
                    (processed, counts_text, job_id),
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

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

    # -- deliveries -------------------------------------------------------------------------

    async def add_delivery(
        self,
        *,
        job_id: str,
        event_id: str,
        event: str,
        url: str,
        signing: str,
        secret: str | None,
        payload: str,
    ) -> None:
        now = self.clock()

        def write(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO deliveries (job_id, event_id, event, url, signing, secret, payload, "
                "state, next_at, created) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
                (job_id, event_id, event, url, signing, secret, payload, now, now),
            )

        await self.run(write)

    async def due_deliveries(
        self, now: float, limit: int = 50
    ) -> tuple[list[Delivery], float | None]:
        """Pending deliveries due by `now`, and when the next one after them is due."""

        def read(db: sqlite3.Connection) -> tuple[list[Delivery], float | None]:
            rows = db.execute(
                f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE state = 'pending' "
                "AND next_at <= ? ORDER BY next_at, id LIMIT ?",
                (now, limit),
            ).fetchall()
            nxt = db.execute(
                "SELECT MIN(next_at) FROM deliveries WHERE state = 'pending' AND next_at > ?",
                (now,),
            ).fetchone()[0]
            return [Delivery(*r) for r in rows], nxt

        return await self.run(read)

    async def record_attempt(
        self,
        delivery: Delivery,
        *,
        status_code: int | None,
        error: str | None,
        duration_ms: float,
        state: str,
        next_at: float,
    ) -> None:
        now = self.clock()
        n = delivery.attempts + 1

        def write(db: sqlite3.Connection) -> None:
            db.execute("BEGIN")
            try:
                db.execute(
                    "INSERT OR REPLACE INTO attempts (delivery_id, n, at, status_code, error, "
                    "duration_ms) VALUES (?, ?, ?, ?, ?, ?)",
                    (delivery.id, n, now, status_code, error, duration_ms),
                )
                db.execute(
                    "UPDATE deliveries SET attempts = ?, state = ?, next_at = ? WHERE id = ?",
                    (n, state, next_at, delivery.id),
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

        await self.run(write)

    async def deliveries_of(self, job_id: str) -> list[dict[str, Any]]:
        def read(db: sqlite3.Connection) -> list[dict[str, Any]]:
            out: list[dict[str, Any]] = []
            for r in db.execute(
                f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE job_id = ? ORDER BY id",
                (job_id,),
            ).fetchall():
                d = Delivery(*r)
                tries = db.execute(
                    "SELECT n, at, status_code, error, duration_ms FROM attempts "
                    "WHERE delivery_id = ? ORDER BY n",
                    (d.id,),
                ).fetchall()
                out.append(
                    {
                        "id": d.event_id,
                        "event": d.event,
                        "url": d.url,
                        "state": d.state,
                        "attempts": [
                            {
                                "n": n,
                                "at": at,
                                "status_code": code,
                                "error": err,
                                "duration_ms": round(ms, 3),
                            }
                            for n, at, code, err, ms in tries
                        ],
                        "next_at": d.next_at if d.state == "pending" else None,
                    }
                )
            return out

        return await self.run(read)

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
    db.execute("BEGIN")
    try:
        db.executemany("INSERT INTO rows (job_id, idx, input, columns) VALUES (?, ?, ?, ?)", batch)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _delete_job(db: sqlite3.Connection, job_id: str) -> None:
    db.execute("BEGIN")
    try:
        db.execute("DELETE FROM rows WHERE job_id = ?", (job_id,))
        db.execute(
            "DELETE FROM attempts WHERE delivery_id IN "
            "(SELECT id FROM deliveries WHERE job_id = ?)",
            (job_id,),
        )
        db.execute("DELETE FROM deliveries WHERE job_id = ?", (job_id,))
        db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
