"""The integrations' Policy: what a form refuses, and the words and context of a refusal."""

from __future__ import annotations

import dataclasses

import pytest

from engine.integrations._policy import (
    DISPOSABLE,
    RISKY,
    ROLE,
    UNDELIVERABLE,
    UNKNOWN,
    Policy,
)
from engine.model import Flags, Reason, Result, State


def _result(state: State, reason: Reason, **changes: object) -> Result:
    base = Result(input="jane@example.com", email="jane@example.com", state=state, reason=reason)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


DELIVERABLE = _result(State.DELIVERABLE, Reason.SUCCESS)
NO_MAILBOX = _result(State.UNDELIVERABLE, Reason.MAILBOX_DOES_NOT_EXIST)
CATCH_ALL = _result(State.RISKY, Reason.SERVER_IS_CATCH_ALL)
DEA = _result(State.RISKY, Reason.DOMAIN_IS_WELL_KNOWN_DEA, flags=Flags(disposable=True))
ROLE_OK = _result(State.DELIVERABLE, Reason.SUCCESS, flags=Flags(role=True))
GREYLISTED = _result(State.UNKNOWN, Reason.GREYLISTED)
TIMED_OUT = _result(State.UNKNOWN, Reason.TIMEOUT)


def test_default_policy_refuses_only_undeliverable() -> None:
    policy = Policy()
    assert [policy.judge(r) is None for r in (DELIVERABLE, CATCH_ALL, DEA, ROLE_OK)] == [True] * 4
    assert policy.judge(GREYLISTED) is None  # unknown is accepted by default
    assert policy.judge(TIMED_OUT) is None
    rejection = policy.judge(NO_MAILBOX)
    assert rejection is not None and rejection.code == UNDELIVERABLE


@pytest.mark.parametrize(
    ("policy", "result", "code"),
    [
        (Policy(reject_risky=True), CATCH_ALL, RISKY),
        (Policy(reject_risky=True), DEA, RISKY),
        (Policy(reject_disposable=True), DEA, DISPOSABLE),
        (Policy(reject_disposable=True, reject_risky=True), DEA, DISPOSABLE),
        (Policy(reject_role=True), ROLE_OK, ROLE),
        (Policy(reject_unknown=True), GREYLISTED, UNKNOWN),
        (Policy(reject_unknown=True), TIMED_OUT, UNKNOWN),
        (Policy(reject_risky=True, reject_unknown=True), NO_MAILBOX, UNDELIVERABLE),
    ],
)
def test_each_option_refuses_with_its_own_code(policy: Policy, result: Result, code: str) -> None:
    rejection = policy.judge(result)
    assert rejection is not None and rejection.code == code
    assert not policy.apply(result).accepted


@pytest.mark.parametrize(
    ("policy", "result"),
    [
        (Policy(reject_disposable=True), CATCH_ALL),
        (Policy(reject_role=True), DELIVERABLE),
        (Policy(reject_risky=True), GREYLISTED),
        (Policy(reject_unknown=True), CATCH_ALL),
    ],
)
def test_an_option_refuses_nothing_else(policy: Policy, result: Result) -> None:
    assert policy.apply(result).accepted


def test_rejection_carries_the_reason_and_the_suggestion() -> None:
    typo = _result(
        State.UNDELIVERABLE,
        Reason.DOMAIN_IS_INEXISTENT,
        input="jane@yaho.com",
        email="jane@yaho.com",
        did_you_mean="jane@yahoo.com",
    )
    rejection = Policy().judge(typo)
    assert rejection is not None
    assert rejection.context == {
        "reason": "DomainIsInexistent",
        "state": "undeliverable",
        "email": "jane@yaho.com",
        "suggestion": "jane@yahoo.com",
    }
    assert rejection.message == (
        "This email address cannot receive mail (DomainIsInexistent). Did you mean jane@yahoo.com?"
    )
    assert "{suggestion}" in rejection.template


def test_rejection_without_a_suggestion_does_not_offer_one() -> None:
    rejection = Policy().judge(NO_MAILBOX)
    assert rejection is not None
    assert "suggestion" not in rejection.context
    assert rejection.message == "This email address cannot receive mail (MailboxDoesNotExist)."


def test_an_input_that_is_no_address_is_named_as_given() -> None:
    bad = _result(State.UNDELIVERABLE, Reason.AT_SIGN_NOT_FOUND, input="jane", email=None)
    rejection = Policy().judge(bad)
    assert rejection is not None and rejection.context["email"] == "jane"
