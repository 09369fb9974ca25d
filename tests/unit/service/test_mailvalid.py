"""to_mailvalid field by field, case by case, and the webhook signature."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

from engine.service.faces.mailvalid import sign_mailvalid, to_mailvalid
from tests.unit.service import cases


def test_deliverable_address_every_field() -> None:
    assert to_mailvalid(cases.deliverable()) == {
        "email": "Jane.Doe+news@example.com",
        "status": "valid",
        "score": 95,
        "checks": {
            "syntax_valid": True,
            "domain_exists": True,
            "mx_found": True,
            "smtp_reachable": True,
            "disposable": False,
            "role_based": False,
            "catch_all": False,
        },
        "suggestion": None,
        "provider": "google",
    }


def _checks(**kw: Any) -> dict[str, Any]:
    return kw


@pytest.mark.parametrize(
    ("case", "status", "checks"),
    [
        ("unknown_user", "invalid", _checks(smtp_reachable=True, catch_all=None)),
        ("catch_all", "risky", _checks(smtp_reachable=True, catch_all=True)),
        # No SMTP for a disposable domain: DNS found its mail hosts, the rest is unknown.
        (
            "disposable",
            "risky",
            _checks(disposable=True, domain_exists=True, mx_found=True, smtp_reachable=None),
        ),
        ("role", "valid", _checks(role_based=True, smtp_reachable=True)),
        ("full_mailbox", "risky", _checks(smtp_reachable=True)),
        ("greylisted", "unknown", _checks(smtp_reachable=True, mx_found=True)),
        # Time ran out before any reply: whether the server is reachable is not known.
        ("timeout", "unknown", _checks(mx_found=True, smtp_reachable=None, catch_all=None)),
        (
            "timeout_in_dns",
            "unknown",
            _checks(syntax_valid=True, domain_exists=None, mx_found=None, smtp_reachable=None),
        ),
        (
            "dns_transient",
            "unknown",
            _checks(syntax_valid=True, domain_exists=None, mx_found=None, smtp_reachable=None),
        ),
        ("mx_not_public", "unknown", _checks(mx_found=True, smtp_reachable=None)),
        (
            "not_checked",
            "unknown",
            _checks(syntax_valid=True, domain_exists=None, mx_found=None, smtp_reachable=None),
        ),
        (
            "syntax_error",
            "invalid",
            _checks(syntax_valid=False, domain_exists=None, mx_found=None, smtp_reachable=None),
        ),
        (
            "typo",
            "invalid",
            _checks(domain_exists=False, mx_found=False, smtp_reachable=False),
        ),
    ],
)
def test_case_status_and_checks(case: str, status: str, checks: dict[str, Any]) -> None:
    body = to_mailvalid(cases.ALL[case]())
    assert body["status"] == status
    assert {key: body["checks"][key] for key in checks} == checks


def test_typo_suggestion_is_the_whole_corrected_address() -> None:
    body = to_mailvalid(cases.typo())
    assert (body["suggestion"], body["provider"]) == ("john@gmail.com", None)


def test_a_cached_result_without_dns_words_still_says_what_its_reason_proves() -> None:
    # Results read back from older caches may lack detail.dns; the reason alone is enough.
    from dataclasses import replace

    from engine.model import Detail

    result = replace(cases.typo(), detail=Detail())
    checks = to_mailvalid(result)["checks"]
    assert (checks["domain_exists"], checks["mx_found"], checks["smtp_reachable"]) == (
        False,
        False,
        False,
    )


def test_signature_matches_rfc_4231_test_case_2() -> None:
    # RFC 4231 §4.3: key "Jefe", data "what do ya want for nothing?", HMAC-SHA-256.
    expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    assert sign_mailvalid(b"what do ya want for nothing?", "Jefe") == expected


def test_signature_covers_the_raw_body_bytes() -> None:
    body = json.dumps(to_mailvalid(cases.deliverable())).encode()
    signature = sign_mailvalid(body, "s3cret")
    assert hmac.compare_digest(signature, hmac.new(b"s3cret", body, hashlib.sha256).hexdigest())
    assert sign_mailvalid(body + b" ", "s3cret") != signature
    assert sign_mailvalid(body, "other") != signature
