"""Offline pipeline throughput vs email-validator's syntax check alone, in one run.

Usage: python benchmarks/offline.py [--n 100000] [--memory-lines 1000000]

Prints addresses/second for both and their ratio (goal: >= 1.0), then the peak memory of the CLI
streaming a large file (goal: flat, not growing with the number of lines).
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import addresses
from email_validator import EmailNotValidError, validate_email

from engine.config import Config
from engine.verifier import Verifier


def _email_validator_alone(items: list[str]) -> float:
    start = time.perf_counter()
    for raw in items:
        with contextlib.suppress(EmailNotValidError):
            validate_email(raw, check_deliverability=False)
    return time.perf_counter() - start


def _pipeline(items: list[str]) -> float:
    verifier = Verifier(Config(check_dns=False, check_smtp=False))
    verifier.check_offline("warm.up@gmail.com")  # load the lists outside the timed loop
    start = time.perf_counter()
    for raw in items:
        verifier.check_offline(raw)
    return time.perf_counter() - start


def _peak_rss_mb(lines: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.txt"
        batch = addresses(10_000, seed=7)
        with src.open("w", encoding="utf-8") as fh:
            for i in range(lines):
                fh.write(batch[i % len(batch)] + "\n")
        cmd = [
            sys.executable,
            "-m",
            "engine",
            "verify",
            "--offline",
            "-q",
            "-i",
            str(src),
            "-o",
            str(Path(tmp) / "out.jsonl"),
        ]
        subprocess.run(cmd, check=True)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--memory-lines",
        type=int,
        default=0,
        help="also stream this many lines through the CLI and report peak RSS",
    )
    args = parser.parse_args()
    items = addresses(args.n)
    ev = min(_email_validator_alone(items) for _ in range(args.rounds))
    mp = min(_pipeline(items) for _ in range(args.rounds))
    print(f"addresses: {args.n} (best of {args.rounds} rounds)")
    print(f"email-validator validate_email alone: {args.n / ev:10.0f} addresses/s")
    print(f"mailprobe offline pipeline:           {args.n / mp:10.0f} addresses/s")
    print(f"ratio pipeline / email-validator:     {ev / mp:10.2f}  (goal >= 1.0)")
    if args.memory_lines:
        for lines in (args.memory_lines // 10, args.memory_lines):
            print(f"CLI peak RSS streaming {lines:>9} lines: {_peak_rss_mb(lines):7.1f} MiB")


if __name__ == "__main__":
    main()
