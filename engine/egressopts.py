"""The --proxy, --egress and --route options (and their environment variables) of `verify` and
`doctor`, turned into Config changes.

Parsing only; the values and their syntax live in engine.routing.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from engine.routing import Egress, parse_egress, parse_proxy_url, parse_route

__all__ = ["EGRESS_ENV", "add_egress_options", "egress_changes"]

EGRESS_ENV = ("MAILPROBE_PROXY", "MAILPROBE_EGRESSES", "MAILPROBE_ROUTES")


def add_egress_options(parser: argparse.ArgumentParser) -> None:
    """--proxy, --egress and --route (shared by `verify` and `doctor`)."""
    parser.add_argument(
        "--proxy",
        metavar="URL",
        help="send every session through this SOCKS proxy: socks5://[user:pass@]host:port "
        "(or socks4://); env MAILPROBE_PROXY keeps the password out of the process list",
    )
    parser.add_argument(
        "--egress",
        action="append",
        metavar="SPEC",
        help="an egress identity, NAME[,proxy=URL][,source=IP][,helo=NAME][,mail_from=ADDR] "
        "(repeatable; env MAILPROBE_EGRESSES, one per line)",
    )
    parser.add_argument(
        "--route",
        action="append",
        metavar="PATTERN=NAMES",
        help="send a provider or MX host pattern to egresses: google=a, "
        "'*.protection.outlook.com=b'; hosts no route matches take every egress in turn "
        "(repeatable; env MAILPROBE_ROUTES, one per line)",
    )


def egress_changes(args: argparse.Namespace, environ: Mapping[str, str]) -> dict[str, object]:
    """Config changes for --proxy / --egress / --route, else their environment variables.

    Raises ValueError (never showing a password) for a bad URL, spec or route.
    """
    # Flags beat variables as a whole: --egress given on the command line replaces a proxy
    # from MAILPROBE_PROXY rather than clashing with it.
    flagged = bool(args.proxy or args.egress)
    proxy = args.proxy if flagged else environ.get("MAILPROBE_PROXY") or None
    specs = (args.egress or []) if flagged else environ.get("MAILPROBE_EGRESSES", "").splitlines()
    routes = args.route or environ.get("MAILPROBE_ROUTES", "").splitlines()
    egresses = [parse_egress(spec) for spec in specs if spec.strip()]
    if proxy:
        if egresses:
            raise ValueError("give --proxy alone, or name it in an --egress NAME,proxy=URL")
        egresses = [Egress(name="proxy", proxy=parse_proxy_url(proxy))]
    changes: dict[str, object] = {}
    if egresses:
        changes["egresses"] = tuple(egresses)
    parsed = tuple(parse_route(r) for r in routes if r.strip())
    if parsed:
        if not egresses:
            raise ValueError("--route needs egresses (--egress or --proxy)")
        changes["routes"] = parsed
    return changes
