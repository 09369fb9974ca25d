"""API keys: made at random, stored as SHA-256 hashes, looked up by hash.

A key is 32 random bytes, so a fast hash is enough (there is nothing to brute-force); only the
hash and the name are kept. Each key also gets the secret that signs its webhooks.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import sqlite3
import time
import uuid
from collections.abc import Callable

from engine.service.store import KeyRecord, Store

KEY_PREFIX = "mp_"


class KeyProblem(Exception):
    """A key name that is taken or unknown; the message says which."""


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: whsec_ and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def _new_record(
    name: str, admin: bool, clock: Callable[[], float]
) -> tuple[str, KeyRecord, Callable[[sqlite3.Connection], None]]:
    """(the key, its record, the write that stores it); raises KeyProblem for a bad name."""
    if not name or len(name) > 100 or any(c.isspace() or not c.isprintable() for c in name):
        raise KeyProblem("a key name is 1 to 100 printable characters without spaces")
    key = new_key()
    record = KeyRecord(str(uuid.uuid4()), name, new_webhook_secret(), clock(), None, admin)

    def write(db: sqlite3.Connection) -> None:
        try:
            Store.add_key(db, record, key_hash(key))
        except sqlite3.IntegrityError as exc:
            raise KeyProblem(f"a key named {name!r} exists already") from exc

    return key, record, write


def create_key(
    store: Store, name: str, *, admin: bool = False, clock: Callable[[], float] = time.time
) -> str:
    """Store a new key under `name` and return it (the only time it is ever shown).

    An `admin` key may also list, create and revoke keys over HTTP (`/v1/keys`).
    """
    key, _, write = _new_record(name, admin, clock)
    store.run_sync(write)
    return key


async def acreate_key(
    store: Store, name: str, *, admin: bool = False, clock: Callable[[], float] = time.time
) -> tuple[str, KeyRecord]:
    """create_key() for the running service: (the key, its record); raises KeyProblem."""
    key, record, write = _new_record(name, admin, clock)
    await store.run(write)
    return key, record


async def alist_keys(store: Store) -> list[KeyRecord]:
    return await store.run(Store.list_keys)


async def arevoke_key(store: Store, key_id: str, *, clock: Callable[[], float] = time.time) -> None:
    """Revoke the active key with this id, ending its console sessions; raises KeyProblem."""
    when = clock()
    if not await store.run(lambda db: Store.revoke_key_by_id(db, key_id, when)):
        raise KeyProblem(f"no active key with id {key_id}")


def list_keys(store: Store) -> list[KeyRecord]:
    return store.run_sync(Store.list_keys)


def revoke_key(store: Store, name: str, *, clock: Callable[[], float] = time.time) -> None:
    if not store.run_sync(lambda db: Store.revoke_key(db, name, clock())):
        raise KeyProblem(f"no active key named {name!r}")


class KeyRing:
    """Resolves presented keys for the server, remembering answers for a second.

    Keys are made and revoked by `mailprobe keys` in another process, so the memory is short:
    a revoked key stops working within `ttl_s`.
    """

    def __init__(
        self, store: Store, *, ttl_s: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._store = store
        self._ttl_s = ttl_s
        self._clock = clock
        self._seen: dict[str, tuple[float, KeyRecord | None]] = {}

    async def resolve(self, key: str) -> KeyRecord | None:
        """The active key record for `key`, or None."""
        if not key or len(key) > 200:
            return None
        digest = key_hash(key)
        now = self._clock()
        hit = self._seen.get(digest)
        if hit is not None and now - hit[0] < self._ttl_s:
            return hit[1]
        record = await self._store.key_by_hash(digest)
        if record is not None and record.revoked is not None:
            record = None
        if len(self._seen) > 10_000:
            self._seen.clear()  # bounded: a flood of wrong keys cannot grow it
        self._seen[digest] = (now, record)
        return record
