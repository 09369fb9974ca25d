"""Console sessions: a random id in an HttpOnly cookie, kept in the store only as its SHA-256
hash, bound to one key, with a CSRF token the page must send back on every change.

Nothing here reads requests: web.py asks `find_session` for the cookie it was sent.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from engine.service.store import KeyRecord, SessionRecord, Store

COOKIE = "mailprobe_session"
CSRF_HEADER = "X-CSRF-Token"
SESSION_TTL_S = 12 * 3600.0  # a working day; then the key is asked for again
# Methods that change nothing (RFC 9110 §9.2.1): the only ones a session may use without the
# CSRF token.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class NewSession:
    """A sign-in as the browser gets it: the cookie's value is never stored."""

    cookie: str
    csrf: str
    expires: float


def session_hash(cookie: str) -> str:
    # 32 random bytes: a fast hash is enough, there is nothing to guess (as for API keys).
    return hashlib.sha256(cookie.encode("utf-8", "surrogateescape")).hexdigest()


async def open_session(
    store: Store,
    key: KeyRecord,
    *,
    ttl_s: float = SESSION_TTL_S,
    clock: Callable[[], float] = time.time,
) -> NewSession:
    cookie = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    expires = clock() + ttl_s
    await store.add_session(session_hash(cookie), key.id, csrf, expires)
    return NewSession(cookie, csrf, expires)


async def find_session(store: Store, cookie: str) -> SessionRecord | None:
    """The live session for a cookie value whose key is still active, or None."""
    if not cookie or len(cookie) > 200:
        return None
    return await store.session(session_hash(cookie))


async def close_session(store: Store, cookie: str) -> None:
    if cookie and len(cookie) <= 200:
        await store.delete_session(session_hash(cookie))


def csrf_matches(session: SessionRecord, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(
        session.csrf.encode(), presented.encode("utf-8", "surrogateescape")
    )
