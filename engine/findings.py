"""What a check of `mailprobe doctor` found: the Check value every check returns, and the fixes
that more than one check gives.

Values only: the checks are in engine.dnschecks and engine.portchecks, the report in engine.doctor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["HELO_FIX", "RESOLVER_FIX", "Check", "Status"]

Status = Literal["ok", "warn", "fail"]

RESOLVER_FIX = (
    "point mailprobe at a working recursive resolver with --nameserver IP (and --dns-port), "
    "or fix this machine's resolver configuration (/etc/resolv.conf)"
)
HELO_FIX = (
    "servers judge the HELO name: set --helo to a name that resolves to this machine's "
    "public IP, with a matching PTR"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Check:
    """The outcome of one check: what was found and, unless all is well, what to do about it."""

    name: str
    status: Status
    message: str
    fix: str | None = None
