"""Calls per second of the syntax stage: fast path, full parser, and email-validator alone.

    .venv/bin/python benchmarks/syntax.py [--count 50000] [--rounds 3]

All three run over the same seeded mix of addresses in one process, and the figures are printed
as ratios to `email_validator.validate_email(check_deliverability=False)`. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from email_validator import EmailNotValidError, validate_email

from engine.errors import AddressError
from engine.syntax import _parse_full, parse_address

FIRST = ["john", "mary", "li", "ahmed", "sofia", "k", "jean-luc", "o'neil", "anna", "x_y"]
LAST = ["smith", "garcia", "wang", "müller", "nguyen", "dupont", "kowalski", "rossi"]
DOMAINS = ["gmail.com", "yahoo.co.uk", "Outlook.COM", "example.test", "mail.example.org"]
DOMAINS += ["company.io", "sub.dept.university.edu", "web.de", "bücher.de", "xn--bcher-kva.de"]
UNUSUAL = ['"john doe"@example.com', "user@[192.0.2.1]", "user@[IPv6:2001:db8::1]"]
UNUSUAL += ["用户@例子.广告", "josé@example.com", '"a@b"@example.com']
BROKEN = ["john.example.com", "a@b@example.com", "john..doe@example.com", "user@localhost"]
BROKEN += ["user@example.123", ".john@example.com", "john@-example.com", "john doe@example.com"]


def plain(rng: random.Random) -> str:
    local = rng.choice(FIRST)
    if rng.random() < 0.6:
        local += rng.choice(".-_") + rng.choice(LAST).replace("ü", "u")
    if rng.random() < 0.15:
        local += "+" + rng.choice(["news", "shop", "2024"])
    if rng.random() < 0.2:
        local = local.capitalize()
    domain = rng.choice([d for d in DOMAINS if d.isascii() and "xn--" not in d])
    return f"{local}@{domain}"


def mixed(count: int, seed: int) -> list[str]:
    """80% plain ASCII, 12% IDN, quoted, literal or UTF-8, 8% broken."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.80:
            out.append(plain(rng))
        elif roll < 0.86:
            out.append(f"{rng.choice(FIRST)}@{rng.choice(DOMAINS)}")
        elif roll < 0.92:
            out.append(rng.choice(UNUSUAL))
        else:
            out.append(rng.choice(BROKEN))
    return out


def rate(func: Callable[[str], object], corpus: list[str], rounds: int) -> float:
    """Best calls per CPU second over `rounds` passes (this process's CPU time, so that other
    work on a shared machine does not count against the parser)."""
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        for text in corpus:
            with contextlib.suppress(AddressError, EmailNotValidError):
                func(text)
        best = min(best, time.process_time() - start)
    return len(corpus) / best


def validator(text: str) -> object:
    return validate_email(text, check_deliverability=False)


def report(title: str, corpus: list[str], rounds: int) -> None:
    base = rate(validator, corpus, rounds)
    print(f"\n{title} ({len(corpus):,} addresses, best of {rounds})")
    print(f"  {'':<36}{'calls/s':>12}{'ratio':>9}")
    for name, func in (
        ("parse_address (fast path on)", parse_address),
        ("_parse_full (the full parser)", _parse_full),
        ("validate_email alone", validator),
    ):
        calls = base if func is validator else rate(func, corpus, rounds)
        print(f"  {name:<36}{calls:>12,.0f}{calls / base:>8.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    report("Mixed addresses", mixed(args.count, seed=1), args.rounds)
    rng = random.Random(2)
    report("Plain ASCII addresses", [plain(rng) for _ in range(args.count)], args.rounds)
    typical = ["john.smith+news@gmail.com"] * args.count
    report("john.smith+news@gmail.com", typical, args.rounds)


if __name__ == "__main__":
    main()
