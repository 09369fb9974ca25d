"""The driver of a cluster run without Ray: batches to egress workers (a plain function here),
one answer per address, verdicts and cache on the driver, the SSRF guard before anything leaves.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from pathlib import Path

from engine.cache import SqliteCache
from engine.config import Config
from engine.model import ProbeOutcome, Reason, Reply, Result, State
from engine.ordered import check_many
from engine.routing import Egress
from engine.scaleout.config import ScaleOut
from engine.scaleout.driver import ClusterChecker, Send
from engine.scaleout.errors import WorkerLost
from engine.scaleout.worker import Answer, Failure
from engine.testing import FakeResolver
from engine.verdict import Findings
from engine.verifier import Verifier

DOMAINS = ("one.test", "two.test", "three.test")
ZONE: dict[str, dict[str, object]] = {
    **{d: {"MX": [(10, f"mx.{d}")]} for d in DOMAINS},
    **{f"mx.{d}": {"A": [f"192.0.2.{i + 1}"]} for i, d in enumerate(DOMAINS)},
    "private.test": {"MX": [(10, "mx.private.test")]},
    "mx.private.test": {"A": ["127.0.0.9"]},
}
EGRESSES = (Egress(name="a"), Egress(name="b"))
Batch = list[tuple[int, Findings]]
Answers = list[tuple[int, Answer]]


def _inputs() -> list[str]:
    rows = []
    for i in range(12):
        for d in DOMAINS:
            rows.append(f"user{i}@{d}" if i % 4 else f"ghost{i}@{d}")
    return [*rows, "not-an-address", "x@missing.test"]


def _outcome(findings: Findings) -> ProbeOutcome:
    email = findings.address.ascii_email
    if email.startswith("ghost"):
        reply = Reply(550, "User unknown", "5.1.1")
        return ProbeOutcome(reason=Reason.MAILBOX_DOES_NOT_EXIST, reply=reply, accept_all=False)
    return ProbeOutcome(reason=Reason.SUCCESS, reply=Reply(250, "OK", "2.1.5"), accept_all=False)


class Workers:
    """Stands in for the cluster: records what each egress was sent and answers it."""

    def __init__(self) -> None:
        self.sent: dict[str, list[str]] = defaultdict(list)
        self.batches: list[int] = []

    async def send(self, egress: str, batch: Batch) -> Answers:
        self.batches.append(len(batch))
        self.sent[egress] += [f.address.ascii_email for _, f in batch]
        return [(seq, _outcome(f)) for seq, f in batch]


async def _run(send: Send, config: Config, **kw: object) -> list[Result]:
    scaleout = ScaleOut(batch=5, linger_s=0.0)
    async with Verifier(config, resolver=FakeResolver(ZONE)) as verifier:
        checker = ClusterChecker(verifier.deps, send, scaleout, **kw)  # type: ignore[arg-type]
        try:
            return [r async for _, r in check_many(_inputs(), checker.check, window=20)]
        finally:
            await checker.aclose()


def _config(**changes: object) -> Config:
    base = Config(allow_private_addresses=True, egresses=EGRESSES)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


async def test_every_row_once_in_order_and_each_site_asked_by_one_egress() -> None:
    workers = Workers()
    results = await _run(workers.send, _config())
    assert [r.input for r in results] == _inputs()
    for r in results[:-2]:
        want = Reason.MAILBOX_DOES_NOT_EXIST if r.input.startswith("ghost") else Reason.SUCCESS
        assert r.reason is want, r
    assert results[-2].reason is Reason.AT_SIGN_NOT_FOUND
    assert results[-1].reason is Reason.DOMAIN_IS_INEXISTENT
    owner_of: dict[str, set[str]] = defaultdict(set)
    for egress, emails in workers.sent.items():
        for email in emails:
            owner_of[email.rpartition("@")[2]].add(egress)
    assert all(len(names) == 1 for names in owner_of.values()), owner_of
    assert set(workers.sent) == {"a", "b"}  # three sites over two egresses: both used
    assert sum(len(v) for v in workers.sent.values()) == 36  # each address asked once
    assert max(workers.batches) <= 5


async def test_a_lost_worker_leaves_its_addresses_unknown_never_undeliverable() -> None:
    async def lost(egress: str, batch: Batch) -> Answers:
        raise WorkerLost(f"egress {egress}: its worker died for good")

    results = await _run(lost, _config())
    assert len(results) == len(_inputs())
    for r in results[:-2]:
        assert r.state is State.UNKNOWN and r.reason is Reason.TRANSIENT_NETWORK_FAULT, r


async def test_answers_count_once_by_sequence_number_and_a_missing_one_is_unknown() -> None:
    async def odd(egress: str, batch: Batch) -> Answers:
        answers = [(seq, _outcome(f)) for seq, f in batch]
        # Twice over, backwards, with the first address's answer missing.
        return list(reversed(answers[1:])) + answers[1:]

    results = await _run(odd, _config())
    assert [r.input for r in results] == _inputs()
    unknown = [r for r in results[:-2] if r.state is State.UNKNOWN]
    assert unknown, "a batch's first address had no answer, so it must be unknown"
    for r in results[:-2]:
        if r.state is not State.UNKNOWN:
            want = Reason.MAILBOX_DOES_NOT_EXIST if r.input.startswith("ghost") else Reason.SUCCESS
            assert r.reason is want, r


async def test_a_workers_failure_keeps_its_meaning() -> None:
    async def failing(egress: str, batch: Batch) -> Answers:
        return [(seq, Failure("NoMailServer", "no mail host address")) for seq, _ in batch]

    results = await _run(failing, _config())
    assert {r.reason for r in results[:-2]} == {Reason.NO_MX_SERVERS_FOUND}


async def test_the_ssrf_guard_decides_on_the_driver() -> None:
    workers = Workers()
    scaleout = ScaleOut(linger_s=0.0)
    config = _config(allow_private_addresses=False)
    async with Verifier(config, resolver=FakeResolver(ZONE)) as verifier:
        checker = ClusterChecker(verifier.deps, workers.send, scaleout)
        result = await checker.check("jane@private.test")
        await checker.aclose()
    assert result.reason is Reason.MX_ADDRESS_NOT_PUBLIC
    assert not workers.sent


async def test_settled_results_come_from_the_drivers_cache(tmp_path: Path) -> None:
    config = _config()
    first, second = Workers(), Workers()
    before = await _run(first.send, config, cache=SqliteCache(tmp_path / "c.sqlite3", config))
    after = await _run(second.send, config, cache=SqliteCache(tmp_path / "c.sqlite3", config))
    assert sum(len(v) for v in first.sent.values()) == 36
    assert not second.sent  # everything settled came from the cache
    assert [(r.input, r.reason) for r in after] == [(r.input, r.reason) for r in before]
