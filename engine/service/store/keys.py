"""API keys and console sign-ins: the `keys` and `sessions` tables.

A session lives only while its key does; revoking a key ends its sessions. Nothing here makes
or checks a key (engine.service.keys does), only stores it by its hash.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.service.store.database import Database


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


_KEY_COLUMNS = "id, name, webhook_secret, created, revoked, admin"


def _key(row: Sequence[Any]) -> KeyRecord:
    return KeyRecord(row[0], row[1], row[2], float(row[3]), row[4], bool(row[5]))


class KeyQueries(Database):
    """The store's keys and console sessions."""

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
