"""SharedVerifier: one Verifier for a whole web process, safe to call from any thread and any
event loop, with a bounded result cache; and Settings, read from a framework's settings dict.

A Verifier holds asyncio objects (the politeness semaphores, the DNS cache's in-flight futures)
that belong to the event loop they were first used in, so a Verifier must only ever run in one
loop. The SharedVerifier gives it a loop of its own on a background thread; callers hand checks
to that loop and wait (a blocking thread) or await (another loop) with the time limit. The
per-host session caps then hold across every request of the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from engine.config import Config, Timeouts
from engine.integrations._cache import ResultLru
from engine.integrations._check import await_within, check_within, timed_out, wait_within
from engine.integrations._policy import Policy
from engine.model import Result, State
from engine.verifier import Verifier, coerce_input

log = logging.getLogger(__name__)

_START_S = 60.0  # loading the data lists on first use; generous for a loaded machine
_STOP_S = 5.0
# Distinct settings a process keeps shared verifiers for (tests that change settings make more).
MAX_SHARED = 8


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """How the shared Verifier of a web process works."""

    config: Config = field(default_factory=Config)
    timeout_s: float = 5.0  # a form waits this long for the probe, then takes the offline verdict
    offline: bool = False  # syntax, typos and flags only: no DNS, no SMTP (for tests)
    cache_size: int = 10_000  # Results kept in memory
    cache_ttl_s: float = 3600.0  # how long a kept Result is reused
    # An unknown Result (greylisting, a timeout) may change within minutes: kept briefly, so
    # that a form submitted again at once does not probe the same server again.
    cache_unknown_ttl_s: float = 60.0

    def __post_init__(self) -> None:
        if self.timeout_s <= 0:
            raise ValueError("timeout_s must be > 0")
        if min(self.cache_size, self.cache_ttl_s, self.cache_unknown_ttl_s) < 0:
            raise ValueError("cache_size and the cache TTLs must be >= 0")

    @property
    def verifier_config(self) -> Config:
        """The Config the Verifier gets: `config`, without the network in offline mode."""
        if self.offline:
            return dataclasses.replace(self.config, check_dns=False, check_smtp=False)
        return self.config


_SETTINGS_KEYS = {
    "TIMEOUT": "timeout_s",
    "OFFLINE": "offline",
    "CACHE_SIZE": "cache_size",
    "CACHE_TTL": "cache_ttl_s",
    "CACHE_UNKNOWN_TTL": "cache_unknown_ttl_s",
}
_POLICY_KEYS = {f.name.upper(): f.name for f in dataclasses.fields(Policy)}
_CONFIG_KEYS = {f.name.upper(): f.name for f in dataclasses.fields(Config)}


def read_settings(mapping: Mapping[str, object]) -> tuple[Settings, Policy]:
    """Settings and the default Policy from a framework's settings dict (`MAILPROBE`).

    Keys, upper-case: CONFIG (a Config to start from); any Config field (HELO_NAME, MAIL_FROM,
    NAMESERVERS, ...); TIMEOUT, OFFLINE, CACHE_SIZE, CACHE_TTL, CACHE_UNKNOWN_TTL; REJECT_RISKY,
    REJECT_DISPOSABLE, REJECT_ROLE, REJECT_UNKNOWN. Raises ValueError on an unknown key or value.
    """
    config = mapping.get("CONFIG", Config())
    if not isinstance(config, Config):
        raise ValueError("MAILPROBE['CONFIG'] must be an engine.Config")
    config_changes: dict[str, object] = {}
    settings: dict[str, object] = {}
    policy: dict[str, object] = {}
    for key, value in mapping.items():
        name = key.upper()
        if name == "CONFIG":
            continue
        if name in _SETTINGS_KEYS:
            settings[_SETTINGS_KEYS[name]] = value
        elif name in _POLICY_KEYS:
            policy[_POLICY_KEYS[name]] = bool(value)
        elif name in _CONFIG_KEYS:
            config_changes[_CONFIG_KEYS[name]] = _config_value(name, value)
        else:
            raise ValueError(f"unknown MAILPROBE setting {key!r}")
    try:
        config = dataclasses.replace(config, **config_changes)  # type: ignore[arg-type]
        return Settings(config=config, **settings), Policy(**policy)  # type: ignore[arg-type]
    except TypeError as exc:
        raise ValueError(f"bad MAILPROBE setting: {exc}") from exc


def _config_value(name: str, value: object) -> object:
    if name == "NAMESERVERS" and isinstance(value, list):
        return tuple(value)
    if name == "TIMEOUTS" and isinstance(value, Mapping):
        return Timeouts(**value)
    return value


@dataclass(slots=True)
class _Owner:
    """The loop that owns the Verifier, its thread, and the checks running there."""

    loop: asyncio.AbstractEventLoop
    thread: threading.Thread
    verifier: Verifier
    pid: int
    inflight: dict[str, asyncio.Task[Result]] = field(default_factory=dict)


class SharedVerifier:
    """One Verifier per process for web requests; every method may be called from any thread.

    - `check()` blocks the calling thread for at most `settings.timeout_s` (plus a grace). In a
      thread that is running an event loop it never blocks: it returns a fresh cached Result, or
      else the offline verdict while the full check goes on in the background (and is cached
      for the next call). pydantic and Django validators are sync, so this is how they behave
      inside `async def` views; await `acheck()` there for the full check.
    - `acheck()` awaits the full check from any event loop without blocking it.
    Neither raises. Results are kept `settings.cache_ttl_s` seconds (unknown ones
    `settings.cache_unknown_ttl_s`).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        verifier: Callable[[Config], Verifier] = Verifier,
    ) -> None:
        self.settings = settings if settings is not None else Settings()
        self.cache = ResultLru(self.settings.cache_size, self.settings.cache_ttl_s)
        self._make = verifier
        self._lock = threading.Lock()
        self._owner: _Owner | None = None
        self._offline: Verifier | None = None

    # -- checking -------------------------------------------------------------------------

    def check(self, raw: object) -> Result:
        """The time-bounded check, blocking this thread (never an event loop); never raises."""
        text = self._text_to_probe(raw)
        if isinstance(text, Result):
            return text
        owner = self._ensure()
        if _loop_running_here():
            return self._in_loop(owner, text)
        try:
            future = asyncio.run_coroutine_threadsafe(self._run(owner, text), owner.loop)
        except RuntimeError:  # closed meanwhile
            return timed_out(owner.verifier, text, "the shared verifier was closed")
        return wait_within(future, owner.verifier, text, self.settings.timeout_s)

    async def acheck(self, raw: object) -> Result:
        """The time-bounded check, awaited from any event loop; never raises."""
        text = self._text_to_probe(raw)
        if isinstance(text, Result):
            return text
        owner = self._owner
        if owner is None or not self._usable(owner):
            owner = await asyncio.to_thread(self._ensure)  # loading the data lists: not here
        if asyncio.get_running_loop() is owner.loop:
            return await self._run(owner, text)
        try:
            future = asyncio.run_coroutine_threadsafe(self._run(owner, text), owner.loop)
        except RuntimeError:
            return timed_out(owner.verifier, text, "the shared verifier was closed")
        return await await_within(future, owner.verifier, text, self.settings.timeout_s)

    def _text_to_probe(self, raw: object) -> str | Result:
        """The Result when it needs no probe (not text, offline mode, cached), else the text."""
        text = coerce_input(raw)
        if text is None or self.settings.offline:
            return self.check_offline(raw)
        return self.cache.get(text) or text

    def check_offline(self, raw: object) -> Result:
        """Syntax, typos and flags only, in this thread; never raises."""
        owner = self._owner
        if owner is not None and self._usable(owner):
            return owner.verifier.check_offline(raw)
        with self._lock:
            if self._offline is None:
                self._offline = self._make(self.settings.verifier_config)
            verifier = self._offline
        return verifier.check_offline(raw)

    def _in_loop(self, owner: _Owner, text: str) -> Result:
        # A sync call in a thread that runs an event loop: blocking would stall every request
        # that loop serves, so answer from what is known now and let the probe go on.
        with contextlib.suppress(RuntimeError):
            asyncio.run_coroutine_threadsafe(self._run(owner, text), owner.loop)
        result = owner.verifier.check_offline(text)
        note = "not probed: checked synchronously inside a running event loop"
        detail = dataclasses.replace(result.detail, notes=(*result.detail.notes, note))
        return dataclasses.replace(result, detail=detail)

    async def _run(self, owner: _Owner, text: str) -> Result:
        """In the owning loop: the cached Result, or join the check already under way for this
        input, or start one."""
        cached = self.cache.get(text)
        if cached is not None:
            return cached
        task = owner.inflight.get(text)
        if task is None:
            task = owner.loop.create_task(
                check_within(owner.verifier, text, self.settings.timeout_s)
            )
            owner.inflight[text] = task
            task.add_done_callback(functools.partial(self._landed, owner, text))
        # A waiter that gives up (its own time limit, a closed request) leaves the check to
        # the others; check_within bounds it anyway.
        return await asyncio.shield(task)

    def _landed(self, owner: _Owner, text: str, task: asyncio.Task[Result]) -> None:
        if owner.inflight.get(text) is task:
            del owner.inflight[text]
        if task.cancelled() or task.exception() is not None:
            return
        result = task.result()
        unknown = result.state is State.UNKNOWN
        self.cache.put(text, result, self.settings.cache_unknown_ttl_s if unknown else None)

    # -- the owning loop ------------------------------------------------------------------

    def start(self) -> None:
        """Start the owning loop and load the data lists, if not yet done in this process.

        The first check does it; call it at start-up to take that cost off the first request.
        """
        if not self.settings.offline:
            self._ensure()
        else:
            self.check_offline("postmaster@example.com")

    def _ensure(self) -> _Owner:
        with self._lock:
            owner = self._owner
            if owner is not None and self._usable(owner):
                return owner
            self._owner = owner = self._spawn()
            return owner

    def _spawn(self) -> _Owner:
        loop = asyncio.new_event_loop()
        verifier = self._make(self.settings.verifier_config)
        thread = threading.Thread(
            target=_serve, args=(loop,), name="mailprobe-verifier", daemon=True
        )
        thread.start()
        owner = _Owner(loop, thread, verifier, os.getpid())
        # Build the stages and load the lists in the owning thread, before the first request.
        warm = asyncio.run_coroutine_threadsafe(_warm(verifier), loop)
        with contextlib.suppress(Exception):
            warm.result(_START_S)
        return owner

    @staticmethod
    def _usable(owner: _Owner) -> bool:
        # After fork() the thread is gone from the child: it starts one of its own.
        return owner.pid == os.getpid() and not owner.loop.is_closed() and owner.thread.is_alive()

    def close(self, timeout_s: float = _STOP_S) -> None:
        """Stop the checks under way, close the Verifier's sessions and stop the thread.

        A later check starts afresh. Call it from a thread that runs no event loop (or await
        `aclose()`).
        """
        with self._lock:
            owner, self._owner = self._owner, None
        if owner is None or not self._usable(owner):
            return
        stopping = asyncio.run_coroutine_threadsafe(_shutdown(owner), owner.loop)
        try:
            stopping.result(timeout_s)
        except Exception:  # a slow or failing close must not keep the thread alive
            log.warning("the shared verifier did not close cleanly", exc_info=True)
        owner.loop.call_soon_threadsafe(owner.loop.stop)
        owner.thread.join(timeout_s)

    async def aclose(self) -> None:
        """`close()` for async code (a FastAPI lifespan, an ASGI shutdown)."""
        await asyncio.to_thread(self.close)


def _loop_running_here() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _serve(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()


async def _warm(verifier: Verifier) -> None:
    verifier.check_offline("postmaster@example.com")


async def _shutdown(owner: _Owner) -> None:
    tasks = list(owner.inflight.values())
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await owner.verifier.aclose()


# The one lazily created SharedVerifier per distinct Settings in this process: the module's only
# mutable state, so that every form, validator and request with the same settings shares one
# Verifier (its politeness limits, DNS cache and result cache). close_shared() empties it.
_shared: dict[Settings, SharedVerifier] = {}
_shared_lock = threading.Lock()


def shared_verifier(settings: Settings | None = None) -> SharedVerifier:
    """The process's SharedVerifier for `settings` (default Settings()), created on first use."""
    key = settings if settings is not None else Settings()
    with _shared_lock:
        found = _shared.get(key)
        if found is not None:
            return found
        found = _shared[key] = SharedVerifier(key)
        evicted = []
        while len(_shared) > MAX_SHARED:
            evicted.append(_shared.pop(next(iter(_shared))))
    for old in evicted:
        old.close()
    return found


def close_shared() -> None:
    """Close and forget every shared verifier of this process."""
    with _shared_lock:
        verifiers = list(_shared.values())
        _shared.clear()
    for verifier in verifiers:
        verifier.close()
