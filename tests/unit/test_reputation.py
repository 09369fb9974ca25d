"""Reputation flags from the shipped lists; domains match on their registrable part."""

from __future__ import annotations

import pytest

from engine.datasets import Datasets
from engine.model import Address
from engine.reputation import reputation_flags


@pytest.fixture(scope="module")
def ds() -> Datasets:
    return Datasets()


def _addr(local: str, domain: str) -> Address:
    return Address(
        input=f"{local}@{domain}",
        checked=f"{local}@{domain}",
        local=local,
        ascii_domain=domain,
        unicode_domain=domain,
    )


@pytest.mark.parametrize(
    "domain", ["mailinator.com", "x.sub.mailinator.com", "MAILINATOR.com".lower()]
)
def test_disposable_matches_registrable_domain(ds: Datasets, domain: str) -> None:
    flags = reputation_flags(_addr("bob", domain), ds)
    assert flags.disposable is True
    assert flags.free is False


@pytest.mark.parametrize("domain", ["gmail.com", "yahoo.co.jp", "web.de", "proton.me"])
def test_free_providers(ds: Datasets, domain: str) -> None:
    assert reputation_flags(_addr("bob", domain), ds).free is True


def test_corporate_domain_has_no_domain_flags(ds: Datasets) -> None:
    flags = reputation_flags(_addr("bob", "python.org"), ds)
    assert (flags.disposable, flags.free) == (False, False)


@pytest.mark.parametrize(
    "local", ["info", "Admin", "sales", "support+eu", "customer.service", "postmaster"]
)
def test_role_local_parts(ds: Datasets, local: str) -> None:
    assert reputation_flags(_addr(local, "python.org"), ds).role is True


@pytest.mark.parametrize(
    "local",
    [
        "noreply",
        "no-reply",
        "No_Reply",
        "donotreply",
        "do-not-reply",
        "noreply-billing",
        "mailer-daemon",
    ],
)
def test_no_reply_local_parts(ds: Datasets, local: str) -> None:
    assert reputation_flags(_addr(local, "python.org"), ds).no_reply is True


@pytest.mark.parametrize("local", ["jane", "info.jane.doe", "norbert", "salesforce-fan"])
def test_people_are_not_roles(ds: Datasets, local: str) -> None:
    flags = reputation_flags(_addr(local, "python.org"), ds)
    assert (flags.role, flags.no_reply) == (False, False)


def test_shipped_psl_is_used_not_publicsuffix2_bundle(ds: Datasets) -> None:
    # "123webseite.de" became a public suffix after publicsuffix2's 2019 copy: with the shipped
    # list the registrable part of a host under it has three labels, with the old one two.
    assert ds.registrable("mail.shop.123webseite.de") == "shop.123webseite.de"
