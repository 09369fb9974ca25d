"""engine.progressbar: the progress bar of a run writes only when enabled, and the summary counts
every state and reason."""

from __future__ import annotations

import io

from engine.model import Reason, Result, State
from engine.progressbar import Progress


def _result(state: State, reason: Reason) -> Result:
    return Result(input="a@example.com", email="a@example.com", state=state, reason=reason)


RESULTS = [
    _result(State.DELIVERABLE, Reason.SUCCESS),
    _result(State.UNDELIVERABLE, Reason.INVALID_SYNTAX),
    _result(State.UNDELIVERABLE, Reason.INVALID_SYNTAX),
    _result(State.UNKNOWN, Reason.TIMEOUT),
]


def test_summary_counts_every_state_and_the_reasons_most_common_first() -> None:
    progress = Progress(len(RESULTS), io.StringIO(), enabled=False)
    for result in RESULTS:
        progress.add(result)

    lines = progress.summary("SMTP: 0 sessions").splitlines()
    assert lines[0].startswith("mailprobe: 4 checked in ")
    counts = {line.split()[0]: int(line.split()[1]) for line in lines[1 : 1 + len(State)]}
    assert counts == {"deliverable": 1, "undeliverable": 2, "risky": 0, "unknown": 1}
    assert lines[-2] == "  reasons: InvalidSyntax 2, Success 1, Timeout 1"
    assert lines[-1] == "  SMTP: 0 sessions"


def test_a_disabled_bar_writes_nothing() -> None:
    stream = io.StringIO()
    progress = Progress(None, stream, enabled=False)
    for result in RESULTS:
        progress.add(result)
    progress.summary()
    assert stream.getvalue() == ""


def test_an_enabled_bar_shows_the_count_of_the_total_and_clears_itself() -> None:
    stream = io.StringIO()
    progress = Progress(3, stream, enabled=True)
    progress.add(RESULTS[0])

    line = stream.getvalue()
    assert line.startswith("\r1/3  ")
    assert "deliverable 1" in line and "unknown 0" in line
    progress.summary()
    assert stream.getvalue().endswith("\r" + " " * 120 + "\r")
