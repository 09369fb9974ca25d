"""Bulk verification against loopback SMTP servers: grouping per MX, session reuse, politeness,
Postfix-like error limits, 452 batching, greylisting, caching; same verdicts as one-by-one."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from engine.cache import SqliteCache
from engine.clock import FakeClock
from engine.config import Config, Politeness
from engine.localworld.smtp import MailboxServer
from engine.model import Reason, Result, State
from engine.ordered import check_many
from engine.testing import FakeResolver
from engine.verifier import Verifier
from tests.loopback.ports import free_port

HOSTS = {"alpha.test": "127.0.2.1", "beta.test": "127.0.2.2", "catch.test": "127.0.2.3"}
PORT = free_port(list(HOSTS.values()))  # every loopback MX listens here, on its own address


def _zone(hosts: dict[str, str]) -> dict[str, dict[str, object]]:
    zone: dict[str, dict[str, object]] = {}
    for domain, ip in hosts.items():
        zone[domain] = {"MX": [(10, f"mx.{domain}")]}
        zone[f"mx.{domain}"] = {"A": [ip]}
    return zone


def _config(**changes: object) -> Config:
    base = Config(
        allow_private_addresses=True,
        smtp_port=PORT,
        helo_name="probe.mailprobe.test",
        mail_from="verify@mailprobe.test",
        greylist_delay_s=30.0,
        retry_backoff_s=0.5,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def _addresses(n_good: int, n_bad: int) -> tuple[list[str], set[str]]:
    good = [f"user{i}@{d}" for d in ("alpha.test", "beta.test") for i in range(n_good)]
    bad = [f"nobody{i}@{d}" for d in ("alpha.test", "beta.test") for i in range(n_bad)]
    catch = [f"anyone{i}@catch.test" for i in range(5)]
    mixed = []
    for i in range(max(len(good), len(bad))):
        mixed += good[i : i + 1] + bad[i : i + 1]
    return mixed + catch, set(good)


@pytest.fixture
async def world() -> AsyncIterator[dict[str, MailboxServer]]:
    _, good = _addresses(60, 30)
    servers = {
        "alpha.test": MailboxServer(
            HOSTS["alpha.test"],
            PORT,
            users=[g for g in good if "alpha" in g],
            domains=["alpha.test"],
            pipelining=True,
        ),
        "beta.test": MailboxServer(
            HOSTS["beta.test"],
            PORT,
            users=[g for g in good if "beta" in g],
            domains=["beta.test"],
            pipelining=False,
        ),
        "catch.test": MailboxServer(
            HOSTS["catch.test"], PORT, domains=["catch.test"], catch_all=True, pipelining=True
        ),
    }
    for server in servers.values():
        await server.start()
    try:
        yield servers
    finally:
        for server in servers.values():
            await server.stop()
            assert server.stats.count("DATA") == 0


async def _bulk(verifier: Verifier, items: list[str], **kw: object) -> list[Result]:
    checker = verifier.bulk(**kw)  # type: ignore[arg-type]
    return [r async for _, r in check_many(items, checker.check, window=1000)]


async def _one_by_one(config: Config, items: list[str]) -> list[Result]:
    async with Verifier(config, resolver=FakeResolver(_zone(HOSTS))) as v:
        return [r async for _, r in check_many(items, v.averify, window=8)]


def _verdicts(results: list[Result]) -> list[tuple[str, str, str, bool | None]]:
    return [(r.input, r.state.value, r.reason.value, r.flags.accept_all) for r in results]


async def test_bulk_settles_every_address_with_few_polite_sessions(
    world: dict[str, MailboxServer],
) -> None:
    items, good = _addresses(60, 30)
    config = _config()
    async with Verifier(config, resolver=FakeResolver(_zone(HOSTS))) as v:
        results = await _bulk(v, items)
        stats = v.bulk().stats
    assert [r.input for r in results] == items
    for r in results:
        if r.input in good:
            assert (r.state, r.reason) == (State.DELIVERABLE, Reason.SUCCESS), r.to_dict()
            assert r.flags.accept_all is False
        elif r.input.endswith("@catch.test"):
            assert (r.state, r.reason) == (State.RISKY, Reason.SERVER_IS_CATCH_ALL)
        else:
            assert (r.state, r.reason) == (State.UNDELIVERABLE, Reason.MAILBOX_DOES_NOT_EXIST)
    limit = config.politeness.sessions_per_host
    for server in world.values():
        assert server.stats.peak <= limit
    # One catch-all probe per domain, not per address.
    assert stats.catch_all_probes == 3
    # 185 addresses in a handful of sessions, not one connection each.
    total = sum(s.stats.connections for s in world.values())
    assert total <= 40 < len(items)
    assert stats.rcpts == len(items) + 3


async def test_bulk_gives_the_same_verdicts_as_one_by_one(world: dict[str, MailboxServer]) -> None:
    items, _ = _addresses(20, 10)
    config = _config()
    async with Verifier(config, resolver=FakeResolver(_zone(HOSTS))) as v:
        bulk = await _bulk(v, items)
    single = await _one_by_one(config, items)
    assert _verdicts(bulk) == _verdicts(single)


async def test_pipelined_rcpts_cost_one_write_per_batch(world: dict[str, MailboxServer]) -> None:
    items = [f"user{i}@alpha.test" for i in range(30)]
    async with Verifier(_config(), resolver=FakeResolver(_zone(HOSTS))) as v:
        results = await _bulk(v, items)
    assert all(r.reason is Reason.SUCCESS for r in results)
    alpha = world["alpha.test"]
    assert alpha.stats.count("RCPT") == 31  # 30 addresses and one catch-all probe
    assert alpha.stats.connections <= 2


async def test_error_limits_never_turn_good_addresses_unknown() -> None:
    good = [f"user{i}@alpha.test" for i in range(20)]
    bad = [f"nobody{i}@alpha.test" for i in range(40)]
    items = [x for pair in zip(bad[::2], bad[1::2], good, strict=True) for x in pair]
    server = MailboxServer(
        HOSTS["alpha.test"], PORT, users=good, pipelining=True, hard_error_limit=6
    )
    await server.start()
    try:
        config = _config(politeness=Politeness(errors_per_session=4, max_errors_per_session=5))
        async with Verifier(config, resolver=FakeResolver(_zone(HOSTS))) as v:
            results = await _bulk(v, items)
    finally:
        await server.stop()
    assert server.hard_limit_hits == 0  # we always left before the server's limit
    for r in results:
        expected = Reason.SUCCESS if r.input in good else Reason.MAILBOX_DOES_NOT_EXIST
        assert r.reason is expected, r.to_dict()


async def test_server_that_hangs_up_early_still_gets_every_answer() -> None:
    good = [f"user{i}@alpha.test" for i in range(10)]
    bad = [f"nobody{i}@alpha.test" for i in range(20)]
    items = bad + good
    server = MailboxServer(
        HOSTS["alpha.test"], PORT, users=good, pipelining=True, hard_error_limit=3
    )
    await server.start()
    try:
        # Our own limit is above the server's: its 421s must only cost new sessions.
        config = _config(
            politeness=Politeness(errors_per_session=8, max_errors_per_session=8),
            transient_retries=20,
            retry_backoff_s=0.01,
        )
        # Virtual time: the back-off after each 421 would otherwise be waited for real.
        clock = FakeClock()
        async with Verifier(config, resolver=FakeResolver(_zone(HOSTS)), clock=clock) as v:
            results = await _bulk(v, items)
    finally:
        await server.stop()
    assert server.hard_limit_hits > 0
    for r in results:
        if r.input in good:
            assert r.reason is Reason.SUCCESS, r.to_dict()
        else:
            assert r.state is not State.DELIVERABLE


async def test_too_many_recipients_shrinks_the_batch() -> None:
    users = [f"user{i}@alpha.test" for i in range(12)]
    server = MailboxServer(
        HOSTS["alpha.test"], PORT, users=users, pipelining=True, rcpt_per_transaction=1
    )
    await server.start()
    try:
        async with Verifier(_config(), resolver=FakeResolver(_zone(HOSTS))) as v:
            results = await _bulk(v, [*users, "ghost@alpha.test"])
    finally:
        await server.stop()
    assert [r.reason for r in results] == [Reason.SUCCESS] * 12 + [Reason.MAILBOX_DOES_NOT_EXIST]
    assert all(r.flags.accept_all is False for r in results)


async def test_greylisted_addresses_are_requeued_and_resolved() -> None:
    users = [f"user{i}@alpha.test" for i in range(5)]
    server = MailboxServer(HOSTS["alpha.test"], PORT, users=users, greylist=True, pipelining=True)
    await server.start()
    clock = FakeClock()
    try:
        async with Verifier(_config(), resolver=FakeResolver(_zone(HOSTS)), clock=clock) as v:
            results = await _bulk(v, users)
    finally:
        await server.stop()
    for r in results:
        assert r.reason is Reason.SUCCESS, r.to_dict()
        assert r.detail.greylisted is True
        assert r.detail.greylist_resolved is True
    assert clock.monotonic() >= 30.0


async def test_greylisting_beyond_the_budget_is_unknown_not_undeliverable() -> None:
    users = [f"user{i}@alpha.test" for i in range(3)]
    server = MailboxServer(HOSTS["alpha.test"], PORT, users=users, greylist=True, pipelining=True)
    await server.start()
    try:
        config = _config(greylist_delay_s=500.0)
        async with Verifier(config, resolver=FakeResolver(_zone(HOSTS)), clock=FakeClock()) as v:
            results = await _bulk(v, users)
    finally:
        await server.stop()
    assert {(r.state, r.reason) for r in results} == {(State.UNKNOWN, Reason.GREYLISTED)}


async def test_cache_makes_a_second_run_send_no_rcpt(
    world: dict[str, MailboxServer], tmp_path: Path
) -> None:
    items, _ = _addresses(10, 5)
    config = _config()
    first_cache = SqliteCache(tmp_path / "cache.sqlite3", config)
    async with Verifier(config, resolver=FakeResolver(_zone(HOSTS))) as v:
        first = await _bulk(v, items, cache=first_cache)
    rcpts = sum(s.stats.count("RCPT") for s in world.values())
    second_cache = SqliteCache(tmp_path / "cache.sqlite3", config)
    async with Verifier(config, resolver=FakeResolver(_zone(HOSTS))) as v:
        second = await _bulk(v, items, cache=second_cache)
        assert v.bulk().stats.cache_hits == len(items)
    assert sum(s.stats.count("RCPT") for s in world.values()) == rcpts
    assert _verdicts(first) == _verdicts(second)


async def test_dead_mx_gives_unknown_after_bounded_retries() -> None:
    config = _config(transient_retries=1, retry_backoff_s=0.01)
    async with Verifier(config, resolver=FakeResolver(_zone(HOSTS))) as v:
        results = await asyncio.wait_for(_bulk(v, ["user1@alpha.test", "user2@alpha.test"]), 30)
    assert {(r.state, r.reason) for r in results} == {
        (State.UNKNOWN, Reason.TRANSIENT_NETWORK_FAULT)
    }


async def test_one_by_one_checks_share_the_same_per_host_caps() -> None:
    users = [f"user{i}@alpha.test" for i in range(20)]
    server = MailboxServer(HOSTS["alpha.test"], PORT, users=users)
    await server.start()
    try:
        config = _config(politeness=Politeness(sessions_per_host=2))
        async with Verifier(config, resolver=FakeResolver(_zone(HOSTS)), clock=FakeClock()) as v:
            results = await asyncio.gather(*(v.averify(u) for u in users))
    finally:
        await server.stop()
    assert all(r.reason is Reason.SUCCESS for r in results)
    assert server.stats.connections == 20  # one connection per address on this path...
    assert server.stats.peak <= 2  # ...but never more at once than the per-host cap
