"""Webhook deliveries: an outbox in the store, sent with retries and back-off, each try logged.

A delivery is written before it is sent, so a restart sends what was pending. Retrying only
sends the same body again; no address is ever verified again for a webhook. Callback URLs go
through the same SSRF guard as mail hosts: private and loopback addresses are refused unless
the service is configured to allow them, when a job is made and again at each send, where the
connection goes to the very address that was checked (pinning.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from urllib.parse import urlsplit

import httpx

from engine.addresses import is_public_ip
from engine.service.pinning import (
    AddressRefused,
    PinnedTransport,
    Resolve,
    system_resolve,
    vetted_addresses,
)
from engine.service.store import Delivery, Store

log = logging.getLogger(__name__)

ATTEMPTS = 5
STANDARD = "standard-webhooks"  # webhook-id, webhook-timestamp, webhook-signature
HMAC_HEX = "hmac-sha256-hex"  # X-Webhook-Signature: hex HMAC-SHA256 of the body
UNSIGNED = "none"
_MAX_RETRY_AFTER_S = 86400.0


class CallbackRefused(Exception):
    """A callback URL the service will not call; the message says why."""


def check_url_shape(url: object) -> str:
    """The URL if it is an absolute http(s) URL; raises CallbackRefused otherwise."""
    if not isinstance(url, str) or len(url) > 2000:
        raise CallbackRefused("a callback URL must be a string of at most 2000 characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CallbackRefused(f"callback URL {url!r} is not an absolute http(s) URL")
    try:
        _ = parts.port
    except ValueError as exc:
        raise CallbackRefused(f"callback URL {url!r} has a bad port") from exc
    return url


_PRIVATE_HINT = "; the service refuses those unless it is started with --allow-private-callbacks"


def _allow_any(ip: str) -> bool:
    return True


async def check_url_target(
    url: str, *, allow_private: bool, resolve: Resolve = system_resolve
) -> None:
    """Raise CallbackRefused unless every address the URL's host resolves to is public.

    A check before the send; the send itself vets again and connects to what it vetted.
    """
    check_url_shape(url)
    if allow_private:
        return
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        await vetted_addresses(parts.hostname or "", port, allow=is_public_ip, resolve=resolve)
    except AddressRefused as exc:
        raise CallbackRefused(f"callback {exc}{_PRIVATE_HINT}") from exc


def sign_headers(
    signing: str, secret: str | None, event_id: str, body: bytes, now: float
) -> dict[str, str]:
    if signing == STANDARD and secret:
        from standardwebhooks import Webhook

        when = datetime.fromtimestamp(now, tz=timezone.utc)
        return {
            "webhook-id": event_id,
            "webhook-timestamp": str(int(now)),
            "webhook-signature": Webhook(secret).sign(event_id, when, body),
        }
    if signing == HMAC_HEX and secret:
        digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
        return {"X-Webhook-Signature": digest, "X-Webhook-Id": event_id}
    return {}


class Outbox:
    """Queues and sends deliveries; `start()` runs the sender until `aclose()`."""

    def __init__(
        self,
        store: Store,
        *,
        backoff_s: tuple[float, ...],
        timeout_s: float,
        allow_private: bool,
        clock: Callable[[], float] = time.time,
        on_attempt: Callable[[str], None] = lambda outcome: None,
        resolve: Resolve = system_resolve,
        address_allowed: Callable[[str], bool] | None = None,
    ) -> None:
        """`address_allowed` decides which addresses a callback may reach (public ones only,
        or any with `allow_private`); `resolve` turns a callback's host into addresses."""
        self._store = store
        self._backoff_s = backoff_s
        self._timeout_s = timeout_s
        self._allow_private = allow_private
        self._resolve = resolve
        self._address_allowed = address_allowed or (_allow_any if allow_private else is_public_ip)
        self._clock = clock
        self._on_attempt = on_attempt
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None

    async def enqueue(
        self,
        *,
        job_id: str,
        event: str,
        url: str,
        signing: str,
        secret: str | None,
        payload: str,
        event_id: str | None = None,
    ) -> None:
        await self._store.add_delivery(
            job_id=job_id,
            event_id=event_id or f"msg_{uuid.uuid4().hex}",
            event=event,
            url=url,
            signing=signing,
            secret=secret,
            payload=payload,
        )
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._loop())

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                due, next_at = await self._store.due_deliveries(self._clock())
                if due:
                    await asyncio.gather(*(self._send(d) for d in due))
                    continue
            except asyncio.CancelledError:
                raise
            except Exception:  # a broken disk must not end deliveries for good
                log.exception("webhook outbox")
                next_at = self._clock() + 5.0
            wait = None if next_at is None else max(0.0, next_at - self._clock())
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            transport = PinnedTransport(
                allow=self._address_allowed,
                resolve=self._resolve,
                resolve_timeout_s=self._timeout_s,
                trust_env=False,
            )
            self._client = httpx.AsyncClient(
                transport=transport,
                timeout=self._timeout_s,
                follow_redirects=False,
                trust_env=False,
            )
        return self._client

    async def _send(self, d: Delivery) -> None:
        start = time.perf_counter()
        code: int | None = None
        error: str | None = None
        retry_after: float | None = None
        final = False
        try:
            # The transport resolves the host once, vets every address and connects to one of
            # them: no second lookup for DNS rebinding to answer differently.
            check_url_shape(d.url)
            body = d.payload.encode("utf-8")
            headers = {"Content-Type": "application/json", "User-Agent": "mailprobe-webhooks"}
            headers.update(sign_headers(d.signing, d.secret, d.event_id, body, self._clock()))
            reply = await self._http().post(d.url, content=body, headers=headers)
            code = reply.status_code
            retry_after = _seconds(reply.headers.get("retry-after"))
        except CallbackRefused as exc:
            error, final = str(exc), True
        except AddressRefused as exc:
            error, final = f"callback {exc}{_PRIVATE_HINT if not self._allow_private else ''}", True
        except Exception as exc:  # connection refused, timeout, TLS: worth another try
            error = f"{type(exc).__name__}: {exc}"[:500]
        ms = (time.perf_counter() - start) * 1000.0
        attempt = d.attempts + 1
        now = self._clock()
        if code is not None and 200 <= code < 300:
            state, next_at = "delivered", now
        elif final or code == 410 or attempt >= ATTEMPTS:
            state, next_at = "failed", now  # Standard Webhooks: 410 Gone disables the endpoint
        else:
            wait = self._backoff_s[min(attempt - 1, len(self._backoff_s) - 1)]
            if retry_after is not None:
                wait = max(wait, min(retry_after, _MAX_RETRY_AFTER_S))
            state, next_at = "pending", now + wait
        self._on_attempt(state)
        await self._store.record_attempt(
            d, status_code=code, error=error, duration_ms=ms, state=state, next_at=next_at
        )


def _seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
