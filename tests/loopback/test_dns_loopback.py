"""The real DnsPythonResolver and MxLookup against the dnslib server on 127.0.0.53 (port 0)."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import AsyncIterator

import idna
import pytest

from engine.config import Config, Timeouts
from engine.errors import (
    DnsTransient,
    NoMailServer,
    NoPublicMxAddress,
    NoSuchDomain,
    NullMx,
)
from engine.localworld import Fault, Zone
from engine.localworld.dns import LocalDnsServer
from engine.mx import DnsPythonResolver, MxLookup

HOST = "127.0.0.53"
SILENT_HOST = "127.0.0.54"
THREAD_HOST = "127.0.0.55"

# Public-looking addresses in answers; nothing connects to them.
P1, P2, P3 = "8.8.4.4", "9.9.9.9", "1.0.0.1"
P6 = "2a00:1450:4001:80b::1b"
IDN = idna.encode("bücher.test").decode()

ZONE: Zone = {
    "example.test": {"MX": [(20, "mx2.example.test"), (10, "mx1.example.test")]},
    "mx1.example.test": {"A": [P1], "AAAA": [P6]},
    "mx2.example.test": {"A": [P2]},
    "equal.test": {"MX": [(10, f"mx{i}.equal.test") for i in range(4)]},
    **{f"mx{i}.equal.test": {"A": [P1]} for i in range(4)},
    "servfail.test": {"fault": Fault.SERVFAIL},
    "refused.test": {"fault": Fault.REFUSED},
    "silent.test": {"fault": Fault.DROP},
    "truncated.test": {"MX": [(10, "mx1.example.test")], "fault": {"MX": Fault.TRUNCATE}},
    "null.test": {"MX": [(0, ".")]},
    "aonly.test": {"A": [P3]},
    "aaaaonly.test": {"AAAA": [P6]},
    "nothing.test": {"TXT": ["v=spf1 -all"]},
    "ghost.test": {"MX": [(10, "gone.ghost.test"), (20, "bare.ghost.test")]},
    "bare.ghost.test": {"TXT": ["no address"]},
    "halfghost.test": {"MX": [(10, "gone.ghost.test"), (20, "mx2.example.test")]},
    "private.test": {"MX": [(10, "mx.private.test"), (20, "lo.private.test")]},
    "mx.private.test": {"A": ["10.1.2.3"], "AAAA": ["fd00::25"]},
    "lo.private.test": {"A": ["127.0.0.1"], "AAAA": ["::1"]},
    IDN: {"MX": [(10, f"mx.{IDN}")]},
    f"mx.{IDN}": {"A": [P3]},
    "alias.test": {"CNAME": "example.test"},
    "www.aonly.test": {"CNAME": "aonly.test"},
    "loop1.test": {"CNAME": "loop2.test"},
    "loop2.test": {"CNAME": "loop1.test"},
    **{f"chain{i}.test": {"CNAME": f"chain{i + 1}.test"} for i in range(20)},
    "chain20.test": {"MX": [(10, "mx1.example.test")]},
    "huge.test": {"MX": [(i, f"mx{i}.huge.test") for i in range(200)]},
    **{f"mx{i}.huge.test": {"A": [f"8.8.{i // 250}.{i % 250 + 1}"]} for i in range(200)},
    "v6broken.test": {"A": [P2], "fault": {"AAAA": Fault.SERVFAIL}},
}


@pytest.fixture
async def server() -> AsyncIterator[LocalDnsServer]:
    async with LocalDnsServer(ZONE, host=HOST) as running:
        yield running


def _config(server: LocalDnsServer, **changes: object) -> Config:
    base = Config(
        nameservers=(server.host,),
        dns_port=server.port,
        timeouts=Timeouts(dns_s=2.0),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def _lookup(server: LocalDnsServer, *, seed: int = 0, **changes: object) -> MxLookup:
    return MxLookup(_config(server, **changes), rng=random.Random(seed))


async def test_mx_hosts_come_lowest_preference_first_with_their_addresses(
    server: LocalDnsServer,
) -> None:
    hosts = await _lookup(server).lookup("example.test")
    assert [(h.host, h.preference, h.ips, h.implicit) for h in hosts] == [
        ("mx1.example.test", 10, (P1, P6), False),
        ("mx2.example.test", 20, (P2,), False),
    ]


async def test_equal_preferences_are_shuffled(server: LocalDnsServer) -> None:
    firsts = set()
    for seed in range(12):
        hosts = await _lookup(server, seed=seed).lookup("equal.test")
        assert sorted(h.host for h in hosts) == [f"mx{i}.equal.test" for i in range(4)]
        firsts.add(hosts[0].host)
    assert len(firsts) > 1


@pytest.mark.parametrize(
    ("domain", "said"), [("servfail.test", "SERVFAIL"), ("refused.test", "REFUSED")]
)
async def test_servfail_and_refused_are_transient(
    server: LocalDnsServer, domain: str, said: str
) -> None:
    lookup = _lookup(server)
    with pytest.raises(DnsTransient, match=said):
        await lookup.lookup(domain)
    assert await lookup.accepts_mail(domain) is None


async def test_a_name_that_never_gets_an_answer_times_out_as_transient(
    server: LocalDnsServer,
) -> None:
    lookup = _lookup(server, timeouts=Timeouts(dns_s=0.05), dns_attempts=1)
    with pytest.raises(DnsTransient, match="no answer"):
        await lookup.lookup("silent.test")
    assert server.count("silent.test", "MX") >= 1


async def test_a_silent_nameserver_is_transient_and_the_next_one_is_asked(
    server: LocalDnsServer,
) -> None:
    silent: Zone = {"test": {"fault": Fault.DROP}}
    async with LocalDnsServer(silent, host=SILENT_HOST, port=server.port) as quiet:
        only_silent = _config(server, nameservers=(quiet.host,), timeouts=Timeouts(dns_s=0.05))
        with pytest.raises(DnsTransient):
            await MxLookup(only_silent).lookup("example.test")
        both = dataclasses.replace(only_silent, nameservers=(quiet.host, server.host))
        hosts = await MxLookup(both).lookup("example.test")
    assert hosts[0].host == "mx1.example.test"
    assert quiet.count("example.test", "MX") >= 2


async def test_a_truncated_udp_answer_is_asked_again_over_tcp(server: LocalDnsServer) -> None:
    hosts = await _lookup(server).lookup("truncated.test")
    assert [h.host for h in hosts] == ["mx1.example.test"]
    assert server.tcp_queries[("truncated.test", "MX")] == 1
    assert server.count("truncated.test", "MX") == 2  # UDP, then TCP


async def test_null_mx_means_the_domain_accepts_no_mail(server: LocalDnsServer) -> None:
    lookup = _lookup(server)
    with pytest.raises(NullMx):
        await lookup.lookup("null.test")
    assert await lookup.accepts_mail("null.test") is False


@pytest.mark.parametrize(("domain", "ip"), [("aonly.test", P3), ("aaaaonly.test", P6)])
async def test_domain_with_an_address_and_no_mx_is_its_own_mail_host(
    server: LocalDnsServer, domain: str, ip: str
) -> None:
    hosts = await _lookup(server).lookup(domain)
    assert [(h.host, h.preference, h.ips, h.implicit) for h in hosts] == [(domain, 0, (ip,), True)]


async def test_domain_without_mx_or_address_has_no_mail_server(server: LocalDnsServer) -> None:
    with pytest.raises(NoMailServer):
        await _lookup(server).lookup("nothing.test")


async def test_nxdomain_is_no_such_domain(server: LocalDnsServer) -> None:
    lookup = _lookup(server)
    with pytest.raises(NoSuchDomain):
        await lookup.lookup("nowhere.test")
    assert await lookup.accepts_mail("nowhere.test") is False


async def test_mx_host_without_address_is_skipped(server: LocalDnsServer) -> None:
    hosts = await _lookup(server).lookup("halfghost.test")
    assert [h.host for h in hosts] == ["mx2.example.test"]


async def test_mx_hosts_all_without_address_mean_no_mail_server(server: LocalDnsServer) -> None:
    with pytest.raises(NoMailServer):
        await _lookup(server).lookup("ghost.test")


async def test_private_and_loopback_mx_addresses_are_refused_by_default(
    server: LocalDnsServer,
) -> None:
    with pytest.raises(NoPublicMxAddress) as caught:
        await _lookup(server).lookup("private.test")
    for ip in ("10.1.2.3", "fd00::25", "127.0.0.1", "::1"):
        assert ip in str(caught.value)


async def test_private_and_loopback_mx_addresses_are_used_when_allowed(
    server: LocalDnsServer,
) -> None:
    hosts = await _lookup(server, allow_private_addresses=True).lookup("private.test")
    assert [(h.host, h.ips) for h in hosts] == [
        ("mx.private.test", ("10.1.2.3", "fd00::25")),
        ("lo.private.test", ("127.0.0.1", "::1")),
    ]


async def test_an_idn_domain_is_asked_in_a_label_form(server: LocalDnsServer) -> None:
    assert IDN == "xn--bcher-kva.test"
    hosts = await _lookup(server).lookup(IDN)
    assert hosts[0].host == f"mx.{IDN}"
    assert server.count(IDN, "MX") == 1


@pytest.mark.parametrize(("domain", "mail_host"), [("alias.test", "mx1.example.test")])
async def test_a_cname_at_the_domain_is_followed(
    server: LocalDnsServer, domain: str, mail_host: str
) -> None:
    hosts = await _lookup(server).lookup(domain)
    assert hosts[0].host == mail_host


async def test_a_cname_to_a_domain_without_mx_gives_its_implicit_mx(
    server: LocalDnsServer,
) -> None:
    hosts = await _lookup(server).lookup("www.aonly.test")
    assert [(h.host, h.ips, h.implicit) for h in hosts] == [("www.aonly.test", (P3,), True)]


@pytest.mark.parametrize("domain", ["loop1.test", "chain0.test"])
async def test_cname_loops_and_overlong_chains_are_transient(
    server: LocalDnsServer, domain: str
) -> None:
    with pytest.raises(DnsTransient):
        await _lookup(server).lookup(domain)
    assert server.count(domain, "MX") == 1


async def test_two_hundred_mx_records_cost_five_address_lookups(server: LocalDnsServer) -> None:
    lookup = _lookup(server)
    hosts = await lookup.lookup("huge.test")
    assert [h.host for h in hosts] == [f"mx{i}.huge.test" for i in range(5)]
    assert server.tcp_queries[("huge.test", "MX")] == 1  # too big for one UDP datagram
    asked = {name for name, rtype in server.queries if rtype == "A" and name.endswith("huge.test")}
    assert asked == {f"mx{i}.huge.test" for i in range(5)}
    assert lookup.stats.address_queries == 5


async def test_an_aaaa_failure_does_not_hide_the_a_records(server: LocalDnsServer) -> None:
    hosts = await _lookup(server).lookup("v6broken.test")
    assert hosts[0].ips == (P2,)


async def test_a_hundred_concurrent_lookups_of_a_domain_ask_one_mx_question(
    server: LocalDnsServer,
) -> None:
    lookup = _lookup(server)
    results = await asyncio.gather(*(lookup.lookup("example.test") for _ in range(100)))
    assert server.count("example.test", "MX") == 1
    assert server.count("mx1.example.test", "A") == 1
    assert server.count("mx1.example.test", "AAAA") == 1
    assert len({r[0].host for r in results}) == 1
    assert lookup.stats.mx_queries == 1


async def test_the_resolver_alone_reports_records_and_nodata(server: LocalDnsServer) -> None:
    resolver = DnsPythonResolver(_config(server))
    answer = await resolver.mx("example.test")
    assert sorted(answer.records) == [(10, "mx1.example.test"), (20, "mx2.example.test")]
    assert answer.ttl == 300
    assert (await resolver.mx("aonly.test")).records == ()
    assert (await resolver.addresses("mx1.example.test")).ips == (P1, P6)
    assert (await resolver.addresses("nothing.test")).ips == ()
    with pytest.raises(NoSuchDomain):
        await resolver.addresses("gone.ghost.test")


async def test_the_server_runs_in_a_thread_for_scripts() -> None:
    with LocalDnsServer(ZONE, host=THREAD_HOST) as threaded:
        hosts = await MxLookup(_config(threaded)).lookup("example.test")
        assert threaded.count("example.test", "MX") == 1
    assert hosts[0].host == "mx1.example.test"


def test_the_server_listens_on_loopback_only() -> None:
    with pytest.raises(ValueError, match="loopback"):
        LocalDnsServer(ZONE, host="192.0.2.1")
