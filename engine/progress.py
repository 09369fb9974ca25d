"""What a check in flight knows so far: its stage, the step it waits on, its notes as they come.

Plain bookkeeping that the stages write as they go and a time limit reads to end a check early
with what was learned; no I/O, no clock of its own, no verdicts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field

from engine.verdict import Findings

__all__ = ["Progress", "collapse_notes"]

STARTING = "loading the data lists and checking the syntax"
RESOLVING = "resolving the mail hosts"
PROBING = "asking the mail servers"


@dataclass(eq=False, slots=True)
class Progress:
    """One check's state, shared by its stages while it runs."""

    raw: str
    started: float  # time.perf_counter() when the check began, for its total_ms
    deadline: float | None = None  # Clock seconds by which it must end; None: no limit
    expires: float = float("inf")  # the same limit on the event loop's clock, once it runs
    stage: str = STARTING  # what the check is doing, in words
    step: str | None = None  # the SMTP step waited on ("mx1.example.test [192.0.2.1]: RCPT TO")
    findings: Findings | None = None  # the latest findings: after the offline stages, after DNS
    dns_ms: float = 0.0
    notes: list[str] = field(default_factory=list)  # what went wrong on the way, as it happens

    def doing(self) -> str:
        """The stage and step in words, for a note saying where a time limit stopped it."""
        return f"{self.stage} ({self.step})" if self.step else self.stage


def collapse_notes(notes: Collection[str]) -> tuple[str, ...]:
    """Each distinct note once, in first-seen order; a repeated one says how often it came.

    A host that fails the same way on every attempt is one fact, not three.
    """
    if not notes:
        return ()
    counts = Counter(notes)
    return tuple(note if n == 1 else f"{note} ({n} times)" for note, n in counts.items())
