"""The progress bar of a `verify` run and its summary: counts per state and reason, rate, ETA.

Writes only to the stream it is given (the command gives it stderr, and turns the bar off when
that is not a terminal or with --quiet); stdout is the data's.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import TextIO

from engine.model import Result, State

__all__ = ["Progress"]


class Progress:
    """A one-line progress bar on stderr: counts per state, rate and ETA."""

    def __init__(self, total: int | None, stream: TextIO, enabled: bool) -> None:
        self.total = total
        self.stream = stream
        self.enabled = enabled
        self.start = time.monotonic()
        self.counts: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()
        self._shown = 0.0

    def add(self, result: Result) -> None:
        self.counts[result.state.value] += 1
        self.reasons[result.reason.value] += 1
        now = time.monotonic()
        if self.enabled and now - self._shown >= 0.2:
            self._shown = now
            self.stream.write("\r" + self._line(now))
            self.stream.flush()

    def _line(self, now: float) -> str:
        done = sum(self.counts.values())
        rate = done / max(now - self.start, 1e-9)
        parts = [f"{done}" + (f"/{self.total}" if self.total else "")]
        if self.total and rate > 0:
            parts.append(f"ETA {max(0.0, (self.total - done) / rate):.0f}s")
        parts.append(f"{rate:.0f}/s")
        parts += [f"{s.value} {self.counts.get(s.value, 0)}" for s in State]
        return "  ".join(parts)[:200]

    def summary(self, extra: str = "") -> str:
        if self.enabled:
            self.stream.write("\r" + " " * 120 + "\r")
        took = time.monotonic() - self.start
        done = sum(self.counts.values())
        lines = [f"mailprobe: {done} checked in {took:.1f} s ({done / max(took, 1e-9):.0f}/s)"]
        lines += [f"  {s.value:<14} {self.counts.get(s.value, 0):>8}" for s in State]
        if self.reasons:
            top = ", ".join(f"{r} {n}" for r, n in self.reasons.most_common())
            lines.append(f"  reasons: {top}")
        if extra:
            lines.append(f"  {extra}")
        return "\n".join(lines)
