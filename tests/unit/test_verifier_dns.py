"""The DNS stage's effect on typo suggestions, through Verifier with a FakeResolver."""

from __future__ import annotations

from engine.config import Config
from engine.testing import FakeResolver
from engine.verifier import Verifier

ZONE = {
    # A squatted typo of a big provider, with its own MX: the suggestion stands.
    "gmial.com": {"MX": [(10, "mx.gmial.com")]},
    "mx.gmial.com": {"A": ["192.0.2.20"]},
    "gmail.com": {"MX": [(5, "gmail-smtp-in.l.google.com")]},
    "gmail-smtp-in.l.google.com": {"A": ["192.0.2.21"]},
    # A real business one slip from a small provider: its own MX wins over the suggestion.
    "chatter.net": {"MX": [(10, "mail.chatter.net")]},
    "mail.chatter.net": {"A": ["192.0.2.22"]},
    "charter.net": {"MX": [(10, "mx.charter.net")]},
    "mx.charter.net": {"A": ["192.0.2.23"]},
    # A suggestion whose own domain takes no mail is dropped.
    "hotmial.co.uk": {"A": ["192.0.2.24"]},
    # Mistyped suffixes of company domains ("acme.con"): the suggestion needs the suggested
    # domain to take mail and the typed one not to.
    "acme.com": {"MX": [(10, "mx.acme.com")]},
    "mx.acme.com": {"A": ["192.0.2.30"]},
    "shop.con": {"MX": [(10, "mx.shop.con")]},  # a typed name with mail servers of its own
    "mx.shop.con": {"A": ["192.0.2.31"]},
    "shop.com": {"MX": [(10, "mx.shop.com")]},
    "mx.shop.com": {"A": ["192.0.2.32"]},
    "web.cmo": {"A": ["192.0.2.33"]},  # no MX, but an address: it takes mail (RFC 5321 §5.1)
    "web.com": {"MX": [(10, "mx.web.com")]},
    "mx.web.com": {"A": ["192.0.2.34"]},
    "flaky.con": {"fault": "servfail"},  # the typed name cannot be told
    "flaky.com": {"MX": [(10, "mx.flaky.com")]},
    "mx.flaky.com": {"A": ["192.0.2.35"]},
    "unsure.com": {"fault": "servfail"},  # the suggestion cannot be told
}
# No connection is made (check_smtp=False); the opt-in lets the documentation addresses through.
CONFIG = Config(check_smtp=False, allow_private_addresses=True)


async def _check(address: str) -> tuple[str | None, bool | None, tuple[str, ...]]:
    async with Verifier(CONFIG, resolver=FakeResolver(ZONE)) as v:
        r = await v.averify(address)
    return r.did_you_mean_domain, r.detail.suggestion_accepts_mail, r.detail.notes


async def test_big_provider_suggestion_stands_against_a_squatted_typo_with_mx() -> None:
    suggestion, accepts, _ = await _check("jane@gmial.com")
    assert (suggestion, accepts) == ("gmail.com", True)


async def test_small_provider_suggestion_yields_to_a_domain_with_its_own_mx() -> None:
    suggestion, accepts, notes = await _check("jane@chatter.net")
    assert suggestion is None
    assert accepts is True
    assert any("dropped" in n for n in notes)


async def test_suggestion_that_takes_no_mail_is_dropped() -> None:
    # hotmail.co.uk is not in the zone, so here it is NXDOMAIN: no mail host, no suggestion.
    suggestion, accepts, _ = await _check("jane@hotmial.co.uk")
    assert (suggestion, accepts) == (None, False)


async def test_company_suffix_typo_stands_when_only_the_suggestion_takes_mail() -> None:
    suggestion, accepts, _ = await _check("jane@acme.con")
    assert (suggestion, accepts) == ("acme.com", True)


async def test_company_suffix_typo_is_dropped_when_the_suggestion_takes_no_mail() -> None:
    # nothing.com is not in the zone: NXDOMAIN.
    suggestion, accepts, _ = await _check("jane@nothing.con")
    assert (suggestion, accepts) == (None, False)


async def test_company_suffix_typo_is_dropped_when_the_typed_domain_has_mx() -> None:
    suggestion, accepts, notes = await _check("jane@shop.con")
    assert (suggestion, accepts) == (None, True)
    assert any("dropped" in n for n in notes)


async def test_company_suffix_typo_is_dropped_when_the_typed_domain_has_an_address() -> None:
    suggestion, accepts, _ = await _check("jane@web.cmo")
    assert (suggestion, accepts) == (None, True)


async def test_company_suffix_typo_is_dropped_when_the_typed_domain_is_unclear() -> None:
    suggestion, accepts, notes = await _check("jane@flaky.con")
    assert (suggestion, accepts) == (None, True)
    assert any("unclear" in n for n in notes)


async def test_company_suffix_typo_is_dropped_when_the_suggestion_is_unclear() -> None:
    suggestion, accepts, _ = await _check("jane@unsure.con")
    assert (suggestion, accepts) == (None, None)


async def test_provider_suffix_typo_stands_when_the_typed_domain_does_not_exist() -> None:
    suggestion, accepts, _ = await _check("jane@gmail.con")
    assert (suggestion, accepts) == ("gmail.com", True)


async def _check_invalid(address: str) -> tuple[str, str | None, str | None]:
    async with Verifier(CONFIG, resolver=FakeResolver(ZONE)) as v:
        r = await v.averify(address)
    return r.reason.value, r.did_you_mean, r.did_you_mean_domain


async def test_invalid_input_gets_a_suggestion_that_takes_mail() -> None:
    assert await _check_invalid("jane@acme,com") == ("InvalidSyntax", "jane@acme.com", "acme.com")
    assert await _check_invalid("jane@gmailcom") == (
        "InvalidSyntax",
        "jane@gmail.com",
        "gmail.com",
    )


async def test_invalid_input_gets_no_suggestion_that_takes_no_mail() -> None:
    assert await _check_invalid("jane@nothing,com") == ("InvalidSyntax", None, None)
    assert await _check_invalid("jane@unsure,com") == ("InvalidSyntax", None, None)
