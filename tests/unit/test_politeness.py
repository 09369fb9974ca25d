"""Gates: session caps, connection rate and back-off, on virtual time."""

from __future__ import annotations

import asyncio

import pytest

from engine.clock import FakeClock
from engine.config import Politeness
from engine.politeness import Gates


async def test_sessions_per_host_cap_holds_under_contention() -> None:
    gates = Gates(
        Politeness(sessions_per_host=2, connections_per_minute_per_host=1000), FakeClock()
    )
    inside = 0
    peak = 0

    async def use() -> None:
        nonlocal inside, peak
        async with gates.session("mx.example.com"):
            inside += 1
            peak = max(peak, inside)
            for _ in range(3):
                await asyncio.sleep(0)
            inside -= 1

    await asyncio.gather(*(use() for _ in range(20)))
    assert peak == 2
    assert gates.peak_per_host() == {"mx.example.com": 2}
    assert gates.opened_per_host() == {"mx.example.com": 20}


async def test_provider_cap_spans_hosts() -> None:
    limits = Politeness(
        sessions_per_host=5, sessions_per_provider=3, connections_per_minute_per_host=1000
    )
    gates = Gates(limits, FakeClock())
    inside = 0
    peak = 0

    async def use(host: str) -> None:
        nonlocal inside, peak
        async with gates.session(host, "google"):
            inside += 1
            peak = max(peak, inside)
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            inside -= 1

    await asyncio.gather(*(use(f"mx{i % 4}.google.com") for i in range(16)))
    assert peak == 3


async def test_connection_rate_waits_for_the_window() -> None:
    clock = FakeClock()
    gates = Gates(Politeness(connections_per_minute_per_host=3), clock)
    for _ in range(5):
        async with gates.session("mx.example.com"):
            pass
    # The 4th and 5th connections had to wait for the first ones to leave the 60 s window.
    assert clock.monotonic() >= 60.0
    assert sum(clock.sleeps) >= 60.0


async def test_back_off_doubles_and_delays_the_next_session() -> None:
    clock = FakeClock()
    gates = Gates(Politeness(backoff_base_s=5, backoff_max_s=12), clock)
    assert gates.back_off("mx") == 5
    assert gates.back_off("mx") == 10
    assert gates.back_off("mx") == 12
    async with gates.session("mx"):
        pass
    assert clock.monotonic() >= 12
    gates.recovered("mx")
    assert gates.back_off("mx") == 5


async def test_zero_connections_per_minute_means_no_cap_on_the_rate() -> None:
    clock = FakeClock()
    gates = Gates(Politeness(connections_per_minute_per_host=0), clock)
    for _ in range(200):
        async with gates.session("mx.example.com"):
            pass
    assert clock.monotonic() == 0.0
    assert clock.sleeps == []
    assert gates.opened_per_host() == {"mx.example.com": 200}


async def test_zero_connections_per_minute_still_honours_the_back_off() -> None:
    clock = FakeClock()
    gates = Gates(Politeness(connections_per_minute_per_host=0, backoff_base_s=5), clock)
    gates.back_off("mx")
    async with gates.session("mx"):
        pass
    assert clock.monotonic() >= 5


def test_negative_connections_per_minute_is_refused() -> None:
    with pytest.raises(ValueError, match="connections_per_minute_per_host"):
        Politeness(connections_per_minute_per_host=-1)
    with pytest.raises(ValueError, match="sessions_per_host"):
        Politeness(sessions_per_host=0)


async def test_host_and_provider_caps_hold_per_egress() -> None:
    limits = Politeness(
        sessions_per_host=2, sessions_per_provider=3, connections_per_minute_per_host=1000
    )
    gates = Gates(limits, FakeClock())
    inside: dict[str, int] = {"a": 0, "b": 0}
    peak: dict[str, int] = {"a": 0, "b": 0}

    async def use(egress: str) -> None:
        async with gates.session("mx.example.com", "google", egress):
            inside[egress] += 1
            peak[egress] = max(peak[egress], inside[egress])
            for _ in range(3):
                await asyncio.sleep(0)
            inside[egress] -= 1

    await asyncio.gather(*(use(e) for e in "ab" * 10))
    assert peak == {"a": 2, "b": 2}  # each egress polite on its own, four sessions in all
    assert gates.peak_per_egress() == {("a", "mx.example.com"): 2, ("b", "mx.example.com"): 2}
    assert gates.opened_per_host() == {"mx.example.com": 20}


async def test_back_off_belongs_to_the_egress_that_earned_it() -> None:
    clock = FakeClock()
    gates = Gates(Politeness(backoff_base_s=30.0), clock)
    gates.back_off("mx.example.com", "a")
    async with gates.session("mx.example.com", None, "b"):
        assert clock.monotonic() == 0.0  # b was not held back
    async with gates.session("mx.example.com", None, "a"):
        assert clock.monotonic() >= 30.0  # a waited out its back-off
