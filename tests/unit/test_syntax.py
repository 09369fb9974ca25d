"""engine.syntax: each rule against the RFC section it comes from, clean mode, hostile input, and
the promise that the fast path and the full parser give the same answer for every input."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

import email_validator
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine.syntax
from engine import Config, Reason, State, verify
from engine.errors import (
    AddressError,
    AtSignNotFound,
    InvalidAddress,
    SpecialUseDomain,
    SpecialUseDomainUnchecked,
    TooManyAtSigns,
)
from engine.model import Address
from engine.syntax import (
    _PLAIN_ADDRESS,
    _parse_full,
    _plain_syntax_error,
    clean_address,
    parse_address,
)

CASES_FILE = Path(__file__).resolve().parent.parent / "data" / "syntax_cases.tsv"
ERRORS: dict[str, type[AddressError]] = {
    "AtSignNotFound": AtSignNotFound,
    "TooManyAtSigns": TooManyAtSigns,
    "InvalidAddress": InvalidAddress,
    "SpecialUseDomain": SpecialUseDomain,
    "SpecialUseDomainUnchecked": SpecialUseDomainUnchecked,
}


class Case(NamedTuple):
    input: str
    expect: str
    local: str
    ascii_domain: str
    unicode_domain: str
    rule: str


def _cell(text: str) -> str:
    return "" if text == "-" else text


def _read_cases() -> list[Case]:
    rows = []
    lines = CASES_FILE.read_text(encoding="utf-8").splitlines()
    for line in lines[1:]:
        if line.startswith("#") or line.startswith("input\t"):
            continue
        cells = line.split("\t")
        assert len(cells) == 6, line
        rows.append(Case(*(_cell(c) if i < 5 else c for i, c in enumerate(cells))))
    return rows


CASES = _read_cases()


Outcome = Address | type[AddressError] | tuple[type[SpecialUseDomain], Address]


def _outcome(parse: Callable[[str], Address], text: str) -> Outcome:
    """The Address, or the class of the AddressError (with the Address a SpecialUseDomain
    carries); anything else propagates."""
    try:
        return parse(text)
    except SpecialUseDomain as exc:
        return type(exc), exc.address
    except AddressError as exc:
        return type(exc)


def _domain(octets: int) -> str:
    """A valid domain of exactly `octets` octets, in labels of at most 63, ending in ".com"."""
    body = octets - len(".com")
    labels = []
    while body > 0:
        size = min(63, body)
        if body - size == 1:  # never leave a lone dot with no label after it
            size -= 2
        labels.append("d" * size)
        body -= size + 1
    domain = ".".join(labels) + ".com"
    assert len(domain) == octets
    return domain


@pytest.fixture
def no_full_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any call into email-validator fail the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("email-validator was called")

    monkeypatch.setattr(engine.syntax, "validate_email", refuse)


# --- the table in tests/data/syntax_cases.tsv -----------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[f"{c.rule}: {c.input!r}" for c in CASES])
def test_table_case_follows_its_rfc_rule(case: Case) -> None:
    for parse in (parse_address, _parse_full):
        if case.expect == "ok":
            address = parse(case.input)
            assert address.local == case.local
            assert address.ascii_domain == case.ascii_domain
            assert address.unicode_domain == case.unicode_domain
            assert address.input == address.checked == case.input
        else:
            with pytest.raises(ERRORS[case.expect]) as caught:
                parse(case.input)
            assert type(caught.value) is ERRORS[case.expect]


def test_table_covers_valid_and_every_error_class() -> None:
    kinds = {c.expect for c in CASES}
    assert kinds == {"ok", *ERRORS}


# --- the local part ---------------------------------------------------------------------------


def test_dot_atom_local_part_keeps_its_case_rfc5321_2_4() -> None:
    address = parse_address("John.SMITH@Example.COM")
    assert address.local == "John.SMITH"
    assert address.email == "John.SMITH@example.com"


def test_role_local_part_keeps_its_case_in_both_paths_rfc5321_2_4() -> None:
    # email-validator lower-cases RFC 2142 names; the engine keeps what was typed.
    for parse in (parse_address, _parse_full):
        assert parse("Postmaster@example.com").local == "Postmaster"
        assert parse('"ABUSE"@example.com').local == "ABUSE"


def test_every_atext_character_is_valid_in_a_dot_atom_rfc5322_3_2_3() -> None:
    atext = "abcXYZ019!#$%&'*+-/=?^_`{|}~"
    for char in atext:
        assert parse_address(f"a{char}b@example.com").local == f"a{char}b"


@pytest.mark.parametrize("special", list('()<>[]:;@\\," '))
def test_specials_outside_quotes_are_invalid_rfc5322_3_2_3(special: str) -> None:
    expected = TooManyAtSigns if special == "@" else InvalidAddress
    with pytest.raises(expected):
        parse_address(f"a{special}b@example.com")


@pytest.mark.parametrize("local", [".john", "john.", "jo..hn", "."])
def test_dot_atom_dots_are_only_between_atoms_rfc5322_3_2_3(local: str) -> None:
    with pytest.raises(InvalidAddress):
        parse_address(f"{local}@example.com")


def test_quoted_local_part_is_valid_rfc5322_3_2_4() -> None:
    address = parse_address('"john doe"@example.com')
    assert address.local == '"john doe"'
    assert address.email == '"john doe"@example.com'
    assert address.tag is None


def test_at_sign_inside_a_quoted_local_part_is_valid_rfc5321_4_1_2() -> None:
    assert parse_address('"a@b"@example.com').local == '"a@b"'


def test_needless_quotes_are_removed_rfc5321_4_1_2() -> None:
    # "the sending system SHOULD transmit the form that uses the minimum quoting possible"
    assert parse_address('"john.doe"@example.com').local == "john.doe"


def test_quoted_pair_escapes_a_quote_rfc5321_4_1_2() -> None:
    assert parse_address(r'"a\"b"@example.com').local == r'"a\"b"'


@pytest.mark.parametrize(
    ("local", "reason"),
    [
        ('"a\\é"', "quoted-pairSMTP"),  # RFC 6531 extends qtextSMTP, not quoted-pairSMTP
        ('"a\\\u00a0"', "quoted-pairSMTP"),
        ('"a\\\t"', "control character"),  # RFC 5322 §3.2.1 quoted-pair takes WSP; not here
        ('"a\tb"', "control character"),  # RFC 5322 FWS inside quotes
        ('"a\r\n b"', "control character"),  # RFC 5322 folding
        ('"a\x01b"', "control character"),  # RFC 5322 §4.1 obs-qtext
        ('"a\\\x00"', "control character"),  # RFC 5322 §4.1 obs-qp
        ('"a"."b"', "between the closing quote"),  # RFC 5322 §4.4 obs-local-part
        ('"a" "b"', "between the closing quote"),  # RFC 5322 CFWS
        ('"a"(c)', "between the closing quote"),  # RFC 5322 §3.2.2 comment
    ],
)
def test_only_rfc5321_quoted_strings_are_valid_not_rfc5322_ones_rfc5321_4_1_2(
    local: str, reason: str
) -> None:
    for parse in (parse_address, _parse_full):
        with pytest.raises(InvalidAddress, match=re.escape(reason)):
            parse(f"{local}@example.com")


def test_quoted_string_keeps_utf8_and_spaces_rfc6531_3_3() -> None:
    # qtextSMTP is extended with UTF8-non-ascii; a space is qtextSMTP itself (%d32).
    for parse in (parse_address, _parse_full):
        address = parse('"josé  d\\"oe"@example.com')
        assert address.local == '"josé  d\\"oe"'
        assert address.is_smtputf8


def test_unterminated_quoted_string_is_invalid_rfc5321_4_1_2() -> None:
    with pytest.raises(InvalidAddress, match="closing quote"):
        parse_address('"john@example.com')


def test_text_after_the_closing_quote_is_invalid_rfc5321_4_1_2() -> None:
    # RFC 5322's obs-local-part ("a"b) is obsolete; RFC 5321 never allowed it.
    with pytest.raises(InvalidAddress):
        parse_address('"john"doe@example.com')


def test_empty_local_part_is_invalid_rfc5321_4_1_2() -> None:
    for text in ("@example.com", '""@example.com'):
        with pytest.raises(InvalidAddress):
            parse_address(text)


def test_local_part_of_64_octets_is_valid_rfc5321_4_5_3_1_1() -> None:
    assert parse_address("a" * 64 + "@example.com").local == "a" * 64


def test_local_part_of_65_octets_is_invalid_rfc5321_4_5_3_1_1() -> None:
    with pytest.raises(InvalidAddress, match=r"local part longer than 64 octets"):
        parse_address("a" * 65 + "@example.com")


def test_local_part_limit_counts_utf8_octets_not_characters_rfc6531_3_3() -> None:
    assert parse_address("é" * 32 + "@example.com").is_smtputf8  # 64 octets
    with pytest.raises(InvalidAddress, match="64 octets"):
        parse_address("é" * 33 + "@example.com")  # 33 characters, 66 octets


def test_quoted_local_part_limit_counts_the_quotes_rfc5321_4_5_3_1_1() -> None:
    # Local-part = Dot-string / Quoted-string: the quotes are part of what is sent.
    assert parse_address('"' + " " * 62 + '"@example.com').local == '"' + " " * 62 + '"'
    with pytest.raises(InvalidAddress, match="64 octets"):
        parse_address('"' + " " * 63 + '"@example.com')


def test_non_ascii_local_part_needs_smtputf8_rfc6531_3_3() -> None:
    assert parse_address("josé@example.com").is_smtputf8
    assert parse_address("用户@例子.广告").is_smtputf8
    assert not parse_address("jose@bücher.de").is_smtputf8  # the domain has an A-label form


def test_local_part_is_nfc_normalized_rfc6532_3_1() -> None:
    address = parse_address("jose\u0301@example.com")
    assert address.local == "jos\u00e9"
    assert address.checked == "jose\u0301@example.com"


# --- the @ sign -------------------------------------------------------------------------------


def test_missing_at_sign_is_its_own_error_rfc5321_4_1_2() -> None:
    for text in ("john.example.com", "", "john", '"john@example.com"'):
        with pytest.raises(AtSignNotFound):
            parse_address(text)


def test_full_width_at_sign_is_not_an_at_sign() -> None:
    with pytest.raises(AtSignNotFound, match="look-alike"):
        parse_address("john＠example.com")


def test_several_unquoted_at_signs_are_their_own_error_rfc5321_4_1_2() -> None:
    for text in ("a@b@example.com", "a@@example.com", '"a@b"@c@example.com', "@@"):
        with pytest.raises(TooManyAtSigns):
            parse_address(text)


def test_error_classes_map_to_distinct_reasons() -> None:
    reasons = {
        AtSignNotFound.reason,
        TooManyAtSigns.reason,
        InvalidAddress.reason,
        SpecialUseDomain.reason,
    }
    assert len(reasons) == 4


# --- the domain -------------------------------------------------------------------------------


def test_domain_is_lower_cased_rfc5321_2_4() -> None:
    address = parse_address("user@MAIL.Example.COM")
    assert address.ascii_domain == address.unicode_domain == "mail.example.com"


@pytest.mark.parametrize("domain", ["-a.com", "a-.com", "a.-com", "a.com-", "a_b.com", "a b.com"])
def test_labels_are_letters_digits_and_inner_hyphens_rfc1035_2_3_1(domain: str) -> None:
    with pytest.raises(InvalidAddress):
        parse_address(f"user@{domain}")


def test_label_may_start_with_a_digit_rfc1123_2_1() -> None:
    assert parse_address("user@3com.com").ascii_domain == "3com.com"
    assert parse_address("user@1.2.3.example").ascii_domain == "1.2.3.example"


@pytest.mark.parametrize("domain", ["example..com", ".example.com", "example.com.", "."])
def test_empty_labels_and_trailing_dot_are_invalid_rfc5321_4_1_2(domain: str) -> None:
    with pytest.raises(InvalidAddress):
        parse_address(f"user@{domain}")


def test_label_of_63_octets_is_valid_rfc1035_2_3_4() -> None:
    label = "a" * 63
    assert parse_address(f"user@{label}.com").ascii_domain == f"{label}.com"


def test_label_of_64_octets_is_invalid_rfc1035_2_3_4() -> None:
    with pytest.raises(InvalidAddress):
        parse_address(f"user@{'a' * 64}.com")


def test_label_limit_counts_the_a_label_rfc5890_2_3_2_1() -> None:
    label = "例子用户广告书店" * 4  # 32 characters, but its A-label is longer than 63 octets
    assert len("xn--" + label.encode("punycode").decode()) > 63
    with pytest.raises(InvalidAddress):
        parse_address(f"user@{label}.de")


def test_address_of_254_octets_is_valid_rfc5321_4_5_3_1_3() -> None:
    text = "a" * 64 + "@" + _domain(189)
    assert len(text) == 254
    assert parse_address(text).email == text


def test_address_of_255_octets_is_invalid_rfc5321_4_5_3_1_3() -> None:
    text = "a" * 64 + "@" + _domain(190)
    assert len(text) == 255
    with pytest.raises(InvalidAddress, match="254 octets"):
        parse_address(text)


def test_address_limit_counts_utf8_octets_rfc6531_3_3() -> None:
    text = "é" * 30 + "@" + _domain(193)  # 224 characters, 254 octets
    assert len(text.encode()) == 254
    assert parse_address(text).is_smtputf8
    with pytest.raises(InvalidAddress):
        parse_address("é" * 30 + "@" + _domain(194))


def test_domain_of_253_octets_never_fits_an_address_rfc1035_2_3_4() -> None:
    # 253 octets is the longest name (RFC 1035 §2.3.4), but "a@" makes 255 (RFC 5321 §4.5.3.1.3).
    with pytest.raises(InvalidAddress):
        parse_address("a@" + _domain(253))


@pytest.mark.parametrize("domain", ["localhost", "com", "example", "test", "xn--bcher-kva"])
def test_single_label_domain_is_not_mailable_rfc5321_2_3_5(domain: str) -> None:
    with pytest.raises(InvalidAddress, match="single label"):
        parse_address(f"user@{domain}")


@pytest.mark.parametrize("domain", ["example.123", "192.0.2.1", "10.0.0.1", "a.b.0"])
def test_all_numeric_tld_is_not_mailable_rfc3696_2(domain: str) -> None:
    with pytest.raises(InvalidAddress, match="all-numeric"):
        parse_address(f"user@{domain}")


def test_tld_with_a_digit_is_valid_syntax_rfc3696_2() -> None:
    assert parse_address("user@example.a1").ascii_domain == "example.a1"


# --- special-use names -------------------------------------------------------------------------

NEVER_A_MAILBOX = [
    ("mail.invalid", "RFC 6761 §6.4"),
    ("my.localhost", "RFC 6761 §6.3"),
    ("1.0.0.127.in-addr.arpa", "RFC 3172 §2"),
    ("ip6.arpa", "RFC 3172 §2"),
]
OUTSIDE_DNS = [
    ("abcdefghij.onion", "RFC 7686 §2"),
    ("name.alt", "RFC 9476 §2"),
    ("printer.local", "RFC 6762 §3"),
]


@pytest.mark.parametrize(("domain", "rfc"), NEVER_A_MAILBOX)
def test_names_that_never_hold_a_mailbox_are_special_use_rfc6761_6_3_6_4(
    domain: str, rfc: str
) -> None:
    for parse in (parse_address, _parse_full):
        for private_names in (False, True):
            with pytest.raises(SpecialUseDomain, match=re.escape(rfc)) as caught:
                parse(f"User+tag@{domain}", private_names=private_names)
            assert type(caught.value) is SpecialUseDomain
            assert caught.value.state is State.UNDELIVERABLE
            assert caught.value.reason is Reason.SPECIAL_USE_DOMAIN
            # The address itself is well formed and travels with the error.
            assert caught.value.address.email == f"User+tag@{domain}"
            assert caught.value.address.tag == "tag"


@pytest.mark.parametrize(("domain", "rfc"), OUTSIDE_DNS)
def test_names_outside_the_public_dns_are_special_use_but_unknown_rfc7686_2(
    domain: str, rfc: str
) -> None:
    # A mailbox may exist there (a Tor onion service, a host on the local link): not learned.
    for parse in (parse_address, _parse_full):
        with pytest.raises(SpecialUseDomainUnchecked, match=re.escape(rfc)) as caught:
            parse(f"user@{domain}")
        assert caught.value.state is State.UNKNOWN
        assert caught.value.reason is Reason.SPECIAL_USE_DOMAIN


def test_private_names_leave_dot_local_to_dns_rfc6762_3() -> None:
    # An intranet that allows private addresses may serve .local from its own DNS (as Active
    # Directory sites do); .onion and .alt are never DNS, whatever the caller allows.
    for parse in (parse_address, _parse_full):
        assert parse("user@corp.local", private_names=True).ascii_domain == "corp.local"
        with pytest.raises(SpecialUseDomainUnchecked):
            parse("user@x.onion", private_names=True)
        with pytest.raises(SpecialUseDomainUnchecked):
            parse("user@x.alt", private_names=True)


@pytest.mark.parametrize(
    "domain",
    ["example.test", "mail.test", "example.com", "example.org", "www.example", "home.arpa"],
)
def test_names_rfcs_ask_to_treat_as_ordinary_parse_and_dns_decides_rfc6761_6_2(
    domain: str,
) -> None:
    # RFC 6761 §6.2 (.test), §6.5 (example names) and RFC 8375 §4 (home.arpa): "Application
    # software SHOULD NOT recognize ... as special". DNS answers honestly for them: example.com
    # has a null MX, a .test name no DNS serves does not exist, a test world serves its own.
    for parse in (parse_address, _parse_full):
        assert parse(f"user@{domain}").ascii_domain == domain
        assert parse(f"user@mail.{domain}").ascii_domain == f"mail.{domain}"


def test_special_use_is_judged_after_every_syntax_rule_rfc6761_6() -> None:
    # A malformed address under a special-use name is malformed first.
    for text in ("a..b@x.invalid", "a@-x.invalid", "a@x..onion", "a" * 65 + "@x.invalid"):
        with pytest.raises(InvalidAddress):
            parse_address(text)
    # An address literal has no name to be special.
    assert parse_address("user@[127.0.0.1]").domain_literal == "127.0.0.1"


OFFLINE = Config(check_dns=False, check_smtp=False)


def test_special_use_result_keeps_the_address_and_says_why_rfc6761_6_4() -> None:
    result = verify("John+news@Mail.Invalid", OFFLINE)
    assert (result.state, result.reason) == (State.UNDELIVERABLE, Reason.SPECIAL_USE_DOMAIN)
    assert (result.email, result.user, result.tag) == (
        "John+news@mail.invalid",
        "John+news",
        "news",
    )
    assert result.score == 0.0
    assert any("RFC 6761 §6.4" in note for note in result.detail.notes)


def test_special_use_outside_dns_is_unknown_until_private_names_are_allowed_rfc6762_3() -> None:
    result = verify("printer@office.local", OFFLINE)
    assert (result.state, result.reason) == (State.UNKNOWN, Reason.SPECIAL_USE_DOMAIN)
    assert result.email == "printer@office.local"
    assert 0 < result.score < 0.5
    intranet = verify("printer@office.local", replace(OFFLINE, allow_private_addresses=True))
    assert (intranet.state, intranet.reason) == (State.UNKNOWN, Reason.NOT_CHECKED)


def test_reserved_ldh_label_is_invalid_rfc5891_4_2_3_1() -> None:
    with pytest.raises(InvalidAddress):
        parse_address("user@ab--cd.example.com")


# --- internationalized domains ----------------------------------------------------------------


def test_idn_domain_has_a_label_for_dns_rfc5890() -> None:
    address = parse_address("user@bücher.de")
    assert address.ascii_domain == "xn--bcher-kva.de"
    assert address.unicode_domain == "bücher.de"
    assert address.email == "user@bücher.de"
    assert address.ascii_email == "user@xn--bcher-kva.de"
    assert not address.is_smtputf8


def test_a_label_input_gets_the_u_label_for_display_rfc5891_5_4() -> None:
    address = parse_address("user@xn--bcher-kva.de")
    assert address.ascii_domain == "xn--bcher-kva.de"
    assert address.unicode_domain == "bücher.de"
    assert address.checked == "user@xn--bcher-kva.de"


def test_upper_case_a_label_is_folded_rfc5890_2_3_2_1() -> None:
    assert parse_address("user@XN--BCHER-KVA.DE").unicode_domain == "bücher.de"


def test_a_label_that_does_not_decode_is_invalid_rfc5891_5_4() -> None:
    with pytest.raises(InvalidAddress):
        parse_address("user@xn--zz.com")


def test_idn_is_lower_cased_and_nfc_normalized_rfc5891_5_2() -> None:
    # Lower case and NFC are the only changes made to a typed domain.
    for parse in (parse_address, _parse_full):
        assert parse("user@BU\u0308CHER.de").unicode_domain == "bücher.de"
        assert parse("user@ΟΔΟΣ.gr").unicode_domain == "οδος.gr"  # final sigma, per label


@pytest.mark.parametrize(
    ("domain", "code_point"),
    [
        ("ｂｕｃｈｅｒ.de", "U+FF42 FULLWIDTH LATIN SMALL LETTER B"),  # width
        ("ª.com", "U+00AA FEMININE ORDINAL INDICATOR"),  # compatibility form of "a"
        ("ⅷ.example.com", "U+2177 SMALL ROMAN NUMERAL EIGHT"),  # of "viii"
        ("ⓐ.com", "U+24D0 CIRCLED LATIN SMALL LETTER A"),
        ("ﬁ.com", "U+FB01 LATIN SMALL LIGATURE FI"),
    ],
)
def test_no_compatibility_mapping_rfc5892_2_2(domain: str, code_point: str) -> None:
    # UTS #46 (and email-validator) would map these to ASCII; IDNA 2008 calls them Unstable.
    for parse in (parse_address, _parse_full):
        with pytest.raises(InvalidAddress, match=re.escape(code_point) + ".*RFC 5892 §2.2"):
            parse(f"user@{domain}")


def test_sharp_s_and_final_sigma_are_kept_rfc5892_2_6() -> None:
    # PVALID by exception: no "ß" to "ss", no "ς" to "σ" (UTS #46 transitional processing).
    assert parse_address("user@straße.de").ascii_domain == "xn--strae-oqa.de"
    assert parse_address("user@STRAẞE.de").unicode_domain == "straße.de"
    assert parse_address("user@οδος.gr").ascii_domain == "xn--pxavbm.gr"


@pytest.mark.parametrize("dot", ["\u3002", "\uff0e", "\uff61"])
def test_only_full_stop_separates_labels_rfc5895_2(dot: str) -> None:
    # RFC 3490 §3.1 (IDNA 2003) made these separators; IDNA 2008 leaves that to an optional
    # local mapping (RFC 5895 §2), which the engine does not apply.
    with pytest.raises(InvalidAddress, match=f"U\\+{ord(dot):04X}.*RFC 5895 §2"):
        parse_address(f"user@bücher{dot}de")


@pytest.mark.parametrize(
    ("domain", "rule"),
    [
        ("♥.com", "RFC 5892 §2.1"),  # a symbol
        ("a\u200bb.com", "RFC 5892 §2.3"),  # ZERO WIDTH SPACE, default-ignorable
        ("a\ufe0fb.com", "RFC 5892 §2.3"),  # a variation selector
        ("a\u20d0.com", "RFC 5892 §2.4"),  # Combining Diacritical Marks for Symbols
        ("bü_cher.de", "RFC 5892 §2.5"),  # ASCII other than letters, digits, hyphen
        ("\u0640.com", "RFC 5892 §2.6"),  # ARABIC TATWEEL
        ("\u1100.com", "RFC 5892 §2.9"),  # a conjoining jamo on its own
        ("a\u0378.com", "RFC 5892 §2.10"),  # unassigned
    ],
)
def test_disallowed_code_point_is_named_with_its_rule_rfc5892_2(domain: str, rule: str) -> None:
    code_point = f"U+{ord(next(c for c in domain if c not in 'abcdeüom.')):04X}"
    for parse in (parse_address, _parse_full):
        with pytest.raises(InvalidAddress, match=re.escape(code_point) + ".*" + re.escape(rule)):
            parse(f"user@{domain}")


@pytest.mark.parametrize(
    ("domain", "valid"),
    [
        ("a\u200cb.com", False),  # ZWNJ between non-joining letters (A.1)
        ("\u0915\u094d\u200c\u0937.in", True),  # ZWNJ after a virama (A.1)
        ("a\u200db.com", False),  # ZWJ not after a virama (A.2)
        ("\u0915\u094d\u200d\u0937.in", True),  # ZWJ after a virama (A.2)
        ("a\u00b7b.com", False),  # MIDDLE DOT not between two l (A.3)
        ("l\u00b7l.cat", True),
        ("\u0375a.com", False),  # GREEK LOWER NUMERAL SIGN before a Latin letter (A.4)
        ("\u0375\u03b1.gr", True),
        ("a\u05f3.com", False),  # HEBREW PUNCTUATION GERESH after a Latin letter (A.5)
        ("\u05d0\u05f3.il", True),
        ("a\u30fbb.com", False),  # KATAKANA MIDDLE DOT without Japanese script (A.7)
        ("\u30a2\u30fb\u30a4.jp", True),
        ("\u0628\u0661\u06f1.com", False),  # both kinds of Arabic digits (A.8, A.9)
        ("\u0628\u0661\u0662.com", True),
    ],
)
def test_contextual_rules_rfc5892_appendix_a(domain: str, valid: bool) -> None:
    for parse in (parse_address, _parse_full):
        if valid:
            assert parse(f"user@{domain}").unicode_domain == domain
        else:
            with pytest.raises(InvalidAddress, match="RFC 5892 Appendix A"):
                parse(f"user@{domain}")


def test_label_starting_with_a_combining_mark_is_invalid_rfc5891_4_2_3_2() -> None:
    with pytest.raises(InvalidAddress, match=r"U\+0301.*RFC 5891 §4\.2\.3\.2"):
        parse_address("user@\u0301a.com")


def test_hyphens_at_3_and_4_are_reserved_in_u_labels_too_rfc5891_4_2_3_1() -> None:
    with pytest.raises(InvalidAddress, match=re.escape("RFC 5891 §4.2.3.1")):
        parse_address("user@üb--c.de")
    assert parse_address("user@ü-b--c.de").ascii_domain.endswith(".de")


def test_bidi_rule_spans_every_label_of_a_right_to_left_domain_rfc5893_2() -> None:
    assert parse_address("user@אב.com").ascii_domain == "xn--4dbc.com"
    assert parse_address("user@1.example.com").ascii_domain == "1.example.com"
    for domain in ("1.אב.com", "אב.1.com"):  # "1" would display as part of the Hebrew label
        with pytest.raises(InvalidAddress, match="RFC 5893 §2"):
            parse_address(f"user@{domain}")


@pytest.mark.parametrize(
    ("a_label", "rule"),
    [
        ("xn---bbk", "RFC 5890 §2.3.2.1"),  # a non-canonical spelling of xn--bbk
        ("xn--zz", "RFC 5891 §5.3"),  # not Punycode at all
        ("xn--g6h", "RFC 5892 §2.1"),  # decodes to U+2665, a symbol
    ],
)
def test_a_label_must_be_the_exact_punycode_of_a_valid_u_label_rfc5891_5_4(
    a_label: str, rule: str
) -> None:
    assert parse_address("user@xn--bbk.com").unicode_domain == "ま.com"
    for parse in (parse_address, _parse_full):
        with pytest.raises(InvalidAddress, match=re.escape(rule)):
            parse(f"user@{a_label}.com")


# --- address literals -------------------------------------------------------------------------


def test_ipv4_literal_is_valid_rfc5321_4_1_3() -> None:
    address = parse_address("user@[192.0.2.1]")
    assert address.domain_literal == "192.0.2.1"
    assert address.ascii_domain == address.unicode_domain == "[192.0.2.1]"
    assert address.email == "user@[192.0.2.1]"


def test_ipv6_literal_is_valid_and_compressed_rfc5321_4_1_3() -> None:
    address = parse_address("user@[IPv6:2001:0db8:0000::0001]")
    assert address.domain_literal == "2001:db8::1"
    assert address.ascii_domain == "[IPv6:2001:db8::1]"


@pytest.mark.parametrize(
    "literal",
    ["[300.1.1.1]", "[1.2.3]", "[192.0.2.1", "[2001:db8::1]", "[IPv6:nope]", "[tag:value]", "[]"],
)
def test_malformed_address_literals_are_invalid_rfc5321_4_1_3(literal: str) -> None:
    with pytest.raises(InvalidAddress):
        parse_address(f"user@{literal}")


def test_literal_skips_the_domain_name_rules_rfc5321_4_1_3() -> None:
    # An IPv4 literal's last "label" is numeric; the RFC 3696 TLD rule is for names only.
    assert parse_address("user@[10.0.0.1]").domain_literal == "10.0.0.1"


def test_snum_leading_zeros_are_decimal_rfc5321_4_1_3() -> None:
    # Snum = 1*3DIGIT, "representing a decimal integer value in the range 0 through 255": "010"
    # is ten. inet_aton() would read it as octal eight, so the literal is normalized once here
    # and the SSRF guard and the SMTP stage both see 10.0.0.1.
    for parse in (parse_address, _parse_full):
        address = parse("user@[010.000.000.001]")
        assert address.domain_literal == "10.0.0.1"
        assert address.ascii_domain == "[10.0.0.1]"


def test_leading_zeros_cannot_slip_past_the_ssrf_guard_rfc5321_4_1_3() -> None:
    result = verify("postmaster@[010.0.0.1]", Config(check_smtp=False))
    assert (result.state, result.reason) == (State.UNKNOWN, Reason.MX_ADDRESS_NOT_PUBLIC)
    assert any("10.0.0.1" in note for note in result.detail.notes)


@pytest.mark.parametrize(
    ("literal", "normalized"),
    [
        ("[IPv6:2001:db8:0:0:1:0:0:1]", "[IPv6:2001:db8::1:0:0:1]"),  # IPv6-full
        ("[IPv6:1::]", "[IPv6:1::]"),  # IPv6-comp, nothing after "::"
        ("[IPv6:::]", "[IPv6:::]"),
        ("[IPv6:1:2:3:4:5:6::]", "[IPv6:1:2:3:4:5:6::]"),  # six groups and "::" for two
        ("[IPv6:::FFFF:192.0.2.1]", "[IPv6:::ffff:192.0.2.1]"),  # IPv6v4-comp, RFC 5952 §5
        ("[IPv6:1:2:3:4::192.0.2.1]", "[IPv6:1:2:3:4::c000:201]"),  # four groups, "::", IPv4
        ("[IPv6:1:2:3:4:5:6:192.0.2.1]", "[IPv6:1:2:3:4:5:6:c000:201]"),  # IPv6v4-full
        ("[IPv6:::ffff:010.0.2.1]", "[IPv6:::ffff:10.0.2.1]"),  # Snum again
    ],
)
def test_ipv6_literal_forms_rfc5321_4_1_3(literal: str, normalized: str) -> None:
    for parse in (parse_address, _parse_full):
        assert parse(f"user@{literal}").ascii_domain == normalized


@pytest.mark.parametrize(
    "content",
    [
        "1:2:3:4:5:6::8",  # "::" for one group: RFC 4291 allows it, RFC 5321 does not
        "1:2:3:4:5:6:7::",
        "::1:2:3:4:5:6:7",
        "1:2:3:4:5::1.2.3.4",  # five groups besides "::" and the IPv4 part
        "1:2:3:4:5:6:7:8:9",
        "1:2:3:4:5:6:7",
        ":1:2:3:4:5:6:7:8",
        "1:::2",
        "g::1",
        "::1.2.3",
    ],
)
def test_double_colon_stands_for_two_or_more_groups_rfc5321_4_1_3(content: str) -> None:
    with pytest.raises(InvalidAddress, match=re.escape("RFC 5321 §4.1.3")):
        parse_address(f"user@[IPv6:{content}]")


def test_ipv6_address_without_its_tag_is_named_rfc5321_4_1_3() -> None:
    with pytest.raises(InvalidAddress, match=re.escape("needs its tag: [IPv6:2001:db8::1]")):
        parse_address("user@[2001:db8::1]")


def test_zone_index_is_not_part_of_a_literal_rfc5321_4_1_3() -> None:
    with pytest.raises(InvalidAddress, match="zone index"):
        parse_address("user@[IPv6:fe80::1%eth0]")


@pytest.mark.parametrize("literal", ["[x400:c=us]", "[X-tag:anything]", "[tag:a@b]"])
def test_general_address_literal_needs_a_registered_tag_rfc5321_4_1_3(literal: str) -> None:
    # General-address-literal = Standardized-tag ":" 1*dcontent, and a Standardized-tag must be
    # registered with IANA, whose Address Literal Tags registry holds only "IPv6".
    for parse in (parse_address, _parse_full):
        with pytest.raises(InvalidAddress, match="is not registered") as caught:
            parse(f"user@{literal}")
        assert type(caught.value) is InvalidAddress  # an "@" in dcontent is not a second "@"


def test_malformed_general_literal_is_not_called_unregistered_rfc5321_4_1_3() -> None:
    for literal in ("[:x]", "[ta g:x]", "[tag:]", "[tag:a b]", "[tag:a\\b]"):
        with pytest.raises(InvalidAddress, match="neither an IPv4 address"):
            parse_address(f"user@{literal}")


# --- tags -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("john+news@example.com", "news"),
        ("john+a+b@example.com", "a+b"),
        ("john@example.com", None),
        ("john+@example.com", None),
        ("+news@example.com", "news"),
        ('"john+news"@example.com', "news"),  # needless quotes go first (RFC 5321 §4.1.2)
        ('"john doe+x"@example.com', None),  # a quoted local part has no subaddress
        ("josé+café@example.com", "café"),
    ],
)
def test_tag_is_the_text_after_the_first_plus_rfc5233(text: str, tag: str | None) -> None:
    assert parse_address(text).tag == tag
    assert _parse_full(text).tag == tag


# --- control characters, surrogates, huge input -----------------------------------------------

CONTROLS = ["\x00", "\r", "\n", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\u2028", "\u2029"]
PLACES = [
    "{c}john@example.com",
    "jo{c}hn@example.com",
    "john@exa{c}mple.com",
    "john@example.com{c}",
    '"jo{c}hn"@example.com',
    "John{c} <john@example.com>",
    "<john@example.com>{c}",
]


@pytest.mark.parametrize("control", CONTROLS, ids=[f"U+{ord(c):04X}" for c in CONTROLS])
@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("clean", [False, True])
def test_control_characters_never_pass_rfc5321_2_3_8(control: str, place: str, clean: bool) -> None:
    text = place.format(c=control)
    with pytest.raises(InvalidAddress):
        parse_address(text, clean=clean)
    with pytest.raises(InvalidAddress):
        _parse_full(text, clean=clean)


def test_tab_is_invalid_without_clean_mode_rfc5321_4_1_2() -> None:
    for text in ("\tjohn@example.com", "jo\thn@example.com", '"jo\thn"@example.com'):
        with pytest.raises(InvalidAddress):
            parse_address(text)


def test_tab_inside_quotes_stays_invalid_in_clean_mode_rfc5321_4_1_2() -> None:
    # qtextSMTP has no HT: RFC 5322's FWS inside a quoted string does not reach SMTP.
    with pytest.raises(InvalidAddress):
        parse_address('"jo\thn"@example.com', clean=True)


def test_control_character_error_names_the_code_point() -> None:
    with pytest.raises(InvalidAddress, match="U\\+000A"):
        parse_address("john@example.com\n")


@pytest.mark.parametrize(
    "raw",
    [b"j\xf6hn@example.com", b"john@b\xfccher.de", b'"\xff"@example.com', b"\xed\xa0\x80@x.com"],
)
@pytest.mark.parametrize("clean", [False, True])
def test_lone_surrogates_from_invalid_utf8_are_invalid(raw: bytes, clean: bool) -> None:
    text = raw.decode("utf-8", "surrogateescape")
    with pytest.raises(InvalidAddress, match="undecodable"):
        parse_address(text, clean=clean)


@pytest.mark.parametrize("clean", [False, True])
@pytest.mark.parametrize(
    "text",
    ["a" * 1_000_000 + "@example.com", "@" * 1_000_000, "john@" + "a." * 500_000 + "com"],
)
def test_huge_input_is_refused_before_parsing(text: str, clean: bool, no_full_parser: None) -> None:
    with pytest.raises(InvalidAddress, match="254 octets"):
        parse_address(text, clean=clean)


def test_input_just_over_the_limit_is_refused_before_parsing(no_full_parser: None) -> None:
    with pytest.raises(InvalidAddress, match="254 octets"):
        parse_address("é" * 255)


# --- clean mode -------------------------------------------------------------------------------

CLEANED = [
    ("  john@example.com  ", "john@example.com"),
    ("\tjohn@example.com\t", "john@example.com"),
    ("\u00a0john@example.com\ufeff", "john@example.com"),
    ("mailto:john@example.com", "john@example.com"),
    ("MailTo:john@example.com", "john@example.com"),
    ("mailto:john@example.com?subject=Hello", "john@example.com"),
    ("<john@example.com>", "john@example.com"),
    ("John Doe <john@example.com>", "john@example.com"),
    ('"Doe, John" <john@example.com>', "john@example.com"),
    ("John <mailto:john@example.com>,", "john@example.com"),
    ("john@example.com.", "john@example.com"),
    ("john@example.com,", "john@example.com"),
    ("john@example.com;", "john@example.com"),
    ("john@example.com).", "john@example.com"),
    ("john@example.com!?", "john@example.com"),
    ("(john@example.com)", "john@example.com"),
    ("[john@example.com]", "john@example.com"),
    (".john@example.com", "john@example.com"),
    (",;:john@example.com", "john@example.com"),
    ('"john@example.com"', "john@example.com"),
    ("'john@example.com'", "john@example.com"),
    ("'john@example.com',", "john@example.com"),
    ("john@example.com (John Doe)", "john@example.com"),
    ("(John Doe) john@example.com", "john@example.com"),
    ("john @ example . com", "john@example.com"),
    ("jo hn@exam ple.com", "john@example.com"),
    ('"john doe"@example.com', '"john doe"@example.com'),
    ('  "john doe" @ example.com. ', '"john doe"@example.com'),
    ("user@[192.0.2.1].", "user@[192.0.2.1]"),
    ("<user@[IPv6:2001:db8::1]>", "user@[IPv6:2001:db8::1]"),
    ('"<a>"@example.com', '"<a>"@example.com'),
    ("", ""),
    ("   ", ""),
]


@pytest.mark.parametrize(("raw", "cleaned"), CLEANED)
def test_clean_address_removes_decoration(raw: str, cleaned: str) -> None:
    assert clean_address(raw) == cleaned


def test_clean_mode_parses_the_cleaned_text_and_keeps_the_input() -> None:
    raw = "  John Doe <MAILTO:John@Example.COM>, "
    address = parse_address(raw, clean=True)
    assert address.input == raw
    assert address.checked == "John@Example.COM"
    assert address.email == "John@example.com"


def test_clean_mode_leaves_checked_equal_to_input_when_nothing_was_cleaned() -> None:
    address = parse_address("john@example.com", clean=True)
    assert address.checked == address.input == "john@example.com"


@pytest.mark.parametrize(
    "text", ["  john@example.com", "john@example.com ", "john@example.com.", "(john@example.com)"]
)
def test_without_clean_mode_decoration_is_invalid_syntax(text: str) -> None:
    with pytest.raises(InvalidAddress):
        parse_address(text)
    assert parse_address(text, clean=True).email == "john@example.com"


def test_clean_mode_keeps_spaces_inside_quotes_rfc5322_3_2_4() -> None:
    assert parse_address(' "john  doe" @example.com', clean=True).local == '"john  doe"'


def test_clean_mode_does_not_hide_several_addresses() -> None:
    with pytest.raises(TooManyAtSigns):
        parse_address("john@example.com, jane@example.com", clean=True)


def test_clean_address_leaves_input_with_control_characters_unchanged() -> None:
    for raw in ("<john@example.com>\r\n", "Jo\x00hn <john@example.com>", "  a@b.com\n"):
        assert clean_address(raw) == raw


def test_clean_address_leaves_overlong_input_unchanged() -> None:
    raw = " " * 2000 + "john@example.com"
    assert clean_address(raw) is raw


# --- email-validator is called with every option set ------------------------------------------


def test_email_validator_module_defaults_do_not_change_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(email_validator, "ALLOW_SMTPUTF8", False)
    monkeypatch.setattr(email_validator, "ALLOW_DOMAIN_LITERAL", False)
    monkeypatch.setattr(email_validator, "ALLOW_EMPTY_LOCAL", True)
    monkeypatch.setattr(email_validator, "ALLOW_DISPLAY_NAME", True)
    monkeypatch.setattr(email_validator, "TEST_ENVIRONMENT", False)
    monkeypatch.setattr(email_validator, "GLOBALLY_DELIVERABLE", True)
    assert parse_address('"john doe"@example.com').local == '"john doe"'
    assert parse_address("user@[192.0.2.1]").domain_literal == "192.0.2.1"
    assert parse_address("josé@mail.test").is_smtputf8
    with pytest.raises(InvalidAddress):
        parse_address('""@example.com')
    with pytest.raises(InvalidAddress):
        parse_address("John <john@bücher.de>")


# --- the fast path ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "john.smith+news@gmail.com",
        "John.Smith@Example.COM",
        "a@b.co",
        "!#$%&'*+-/=?^_`{|}~@example.com",
        "a" * 64 + "@" + _domain(189),
    ],
)
def test_plain_ascii_addresses_never_reach_email_validator(text: str, no_full_parser: None) -> None:
    assert parse_address(text).checked == text


@pytest.mark.parametrize(
    "text",
    ["user@localhost", "a" * 65 + "@example.com", "user@x.invalid", "user@x.local", "user@x.123"],
)
def test_plain_ascii_errors_never_reach_email_validator(text: str, no_full_parser: None) -> None:
    with pytest.raises(AddressError):
        parse_address(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("john..doe@example.com", "two in a row"),
        (".john@example.com", "starts or ends with a dot"),
        ("john doe@example.com", "allowed only inside quotes: ' '"),
        ("John <john@example.com>", "allowed only inside quotes: ' ' '<'"),
        ("@example.com", "nothing before the @"),
        ("john@", "nothing after the @"),
        ("john@exa_mple.com", "letters, digits, hyphens: '_'"),
        ("john@example..com", "two in a row"),
        ("john@-example.com", "starts or ends with a hyphen"),
        ("john@example.com\r\n", "control character"),
    ],
)
def test_plain_ascii_syntax_errors_are_explained_without_email_validator(
    text: str, message: str, no_full_parser: None
) -> None:
    with pytest.raises(InvalidAddress, match=re.escape(message)):
        parse_address(text)


def _tricky() -> Iterator[str]:
    """Hand-picked inputs at the edges of the fast path's grammar."""
    yield from (c.input for c in CASES)
    yield from (raw for raw, _ in CLEANED)
    locals_ = ["a", "A.b", "a..b", ".a", "a.", "a+b", "a+", "+", "a-b", "a_b", "'", "a" * 64]
    locals_ += ["a" * 65, "é", '"a"', '"a b"', '"a@b"', '"a\\"b"', "Postmaster", "ABUSE"]
    domains = ["example.com", "EXAMPLE.COM", "Ex-Ample.Co.UK", "1.com", "a.1", "a.b1", "a-.com"]
    domains += ["-a.com", "a--b.com", "xn--bcher-kva.de", "XN--BCHER-KVA.DE", "xn--zz.com"]
    domains += ["a_b.com", "a..com", ".a.com", "a.com.", "com", "localhost", "a.local"]
    domains += ["a.test", "a.invalid", "a.onion", "a.alt", "a.arpa", "123.com", "1.2.3.4"]
    domains += ["A.LOCAL", "a.localhost", "home.arpa", "a.home.arpa", "ahome.arpa", "a.alt.com"]
    domains += ["a--b.com", "ab--c.com", "xn--ll-0ea.cat", "xn---bbk.com", "XN--BBK.local"]
    domains += ["[010.0.0.1]", "[IPv6:1:2:3:4:5:6::8]", "[tag:a@b]", "[IPv6:::ffff:1.2.3.4]"]
    domains += ["a" * 63 + ".com", "a" * 64 + ".com", "[192.0.2.1]", "[IPv6:::1]", "[1.2.3]"]
    domains += ["bücher.de", "ex ample.com", "", "a", "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p"]
    for local in locals_:
        for domain in domains:
            yield f"{local}@{domain}"
    for size in (252, 253, 254, 255, 256):
        for local_size in (1, 64, 65):
            yield "a" * local_size + "@" + _domain(size - local_size - 1)
    yield from ("a@b@c.com", "@", "@@", "a@", "@a.com", "", " ", "a b@c.com", "a@b.com ")


ASCII_SOUP = "aAzZ09.-_+@\"'[]():;<>, \\!#$%&*/=?^`{|}~"


def _generated(count: int, seed: int) -> Iterator[str]:
    """Seeded ASCII strings shaped like addresses, mutated near the fast path's rules."""
    rng = random.Random(seed)
    atext = "abcxyzABC0189!#$%&'*+-/=?^_`{|}~"
    ldh = "abcxyzABCXN0189-"

    def run(alphabet: str, low: int, high: int) -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(low, high)))

    for _ in range(count):
        local = ".".join(run(atext, 1, 8) for _ in range(rng.randint(1, 3)))
        domain = ".".join(run(ldh, 1, 12) for _ in range(rng.randint(1, 4)))
        if rng.random() < 0.15:
            domain += "." + rng.choice(["com", "test", "invalid", "123", "local", "a1", "onion"])
            domain += rng.choice(["", "", "", ".arpa", ".home.arpa", ".alt", ".localhost"])
        text = f"{local}@{domain}"
        if rng.random() < 0.3:  # a few random edits: insert, delete or replace a character
            chars = list(text)
            for _ in range(rng.randint(1, 3)):
                index = rng.randint(0, len(chars))
                action = rng.random()
                if action < 0.4:
                    chars.insert(index, rng.choice(ASCII_SOUP))
                elif chars and action < 0.7:
                    del chars[min(index, len(chars) - 1)]
                elif chars:
                    chars[min(index, len(chars) - 1)] = rng.choice(ASCII_SOUP)
            text = "".join(chars)
        yield text


@pytest.mark.parametrize("private_names", [False, True])
def test_fast_path_and_full_parser_agree_on_a_large_corpus(
    monkeypatch: pytest.MonkeyPatch, private_names: bool
) -> None:
    corpus = list(dict.fromkeys([*_tricky(), *_generated(20_000, seed=5321)]))
    full = [_outcome(lambda t: _parse_full(t, private_names=private_names), t) for t in corpus]

    calls = 0
    real = email_validator.validate_email

    def counting(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(engine.syntax, "validate_email", counting)
    fast = [_outcome(lambda t: parse_address(t, private_names=private_names), t) for t in corpus]

    mismatches = [(t, f, s) for t, f, s in zip(corpus, full, fast, strict=True) if f != s]
    assert mismatches == []
    # The corpus must exercise both answers and mostly the fast path itself.
    valid = sum(isinstance(outcome, Address) for outcome in full)
    assert 0.25 * len(corpus) < valid < 0.9 * len(corpus)
    assert calls < 0.5 * len(corpus)
    # ...and every kind of special-use answer.
    kinds = {o[0] for o in full if isinstance(o, tuple)}
    assert kinds == {SpecialUseDomain, SpecialUseDomainUnchecked}


def test_fast_path_explains_every_plain_ascii_input_it_refuses() -> None:
    # Unquoted ASCII text outside the fast grammar is refused without email-validator; the
    # fallback to the full parser must not be needed for any input in the corpus.
    corpus = [*_tricky(), *_generated(20_000, seed=6531)]
    plain = [t for t in corpus if t.isascii() and '"' not in t and "[" not in t]
    refused = [t for t in plain if not _PLAIN_ADDRESS.fullmatch(t) and t.count("@") == 1]
    assert len(refused) > 1000
    unexplained = [t for t in refused if _plain_syntax_error(*t.split("@")) is None]
    assert unexplained == []


_atom = st.text(alphabet="abcXYZ019!#$%&'*+-/=?^_`{|}~", min_size=1, max_size=10)
_label = st.text(alphabet="abcXYZ019-", min_size=1, max_size=70)
_ENDINGS = ["", "", "", ".", "-", " ", "_x", "@x.com", ".123", ".test", ".onion", ".local"]
_ENDINGS += [".home.arpa", ".in-addr.arpa", ".INVALID", ".localhost", ".alt", "--x.com"]
_structured = st.builds(
    lambda atoms, labels, extra: ".".join(atoms) + "@" + ".".join(labels) + extra,
    st.lists(_atom, min_size=1, max_size=8),
    st.lists(_label, min_size=1, max_size=5),
    st.sampled_from(_ENDINGS),
)
_ascii = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_structured, _ascii), st.booleans())
def test_fast_path_and_full_parser_agree_on_generated_ascii(text: str, private: bool) -> None:
    fast = _outcome(lambda t: parse_address(t, private_names=private), text)
    assert fast == _outcome(lambda t: _parse_full(t, private_names=private), text)


@settings(max_examples=500, deadline=None)
@given(_structured)
def test_clean_mode_never_changes_an_address_that_is_already_valid(text: str) -> None:
    if isinstance(_outcome(parse_address, text), Address):
        assert clean_address(text) == text
        assert parse_address(text, clean=True) == parse_address(text)


_any_char = st.one_of(
    st.characters(),
    st.sampled_from(["@", '"', ".", "\\", "[", "]", "\udcff", "\ud800", "\r", "\x00", "＠"]),
)


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet=_any_char, max_size=60), st.booleans())
def test_any_text_gives_an_address_or_an_address_error(text: str, clean: bool) -> None:
    outcome = _outcome(lambda t: parse_address(t, clean=clean), text)
    if isinstance(outcome, Address):
        assert outcome.input == text
        assert "@" in outcome.email
        assert outcome.ascii_domain.isascii()
        assert not engine.syntax._FORBIDDEN.search(outcome.email)
        assert len(outcome.local.encode()) <= 64
        assert len(outcome.ascii_email.encode()) <= 254
