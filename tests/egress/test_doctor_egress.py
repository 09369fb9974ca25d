"""`mailprobe doctor` with egresses: the self-test ladder through real Dante and microsocks on
loopback, one check per egress, each failure naming its step and its fix."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import AsyncIterator

import pytest

from engine.config import Config, Timeouts
from engine.doctor import Check, add_parser, exit_code, format_checks, run_checks
from engine.egress import ProxyStep
from engine.egressopts import egress_changes
from engine.localworld.smtp import GreetingRefusedServer, MailboxServer
from engine.routing import Egress, parse_egress, parse_proxy_url
from engine.selftest import FIXES
from engine.testing import FakeResolver
from tests.egress.conftest import MICRO_PASSWORD, MICRO_USER, Proxies
from tests.egress.proxies import ScriptedSocks
from tests.loopback.ports import free_port

PROBE = "probe.test"
MX_IP = "127.0.0.41"
HELO = "mx.probe.test"
SECRET = "wrong-Pw-0"


def _resolver() -> FakeResolver:
    return FakeResolver(
        {
            PROBE: {"MX": [(10, "mx1.probe.test")], "A": [MX_IP]},
            "mx1.probe.test": {"A": [MX_IP]},
            HELO: {"A": [MX_IP]},
        }
    )


def _config(port: int, *egresses: Egress) -> Config:
    return Config(
        allow_private_addresses=True,
        smtp_port=port,
        helo_name=HELO,
        mail_from=f"verify@{PROBE}",
        timeouts=Timeouts(dns_s=2.0, connect_s=2.0, greeting_s=2.0, command_s=2.0),
        egresses=egresses,
    )


@pytest.fixture
async def mx() -> AsyncIterator[MailboxServer]:
    async with MailboxServer(MX_IP, free_port([MX_IP]), users=(f"a@{PROBE}",)) as server:
        yield server
    assert server.stats.count("MAIL") == 0 and server.stats.count("RCPT") == 0


def _by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


async def test_each_egress_gets_its_own_check_and_the_direct_port_check_goes(
    proxies: Proxies, mx: MailboxServer
) -> None:
    good = Egress(name="a", proxy=parse_proxy_url(proxies.dante.url()))
    micro = Egress(name="m", proxy=parse_proxy_url(proxies.micro.url(MICRO_USER, MICRO_PASSWORD)))
    checks = _by_name(
        await run_checks(_config(mx.port, good, micro), probe_domain=PROBE, resolver=_resolver())
    )

    assert f"outbound port {mx.port}" not in checks
    for name in ("egress a", "egress m"):
        assert checks[name].status == "ok", checks[name]
        assert "reached the proxy" in checks[name].message
        assert "greeted and took EHLO" in checks[name].message
    assert sorted(mx.stats.peers) == sorted([proxies.dante.host, proxies.micro.host])
    assert mx.stats.count("QUIT") == 2


async def test_wrong_password_is_reported_at_the_authenticate_step(
    proxies: Proxies, mx: MailboxServer
) -> None:
    bad = Egress(name="m", proxy=parse_proxy_url(proxies.micro.url(MICRO_USER, SECRET)))
    checks = await run_checks(_config(mx.port, bad), probe_domain=PROBE, resolver=_resolver())
    check = _by_name(checks)["egress m"]

    assert check.status == "fail"
    assert "reached the proxy" in check.message
    assert "; then could not authenticate: " in check.message
    assert check.fix == FIXES[ProxyStep.AUTHENTICATE]
    assert SECRET not in format_checks(checks)
    assert exit_code(checks) == 1


async def test_forbidden_port_is_reported_at_the_connect_step(proxies: Proxies) -> None:
    egress = Egress(name="a", proxy=parse_proxy_url(proxies.dante.url()))
    config = _config(proxies.forbidden_port, egress)
    check = _by_name(await run_checks(config, probe_domain=PROBE, resolver=_resolver()))["egress a"]
    assert check.status == "fail"
    assert "could not connect to the mail host" in check.message
    assert "SOCKS handshake done (no authentication)" in check.message
    assert check.fix == FIXES[ProxyStep.CONNECT]


async def test_proxy_not_running_is_reported_at_the_reach_step(mx: MailboxServer) -> None:
    port = free_port(["127.0.0.36"])
    egress = Egress(name="down", proxy=parse_proxy_url(f"socks5://127.0.0.36:{port}"))
    checks = await run_checks(_config(mx.port, egress), probe_domain=PROBE, resolver=_resolver())
    check = _by_name(checks)["egress down"]
    assert check.status == "fail" and "could not reach the proxy" in check.message
    assert check.fix == FIXES[ProxyStep.REACH]
    assert mx.stats.connections == 0


async def test_proxy_that_hangs_up_is_reported_at_the_handshake_step(mx: MailboxServer) -> None:
    async with ScriptedSocks("127.0.0.37", "close_on_connect") as proxy:
        egress = Egress(name="h", proxy=parse_proxy_url(proxy.url()))
        checks = await run_checks(
            _config(mx.port, egress), probe_domain=PROBE, resolver=_resolver()
        )
    check = _by_name(checks)["egress h"]
    assert check.status == "fail" and "could not handshake" in check.message
    assert check.fix == FIXES[ProxyStep.HANDSHAKE]
    assert proxy.requests == [(1, MX_IP, mx.port)]  # the vetted IP, not the name


async def test_a_refused_banner_through_the_proxy_is_reported_as_such(proxies: Proxies) -> None:
    reply = "554 5.7.1 Client host [127.0.0.31] blocked using zen.spamhaus.org"
    async with GreetingRefusedServer(MX_IP, free_port([MX_IP]), reply=reply) as server:
        egress = Egress(name="a", proxy=parse_proxy_url(proxies.dante.url()))
        checks = await run_checks(
            _config(server.port, egress), probe_domain=PROBE, resolver=_resolver()
        )
    check = _by_name(checks)["egress a"]
    assert check.status == "fail"
    assert "could not read the banner" in check.message and "spamhaus" in check.message
    assert "SOCKS handshake done (no authentication), connected to mx1.probe.test" in check.message


async def test_source_address_egress_self_test(mx: MailboxServer) -> None:
    egress = parse_egress("s,source=127.0.0.35")
    check = _by_name(
        await run_checks(_config(mx.port, egress), probe_domain=PROBE, resolver=_resolver())
    )["egress s"]
    assert check.status == "ok", check
    assert mx.stats.peers == ["127.0.0.35"]


# Options -----------------------------------------------------------------------------------


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["doctor", *argv])


def test_proxy_flag_makes_one_egress_and_env_fills_in() -> None:
    changes = egress_changes(_args("--proxy", "socks5://u:p@127.0.0.31:1080"), {})
    (egress,) = changes["egresses"]  # type: ignore[misc]
    assert egress.name == "proxy" and str(egress.proxy) == "socks5://u:***@127.0.0.31:1080"

    env = {
        "MAILPROBE_EGRESSES": "a,proxy=socks5://127.0.0.31:1080\nb,source=127.0.0.35\n",
        "MAILPROBE_ROUTES": "google=a\n*=a,b",
    }
    changes = egress_changes(_args(), env)
    config = dataclasses.replace(Config(), **changes)  # type: ignore[arg-type]
    assert [e.name for e in config.egresses] == ["a", "b"]
    assert [str(r) for r in config.routes] == ["google=a", "*=a,b"]
    # Flags win over the environment.
    assert egress_changes(_args("--egress", "c"), env)["egresses"] == (Egress(name="c"),)


def test_bad_egress_options_are_usage_errors() -> None:
    with pytest.raises(ValueError, match="alone"):
        egress_changes(_args("--proxy", "socks5://h:1", "--egress", "a"), {})
    with pytest.raises(ValueError, match="needs egresses"):
        egress_changes(_args("--route", "google=a"), {})
    with pytest.raises(ValueError, match="not supported"):
        egress_changes(_args("--proxy", "http://h:3128"), {})
