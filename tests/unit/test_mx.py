"""The DNS stage's own logic over FakeResolver: order, caps, the SSRF filter, TTLs, sharing."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import re
from collections.abc import Mapping

import pytest

from engine.clock import FakeClock
from engine.config import Config
from engine.datasets import Datasets
from engine.errors import (
    DnsTransient,
    NoMailServer,
    NoPublicMxAddress,
    NoSuchDomain,
    NullMx,
)
from engine.mx import DnsPythonResolver, MxLookup
from engine.providers import smtp_provider
from engine.testing import FakeResolver

PUBLIC = Config()
OPEN = Config(allow_private_addresses=True)

# Public-looking addresses for answers; nothing ever connects to them.
P1, P2, P3, P4 = "8.8.4.4", "9.9.9.9", "1.0.0.1", "149.112.112.112"
P6 = "2a00:1450:4001:80b::1b"

ZONE: dict[str, dict[str, object]] = {
    "example.test": {"MX": [(20, "mx2.example.test"), (10, "mx1.example.test")]},
    "mx1.example.test": {"A": [P1], "AAAA": [P6]},
    "mx2.example.test": {"A": [P2]},
    "null.test": {"MX": [(0, ".")]},
    "nullplus.test": {"MX": [(0, "."), (10, "mx2.example.test")]},
    "aonly.test": {"A": [P3]},
    "aaaaonly.test": {"AAAA": [P6]},
    "nothing.test": {"TXT": ["v=spf1 -all"]},
    "ghost.test": {"MX": [(10, "gone.ghost.test"), (20, "bare.ghost.test")]},
    "bare.ghost.test": {"TXT": ["no address here"]},
    "halfghost.test": {"MX": [(10, "gone.ghost.test"), (20, "mx2.example.test")]},
    "broken.test": {"fault": "servfail"},
    "badhost.test": {"MX": [(10, "mx.broken.test"), (20, "mx2.example.test")]},
    "allbad.test": {"MX": [(10, "mx.broken.test")]},
    "private.test": {"MX": [(10, "mx.private.test"), (20, "lo.private.test")]},
    "mx.private.test": {"A": ["10.1.2.3", "192.168.1.1"], "AAAA": ["fd00::25"]},
    "lo.private.test": {"A": ["127.0.0.1"], "AAAA": ["::1"]},
    "mixed.test": {"MX": [(10, "mx.private.test"), (20, "mx2.example.test")]},
    "v6broken.test": {"A": [P4], "fault": {"AAAA": "servfail"}},
}


def _lookup(
    zone: Mapping[str, Mapping[str, object]] = ZONE,
    config: Config = PUBLIC,
    *,
    clock: FakeClock | None = None,
    seed: int = 0,
    **kwargs: object,
) -> tuple[MxLookup, FakeResolver]:
    resolver = FakeResolver(zone, **kwargs)  # type: ignore[arg-type]
    lookup = MxLookup(
        config,
        resolver,
        clock=(clock or FakeClock()).monotonic,
        rng=random.Random(seed),
    )
    return lookup, resolver


# -- outcomes -------------------------------------------------------------------------------


async def test_mx_hosts_come_lowest_preference_first_with_their_addresses() -> None:
    lookup, _ = _lookup()
    hosts = await lookup.lookup("example.test")
    assert [(h.host, h.preference, h.ips, h.implicit) for h in hosts] == [
        ("mx1.example.test", 10, (P1, P6), False),
        ("mx2.example.test", 20, (P2,), False),
    ]


async def test_ipv4_comes_first_unless_ipv6_is_preferred() -> None:
    lookup, _ = _lookup(config=dataclasses.replace(PUBLIC, prefer_ipv6=True))
    hosts = await lookup.lookup("example.test")
    assert hosts[0].ips == (P6, P1)


async def test_equal_preferences_are_shuffled_and_unequal_ones_never() -> None:
    names = [f"mx{i}.equal.test" for i in range(4)]
    zone: dict[str, dict[str, object]] = {
        "equal.test": {"MX": [(10, n) for n in names] + [(5, "first.equal.test")]},
        "first.equal.test": {"A": [P1]},
        **{n: {"A": [P2]} for n in names},
    }
    seconds = set()
    for seed in range(20):
        lookup, _ = _lookup(zone, seed=seed)
        hosts = await lookup.lookup("equal.test")
        assert hosts[0].host == "first.equal.test"
        assert sorted(h.host for h in hosts[1:]) == names
        seconds.add(hosts[1].host)
    assert len(seconds) > 1


async def test_equal_preferences_are_reshuffled_on_every_lookup_of_a_cached_domain() -> None:
    zone: dict[str, dict[str, object]] = {
        "equal.test": {"MX": [(10, f"mx{i}.equal.test") for i in range(4)]},
        **{f"mx{i}.equal.test": {"A": [P2]} for i in range(4)},
    }
    lookup, resolver = _lookup(zone)
    firsts = {(await lookup.lookup("equal.test"))[0].host for _ in range(20)}
    assert len(firsts) > 1
    assert resolver.calls[("equal.test", "mx")] == 1


async def test_null_mx_means_the_domain_accepts_no_mail() -> None:
    lookup, resolver = _lookup()
    with pytest.raises(NullMx):
        await lookup.lookup("null.test")
    assert not any(kind == "addresses" for _, kind in resolver.calls)


async def test_a_root_mx_beside_real_ones_is_ignored() -> None:
    lookup, _ = _lookup()
    hosts = await lookup.lookup("nullplus.test")
    assert [h.host for h in hosts] == ["mx2.example.test"]


@pytest.mark.parametrize(("domain", "ip"), [("aonly.test", P3), ("aaaaonly.test", P6)])
async def test_domain_without_mx_but_with_an_address_is_its_own_mail_host(
    domain: str, ip: str
) -> None:
    lookup, _ = _lookup()
    hosts = await lookup.lookup(domain)
    assert [(h.host, h.preference, h.ips, h.implicit) for h in hosts] == [(domain, 0, (ip,), True)]


async def test_domain_without_mx_and_without_address_has_no_mail_server() -> None:
    lookup, _ = _lookup()
    with pytest.raises(NoMailServer, match="no MX and no A/AAAA"):
        await lookup.lookup("nothing.test")


async def test_nxdomain_is_no_such_domain() -> None:
    lookup, _ = _lookup()
    with pytest.raises(NoSuchDomain):
        await lookup.lookup("nowhere.test")


async def test_mx_host_without_address_is_skipped() -> None:
    lookup, _ = _lookup()
    hosts = await lookup.lookup("halfghost.test")
    assert [h.host for h in hosts] == ["mx2.example.test"]


async def test_mx_hosts_all_without_address_mean_no_mail_server() -> None:
    lookup, _ = _lookup()
    with pytest.raises(NoMailServer, match=re.escape("gone.ghost.test, bare.ghost.test")):
        await lookup.lookup("ghost.test")


async def test_servfail_is_transient_never_a_verdict() -> None:
    lookup, _ = _lookup()
    with pytest.raises(DnsTransient):
        await lookup.lookup("broken.test")
    assert await lookup.accepts_mail("broken.test") is None


async def test_mx_host_that_fails_to_resolve_is_skipped_when_another_works() -> None:
    lookup, _ = _lookup()
    hosts = await lookup.lookup("badhost.test")
    assert [h.host for h in hosts] == ["mx2.example.test"]


async def test_mx_hosts_that_all_fail_to_resolve_are_transient_not_no_mail_server() -> None:
    lookup, _ = _lookup()
    with pytest.raises(DnsTransient, match=re.escape("mx.broken.test")):
        await lookup.lookup("allbad.test")


async def test_an_aaaa_failure_does_not_hide_the_a_records() -> None:
    lookup, _ = _lookup()
    hosts = await lookup.lookup("v6broken.test")
    assert hosts[0].ips == (P4,)


# -- SSRF guard -----------------------------------------------------------------------------


async def test_private_and_loopback_mx_addresses_are_refused_by_default() -> None:
    lookup, _ = _lookup()
    with pytest.raises(NoPublicMxAddress) as caught:
        await lookup.lookup("private.test")
    message = str(caught.value)
    for ip in ("10.1.2.3", "192.168.1.1", "fd00::25", "127.0.0.1", "::1"):
        assert ip in message
    assert await lookup.accepts_mail("private.test") is True


async def test_private_mx_addresses_are_used_when_allowed() -> None:
    lookup, _ = _lookup(config=OPEN)
    hosts = await lookup.lookup("private.test")
    assert hosts[0].ips == ("10.1.2.3", "192.168.1.1", "fd00::25")
    assert hosts[1].ips == ("127.0.0.1", "::1")


async def test_only_public_addresses_are_kept_when_some_are_private() -> None:
    lookup, _ = _lookup()
    hosts = await lookup.lookup("mixed.test")
    assert [(h.host, h.ips) for h in hosts] == [("mx2.example.test", (P2,))]


# -- caps: bounded cost whatever a zone holds -----------------------------------------------


async def test_hundreds_of_mx_records_cost_max_mx_hosts_address_lookups() -> None:
    zone: dict[str, dict[str, object]] = {
        "huge.test": {"MX": [(i % 50, f"mx{i}.huge.test") for i in range(300)]},
        **{f"mx{i}.huge.test": {"A": [P1]} for i in range(300)},
    }
    lookup, resolver = _lookup(zone)
    hosts = await lookup.lookup("huge.test")
    assert len(hosts) == PUBLIC.max_mx_hosts
    assert {h.preference for h in hosts} == {0}  # six hosts have 0: five of them are used
    asked = [name for name, kind in resolver.calls if kind == "addresses"]
    assert len(asked) == PUBLIC.max_mx_hosts


async def test_address_budget_is_dealt_so_every_host_keeps_one() -> None:
    zone: dict[str, dict[str, object]] = {
        "many.test": {"MX": [(10, "a.many.test"), (20, "b.many.test"), (30, "c.many.test")]},
        "a.many.test": {"A": [f"8.8.8.{i}" for i in range(1, 5)]},
        "b.many.test": {"A": [f"9.9.9.{i}" for i in range(1, 5)]},
        "c.many.test": {"A": [f"1.0.0.{i}" for i in range(1, 5)]},
    }
    lookup, _ = _lookup(zone, dataclasses.replace(PUBLIC, max_addresses=5))
    hosts = await lookup.lookup("many.test")
    assert [h.ips for h in hosts] == [
        ("8.8.8.1", "8.8.8.2"),
        ("9.9.9.1", "9.9.9.2"),
        ("1.0.0.1",),
    ]


async def test_address_budget_smaller_than_the_hosts_drops_the_last_hosts() -> None:
    lookup, _ = _lookup(config=dataclasses.replace(PUBLIC, max_addresses=1))
    hosts = await lookup.lookup("example.test")
    assert [(h.host, h.ips) for h in hosts] == [("mx1.example.test", (P1,))]


async def test_repeated_addresses_and_hosts_count_once() -> None:
    zone: dict[str, dict[str, object]] = {
        "dup.test": {"MX": [(20, "mx.dup.test"), (10, "MX.dup.test."), (30, "mx.dup.test")]},
        "mx.dup.test": {"A": [P1, P1, "8.8.4.04"], "AAAA": [P6, P6.upper()]},
    }
    lookup, _ = _lookup(zone)
    hosts = await lookup.lookup("dup.test")
    assert [(h.host, h.preference, h.ips) for h in hosts] == [("mx.dup.test", 10, (P1, P6))]


# -- caching, TTLs and sharing --------------------------------------------------------------


async def test_record_ttl_is_raised_to_the_minimum() -> None:
    clock = FakeClock()
    zone: dict[str, dict[str, object]] = {**ZONE, "mx1.example.test": {"A": [P1], "ttl": 1}}
    lookup, resolver = _lookup(zone, clock=clock)
    await lookup.lookup("example.test")
    clock.advance(PUBLIC.dns_ttl_min_s - 1)
    await lookup.lookup("example.test")
    assert resolver.calls[("example.test", "mx")] == 1
    clock.advance(2)
    await lookup.lookup("example.test")
    assert resolver.calls[("example.test", "mx")] == 2


async def test_record_ttl_is_lowered_to_the_maximum() -> None:
    clock = FakeClock()
    lookup, resolver = _lookup(clock=clock, ttl=10**7)
    await lookup.lookup("example.test")
    clock.advance(PUBLIC.dns_ttl_max_s - 1)
    await lookup.lookup("example.test")
    assert resolver.calls[("example.test", "mx")] == 1
    clock.advance(2)
    await lookup.lookup("example.test")
    assert resolver.calls[("example.test", "mx")] == 2


async def test_the_shortest_ttl_of_mx_and_addresses_decides() -> None:
    clock = FakeClock()
    zone: dict[str, dict[str, object]] = {**ZONE, "mx2.example.test": {"A": [P2], "ttl": 120}}
    lookup, resolver = _lookup(zone, clock=clock)
    await lookup.lookup("example.test")
    clock.advance(121)
    await lookup.lookup("example.test")
    assert resolver.calls[("example.test", "mx")] == 2
    assert resolver.calls[("mx1.example.test", "addresses")] == 1  # its own 300 s still run


@pytest.mark.parametrize("domain", ["nowhere.test", "nothing.test"])
async def test_negative_answers_are_cached_for_the_negative_ttl(domain: str) -> None:
    clock = FakeClock()
    lookup, resolver = _lookup(clock=clock)
    for _ in range(3):
        with pytest.raises((NoSuchDomain, NoMailServer)):
            await lookup.lookup(domain)
    assert resolver.calls[(domain, "mx")] == 1
    clock.advance(PUBLIC.dns_negative_ttl_s + 1)
    with pytest.raises((NoSuchDomain, NoMailServer)):
        await lookup.lookup(domain)
    assert resolver.calls[(domain, "mx")] == 2


async def test_transient_failures_are_cached_only_briefly() -> None:
    clock = FakeClock()
    lookup, resolver = _lookup(clock=clock)
    for _ in range(3):
        with pytest.raises(DnsTransient):
            await lookup.lookup("broken.test")
    assert resolver.calls[("broken.test", "mx")] == 1
    clock.advance(PUBLIC.dns_transient_ttl_s + 0.5)
    with pytest.raises(DnsTransient):
        await lookup.lookup("broken.test")
    assert resolver.calls[("broken.test", "mx")] == 2


async def test_a_partial_answer_is_cached_only_as_long_as_a_transient_one() -> None:
    clock = FakeClock()
    lookup, resolver = _lookup(clock=clock)
    await lookup.lookup("badhost.test")
    clock.advance(PUBLIC.dns_transient_ttl_s + 0.5)
    await lookup.lookup("badhost.test")
    assert resolver.calls[("badhost.test", "mx")] == 2


async def test_each_raise_of_a_cached_error_is_a_fresh_exception() -> None:
    lookup, _ = _lookup()
    caught = []
    for _ in range(2):
        with pytest.raises(NoSuchDomain) as info:
            await lookup.lookup("nowhere.test")
        caught.append(info.value)
    assert caught[0] is not caught[1]
    assert str(caught[0]) == str(caught[1])


async def test_concurrent_lookups_of_one_domain_share_one_lookup() -> None:
    gate = asyncio.Event()
    lookup, resolver = _lookup(gate=gate)
    tasks = [asyncio.ensure_future(lookup.lookup("example.test")) for _ in range(100)]
    await resolver.at_gate.wait()
    gate.set()
    results = await asyncio.gather(*tasks)
    assert resolver.calls[("example.test", "mx")] == 1
    assert resolver.calls[("mx1.example.test", "addresses")] == 1
    assert {tuple(h.host for h in r) for r in results} == {("mx1.example.test", "mx2.example.test")}
    assert lookup.stats.joined == 99


async def test_a_waiter_giving_up_does_not_cancel_the_shared_lookup() -> None:
    gate = asyncio.Event()
    lookup, resolver = _lookup(gate=gate)
    quitter = asyncio.ensure_future(lookup.lookup("example.test"))
    stayer = asyncio.ensure_future(lookup.lookup("example.test"))
    await resolver.at_gate.wait()
    quitter.cancel()
    gate.set()
    hosts = await stayer
    assert hosts[0].host == "mx1.example.test"
    assert quitter.cancelled()
    assert resolver.calls[("example.test", "mx")] == 1


async def test_domains_sharing_a_mail_host_resolve_it_once() -> None:
    lookup, resolver = _lookup()
    await lookup.lookup("example.test")
    await lookup.lookup("halfghost.test")
    await lookup.lookup("nullplus.test")
    assert resolver.calls[("mx2.example.test", "addresses")] == 1
    assert lookup.stats.host_cache_hits == 2
    assert lookup.stats.queries_by_type == {"MX": 3, "A": 3, "AAAA": 3}


async def test_the_cache_holds_at_most_max_entries_domains() -> None:
    zone: dict[str, dict[str, object]] = {f"d{i}.test": {"A": [P1]} for i in range(10)}
    resolver = FakeResolver(zone)
    lookup = MxLookup(PUBLIC, resolver, clock=FakeClock().monotonic, max_entries=4)
    for i in range(10):
        await lookup.lookup(f"d{i}.test")
    await lookup.lookup("d9.test")
    assert resolver.calls[("d9.test", "mx")] == 1  # recent: kept
    await lookup.lookup("d0.test")
    assert resolver.calls[("d0.test", "mx")] == 2  # oldest: dropped


# -- names ----------------------------------------------------------------------------------


async def test_case_and_final_dot_do_not_make_another_domain() -> None:
    lookup, resolver = _lookup()
    await lookup.lookup("example.test")
    await lookup.lookup("EXAMPLE.test.")
    assert resolver.calls[("example.test", "mx")] == 1


async def test_a_unicode_domain_is_looked_up_in_a_label_form() -> None:
    zone: dict[str, dict[str, object]] = {"xn--bcher-kva.test": {"A": [P1]}}
    lookup, resolver = _lookup(zone)
    hosts = await lookup.lookup("Bücher.test")
    assert hosts[0].host == "xn--bcher-kva.test"
    assert resolver.calls[("xn--bcher-kva.test", "mx")] == 1


def test_the_resolver_needs_room_for_one_question_at_least() -> None:
    with pytest.raises(ValueError, match="max_in_flight"):
        DnsPythonResolver(PUBLIC, max_in_flight=0)


async def test_a_domain_literal_is_not_looked_up() -> None:
    lookup, _ = _lookup()
    with pytest.raises(ValueError, match="is_public_ip"):
        await lookup.lookup("[10.0.0.1]")


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("example.test", True),
        ("aonly.test", True),
        ("private.test", True),
        ("null.test", False),
        ("nothing.test", False),
        ("nowhere.test", False),
        ("ghost.test", False),
        ("broken.test", None),
    ],
)
async def test_accepts_mail(domain: str, expected: bool | None) -> None:
    lookup, _ = _lookup()
    assert await lookup.accepts_mail(domain) is expected


# -- providers ------------------------------------------------------------------------------

TABLE = (("google.com", "google"), ("protection.outlook.com", "microsoft"))


@pytest.mark.parametrize(
    ("host", "provider"),
    [
        ("aspmx.l.google.com", "google"),
        ("ASPMX.L.GOOGLE.COM.", "google"),
        ("google.com", "google"),
        ("notgoogle.com", None),
        ("google.com.evil.test", None),
        ("contoso-com.mail.protection.outlook.com", "microsoft"),
        ("", None),
    ],
)
def test_smtp_provider_matches_a_suffix_on_a_label_boundary(
    host: str, provider: str | None
) -> None:
    assert smtp_provider(host, TABLE) == provider


def test_smtp_provider_prefers_the_longest_suffix_whatever_the_order() -> None:
    table = (("outlook.com", "microsoft"), ("olc.protection.outlook.com", "outlook"))
    assert smtp_provider("hotmail-com.olc.protection.outlook.com", table) == "outlook"
    assert smtp_provider("x.mail.protection.outlook.com", table) == "microsoft"


@pytest.mark.parametrize(
    ("host", "provider"),
    [
        ("alt1.aspmx.l.google.com", "google"),
        ("contoso-com.mail.protection.outlook.com", "microsoft"),
        ("hotmail-com.olc.protection.outlook.com", "outlook"),
        ("mta7.am0.yahoodns.net", "yahoo"),
        ("mx01.mail.icloud.com", "apple"),
        ("mx0a-001234.pphosted.com", "proofpoint"),
        ("eu-smtp-inbound-1.mimecast.com", "mimecast"),
        ("mx1.hc1234-56.iphmx.com", "cisco"),
        ("in1-smtp.messagingengine.com", "fastmail"),
        ("mail.protonmail.ch", "proton"),
        ("mx1.emailsrvr.com", "rackspace"),
        ("mailstore1.secureserver.net", "godaddy"),
        ("mx.example.test", None),
    ],
)
def test_shipped_provider_table(host: str, provider: str | None) -> None:
    assert smtp_provider(host, Datasets().smtp_providers) == provider
