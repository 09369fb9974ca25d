"""The integrations' in-process result cache: bounded in size (LRU) and in age (TTL)."""

from __future__ import annotations

import pytest

from engine.integrations._cache import ResultLru
from engine.model import Reason, Result, State


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _result(address: str) -> Result:
    return Result(input=address, email=address, state=State.DELIVERABLE, reason=Reason.SUCCESS)


def test_least_recently_used_goes_first() -> None:
    cache = ResultLru(2, 60.0)
    a, b, c = (_result(f"{x}@example.com") for x in "abc")
    cache.put("a", a)
    cache.put("b", b)
    assert cache.get("a") is a  # a is now the most recently used
    cache.put("c", c)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (a, None, c)
    assert len(cache) == 2


def test_entries_expire_after_their_ttl() -> None:
    clock = Clock()
    cache = ResultLru(10, 60.0, clock=clock)
    cache.put("a", _result("a@example.com"))
    clock.now += 59.9
    assert cache.get("a") is not None
    clock.now += 0.1
    assert cache.get("a") is None
    assert len(cache) == 0


@pytest.mark.parametrize(("size", "ttl_s"), [(0, 60.0), (10, 0.0)])
def test_size_or_ttl_zero_keeps_nothing(size: int, ttl_s: float) -> None:
    cache = ResultLru(size, ttl_s)
    cache.put("a", _result("a@example.com"))
    assert cache.get("a") is None


def test_negative_limits_are_refused() -> None:
    with pytest.raises(ValueError):
        ResultLru(-1, 60.0)


def test_an_entry_may_be_kept_for_less_than_the_ttl_never_more() -> None:
    clock = Clock()
    cache = ResultLru(10, 60.0, clock=clock)
    cache.put("brief", _result("brief@example.com"), ttl_s=5.0)
    cache.put("long", _result("long@example.com"), ttl_s=600.0)
    clock.now += 5.0
    assert cache.get("brief") is None
    clock.now += 54.9
    assert cache.get("long") is not None
    clock.now += 0.1
    assert cache.get("long") is None
