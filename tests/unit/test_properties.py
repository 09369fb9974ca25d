"""Property tests: any input gives exactly one Result, and the CLI keeps rows one to one."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
from collections.abc import AsyncIterator

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.config import Config
from engine.model import Reply, Result, Stage, State
from engine.ordered import check_many
from engine.testing import FakeResolver
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


ONLINE_ZONE = {
    "example.test": {"MX": [(10, "mx.example.test")]},
    "mx.example.test": {"A": ["192.0.2.10"]},
    "broken.test": {"fault": "servfail"},
}


class _AnswerAll:
    """A transport whose every session accepts everything; it never touches the network."""

    @contextlib.asynccontextmanager
    async def open(self, host: str, ip: str, port: int) -> AsyncIterator[_AcceptingSession]:
        yield _AcceptingSession(host, ip)


class _AcceptingSession:
    def __init__(self, host: str, ip: str) -> None:
        self.host, self.ip = host, ip
        self.extensions = frozenset({"SMTPUTF8"})

    async def mail(self, sender: str, *, smtputf8: bool = False) -> Reply:
        return Reply(250, "Ok", "2.1.0", Stage.MAIL)

    async def rcpt(self, recipient: str) -> Reply:
        return Reply(250, "Ok", "2.1.5", Stage.RCPT)

    async def rset(self) -> Reply:
        return Reply(250, "Ok", "2.0.0", Stage.RSET)


online_inputs = st.one_of(
    st.text(max_size=120),
    st.builds(lambda a: f"{a}@example.test", st.text(max_size=70)),
    st.builds(lambda a: f"{a}@broken.test", st.text(max_size=20)),
    st.builds(lambda a: f"user@{a}", st.text(max_size=40)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(online_inputs, min_size=1, max_size=12))
def test_online_paths_never_raise_and_answer_each_input_once(raws: list[str]) -> None:
    config = Config(
        allow_private_addresses=True,
        helo_name="probe.mailprobe.test",
        mail_from="verify@mailprobe.test",
    )

    async def run() -> tuple[list[Result], list[Result]]:
        async with Verifier(
            config, resolver=FakeResolver(ONLINE_ZONE), transport=_AnswerAll()
        ) as v:
            one_by_one = [await v.averify(raw) for raw in raws]
            bulk = [r async for _, r in check_many(raws, v.bulk().check, window=5)]
        return one_by_one, bulk

    one_by_one, bulk = asyncio.run(run())
    assert [r.input for r in one_by_one] == raws
    assert [r.input for r in bulk] == raws
    for single, grouped in zip(one_by_one, bulk, strict=True):
        assert (single.state, single.reason) == (grouped.state, grouped.reason)
