"""Scale-out on Ray: the same bulk job over 1, 2 and 4 egress identities, against loopback mail
servers that allow each client address only N connections a minute, as real servers do.

Usage: python benchmarks/scaleout.py [--windows 2] [--per-minute 12] [--rcpt-delay 0.55]

Needs the `ray` extra. Starts one local Ray instance (a node offering egress:e1..e4) and two
loopback MX hosts (127.0.10.1, 127.0.10.2), each answering RCPTs after `--rcpt-delay` seconds
and refusing a client address's connection past `--per-minute` in a minute (a 421 at the
greeting, counted). Egress eN leaves from 127.0.10.1N. The politeness is what an operator who
knows those limits sets: `--per-minute` new connections a minute and 2 sessions per host, per
egress, one transaction of up to 18 RCPTs per session. With the defaults a full session lasts
about 10 s, so two at a time open just the 12 connections a minute a client may: each client
address's allowance (sessions and connections alike) sets the pace, not this machine's CPU.
Every job is the same list, sized so one egress needs `--windows` minutes; with E egresses each
host's addresses are split over all E (`spread=E`), so each host sees E client addresses, each
within its own allowance. (With shorter sessions the per-minute windows set the pace and a
job that fits one window at 4 egresses scales better than linearly: `--rcpt-delay 0.33` gave
2.2x and 5.9x.)

Prints, measured in this run:
- addresses per second for 1, 2 and 4 egresses on Ray and the ratio to one egress (goal: at
  least 1.8 at 2 and 3.2 at 4);
- what the servers counted: refused connections (must be 0), the peak of concurrent sessions
  per client address (<= 2) and per host in total (<= 2 x egresses);
- the Ray run on one egress against the single-process bulk run (`Verifier.bulk()`), same
  egress, same list (goal: at least 0.8);
- Ray's start-up time, the time its workers take to start, and the memory (RSS) of its
  processes: GCS, raylet, workers, and the other helpers.
Timings are printed, never judged; exits 1 when a verdict is wrong or a limit was exceeded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import resource
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from engine.config import Config, Politeness, Timeouts  # noqa: E402
from engine.localworld.smtp import MailboxServer  # noqa: E402
from engine.model import Reason, Result  # noqa: E402
from engine.ordered import check_many  # noqa: E402
from engine.routing import Egress  # noqa: E402
from engine.scaleout import ClusterVerifier, ScaleOut  # noqa: E402
from engine.testing import FakeResolver  # noqa: E402
from engine.verifier import Verifier  # noqa: E402
from tests.loopback.ports import free_port  # noqa: E402

HOSTS = {"mx.big1.test": "127.0.10.1", "mx.big2.test": "127.0.10.2"}
DOMAINS = {  # two domains on each host: one site per host
    "big1.test": "mx.big1.test",
    "big1-mail.test": "mx.big1.test",
    "big2.test": "mx.big2.test",
    "big2-mail.test": "mx.big2.test",
}
SOURCES = {f"e{n}": f"127.0.10.1{n}" for n in range(1, 5)}
SESSIONS_PER_HOST = 2
# The bulk checker never puts more RCPTs in one group than max_errors_per_session (18 by
# default: even a group refused whole stays below Postfix's hard error limit).
RCPTS_PER_SESSION = 18
# The servers count a client's connections over 59 s, not 60: a second of slack between the
# clocks of two processes (our gate notes the time before connecting, the server after).
SERVER_WINDOW_S = 59.0


def _zone() -> dict[str, dict[str, object]]:
    zone: dict[str, dict[str, object]] = {d: {"MX": [(10, mx)]} for d, mx in DOMAINS.items()}
    zone.update({mx: {"A": [ip]} for mx, ip in HOSTS.items()})
    return zone


def _job(windows: int, per_minute: int) -> list[str]:
    """Enough addresses that one egress needs `windows` minutes: per host, `windows` x
    `per_minute` sessions of RCPTS_PER_SESSION each; one in twenty does not exist."""
    per_host = windows * per_minute * RCPTS_PER_SESSION
    items = []
    for i in range(per_host):
        for host in HOSTS:
            domains = [d for d, mx in DOMAINS.items() if mx == host]
            domain = domains[i % len(domains)]
            items.append(f"ghost{i}@{domain}" if i % 20 == 7 else f"user{i}@{domain}")
    return items


def _config(port: int, egresses: int, per_minute: int) -> Config:
    return Config(
        allow_private_addresses=True,
        smtp_port=port,
        helo_name="probe.bench.test",
        mail_from="verify@bench.test",
        egresses=tuple(Egress(name=n, source_address=SOURCES[n]) for n in list(SOURCES)[:egresses]),
        politeness=Politeness(
            sessions_per_host=SESSIONS_PER_HOST,
            connections_per_minute_per_host=per_minute,
            rcpts_per_transaction=RCPTS_PER_SESSION,
            transactions_per_session=1,
        ),
        timeouts=Timeouts(connect_s=10.0, greeting_s=10.0, command_s=30.0, budget_s=3600.0),
    )


@contextlib.contextmanager
def _servers(
    port: int, users: list[str], args: argparse.Namespace
) -> Iterator[list[MailboxServer]]:
    made = [
        MailboxServer(
            ip,
            port,
            users=users,
            domains=list(DOMAINS),
            pipelining=True,
            rcpt_delay_s=args.rcpt_delay,
            connections_per_minute=args.per_minute,
            rate_window_s=SERVER_WINDOW_S,
            hostname=host,
        )
        for host, ip in HOSTS.items()
    ]
    with contextlib.ExitStack() as stack:
        for server in made:
            stack.enter_context(server.running_in_thread())
        yield made


@dataclass
class Run:
    label: str
    egresses: int
    seconds: float
    addresses: int
    sessions: int
    refused: int
    peak_per_client: int
    peak_per_host: int
    wrong: int
    worker_start_s: float = 0.0

    @property
    def rate(self) -> float:
        return self.addresses / self.seconds


def _wrong(items: list[str], results: list[Result]) -> int:
    bad = 0
    for item, r in zip(items, results, strict=True):
        want = Reason.MAILBOX_DOES_NOT_EXIST if item.startswith("ghost") else Reason.SUCCESS
        bad += r.input != item or r.reason is not want
    return bad


async def _single(config: Config, items: list[str]) -> tuple[float, list[Result]]:
    async with Verifier(config, resolver=FakeResolver(_zone())) as verifier:
        checker = verifier.bulk()
        start = time.perf_counter()
        results = [r async for _, r in check_many(items, checker.check, window=2000)]
        return time.perf_counter() - start, results


async def _on_ray(
    config: Config, items: list[str], spread: int, memory: dict[str, int] | None
) -> tuple[float, float, list[Result]]:
    verifier = Verifier(config, resolver=FakeResolver(_zone()))
    scaleout = ScaleOut(address="local", spread=spread, batch=100)
    started = time.perf_counter()
    async with ClusterVerifier(scaleout=scaleout, verifier=verifier) as cv:
        ready = time.perf_counter() - started
        start = time.perf_counter()
        results = [r async for _, r in check_many(items, cv.check, window=2000)]
        took = time.perf_counter() - start
        if memory is not None:
            memory.update(_ray_memory())
    return took, ready, results


def _measure(label: str, egresses: int, servers: list[MailboxServer], items: list[str],
             took: float, results: list[Result], ready: float = 0.0) -> Run:  # fmt: skip
    return Run(
        label=label,
        egresses=egresses,
        seconds=took,
        addresses=len(items),
        sessions=sum(s.stats.connections for s in servers),
        refused=sum(s.stats.rate_refused for s in servers),
        peak_per_client=max(max(s.stats.peak_by_peer.values(), default=0) for s in servers),
        peak_per_host=max(s.stats.peak for s in servers),
        wrong=_wrong(items, results),
        worker_start_s=ready,
    )


def _ray_memory() -> dict[str, int]:
    """RSS in KiB of Ray's processes on this machine, by kind."""
    totals: dict[str, int] = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        kind = _kind(cmd)
        if kind is None:
            continue
        rss = next((int(x.split()[1]) for x in status.splitlines() if x.startswith("VmRSS:")), 0)
        totals[kind] = totals.get(kind, 0) + rss
        totals[f"{kind} (processes)"] = totals.get(f"{kind} (processes)", 0) + 1
    return totals


def _kind(cmd: str) -> str | None:
    if "gcs_server" in cmd:
        return "GCS"
    if "/raylet/raylet" in cmd:
        return "raylet"
    if cmd.startswith("ray::") or "default_worker.py" in cmd:
        return "workers"
    if "site-packages/ray/" in cmd:
        return "other Ray helpers"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--windows", type=int, default=2, help="minutes one egress needs")
    parser.add_argument("--per-minute", type=int, default=12, help="connections a minute")
    parser.add_argument("--rcpt-delay", type=float, default=0.55, help="seconds per RCPT reply")
    args = parser.parse_args(argv)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    # Keep every Ray process on 127.0.0.1 (by default Ray uses the machine's network address).
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    items = _job(args.windows, args.per_minute)
    users = [x for x in items if not x.startswith("ghost")]
    port = free_port(list(HOSTS.values()))
    print(
        f"job: {len(items)} addresses on 2 MX hosts; servers allow each client address "
        f"{args.per_minute} connections a minute and answer each RCPT after {args.rcpt_delay} s; "
        f"politeness per egress: {args.per_minute} connections a minute and "
        f"{SESSIONS_PER_HOST} sessions per host, {RCPTS_PER_SESSION} RCPTs a session"
    )

    import ray

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    ray.init(
        address="local",
        resources={f"egress:{name}": 1.0 for name in SOURCES},
        include_dashboard=False,
        logging_level=logging.WARNING,
        log_to_driver=False,
    )
    ray_start_s = time.perf_counter() - start
    rss_driver = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    idle = _ray_memory()
    memory: dict[str, int] = {}
    runs: list[Run] = []
    try:
        for egresses in (1, 2, 4):
            config = _config(port, egresses, args.per_minute)
            with _servers(port, users, args) as servers:
                took, ready, results = asyncio.run(
                    _on_ray(config, items, egresses, memory if egresses == 4 else None)
                )
            runs.append(_measure("ray", egresses, servers, items, took, results, ready))
            _print_run(runs[-1], runs[0])
        with _servers(port, users, args) as servers:
            took, results = asyncio.run(_single(_config(port, 1, args.per_minute), items))
        single = _measure("single process", 1, servers, items, took, results)
        _print_run(single, runs[0])
    finally:
        ray.shutdown()

    print()
    ray1 = runs[0]
    for run in runs[1:]:
        goal = 1.8 if run.egresses == 2 else 3.2
        print(
            f"scaling, {run.egresses} egresses vs 1: {run.rate / ray1.rate:.2f}x (goal >= {goal})"
        )
    print(f"Ray on one egress vs single process: {ray1.rate / single.rate:.2f} (goal >= 0.8)")
    print(f"Ray start-up (ray.init, one local node): {ray_start_s:.1f} s")
    print(f"driver: RSS up {rss_driver // 1024} MiB after ray.init")
    starts = ", ".join(f"{r.egresses}: {r.worker_start_s:.1f} s" for r in runs)
    print(f"workers started and ready, by egresses: {starts}")
    print("Ray memory, RSS (idle after start | with 4 egress workers running):")
    for kind in ("GCS", "raylet", "workers", "other Ray helpers"):
        before, during = idle.get(kind, 0) // 1024, memory.get(kind, 0) // 1024
        n_before, n_during = (
            idle.get(f"{kind} (processes)", 0),
            memory.get(f"{kind} (processes)", 0),
        )
        print(f"  {kind:<18} {before:>5} MiB in {n_before} | {during:>5} MiB in {n_during}")
    failed = [
        r
        for r in [*runs, single]
        if r.wrong or r.refused or r.peak_per_client > SESSIONS_PER_HOST
        or r.peak_per_host > SESSIONS_PER_HOST * r.egresses
    ]  # fmt: skip
    for r in failed:
        print(f"FAILED: {r.label} x{r.egresses}: {r}")
    return 1 if failed else 0


def _print_run(run: Run, base: Run) -> None:
    print(
        f"{run.label:<15} egresses {run.egresses}: {run.seconds:7.1f} s, {run.rate:6.2f} addr/s "
        f"({run.rate / base.rate:.2f}x); sessions {run.sessions}, refused {run.refused}, "
        f"peak per client {run.peak_per_client}, peak per host {run.peak_per_host}, "
        f"wrong verdicts {run.wrong}",
        flush=True,
    )


if __name__ == "__main__":
    raise SystemExit(main())
