"""to_emailable field by field, case by case."""

from __future__ import annotations

from typing import Any

import pytest

from engine.service.faces.emailable import to_emailable
from tests.unit.service import cases


def test_deliverable_address_with_names_every_field() -> None:
    assert to_emailable(cases.named(cases.deliverable())) == {
        "accept_all": False,
        "did_you_mean": None,
        "disposable": False,
        "domain": "example.com",
        "duration": 0.493,
        "email": "Jane.Doe+news@example.com",
        "first_name": "Jane",
        "free": False,
        "full_name": "Jane Doe",
        "gender": "female",
        "last_name": "Doe",
        "mailbox_full": False,
        "mx_record": "mx1.example.com",
        "no_reply": False,
        "reason": "accepted_email",
        "role": False,
        "score": 95,
        "smtp_provider": "google",
        "state": "deliverable",
        "tag": "news",
        "user": "Jane.Doe+news",
    }


def test_names_are_null_until_the_engine_fills_them() -> None:
    body = to_emailable(cases.deliverable())
    assert [body[k] for k in ("first_name", "last_name", "full_name", "gender")] == [None] * 4


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("unknown_user", {"state": "undeliverable", "reason": "rejected_email", "score": 0}),
        ("catch_all", {"state": "risky", "reason": "low_deliverability", "accept_all": True}),
        ("disposable", {"state": "risky", "reason": "low_quality", "disposable": True}),
        ("role", {"state": "deliverable", "role": True, "score": 90}),
        (
            "full_mailbox",
            {"state": "risky", "reason": "low_deliverability", "mailbox_full": True, "score": 35},
        ),
        ("greylisted", {"state": "unknown", "reason": "unavailable_smtp", "score": 50}),
        ("timeout", {"state": "unknown", "reason": "timeout"}),
        (
            "syntax_error",
            {
                "state": "undeliverable",
                "reason": "invalid_email",
                "email": "jane.doe.example.com",
                "user": None,
                "domain": None,
                "mx_record": None,
            },
        ),
        (
            "typo",
            {
                "state": "undeliverable",
                "reason": "invalid_domain",
                "did_you_mean": "john@gmail.com",
            },
        ),
    ],
)
def test_case_fields(case: str, expected: dict[str, Any]) -> None:
    body = to_emailable(cases.ALL[case]())
    assert {key: body[key] for key in expected} == expected


def test_score_is_an_integer_from_0_to_100() -> None:
    for make in cases.ALL.values():
        result = make()
        score = to_emailable(result)["score"]
        assert isinstance(score, int)
        assert score == round(result.score * 100)
