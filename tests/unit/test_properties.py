"""Property tests: any input gives exactly one Result, and the CLI keeps rows one to one."""

from __future__ import annotations

import json
import subprocess
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.config import Config
from engine.model import Result, State
from engine.verifier import Verifier

OFFLINE = Config(check_dns=False, check_smtp=False, clean=False)
VERIFIER = Verifier(OFFLINE)
CLEANING = Verifier(Config(check_dns=False, check_smtp=False, clean=True))

emailish = st.builds(
    lambda a, b, c: f"{a}@{b}.{c}",
    st.text(min_size=0, max_size=70),
    st.text(min_size=0, max_size=70),
    st.text(min_size=0, max_size=10),
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.one_of(st.text(max_size=300), emailish, st.binary(max_size=300)))
def test_verify_never_raises_and_returns_one_result(raw: object) -> None:
    for verifier in (VERIFIER, CLEANING):
        result = verifier.check_offline(raw)
        assert isinstance(result, Result)
        assert isinstance(result.state, State)
        assert 0.0 <= result.score <= 1.0
        if result.email is None:
            assert result.state is State.UNDELIVERABLE
        json.dumps(result.to_dict())


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.none(), st.integers(), st.lists(st.text(max_size=5), max_size=3)))
def test_non_text_input_still_gives_one_result(raw: object) -> None:
    result = VERIFIER.check_offline(raw)
    assert result.state is State.UNDELIVERABLE


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(max_size=80).filter(lambda b: b"\n" not in b), min_size=1, max_size=40))
def test_cli_output_rows_match_input_rows(lines: list[bytes]) -> None:
    data = b"\n".join(lines) + b"\n"
    proc = subprocess.run(
        [sys.executable, "-m", "engine", "verify", "--offline", "--format", "jsonl", "-i", "-"],
        input=data,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.decode("utf-8").splitlines()]
    assert len(rows) == len(lines)
    for i, (line, row) in enumerate(zip(lines, rows, strict=True)):
        text = line.removeprefix(b"\xef\xbb\xbf") if i == 0 else line
        text = text.removesuffix(b"\r")
        shown = text.decode("utf-8", "surrogateescape")
        shown = shown.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        assert row["input"] == shown
