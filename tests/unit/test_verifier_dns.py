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
