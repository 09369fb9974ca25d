"""What an egress costs: sessions through Dante and microsocks vs direct, on loopback.

Usage: python benchmarks/egress.py [--sessions 200] [--addresses 4000]

Needs root and Debian's dante-server and microsocks (tests/egress/install.sh). Starts a loopback
MailboxServer on 127.0.0.50, Dante on 127.0.0.51 and microsocks on 127.0.0.52 (both without
auth), then measures in one run:
- one session per address (`Verifier.averify`, one at a time): milliseconds per session;
- bulk (`Verifier.bulk()`, default politeness) over the same list: addresses per second,
  sessions, and the peak of concurrent sessions per client address the server saw;
and prints each mode's figures with its ratio to the direct run. Timings are printed, never
judged; exits 1 when a verdict is not Success or a client exceeded the session cap.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from engine.clock import FakeClock  # noqa: E402
from engine.config import Config, Timeouts  # noqa: E402
from engine.localworld.smtp import MailboxServer  # noqa: E402
from engine.model import Reason  # noqa: E402
from engine.routing import Egress, parse_proxy_url  # noqa: E402
from engine.testing import FakeResolver  # noqa: E402
from engine.verifier import Verifier  # noqa: E402
from tests.egress.proxies import Dante, MicroSocks, missing_programs  # noqa: E402
from tests.loopback.ports import free_port  # noqa: E402

MX_IP, DANTE_IP, MICRO_IP = "127.0.0.50", "127.0.0.51", "127.0.0.52"
SOURCE_IP = "127.0.0.53"
DOMAIN = "bench.test"


def _config(port: int, egresses: tuple[Egress, ...]) -> Config:
    return Config(
        allow_private_addresses=True,
        smtp_port=port,
        helo_name="probe.bench.test",
        mail_from="verify@bench.test",
        timeouts=Timeouts(connect_s=10.0, greeting_s=10.0, command_s=10.0, budget_s=600.0),
        egresses=egresses,
        detect_catch_all=False,
    )


def _resolver() -> FakeResolver:
    return FakeResolver({DOMAIN: {"MX": [(10, f"mx.{DOMAIN}")]}, f"mx.{DOMAIN}": {"A": [MX_IP]}})


async def _one_by_one(config: Config, addresses: list[str]) -> tuple[float, bool]:
    async with Verifier(config, resolver=_resolver(), clock=FakeClock()) as verifier:
        start = time.perf_counter()
        results = [await verifier.averify(a) for a in addresses]
        took = time.perf_counter() - start
    return took, all(r.reason is Reason.SUCCESS for r in results)


async def _bulk(config: Config, addresses: list[str]) -> tuple[float, int, bool]:
    async with Verifier(config, resolver=_resolver(), clock=FakeClock()) as verifier:
        checker = verifier.bulk()
        start = time.perf_counter()
        results = await asyncio.gather(*(checker.check(a) for a in addresses))
        took = time.perf_counter() - start
        sessions = checker.stats.sessions
    return took, sessions, all(r.reason is Reason.SUCCESS for r in results)


async def _run(args: argparse.Namespace, dante: Dante, micro: MicroSocks) -> int:
    users = [f"user{i}@{DOMAIN}" for i in range(args.addresses)]
    port = free_port([MX_IP])
    modes = {
        "direct": (),
        "dante": (Egress(name="d", proxy=parse_proxy_url(dante.url())),),
        "microsocks": (Egress(name="m", proxy=parse_proxy_url(micro.url())),),
        "dante + source": (
            Egress(name="d", proxy=parse_proxy_url(dante.url())),
            Egress(name="s", source_address=SOURCE_IP),
        ),
    }
    failed = False
    print(f"{'mode':<16}{'ms/session':>12}{'x direct':>10}{'bulk addr/s':>13}{'x direct':>10}"
          f"{'sessions':>10}{'peak/client':>13}")  # fmt: skip
    base: tuple[float, float] | None = None
    for name, egresses in modes.items():
        server = MailboxServer(MX_IP, port, users=users)
        async with server:
            config = _config(port, egresses)
            one_s, ok1 = await _one_by_one(config, users[: args.sessions])
            bulk_s, sessions, ok2 = await _bulk(config, users)
        per_session_ms = one_s / args.sessions * 1000
        rate = args.addresses / bulk_s
        if base is None:
            base = (per_session_ms, rate)
        peak = max(server.stats.peak_by_peer.values())
        cap = config.politeness.sessions_per_host
        failed |= not (ok1 and ok2) or peak > cap
        print(f"{name:<16}{per_session_ms:>12.1f}{per_session_ms / base[0]:>10.2f}"
              f"{rate:>13.0f}{rate / base[1]:>10.2f}{sessions:>10}{peak:>10} / {cap}")  # fmt: skip
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--addresses", type=int, default=4000)
    args = parser.parse_args()
    if missing_programs():
        print(f"missing: {missing_programs()}; run tests/egress/install.sh", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        dante = Dante(DANTE_IP, free_port([DANTE_IP]), Path(tmp, "dante"))
        micro = MicroSocks(MICRO_IP, free_port([MICRO_IP]), Path(tmp, "micro"))
        dante.start()
        try:
            micro.start()
            try:
                return asyncio.run(_run(args, dante, micro))
            finally:
                micro.stop()
        finally:
            dante.stop()


if __name__ == "__main__":
    raise SystemExit(main())
