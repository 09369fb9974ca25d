"""to_byteplant field by field, case by case, with and without `correct`."""

from __future__ import annotations

from dataclasses import replace

import pytest

from engine.config import Config
from engine.model import Timings
from engine.service.faces.byteplant import to_byteplant
from engine.syntax import parse_address
from engine.verdict import Findings, decide
from tests.unit.service import cases
from tests.unit.service.shapes import load


def test_the_documented_bad_example() -> None:
    # Docs: test@tester.com -> Bad / MailboxDoesNotExist, checked as given, no suggestion.
    result = replace(cases.unknown_user(), input="test@tester.com", email="test@tester.com")
    assert to_byteplant(result) == load("byteplant")["example"]


@pytest.mark.parametrize(
    ("case", "status", "additional"),
    [
        ("deliverable", "Ok", "Success"),
        ("role", "Ok", "Success"),
        ("unknown_user", "Bad", "MailboxDoesNotExist"),
        ("catch_all", "Unknown", "ServerIsCatchAll"),
        ("disposable", "Unknown", "DomainIsWellKnownDea"),
        ("full_mailbox", "Unknown", "MailboxFull"),
        ("greylisted", "Unknown", "TransientNetworkFault"),
        ("sender_blocked", "Unknown", "IpBlockDetected"),
        ("timeout", "Unknown", "TransientNetworkFault"),
        ("dns_transient", "Unknown", "TransientNetworkFault"),
        ("mx_not_public", "Unknown", "None"),
        ("not_checked", "Unknown", "None"),
        ("unclear", "Unknown", "Unknown"),
        ("disabled", "Bad", "None"),
        ("syntax_error", "Bad", "AtSignNotFound"),
        ("typo", "Bad", "DomainIsInexistent"),
    ],
)
def test_status_words(case: str, status: str, additional: str) -> None:
    body = to_byteplant(cases.ALL[case]())
    assert (body["status"], body["additionalStatus"]) == (status, additional)


def test_typo_suggestion_is_the_whole_address_and_empty_otherwise() -> None:
    assert to_byteplant(cases.typo())["emailAddressSuggestion"] == "john@gmail.com"
    assert to_byteplant(cases.deliverable())["emailAddressSuggestion"] == ""


def test_without_correct_the_checked_address_is_the_input_untouched() -> None:
    body = to_byteplant(cases.deliverable())
    assert body["emailAddressProvided"] == "Jane.Doe+news@Example.com"
    assert body["emailAddressChecked"] == "Jane.Doe+news@Example.com"


def test_with_correct_the_checked_address_is_the_cleaned_one() -> None:
    findings = Findings(address=parse_address(" <John@Gmail.com>. ", clean=True))
    result = decide(findings, Config(), Timings())
    body = to_byteplant(result, correct=True)
    assert body["emailAddressProvided"] == " <John@Gmail.com>. "
    assert body["emailAddressChecked"] == "John@gmail.com"
    assert to_byteplant(result)["emailAddressChecked"] == " <John@Gmail.com>. "


def test_with_correct_an_unparsed_input_is_checked_as_given() -> None:
    body = to_byteplant(cases.syntax_error(), correct=True)
    assert body["emailAddressChecked"] == body["emailAddressProvided"] == "jane.doe.example.com"
