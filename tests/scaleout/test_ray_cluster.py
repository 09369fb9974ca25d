"""Bulk jobs on a local two-node Ray cluster (ray.cluster_utils.Cluster).

Each node offers its own egress resource (egress:a, egress:b) and each egress leaves from its
own source address (127.0.8.11, 127.0.8.12); the loopback mail servers count concurrent sessions
per client address and in total. One cluster serves the whole module and is always shut down.

Ray is started with RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 so every Ray process listens and
connects on 127.0.0.1 (by default Ray uses the machine's own network address), and with
RAY_USAGE_STATS_ENABLED=0.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.config import Config, Politeness, Timeouts
from engine.localworld.dns import LocalDnsServer
from engine.localworld.smtp import MailboxServer
from engine.model import Reason, Result
from engine.ordered import check_many
from engine.routing import Egress
from engine.scaleout import ClusterVerifier, ScaleOut
from engine.testing import FakeResolver
from engine.verifier import Verifier
from tests.loopback.ports import free_port

if os.environ.get("CI", "").lower() != "true":
    pytest.importorskip("ray", reason="Ray is not installed: pip install 'mailprobe[ray]'")
import ray
from ray.cluster_utils import Cluster

SOURCES = {"a": "127.0.8.11", "b": "127.0.8.12"}
EGRESS_OF = {ip: name for name, ip in SOURCES.items()}
MX = {"alpha.test": "127.0.8.1", "beta.test": "127.0.8.2"}
DNS_HOST = "127.0.8.53"
PORT = free_port(list(MX.values()))
ZONE: dict[str, dict[str, object]] = {
    **{d: {"MX": [(10, f"mx.{d}")]} for d in MX},
    **{f"mx.{d}": {"A": [ip]} for d, ip in MX.items()},
}
SESSIONS_PER_HOST = 2


def _good(domain: str, n: int) -> list[str]:
    return [f"user{i}@{domain}" for i in range(n)]


def _items(domain: str, n: int) -> list[str]:
    """n addresses of `domain`: every fifth one does not exist."""
    return [f"ghost{i}@{domain}" if i % 5 == 0 else f"user{i}@{domain}" for i in range(n)]


def _both(n: int) -> list[str]:
    """n addresses of each domain, taking turns."""
    pairs = zip(_items("alpha.test", n), _items("beta.test", n), strict=True)
    return [x for pair in pairs for x in pair]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("RAY_USAGE_STATS_ENABLED", "0")
        env.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        made = Cluster(
            initialize_head=True,
            head_node_args={
                "num_cpus": 1,
                "resources": {"egress:a": 1},
                "include_dashboard": False,
            },
        )
        try:
            made.add_node(num_cpus=1, resources={"egress:b": 1})
            made.wait_for_nodes()
            ray.init(
                address=made.address,
                include_dashboard=False,
                logging_level=logging.WARNING,
                log_to_driver=False,
            )
            yield made
        finally:
            ray.shutdown()
            made.shutdown()


@pytest.fixture
def servers() -> Iterator[dict[str, MailboxServer]]:
    # Each RCPT is answered after 10 ms, so a job is still running when a test kills a part.
    made = {
        domain: MailboxServer(
            ip,
            PORT,
            users=_good(domain, 1000),
            domains=[domain],
            pipelining=True,
            rcpt_delay_s=0.01,
        )
        for domain, ip in MX.items()
    }
    with contextlib.ExitStack() as stack:
        for server in made.values():
            stack.enter_context(server.running_in_thread())
        yield made
    for server in made.values():
        assert server.stats.count("DATA") == 0


def _config(**changes: object) -> Config:
    base = Config(
        allow_private_addresses=True,
        smtp_port=PORT,
        helo_name="probe.mailprobe.test",
        mail_from="verify@mailprobe.test",
        egresses=tuple(Egress(name=n, source_address=ip) for n, ip in SOURCES.items()),
        politeness=Politeness(sessions_per_host=SESSIONS_PER_HOST, rcpts_per_transaction=10),
        timeouts=Timeouts(connect_s=5.0, greeting_s=5.0, command_s=5.0, budget_s=300.0),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def _scaleout(cluster: Cluster, **changes: object) -> ScaleOut:
    base = ScaleOut(address=cluster.address, batch=20, linger_s=0.01, ready_timeout_s=120.0)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


async def _run(verifier: ClusterVerifier, items: list[str]) -> list[Result]:
    return [r async for _, r in check_many(items, verifier.check, window=200)]


def _check_verdicts(items: list[str], results: list[Result]) -> None:
    assert [r.input for r in results] == items  # every row once, in input order
    for r in results:
        want = Reason.MAILBOX_DOES_NOT_EXIST if r.input.startswith("ghost") else Reason.SUCCESS
        assert r.reason is want, r


def _rcpts(server: MailboxServer, start: int = 0) -> Counter[str]:
    return Counter(
        line.split("<", 1)[1].split(">", 1)[0].lower()
        for line in server.stats.commands[start:]
        if line.upper().startswith("RCPT")
    )


async def test_each_site_is_asked_by_one_egress_within_its_limits(
    cluster: Cluster, servers: dict[str, MailboxServer]
) -> None:
    items = _both(80)
    config = _config()
    cv = ClusterVerifier(
        scaleout=_scaleout(cluster), verifier=Verifier(config, resolver=FakeResolver(ZONE))
    )
    async with cv:
        results = await _run(cv, items)
    _check_verdicts(items, results)
    owners = {domain: set(s.stats.peers) for domain, s in servers.items()}
    # Each mail host saw exactly one client address, and the two sites went to both egresses.
    assert all(len(peers) == 1 for peers in owners.values()), owners
    assert {EGRESS_OF[p] for peers in owners.values() for p in peers} == {"a", "b"}
    for server in servers.values():
        assert max(server.stats.peak_by_peer.values()) <= SESSIONS_PER_HOST
        assert server.stats.peak <= SESSIONS_PER_HOST  # in total, across the cluster
    assert {w.egress for w in cv.workers} == {"a", "b"}
    assert sum(w.sessions for w in cv.workers) == sum(s.stats.connections for s in servers.values())
    assert "at most 1 egress" in cv.summary()


async def test_spread_two_splits_one_host_over_both_egresses(
    cluster: Cluster, servers: dict[str, MailboxServer]
) -> None:
    items = _items("alpha.test", 160)
    config = _config()
    cv = ClusterVerifier(
        scaleout=_scaleout(cluster, spread=2),
        verifier=Verifier(config, resolver=FakeResolver(ZONE)),
    )
    async with cv:
        results = await _run(cv, items)
    _check_verdicts(items, results)
    alpha = servers["alpha.test"].stats
    assert set(alpha.peers) == set(SOURCES.values())
    assert max(alpha.peak_by_peer.values()) <= SESSIONS_PER_HOST
    assert alpha.peak <= 2 * SESSIONS_PER_HOST  # the documented bound: owners x per-host limit
    asked = _rcpts(servers["alpha.test"])
    assert all(asked[x] == 1 for x in items)  # each address through one egress, once
    assert "at most 2 egress" in cv.summary()


async def test_a_killed_worker_is_restarted_and_its_addresses_asked_again(
    cluster: Cluster, servers: dict[str, MailboxServer]
) -> None:
    items = _items("alpha.test", 300)
    alpha = servers["alpha.test"]
    cv = ClusterVerifier(
        scaleout=_scaleout(cluster), verifier=Verifier(_config(), resolver=FakeResolver(ZONE))
    )
    async with cv:
        job = asyncio.ensure_future(_run(cv, items))
        for _ in range(3000):  # up to 30 s for the first answers
            if alpha.stats.count("RCPT") >= 30 or job.done():
                break
            await asyncio.sleep(0.01)
        assert not job.done(), "the job ended before a worker could be killed"
        owner = EGRESS_OF[alpha.stats.peers[0]]
        killed_at = time.time()
        ray.kill(cv.cluster.handle(owner), no_restart=False)
        results = await asyncio.wait_for(job, 120)
        resent = cv.cluster.resent
    _check_verdicts(items, results)
    assert resent >= 1
    restarted = [w for w in cv.workers if w.egress == owner]
    assert restarted and restarted[0].started > killed_at  # a new incarnation finished the job
    assert max(alpha.stats.peak_by_peer.values()) <= SESSIONS_PER_HOST


def _cli(dns: LocalDnsServer, address: str, src: Path, out: Path, cache: Path) -> list[str]:
    return [
        sys.executable, "-m", "engine", "verify", "-q", "--ray", address,
        "--nameserver", DNS_HOST, "--dns-port", str(dns.port),
        "--smtp-port", str(PORT), "--allow-private",
        "--helo", "probe.mailprobe.test", "--mail-from", "verify@mailprobe.test",
        "--egress", f"a,source={SOURCES['a']}", "--egress", f"b,source={SOURCES['b']}",
        "--sessions-per-host", "1", "--window", "50",
        "--cache", str(cache), "-i", str(src), "-o", str(out), "--format", "jsonl",
    ]  # fmt: skip


async def _wait(args: list[str], *, out: Path, kill_after_rows: int | None = None) -> int:
    proc = await asyncio.create_subprocess_exec(*args, stdin=asyncio.subprocess.DEVNULL)
    if kill_after_rows is not None:
        for _ in range(12000):  # up to 120 s: the driver joins the cluster and starts workers
            if out.exists() and out.read_bytes().count(b"\n") >= kill_after_rows:
                proc.send_signal(signal.SIGKILL)
                break
            if proc.returncode is not None:
                break
            await asyncio.sleep(0.01)
    return await asyncio.wait_for(proc.wait(), 240)


async def test_a_killed_driver_resumes_with_every_row_once_in_order(
    cluster: Cluster, servers: dict[str, MailboxServer], tmp_path: Path
) -> None:
    items = _both(300)
    src = tmp_path / "in.txt"
    src.write_text("\n".join(items) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    with LocalDnsServer(ZONE, host=DNS_HOST) as dns:
        args = _cli(dns, cluster.address, src, out, tmp_path / "cache.sqlite3")
        code = await _wait(args, out=out, kill_after_rows=60)
        assert code == -signal.SIGKILL, "the first run finished before it could be killed"
        seen_first = {name: len(s.stats.commands) for name, s in servers.items()}
        written_before = {
            json.loads(line)["input"]
            for line in out.read_text(encoding="utf-8").splitlines()
            if line.endswith("}")
        }
        assert await _wait([*args, "--resume"], out=out) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["input"] for r in rows] == items  # every row once, in input order
    for r in rows:
        want = "MailboxDoesNotExist" if r["input"].startswith("ghost") else "Success"
        assert r["reason"] == want, r
    # What the first run settled came from the cache: not asked again.
    again = set()
    for name, server in servers.items():
        again |= set(_rcpts(server, seen_first[name]))
    assert not {x.lower() for x in written_before} & again
    for server in servers.values():
        assert set(server.stats.peers) <= set(SOURCES.values())
        assert max(server.stats.peak_by_peer.values()) <= 1  # --sessions-per-host 1
