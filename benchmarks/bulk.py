"""Bulk SMTP verification over a network's round trip: sessions shared per MX vs one per address.

Usage: python benchmarks/bulk.py [--addresses 10000] [--baseline-sample 1000] [--rtt-ms 50]
                                 [--known-share 0.75] [--window 2500] [--port 12625]
                                 [--quick] [--postfix] [--profile FILE]

Starts, in a separate process, one loopback MailboxServer per domain (20 domains, 3 of them
catch-all, Postfix's anti-harvest limits: 10 / 20 errors, 1 s sleep) on 127.0.4.N, each behind a
LatencyProxy on 127.0.3.N that delays every chunk by half the round trip in each direction. Then
verifies the addresses (75% existing users, 25% unknown, shuffled with a fixed seed) twice in
the same run: with `Verifier.bulk()` (default Politeness) and one connection per address
(`Verifier.averify` per address, as peer tools work, with as many in flight as bulk may have
sessions: sessions_per_host x hosts) on a seeded sample, and prints a table: addresses per
second, SMTP connections per address, RCPTs per session, peak concurrent sessions per server
against the configured cap, DATA commands seen (must be 0), and the ratios. The verdicts
(state, reason, accept_all) of the sampled addresses are compared between the modes, and every
verdict with what the servers know.

`--postfix` runs the same comparison against a real Postfix on 127.0.0.76:25 (the main instance
of tests/realmta/postfix_world.py, with its default limits, and generated mailboxes), without a
latency proxy; its figures come from Postfix's own log.

Exits 1 when a verdict differs between the modes or from what the servers say, or when the bulk
mode had more concurrent sessions on a server than configured; 2 when the servers cannot start.
Timings are printed, never judged by the exit code.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import dataclasses
import multiprocessing
import os
import pstats
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

# Run as a script, this folder comes first on sys.path; the repository root is what we need.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from engine.config import Config  # noqa: E402
from engine.localworld.smtp import LatencyProxy, MailboxServer, ServerStats  # noqa: E402
from engine.model import Result  # noqa: E402
from engine.ordered import check_many  # noqa: E402
from engine.testing import FakeResolver  # noqa: E402
from engine.verifier import Verifier  # noqa: E402

SEED = 20240611
DOMAINS = 20
CATCH_ALL = (4, 11, 18)  # indexes of the catch-all domains
KNOWN_SHARE = 0.75
PORT = 12625  # every server and proxy listens here (Config.smtp_port is one port for all)
PROXY_NET = "127.0.3"  # what the DNS points at: the proxies
SERVER_NET = "127.0.4"  # where the proxies forward: the mail servers
POSTFIX_IP = "127.0.0.76"  # beside postfix_world's 127.0.0.70-74

SERVER_START_S = 30.0
SERVER_STOP_S = 15.0
IDLE_WAIT_S = 10.0  # for the servers to see every session of a mode end
SERVER_LIFETIME_S = 4 * 3600.0  # the server process ends itself after this, whatever happens
MODE_TIMEOUT_S = 1800.0  # no mode runs longer than this
LOG_SETTLE_S = 10.0
_VERBS = ("ehlo", "helo", "starttls", "mail", "rcpt", "rset", "quit", "data")

Verdict = tuple[str, str, "bool | None"]


# The addresses ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Domain:
    name: str
    proxy_ip: str  # what the MX record points at
    server_ip: str
    catch_all: bool
    users: tuple[str, ...]


@dataclass(frozen=True)
class World:
    domains: tuple[Domain, ...]
    addresses: tuple[str, ...]
    expected: dict[str, Verdict]
    port: int

    def zone(self) -> dict[str, dict[str, object]]:
        zone: dict[str, dict[str, object]] = {}
        for d in self.domains:
            zone[d.name] = {"MX": [(10, f"mx.{d.name}")]}
            zone[f"mx.{d.name}"] = {"A": [d.proxy_ip]}
        return zone


def _expected(exists: bool, catch_all: bool) -> Verdict:
    if catch_all:
        return ("risky", "ServerIsCatchAll", True)
    if exists:
        return ("deliverable", "Success", False)
    return ("undeliverable", "MailboxDoesNotExist", False)


def make_world(n: int, port: int, rng: random.Random, known_share: float) -> World:
    """n addresses over DOMAINS domains, `known_share` of them existing users, shuffled."""
    names = [f"shop{i + 1:02d}.bench.test" for i in range(DOMAINS)]
    known = round(n * known_share)
    users: dict[str, list[str]] = {name: [] for name in names}
    addresses: list[str] = []
    expected: dict[str, Verdict] = {}
    for i in range(n):
        d = rng.randrange(DOMAINS)
        exists = i < known
        address = f"{'user' if exists else 'ghost'}{i:05d}@{names[d]}"
        if exists:
            users[names[d]].append(address)
        addresses.append(address)
        expected[address] = _expected(exists, d in CATCH_ALL)
    rng.shuffle(addresses)
    domains = tuple(
        Domain(
            name,
            f"{PROXY_NET}.{i + 1}",
            f"{SERVER_NET}.{i + 1}",
            i in CATCH_ALL,
            tuple(users[name]),
        )
        for i, name in enumerate(names)
    )
    return World(domains, tuple(addresses), expected, port)


# The server process ------------------------------------------------------------------------


def _server_main(conn: Connection, world: World, one_way_s: float) -> None:
    """Entry point of the server process: serve until told to stop (or the parent is gone)."""
    try:
        asyncio.run(_serve(conn, world, one_way_s))
    except Exception as exc:
        with contextlib.suppress(OSError, ValueError):
            conn.send({"error": f"{type(exc).__name__}: {exc}"})


async def _serve(conn: Connection, world: World, one_way_s: float) -> None:
    servers: list[tuple[Domain, MailboxServer, LatencyProxy]] = []
    for d in world.domains:
        server = MailboxServer(
            d.server_ip,
            world.port,
            users=d.users,
            domains=[d.name],
            catch_all=d.catch_all,
            hostname=f"mx.{d.name}",
            pipelining=True,
            soft_error_limit=10,  # Postfix's defaults
            hard_error_limit=20,
            error_sleep_s=1.0,
        )
        proxy = LatencyProxy(d.proxy_ip, world.port, d.server_ip, world.port, one_way_s)
        servers.append((d, server, proxy))
    started: list[MailboxServer | LatencyProxy] = []
    try:
        for _, server, proxy in servers:
            for part in (server, proxy):
                try:
                    await part.start()
                except OSError as exc:
                    conn.send({"error": f"cannot listen on {part.host}:{world.port}: {exc}"})
                    return
                started.append(part)
        conn.send({"ready": True})
        cpu = time.process_time()
        deadline = time.monotonic() + SERVER_LIFETIME_S
        while time.monotonic() < deadline:
            if not await asyncio.to_thread(conn.poll, 1.0):
                continue
            try:
                command = conn.recv()
            except EOFError:
                return  # the parent is gone
            if command != "snapshot":
                return
            await _wait_idle(servers)
            now = time.process_time()
            conn.send({"servers": [_snapshot(*s) for s in servers], "cpu_s": now - cpu})
            cpu = now
            for _, server, proxy in servers:
                server.stats, proxy.stats = ServerStats(), ServerStats()
                server.hard_limit_hits = 0
    finally:
        for part in reversed(started):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(part.stop(), SERVER_STOP_S / 2)


async def _wait_idle(servers: Sequence[tuple[Domain, MailboxServer, LatencyProxy]]) -> None:
    """Bounded wait for every session to have ended on the servers' side too."""
    for _ in range(int(IDLE_WAIT_S / 0.02)):
        if all(s.stats.active == 0 and p.stats.active == 0 for _, s, p in servers):
            return
        await asyncio.sleep(0.02)


def _snapshot(d: Domain, server: MailboxServer, proxy: LatencyProxy) -> dict[str, Any]:
    verbs = Counter(v.lower() for v in server.stats.verbs())
    return {
        "domain": d.name,
        "connections": server.stats.connections,
        "peak": server.stats.peak,
        "commands": {verb: verbs[verb] for verb in _VERBS},
        "hard_limit_hits": server.hard_limit_hits,
        "errors": len(server.stats.errors) + len(proxy.stats.errors),
    }


class ServerProcess:
    """The loopback servers in a process of their own, stopped by PID whatever happens."""

    def __init__(self, world: World, one_way_s: float) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(
            target=_server_main, args=(child, world, one_way_s), name="bench-servers", daemon=True
        )
        self._process.start()
        child.close()

    def wait_ready(self) -> str | None:
        """None when every server listens, else what went wrong."""
        if not self._conn.poll(SERVER_START_S):
            return f"the servers did not start in {SERVER_START_S:g} s"
        try:
            message = self._conn.recv()
        except EOFError:
            return "the server process ended while starting"
        return None if message.get("ready") else str(message.get("error"))

    def snapshot(self) -> dict[str, Any]:
        """What each server saw since the last snapshot (the counters start again at zero)."""
        self._conn.send("snapshot")
        if not self._conn.poll(IDLE_WAIT_S + 20):
            raise RuntimeError("the server process did not answer")
        message: dict[str, Any] = self._conn.recv()
        if "error" in message:
            raise RuntimeError(f"server process: {message['error']}")
        return message

    def stop(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._conn.send("stop")
        self._process.join(SERVER_STOP_S)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(5)
        self._conn.close()


# Running a mode ----------------------------------------------------------------------------


@dataclass
class Run:
    """One mode's figures; the counts are what the servers saw."""

    mode: str
    addresses: int
    seconds: float
    cpu_s: float
    connections: int
    commands: dict[str, int]  # lower-case verb -> commands received
    peak: int  # max over servers of concurrent sessions
    cap: int | None  # what the engine was configured to allow, None: nothing limits it
    verdicts: dict[str, Verdict]
    pipelined: bool  # the client sends each transaction's RCPTs as one group
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rcpts(self) -> int:
        return self.commands.get("rcpt", 0)

    @property
    def data(self) -> int:
        return self.commands.get("data", 0)

    def round_trips(self) -> int:
        """Replies the client waited for, one after the other, within its sessions.

        The greeting, each EHLO, MAIL, RSET and QUIT, STARTTLS and its handshake, and each
        RCPT, or one group of RCPTs per transaction when they are pipelined (RFC 2920).
        """
        c = self.commands
        groups = c.get("mail", 0) if self.pipelined else self.rcpts
        waited = ("ehlo", "helo", "mail", "rset", "quit")
        return (
            self.connections + sum(c.get(v, 0) for v in waited) + 2 * c.get("starttls", 0) + groups
        )

    @property
    def rate(self) -> float:
        return self.addresses / self.seconds if self.seconds else 0.0

    @property
    def per_address(self) -> float:
        return self.connections / self.addresses if self.addresses else 0.0

    @property
    def per_session(self) -> float:
        return self.rcpts / self.connections if self.connections else 0.0


def _verdict(r: Result) -> Verdict:
    return (r.state.value, r.reason.value, r.flags.accept_all)


# Loads the data lists and the typo index before the clock starts: a cost paid once per process.
_WARM_UP = "warm-up@example.com"


async def _timed(
    items: Sequence[str], check: Callable[[str], Awaitable[Result]], window: int
) -> tuple[dict[str, Verdict], float, float]:
    start, cpu = time.perf_counter(), time.process_time()
    out = {a: _verdict(r) async for a, r in check_many(items, check, window=window)}
    return out, time.perf_counter() - start, time.process_time() - cpu


async def run_bulk(
    config: Config, zone: dict[str, dict[str, object]], items: Sequence[str], window: int
) -> tuple[dict[str, Verdict], float, float, dict[str, Any]]:
    async with Verifier(config, resolver=FakeResolver(zone)) as verifier:
        verifier.check_offline(_WARM_UP)
        checker = verifier.bulk()
        verdicts, wall, cpu = await asyncio.wait_for(
            _timed(items, checker.check, window), MODE_TIMEOUT_S
        )
        gates = checker.gates
        opened = gates.opened_per_host().values()
        per_minute = config.politeness.connections_per_minute_per_host
        extra = {
            "stats": dataclasses.asdict(checker.stats),
            "gate_peak": max(gates.peak_per_host().values(), default=0),
            "gate_opened": sum(opened),
            # The new-connection cap alone: the n-th session to a host waits for minute n // cap.
            "rate_floor_s": max((60.0 * ((n - 1) // per_minute) for n in opened), default=0.0),
        }
    return verdicts, wall, cpu, extra


async def run_single(
    config: Config, zone: dict[str, dict[str, object]], items: Sequence[str], window: int
) -> tuple[dict[str, Verdict], float, float]:
    # Peer tools open a connection per address with no per-host limits: lift the engine's caps
    # for this mode, so only the window (the same total concurrency bulk may use) limits it.
    unthrottled = dataclasses.replace(
        config.politeness,
        connections_per_minute_per_host=1_000_000,
        sessions_per_host=window,
        sessions_per_provider=window,
        sessions_total=max(window, config.politeness.sessions_total),
    )
    config = dataclasses.replace(config, politeness=unthrottled)
    async with Verifier(config, resolver=FakeResolver(zone)) as verifier:
        verifier.check_offline(_WARM_UP)
        return await asyncio.wait_for(_timed(items, verifier.averify, window), MODE_TIMEOUT_S)


def _profiled(profile: str | None, run: Callable[[], Any]) -> Any:
    if not profile:
        return run()
    profiler = cProfile.Profile()
    try:
        return profiler.runcall(run)
    finally:
        profiler.dump_stats(profile)
        stats = pstats.Stats(profile, stream=sys.stderr)
        print(f"\nprofile of the bulk mode (saved to {profile}):", file=sys.stderr)
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(25)


def _engine_config(port: int) -> Config:
    return Config(
        allow_private_addresses=True,  # the servers are on loopback
        smtp_port=port,
        helo_name="probe.mailprobe.test",
        mail_from="verify@mailprobe.test",
    )


def _sample(items: Sequence[str], k: int, rng: random.Random) -> list[str]:
    """k of the items, drawn with `rng`, in their original order."""
    picked = sorted(rng.sample(range(len(items)), min(k, len(items))))
    return [items[i] for i in picked]


def _from_servers(snapshot: dict[str, Any]) -> tuple[int, dict[str, int], int, dict[str, Any]]:
    """Connections, commands by verb, peak sessions on one server, and the rest."""
    rows = snapshot["servers"]
    commands: Counter[str] = Counter()
    for row in rows:
        commands.update(row["commands"])
    extra = {
        "server_cpu_s": snapshot["cpu_s"],
        "hard_limit_hits": sum(r["hard_limit_hits"] for r in rows),
        "server_errors": sum(r["errors"] for r in rows),
    }
    connections = sum(r["connections"] for r in rows)
    return connections, dict(commands), max(r["peak"] for r in rows), extra


def loopback(args: argparse.Namespace) -> int:
    rng = random.Random(SEED)
    world = make_world(args.addresses, args.port, rng, args.known_share)
    sample = _sample(world.addresses, args.baseline_sample, random.Random(SEED + 1))
    config = _engine_config(args.port)
    limits = config.politeness
    window_single = limits.sessions_per_host * DOMAINS
    window_bulk = args.window
    one_way_s = args.rtt_ms / 2000.0
    zone = world.zone()
    n_catch = sum(1 for d in world.domains if d.catch_all)
    known = sum(1 for a in world.addresses if a.startswith("user"))

    print(
        f"world: {DOMAINS} domains, one MX each ({n_catch} catch-all), loopback servers with "
        f"Postfix's error limits (10 / 20, 1 s) behind latency proxies: RTT {args.rtt_ms:g} ms "
        f"({one_way_s * 1000:g} ms each way), port {args.port}"
    )
    print(
        f"addresses: {len(world.addresses)} ({known} existing users, "
        f"{len(world.addresses) - known} unknown), shuffled, seed {SEED}"
    )
    print(
        f"politeness (defaults): {limits.sessions_per_host} sessions per host, "
        f"{limits.rcpts_per_transaction} RCPTs per transaction, "
        f"{limits.transactions_per_session} transactions per session, "
        f"{limits.errors_per_session} rejected RCPTs per session, "
        f"{limits.connections_per_minute_per_host} new connections per host per minute"
    )
    print(
        f"bulk: Verifier.bulk() through check_many(window={window_bulk}); one per address: "
        f"Verifier.averify through check_many(window={window_single}) = sessions_per_host x "
        f"{DOMAINS} hosts, the concurrency bulk may use, on a seeded sample of {len(sample)}",
        flush=True,
    )

    servers = ServerProcess(world, one_way_s)
    try:
        failure = servers.wait_ready()
        if failure is not None:
            print(f"cannot start the servers: {failure} (try --port)", file=sys.stderr)
            return 2
        verdicts, wall, cpu, extra = _profiled(
            args.profile,
            lambda: asyncio.run(run_bulk(config, zone, world.addresses, window_bulk)),
        )
        conns, commands, peak, more = _from_servers(servers.snapshot())
        bulk = Run(
            "bulk",
            len(world.addresses),
            wall,
            cpu,
            conns,
            commands,
            peak,
            limits.sessions_per_host,
            verdicts,
            pipelined=True,
            extra={**extra, **more},
        )
        verdicts, wall, cpu = asyncio.run(run_single(config, zone, sample, window_single))
        conns, commands, peak, more = _from_servers(servers.snapshot())
        single = Run(
            "one per address",
            len(sample),
            wall,
            cpu,
            conns,
            commands,
            peak,
            None,
            verdicts,
            pipelined=False,
            extra=more,
        )
    finally:
        servers.stop()
    return report(bulk, single, world.expected, args.rtt_ms)


# Real Postfix ------------------------------------------------------------------------------


def postfix(args: argparse.Namespace) -> int:
    from tests.realmta import postfix_world as pw

    missing = pw.missing_programs()
    if "postfix" in missing or "postmap" in missing:
        print("skipped: Postfix is not installed (see tests/realmta/install.sh)")
        return 0
    if os.geteuid() != 0:
        print("skipped: Postfix on port 25 needs root")
        return 0

    class BenchPostfix(pw.PostfixInstance):
        """postfix_world's main instance, with many more mailboxes at known.test."""

        def __init__(self, root: Path, users: Sequence[str]) -> None:
            super().__init__(pw.InstanceSpec("bench", POSTFIX_IP, tls=True), root)
            self.users = users

        def write_config(self) -> None:
            super().write_config()
            table = self.dir / "virtual_mailboxes"
            with table.open("a", encoding="utf-8") as out:
                out.writelines(f"{u}  {u}\n" for u in self.users)
            settled = time.time() - 60
            os.utime(table, (settled, settled))
            postmap = pw.find_program("postmap") or "postmap"
            subprocess.run([postmap, "-c", str(self.dir), f"hash:{table}"], check=True, timeout=60)

    rng = random.Random(SEED)
    n = args.addresses
    known = round(n * args.known_share)
    domain = pw.KNOWN_DOMAIN
    addresses = [f"{'user' if i < known else 'ghost'}{i:05d}@{domain}" for i in range(n)]
    users = addresses[:known]
    expected = {a: _expected(i < known, False) for i, a in enumerate(addresses)}
    rng.shuffle(addresses)
    sample = _sample(addresses, args.baseline_sample, random.Random(SEED + 1))
    config = _engine_config(pw.SMTP_PORT)
    limits = config.politeness
    window_single = limits.sessions_per_host  # one MX host
    zone: dict[str, dict[str, object]] = {
        domain: {"MX": [(10, pw.MX_NAME)]},
        pw.MX_NAME: {"A": [POSTFIX_IP]},
    }
    print(
        f"real Postfix on {POSTFIX_IP}:25 (postfix_world's main instance: STARTTLS, "
        "smtpd_soft_error_limit 10, smtpd_hard_error_limit 20, smtpd_error_sleep_time 1s), "
        "no added latency"
    )
    print(
        f"addresses: {n} at {domain} ({known} existing users, a mailbox generated for each, "
        f"{n - known} unknown), shuffled, seed {SEED}"
    )
    print(
        f"politeness (defaults): {limits.sessions_per_host} sessions per host, "
        f"{limits.errors_per_session} rejected RCPTs per session, "
        f"{limits.connections_per_minute_per_host} new connections per host per minute"
    )
    print(
        f"bulk: check_many(window={args.window}); one per address: check_many("
        f"window={window_single}) = sessions_per_host x 1 host, on a sample of {len(sample)}",
        flush=True,
    )

    with tempfile.TemporaryDirectory(prefix="mailprobe-bench-postfix-") as tmp:
        instance = BenchPostfix(Path(tmp), users)
        try:
            try:
                instance.start()
            except pw.WorldError as exc:
                print(f"cannot start Postfix: {exc}", file=sys.stderr)
                return 2
            offset = _log_size(instance.log_path)
            verdicts, wall, cpu, extra = _profiled(
                args.profile,
                lambda: asyncio.run(run_bulk(config, zone, addresses, args.window)),
            )
            seen, offset = _postfix_log(instance.log_path, offset)
            bulk = Run(
                "bulk",
                n,
                wall,
                cpu,
                seen.connections,
                dict(seen.commands),
                seen.peak,
                limits.sessions_per_host,
                verdicts,
                pipelined=True,
                # smtpd logs a session's end after the client may have started the next one,
                # so the log's peak can be one too high: the cap is checked on the gates.
                extra={
                    **extra,
                    "too_many_errors": seen.too_many_errors,
                    "checked_peak": extra["gate_peak"],
                },
            )
            verdicts, wall, cpu = asyncio.run(run_single(config, zone, sample, window_single))
            seen, offset = _postfix_log(instance.log_path, offset)
            single = Run(
                "one per address",
                len(sample),
                wall,
                cpu,
                seen.connections,
                dict(seen.commands),
                seen.peak,
                None,
                verdicts,
                pipelined=False,
                extra={"too_many_errors": seen.too_many_errors},
            )
        finally:
            instance.stop()
    return report(bulk, single, expected)


def _raise_exit(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # runs the finally blocks that stop the servers


def _log_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


_COUNT = re.compile(r"\b([a-z]+)=(\d+)(?:/(\d+))?")


@dataclass
class PostfixSeen:
    """What smtpd logged about a run's sessions."""

    connections: int = 0
    peak: int = 0
    too_many_errors: int = 0  # sessions ended at smtpd_hard_error_limit
    commands: Counter[str] = field(default_factory=Counter)


def _postfix_log(path: Path, offset: int) -> tuple[PostfixSeen, int]:
    """What the maillog says after `offset`, and the offset of its end.

    smtpd's "disconnect from" line counts each command ("rcpt=12/16": 12 of 16 accepted);
    postlogd writes a little after the session, so wait (bounded) for every session to end.
    """
    text = ""
    for _ in range(int(LOG_SETTLE_S / 0.05)):
        with path.open("rb") as log:
            log.seek(offset)
            text = log.read().decode("utf-8", "replace")
        if text.count(" connect from ") == text.count(" disconnect from "):
            break
        time.sleep(0.05)
    seen = PostfixSeen()
    active = 0
    for line in text.splitlines():
        if " connect from " in line:
            seen.connections += 1
            active += 1
            seen.peak = max(seen.peak, active)
        elif " disconnect from " in line:
            active -= 1
            tail = line.split(" disconnect from ", 1)[1]
            for verb, ok, total in _COUNT.findall(tail):
                if verb != "commands":
                    seen.commands[verb] += int(total or ok)
        if "too many errors" in line:
            seen.too_many_errors += 1
    return seen, offset + len(text.encode("utf-8", "replace"))


# The report --------------------------------------------------------------------------------


def report(bulk: Run, single: Run, expected: dict[str, Verdict], rtt_ms: float = 0.0) -> int:
    print()
    header = (
        f"{'mode':<16} {'addresses':>9} {'seconds':>8} {'addr/s':>8} {'conn/addr':>9} "
        f"{'RCPT/sess':>9} {'peak/server':>11} {'DATA':>4} {'engine CPU':>10}"
    )
    print(header)
    print("-" * len(header))
    for run in (bulk, single):
        cap = f"{run.peak} (cap {run.cap})" if run.cap is not None else f"{run.peak} (none)"
        cpu = f"{run.cpu_s:.1f}s {run.cpu_s / run.seconds:>4.0%}" if run.seconds else "-"
        print(
            f"{run.mode:<16} {run.addresses:>9} {run.seconds:>8.2f} {run.rate:>8.1f} "
            f"{run.per_address:>9.4f} {run.per_session:>9.2f} {cap:>11} {run.data:>4} {cpu:>10}"
        )
    print()
    stats = bulk.extra.get("stats", {})
    print(
        f"bulk engine counters: {stats.get('sessions')} sessions, "
        f"{stats.get('transactions')} transactions, {stats.get('rcpts')} RCPTs "
        f"({stats.get('catch_all_probes')} catch-all probes), {stats.get('requeued')} requeued; "
        f"gates: peak {bulk.extra.get('gate_peak')} per host, {bulk.extra.get('gate_opened')} "
        "opened"
    )
    for run in (bulk, single):
        c = run.commands
        counts = ", ".join(f"{c[v]} {v.upper()}" for v in _VERBS if c.get(v))
        if "server_cpu_s" in run.extra:
            more = (
                f"{run.extra['hard_limit_hits']} hard error limits hit, "
                f"{run.extra['server_errors']} session errors; server process CPU "
                f"{run.extra['server_cpu_s']:.1f} s "
                f"({run.extra['server_cpu_s'] / run.seconds:.0%} of the wall time)"
            )
        else:
            more = f"{run.extra.get('too_many_errors', 0)} sessions ended by 'too many errors'"
        print(f"{run.mode}, servers saw: {run.connections} connections, {counts}; {more}")
    floor = bulk.extra.get("rate_floor_s", 0.0)
    if floor:
        print(
            f"bulk: {bulk.extra['gate_opened']} sessions within the cap of new connections per "
            f"host per minute take at least {floor:.0f} s, whatever the speed of the server"
        )
    print(
        "round trips waited per address (greeting, EHLO, STARTTLS x2, MAIL, RCPT or one "
        f"pipelined RCPT group, RSET, QUIT): bulk {bulk.round_trips() / bulk.addresses:.2f}, "
        f"one per address {single.round_trips() / single.addresses:.2f}"
    )
    if rtt_ms:
        busy = [run.round_trips() * rtt_ms / 1000 / run.seconds for run in (bulk, single)]
        print(
            "sessions waiting on a reply at any time, on average (round trips x RTT / seconds): "
            f"bulk {busy[0]:.1f}, one per address {busy[1]:.1f}"
        )

    ratio = bulk.rate / single.rate if single.rate else float("inf")
    print(f"\nthroughput ratio, bulk / one per address: {ratio:.1f}x")
    print(
        f"connections per address: {bulk.per_address:.4f} vs {single.per_address:.4f} "
        f"({single.per_address / bulk.per_address if bulk.per_address else 0:.0f}x fewer)"
    )

    compared = [a for a in single.verdicts if a in bulk.verdicts]
    differ = [a for a in compared if bulk.verdicts[a] != single.verdicts[a]]
    wrong = {
        run.mode: [a for a, v in run.verdicts.items() if v != expected[a]] for run in (bulk, single)
    }
    print(
        f"verdicts compared, (state, reason, accept_all): the {len(compared)} sampled addresses, "
        f"in both modes: {len(compared) - len(differ)} same, {len(differ)} different"
    )
    for a in differ[:10]:
        print(f"  {a}: bulk {bulk.verdicts[a]}, one per address {single.verdicts[a]}")
    for mode, bad in wrong.items():
        print(f"verdicts unlike the server's truth in {mode}: {len(bad)}")
        for a in bad[:10]:
            verdict = bulk.verdicts[a] if mode == bulk.mode else single.verdicts[a]
            print(f"  {a}: got {verdict}, expected {expected[a]}")

    checked_peak = bulk.extra.get("checked_peak", bulk.peak)
    cap_ok = bulk.cap is None or checked_peak <= bulk.cap
    goals = [
        ("throughput >= 20x one per address", ratio >= 20, f"{ratio:.1f}x"),
        ("<= 0.05 connections per address", bulk.per_address <= 0.05, f"{bulk.per_address:.4f}"),
        (
            "peak sessions per server <= configured",
            cap_ok,
            f"{checked_peak} <= {bulk.cap}"
            + (
                " (the engine's gates; the log's order can add one)"
                if "checked_peak" in bulk.extra
                else ""
            ),
        ),
        ("same verdict in both modes", not differ, f"{len(differ)} differ of {len(compared)}"),
        ("no DATA sent", bulk.data == single.data == 0, f"{bulk.data + single.data}"),
    ]
    print("\ngoals:")
    for name, met, value in goals:
        print(f"  {'met    ' if met else 'NOT met'}  {name}: {value}")
    failed = differ or not cap_ok or any(wrong.values()) or bulk.data or single.data
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--addresses", type=int, help="10000; 2000 with --postfix")
    parser.add_argument("--baseline-sample", type=int, help="1000; 500 with --postfix")
    parser.add_argument("--rtt-ms", type=float, default=50.0, help="round trip added (loopback)")
    parser.add_argument("--known-share", type=float, default=KNOWN_SHARE, help="0.75")
    parser.add_argument("--window", type=int, default=2500, help="check_many window, bulk mode")
    parser.add_argument("--port", type=int, default=PORT, help="port of the loopback servers")
    parser.add_argument("--postfix", action="store_true", help="against a real Postfix instead")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--profile", metavar="FILE", help="cProfile the bulk mode into FILE")
    args = parser.parse_args(argv)
    if args.addresses is None:
        args.addresses = 1000 if args.quick else 2000 if args.postfix else 10_000
    if args.baseline_sample is None:
        args.baseline_sample = 200 if args.quick else 500 if args.postfix else 1000
    if args.addresses < 1 or args.baseline_sample < 1 or args.window < 1:
        parser.error("--addresses, --baseline-sample and --window must be >= 1")
    if not 0 <= args.known_share <= 1:
        parser.error("--known-share must be in 0..1")
    if args.rtt_ms < 0:
        parser.error("--rtt-ms must be >= 0")
    signal.signal(signal.SIGTERM, _raise_exit)
    return postfix(args) if args.postfix else loopback(args)


if __name__ == "__main__":
    sys.exit(main())
