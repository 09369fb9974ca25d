"""The SMTP transport through egresses: real Dante and microsocks on loopback, a source-bound
direct egress, and scripted SOCKS servers for the faults; a loopback mail server records the
client address of every session, which proves which way each session left."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable

import pytest

from engine.config import Config, Timeouts, TlsPolicy
from engine.egress import ProxyStep, connector_for
from engine.errors import NoPublicMxAddress, ProxyFault, SmtpTransient
from engine.localworld.smtp import LoopbackServer, MailboxServer, self_signed_tls
from engine.routing import Egress, parse_egress, parse_proxy_url
from engine.smtp import AioSmtpTransport
from tests.egress.conftest import (
    DANTE_AUTH_HOST,
    DANTE_HOST,
    DANTE_PASSWORD,
    MICRO_PASSWORD,
    MICRO_USER,
    MICROSOCKS_HOST,
    Proxies,
)
from tests.egress.proxies import DANTE_USER, Dante, ScriptedSocks
from tests.loopback.ports import free_port

MX_IP = "127.0.0.40"
MX_NAME = "mx.example.test"
SOURCE_IP = "127.0.0.35"
USER = "alice@example.test"

Start = Callable[[LoopbackServer], Awaitable[LoopbackServer]]


def _config(port: int, **changes: object) -> Config:
    base = Config(
        allow_private_addresses=True,
        smtp_port=port,
        helo_name="probe.example.test",
        mail_from="verify@probe.example.test",
        starttls=TlsPolicy.NEVER,
        timeouts=Timeouts(connect_s=5.0, greeting_s=5.0, command_s=5.0, budget_s=30.0),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def _transport(config: Config, egress: Egress) -> AioSmtpTransport:
    return AioSmtpTransport(config, connector=connector_for(egress))


async def _mx(start: Start, port: int = 0, **kwargs: object) -> MailboxServer:
    server = MailboxServer(MX_IP, port or free_port([MX_IP]), users=(USER,), **kwargs)  # type: ignore[arg-type]
    await start(server)
    return server


async def _ask(transport: AioSmtpTransport, port: int) -> int:
    """One session: MAIL and RCPT for USER; returns the RCPT code."""
    async with transport.open(MX_NAME, MX_IP, port) as session:
        await session.mail("verify@probe.example.test")
        reply = await session.rcpt(USER)
    return reply.code


async def _fault(transport: AioSmtpTransport, port: int) -> ProxyFault:
    with pytest.raises(ProxyFault) as caught:
        await _ask(transport, port)
    return caught.value


# Through real proxies ---------------------------------------------------------------------


async def test_dante_carries_the_session_and_starttls_with_the_mx_name_as_sni(
    proxies: Proxies, smtp_start: Start
) -> None:
    tls = self_signed_tls(MX_NAME)
    names: list[str | None] = []
    tls.sni_callback = lambda _sock, name, _ctx: names.append(name)  # type: ignore[assignment]
    server = await _mx(smtp_start, tls=tls)
    config = _config(server.port, starttls=TlsPolicy.REQUIRED)
    egress = Egress(name="a", proxy=parse_proxy_url(proxies.dante.url()))

    assert await _ask(_transport(config, egress), server.port) == 250

    assert server.stats.peers == [DANTE_HOST]  # the mail server saw the proxy, not us
    assert names == [MX_NAME]  # TLS through the tunnel, SNI = the MX name
    assert server.stats.verbs()[:3] == ["EHLO", "STARTTLS", "EHLO"]


async def test_dante_speaks_socks4_too(proxies: Proxies, smtp_start: Start) -> None:
    server = await _mx(smtp_start)
    egress = Egress(name="a4", proxy=parse_proxy_url(proxies.dante.url(scheme="socks4")))
    assert await _ask(_transport(_config(server.port), egress), server.port) == 250
    assert server.stats.peers == [DANTE_HOST]


async def test_microsocks_with_user_and_password(proxies: Proxies, smtp_start: Start) -> None:
    server = await _mx(smtp_start)
    egress = Egress(name="m", proxy=parse_proxy_url(proxies.micro.url(MICRO_USER, MICRO_PASSWORD)))
    assert await _ask(_transport(_config(server.port), egress), server.port) == 250
    assert server.stats.peers == [MICROSOCKS_HOST]


async def test_dante_with_username_auth(
    dante_auth: Dante, proxies: Proxies, smtp_start: Start
) -> None:
    server = await _mx(smtp_start)
    egress = Egress(name="u", proxy=parse_proxy_url(dante_auth.url(DANTE_USER, DANTE_PASSWORD)))
    assert await _ask(_transport(_config(server.port), egress), server.port) == 250
    assert server.stats.peers == [DANTE_AUTH_HOST]


async def test_source_address_egress_is_what_the_server_sees(smtp_start: Start) -> None:
    server = await _mx(smtp_start)
    egress = parse_egress(f"s,source={SOURCE_IP}")
    assert await _ask(_transport(_config(server.port), egress), server.port) == 250
    assert server.stats.peers == [SOURCE_IP]


# Proxy faults: each names the proxy and the step, and no password -------------------------


@pytest.mark.parametrize("which", ["dante", "micro"])
async def test_wrong_password_is_an_authentication_fault(
    which: str, proxies: Proxies, dante_auth: Dante, smtp_start: Start
) -> None:
    server = await _mx(smtp_start)
    proxy = dante_auth if which == "dante" else proxies.micro
    user = DANTE_USER if which == "dante" else MICRO_USER
    egress = Egress(name="w", proxy=parse_proxy_url(proxy.url(user, "wrong-Pw-0")))

    fault = await _fault(_transport(_config(server.port), egress), server.port)

    assert fault.step == ProxyStep.AUTHENTICATE.value
    assert f"{proxy.host}:{proxy.port}" in str(fault) and "egress w" in str(fault)
    assert "wrong-Pw-0" not in str(fault)
    assert server.stats.connections == 0


async def test_missing_credentials_say_the_proxy_wants_them(
    proxies: Proxies, smtp_start: Start
) -> None:
    server = await _mx(smtp_start)
    egress = Egress(name="n", proxy=parse_proxy_url(proxies.micro.url()))
    fault = await _fault(_transport(_config(server.port), egress), server.port)
    assert fault.step == ProxyStep.AUTHENTICATE.value
    assert "put them in the proxy URL" in str(fault)


async def test_proxy_that_forbids_the_port_is_a_connect_fault(proxies: Proxies) -> None:
    config = _config(proxies.forbidden_port)
    egress = Egress(name="a", proxy=parse_proxy_url(proxies.dante.url()))
    fault = await _fault(_transport(config, egress), proxies.forbidden_port)
    assert fault.step == ProxyStep.CONNECT.value
    assert "not allowed by the proxy's rules" in str(fault)
    assert f"{MX_IP}:{proxies.forbidden_port}" in str(fault)


async def test_proxy_that_cannot_reach_the_mail_host_is_a_connect_fault(proxies: Proxies) -> None:
    port = free_port([MX_IP])  # nothing listens there
    egress = Egress(name="a", proxy=parse_proxy_url(proxies.dante.url()))
    fault = await _fault(_transport(_config(port), egress), port)
    assert fault.step == ProxyStep.CONNECT.value
    assert "refused" in str(fault)


async def test_proxy_that_is_not_running_is_a_reach_fault() -> None:
    proxy_port = free_port(["127.0.0.36"])
    egress = Egress(name="down", proxy=parse_proxy_url(f"socks5://127.0.0.36:{proxy_port}"))
    fault = await _fault(_transport(_config(2525), egress), 2525)
    assert fault.step == ProxyStep.REACH.value
    assert f"127.0.0.36:{proxy_port}" in str(fault)


async def test_silent_proxy_is_a_handshake_fault_within_the_connect_timeout() -> None:
    async with ScriptedSocks("127.0.0.37", "silent") as proxy:
        egress = Egress(name="q", proxy=parse_proxy_url(proxy.url()))
        config = _config(2525, timeouts=Timeouts(connect_s=0.2))
        fault = await _fault(_transport(config, egress), 2525)
    assert fault.step == ProxyStep.HANDSHAKE.value
    assert "no answer within 0.2 s" in str(fault)


async def test_proxy_that_hangs_up_on_connect_got_only_the_vetted_ip() -> None:
    async with ScriptedSocks("127.0.0.37", "close_on_connect") as proxy:
        egress = Egress(name="h", proxy=parse_proxy_url(proxy.url()))
        fault = await _fault(_transport(_config(2525), egress), 2525)
    assert fault.step == ProxyStep.HANDSHAKE.value
    assert proxy.requests == [(1, MX_IP, 2525)]  # an IPv4 literal (ATYP 1), never a name


async def test_proxy_closing_mid_session_is_transient_and_names_the_proxy(
    smtp_start: Start,
) -> None:
    server = await _mx(smtp_start)
    async with ScriptedSocks("127.0.0.37", "close_mid_session", close_at=b"RCPT") as proxy:
        egress = Egress(name="mid", proxy=parse_proxy_url(proxy.url()))
        with pytest.raises(SmtpTransient) as caught:
            await _ask(_transport(_config(server.port), egress), server.port)
    assert not isinstance(caught.value, ProxyFault)  # the session was up: a session fault
    assert f"through socks5://127.0.0.37:{proxy.port} (egress mid)" in str(caught.value)
    assert server.stats.count("MAIL") == 1 and server.stats.count("RCPT") == 0


# The SSRF guard decides before any proxy is used ------------------------------------------


@pytest.mark.parametrize("ip", [MX_IP, "mx.example.test"])
async def test_ssrf_guard_refuses_before_the_proxy_is_asked(ip: str) -> None:
    async with ScriptedSocks("127.0.0.37", "close_on_connect") as proxy:
        egress = Egress(name="g", proxy=parse_proxy_url(proxy.url()))
        transport = _transport(_config(2525, allow_private_addresses=False), egress)
        with pytest.raises(NoPublicMxAddress):
            async with transport.open(MX_NAME, ip, 2525):
                pass
    assert proxy.requests == []
