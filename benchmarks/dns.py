"""The DNS stage on a bulk run: 10,000 addresses over 100 domains through one MxLookup.

Usage: python benchmarks/dns.py [--addresses 10000] [--domains 100] [--workers 200]
                                [--baseline 1000]

Serves the domains from the loopback DNS server on 127.0.0.53 and prints the upstream MX
questions per domain (goal: exactly 1 for every domain), the questions by type, and the wall time
of the run; then the same per-address figures with no cache and no sharing for
`--baseline` addresses (one resolver, a new MxLookup per address), and the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

# Run as a script, this folder comes first on sys.path, and this file's name would hide dnspython.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from engine.config import Config, Timeouts  # noqa: E402
from engine.localworld import Zone  # noqa: E402
from engine.localworld.dns import LocalDnsServer  # noqa: E402
from engine.mx import DnsPythonResolver, MxLookup  # noqa: E402

HOST = "127.0.0.53"
PROVIDERS = 20  # domains share mail hosts, as real domains share their provider's


def _zone(domains: int) -> tuple[Zone, list[str]]:
    zone: dict[str, dict[str, object]] = {}
    names = [f"d{i:04d}.bench.test" for i in range(domains)]
    for i, name in enumerate(names):
        provider = f"p{i % PROVIDERS:02d}.bench.test"
        zone[name] = {"MX": [(10, f"mx1.{provider}"), (20, f"mx2.{provider}")]}
    for p in range(PROVIDERS):
        for n in (1, 2):
            zone[f"mx{n}.p{p:02d}.bench.test"] = {
                "A": [f"127.0.{p}.{n}"],
                "AAAA": [f"fd00::{p:x}:{n}"],
            }
    return zone, names


async def _run(domains: list[str], workers: int, lookup_for: Callable[[], MxLookup]) -> float:
    """Wall time for `workers` tasks to look up every domain of the list, once each."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for domain in domains:
        queue.put_nowait(domain)

    async def worker() -> None:
        while not queue.empty():
            await lookup_for().lookup(queue.get_nowait())

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return time.perf_counter() - start


def _by_type(server: LocalDnsServer) -> Counter[str]:
    counts: Counter[str] = Counter()
    for (_, rtype), n in server.queries.items():
        counts[rtype] += n
    return counts


async def main(args: argparse.Namespace) -> int:
    zone, names = _zone(args.domains)
    rng = random.Random(7)
    work = [names[i % len(names)] for i in range(args.addresses)]
    rng.shuffle(work)
    async with LocalDnsServer(zone, host=HOST) as server:
        config = Config(
            nameservers=(HOST,),
            dns_port=server.port,
            timeouts=Timeouts(dns_s=5.0),
            allow_private_addresses=True,
        )
        lookup = MxLookup(config)
        wall = await _run(work, args.workers, lambda: lookup)
        per_domain = [server.count(name, "MX") for name in names]
        shared_types = _by_type(server)
        stats = lookup.stats

        server.queries.clear()
        sample = work[: args.baseline]
        resolver = DnsPythonResolver(config)  # the same resolver, no MxLookup cache
        base_wall = await _run(sample, args.workers, lambda: MxLookup(config, resolver))
        base_types = _by_type(server)

    shared_q = sum(shared_types.values()) / len(work)
    base_q = sum(base_types.values()) / len(sample)
    shared_us = wall / len(work) * 1e6
    base_us = base_wall / len(sample) * 1e6
    print(
        f"addresses: {len(work)} over {len(names)} domains ({PROVIDERS} shared MX pairs), "
        f"{args.workers} concurrent workers"
    )
    print(
        f"upstream MX questions per domain: min {min(per_domain)}, max {max(per_domain)} (goal: 1)"
    )
    print(
        "upstream questions by type: "
        + ", ".join(f"{t} {n}" for t, n in sorted(shared_types.items()))
    )
    print(f"MxLookup stats: {stats}")
    print(f"wall time: {wall:.3f} s ({len(work) / wall:,.0f} lookups/s, {shared_us:.1f} us each)")
    print(
        f"no sharing, {len(sample)} addresses: {base_wall:.3f} s ({base_us:.1f} us each), "
        f"{base_q:.2f} questions each"
    )
    print(
        f"ratios, shared vs no sharing: questions per address {shared_q / base_q:.4f}, "
        f"time per address {shared_us / base_us:.4f}"
    )
    return 0 if min(per_domain) == max(per_domain) == 1 else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addresses", type=int, default=10_000)
    parser.add_argument("--domains", type=int, default=100)
    parser.add_argument("--workers", type=int, default=200)
    parser.add_argument("--baseline", type=int, default=1_000)
    sys.exit(asyncio.run(main(parser.parse_args())))
