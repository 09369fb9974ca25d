"""`make demo`: the CLI on the bundled samples, offline and then in a local mail world, and the
library with a caller's time limit.

The world is a DNS server and SMTP servers on 127.0.4.x that this module starts and always
stops; nothing leaves the machine, and no other server is ever contacted.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import shlex
import socket
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from engine.cli import ExitCode
from engine.cli import main as cli_main
from engine.datasets import default_data_dir

if TYPE_CHECKING:
    from engine.localworld import Zone
    from engine.localworld.smtp import LoopbackServer
    from engine.model import Result

DNS_IP = "127.0.4.53"
DEAD_IP = "127.0.4.99"  # a bound socket that never listens: connections are refused
SMTP_PORT = 12725  # one port for every mail host: Config.smtp_port is one number
HELO = "demo.mailprobe.test"
MAIL_FROM = "verify@mailprobe.test"
GREYLIST_DELAY_S = 1  # instead of the CLI's 60 s before its one greylisting retry
TIMEOUT_S = 2  # the caller's time limit in the library example

# RFC 6647 §2.1: postgrey defers a new (client, sender, recipient) for 300 s by default, so a
# retry after GREYLIST_DELAY_S comes too early and is deferred again.
GREYLIST_REPLY = (
    "450 4.2.0 <{rcpt}>: Recipient address rejected: Greylisted, "
    "see https://postgrey.schweikert.ch/help/greylist.test.html"
)
# RFC 5321 §4.2.2: a bare 550 may mean "no such user" or "not for you"; it proves nothing.
VAGUE_REPLY = "550 Requested action not taken"


@dataclass(frozen=True, slots=True)
class MailHost:
    """One SMTP server of the world, the domain whose mail it takes, and how it behaves."""

    ip: str
    name: str
    domain: str
    about: str


SHOP = MailHost(
    "127.0.4.10",
    "mx.shop.test",
    "shop.test",
    "alice, bob, noreply exist; full is over quota; old is disabled",
)
CATCH_ALL = MailHost("127.0.4.11", "mx.catchall.test", "catchall.test", "accepts any address")
DISPOSABLE = MailHost(
    "127.0.4.12",
    "mail.mailinator.com",
    "mailinator.com",
    "stand-in for a disposable service; not probed",
)
GREYLIST = MailHost("127.0.4.13", "mx.greylist.test", "greylist.test", "greylists for 5 min")
BLOCKED = MailHost("127.0.4.14", "mx.blocked.test", "blocked.test", "says we are blocklisted")
ASCII_ONLY = MailHost(
    "127.0.4.15", "mx.ascii-only.test", "ascii-only.test", "does not offer SMTPUTF8"
)
IMPLICIT = MailHost(
    "127.0.4.16", "implicit.test", "implicit.test", "no MX: its A record is the mail host"
)
VAGUE = MailHost("127.0.4.17", "mx.vague.test", "vague.test", "a bare 550, no enhanced code")
SLOW = MailHost("127.0.4.18", "mx.slow.test", "slow.test", "greets, then never answers MAIL FROM")
HOSTS = (SHOP, CATCH_ALL, DISPOSABLE, GREYLIST, BLOCKED, ASCII_ONLY, IMPLICIT, VAGUE, SLOW)

# Domains that fail in DNS or have no server that answers.
DNS_ONLY = (
    ("down.test", f"MX at {DEAD_IP}, where nothing listens"),
    ("broken.test", "its name servers fail (SERVFAIL)"),
    ("nullmx.test", "publishes a null MX (RFC 7505)"),
    ("nomail.test", "a TXT record, but no MX, A or AAAA"),
    ("nowhere.test", "not in the zone (NXDOMAIN)"),
)


def zone() -> Zone:
    """The world's DNS zone, as a LocalZone dict."""
    records: dict[str, dict[str, object]] = {}
    for host in HOSTS:
        records[host.name] = {"A": [host.ip]}
        if host.domain != host.name:
            records[host.domain] = {"MX": [(10, host.name)]}
    records["down.test"] = {"MX": [(10, "mx.down.test")]}
    records["mx.down.test"] = {"A": [DEAD_IP]}
    records["broken.test"] = {"fault": "servfail"}
    records["nullmx.test"] = {"MX": [(0, ".")]}
    records["nomail.test"] = {"TXT": ["v=spf1 -all"]}
    return records


def servers(port: int) -> list[LoopbackServer]:
    """The world's SMTP servers, one per MailHost, all on `port`."""
    from engine.localworld.smtp import MailboxServer, MailNeverAnsweredServer

    shop = [f"{user}@{SHOP.domain}" for user in ("alice", "bob", "noreply")]
    return [
        MailboxServer(
            SHOP.ip,
            port,
            hostname=SHOP.name,
            users=(*shop, f"postmaster@[{SHOP.ip}]"),
            full=(f"full@{SHOP.domain}",),
            disabled=(f"old@{SHOP.domain}",),
        ),
        MailboxServer(
            CATCH_ALL.ip, port, hostname=CATCH_ALL.name, domains=(CATCH_ALL.domain,), catch_all=True
        ),
        MailboxServer(
            DISPOSABLE.ip,
            port,
            hostname=DISPOSABLE.name,
            domains=(DISPOSABLE.domain,),
            catch_all=True,
        ),
        _fixed_rcpt_server(GREYLIST, port, GREYLIST_REPLY),
        MailboxServer(
            BLOCKED.ip, port, hostname=BLOCKED.name, users=(f"erin@{BLOCKED.domain}",), blocked=True
        ),
        MailboxServer(
            ASCII_ONLY.ip,
            port,
            hostname=ASCII_ONLY.name,
            users=(f"josé@{ASCII_ONLY.domain}",),
            smtputf8=False,
        ),
        MailboxServer(
            IMPLICIT.ip, port, hostname=IMPLICIT.name, users=(f"carol@{IMPLICIT.domain}",)
        ),
        _fixed_rcpt_server(VAGUE, port, VAGUE_REPLY),
        MailNeverAnsweredServer(SLOW.ip, port),
    ]


def _fixed_rcpt_server(host: MailHost, port: int, reply: str) -> LoopbackServer:
    """A plain MTA that answers every RCPT TO with `reply` ("{rcpt}" is the recipient)."""
    from engine.localworld.smtp import ScriptedRcptServer

    return ScriptedRcptServer(host.ip, port, reply, hostname=host.name, pipelining=False)


def _bind_test(ip: str, port: int) -> None:
    """Raise OSError unless a TCP server could bind (ip, port) now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As asyncio's servers do, so a connection of an earlier run in TIME_WAIT is no obstacle.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((ip, port))


def free_smtp_port(ips: Sequence[str], preferred: int = SMTP_PORT, tries: int = 20) -> int:
    """A TCP port free on every one of `ips`: `preferred` if it is, else one the system picks.

    Raises OSError when none is found, or when the system has no such loopback address.
    """
    candidate = preferred
    for _ in range(tries):
        try:
            for ip in ips:
                _bind_test(ip, candidate)
            return candidate
        except OSError as exc:
            if exc.errno == errno.EADDRNOTAVAIL:
                raise
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((ips[0], 0))
            candidate = int(sock.getsockname()[1])
    raise OSError(errno.EADDRINUSE, f"no TCP port free on all of {', '.join(ips)}")


@contextlib.contextmanager
def _refusing(ip: str, port: int) -> Iterator[None]:
    """Hold (ip, port) bound but never listening, so connections to it are refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((ip, port))
        yield


@dataclass(frozen=True, slots=True)
class World:
    """Where the running world listens."""

    dns_port: int
    smtp_port: int


@contextlib.contextmanager
def local_world() -> Iterator[World]:
    """Start the DNS server and every SMTP server; stop them all on the way out, whatever
    happens. Raises OSError when an address or port cannot be bound."""
    from engine.localworld.dns import LocalDnsServer

    port = free_smtp_port([*(host.ip for host in HOSTS), DEAD_IP])
    with contextlib.ExitStack() as stack:
        dns = stack.enter_context(LocalDnsServer(zone(), host=DNS_IP))
        stack.enter_context(_refusing(DEAD_IP, port))
        for server in servers(port):
            stack.enter_context(server.running_in_thread())
        yield World(dns.port, port)


def listening(world: World) -> list[str]:
    """The world's addresses that still accept a TCP connection (none, once it is stopped)."""
    found = []
    for ip, port in [(DNS_IP, world.dns_port), *((host.ip, world.smtp_port) for host in HOSTS)]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(2.0)
            if sock.connect_ex((ip, port)) == 0:
                found.append(f"{ip}:{port}")
    return found


def _run(*argv: str | Path) -> int:
    """Run the CLI in this process, after showing the command (files relative to here)."""
    shown = [_relative(a) if isinstance(a, Path) else a for a in argv]
    print(f"$ {shlex.join(['mailprobe', *shown])}\n", flush=True)
    # The demo shows the defaults and its own flags: no config file or MAILPROBE_* variable.
    code = cli_main([str(a) for a in argv], environ={})
    sys.stdout.flush()
    return code


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _offline(data: Path) -> int:
    print(
        "mailprobe demo: `mailprobe verify` on the bundled samples, first offline, then in a"
        " mail world\nof its own on loopback.\n"
    )
    print("1. Offline: syntax, typo suggestions and flags; no DNS, no SMTP.\n")
    code = _run("verify", "--offline", "--format", "table", "-q", "-i", data / "demo_offline.txt")
    if code == ExitCode.INTERRUPTED:
        return code
    print("\nThe same with --clean, on addresses pasted with stray characters:\n")
    messy = [" <Mailto:Jane.Doe@Gmail.com>, ", "jane doe@gmail.com;", "(bob@python.org)"]
    return _run("verify", "--offline", "--clean", "--format", "table", "-q", *messy) or code


def _describe(world: World) -> None:
    print(
        f"\n2. Online, in a local mail world: a DNS server on {DNS_IP} port {world.dns_port}"
        f" and {len(HOSTS)} SMTP servers\n   on 127.0.4.x port {world.smtp_port}, all on"
        " loopback and started by this demo. Nothing leaves this machine.\n"
    )
    for host in HOSTS:
        route = "A" if host.name == host.domain else f"MX {host.name}"
        print(f"   {host.domain:<16} {route:<25} {host.ip:<11}  {host.about}")
    for domain, about in DNS_ONLY:
        print(f"   {domain:<16} {about}")
    print(
        "\n   mailprobe refuses loopback and private mail hosts by default (SSRF protection);"
        "\n   here every mail host is on loopback, so this run opts in with --allow-private."
        f"\n   --greylist-delay {GREYLIST_DELAY_S} shortens the wait before the one greylisting"
        " retry (60 s by default).\n"
    )


def _online(data: Path, world: World) -> int:
    _describe(world)
    common = (
        "verify",
        "--format",
        "table",
        "-q",
        "--nameserver",
        DNS_IP,
        "--dns-port",
        str(world.dns_port),
        "--smtp-port",
        str(world.smtp_port),
        "--helo",
        HELO,
        "--mail-from",
        MAIL_FROM,
        "--no-cache",
    )
    world_sample = data / "demo_world.txt"
    code = _run(
        *common, "--allow-private", "--greylist-delay", str(GREYLIST_DELAY_S), "-i", world_sample
    )
    if code == ExitCode.INTERRUPTED:
        return code
    print(
        "\n3. The same world without --allow-private: the guard refuses every loopback mail host"
        "\n   before any connection is made.\n"
    )
    return _run(*common, f"alice@{SHOP.domain}", f"postmaster@[{SHOP.ip}]") or code


def _time_limit(world: World) -> int:
    """Section 4: the library with a caller's time limit, against the host that hangs."""
    address = f"kim@{SLOW.domain}"
    print(
        "\n4. The library, with a caller's time limit (as a web service calls it). The mail host"
        f"\n   of {SLOW.domain} greets, then never answers MAIL FROM; the answer still comes within"
        f"\n   {TIMEOUT_S} s, with what is known by then (syntax, flags, mail hosts) and where it"
        " stopped:\n"
    )
    print(f'   result = await verifier.averify("{address}", timeout_s={TIMEOUT_S})\n', flush=True)
    result = asyncio.run(_ask_with_time_limit(world, address))
    from engine.streams import Row, Writer

    writer = Writer(sys.stdout, "table", None)
    writer.write(Row(address), result)
    writer.finish()
    print(f"\n   detail.notes: {list(result.detail.notes)}")
    return 0


async def _ask_with_time_limit(world: World, address: str) -> Result:
    from engine.config import Config
    from engine.verifier import Verifier

    config = Config(
        nameservers=(DNS_IP,),
        dns_port=world.dns_port,
        smtp_port=world.smtp_port,
        helo_name=HELO,
        mail_from=MAIL_FROM,
        allow_private_addresses=True,  # the world is on loopback
    )
    async with Verifier(config) as verifier:
        return await verifier.averify(address, timeout_s=TIMEOUT_S)


def main() -> int:
    """Run the demo; returns the exit code (0 when every run of the CLI returned 0)."""
    data = default_data_dir()
    code = _offline(data)
    if code == ExitCode.INTERRUPTED:
        return code
    with contextlib.ExitStack() as stack:
        try:
            world = stack.enter_context(local_world())
        except ImportError as exc:
            print(f"\nThe local mail world needs the demo extra ({exc}).", file=sys.stderr)
            print("Install it with: pip install 'mailprobe[demo]'", file=sys.stderr)
            return 1
        except OSError as exc:
            print(f"\nThe local mail world could not start: {exc}", file=sys.stderr)
            if exc.errno == errno.EADDRNOTAVAIL:
                print(
                    "It needs the loopback addresses 127.0.4.x; this system routes only some of"
                    " 127.0.0.0/8 (on macOS: sudo ifconfig lo0 alias 127.0.4.10 up, and so on).",
                    file=sys.stderr,
                )
            return 1
        code = _online(data, world) or code
        if code != ExitCode.INTERRUPTED:
            code = _time_limit(world) or code
    left = listening(world)
    if left:
        print(f"\nStill listening after the stop: {', '.join(left)}", file=sys.stderr)
        return 1
    print(
        f"\nStopped: the DNS server, the {len(HOSTS)} SMTP servers and the socket on {DEAD_IP};"
        " nothing is left listening."
    )
    return code


if __name__ == "__main__":
    sys.exit(main())
