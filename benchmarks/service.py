"""The HTTP service against the CLI and the library, on one loopback mail world.

Usage: python benchmarks/service.py [--addresses 10000] [--singles 200]
                                    [--upload-rows 1000000] [--quick]

Starts a DNS server and 10 SMTP servers (MailboxServer, PIPELINING, 80% of the addresses
exist) on 127.0.8.x in this process's threads, then measures, in one run:

1. a job of --addresses addresses through `mailprobe serve` (POST /v1/jobs, polled until
   completed) against `mailprobe verify -i FILE` (the CLI's bulk run, its own timing line),
   both without a result cache: addresses per second and their ratio (goal >= 0.9); the two
   runs' verdicts must agree;
2. --singles single checks, one after another, through GET /v1/verify against
   `Verifier.averify` in this process: p50 and p99 latency;
3. the server's peak resident memory (VmHWM) while a CSV of --upload-rows rows is uploaded
   (the server runs --offline, so only the upload and its import are measured).

Exits 1 when the verdicts differ; timings are printed, never judged by the exit code.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

# Run as a script, this folder comes first on sys.path; the repository root is what we need.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import httpx  # noqa: E402

from engine.config import Config  # noqa: E402
from engine.demo import free_smtp_port  # noqa: E402
from engine.localworld.dns import LocalDnsServer  # noqa: E402
from engine.localworld.smtp import MailboxServer  # noqa: E402
from engine.verifier import Verifier  # noqa: E402

DNS_IP = "127.0.8.53"
DOMAINS = [(f"bench{i}.test", f"127.0.8.{10 + i}") for i in range(10)]
HELO, MAIL_FROM = "bench.mailprobe.test", "verify@mailprobe.test"


def _addresses(n: int, rng: random.Random, prefix: str) -> tuple[list[str], set[str]]:
    items, known = [], set()
    for i in range(n):
        domain = DOMAINS[i % len(DOMAINS)][0]
        address = f"{prefix}{i}@{domain}"
        items.append(address)
        if rng.random() < 0.8:
            known.add(address)
    return items, known


@contextlib.contextmanager
def world(known: set[str]) -> Iterator[tuple[int, int]]:
    port = free_smtp_port([ip for _, ip in DOMAINS], preferred=12825)
    zone: dict[str, dict[str, object]] = {}
    for domain, ip in DOMAINS:
        zone[domain] = {"MX": [(10, f"mx.{domain}")]}
        zone[f"mx.{domain}"] = {"A": [ip]}
    with contextlib.ExitStack() as stack:
        dns = stack.enter_context(LocalDnsServer(zone, host=DNS_IP))
        for domain, ip in DOMAINS:
            users = [a for a in known if a.endswith("@" + domain)]
            server = MailboxServer(
                ip, port, users=users, domains=[domain], pipelining=True, hostname=f"mx.{domain}"
            )
            stack.enter_context(server.running_in_thread())
        yield dns.port, port


def _flags(dns_port: int, smtp_port: int) -> list[str]:
    return [
        "--nameserver", DNS_IP, "--dns-port", str(dns_port), "--smtp-port", str(smtp_port),
        "--allow-private", "--helo", HELO, "--mail-from", MAIL_FROM, "--no-cache",
    ]  # fmt: skip


def run_cli(items: list[str], flags: list[str], tmp: Path) -> tuple[float, list[dict[str, str]]]:
    src, out = tmp / "cli-in.txt", tmp / "cli-out.jsonl"
    src.write_text("\n".join(items) + "\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "engine", "verify", *flags, "-i", str(src), "-o", str(out),
         "--format", "jsonl"],
        capture_output=True, text=True, check=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    # "mailprobe: N checked in X s (...)": the run itself, without the interpreter's start.
    line = next(x for x in done.stderr.splitlines() if " checked in " in x)
    took = float(line.split(" checked in ")[1].split(" s")[0])
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    return took, rows


class Service:
    def __init__(self, data: Path, flags: list[str]) -> None:
        self.data = data
        made = subprocess.run(
            [sys.executable, "-m", "engine", "keys", "create", "--name", "bench",
             "--data-dir", str(data)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        self.key = made.stdout.strip()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "engine", "serve", "--port", "0", "--data-dir", str(data),
             "--rate", "100000", "--burst", "100000", *flags],
            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        assert self.proc.stderr is not None
        self.url = ""
        for line in self.proc.stderr:
            if "serving on " in line:
                self.url = line.split("serving on ", 1)[1].split()[0]
                break
        if not self.url:
            raise RuntimeError("the service did not start")
        self.http = httpx.Client(base_url=self.url, headers={"X-API-Key": self.key}, timeout=600)
        for _ in range(500):
            with contextlib.suppress(httpx.TransportError):
                if self.http.get("/healthz").status_code == 200:
                    break
            time.sleep(0.02)

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.http.close()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def run_job(service: Service, items: list[str]) -> tuple[float, list[dict[str, str]]]:
    start = time.perf_counter()
    job_id = service.http.post("/v1/jobs", json={"emails": items}).json()["id"]
    while True:
        job = service.http.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("completed", "failed", "cancelled"):
            break
        time.sleep(0.02)
    took = time.perf_counter() - start
    text = service.http.get(f"/v1/jobs/{job_id}/results").text
    return took, [json.loads(x) for x in text.splitlines()]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def singles_service(service: Service, items: list[str]) -> list[float]:
    times = []
    for address in items:
        start = time.perf_counter()
        reply = service.http.get("/v1/verify", params={"email": address, "timeout": "120"})
        times.append((time.perf_counter() - start) * 1000)
        assert reply.status_code == 200 and reply.json()["complete"], reply.text
    return times


async def singles_library(config: Config, items: list[str]) -> list[float]:
    times = []
    async with Verifier(config) as verifier:
        for address in items:
            start = time.perf_counter()
            await verifier.averify(address)
            times.append((time.perf_counter() - start) * 1000)
    return times


def upload(service: Service, rows: int, tmp: Path) -> tuple[float, float, float]:
    src = tmp / "upload.csv"
    with src.open("w", encoding="utf-8") as fh:
        fh.write("id,email,name\n")
        for i in range(rows):
            fh.write(f"{i},person{i}@bench{i % 10}.test,Person {i}\n")
    service.http.get("/version")
    before = service.rss_mb()
    start = time.perf_counter()
    with src.open("rb") as fh:
        reply = service.http.post(
            "/v1/jobs?column=email", content=fh, headers={"Content-Type": "text/csv"}
        )
    took = time.perf_counter() - start
    assert reply.status_code == 201 and reply.json()["total"] == rows, reply.text
    peak = service.peak_rss_mb()
    service.http.delete(f"/v1/jobs/{reply.json()['id']}")
    return before, peak, took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--addresses", type=int, default=10_000)
    # 20 per mail host: under the engine's cap of 30 new connections per host per minute.
    parser.add_argument("--singles", type=int, default=200)
    parser.add_argument("--upload-rows", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="1,000 / 50 / 100,000")
    args = parser.parse_args()
    if args.quick:
        args.addresses, args.singles, args.upload_rows = 1000, 50, 100_000
    rng = random.Random(7)
    items, known = _addresses(args.addresses, rng, "job")
    singles, known_singles = _addresses(args.singles * 2, rng, "one")
    with tempfile.TemporaryDirectory(prefix="mailprobe-bench-") as tmp_name:
        tmp = Path(tmp_name)
        with world(known | known_singles) as (dns_port, smtp_port):
            flags = _flags(dns_port, smtp_port)
            cli_s, cli_rows = run_cli(items, flags, tmp)
            # Single checks first, on a service of their own: each opens a connection, and the
            # engine's politeness caps new connections per host per minute (30), so they must
            # not queue behind a job's.
            service = Service(tmp / "data-singles", flags)
            try:
                via_service = singles_service(service, singles[: args.singles])
            finally:
                service.stop()
            service = Service(tmp / "data", flags)
            try:
                job_s, job_rows = run_job(service, items)
            finally:
                service.stop()
            config = Config(
                nameservers=(DNS_IP,), dns_port=dns_port, smtp_port=smtp_port,
                allow_private_addresses=True, helo_name=HELO, mail_from=MAIL_FROM,
            )  # fmt: skip
            via_library = asyncio.run(singles_library(config, singles[args.singles :]))
        offline = Service(tmp / "data-offline", ["--offline", "--no-cache"])
        try:
            before, peak, upload_s = upload(offline, args.upload_rows, tmp)
        finally:
            offline.stop()
    n = len(items)
    verdicts_cli = [(r["input"], r["state"], r["reason"]) for r in cli_rows]
    verdicts_job = [(r["input"], r["state"], r["reason"]) for r in job_rows]
    print(f"1. bulk, {n} addresses ({len(known & set(items))} exist), no result cache")
    print(f"   CLI (mailprobe verify -i)      {cli_s:8.2f} s  {n / cli_s:8.0f} addresses/s")
    print(f"   service job (POST -> complete) {job_s:8.2f} s  {n / job_s:8.0f} addresses/s")
    print(f"   ratio service / CLI            {cli_s / job_s:8.2f}  (goal >= 0.9)")
    print(f"   verdicts agree                 {verdicts_cli == verdicts_job}")
    print(f"2. single checks, one after another ({args.singles} each, distinct addresses)")
    for name, values in (("service GET /v1/verify", via_service), ("library averify", via_library)):
        print(
            f"   {name:<24} p50 {_pct(values, 0.5):7.2f} ms   p99 {_pct(values, 0.99):7.2f} ms"
            f"   mean {statistics.fmean(values):7.2f} ms"
        )
    print(f"3. upload of a {args.upload_rows}-row CSV to a --offline server")
    print(f"   resident before {before:7.1f} MiB, peak {peak:7.1f} MiB, upload {upload_s:6.1f} s")
    return 0 if verdicts_cli == verdicts_job else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
