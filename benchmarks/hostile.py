"""The worst case per address against hostile mail servers, with the default time limits.

Usage: python benchmarks/hostile.py [--per-host 3] [--timeout 10] [--port 12645] [--quick]

Starts, in threads of this process, a DNS server on 127.0.6.53 and one loopback SMTP server per
behaviour on 127.0.6.N, each the only MX of its domain: a tarpit that never greets, an endless
greeting (a "220-" line a second), a server that says one byte a second, one that never answers
MAIL FROM, four that answer every RCPT TO with a reply that cannot be placed (552 too many
recipients; 550 5.1.1 "has sent to too many recipients this hour"; 421 after every RCPT; 451 to
every RCPT), and a domain whose name server never answers. Then verifies `--per-host` addresses
of each domain, every behaviour at once, three ways: one by one (`Verifier.averify`), one by one
with a caller's `timeout_s`, and in bulk (`Verifier.bulk()`), each with a fresh Verifier and the
default `Config` (Timeouts, Politeness, retries) apart from what a loopback world needs. For each
behaviour and way it prints the worst and median seconds per address (from the call to its
Result), the outcomes, the connections per address and the most RCPT TO sent for one address.

`--quick` divides every time limit by 6 (a smoke run of about 30 s).

Exits 1 when an address took longer than its limit (plus 1 s of slack) or got more RCPT TO than
the bound; 2 when the servers cannot start. Timings are printed; only the limits are judged.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import statistics
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

# Run as a script, this folder comes first on sys.path; the repository root is what we need.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from engine.bulk import MAX_RCPTS_PER_ADDRESS  # noqa: E402
from engine.config import Config, Timeouts  # noqa: E402
from engine.localworld import Fault  # noqa: E402
from engine.localworld.dns import LocalDnsServer  # noqa: E402
from engine.localworld.smtp import (  # noqa: E402
    EndlessGreetingServer,
    LoopbackServer,
    MailNeverAnsweredServer,
    ScriptedRcptServer,
    SlowTalkerServer,
    TarpitServer,
)
from engine.model import Result  # noqa: E402
from engine.ordered import check_many  # noqa: E402
from engine.verifier import Verifier  # noqa: E402

NET = "127.0.6"
DNS_IP = f"{NET}.53"
PORT = 12645
SLACK_S = 1.0  # what "within the limit" allows for the event loop on a busy machine
QUICK_DIVISOR = 6.0


@dataclass(frozen=True)
class Behaviour:
    key: str
    about: str
    server: Callable[[str, int], LoopbackServer] | None  # None: no mail server (DNS fault)


BEHAVIOURS = (
    Behaviour("tarpit", "accepts, never greets", lambda ip, port: TarpitServer(ip, port)),
    Behaviour(
        "endless-greeting",
        'a "220-" line a second, never the last',
        lambda ip, port: EndlessGreetingServer(ip, port, line_interval_s=1.0),
    ),
    Behaviour(
        "byte-a-second",
        "says everything one byte a second",
        lambda ip, port: SlowTalkerServer(ip, port, byte_interval_s=1.0),
    ),
    Behaviour(
        "mail-unanswered",
        "greets, then never answers MAIL FROM",
        lambda ip, port: MailNeverAnsweredServer(ip, port),
    ),
    Behaviour(
        "552-too-many",
        '"552 Too many recipients" to every RCPT',
        lambda ip, port: ScriptedRcptServer(ip, port, "552 Too many recipients"),
    ),
    Behaviour(
        "550-too-many-this-hour",
        '"550 5.1.1 ... too many recipients this hour"',
        lambda ip, port: ScriptedRcptServer(
            ip, port, "550 5.1.1 <{rcpt}> - 203.0.113.9 has sent to too many recipients this hour"
        ),
    ),
    Behaviour(
        "421-after-rcpt",
        "421 and hang up after every RCPT",
        lambda ip, port: ScriptedRcptServer(ip, port, "421 4.7.0 Too many errors, closing"),
    ),
    Behaviour(
        "451-every-rcpt",
        "451 to every RCPT",
        lambda ip, port: ScriptedRcptServer(ip, port, "451 4.3.0 Temporary local problem"),
    ),
    Behaviour("dns-silent", "its name servers never answer", None),
)


@dataclass(frozen=True)
class Host:
    behaviour: Behaviour
    domain: str
    ip: str


def hosts() -> list[Host]:
    return [Host(b, f"{b.key}.hostile.test", f"{NET}.{i + 1}") for i, b in enumerate(BEHAVIOURS)]


def zone(world: list[Host]) -> dict[str, dict[str, object]]:
    records: dict[str, dict[str, object]] = {}
    for h in world:
        if h.behaviour.server is None:
            records[h.domain] = {"fault": Fault.DROP}
            continue
        records[h.domain] = {"MX": [(10, f"mx.{h.domain}")]}
        records[f"mx.{h.domain}"] = {"A": [h.ip]}
    return records


def config_for(dns: LocalDnsServer, port: int, divisor: float) -> Config:
    t = Timeouts()
    timeouts = Timeouts(
        dns_s=t.dns_s / divisor,
        connect_s=t.connect_s / divisor,
        greeting_s=t.greeting_s / divisor,
        command_s=t.command_s / divisor,
        budget_s=t.budget_s / divisor,
    )
    base = Config()
    return dataclasses.replace(
        base,
        allow_private_addresses=True,  # the world is on loopback
        nameservers=(dns.host,),
        dns_port=dns.port,
        smtp_port=port,
        helo_name="probe.mailprobe.test",
        mail_from="verify@mailprobe.test",
        timeouts=timeouts,
        retry_backoff_s=base.retry_backoff_s / divisor,
        greylist_delay_s=base.greylist_delay_s / divisor,
    )


# The runs -------------------------------------------------------------------------------------


@dataclass
class Row:
    address: str
    seconds: float
    result: Result


async def _timed(address: str, check: Callable[[str], Awaitable[Result]]) -> Row:
    start = time.perf_counter()
    result = await check(address)
    return Row(address, time.perf_counter() - start, result)


async def one_by_one(
    config: Config, addresses: Sequence[str], timeout_s: float | None
) -> list[Row]:
    async with Verifier(config) as v:
        v.check_offline("warm@up.test")  # the data lists load before the clocks start
        return list(
            await asyncio.gather(
                *(_timed(a, lambda x: v.averify(x, timeout_s=timeout_s)) for a in addresses)
            )
        )


async def bulk(config: Config, addresses: Sequence[str]) -> list[Row]:
    async with Verifier(config) as v:
        v.check_offline("warm@up.test")
        checker = v.bulk()
        rows = []
        async for address, result in check_many(addresses, checker.check, window=10_000):
            # Results come in input order: a row's time is its own check's, start to Result.
            rows.append(Row(address, result.timings.total_ms / 1000.0, result))
        return rows


# Servers --------------------------------------------------------------------------------------


@contextlib.contextmanager
def world_running(
    world: list[Host], port: int
) -> Iterator[tuple[LocalDnsServer, dict[str, LoopbackServer]]]:
    servers: dict[str, LoopbackServer] = {}
    with contextlib.ExitStack() as stack:
        dns = stack.enter_context(LocalDnsServer(zone(world), host=DNS_IP))
        for h in world:
            if h.behaviour.server is not None:
                server = h.behaviour.server(h.ip, port)
                servers[h.behaviour.key] = stack.enter_context(server.running_in_thread())
        yield dns, servers


@dataclass
class Counts:
    connections: dict[str, int]
    rcpts: dict[str, Counter[str]]


def counts(servers: dict[str, LoopbackServer]) -> Counts:
    rcpts: dict[str, Counter[str]] = {}
    for key, server in servers.items():
        if isinstance(server, ScriptedRcptServer):
            rcpts[key] = Counter(server.rcpts)
        else:
            rcpts[key] = Counter()
    return Counts({k: s.stats.connections for k, s in servers.items()}, rcpts)


# Report ---------------------------------------------------------------------------------------


def report(
    mode: str,
    limit_s: float,
    world: list[Host],
    rows: list[Row],
    before: Counts,
    after: Counts,
    failures: list[str],
) -> None:
    print(f"\n{mode} (limit {limit_s:g} s per address)")
    columns = ("worst s", 8), ("median s", 9), ("conn/addr", 9), ("RCPT max", 8)
    print(f"{'behaviour':<24} " + " ".join(f"{c:>{w}}" for c, w in columns) + "  outcomes")
    for h in world:
        mine = [r for r in rows if r.address.endswith("@" + h.domain)]
        if not mine:
            continue
        worst = max(r.seconds for r in mine)
        median = statistics.median(r.seconds for r in mine)
        key = h.behaviour.key
        conns = after.connections.get(key, 0) - before.connections.get(key, 0)
        sent = after.rcpts.get(key, Counter()) - before.rcpts.get(key, Counter())
        most = max((sent[r.address.casefold()] for r in mine), default=0)
        outcomes = Counter(f"{r.result.state.value}/{r.result.reason.value}" for r in mine)
        said = ", ".join(f"{o} x{n}" for o, n in outcomes.most_common())
        print(f"{key:<24} {worst:8.1f} {median:9.1f} {conns / len(mine):9.2f} {most:8d}  {said}")
        if worst > limit_s + SLACK_S:
            failures.append(f"{mode}, {key}: {worst:.1f} s > {limit_s:g} s")
        if most > MAX_RCPTS_PER_ADDRESS:
            failures.append(f"{mode}, {key}: {most} RCPT TO for one address")


def example_notes(rows: list[Row], world: list[Host]) -> None:
    print("\nwhat the Results say (one address per behaviour, bulk):")
    for h in world:
        row = next((r for r in rows if r.address.endswith("@" + h.domain)), None)
        if row is not None:
            notes = " | ".join(row.result.detail.notes) or "-"
            print(f"  {h.behaviour.key:<24} {notes[:300]}")


async def run(args: argparse.Namespace) -> int:
    world = hosts()
    divisor = QUICK_DIVISOR if args.quick else 1.0
    addresses = [f"user{i}@{h.domain}" for i in range(args.per_host) for h in world]
    stack = contextlib.ExitStack()
    try:
        dns, servers = stack.enter_context(world_running(world, args.port))
    except OSError as exc:
        print(f"hostile: the servers cannot start: {exc}", file=sys.stderr)
        return 2
    failures: list[str] = []
    with stack:
        config = config_for(dns, args.port, divisor)
        t = config.timeouts
        print(
            "hostile servers on loopback, one MX per domain; default limits"
            + (f" divided by {divisor:g}" if divisor != 1 else "")
            + f": budget {t.budget_s:g} s per address (DNS and retries included), connect "
            f"{t.connect_s:g} s, greeting {t.greeting_s:g} s, command {t.command_s:g} s, DNS "
            f"{t.dns_s:g} s x {config.dns_attempts}; {config.transient_retries} retries after "
            f"{config.retry_backoff_s:g} s (doubling); {args.per_host} addresses per behaviour, "
            "all at once"
        )
        for h in world:
            print(f"  {h.behaviour.key:<24} {h.behaviour.about}")
        timeout_s = args.timeout / divisor
        modes: list[tuple[str, float, Callable[[], Awaitable[list[Row]]]]] = [
            ("one by one (Verifier.averify)", t.budget_s,
             lambda: one_by_one(config, addresses, None)),
            (f"one by one, averify(timeout_s={timeout_s:g})", min(timeout_s, t.budget_s),
             lambda: one_by_one(config, addresses, timeout_s)),
            ("bulk (Verifier.bulk)", t.budget_s, lambda: bulk(config, addresses)),
        ]  # fmt: skip
        took: list[str] = []
        rows: list[Row] = []
        for mode, limit_s, go in modes:
            before = counts(servers)
            start = time.perf_counter()
            rows = await go()
            took.append(f"{mode} {time.perf_counter() - start:.1f} s")
            report(mode, limit_s, world, rows, before, counts(servers), failures)
        example_notes(rows, world)
        print("\nwall time per way: " + "; ".join(took))
    print("\ngoals:")
    print(f"  {'met    ' if not failures else 'NOT met'}  every address within its limit "
          f"(+{SLACK_S:g} s) and at most {MAX_RCPTS_PER_ADDRESS} RCPT TO per address")  # fmt: skip
    for failure in failures:
        print(f"           {failure}")
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--per-host", type=int, default=3, help="addresses per behaviour (3)")
    parser.add_argument("--timeout", type=float, default=10.0, help="the caller's timeout_s (10)")
    parser.add_argument("--port", type=int, default=PORT, help="port of the SMTP servers")
    parser.add_argument("--quick", action="store_true", help="every limit divided by 6")
    args = parser.parse_args(argv)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
