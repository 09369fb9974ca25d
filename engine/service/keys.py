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


def create_key(store: Store, name: str, *, clock: Callable[[], float] = time.time) -> str:
    """Store a new key under `name` and return it (the only time it is ever shown)."""
    if not name or len(name) > 100 or any(c.isspace() for c in name):
        raise KeyProblem("a key name is 1 to 100 characters without spaces")
    key = new_key()
    record = KeyRecord(str(uuid.uuid4()), name, new_webhook_secret(), clock(), None)

    def write(db: sqlite3.Connection) -> None:
        try:
            Store.add_key(db, record, key_hash(key))
        except sqlite3.IntegrityError as exc:
            raise KeyProblem(f"a key named {name!r} exists already") from exc

    store.run_sync(write)
    return key


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
