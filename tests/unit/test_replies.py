"""engine.replies: every real reply in tests/data/replies.tsv, the order of the table, and the
properties that keep a real mailbox from being called undeliverable."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.model import Reason, Reply, Stage
from engine.replies import (
    NOT_RCPT,
    TABLE,
    Classification,
    catch_all_verdict,
    classify,
    is_greylisting,
    is_too_many_recipients,
    parse_enhanced,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "replies.tsv"
COLUMNS = ["source", "stage", "code", "text", "expected"]

# The verdicts that call an address undeliverable (verdict.py) and the one that says it exists.
UNDELIVERABLE = {
    Reason.MAILBOX_DOES_NOT_EXIST,
    Reason.MAILBOX_DISABLED,
    Reason.DOMAIN_DOES_NOT_ACCEPT_MAIL,
}
ABOUT_THE_MAILBOX = UNDELIVERABLE | {Reason.SUCCESS, Reason.MAILBOX_FULL}


@dataclass(frozen=True)
class Case:
    source: str
    stage: Stage
    code: int
    text: str
    expected: Reason

    @property
    def reply(self) -> Reply:
        return Reply(self.code, self.text, stage=self.stage)


def _load() -> list[Case]:
    lines = DATA.read_text(encoding="utf-8").splitlines()
    header, *body = [line for line in lines if line and not line.startswith("#")]
    assert header.split("\t") == COLUMNS
    cases = []
    for line in body:
        source, stage, code, text, expected = line.split("\t")
        text = "" if text == "-" else text.replace("\\n", "\n")
        cases.append(Case(source, Stage(stage), int(code), text, Reason(expected)))
    return cases


CASES = _load()


def _case_id(case: Case) -> str:
    return f"{case.stage.value}-{case.code}-{case.text[:40]}"


# The table against real replies -----------------------------------------------------------


def test_the_data_holds_real_replies_from_many_servers() -> None:
    real = [case for case in CASES if not case.source.startswith("constructed")]
    assert len(real) >= 120
    assert all(case.source.strip() for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_real_reply_gets_its_reason(case: Case) -> None:
    got = classify(case.reply)
    assert got.reason is case.expected, f"{case.source}: decided by {got.rule}"


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_a_split_enhanced_code_gives_the_same_answer(case: Case) -> None:
    # The SMTP stage may hand over the enhanced code apart from the text, or leave it in.
    enhanced, rest = parse_enhanced(case.text)
    split = Reply(case.code, rest, enhanced, case.stage)
    assert classify(split) == classify(case.reply)


def test_every_row_of_the_table_decides_at_least_one_reply() -> None:
    used = {classify(case.reply).rule for case in CASES}
    dead = [row.name for row in TABLE if row.name not in used]
    assert not dead, f"rows no reply in {DATA.name} reaches: {dead}"


def test_rows_have_unique_names_and_a_citation() -> None:
    names = [row.name for row in TABLE]
    assert len(names) == len(set(names))
    assert all(row.cite.strip() for row in TABLE)


def test_the_table_is_immutable_and_ends_with_a_row_that_takes_everything() -> None:
    assert isinstance(TABLE, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        TABLE[0].name = "changed"  # type: ignore[misc]
    last = TABLE[-1]
    assert last.reason is Reason.UNKNOWN
    assert (last.stage, last.cls, last.code, last.enhanced, last.text, last.unless) == (None,) * 6


# Decisions, one by one ---------------------------------------------------------------------


@pytest.mark.parametrize("stage", NOT_RCPT, ids=lambda s: s.value)
def test_user_unknown_outside_rcpt_is_about_us_not_the_mailbox(stage: Stage) -> None:
    got = classify(Reply(550, "5.1.1 <user@example.com>... User unknown", stage=stage))
    assert got.reason is Reason.SENDER_BLOCKED
    assert classify(Reply(550, "User unknown", "5.1.1", stage)).reason is Reason.SENDER_BLOCKED


def test_user_unknown_at_rcpt_is_undeliverable() -> None:
    got = classify(Reply(550, "5.1.1 <user@example.com>... User unknown"))
    assert got == Classification(Reason.MAILBOX_DOES_NOT_EXIST, "rcpt-5.1.1")


@pytest.mark.parametrize("stage", NOT_RCPT, ids=lambda s: s.value)
def test_acceptance_outside_rcpt_says_nothing_about_the_mailbox(stage: Stage) -> None:
    assert classify(Reply(250, "2.1.0 Ok", stage=stage)).reason is Reason.UNKNOWN


@pytest.mark.parametrize(
    "text", ["", "Requested action not taken: mailbox unavailable", "Error", "5.0.0 Rejected"]
)
def test_a_bare_550_proves_nothing(text: str) -> None:
    assert classify(Reply(550, text)).reason is Reason.UNKNOWN


def test_252_at_rcpt_counts_as_accepted() -> None:
    reply = Reply(252, "2.1.5 Cannot VRFY user, but will accept message and attempt delivery")
    assert classify(reply) == Classification(Reason.SUCCESS, "rcpt-252")


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        # A permanent enhanced code on a 4yz: the 4yz wins; nothing permanent.
        (Reply(450, "5.1.1 <user@example.com>: User unknown"), Reason.TRANSIENT_NETWORK_FAULT),
        (Reply(450, "User unknown", "5.1.1"), Reason.TRANSIENT_NETWORK_FAULT),
        (Reply(452, "5.2.2 Mailbox full"), Reason.TRANSIENT_NETWORK_FAULT),
        # A transient enhanced code on a 5yz: the server contradicts itself; unknown.
        (Reply(550, "4.1.1 <user@example.com>: User unknown"), Reason.UNKNOWN),
        (Reply(550, "User unknown", "4.1.1"), Reason.UNKNOWN),
        (Reply(554, "4.2.1 Mailbox disabled"), Reason.UNKNOWN),
    ],
)
def test_when_the_classes_disagree_no_mailbox_is_condemned(reply: Reply, reason: Reason) -> None:
    assert classify(reply).reason is reason


@pytest.mark.parametrize(
    "reply",
    [
        Reply(550, "Recipient address rejected: Access denied"),
        Reply(554, "5.7.1 <user@example.com>: Recipient address rejected: Access denied"),
        Reply(550, "5.7.1 <user@example.com>: Recipient address rejected: blocked using zen"),
        Reply(550, "5.1.1 <user@example.com>: Recipient address rejected: blocked using Spamhaus"),
        Reply(550, "5.1.1 User unknown; client host [192.0.2.1] is on our block list"),
        Reply(550, "No such user here, or your IP is on a blacklist"),
        Reply(550, "5.4.1 Recipient address rejected: Access denied, blocked using Spamhaus"),
        Reply(550, "5.2.1 Mailbox disabled for senders with a poor reputation"),
        Reply(450, "4.2.0 <user@example.com>: Recipient address rejected: Greylisted"),
        Reply(550, "5.1.0 <user@example.org>: Sender address rejected: User unknown"),
    ],
)
def test_a_sign_about_us_beats_words_about_the_mailbox(reply: Reply) -> None:
    assert classify(reply).reason not in UNDELIVERABLE


def test_directory_based_edge_blocking_needs_its_code() -> None:
    text = "Recipient address rejected: Access denied. AS(201806281)"
    assert classify(Reply(550, f"5.4.1 {text}")).reason is Reason.MAILBOX_DOES_NOT_EXIST
    assert classify(Reply(550, text)).reason is Reason.SENDER_BLOCKED
    assert classify(Reply(550, f"5.7.1 {text}")).reason is Reason.SENDER_BLOCKED


def test_a_policy_code_with_user_unknown_words_is_unknown_not_undeliverable() -> None:
    assert classify(Reply(550, "5.7.1 No such user!")) == Classification(
        Reason.UNKNOWN, "rcpt-5.7.x-mailbox-text"
    )
    assert classify(Reply(550, "5.7.1 User unknown, relaying denied")).reason is (
        Reason.SENDER_BLOCKED
    )


def test_outlook_mailbox_unavailable_needs_its_reason_marker() -> None:
    text = "5.5.0 Requested action not taken: mailbox unavailable"
    assert classify(Reply(550, text)).reason is Reason.UNKNOWN
    marked = classify(Reply(550, f"{text} (S2017062302). [host.outlook.com]"))
    assert marked.reason is Reason.MAILBOX_DOES_NOT_EXIST


def test_a_reply_that_is_not_smtp_is_unknown() -> None:
    for code in (0, -1, 99, 199, 354, 600, 10_000):
        assert classify(Reply(code, "5.1.1 User unknown")).reason is Reason.UNKNOWN


def test_an_invalid_enhanced_field_falls_back_to_the_text() -> None:
    assert classify(Reply(550, "5.1.1 User unknown", "X.1.1")).rule == "rcpt-5.1.1"
    trailing = classify(Reply(550, "User unknown", "5.1.1 trailing"))
    assert trailing.rule == "rcpt-unknown-user-text"


# The two questions the SMTP stage asks --------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (Reply(452, "4.5.3 Too many recipients (AS780090)"), True),
        (Reply(452, "Too many recipients"), True),
        (Reply(550, "5.5.3 Too many recipients for this sender"), True),
        (Reply(452, "4.5.3 Domain policy size per transaction exceeded"), True),
        (Reply(452, "4.2.2 The email account that you tried to reach is over quota"), False),
        (Reply(452, "4.3.1 Insufficient system storage"), False),
        (Reply(452, ""), False),
        (Reply(452, "4.5.3 Too many recipients", stage=Stage.MAIL), False),
        (Reply(550, "5.1.1 User unknown"), False),
    ],
)
def test_is_too_many_recipients(reply: Reply, expected: bool) -> None:
    assert is_too_many_recipients(reply) is expected
    if expected:  # the batch must shrink; the address is not judged
        assert classify(reply).reason is Reason.TRANSIENT_NETWORK_FAULT


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (Reply(450, "4.2.0 <u@example.com>: Recipient address rejected: Greylisted, see x"), True),
        (Reply(451, "4.7.1 Greylisting in action, please come back in 00:05:00"), True),
        (Reply(451, "Internal resource temporarily unavailable"), True),
        (Reply(451, "Temporary failure, please try again later."), True),
        (Reply(451, "4.7.1 Greylisting in action", stage=Stage.DATA), True),
        (
            Reply(450, "4.2.1 The user you are trying to contact is receiving mail too quickly."),
            False,
        ),
        (Reply(451, "4.7.500 Server busy. Please try again later from [192.0.2.1]."), False),
        (Reply(550, "5.7.1 Greylisted"), False),
        (Reply(250, "2.1.5 Ok"), False),
    ],
)
def test_is_greylisting(reply: Reply, expected: bool) -> None:
    assert is_greylisting(reply) is expected


# RFC 3463 enhanced codes ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5.1.1 User unknown", ("5.1.1", "User unknown")),
        ("4.7.500 Server busy", ("4.7.500", "Server busy")),
        ("2.1.5", ("2.1.5", "")),
        ("  5.1.10 RESOLVER.ADR.RecipientNotFound", ("5.1.10", "RESOLVER.ADR.RecipientNotFound")),
        ("5.7.0, Mail Sending denied", ("5.7.0", "Mail Sending denied")),
        ("5.1.1\nsecond line", ("5.1.1", "second line")),
        ("3.1.1 no such class", (None, "3.1.1 no such class")),
        ("5.01.1 leading zero", (None, "5.01.1 leading zero")),
        ("5.1.1000 four digits", (None, "5.1.1000 four digits")),
        ("5.1 too short", (None, "5.1 too short")),
        ("5.1.1abc glued", (None, "5.1.1abc glued")),
        ("5.a.1 letters", (None, "5.a.1 letters")),
        ("User unknown 5.1.1", (None, "User unknown 5.1.1")),
        ("", (None, "")),
    ],
)
def test_parse_enhanced(text: str, expected: tuple[str | None, str]) -> None:
    assert parse_enhanced(text) == expected


# Properties -----------------------------------------------------------------------------


MAILBOX_WORDS = [
    "User unknown",
    "No such user",
    "does not exist",
    "Recipient address rejected: User unknown in local recipient table",
    "mailbox disabled",
    "account has been disabled",
    "Unrouteable address",
    "Recipient address rejected: Access denied. AS(201806281)",
    "mailbox unavailable (S2017062302)",
    "Recipient address has null MX",
]
BLOCKLIST_WORDS = [
    "blocked using zen.spamhaus.org",
    "listed at Spamhaus",
    "Barracuda Reputation",
    "poor reputation",
    "is on our block list",
    "blacklisted",
]
any_text = st.text(max_size=60)
mailbox_text = st.builds(
    lambda a, words, b: f"{a} {words} {b}", any_text, st.sampled_from(MAILBOX_WORDS), any_text
)
enhanced_codes = st.one_of(
    st.none(),
    st.from_regex(r"[245]\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})", fullmatch=True),
    st.sampled_from(["5.1.1", "5.1.0", "5.1.10", "5.2.1", "5.4.1", "5.5.0", "5.7.1"]),
    st.text(max_size=8),
)
texts = st.one_of(any_text, mailbox_text, st.builds("{} {}".format, enhanced_codes, mailbox_text))


@settings(max_examples=500, deadline=None)
@given(
    code=st.integers(400, 499),
    text=texts,
    enhanced=enhanced_codes,
    stage=st.sampled_from(list(Stage)),
)
def test_a_4xx_is_never_permanent(code: int, text: str, enhanced: str | None, stage: Stage) -> None:
    reason = classify(Reply(code, text, enhanced, stage)).reason
    assert reason not in UNDELIVERABLE
    assert reason is not Reason.SUCCESS


@settings(max_examples=300, deadline=None)
@given(
    code=st.integers(200, 599),
    text=texts,
    enhanced=enhanced_codes,
    stage=st.sampled_from(NOT_RCPT),
)
def test_no_stage_but_rcpt_judges_the_mailbox(
    code: int, text: str, enhanced: str | None, stage: Stage
) -> None:
    assert classify(Reply(code, text, enhanced, stage)).reason not in ABOUT_THE_MAILBOX


@settings(max_examples=300, deadline=None)
@given(
    code=st.integers(500, 599),
    before=texts,
    sign=st.sampled_from(BLOCKLIST_WORDS),
    after=any_text,
    enhanced=enhanced_codes,
)
def test_a_blocklist_sign_never_leaves_an_address_undeliverable(
    code: int, before: str, sign: str, after: str, enhanced: str | None
) -> None:
    reply = Reply(code, f"{before} {sign} {after}", enhanced)
    assert classify(reply).reason not in UNDELIVERABLE


@settings(max_examples=300, deadline=None)
@given(
    code=st.integers(-1000, 10_000),
    text=st.one_of(texts, st.text(max_size=300)),
    enhanced=enhanced_codes,
    stage=st.sampled_from(list(Stage)),
)
def test_classify_never_raises_and_names_a_row(
    code: int, text: str, enhanced: str | None, stage: Stage
) -> None:
    got = classify(Reply(code, text, enhanced, stage))
    assert got.rule in {row.name for row in TABLE}
    assert isinstance(got.reason, Reason)


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [
        (Reply(250, "Recipient OK", "2.1.5", Stage.RCPT), True),
        (Reply(550, "User unknown in virtual mailbox table", "5.1.1", Stage.RCPT), False),
        (Reply(450, "Recipient address rejected: Greylisted", "4.2.0", Stage.RCPT), None),
        (Reply(452, "Too many recipients", "4.5.3", Stage.RCPT), None),
        (Reply(554, "Client host blocked using zen.spamhaus.org", "5.7.1", Stage.RCPT), None),
        (Reply(250, "Ok", "2.1.0", Stage.MAIL), None),
    ],
)
def test_catch_all_verdict_is_decided_only_by_an_accept_or_an_unknown_user(
    reply: Reply, verdict: bool | None
) -> None:
    assert catch_all_verdict(reply) is verdict
