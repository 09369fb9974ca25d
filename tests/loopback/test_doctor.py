"""`mailprobe doctor` against a loopback world: a DNS server and SMTP servers on 127.0.0.12x.

Every server is started by the test or fixture that stops it; timeouts come from a tarpit, a
silent UDP socket and tiny limits, never from sleeping.
"""

from __future__ import annotations

import argparse
import dataclasses
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from pathlib import Path

import pytest

from engine.config import Config, Timeouts
from engine.doctor import Check, add_parser, exit_code, format_checks, run, run_checks
from engine.errors import SmtpTransient
from engine.localworld import Fault, Zone
from engine.localworld.dns import LocalDnsServer
from engine.localworld.smtp import MailboxServer, TarpitServer
from engine.model import Stage
from engine.smtp import SmtpSession

DNS_IP = "127.0.0.120"
MX_IP = "127.0.0.121"  # the working mail server
DEAD_IP = "127.0.0.122"  # a bound socket that does not listen: connections are refused
TARPIT_IPS = ("127.0.0.123", "127.0.0.124", "127.0.0.125")
SILENT_DNS_IP = "127.0.0.126"  # a UDP socket that reads nothing and answers nothing

PROBE = "probe.test"
HELO = "mx.probe.test"
SENDER = "verify@probe.test"
FAST = Timeouts(dns_s=2.0, connect_s=2.0, greeting_s=2.0, command_s=2.0)


def _zone(*mx_ips: str, extra: Zone | None = None) -> Zone:
    """probe.test MX 10, 20, ... mx1.probe.test, mx2.probe.test, ... at the given addresses."""
    zone: dict[str, dict[str, object]] = {
        PROBE: {"MX": [(10 * (i + 1), f"mx{i + 1}.{PROBE}") for i in range(len(mx_ips))]},
        HELO: {"A": [MX_IP]},
    }
    for i, ip in enumerate(mx_ips):
        zone[f"mx{i + 1}.{PROBE}"] = {"A": [ip]}
    zone.update({name: dict(spec) for name, spec in (extra or {}).items()})
    return zone


def _config(dns: LocalDnsServer, smtp_port: int, **changes: object) -> Config:
    base = Config(
        allow_private_addresses=True,
        nameservers=(dns.host,),
        dns_port=dns.port,
        dns_attempts=1,
        smtp_port=smtp_port,
        helo_name=HELO,
        mail_from=SENDER,
        timeouts=FAST,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def _by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name.split(" port ")[0]: check for check in checks}


@pytest.fixture
async def dns() -> AsyncIterator[LocalDnsServer]:
    async with LocalDnsServer({}, host=DNS_IP) as server:
        yield server


@pytest.fixture
async def mx() -> AsyncIterator[MailboxServer]:
    async with MailboxServer(MX_IP, hostname=f"mx1.{PROBE}") as server:
        yield server
    assert not {"MAIL", "RCPT", "DATA"} & set(server.stats.verbs())


@contextmanager
def _refusing(ip: str, port: int) -> Iterator[None]:
    """Hold ip:port without listening, so every connection to it is refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((ip, port))
        yield
    finally:
        sock.close()


@asynccontextmanager
async def _tarpits(*ips: str) -> AsyncIterator[list[TarpitServer]]:
    """Tarpits on the given addresses, all on one port (the one SMTP port of a Config)."""
    started: list[TarpitServer] = []
    try:
        port = 0
        for ip in ips:
            tarpit = TarpitServer(ip, port)
            await tarpit.start()
            started.append(tarpit)
            port = tarpit.port
        yield started
    finally:
        for tarpit in started:
            await tarpit.stop()


# -- everything works ----------------------------------------------------------------------------


async def test_working_world_passes_every_check_with_one_polite_connection(
    dns: LocalDnsServer, mx: MailboxServer
) -> None:
    dns.set_zone(_zone(MX_IP))
    checks = await run_checks(_config(dns, mx.port), probe_domain=PROBE)

    assert [c.status for c in checks] == ["ok"] * 4, format_checks(checks)
    found = _by_name(checks)
    assert found["resolver"].message.startswith(f"{DNS_IP} port {dns.port} answers")
    assert f"{PROBE} MX 10 mx1.{PROBE}" in found["resolver"].message
    assert found["outbound"].name == f"outbound port {mx.port}"
    assert f"port {mx.port} reachable (greeting from mx1.{PROBE} [{MX_IP}])" in (
        found["outbound"].message
    )
    assert MX_IP in found["HELO name"].message
    assert f"{PROBE} has MX mx1.{PROBE}" in found["MAIL FROM domain"].message
    assert mx.stats.connections == 1
    assert mx.stats.verbs() == ["EHLO", "QUIT"]
    assert exit_code(checks) == 0
    assert format_checks(checks).splitlines()[-1].startswith("summary: all 4 checks OK")


# -- port 25 ---------------------------------------------------------------------------------------


async def test_refused_connections_say_port_looks_blocked_and_give_the_fix(
    dns: LocalDnsServer, mx: MailboxServer
) -> None:
    dns.set_zone(_zone(DEAD_IP))
    with _refusing(DEAD_IP, mx.port):
        checks = await run_checks(_config(dns, mx.port), probe_domain=PROBE)

    port = _by_name(checks)["outbound"]
    assert port.status == "fail"
    assert port.message == (
        f"port {mx.port} looks blocked: connection to mx1.{PROBE} [{DEAD_IP}] was refused"
    )
    text = format_checks(checks)
    assert f"FAIL outbound port {mx.port}: port {mx.port} looks blocked" in text
    assert "ask your provider to open it or run mailprobe on a host that can" in text
    assert text.splitlines()[-1] == (
        f"summary: 1 of 4 checks need fixing: outbound port {mx.port} (FAIL)"
    )
    assert exit_code(checks) == 1


async def test_tarpit_that_never_greets_is_reported_as_a_timeout(dns: LocalDnsServer) -> None:
    async with _tarpits(TARPIT_IPS[0]) as (tarpit,):
        dns.set_zone(_zone(tarpit.host))
        config = _config(dns, tarpit.port, timeouts=dataclasses.replace(FAST, greeting_s=0.05))
        checks = await run_checks(config, probe_domain=PROBE)

    port = _by_name(checks)["outbound"]
    assert port.status == "fail"
    assert port.message == (
        f"port {tarpit.port} looks blocked: mx1.{PROBE} [{tarpit.host}] accepted the "
        "connection but sent no greeting within 0.05 s"
    )
    assert port.fix is not None and "ask your provider to open it" in port.fix
    assert tarpit.stats.connections == 1


async def test_at_most_two_mx_hosts_are_tried_once_each(dns: LocalDnsServer) -> None:
    async with _tarpits(*TARPIT_IPS) as tarpits:
        dns.set_zone(_zone(*TARPIT_IPS))
        config = _config(dns, tarpits[0].port, timeouts=dataclasses.replace(FAST, greeting_s=0.05))
        checks = await run_checks(config, probe_domain=PROBE)

    assert [t.stats.connections for t in tarpits] == [1, 1, 0]
    message = _by_name(checks)["outbound"].message
    assert f"mx1.{PROBE} [{TARPIT_IPS[0]}]" in message
    assert f"mx2.{PROBE} [{TARPIT_IPS[1]}]" in message


async def test_second_mx_host_is_tried_when_the_first_refuses(
    dns: LocalDnsServer, mx: MailboxServer
) -> None:
    dns.set_zone(_zone(DEAD_IP, MX_IP))
    with _refusing(DEAD_IP, mx.port):
        checks = await run_checks(_config(dns, mx.port), probe_domain=PROBE)

    port = _by_name(checks)["outbound"]
    assert port.status == "ok"
    assert port.message == (
        f"port {mx.port} reachable (greeting from mx2.{PROBE} [{MX_IP}]; "
        f"connection to mx1.{PROBE} [{DEAD_IP}] was refused)"
    )
    assert mx.stats.connections == 1


class _FailingTransport:
    """A transport whose connect fails with a given OS error, as AioSmtpTransport reports it."""

    def __init__(self, cause: Exception) -> None:
        self.cause = cause
        self.opened: list[str] = []

    def open(self, host: str, ip: str, port: int) -> AbstractAsyncContextManager[SmtpSession]:
        self.opened.append(ip)
        return self._open(ip, port)

    @asynccontextmanager
    async def _open(self, ip: str, port: int) -> AsyncIterator[SmtpSession]:
        try:
            raise self.cause
        except OSError as exc:
            raise SmtpTransient(f"connect {ip}:{port}: {exc!r}", stage=Stage.CONNECT) from exc
        yield  # pragma: no cover


@pytest.mark.parametrize(
    ("cause", "said"),
    [
        (TimeoutError(), "timed out after 2 s"),
        (ConnectionRefusedError(111, "refused"), "was refused"),
        (ConnectionResetError(104, "reset"), "was reset"),
    ],
    ids=["timeout", "refused", "reset"],
)
async def test_connect_timeout_refusal_and_reset_get_their_own_messages(
    dns: LocalDnsServer, cause: Exception, said: str
) -> None:
    dns.set_zone(_zone(DEAD_IP))
    transport = _FailingTransport(cause)
    checks = await run_checks(_config(dns, 25), probe_domain=PROBE, transport=transport)

    port = _by_name(checks)["outbound"]
    assert port.status == "fail"
    assert port.message == f"port 25 looks blocked: connection to mx1.{PROBE} [{DEAD_IP}] {said}"
    assert port.fix is not None and port.fix.endswith(
        "many cloud providers block outbound port 25; "
        "ask your provider to open it or run mailprobe on a host that can"
    )
    assert transport.opened == [DEAD_IP]


# -- the resolver --------------------------------------------------------------------------------


async def test_dead_resolver_fails_with_the_resolver_message_and_skips_dns_checks() -> None:
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        silent.bind((SILENT_DNS_IP, 0))
        config = Config(
            allow_private_addresses=True,
            nameservers=(SILENT_DNS_IP,),
            dns_port=silent.getsockname()[1],
            dns_attempts=1,
            helo_name=HELO,
            timeouts=dataclasses.replace(FAST, dns_s=0.05),
        )
        checks = await run_checks(config, probe_domain=PROBE)
    finally:
        silent.close()

    resolver, port, helo, sender = checks
    assert resolver.status == "fail"
    assert resolver.message.startswith(f"no answer from {SILENT_DNS_IP} port ")
    assert resolver.fix is not None and "--nameserver" in resolver.fix
    for check in (port, helo, sender):
        assert (check.status, check.message.split(" (")[0]) == (
            "warn",
            "not checked: the resolver does not answer",
        )
    text = format_checks(checks)
    assert "FAIL resolver: no answer from 127.0.0.126" in text
    assert "point mailprobe at a working recursive resolver with --nameserver IP" in text
    assert exit_code(checks) == 1


async def test_servfail_is_told_apart_from_no_answer(
    dns: LocalDnsServer, mx: MailboxServer
) -> None:
    dns.set_zone(_zone(MX_IP, extra={PROBE: {"fault": Fault.SERVFAIL}}))
    checks = await run_checks(_config(dns, mx.port), probe_domain=PROBE)

    found = _by_name(checks)
    assert found["resolver"].status == "fail"
    assert found["resolver"].message.startswith(
        f"{DNS_IP} port {dns.port} answered SERVFAIL to {PROBE} MX"
    )
    # The resolver answers, so the checks that need it still run.
    assert found["HELO name"].status == "ok"
    assert found["outbound"].status == "warn"
    assert found["outbound"].message.startswith("not checked: could not resolve the mail hosts")


async def test_nxdomain_for_the_probe_domain_is_a_warning_about_that_domain(
    dns: LocalDnsServer, mx: MailboxServer
) -> None:
    dns.set_zone(_zone(MX_IP))
    checks = await run_checks(_config(dns, mx.port), probe_domain="nowhere.test")

    resolver = _by_name(checks)["resolver"]
    assert resolver.status == "warn"
    assert "says nowhere.test does not exist (NXDOMAIN)" in resolver.message
    assert mx.stats.connections == 0


# -- HELO name and MAIL FROM ----------------------------------------------------------------------


async def test_helo_localhost_warns_with_the_fix(dns: LocalDnsServer, mx: MailboxServer) -> None:
    dns.set_zone(_zone(MX_IP))
    checks = await run_checks(_config(dns, mx.port, helo_name="localhost"), probe_domain=PROBE)

    helo = _by_name(checks)["HELO name"]
    assert (helo.status, helo.message) == ("warn", "'localhost' is localhost")
    text = format_checks(checks)
    assert (
        "WARN HELO name: 'localhost' is localhost; fix: servers judge the HELO name: "
        "set --helo to a name that resolves to this machine's public IP, with a matching PTR"
    ) in text
    assert text.splitlines()[-1] == "summary: 1 of 4 checks need fixing: HELO name (WARN)"
    assert exit_code(checks) == 1


async def test_default_helo_is_this_machines_fqdn(dns: LocalDnsServer, mx: MailboxServer) -> None:
    dns.set_zone(_zone(MX_IP))
    config = _config(dns, mx.port, helo_name=None, mail_from=None)
    checks = await run_checks(config, probe_domain=PROBE, fqdn=lambda: "buildbox")

    found = _by_name(checks)
    assert found["HELO name"].message == (
        "'buildbox' (this machine's FQDN) has no dot (not a fully qualified name)"
    )
    assert found["MAIL FROM domain"].message == (
        "verify@buildbox: 'buildbox' is not a public domain name"
    )
    assert mx.stats.commands[0] == "EHLO buildbox"


@pytest.mark.parametrize(
    ("helo", "said"),
    [
        ("nohost.probe.test", "does not resolve (NXDOMAIN)"),
        ("192.0.2.1", "is an IP address, not a name"),
        ("box.local", "ends in a private suffix"),
    ],
)
async def test_helo_name_that_is_not_a_resolvable_name_warns(
    dns: LocalDnsServer, mx: MailboxServer, helo: str, said: str
) -> None:
    dns.set_zone(_zone(MX_IP))
    checks = await run_checks(_config(dns, mx.port, helo_name=helo), probe_domain=PROBE)

    check = _by_name(checks)["HELO name"]
    assert check.status == "warn"
    assert check.message.startswith((helo, repr(helo)))
    assert said in check.message


async def test_private_addresses_warn_and_stop_the_port_check_without_allow_private(
    dns: LocalDnsServer, mx: MailboxServer
) -> None:
    dns.set_zone(_zone(MX_IP))
    config = _config(dns, mx.port, allow_private_addresses=False)
    checks = await run_checks(config, probe_domain=PROBE)

    found = _by_name(checks)
    assert found["HELO name"].status == "warn"
    assert f"resolves only to addresses that are not public: {MX_IP}" in found["HELO name"].message
    assert found["outbound"].status == "warn"
    assert "the SSRF guard refuses every mail host of probe.test" in found["outbound"].message
    assert mx.stats.connections == 0


async def test_mail_from_domain_without_mx_or_address_warns(
    dns: LocalDnsServer, mx: MailboxServer
) -> None:
    dns.set_zone(_zone(MX_IP, extra={"bare.probe.test": {"TXT": ["v=spf1 -all"]}}))
    config = _config(dns, mx.port, mail_from="verify@bare.probe.test")
    checks = await run_checks(config, probe_domain=PROBE)

    sender = _by_name(checks)["MAIL FROM domain"]
    assert sender.status == "warn"
    assert sender.message == (
        "verify@bare.probe.test: bare.probe.test has no MX and no A/AAAA record"
    )
    assert sender.fix is not None and "--mail-from" in sender.fix


# -- the command ----------------------------------------------------------------------------------


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mailprobe")
    add_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


@pytest.mark.parametrize(("helo", "code"), [(HELO, 0), ("localhost", 1)])
def test_command_prints_one_line_per_check_and_exits_by_the_outcome(
    capsys: pytest.CaptureFixture[str], helo: str, code: int
) -> None:
    server = MailboxServer(MX_IP, hostname=f"mx1.{PROBE}")
    with LocalDnsServer(_zone(MX_IP), host=DNS_IP) as dns, server.running_in_thread():
        args = _parse(
            [
                *("doctor", "--probe-domain", PROBE, "--nameserver", DNS_IP),
                *("--dns-port", str(dns.port), "--smtp-port", str(server.port)),
                *("--helo", helo, "--mail-from", SENDER, "--allow-private"),
                *("--step-timeout", "2"),
            ]
        )
        assert run(args, {}) == code

    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" ", 1)[0] for line in lines] == (
        ["OK", "OK", "OK", "OK", "summary:"]
        if code == 0
        else ["OK", "OK", "WARN", "OK", "summary:"]
    )
    assert server.stats.connections == 1


def test_command_takes_its_settings_from_the_config_file_and_the_variables(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # As `verify` reads them: the file, then MAILPROBE_* variables over it, then flags.
    server = MailboxServer(MX_IP, hostname=f"mx1.{PROBE}")
    with LocalDnsServer(_zone(MX_IP), host=DNS_IP) as dns, server.running_in_thread():
        file = tmp_path / "mailprobe.toml"
        file.write_text(
            f"nameservers = ['{DNS_IP}']\ndns_port = {dns.port}\nsmtp_port = {server.port}\n"
            f"allow_private_addresses = true\nhelo_name = 'localhost'\nmail_from = '{SENDER}'\n"
            "[timeouts]\ngreeting_s = 2\ncommand_s = 2\n",
            encoding="utf-8",
        )
        from_file = run(_parse(["doctor", "--probe-domain", PROBE, "--config", str(file)]), {})
        environ = {"MAILPROBE_CONFIG": str(file), "MAILPROBE_HELO_NAME": HELO}
        from_variable = run(_parse(["doctor", "--probe-domain", PROBE]), environ)
        flagged = _parse(["doctor", "--probe-domain", PROBE, "--helo", f"mx1.{PROBE}"])
        from_flag = run(flagged, environ)

    assert (from_file, from_variable, from_flag) == (1, 0, 0)
    assert [c for c in server.stats.commands if c.startswith("EHLO")] == [
        "EHLO localhost",
        f"EHLO {HELO}",
        f"EHLO mx1.{PROBE}",
    ]
    out = capsys.readouterr().out
    assert "WARN HELO name: 'localhost' is localhost" in out
    assert out.count("summary: all 4 checks OK") == 2
