"""ResultCache: settled results kept in SQLite between runs; transient outcomes are never stored.

TTLs follow Postfix's address-verification cache: positive answers 31 days, negative 3 days.
All SQLite work runs on one dedicated thread, so the event loop never blocks on disk.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol, TypeVar

from engine.config import Config
from engine.model import Result, State, result_from_dict

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    email TEXT PRIMARY KEY,
    expires REAL NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS domains (
    domain TEXT NOT NULL,
    kind TEXT NOT NULL,
    expires REAL NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (domain, kind)
);
"""


class ResultCache(Protocol):
    """Where settled results and per-domain verdicts (e.g. catch-all) are kept."""

    async def get(self, email: str) -> Result | None: ...

    async def put(self, result: Result) -> None: ...

    async def get_domain(self, domain: str, kind: str) -> str | None: ...

    async def put_domain(self, domain: str, kind: str, value: str, ttl_s: float) -> None: ...

    async def aclose(self) -> None: ...


def ttl_for(result: Result, config: Config) -> float | None:
    """How long a result may be reused; None when it must not be stored."""
    if result.email is None or result.detail.dns is None:
        return None  # syntax-only results are cheaper to recompute than to look up
    if result.state in (State.DELIVERABLE, State.RISKY):
        return config.cache_positive_ttl_s
    if result.state is State.UNDELIVERABLE:
        return config.cache_negative_ttl_s
    return None  # unknown: greylisting, blocks and timeouts are not answers


def default_cache_path() -> Path:
    """A per-user default: $XDG_CACHE_HOME/mailprobe/results.sqlite3 or ~/.cache/..."""
    import os

    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mailprobe" / "results.sqlite3"


class SqliteCache:
    """ResultCache on one SQLite file (WAL mode)."""

    def __init__(
        self, path: Path, config: Config, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.path = path
        self.config = config
        self._clock = clock
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mailprobe-cache")
        self._db: sqlite3.Connection | None = None
        self.hits = 0
        self.misses = 0

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
            self._db = db
        return self._db

    async def _run(self, fn: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, fn)

    async def get(self, email: str) -> Result | None:
        now = self._clock()

        def read() -> str | None:
            row = (
                self._conn()
                .execute("SELECT data FROM results WHERE email = ? AND expires > ?", (email, now))
                .fetchone()
            )
            return None if row is None else str(row[0])

        data = await self._run(read)
        if data is None:
            self.misses += 1
            return None
        self.hits += 1
        return result_from_dict(json.loads(data))

    async def put(self, result: Result) -> None:
        ttl = ttl_for(result, self.config)
        if ttl is None or result.email is None:
            return
        email = result.email
        payload = json.dumps(result.to_dict(), ensure_ascii=False)
        expires = self._clock() + ttl

        def write() -> None:
            self._conn().execute(
                "INSERT OR REPLACE INTO results (email, expires, data) VALUES (?, ?, ?)",
                (email, expires, payload),
            )

        await self._run(write)

    async def get_domain(self, domain: str, kind: str) -> str | None:
        now = self._clock()

        def read() -> str | None:
            row = (
                self._conn()
                .execute(
                    "SELECT value FROM domains WHERE domain = ? AND kind = ? AND expires > ?",
                    (domain, kind, now),
                )
                .fetchone()
            )
            return None if row is None else str(row[0])

        return await self._run(read)

    async def put_domain(self, domain: str, kind: str, value: str, ttl_s: float) -> None:
        expires = self._clock() + ttl_s

        def write() -> None:
            self._conn().execute(
                "INSERT OR REPLACE INTO domains (domain, kind, expires, value) VALUES (?, ?, ?, ?)",
                (domain, kind, expires, value),
            )

        await self._run(write)

    async def purge(self) -> int:
        """Delete expired rows; returns how many."""
        now = self._clock()

        def delete() -> int:
            db = self._conn()
            n = db.execute("DELETE FROM results WHERE expires <= ?", (now,)).rowcount
            n += db.execute("DELETE FROM domains WHERE expires <= ?", (now,)).rowcount
            return int(n)

        return await self._run(delete)

    async def aclose(self) -> None:
        def close() -> None:
            if self._db is not None:
                self._db.close()
                self._db = None

        await self._run(close)
        self._pool.shutdown(wait=True)
