"""How well engine.replies reads real RCPT replies: tests/data/rcpt_replies_labelled.tsv.

    .venv/bin/python benchmarks/replies.py [--part all|tune|held-out] [--errors]

Prints, for the whole set and for its tuning and held-out parts (every fifth row, set aside when
the set was written), the number of rows, how often the state agrees with the label, the wrong
undeliverables (a mailbox that may exist called undeliverable: must be 0), the recall of
user-unknown replies and the precision of MailboxDoesNotExist; then the same per source family.
With --errors it lists the rows whose state disagrees, for --part (default: the tuning part, so the
held-out rows stay unseen while tuning). Nothing is asserted here: the floors live in
tests/unit/test_replies_labelled.py.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.data.rcpt_replies import Figures, Labelled, Outcome, figures, judge, load

# Source families, first match wins; matched against the source column and the host, lower-cased.
FAMILIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Gmail / Google Workspace", ("google",)),
    ("Microsoft 365 / Outlook.com / Exchange", ("microsoft", "outlook", "exchange", "resolver.")),
    ("Yahoo / AOL", ("yahoo", "aol")),
    ("Apple iCloud", ("apple", "icloud")),
    ("Mimecast", ("mimecast",)),
    (
        "Proofpoint / SpamExperts",
        ("proofpoint", "ppe-hosted", "pphosted", "spambrella", "spamexperts"),
    ),
    ("Barracuda", ("barracuda",)),
    ("Cisco Secure Email", ("cisco", "iphmx")),
    ("Broadcom MessageLabs", ("messagelabs",)),
    ("Zimbra", ("zimbra",)),
    ("HCL Domino", ("domino",)),
    ("qmail / chkuser / vpopmail", ("qmail", "chkuser", "vpopmail")),
    ("Courier", ("courier",)),
    ("Exim / cPanel", ("exim", "cpanel", "greylistd")),
    ("Sendmail / milters", ("sendmail", "milter")),
    ("Postfix and policy daemons", ("postfix", "postgrey", "policyd", "dovecot", "postconf")),
    ("mail.ru", ("mail.ru",)),
    ("Yandex", ("yandex",)),
    ("GMX / web.de / IONOS / mail.com", ("gmx", "web.de", "ionos", "united internet", "mail.com")),
    ("Naver / Daum / Korean portals", ("naver", "hanmail", "korean")),
    ("QQ / Tencent", ("tencent", "qq.com")),
    ("NetEase / Coremail / Alibaba", ("coremail", "netease", "163", "aliyun")),
    (
        "Japanese providers and wording",
        ("japanese", "docomo", "kddi", "ezweb", "e-post", "arena.ne.jp", "biglobe", "softbank"),
    ),
    (
        "French (Orange, La Poste, Free, SFR)",
        ("french", "orange", "laposte", "franceptt", "free.fr", "sfr"),
    ),
    ("German (T-Online, Freenet, ...)", ("german", "t-online", "freenet", "compuserve")),
    (
        "Italian (Libero, Tiscali, Aruba, ...)",
        ("italian", "libero", "tiscali", "alice.it", "aruba"),
    ),
    ("Spanish", ("spanish",)),
    ("Portuguese", ("portuguese", "pt-br", "pt-pt", "brazilian")),
    (
        "Polish / Russian / Ukrainian",
        ("polish", "russian", "nic.ru", "i.ua", "onet", "wp.pl", "imedia"),
    ),
    ("RFCs", ("rfc ",)),
    ("Sisimai reason tables", ("sisimai reason",)),
    ("KumoMTA community rules", ("kumomta",)),
)


def family(row: Labelled) -> str:
    haystack = f"{row.source} {row.host or ''}".lower()
    for name, needles in FAMILIES:
        if any(needle in haystack for needle in needles):
            return name
    return "Other providers and MTAs"


def part(rows: list[Labelled], which: str) -> list[Labelled]:
    if which == "tune":
        return [r for r in rows if not r.held_out]
    if which == "held-out":
        return [r for r in rows if r.held_out]
    return rows


def _pct(value: float | None) -> str:
    return "   -  " if value is None else f"{100 * value:5.1f}%"


def line(name: str, f: Figures) -> str:
    return (
        f"{name:<40} {f.rows:5d} {_pct(f.state_agreement)} {f.wrong_undeliverable:6d}"
        f"  {f.user_unknown_found:3d}/{f.user_unknown:<3d} {_pct(f.user_unknown_recall)}"
        f" {_pct(f.does_not_exist_precision)}"
    )


HEAD = f"{'':<40} {'rows':>5} {'state':>6} {'wrong':>6}  {'user unknown':>14} {'DNE':>6}"
HEAD2 = f"{'':<40} {'':>5} {'agree':>6} {'undel.':>6}  {'found':>7} {'recall':>6} {'prec.':>6}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["all", "tune", "held-out"], default=None)
    parser.add_argument("--errors", action="store_true", help="list rows whose state disagrees")
    args = parser.parse_args()
    rows = load()
    outcomes = {r.line: judge(r) for r in rows}
    print(HEAD)
    print(HEAD2)
    for which in [args.part] if args.part else ["all", "tune", "held-out"]:
        print(line(f"{which} rows", figures(outcomes[r.line] for r in part(rows, which))))
    print()
    print(HEAD)
    by_family: dict[str, list[Outcome]] = defaultdict(list)
    for r in part(rows, args.part or "all"):
        by_family[family(r)].append(outcomes[r.line])
    for name, items in sorted(by_family.items(), key=lambda kv: -len(kv[1])):
        print(line(name, figures(items)))
    if args.errors:
        print()
        for r in part(rows, args.part or "tune"):
            o = outcomes[r.line]
            if o.state is not r.state:
                print(f"line {r.line}: {r.code} {r.enhanced or ''} {r.text[:90]!r} host={r.host}")
                label = f"{r.state.value}/{r.reason.value}"
                print(f"    label {label}; got {o.state.value}/{o.reason.value} by {o.rule}")


if __name__ == "__main__":
    main()
