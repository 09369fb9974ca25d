"""SqliteCache: settled results come back until their TTL; transient outcomes never stored."""

from __future__ import annotations

from pathlib import Path

from engine.cache import SqliteCache, ttl_for
from engine.config import Config
from engine.model import Detail, Flags, Reason, Reply, Result, Stage, State

CONFIG = Config()


def _result(state: State, reason: Reason, email: str = "jane@example.com") -> Result:
    return Result(
        input=email,
        email=email,
        state=state,
        reason=reason,
        user="jane",
        domain="example.com",
        flags=Flags(free=True, accept_all=False),
        mx_record="mx.example.com",
        score=0.95,
        detail=Detail(dns="mx", reply=Reply(250, "OK", "2.1.5", Stage.RCPT), notes=("n",)),
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_round_trip_keeps_the_documented_shape(tmp_path: Path) -> None:
    cache = SqliteCache(tmp_path / "c.sqlite3", CONFIG)
    original = _result(State.DELIVERABLE, Reason.SUCCESS)
    await cache.put(original)
    again = await cache.get("jane@example.com")
    await cache.aclose()
    assert again is not None
    assert again.to_dict() == original.to_dict()


async def test_positive_and_negative_ttls_follow_config(tmp_path: Path) -> None:
    clock = Clock()
    cache = SqliteCache(tmp_path / "c.sqlite3", CONFIG, clock=clock)
    await cache.put(_result(State.DELIVERABLE, Reason.SUCCESS, "good@example.com"))
    await cache.put(_result(State.UNDELIVERABLE, Reason.MAILBOX_DOES_NOT_EXIST, "bad@example.com"))
    clock.now += CONFIG.cache_negative_ttl_s + 1
    assert await cache.get("bad@example.com") is None
    assert await cache.get("good@example.com") is not None
    clock.now += CONFIG.cache_positive_ttl_s
    assert await cache.get("good@example.com") is None
    assert await cache.purge() == 2
    await cache.aclose()


async def test_transient_outcomes_are_never_stored(tmp_path: Path) -> None:
    cache = SqliteCache(tmp_path / "c.sqlite3", CONFIG)
    for reason in (Reason.GREYLISTED, Reason.TRANSIENT_NETWORK_FAULT, Reason.SENDER_BLOCKED):
        await cache.put(_result(State.UNKNOWN, reason, f"{reason.value}@example.com"))
        assert await cache.get(f"{reason.value}@example.com") is None
    await cache.aclose()


def test_syntax_only_results_are_not_cached() -> None:
    offline = Result(input="x", email=None, state=State.UNDELIVERABLE, reason=Reason.INVALID_SYNTAX)
    assert ttl_for(offline, CONFIG) is None


async def test_cache_survives_reopen_and_keeps_domain_verdicts(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    cache = SqliteCache(path, CONFIG)
    await cache.put_domain("example.com", "catch_all", "true", 3600)
    await cache.put(_result(State.RISKY, Reason.SERVER_IS_CATCH_ALL))
    await cache.aclose()
    reopened = SqliteCache(path, CONFIG)
    assert await reopened.get_domain("example.com", "catch_all") == "true"
    assert await reopened.get_domain("example.com", "other") is None
    got = await reopened.get("jane@example.com")
    await reopened.aclose()
    assert got is not None and got.reason is Reason.SERVER_IS_CATCH_ALL
