"""Every face against its vendor's documented shape: same keys, same types, values inside the
documented enums, plain JSON; every Reason has a word in every vendor's vocabulary."""

from __future__ import annotations

from typing import Any

import pytest

from engine.model import Reason, State
from engine.service.faces import byteplant, emailable, kickbox, mailvalid, reacher
from tests.unit.service import cases
from tests.unit.service.shapes import (
    FACES,
    MODULES,
    REASON_STATE,
    assert_types,
    flatten,
    load,
    roundtrip,
)


def test_the_reason_state_table_covers_every_reason() -> None:
    assert set(REASON_STATE) == set(Reason)


@pytest.mark.parametrize("case", sorted(cases.ALL))
def test_each_case_has_the_state_of_its_reason(case: str) -> None:
    result = cases.ALL[case]()
    assert result.state is REASON_STATE[result.reason]


@pytest.mark.parametrize("vendor", sorted(MODULES))
def test_every_reason_has_a_word_in_the_vendor_vocabulary(vendor: str) -> None:
    table = MODULES[vendor].REASONS
    missing = set(Reason) - set(table)
    assert not missing, f"{vendor} has no word for {sorted(r.value for r in missing)}"


@pytest.mark.parametrize("vendor", ["kickbox", "emailable"])
def test_reason_words_are_in_the_group_of_our_state(vendor: str) -> None:
    shape = load(vendor)
    for reason, word in MODULES[vendor].REASONS.items():
        assert word in shape["enums"]["reason"]
        group = shape["reason_groups"][REASON_STATE[reason].value]
        assert word in group, f"{reason.value} -> {word} is not a {REASON_STATE[reason].value}"


def test_byteplant_words_are_documented() -> None:
    enums = load("byteplant")["enums"]
    assert set(byteplant.REASONS.values()) <= set(enums["additionalStatus"])
    assert set(byteplant.STATES.values()) == set(enums["status"])


@pytest.mark.parametrize("vendor", sorted(FACES))
def test_the_documented_example_fits_its_own_types(vendor: str) -> None:
    shape = load(vendor)
    assert_types(shape["example"], shape["types"])


def _check_enums(vendor: str, body: dict[str, Any]) -> None:
    flat = flatten(body)
    for path, allowed in load(vendor)["enums"].items():
        if path in flat:
            assert flat[path] in allowed, f"{vendor} {path}={flat[path]!r} not in {allowed}"


@pytest.mark.parametrize("case", sorted(cases.ALL))
@pytest.mark.parametrize("vendor", ["kickbox", "emailable", "byteplant", "mailvalid"])
def test_flat_faces_answer_the_documented_keys_types_and_enums(vendor: str, case: str) -> None:
    shape = load(vendor)
    body = roundtrip(FACES[vendor](cases.ALL[case]()))
    assert set(body) == set(shape["example"])
    example_checks = shape["example"].get("checks")
    if example_checks is not None:
        assert set(body["checks"]) == set(example_checks)
    assert_types(body, shape["types"])
    _check_enums(vendor, body)


@pytest.mark.parametrize("case", sorted(cases.ALL))
def test_reacher_answers_the_documented_keys_types_and_enums(case: str) -> None:
    shape = load("reacher")
    example = shape["example"]
    body = roundtrip(reacher.to_reacher(cases.ALL[case]()))
    assert set(body) == set(example)
    for part in ("misc", "mx", "smtp", "syntax"):
        if "error" in body[part]:
            assert part != "syntax", "syntax has no error form in Reacher"
            assert set(body[part]) <= set(shape["error_keys"])
            assert set(body[part]["error"]) == set(shape["error_example"]["error"])
        else:
            assert set(body[part]) == set(example[part]), part
    assert_types(body, shape["types"])
    flat = flatten(body)
    assert flat["is_reachable"] in shape["enums"]["is_reachable"]
    for part in ("mx", "smtp"):
        if f"{part}.error.type" in flat:
            assert flat[f"{part}.error.type"] in shape["enums"][f"{part}.error.type"]
    if "smtp.description" in flat:
        assert flat["smtp.description"] in shape["enums"]["description"]


@pytest.mark.parametrize("case", sorted(cases.ALL))
def test_an_unclear_answer_is_never_bad_in_any_face(case: str) -> None:
    # The costliest mistake: calling a mailbox that may exist undeliverable. Whatever the
    # engine did not settle as undeliverable stays out of every vendor's "bad" words.
    result = cases.ALL[case]()
    if result.state is State.UNDELIVERABLE:
        return
    assert kickbox.to_kickbox(result)["result"] != "undeliverable"
    assert emailable.to_emailable(result)["state"] != "undeliverable"
    assert byteplant.to_byteplant(result)["status"] != "Bad"
    assert mailvalid.to_mailvalid(result)["status"] != "invalid"
    assert reacher.to_reacher(result)["is_reachable"] != "invalid"


@pytest.mark.parametrize("case", sorted(cases.ALL))
def test_every_face_states_the_engine_verdict(case: str) -> None:
    result = cases.ALL[case]()
    assert kickbox.to_kickbox(result)["result"] == result.state.value
    assert emailable.to_emailable(result)["state"] == result.state.value
    assert byteplant.to_byteplant(result)["status"] == byteplant.STATES[result.state]
    assert mailvalid.to_mailvalid(result)["status"] == mailvalid.STATES[result.state]
    assert reacher.to_reacher(result)["is_reachable"] == reacher.STATES[result.state]


def test_special_use_names_keep_a_reason_word_of_their_state() -> None:
    """RFC 6761: .invalid can never take mail (undeliverable); .onion may (unknown)."""
    from engine import Config, Verifier

    verifier = Verifier(Config(check_dns=False, check_smtp=False))
    never, maybe = (verifier.check_offline(a) for a in ("a@x.invalid", "a@x.onion"))
    assert (never.reason, never.state) == (Reason.SPECIAL_USE_DOMAIN, State.UNDELIVERABLE)
    assert (maybe.reason, maybe.state) == (Reason.SPECIAL_USE_DOMAIN, State.UNKNOWN)
    for vendor in ("kickbox", "emailable"):
        groups = load(vendor)["reason_groups"]
        for result in (never, maybe):
            word = FACES[vendor](result)["reason"]
            assert word in groups[result.state.value], (vendor, result.state, word)
