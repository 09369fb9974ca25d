"""to_kickbox field by field, case by case."""

from __future__ import annotations

from typing import Any

import pytest

from engine.service.faces.kickbox import to_kickbox
from tests.unit.service import cases


def test_deliverable_address_every_field() -> None:
    assert to_kickbox(cases.deliverable()) == {
        "result": "deliverable",
        "reason": "accepted_email",
        "role": False,
        "free": False,
        "disposable": False,
        "accept_all": False,
        "did_you_mean": None,
        "sendex": 0.95,
        "email": "Jane.Doe+news@example.com",
        "user": "Jane.Doe+news",
        "domain": "example.com",
        "success": True,
        "message": None,
    }


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("unknown_user", {"result": "undeliverable", "reason": "rejected_email", "sendex": 0.0}),
        (
            "catch_all",
            {"result": "risky", "reason": "low_deliverability", "accept_all": True},
        ),
        (
            "disposable",
            {"result": "risky", "reason": "low_quality", "disposable": True, "sendex": 0.2},
        ),
        ("role", {"result": "deliverable", "reason": "accepted_email", "role": True}),
        ("full_mailbox", {"result": "risky", "reason": "low_deliverability"}),
        ("greylisted", {"result": "unknown", "reason": "unavailable_smtp"}),
        ("sender_blocked", {"result": "unknown", "reason": "unavailable_smtp"}),
        ("timeout", {"result": "unknown", "reason": "timeout", "accept_all": False}),
        ("dns_transient", {"result": "unknown", "reason": "no_connect"}),
        ("mx_not_public", {"result": "unknown", "reason": "no_connect"}),
        ("not_checked", {"result": "unknown", "reason": "unexpected_error"}),
        ("unclear", {"result": "unknown", "reason": "unexpected_error"}),
        ("disabled", {"result": "undeliverable", "reason": "rejected_email"}),
        (
            "syntax_error",
            {
                "result": "undeliverable",
                "reason": "invalid_email",
                "email": "jane.doe.example.com",
                "user": None,
                "domain": None,
            },
        ),
        (
            "typo",
            {
                "result": "undeliverable",
                "reason": "invalid_domain",
                "did_you_mean": "john@gmail.com",
                "email": "john@gmial.com",
                "domain": "gmial.com",
            },
        ),
    ],
)
def test_case_fields(case: str, expected: dict[str, Any]) -> None:
    body = to_kickbox(cases.ALL[case]())
    assert {key: body[key] for key in expected} == expected


def test_sendex_is_the_engine_score() -> None:
    for make in cases.ALL.values():
        result = make()
        body = to_kickbox(result)
        assert body["sendex"] == result.score
        assert 0.0 <= body["sendex"] <= 1.0
