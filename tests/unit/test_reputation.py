"""Reputation flags from the shipped lists; domains match on their registrable part."""

from __future__ import annotations

from dataclasses import replace

import pytest

from engine.config import OFFLINE
from engine.datasets import Datasets
from engine.model import Address
from engine.reputation import reputation_flags
from engine.verifier import Verifier


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


@pytest.mark.parametrize(
    "domain",
    [
        # Country domains of the big providers.
        "hotmail.be", "hotmail.gr", "outlook.com.ar", "live.hk", "yahoo.co.uk", "yahoo.com.br",
        "gmx.fr", "gmx.co.uk", "gmx.at", "yandex.by", "yandex.kz", "ya.ru", "aol.de", "aol.co.uk",
        "mail.ru", "bk.ru", "inbox.ru", "naver.com", "qq.com", "163.com", "126.com", "vip.qq.com",
        # Privacy-focused providers.
        "proton.me", "protonmail.ch", "pm.me", "tuta.com", "tutanota.com", "tutanota.de",
        "posteo.de", "posteo.com", "posteo.eu", "mailbox.org", "disroot.org", "riseup.net",
        "startmail.com", "fastmail.com", "hushmail.me", "runbox.no", "kolabnow.com",
    ],
)  # fmt: skip
def test_free_list_covers_country_and_privacy_providers(ds: Datasets, domain: str) -> None:
    assert reputation_flags(_addr("bob", domain), ds).free is True


@pytest.mark.parametrize(
    "domain", ["microsoft.com", "google.com", "yahooinc.com", "posteo.de.example", "gmx.example"]
)
def test_providers_corporate_domains_are_not_free(ds: Datasets, domain: str) -> None:
    assert reputation_flags(_addr("bob", domain), ds).free is False


def test_every_curated_free_domain_reaches_the_free_list(ds: Datasets) -> None:
    from engine.datasets import read_lines

    extra = set(read_lines(ds.data_dir / "free_extra.txt"))
    assert len(extra) >= 100
    assert sorted(d for d in extra if d not in ds.free and d not in ds.disposable) == []


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


@pytest.mark.parametrize(
    "local",
    ["no-reply", "noreply", "mailer-daemon", "MAILER-DAEMON", "postmaster", "reception",
     "front.desk", "frontdesk", "secretary", "hostmaster", "abuse", "nobody", "do-not-reply"],
)  # fmt: skip
def test_role_covers_no_reply_daemons_and_front_desks(ds: Datasets, local: str) -> None:
    # Kickbox counts these as role addresses; Emailable and Kickbox set `role` for them.
    assert reputation_flags(_addr(local, "python.org"), ds).role is True


@pytest.mark.parametrize(
    ("local", "no_reply"),
    [("no-reply", True), ("mailer-daemon", True), ("postmaster", False), ("reception", False)],
)
def test_no_reply_stays_its_own_flag(ds: Datasets, local: str, no_reply: bool) -> None:
    flags = reputation_flags(_addr(local, "python.org"), ds)
    assert (flags.role, flags.no_reply) == (True, no_reply)


def test_every_no_reply_entry_is_a_role(ds: Datasets) -> None:
    assert ds.no_reply
    assert [k for k in ds.no_reply if not reputation_flags(_addr(k, "python.org"), ds).role] == []


@pytest.mark.parametrize(
    ("odd", "plain"),
    [
        (("bob", "Gmail.COM."), ("bob", "gmail.com")),
        (("bob", "MAILINATOR.com."), ("bob", "mailinator.com")),
        (("Info", "x.Sub.Mailinator.COM"), ("info", "x.sub.mailinator.com")),
        (("No-Reply", "WEB.DE."), ("no-reply", "web.de")),
    ],
)
def test_case_and_trailing_root_dot_never_change_flags(
    ds: Datasets, odd: tuple[str, str], plain: tuple[str, str]
) -> None:
    assert reputation_flags(_addr(*odd), ds) == reputation_flags(_addr(*plain), ds)
    assert reputation_flags(_addr(*plain), ds) != reputation_flags(_addr("bob", "python.org"), ds)


@pytest.mark.parametrize(
    ("odd", "plain"),
    [
        ("User@Gmail.COM.", "user@gmail.com"),
        ("Info@Example.ORG.", "info@example.org"),
        ("NoReply@MAILINATOR.COM", "noreply@mailinator.com"),
    ],
)
def test_verifier_flags_ignore_case_and_trailing_root_dot(odd: str, plain: str) -> None:
    # --clean takes the root dot off; the flags read the same lists either way.
    v = Verifier(replace(OFFLINE, clean=True))
    a, b = v.check_offline(odd), v.check_offline(plain)
    assert a.email is not None and b.email is not None
    assert a.flags == b.flags


@pytest.mark.parametrize("local", ["jane", "info.jane.doe", "norbert", "salesforce-fan"])
def test_people_are_not_roles(ds: Datasets, local: str) -> None:
    flags = reputation_flags(_addr(local, "python.org"), ds)
    assert (flags.role, flags.no_reply) == (False, False)


def test_shipped_psl_is_used_not_publicsuffix2_bundle(ds: Datasets) -> None:
    # "123webseite.de" became a public suffix after publicsuffix2's 2019 copy: with the shipped
    # list the registrable part of a host under it has three labels, with the old one two.
    assert ds.registrable("mail.shop.123webseite.de") == "shop.123webseite.de"
