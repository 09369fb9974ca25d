"""The labelled RCPT replies (rcpt_replies_labelled.tsv) and the figures measured on them.

Shared by tests/unit/test_replies_labelled.py (which asserts the floors) and
benchmarks/replies.py (which prints the figures). Every reply goes through engine.replies.classify
and then through engine.verdict.decide, the same path a probe takes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from engine.config import Config
from engine.model import Address, MxHost, ProbeOutcome, Reason, Reply, Stage, State, Timings
from engine.replies import classify
from engine.verdict import Findings, decide

LABELLED = Path(__file__).resolve().parent / "rcpt_replies_labelled.tsv"
COLUMNS = ["code", "enhanced", "text", "host", "state", "reason", "split", "source"]

ADDRESS = Address(  # the address every labelled reply is taken to answer for
    input="user@example.com",
    checked="user@example.com",
    local="user",
    ascii_domain="example.com",
    unicode_domain="example.com",
)
_CONFIG = Config()


@dataclass(frozen=True)
class Labelled:
    """One labelled reply and the answer a verifier may honestly give to it."""

    line: int
    code: int
    enhanced: str | None
    text: str
    host: str | None
    state: State
    reason: Reason
    held_out: bool
    source: str

    @property
    def reply(self) -> Reply:
        return Reply(self.code, self.text, self.enhanced, Stage.RCPT)


@dataclass(frozen=True)
class Outcome:
    """What mailprobe made of one labelled reply."""

    row: Labelled
    reason: Reason
    rule: str
    state: State


def load(path: Path = LABELLED) -> list[Labelled]:
    """Every labelled row of `path`, in file order."""
    rows = []
    lines = path.read_text(encoding="utf-8").splitlines()
    header_seen = False
    for number, line in enumerate(lines, start=1):
        if not line or line.startswith("#"):
            continue
        fields = line.split("\t")
        if not header_seen:
            if fields != COLUMNS:
                raise ValueError(f"{path.name}:{number}: expected the columns {COLUMNS}")
            header_seen = True
            continue
        if len(fields) != len(COLUMNS):
            raise ValueError(f"{path.name}:{number}: {len(fields)} fields")
        code, enhanced, text, host, state, reason, split, source = fields
        if split not in ("tune", "held-out"):
            raise ValueError(f"{path.name}:{number}: split {split!r}")
        rows.append(
            Labelled(
                line=number,
                code=int(code),
                enhanced=enhanced or None,
                text=text.replace("\\n", "\n"),
                host=host or None,
                state=State(state),
                reason=Reason(reason),
                held_out=split == "held-out",
                source=source,
            )
        )
    return rows


def judge(row: Labelled) -> Outcome:
    """Classify the reply as the probe would (with the answering host) and decide its state."""
    meaning = classify(row.reply, host=row.host)
    hosts = (MxHost(row.host, 10, ("192.0.2.1",)),) if row.host else ()
    outcome = ProbeOutcome(reason=meaning.reason, reply=row.reply, host=row.host)
    findings = Findings(address=ADDRESS, hosts=hosts, dns="mx", outcome=outcome)
    state = decide(findings, _CONFIG, Timings()).state
    return Outcome(row, meaning.reason, meaning.rule, state)


@dataclass(frozen=True)
class Figures:
    """Counts and ratios over a set of outcomes; ratios are None when nothing was counted."""

    rows: int
    state_agrees: int
    wrong_undeliverable: int
    user_unknown: int
    user_unknown_found: int
    said_does_not_exist: int
    said_does_not_exist_right: int
    undeliverable: int
    undeliverable_found: int

    @property
    def state_agreement(self) -> float | None:
        return _ratio(self.state_agrees, self.rows)

    @property
    def user_unknown_recall(self) -> float | None:
        return _ratio(self.user_unknown_found, self.user_unknown)

    @property
    def does_not_exist_precision(self) -> float | None:
        return _ratio(self.said_does_not_exist_right, self.said_does_not_exist)

    @property
    def undeliverable_recall(self) -> float | None:
        return _ratio(self.undeliverable_found, self.undeliverable)


def figures(outcomes: Iterable[Outcome]) -> Figures:
    """Agreement, wrong-undeliverable count, user-unknown recall and MailboxDoesNotExist precision.

    A wrong undeliverable is a row whose honest state is not undeliverable that mailprobe calls
    undeliverable. Recall counts the rows labelled MailboxDoesNotExist that mailprobe calls so;
    precision counts, among the rows mailprobe calls MailboxDoesNotExist, those labelled so.
    """
    items = list(outcomes)
    dne = Reason.MAILBOX_DOES_NOT_EXIST
    gone = State.UNDELIVERABLE
    return Figures(
        rows=len(items),
        state_agrees=sum(o.state is o.row.state for o in items),
        wrong_undeliverable=sum(o.state is gone and o.row.state is not gone for o in items),
        user_unknown=sum(o.row.reason is dne for o in items),
        user_unknown_found=sum(o.row.reason is dne and o.reason is dne for o in items),
        said_does_not_exist=sum(o.reason is dne for o in items),
        said_does_not_exist_right=sum(o.reason is dne and o.row.reason is dne for o in items),
        undeliverable=sum(o.row.state is gone for o in items),
        undeliverable_found=sum(o.row.state is gone and o.state is gone for o in items),
    )


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None
