"""Accuracy and speed of typo correction on tests/data/typos_labelled.tsv.

    .venv/bin/python benchmarks/typos.py [--part all|tuning|held-out] [--kinds] [--errors]

Prints precision, recall and F1 for the whole labelled set, its tuning part and its held-out
part (every fifth row), or only --part, then suggestions per second over a bulk-like stream of
domains, cold (memo off) and warm (memo filled). With --kinds it adds the figures of each kind
of row (famous, name, suffix, dot, both, comma, short, tld; the negatives' kinds count wrong
suggestions) for --part (default: all). With --errors it lists the wrong answers of --part
(default: the tuning part, so the held-out rows stay unseen while tuning). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.datasets import PSL_FILE, Datasets
from engine.typos import TypoCorrector

LABELLED = Path(__file__).resolve().parent.parent / "tests" / "data" / "typos_labelled.tsv"


def load_rows() -> list[tuple[str, str, str]]:
    rows = []
    for line in LABELLED.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        domain, expected, kind = [*line.split("\t"), "", ""][:3]
        rows.append((domain, expected, kind))
    return rows


def part(rows: list[tuple[str, str, str]], which: str) -> list[tuple[str, str, str]]:
    if which == "held-out":
        return [r for i, r in enumerate(rows) if i % 5 == 4]
    if which == "tuning":
        return [r for i, r in enumerate(rows) if i % 5 != 4]
    return rows


def corrector() -> TypoCorrector:
    ds = Datasets()
    if not (ds.data_dir / PSL_FILE).exists():  # fall back to publicsuffix2's bundled list
        from publicsuffix2 import PublicSuffixList

        psl = PublicSuffixList(idna=True)
        ds._loaded["psl"] = psl
    return TypoCorrector.from_datasets(ds)


def score(
    tc: TypoCorrector, rows: list[tuple[str, str, str]]
) -> tuple[float, float, float, list[tuple[str, str, str, str]]]:
    made = right = positives = 0
    wrong: list[tuple[str, str, str, str]] = []
    for domain, expected, kind in rows:
        got = tc.suggest(domain) or ""
        positives += bool(expected)
        made += bool(got)
        right += bool(got) and got == expected
        if got != expected:
            wrong.append((domain, expected, got, kind))
    precision = right / made if made else 1.0
    recall = right / positives if positives else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1, wrong


def print_kinds(tc: TypoCorrector, rows: list[tuple[str, str, str]]) -> None:
    """Per kind of row: how many, how many suggested right, wrong, or not at all."""
    table: dict[str, list[int]] = {}
    for domain, expected, kind in rows:
        got = tc.suggest(domain) or ""
        counts = table.setdefault(kind, [0, 0, 0, 0])
        counts[0] += 1
        counts[1] += bool(got) and got == expected
        counts[2] += bool(got) and got != expected
        counts[3] += bool(expected) and not got
    print(f"\n  {'kind':14s} {'rows':>5s} {'right':>6s} {'wrong':>6s} {'missed':>7s}")
    for kind, (n, right, wrong, missed) in sorted(table.items()):
        print(f"  {kind:14s} {n:5d} {right:6d} {wrong:6d} {missed:7d}")


def stream(rows: list[tuple[str, str, str]], count: int, seed: int) -> list[str]:
    """A bulk-like mix: mostly big providers, some corporate domains, a few typos."""
    rng = random.Random(seed)
    common = ["gmail.com"] * 30 + ["yahoo.com", "hotmail.com", "outlook.com", "icloud.com"] * 5
    negatives = [d for d, e, _ in rows if not e]
    positives = [d for d, e, _ in rows if e]
    out = []
    for _ in range(count):
        roll = rng.random()
        pool = common if roll < 0.6 else negatives if roll < 0.95 else positives
        out.append(rng.choice(pool))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("all", "tuning", "held-out"), default=None)
    ap.add_argument("--errors", action="store_true", help="list the wrong answers of --part")
    ap.add_argument("--kinds", action="store_true", help="figures for each kind of row")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--count", type=int, default=20000)
    args = ap.parse_args()

    rows = load_rows()
    positives = sum(1 for _, e, _ in rows if e)
    print(
        f"labelled set: {len(rows)} rows, {positives} positives, {len(rows) - positives} negatives"
    )
    for which in (args.part,) if args.part else ("all", "tuning", "held-out"):
        p, r, f, _ = score(corrector(), part(rows, which))
        n = len(part(rows, which))
        print(f"  {which:9s} n={n:5d}  precision {p:.4f}  recall {r:.4f}  F1 {f:.4f}")
    if args.kinds:
        print_kinds(corrector(), part(rows, args.part or "all"))
    if args.errors:
        which = args.part or "tuning"
        _, _, _, wrong = score(corrector(), part(rows, which))
        print(f"\nwrong answers ({which}): input, expected, got, kind")
        for domain, expected, got, kind in sorted(wrong, key=lambda w: (w[3], w[0])):
            print(f"  {domain:32s} {expected or '-':22s} {got or '-':22s} {kind}")

    domains = stream(rows, args.count, seed=7)
    cold = _no_memo(corrector())
    warm = corrector()
    for d in domains:  # fill the memo once; a bulk run repeats its domains
        warm.suggest(d)
    for label, tc_run in (("cold (memo off)", cold), ("warm (memo filled)", warm)):
        best = 0.0
        for _ in range(args.rounds):
            start = time.perf_counter()
            for d in domains:
                tc_run.suggest(d)
            best = max(best, len(domains) / (time.perf_counter() - start))
        print(f"suggestions/second, {label}: {best:,.0f}")


def _no_memo(tc: TypoCorrector) -> TypoCorrector:
    tc._cached = tc._suggest  # type: ignore[method-assign,assignment]
    return tc


if __name__ == "__main__":
    main()
