"""A seeded, realistic mix of addresses for the benchmarks (no real people's addresses)."""

from __future__ import annotations

import random

FIRST = ["jane", "john", "maria", "li", "ahmed", "olga", "pierre", "yuki", "sam", "alex", "chris"]
LAST = ["doe", "smith", "garcia", "wang", "khan", "ivanova", "martin", "tanaka", "lee", "brown"]
POPULAR = [
    "gmail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "icloud.com",
    "aol.com",
    "gmx.de",
    "web.de",
    "orange.fr",
    "mail.ru",
    "qq.com",
    "yahoo.co.jp",
    "libero.it",
]
CORPORATE = [
    "python.org",
    "example-corp.com",
    "acme.io",
    "uni-heidelberg.de",
    "ox.ac.uk",
    "shop.example.co.uk",
    "bank.example.com.au",
    "startup.dev",
    "agency.fr",
]
TYPOS = ["gmial.com", "gmail.con", "hotmial.com", "yaho.com", "outlok.com", "gmailcom"]
DISPOSABLE = ["mailinator.com", "10minutemail.com", "guerrillamail.com"]
INVALID = [
    "plainaddress",
    "a@b@c.com",
    "john..doe@example.com",
    "@example.com",
    "jane@",
    "jane@localhost",
    "jane@example.123",
    "jane doe@example.com",
    "jane@-bad-.com",
]
UNUSUAL = [
    '"john doe"@example.com',
    "postmaster@[192.0.2.1]",
    "josé@bücher.de",
    "用户@例子.广告",
    "user@xn--bcher-kva.de",
    "Jane.Doe@EXAMPLE.COM",
]


def addresses(n: int, seed: int = 1) -> list[str]:
    """n addresses: ~78% plain ASCII, the rest typos, disposable, invalid and unusual ones."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        roll = rng.random()
        local = f"{rng.choice(FIRST)}.{rng.choice(LAST)}{rng.randrange(100)}"
        if rng.random() < 0.1:
            local += f"+{rng.choice(['news', 'shop', 'x'])}"
        if roll < 0.55:
            out.append(f"{local}@{rng.choice(POPULAR)}")
        elif roll < 0.78:
            out.append(f"{local}@{rng.choice(CORPORATE)}")
        elif roll < 0.84:
            out.append(f"{local}@{rng.choice(TYPOS)}")
        elif roll < 0.88:
            out.append(f"{local}@{rng.choice(DISPOSABLE)}")
        elif roll < 0.91:
            out.append(
                f"{rng.choice(['info', 'sales', 'noreply', 'support'])}@{rng.choice(CORPORATE)}"
            )
        elif roll < 0.96:
            out.append(rng.choice(INVALID))
        else:
            out.append(rng.choice(UNUSUAL))
    return out
