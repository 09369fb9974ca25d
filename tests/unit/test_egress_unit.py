"""engine.egress without a network: python-socks is imported only once a proxy is used, a
missing one is a named fault (and a usage error in the CLI), and bad proxy options never print
the password."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from engine import cli
from engine.config import Config
from engine.egress import EgressPool, ProxyStep, SocksConnector, egress_config
from engine.errors import ProxyFault
from engine.routing import Egress, parse_egress, parse_route

SECRET = "pw-Secret-1"


def test_import_and_a_verifier_with_a_direct_egress_do_not_import_python_socks() -> None:
    code = (
        "import sys, asyncio\n"
        "import engine\n"
        "from engine.config import Config\n"
        "from engine.routing import parse_egress\n"
        "from engine.verifier import Verifier\n"
        "v = Verifier(Config(egresses=(parse_egress('s,source=127.0.0.35'),)))\n"
        "v.deps; v.bulk()\n"
        "assert 'python_socks' not in sys.modules, 'python_socks imported'\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


async def test_missing_python_socks_is_a_setup_fault(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "python_socks", None)  # import raises ImportError
    connector = SocksConnector(parse_egress(f"a,proxy=socks5://u:{SECRET}@127.0.0.31:1080"))
    with pytest.raises(ProxyFault) as caught:
        await connector.connect("127.0.0.40", 25, socket.AF_INET, 1.0)
    assert caught.value.step == ProxyStep.SETUP.value
    assert "mailprobe[socks]" in str(caught.value) and SECRET not in str(caught.value)


async def test_socks4_cannot_carry_ipv6() -> None:
    connector = SocksConnector(parse_egress("a,proxy=socks4://127.0.0.31:1080"))
    with pytest.raises(ProxyFault, match="IPv6"):
        await connector.connect("2001:db8::25", 25, socket.AF_INET6, 1.0)


def test_egress_identity_overrides_the_config_one() -> None:
    base = Config(helo_name="main.example.com", mail_from="v@main.example.com")
    own = egress_config(base, Egress(name="a", helo_name="a.example.com"))
    assert (own.helo_name, own.mail_from) == ("a.example.com", "v@main.example.com")
    null = egress_config(base, Egress(name="b", mail_from=""))
    assert (null.helo_name, null.mail_from) == ("main.example.com", "")


async def test_pool_routes_and_gives_each_egress_its_sender() -> None:
    config = Config(
        helo_name="main.example.com",
        egresses=(parse_egress("a,helo=a.example.com"), parse_egress("b")),
        routes=(parse_route("google=b"),),
    )
    pool = EgressPool.build(
        config, provider=lambda host: "google" if host.endswith("google.com") else None
    )
    assert pool.pick("aspmx.l.google.com") == "b"
    assert [pool.pick("mx.example.net") for _ in range(3)] == ["a", "b", "a"]
    assert await pool.sender("a") == "verify@a.example.com"
    assert await pool.sender("b") == "verify@main.example.com"


def test_cli_refuses_a_proxy_without_python_socks(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("engine.egress.socks_available", lambda: False)
    code = cli.main(
        ["verify", "--no-cache", "--proxy", f"socks5://u:{SECRET}@127.0.0.31:1", "a@b.test"]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "mailprobe[socks]" in err and SECRET not in err


def test_cli_bad_proxy_url_is_a_usage_error_without_the_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MAILPROBE_PROXY", f"http://u:{SECRET}@127.0.0.31:3128")
    code = cli.main(["verify", "--no-cache", "a@b.test"])
    err = capsys.readouterr().err
    assert code == 2
    assert "not supported" in err and SECRET not in err
