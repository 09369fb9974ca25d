"""Webhook deliveries and each attempt at one: the `deliveries` and `attempts` tables.

What is sent, when and how it is signed is engine.service.webhooks' job; this only keeps the
outbox and its log.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from engine.service.store.database import Database, transaction


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


_DELIVERY_COLUMNS = (
    "id, job_id, event_id, event, url, signing, secret, payload, state, attempts, next_at, created"
)


class DeliveryQueries(Database):
    """The store's webhook outbox."""

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
            with transaction(db):
                db.execute(
                    "INSERT OR REPLACE INTO attempts (delivery_id, n, at, status_code, error, "
                    "duration_ms) VALUES (?, ?, ?, ?, ?, ?)",
                    (delivery.id, n, now, status_code, error, duration_ms),
                )
                db.execute(
                    "UPDATE deliveries SET attempts = ?, state = ?, next_at = ? WHERE id = ?",
                    (n, state, next_at, delivery.id),
                )

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
