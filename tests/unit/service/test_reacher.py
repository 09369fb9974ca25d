"""to_reacher field by field, case by case: the nested objects and their error forms."""

from __future__ import annotations

from typing import Any

import pytest

from engine.service.faces.reacher import to_reacher
from tests.unit.service import cases

SKIPPED_SMTP = {
    "can_connect_smtp": False,
    "has_full_inbox": False,
    "is_catch_all": False,
    "is_deliverable": False,
    "is_disabled": False,
}


def test_deliverable_address_every_field() -> None:
    assert to_reacher(cases.deliverable()) == {
        "input": "Jane.Doe+news@Example.com",
        "is_reachable": "safe",
        "misc": {
            "is_disposable": False,
            "is_role_account": False,
            "is_b2c": False,
            "gravatar_url": None,
            "haveibeenpwned": None,
        },
        "mx": {"accepts_mail": True, "records": ["mx1.example.com.", "mx2.example.com."]},
        "smtp": {
            "can_connect_smtp": True,
            "has_full_inbox": False,
            "is_catch_all": False,
            "is_deliverable": True,
            "is_disabled": False,
        },
        "syntax": {
            "address": "Jane.Doe+news@example.com",
            "domain": "example.com",
            "is_valid_syntax": True,
            "username": "Jane.Doe+news",
            "normalized_email": "Jane.Doe+news@example.com",
            "suggestion": None,
        },
    }


def _smtp(**kw: bool) -> dict[str, Any]:
    return {**SKIPPED_SMTP, "can_connect_smtp": True, **kw}


@pytest.mark.parametrize(
    ("case", "reachable", "smtp"),
    [
        ("unknown_user", "invalid", _smtp()),
        ("catch_all", "risky", _smtp(is_deliverable=True, is_catch_all=True)),
        ("role", "safe", _smtp(is_deliverable=True)),
        ("full_mailbox", "risky", _smtp(has_full_inbox=True)),
        ("disabled", "invalid", _smtp(is_disabled=True)),
        # Not asked: a disposable domain is risky from the list alone.
        ("disposable", "risky", SKIPPED_SMTP),
        ("syntax_error", "invalid", SKIPPED_SMTP),
        ("typo", "invalid", SKIPPED_SMTP),
        ("not_checked", "unknown", SKIPPED_SMTP),
    ],
)
def test_smtp_details(case: str, reachable: str, smtp: dict[str, Any]) -> None:
    body = to_reacher(cases.ALL[case]())
    assert (body["is_reachable"], body["smtp"]) == (reachable, smtp)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("greylisted", "450 4.7.1 Greylisted, please try again later"),
        ("timeout", "time limit reached during SMTP"),
        ("unclear", "550 Denied"),
        ("mx_not_public", "every mail host address of intranet.example is private"),
    ],
)
def test_no_answer_about_the_mailbox_is_reachers_smtp_error(case: str, message: str) -> None:
    body = to_reacher(cases.ALL[case]())
    assert body["is_reachable"] == "unknown"
    assert body["smtp"] == {"error": {"type": "SmtpError", "message": message}}


def test_a_blocked_sender_carries_reachers_description() -> None:
    smtp = to_reacher(cases.sender_blocked())["smtp"]
    assert smtp == {
        "error": {
            "type": "SmtpError",
            "message": "554 5.7.1 Service unavailable; client host blocked",
        },
        "description": "IpBlacklisted",
    }


def test_a_dns_fault_is_a_resolve_error_and_smtp_did_not_run() -> None:
    body = to_reacher(cases.dns_transient())
    assert body["mx"] == {"error": {"type": "ResolveError", "message": "SERVFAIL for example.org"}}
    assert body["smtp"] == SKIPPED_SMTP


def test_time_running_out_in_dns_is_a_resolve_error_not_a_domain_without_mail() -> None:
    body = to_reacher(cases.timeout_in_dns())
    assert body["is_reachable"] == "unknown"
    assert body["mx"] == {
        "error": {"type": "ResolveError", "message": "time limit reached during DNS"}
    }
    assert body["smtp"] == SKIPPED_SMTP


def test_a_missing_domain_has_no_records_and_suggests_the_whole_address() -> None:
    body = to_reacher(cases.typo())
    assert body["mx"] == {"accepts_mail": False, "records": []}
    assert body["syntax"]["suggestion"] == "john@gmail.com"


def test_bad_syntax_has_reachers_empty_syntax_details() -> None:
    body = to_reacher(cases.syntax_error())
    assert body["input"] == "jane.doe.example.com"
    assert body["syntax"] == {
        "address": None,
        "domain": "",
        "is_valid_syntax": False,
        "username": "",
        "normalized_email": None,
        "suggestion": None,
    }
    assert body["mx"] == {"accepts_mail": False, "records": []}


def test_disposable_and_role_flags_go_to_misc() -> None:
    assert to_reacher(cases.disposable())["misc"]["is_disposable"] is True
    assert to_reacher(cases.role())["misc"]["is_role_account"] is True
