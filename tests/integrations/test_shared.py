"""SharedVerifier and the time-bounded check every integration uses, against the loopback world.

Sync in a plain thread, sync inside a running event loop, and async from several loops; the
time limit is shown with a tarpit and asserted by the fallback's state and reason only.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import threading

import pytest

from engine.config import Config, Politeness
from engine.integrations import _check
from engine.integrations._shared import (
    Settings,
    SharedVerifier,
    close_shared,
    read_settings,
    shared_verifier,
)
from engine.model import Reason, Result, State
from engine.verifier import Verifier
from tests.integrations.world import (
    CATCH_ALL,
    DELIVERABLE,
    DISPOSABLE,
    NO_SUCH_USER,
    NOT_AN_ADDRESS,
    ROLE,
    SHORT_TIMEOUT_S,
    SLOW,
    TYPO,
    World,
)

IN_LOOP_NOTE = "not probed: checked synchronously inside a running event loop"


def _rcpts(world: World, address: str) -> int:
    wanted = f"<{address}>"
    return sum(1 for line in world.commands() if line.upper().startswith("RCPT") and wanted in line)


def _in_thread(call: object) -> Result:
    """Run `call()` in a new plain thread (no event loop there) and return its Result."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(call).result(timeout=60)  # type: ignore[arg-type]


# -- sync, in a thread that runs no event loop ----------------------------------------------


def test_sync_check_gets_the_full_verdict_in_a_plain_thread(shared: SharedVerifier) -> None:
    expected = {
        DELIVERABLE: (State.DELIVERABLE, Reason.SUCCESS),
        NO_SUCH_USER: (State.UNDELIVERABLE, Reason.MAILBOX_DOES_NOT_EXIST),
        CATCH_ALL: (State.RISKY, Reason.SERVER_IS_CATCH_ALL),
        DISPOSABLE: (State.RISKY, Reason.DOMAIN_IS_WELL_KNOWN_DEA),
        TYPO: (State.UNDELIVERABLE, Reason.DOMAIN_IS_INEXISTENT),
        NOT_AN_ADDRESS: (State.UNDELIVERABLE, Reason.AT_SIGN_NOT_FOUND),
    }
    for address, (state, reason) in expected.items():
        result = shared.check(address)
        assert (result.input, result.state, result.reason) == (address, state, reason)
    assert shared.check(TYPO).did_you_mean == "jane@yahoo.com"
    assert shared.check(ROLE).flags.role


def test_tarpit_falls_back_to_the_offline_verdict_as_unknown_timeout(
    hasty: SharedVerifier,
) -> None:
    role_at_slow = "info@slow.test"
    result = hasty.check(role_at_slow)
    assert (result.state, result.reason) == (State.UNKNOWN, Reason.TIMEOUT)
    assert result.email == role_at_slow
    assert result.flags.role  # the offline findings are kept
    # The engine's own limit: it says where the check stopped, and keeps the mail host it found.
    assert any(n.startswith("stopped by the time limit") for n in result.detail.notes)
    assert result.mx_record == "mx.slow.test"


def test_the_time_limit_never_turns_a_bad_input_into_unknown(hasty: SharedVerifier) -> None:
    result = hasty.check(NOT_AN_ADDRESS)
    assert (result.state, result.reason) == (State.UNDELIVERABLE, Reason.AT_SIGN_NOT_FOUND)


def test_input_that_is_not_text_gets_one_result_without_raising(shared: SharedVerifier) -> None:
    assert shared.check(None).state is State.UNDELIVERABLE
    assert shared.check(DELIVERABLE.encode()).state is State.DELIVERABLE


# -- async, from loops other than the owning one --------------------------------------------


async def test_async_check_awaits_the_full_verdict(shared: SharedVerifier) -> None:
    result = await shared.acheck(NO_SUCH_USER)
    assert (result.state, result.reason) == (State.UNDELIVERABLE, Reason.MAILBOX_DOES_NOT_EXIST)


async def test_async_check_falls_back_at_the_time_limit(hasty: SharedVerifier) -> None:
    result = await hasty.acheck(SLOW)
    assert (result.state, result.reason) == (State.UNKNOWN, Reason.TIMEOUT)


def test_several_event_loops_share_one_verifier_without_loop_errors(world: World) -> None:
    # One session per host: the second and third checks wait on the politeness semaphore.
    # A Verifier awaited directly from three loops fails here ("bound to a different event
    # loop", an internal error); through the owning loop each gets its own Timeout.
    config = dataclasses.replace(
        world.config(),
        politeness=Politeness(sessions_per_host=1, connections_per_minute_per_host=10_000),
    )
    shared = SharedVerifier(Settings(config=config, timeout_s=SHORT_TIMEOUT_S))
    results: list[Result] = []
    lock = threading.Lock()

    def in_own_loop(address: str) -> None:
        result = asyncio.run(shared.acheck(address))
        with lock:
            results.append(result)

    threads = [threading.Thread(target=in_own_loop, args=(f"user{i}@slow.test",)) for i in range(3)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        shared.close()
    assert len(results) == 3
    assert {(r.state, r.reason) for r in results} == {(State.UNKNOWN, Reason.TIMEOUT)}


class _LoopRecordingVerifier(Verifier):
    """Records the thread each online check runs in."""

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        self.threads: list[str] = []

    async def averify(self, raw: object, *, timeout_s: float | None = None) -> Result:
        self.threads.append(threading.current_thread().name)
        return await super().averify(raw, timeout_s=timeout_s)


async def test_every_online_check_runs_in_the_owning_loop(world: World) -> None:
    made: list[_LoopRecordingVerifier] = []

    def make(config: Config) -> Verifier:
        made.append(_LoopRecordingVerifier(config))
        return made[-1]

    shared = SharedVerifier(world.settings(cache_size=0), verifier=make)
    try:
        _in_thread(lambda: shared.check("t1@shop.test"))  # sync, plain thread
        await shared.acheck("t2@shop.test")  # async, this test's loop
        shared.check("t3@shop.test")  # sync inside this running loop: in the background
        await shared.acheck("t3@shop.test")  # joins that background check
    finally:
        await shared.aclose()
    assert len(made) == 1
    assert made[0].threads == ["mailprobe-verifier"] * 3


# -- sync, inside a running event loop ------------------------------------------------------


async def test_sync_check_inside_a_running_loop_answers_offline_and_never_blocks(
    shared: SharedVerifier, world: World
) -> None:
    address = "in-loop@shop.test"  # unknown user: undeliverable once probed
    first = shared.check(address)
    assert (first.state, first.reason) == (State.UNKNOWN, Reason.NOT_CHECKED)
    assert IN_LOOP_NOTE in first.detail.notes
    # The probe went on in the owning loop; awaiting the same input joins it.
    probed = await shared.acheck(address)
    assert (probed.state, probed.reason) == (State.UNDELIVERABLE, Reason.MAILBOX_DOES_NOT_EXIST)
    assert shared.check(address) is probed  # now from the cache
    assert _rcpts(world, address) == 1


async def test_sync_check_inside_a_running_loop_still_refuses_bad_syntax(
    shared: SharedVerifier,
) -> None:
    result = shared.check(NOT_AN_ADDRESS)
    assert (result.state, result.reason) == (State.UNDELIVERABLE, Reason.AT_SIGN_NOT_FOUND)


# -- the cache, offline mode, closing -------------------------------------------------------


def test_results_are_cached_unknown_ones_briefly(
    shared: SharedVerifier, hasty: SharedVerifier, world: World
) -> None:
    address = "cached@shop.test"
    assert shared.check(address) is shared.check(address)
    assert _rcpts(world, address) == 1
    tarpit = world.servers[-1]
    before = tarpit.stats.connections
    assert hasty.check("twice@slow.test") is hasty.check("twice@slow.test")
    assert tarpit.stats.connections - before == 1


def test_unknown_results_need_not_be_cached(world: World) -> None:
    shared = SharedVerifier(world.settings(timeout_s=SHORT_TIMEOUT_S, cache_unknown_ttl_s=0))
    tarpit = world.servers[-1]
    before = tarpit.stats.connections
    try:
        first, second = shared.check("again@slow.test"), shared.check("again@slow.test")
    finally:
        shared.close()
    assert first.reason is second.reason is Reason.TIMEOUT
    assert tarpit.stats.connections - before == 2


def test_offline_mode_never_touches_the_network(world: World) -> None:
    shared = SharedVerifier(world.settings(offline=True))
    before = len(world.commands())
    threads = set(threading.enumerate())
    try:
        for address in (DELIVERABLE, NO_SUCH_USER, SLOW):
            result = shared.check(address)
            assert (result.state, result.reason) == (State.UNKNOWN, Reason.NOT_CHECKED)
        assert shared.check(DISPOSABLE).reason is Reason.DOMAIN_IS_WELL_KNOWN_DEA
        assert asyncio.run(shared.acheck(NOT_AN_ADDRESS)).state is State.UNDELIVERABLE
        assert set(threading.enumerate()) <= threads  # no owning loop was started
    finally:
        shared.close()
    assert len(world.commands()) == before


def test_a_closed_verifier_starts_afresh_on_the_next_check(world: World) -> None:
    shared = SharedVerifier(world.settings(cache_size=0))
    try:
        assert shared.check(DELIVERABLE).state is State.DELIVERABLE
        shared.close()
        assert shared.check(DELIVERABLE).state is State.DELIVERABLE
    finally:
        shared.close()


def test_one_shared_verifier_per_settings_in_a_process(world: World) -> None:
    try:
        a = shared_verifier(world.settings(offline=True))
        assert shared_verifier(world.settings(offline=True)) is a
        assert shared_verifier(world.settings(offline=True, timeout_s=1.0)) is not a
    finally:
        close_shared()
    assert shared_verifier(world.settings(offline=True)) is not a
    close_shared()


# -- the helper's fallbacks when the owning loop does not answer ----------------------------


def test_blocking_wait_falls_back_and_cancels_when_the_loop_never_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_check, "GRACE_S", 0.0)
    never: concurrent.futures.Future[Result] = concurrent.futures.Future()
    result = _check.wait_within(never, Verifier(), "dave@example.com", 0.01)
    assert (result.state, result.reason) == (State.UNKNOWN, Reason.TIMEOUT)
    assert never.cancelled()


async def test_async_wait_falls_back_and_cancels_when_the_loop_never_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_check, "GRACE_S", 0.0)
    never: concurrent.futures.Future[Result] = concurrent.futures.Future()
    result = await _check.await_within(never, Verifier(), "dave@example.com", 0.01)
    assert (result.state, result.reason) == (State.UNKNOWN, Reason.TIMEOUT)
    assert never.cancelled()


async def test_cancelling_an_async_wait_cancels_the_check() -> None:
    pending: concurrent.futures.Future[Result] = concurrent.futures.Future()
    waiting = asyncio.ensure_future(_check.await_within(pending, Verifier(), "d@example.com", 30))
    await asyncio.sleep(0)  # let it start waiting
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert pending.cancelled()


async def test_a_check_cancelled_in_the_owning_loop_falls_back() -> None:
    cancelled: concurrent.futures.Future[Result] = concurrent.futures.Future()
    cancelled.cancel()
    result = await _check.await_within(cancelled, Verifier(), "dave@example.com", 30)
    assert (result.state, result.reason) == (State.UNKNOWN, Reason.TIMEOUT)


# -- settings from a framework's dict -------------------------------------------------------


def test_settings_dict_sets_config_fields_limits_and_policy() -> None:
    settings, policy = read_settings(
        {
            "HELO_NAME": "mx.example.com",
            "nameservers": ["127.0.0.53"],
            "TIMEOUT": 3,
            "OFFLINE": True,
            "CACHE_SIZE": 10,
            "CACHE_UNKNOWN_TTL": 0,
            "REJECT_ROLE": True,
        }
    )
    assert settings.config.helo_name == "mx.example.com"
    assert settings.config.nameservers == ("127.0.0.53",)
    assert (settings.timeout_s, settings.offline, settings.cache_size) == (3, True, 10)
    assert settings.cache_unknown_ttl_s == 0
    assert policy.reject_role and not policy.reject_risky
    assert settings.verifier_config.check_dns is False


def test_settings_dict_starts_from_a_given_config() -> None:
    base = Config(smtp_port=2525)
    settings, _ = read_settings({"CONFIG": base, "MAIL_FROM": "verify@example.com"})
    assert (settings.config.smtp_port, settings.config.mail_from) == (2525, "verify@example.com")


@pytest.mark.parametrize(
    "mapping",
    [{"TIMEOUTT": 3}, {"TIMEOUT": 0}, {"CONFIG": "not a config"}, {"SMTP_PORT": 0}],
    ids=["typo", "zero-timeout", "config-type", "bad-port"],
)
def test_settings_dict_refuses_what_it_cannot_use(mapping: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        read_settings(mapping)
