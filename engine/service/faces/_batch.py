"""What a vendor's batch (bulk job) answer is made from: a job's facts as one plain value, and
the cells of its CSV download.

The faces map it to their vendors' status shapes, as they map a Result; no I/O here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import MappingProxyType

# Our job statuses (the native API's words).
QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED = (
    "queued",
    "running",
    "completed",
    "failed",
    "cancelled",
)
FINISHED = frozenset({COMPLETED, FAILED, CANCELLED})


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchFacts:
    """One job as the faces see it: an integer id, its status and its counts per state."""

    number: int  # the vendors' integer job id
    status: str  # queued, running, completed, failed, cancelled
    total: int
    processed: int
    states: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    created: float  # Unix seconds
    started: float | None = None
    finished: float | None = None
    error: str | None = None
    name: str | None = None  # the name the client gave the job, if any

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED

    def count(self, state: str) -> int:
        return int(self.states.get(state, 0))


def utc(unix_s: float) -> datetime:
    return datetime.fromtimestamp(unix_s, tz=timezone.utc)


def rfc3339(unix_s: float, *, digits: int) -> str:
    """UTC with a "Z" and `digits` (3 or 6) decimals: "2018-05-12T18:58:08.000Z"."""
    when = utc(unix_s)
    fraction = f"{when.microsecond:06d}"[:digits]
    return f"{when:%Y-%m-%dT%H:%M:%S}.{fraction}Z"


def csv_cell(value: object) -> str:
    """A value of a vendor's result as a cell of its CSV download: true/false, null empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
