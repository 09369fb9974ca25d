"""The DNS stage against a real Unbound: every DNS outcome, as a real resolver words it.

Unbound answers from local zones (tests/realmta/unbound_world.py); it also shows a resolver that
stops at a CNAME in its local data, which DnsPythonResolver then follows itself.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Iterator

import pytest

from engine.config import Config, Timeouts
from engine.errors import (
    DnsTransient,
    NoMailServer,
    NoPublicMxAddress,
    NoSuchDomain,
    NullMx,
)
from engine.mx import MxLookup
from tests.realmta.unbound_world import (
    BIG_MX_COUNT,
    IDN,
    P1,
    P2,
    P3,
    P6,
    UnboundError,
    UnboundWorld,
    find_unbound,
)

pytestmark = pytest.mark.realmta


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def unbound() -> Iterator[UnboundWorld]:
    """Unbound on 127.0.0.153, a free port, from a temporary folder; stopped by its PID."""
    if find_unbound() is None:
        _unavailable("unbound is not installed: run tests/realmta/install.sh")
    world = UnboundWorld()
    try:
        world.start()
    except UnboundError as exc:
        _unavailable(f"could not start unbound: {exc}")
    try:
        yield world
    finally:
        world.stop()


def _lookup(
    unbound: UnboundWorld,
    *,
    seed: int = 0,
    dns_s: float = 2.0,
    allow_private_addresses: bool = False,
) -> MxLookup:
    config = Config(
        nameservers=(unbound.host,),
        dns_port=unbound.port,
        dns_attempts=1,
        timeouts=Timeouts(dns_s=dns_s),
        allow_private_addresses=allow_private_addresses,
    )
    return MxLookup(config, rng=random.Random(seed))


async def test_mx_hosts_come_lowest_preference_first_with_their_addresses(
    unbound: UnboundWorld,
) -> None:
    hosts = await _lookup(unbound).lookup("order.test")
    assert [(h.host, h.preference, h.ips, h.implicit) for h in hosts] == [
        ("mx1.order.test", 10, (P1, P6), False),
        ("mx2.order.test", 20, (P2,), False),
    ]


async def test_equal_preferences_are_shuffled(unbound: UnboundWorld) -> None:
    firsts = set()
    for seed in range(12):
        hosts = await _lookup(unbound, seed=seed).lookup("equal.test")
        assert sorted(h.host for h in hosts) == [f"mx{i}.equal.test" for i in range(4)]
        firsts.add(hosts[0].host)
    assert len(firsts) > 1


async def test_servfail_from_a_dead_upstream_is_transient(unbound: UnboundWorld) -> None:
    lookup = _lookup(unbound)
    with pytest.raises(DnsTransient, match="SERVFAIL"):
        await lookup.lookup("broken.test")
    assert await lookup.accepts_mail("broken.test") is None


async def test_refused_is_transient(unbound: UnboundWorld) -> None:
    with pytest.raises(DnsTransient, match="REFUSED"):
        await _lookup(unbound).lookup("refused.test")


async def test_a_dropped_question_times_out_as_transient(unbound: UnboundWorld) -> None:
    with pytest.raises(DnsTransient, match="no answer"):
        await _lookup(unbound, dns_s=0.05).lookup("silent.test")


async def test_two_hundred_mx_records_come_over_tcp_and_are_capped(
    unbound: UnboundWorld,
) -> None:
    tcp_before = unbound.stats().get("num.query.tcp", 0)
    lookup = _lookup(unbound)
    hosts = await lookup.lookup("big.test")
    assert BIG_MX_COUNT == 200
    assert [h.host for h in hosts] == [f"mx{i}.big.test" for i in range(5)]
    assert lookup.stats.address_queries == 5
    assert unbound.stats().get("num.query.tcp", 0) > tcp_before


async def test_null_mx_means_the_domain_accepts_no_mail(unbound: UnboundWorld) -> None:
    lookup = _lookup(unbound)
    with pytest.raises(NullMx):
        await lookup.lookup("null.test")
    assert await lookup.accepts_mail("null.test") is False


@pytest.mark.parametrize(("domain", "ip"), [("aonly.test", P3), ("aaaaonly.test", P6)])
async def test_domain_with_an_address_and_no_mx_is_its_own_mail_host(
    unbound: UnboundWorld, domain: str, ip: str
) -> None:
    hosts = await _lookup(unbound).lookup(domain)
    assert [(h.host, h.preference, h.ips, h.implicit) for h in hosts] == [(domain, 0, (ip,), True)]


async def test_domain_without_mx_or_address_has_no_mail_server(unbound: UnboundWorld) -> None:
    with pytest.raises(NoMailServer):
        await _lookup(unbound).lookup("nothing.test")


async def test_nxdomain_is_no_such_domain(unbound: UnboundWorld) -> None:
    with pytest.raises(NoSuchDomain):
        await _lookup(unbound).lookup("nowhere.test")


async def test_mx_host_without_address_is_skipped(unbound: UnboundWorld) -> None:
    hosts = await _lookup(unbound).lookup("halfghost.test")
    assert [h.host for h in hosts] == ["mx2.order.test"]


async def test_mx_hosts_all_without_address_mean_no_mail_server(unbound: UnboundWorld) -> None:
    with pytest.raises(NoMailServer):
        await _lookup(unbound).lookup("ghost.test")


async def test_private_and_loopback_mx_addresses_are_refused_by_default(
    unbound: UnboundWorld,
) -> None:
    with pytest.raises(NoPublicMxAddress) as caught:
        await _lookup(unbound).lookup("private.test")
    for ip in ("10.1.2.3", "fd00::25", "127.0.0.1", "::1"):
        assert ip in str(caught.value)


async def test_private_and_loopback_mx_addresses_are_used_when_allowed(
    unbound: UnboundWorld,
) -> None:
    hosts = await _lookup(unbound, allow_private_addresses=True).lookup("private.test")
    assert [(h.host, h.ips) for h in hosts] == [
        ("mx.private.test", ("10.1.2.3", "fd00::25")),
        ("lo.private.test", ("127.0.0.1", "::1")),
    ]


async def test_an_idn_domain_is_asked_in_a_label_form(unbound: UnboundWorld) -> None:
    hosts = await _lookup(unbound).lookup("bücher.test")
    assert [(h.host, h.ips) for h in hosts] == [(f"mx.{IDN}", (P3,))]


async def test_a_cname_answer_without_its_target_is_followed(unbound: UnboundWorld) -> None:
    # Unbound answers local data with the CNAME alone; the resolver asks about the target.
    hosts = await _lookup(unbound).lookup("alias.test")
    assert [h.host for h in hosts] == ["mx1.order.test", "mx2.order.test"]


async def test_a_hundred_concurrent_lookups_of_a_domain_ask_one_mx_question(
    unbound: UnboundWorld,
) -> None:
    before = unbound.stats().get("num.query.type.MX", 0)
    lookup = _lookup(unbound)
    results = await asyncio.gather(*(lookup.lookup("order.test") for _ in range(100)))
    assert unbound.stats().get("num.query.type.MX", 0) - before == 1
    assert {r[0].host for r in results} == {"mx1.order.test"}
