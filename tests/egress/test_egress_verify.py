"""Verifying through egresses, end to end: routing, politeness per egress, greylisting affinity,
per-egress identity and proxy faults, one by one (averify) and in bulk.

Mail servers on 127.0.0.4x record the client address of every session: Dante leaves from
127.0.0.31, the source-bound direct egress from 127.0.0.35. Retries and greylisting waits run
on a FakeClock.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import pytest

from engine.clock import FakeClock
from engine.config import Config, Politeness, Timeouts
from engine.localworld.smtp import MailboxServer
from engine.model import Reason, Result, State
from engine.routing import Egress, parse_egress, parse_proxy_url, parse_route
from engine.testing import FakeResolver
from engine.verifier import Verifier
from tests.egress.conftest import DANTE_HOST, MICRO_USER, Proxies
from tests.egress.proxies import ScriptedSocks
from tests.loopback.ports import free_port

PLAIN_IP, GOOGLE_IP, OUTLOOK_IP = "127.0.0.40", "127.0.0.42", "127.0.0.43"
SOURCE_IP = "127.0.0.35"
ZONE = {
    "example.test": {"MX": [(10, "mx.example.test")]},
    "mx.example.test": {"A": [PLAIN_IP]},
    "gmailish.test": {"MX": [(5, "aspmx.l.google.com")]},
    "aspmx.l.google.com": {"A": [GOOGLE_IP]},
    "contoso.test": {"MX": [(0, "contoso-test.mail.protection.outlook.com")]},
    "contoso-test.mail.protection.outlook.com": {"A": [OUTLOOK_IP]},
}
PORT = free_port([PLAIN_IP, GOOGLE_IP, OUTLOOK_IP])


def _users(domain: str, n: int) -> list[str]:
    return [f"user{i}@{domain}" for i in range(n)]


@pytest.fixture
async def servers() -> AsyncIterator[dict[str, MailboxServer]]:
    made = {
        "plain": MailboxServer(PLAIN_IP, PORT, users=_users("example.test", 80)),
        "google": MailboxServer(GOOGLE_IP, PORT, users=_users("gmailish.test", 10)),
        "outlook": MailboxServer(OUTLOOK_IP, PORT, users=_users("contoso.test", 10)),
    }
    for server in made.values():
        await server.start()
    yield made
    for server in made.values():
        await server.stop()
    for server in made.values():
        assert "DATA" not in server.stats.verbs()


def _config(*egresses: Egress, **changes: object) -> Config:
    base = Config(
        allow_private_addresses=True,
        smtp_port=PORT,
        helo_name="probe.example.test",
        mail_from="verify@probe.example.test",
        timeouts=Timeouts(connect_s=5.0, greeting_s=5.0, command_s=5.0, budget_s=600.0),
        egresses=egresses,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def _verifier(config: Config) -> Verifier:
    return Verifier(config, resolver=FakeResolver(ZONE), clock=FakeClock())


def _dante(proxies: Proxies, name: str = "a", **fields: str) -> Egress:
    return Egress(name=name, proxy=parse_proxy_url(proxies.dante.url()), **fields)


def _direct(name: str = "s", **fields: str) -> Egress:
    return Egress(name=name, source_address=SOURCE_IP, **fields)


async def _bulk(verifier: Verifier, addresses: list[str]) -> list[Result]:
    checker = verifier.bulk()
    return list(await asyncio.gather(*(checker.check(a) for a in addresses)))


# Routing ------------------------------------------------------------------------------------


async def test_unrouted_hosts_take_each_egress_in_turn(
    proxies: Proxies, servers: dict[str, MailboxServer]
) -> None:
    async with _verifier(_config(_dante(proxies), _direct())) as verifier:
        results = [await verifier.averify(a) for a in _users("example.test", 4)]

    assert [r.reason for r in results] == [Reason.SUCCESS] * 4
    assert servers["plain"].stats.peers == [DANTE_HOST, SOURCE_IP, DANTE_HOST, SOURCE_IP]
    assert [n for r in results for n in r.detail.notes if n.startswith("egress")] == [  # type: ignore[union-attr]
        "egress a",
        "egress s",
        "egress a",
        "egress s",
    ]


@pytest.mark.parametrize("mode", ["one_by_one", "bulk"])
async def test_routes_send_a_provider_and_an_mx_pattern_to_their_egress(
    mode: str, proxies: Proxies, servers: dict[str, MailboxServer]
) -> None:
    config = _config(
        _dante(proxies),
        _direct(),
        routes=(parse_route("google=a"), parse_route("*.protection.outlook.com=s")),
    )
    addresses = _users("gmailish.test", 5) + _users("contoso.test", 5)
    async with _verifier(config) as verifier:
        if mode == "bulk":
            results = await _bulk(verifier, addresses)
        else:
            results = [await verifier.averify(a) for a in addresses]

    assert {r.reason for r in results} == {Reason.SUCCESS}
    assert servers["google"].stats.peers and set(servers["google"].stats.peers) == {DANTE_HOST}
    assert servers["outlook"].stats.peers and set(servers["outlook"].stats.peers) == {SOURCE_IP}


async def test_each_egress_says_its_own_helo_name_and_mail_from(
    proxies: Proxies, servers: dict[str, MailboxServer]
) -> None:
    config = _config(
        _dante(proxies, helo_name="a.verifier.test", mail_from="check@a.verifier.test"),
        _direct(helo_name="s.verifier.test"),
    )
    async with _verifier(config) as verifier:
        for address in _users("example.test", 2):
            await verifier.averify(address)

    commands = servers["plain"].stats.commands
    assert "EHLO a.verifier.test" in commands and "EHLO s.verifier.test" in commands
    assert "MAIL FROM:<check@a.verifier.test>" in commands
    assert "MAIL FROM:<verify@probe.example.test>" in commands  # s keeps Config.mail_from
    assert "EHLO probe.example.test" not in commands


# Politeness per egress --------------------------------------------------------------------


async def test_bulk_keeps_the_session_cap_per_egress_toward_a_host(
    proxies: Proxies, servers: dict[str, MailboxServer]
) -> None:
    config = _config(
        _dante(proxies),
        _direct(),
        politeness=Politeness(sessions_per_host=1, rcpts_per_transaction=5),
    )
    async with _verifier(config) as verifier:
        results = await _bulk(verifier, _users("example.test", 60))
        by_egress = verifier.gates.peak_per_egress()

    assert {r.reason for r in results} == {Reason.SUCCESS}
    stats = servers["plain"].stats
    assert set(stats.peers) == {DANTE_HOST, SOURCE_IP}  # both egresses carried work
    assert max(stats.peak_by_peer.values()) == 1  # never two sessions from one client
    assert stats.peak <= 2
    assert set(by_egress.values()) == {1} and {e for e, _ in by_egress} == {"a", "s"}


# Greylisting affinity ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["one_by_one", "bulk"])
async def test_greylisting_retry_leaves_by_the_same_egress(
    mode: str, proxies: Proxies, servers: dict[str, MailboxServer]
) -> None:
    servers["plain"].greylist = True  # keyed on (client IP, sender, recipient)
    addresses = _users("example.test", 6)
    config = _config(_dante(proxies), _direct(), greylist_delay_s=300.0)
    async with _verifier(config) as verifier:
        if mode == "bulk":
            results = await _bulk(verifier, addresses)
        else:
            results = [await verifier.averify(a) for a in addresses]

    for result in results:
        assert result.reason is Reason.SUCCESS, result.detail
        assert result.detail is not None and result.detail.greylisted
        assert result.detail.greylist_resolved is True
    assert set(servers["plain"].stats.peers) == {DANTE_HOST, SOURCE_IP}


# Proxy faults are unknown, never undeliverable ---------------------------------------------


def _assert_unknown_naming(result: Result, *words: str) -> None:
    assert result.state is State.UNKNOWN
    assert result.reason is Reason.TRANSIENT_NETWORK_FAULT
    notes = " ".join(result.detail.notes if result.detail else ())
    for word in words:
        assert word in notes, notes


@pytest.mark.parametrize("mode", ["one_by_one", "bulk"])
async def test_proxy_faults_are_unknown_with_evidence(
    mode: str, proxies: Proxies, servers: dict[str, MailboxServer]
) -> None:
    down_port = free_port(["127.0.0.36"])
    down = Egress(name="down", proxy=parse_proxy_url(f"socks5://127.0.0.36:{down_port}"))
    badpw = Egress(name="pw", proxy=parse_proxy_url(proxies.micro.url(MICRO_USER, "nope-0")))
    config = _config(
        down,
        badpw,
        routes=(parse_route("mx.example.test=down"), parse_route("*=pw")),
        transient_retries=0,
    )
    async with _verifier(config) as verifier:
        if mode == "bulk":
            first, second = await _bulk(verifier, ["user1@example.test", "user1@gmailish.test"])
        else:
            first = await verifier.averify("user1@example.test")
            second = await verifier.averify("user1@gmailish.test")

    _assert_unknown_naming(first, f"127.0.0.36:{down_port}", "egress down", "reach the proxy")
    _assert_unknown_naming(second, proxies.micro.host, "egress pw", "authenticate")
    assert "nope-0" not in str(second.to_dict())
    assert servers["plain"].stats.connections == 0
    assert servers["google"].stats.connections == 0


async def test_a_proxy_closing_mid_session_is_unknown(servers: dict[str, MailboxServer]) -> None:
    async with ScriptedSocks("127.0.0.37", "close_mid_session", close_at=b"RCPT") as proxy:
        egress = Egress(name="mid", proxy=parse_proxy_url(proxy.url()))
        async with _verifier(_config(egress, transient_retries=0)) as verifier:
            result = await verifier.averify("user1@example.test")
    _assert_unknown_naming(result, f"through socks5://127.0.0.37:{proxy.port} (egress mid)")
    assert servers["plain"].stats.count("RCPT") == 0


async def test_the_simple_proxy_egress_from_a_spec(
    proxies: Proxies, servers: dict[str, MailboxServer]
) -> None:
    egress = parse_egress(f"p,proxy={proxies.dante.url(scheme='socks4')}")
    async with _verifier(_config(egress)) as verifier:
        result = await verifier.averify("user1@example.test")
    assert result.reason is Reason.SUCCESS
    assert servers["plain"].stats.peers == [DANTE_HOST]


async def test_after_a_proxy_fault_the_retry_may_take_another_egress(
    servers: dict[str, MailboxServer],
) -> None:
    down_port = free_port(["127.0.0.36"])
    down = Egress(name="down", proxy=parse_proxy_url(f"socks5://127.0.0.36:{down_port}"))
    async with _verifier(_config(down, _direct(), transient_retries=1)) as verifier:
        result = await verifier.averify("user1@example.test")
    assert result.reason is Reason.SUCCESS
    assert servers["plain"].stats.peers == [SOURCE_IP]
    notes = " ".join(result.detail.notes if result.detail else ())
    assert "egress down" in notes and "reach the proxy" in notes and "egress s" in notes


@pytest.mark.parametrize("greylist", [False, True], ids=["plain", "greylisting"])
async def test_bulk_after_a_proxy_fault_takes_another_egress_of_the_route(
    greylist: bool, proxies: Proxies, servers: dict[str, MailboxServer]
) -> None:
    # The plain host's route allows the dead proxy and the source-bound egress, not Dante:
    # what was queued for the dead one goes through s, and so does what comes after.
    servers["plain"].greylist = greylist
    down_port = free_port(["127.0.0.36"])
    down = Egress(name="down", proxy=parse_proxy_url(f"socks5://127.0.0.36:{down_port}"))
    config = _config(
        down,
        _dante(proxies),
        _direct(),
        routes=(parse_route("mx.example.test=down,s"), parse_route("*=a")),
        transient_retries=1,
        greylist_delay_s=60.0,  # within the while the failed egress is passed over
    )
    addresses = _users("example.test", 30)
    async with _verifier(config) as verifier:
        checker = verifier.bulk()
        first = await asyncio.gather(*(checker.check(a) for a in addresses[:20]))
        later = await asyncio.gather(*(checker.check(a) for a in addresses[20:]))

    for result in (*first, *later):
        assert result.reason is Reason.SUCCESS, result.detail
        assert result.detail is not None and result.detail.greylisted is greylist
        if greylist:  # asked again through s, the client address the server saw first
            assert result.detail.greylist_resolved is True
    stats = servers["plain"].stats
    assert set(stats.peers) == {SOURCE_IP}  # never Dante (not on the route), never the dead one
    rcpts = [c.split(":", 1)[1].strip("<>") for c in stats.commands if c.startswith("RCPT TO:")]
    asked = sorted(r for r in rcpts if r in addresses)  # the catch-all probe apart
    assert asked == sorted(addresses * (2 if greylist else 1))  # once each (twice: greylisting)
    moved = [r for r in first if "egress down" in " ".join(r.detail.notes)]  # type: ignore[union-attr]
    assert moved, "the dead egress had its turn"
    for result in moved:
        notes = " ".join(result.detail.notes)  # type: ignore[union-attr]
        assert "egress s (after a proxy fault on egress down)" in notes
    for result in later:  # queued after the fault: straight to s
        assert "egress down" not in " ".join(result.detail.notes)  # type: ignore[union-attr]
