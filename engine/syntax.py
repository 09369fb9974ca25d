"""Parse and normalize one email address into an Address; the syntax stage.

Pure and synchronous: no DNS, no I/O, no verdict. Plain ASCII addresses take a fast path of our
own, which gives the same answer as the full parser for every input. In the full parser the
local part is judged by email-validator, a domain name by engine.idna2008 (IDNA 2008 with no
mapping beyond lower case and NFC) and an address literal by engine.literals (RFC 5321 §4.1.3);
clean mode (engine.cleaning) runs first when asked. Lengths, special-use names and subaddress
tags are judged here, the same for both paths.
"""

from __future__ import annotations

import re
import string
import unicodedata

from email_validator import EmailNotValidError, ValidatedEmail, validate_email

from engine.cleaning import MAX_CLEAN_INPUT, clean_address
from engine.errors import (
    AtSignNotFound,
    InvalidAddress,
    SpecialUseDomain,
    SpecialUseDomainUnchecked,
    TooManyAtSigns,
)
from engine.idna2008 import LDH_CHARS, describe_code_point, domain_name
from engine.literals import address_literal
from engine.model import Address

__all__ = [
    "MAX_ADDRESS_OCTETS",
    "MAX_CLEAN_INPUT",
    "MAX_DOMAIN_OCTETS",
    "MAX_LABEL_OCTETS",
    "MAX_LOCAL_OCTETS",
    "RESERVED_TLDS",
    "clean_address",
    "parse_address",
]

# RFC 5321 §4.5.3.1.3 caps a path at 256 octets including its angle brackets, so an address at
# 254 (RFC 3696 §3, erratum 1690). A character is at least one octet, so a longer string is
# refused before any other work: that also bounds what a hostile 1 MB line costs.
MAX_ADDRESS_OCTETS = 254
MAX_LOCAL_OCTETS = 64  # RFC 5321 §4.5.3.1.1, in UTF-8 octets for SMTPUTF8 (RFC 6531 §3.3)
MAX_DOMAIN_OCTETS = 253  # RFC 1035 §2.3.4: 255 on the wire is 253 in dotted text form
MAX_LABEL_OCTETS = 63  # RFC 1035 §2.3.4, counted in the A-label form (RFC 5890 §2.3.2.1)

# Special-use names (RFC 6761 §6 and the names registered after it), refused before DNS with
# the reason SpecialUseDomain. Two kinds:
# - never anybody's mailbox (undeliverable): .invalid never resolves (RFC 6761 §6.4); .localhost
#   is always the checking machine itself (RFC 6761 §6.3); .arpa is internet infrastructure
#   (RFC 3172 §2), except home.arpa below.
# - outside the public DNS (unknown: a mailbox may exist there, mailprobe cannot look): .onion
#   is reachable only through Tor (RFC 7686 §2: "SHOULD NOT perform a DNS lookup"); .alt is for
#   namespaces that are not DNS at all (RFC 9476 §2); .local is multicast DNS on the local link
#   (RFC 6762 §3), refused unless the caller allows private names (an intranet whose own DNS
#   serves a .local zone, as Active Directory sites do).
# Deliberately absent, because their RFCs ask applications to treat them as ordinary names and
# DNS then gives the honest answer: .test (RFC 6761 §6.2), .example and example.com/.net/.org
# (RFC 6761 §6.5; RFC 2606 §3: example.com publishes a null MX) and home.arpa (RFC 8375 §4).
# Test worlds (which all allow private addresses) and intranets serve these from their own DNS.
_NEVER_A_MAILBOX = {
    "invalid": "'.invalid' is reserved so that it never resolves (RFC 6761 §6.4)",
    "localhost": "'.localhost' always names the checking machine itself (RFC 6761 §6.3)",
    "arpa": "'.arpa' names internet infrastructure, not mail domains (RFC 3172 §2)",
}
_OUTSIDE_DNS = {
    "onion": "'.onion' is reachable only through Tor, which mailprobe does not use (RFC 7686 §2)",
    "alt": "'.alt' names live outside the DNS (RFC 9476 §2)",
    "local": (
        "'.local' names hosts on the local link through multicast DNS (RFC 6762 §3);"
        " allow private addresses to let an intranet's own DNS answer for it"
    ),
}
_PRIVATE_NAMES = frozenset({"local"})
_HOME_ARPA = "home.arpa"  # RFC 8375: residential networks; DNS decides
RESERVED_TLDS = frozenset(_NEVER_A_MAILBOX) | frozenset(_OUTSIDE_DNS)

# email-validator judges the local part; this well-formed domain stands in for the real one.
_STAND_IN_DOMAIN = "example.com"

# RFC 5322 §3.2.3 atext: the characters of a dot-atom local part.
_ATEXT = r"A-Za-z0-9!#$%&'*+/=?^_`{|}~-"
# RFC 1035 §2.3.1 as relaxed by RFC 1123 §2.1: letters, digits, hyphens inside, digit first ok.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_ATEXT_CHARS = frozenset(string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-.")
# The fast path's whole grammar: RFC 5321 §4.1.2 Dot-string "@" Domain, ASCII only.
_PLAIN_ADDRESS = re.compile(rf"([{_ATEXT}]+(?:\.[{_ATEXT}]+)*)@({_LABEL}(?:\.{_LABEL})*)")

# Never part of an address, cleaned or not: C0 and C1 controls (CR, LF and NUL among them, which
# would split or end an SMTP command line, RFC 5321 §2.3.8), DEL, the Unicode line and paragraph
# separators, and lone surrogates (undecodable bytes kept by the surrogateescape error handler).
_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def parse_address(raw: str, *, clean: bool = False, private_names: bool = False) -> Address:
    """Split and normalize one address, following RFC 5321/5322/6531 rather than convention.

    With `clean`, `clean_address()` runs first and `Address.checked` holds what was parsed.
    With `private_names`, names only a private network resolves (`.local`) are left to DNS
    instead of being refused.

    Raises:
        AtSignNotFound: no "@" outside a quoted local part.
        TooManyAtSigns: more than one "@" outside a quoted local part.
        InvalidAddress: any other syntax error; the message says what is wrong.
        SpecialUseDomain: a well-formed address under a special-use name (the error carries
            the Address); SpecialUseDomainUnchecked when a mailbox may exist there.
    """
    return _parse(raw, clean=clean, fast=True, private_names=private_names)


def _parse_full(raw: str, *, clean: bool = False, private_names: bool = False) -> Address:
    """`parse_address()` without the fast path: every input takes the full parser."""
    return _parse(raw, clean=clean, fast=False, private_names=private_names)


def _parse(raw: str, *, clean: bool, fast: bool, private_names: bool) -> Address:
    checked = clean_address(raw) if clean else raw
    if len(checked) > MAX_ADDRESS_OCTETS:
        raise InvalidAddress(
            f"address longer than {MAX_ADDRESS_OCTETS} octets (RFC 5321 §4.5.3.1.3)"
        )
    if fast:
        match = _PLAIN_ADDRESS.fullmatch(checked)
        if match is not None:
            # A "--" in the domain means Punycode or a reserved R-LDH label: IDNA rules apply
            # (RFC 5891 §4.2.3.1), so the full parser decides.
            if "--" not in match[2]:
                return _plain_address(raw, checked, match[1], match[2], private_names)
        elif checked.isascii() and '"' not in checked and "[" not in checked:
            # Without quotes, literals or non-ASCII text the grammar above is the whole of
            # RFC 5321 §4.1.2, so the full parser would refuse this too; say why ourselves.
            _check_characters(checked)
            reason = _plain_syntax_error(*_split(checked))
            if reason is not None:
                raise InvalidAddress(reason)
    return _full_address(raw, checked, private_names)


def _plain_address(raw: str, checked: str, local: str, domain: str, private_names: bool) -> Address:
    """An ASCII dot-atom local part and LDH domain the regular expression already accepted."""
    _check_local_length(local)
    # RFC 5321 §2.4: the domain is case-insensitive; the local part keeps its case.
    domain = domain.lower()
    tld = _check_domain(domain)
    address = Address(
        input=raw,
        checked=checked,
        local=local,
        ascii_domain=domain,
        unicode_domain=domain,
        tag=_tag(local),
    )
    if tld in RESERVED_TLDS:
        _check_special_use(address, private_names=private_names)
    return address


def _full_address(raw: str, checked: str, private_names: bool) -> Address:
    """Everything the fast path does not take: the local part through email-validator, the
    domain through our IDNA 2008 rules, or an address literal through RFC 5321 §4.1.3."""
    _check_characters(checked)
    typed_local, typed_domain = _split(checked)
    if typed_local.startswith('"'):
        _check_quoted_string(typed_local)
    # email-validator judges the local part alone: the domain it sees is a stand-in, because it
    # maps domains with UTS #46 (width, compatibility forms, other dots), which IDNA 2008 and
    # this engine do not.
    local = _typed_case(_validate(f"{typed_local}@{_STAND_IN_DOMAIN}").local_part, typed_local)
    _check_local_length(local)
    ip: str | None = None
    if typed_domain.startswith("["):
        ascii_domain, ip = address_literal(typed_domain)
        unicode_domain = ascii_domain
    else:
        ascii_domain, unicode_domain = domain_name(typed_domain)
    for form in (checked, f"{local}@{unicode_domain}", f"{local}@{ascii_domain}"):
        if len(form.encode()) > MAX_ADDRESS_OCTETS:
            raise InvalidAddress(
                f"address longer than {MAX_ADDRESS_OCTETS} octets (RFC 5321 §4.5.3.1.3)"
            )
    tld = _check_domain(ascii_domain) if ip is None else None
    address = Address(
        input=raw,
        checked=checked,
        local=local,
        ascii_domain=ascii_domain,
        unicode_domain=unicode_domain,
        tag=_tag(local),
        # RFC 6531 §3.3: a non-ASCII local part can only travel with SMTPUTF8.
        is_smtputf8=not local.isascii(),
        domain_literal=ip,
    )
    if tld in RESERVED_TLDS:
        _check_special_use(address, private_names=private_names)
    return address


def _validate(text: str) -> ValidatedEmail:
    """email-validator on `text`, with every option given so that a change to its module-level
    defaults elsewhere in the process cannot change our answers."""
    try:
        return validate_email(
            text,
            check_deliverability=False,
            allow_smtputf8=True,  # RFC 6531
            allow_quoted_local=True,  # RFC 5321 §4.1.2 Quoted-string
            allow_domain_literal=False,  # never given one: RFC 5321 §4.1.3 is ours
            # RFC 5321 §4.1.2: a local part has at least one character. An empty quoted string
            # is grammatical but names no mailbox, and the bare "@domain" form is not one.
            allow_empty_local=False,
            allow_display_name=False,  # RFC 5322 §3.4 name-addr is a header form; clean mode
            strict=False,  # its local-part limit counts characters; ours counts octets
            # Our own domain rules follow (_domain_name, _check_domain); this option would also
            # demand a letter at the end of the TLD, which RFC 3696 §2 does not.
            globally_deliverable=False,
            test_environment=True,  # only skips DNS, which is off anyway
        )
    except EmailNotValidError as exc:
        raise InvalidAddress(str(exc)) from None


def _typed_case(local: str, typed: str) -> str:
    """email-validator lower-cases the RFC 2142 role names; RFC 5321 §2.4 keeps the case."""
    if local.startswith('"'):
        return local
    unquoted = _unquote(typed)
    if unquoted.isascii() and local == unquoted.lower():
        return unquoted
    return local


def _check_characters(text: str) -> None:
    bad = _FORBIDDEN.search(text)
    if bad is not None:
        kind = "an undecodable byte" if "\ud800" <= bad[0] <= "\udfff" else "a control character"
        raise InvalidAddress(f"contains {kind} (U+{ord(bad[0]):04X})")


def _plain_syntax_error(local: str, domain: str) -> str | None:
    """What is wrong with an unquoted ASCII address the fast grammar refused, if we can tell."""
    # RFC 5322 §3.2.3 dot-atom: atext runs joined by single dots.
    if not local:
        return "nothing before the @ (RFC 5321 §4.1.2)"
    bad = sorted(set(local) - _ATEXT_CHARS)
    if bad:
        listed = " ".join(repr(c) for c in bad)
        return f"local part has characters allowed only inside quotes: {listed} (RFC 5322 §3.2.3)"
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return "local part starts or ends with a dot, or has two in a row (RFC 5322 §3.2.3)"
    # RFC 1035 §2.3.1 and RFC 1123 §2.1: letters, digits and inner hyphens, joined by dots.
    if not domain:
        return "nothing after the @ (RFC 5321 §4.1.2)"
    bad = sorted(set(domain) - LDH_CHARS)
    if bad:
        listed = " ".join(repr(c) for c in bad)
        return (
            f"domain has characters other than letters, digits, hyphens: {listed} (RFC 1035 §2.3.1)"
        )
    labels = domain.split(".")
    if "" in labels:
        return "domain starts or ends with a dot, or has two in a row (RFC 5321 §4.1.2)"
    if any(label.startswith("-") or label.endswith("-") for label in labels):
        return "domain label starts or ends with a hyphen (RFC 1035 §2.3.1)"
    return None


def _split(text: str) -> tuple[str, str]:
    """The local part as typed and the domain part, at the one separating "@"."""
    if text.startswith('"'):
        # RFC 5321 §4.1.2 Quoted-string: "@" may appear inside, and a backslash quotes the next
        # character (quoted-pairSMTP).
        close = _closing_quote(text)
        if close < 0:
            raise InvalidAddress("quoted local part has no closing quote (RFC 5321 §4.1.2)")
        local, rest = text[: close + 1], text[close + 1 :]
        at = rest.find("@")
        if at < 0:
            raise AtSignNotFound("no @ after the quoted local part")
        _check_one_at(text, rest[at + 1 :])
        if at > 0:
            raise InvalidAddress("text between the closing quote and the @ (RFC 5321 §4.1.2)")
        return local, rest[1:]
    at = text.find("@")
    if at < 0:
        if "＠" in text or "﹫" in text:
            raise AtSignNotFound("no @ sign (a full-width or small @ look-alike instead)")
        raise AtSignNotFound("no @ sign")
    _check_one_at(text, text[at + 1 :])
    return text[:at], text[at + 1 :]


def _check_one_at(text: str, domain: str) -> None:
    """No "@" after the separating one, but inside a General-address-literal's dcontent
    (RFC 5321 §4.1.3), which the literal's own rules then judge."""
    if "@" in domain and not (domain.startswith("[") and domain.endswith("]")):
        if text.startswith('"'):
            raise TooManyAtSigns("more than one @ outside the quoted local part")
        raise TooManyAtSigns(f"{text.count('@')} @ signs; only a quoted local part may hold one")


def _check_quoted_string(local: str) -> None:
    """A quoted local part, exactly by RFC 5321 §4.1.2 with RFC 6531 §3.3's UTF-8:

        Quoted-string   = DQUOTE *QcontentSMTP DQUOTE
        QcontentSMTP    = qtextSMTP / quoted-pairSMTP
        qtextSMTP       = %d32-33 / %d35-91 / %d93-126 / UTF8-non-ascii
        quoted-pairSMTP = %d92 %d32-126

    Narrower than RFC 5322 §3.2.4: no folding white space, no obsolete qtext (control
    characters) and a backslash quotes only printable ASCII or a space, never a tab, a control
    character or a non-ASCII character. `local` runs from its quote to the closing one.
    """
    body = local[1:-1]
    escaped = False
    for char in body:
        if escaped:
            escaped = False
            if not " " <= char <= "~":
                raise InvalidAddress(
                    f"a backslash in quotes may precede only printable ASCII or a space, not"
                    f" {describe_code_point(char)} (RFC 5321 §4.1.2 quoted-pairSMTP)"
                )
        elif char == "\\":
            escaped = True
        elif char.isascii() and not (" " <= char <= "~"):
            raise InvalidAddress(
                f"quoted local part has {describe_code_point(char)}, which is not qtextSMTP"
                " (RFC 5321 §4.1.2: printable ASCII, space and UTF-8 only)"
            )


def _unquote(local: str) -> str:
    """A local part as typed, without its quotes and quoted-pair backslashes, in NFC."""
    if local.startswith('"'):
        local = re.sub(r"\\(.)", r"\1", local[1:-1])
    return unicodedata.normalize("NFC", local)


def _closing_quote(text: str) -> int:
    """Index of the quote closing the one at index 0, or -1."""
    escaped = False
    for index in range(1, len(text)):
        char = text[index]
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            return index
    return -1


def _check_local_length(local: str) -> None:
    # RFC 5321 §4.5.3.1.1, on the wire form: minimal quoting (RFC 5321 §4.1.2), UTF-8 octets.
    if len(local) > MAX_LOCAL_OCTETS // 4 and len(local.encode()) > MAX_LOCAL_OCTETS:
        raise InvalidAddress(
            f"local part longer than {MAX_LOCAL_OCTETS} octets (RFC 5321 §4.5.3.1.1)"
        )


def _check_domain(domain: str) -> str:
    """The rules for a domain name (not a literal) in A-label form that both paths share;
    returns the top-level label."""
    if len(domain) > MAX_DOMAIN_OCTETS:
        raise InvalidAddress(f"domain longer than {MAX_DOMAIN_OCTETS} octets (RFC 1035 §2.3.4)")
    labels = domain.split(".")
    if len(domain) > MAX_LABEL_OCTETS and max(map(len, labels)) > MAX_LABEL_OCTETS:
        raise InvalidAddress(
            f"domain label longer than {MAX_LABEL_OCTETS} octets (RFC 1035 §2.3.4)"
        )
    # RFC 5321 §2.3.5: a domain in an address is fully qualified; dotless ones are not mailable
    # on the Internet (ICANN prohibits dotless gTLD mail, 2013).
    if len(labels) < 2:
        raise InvalidAddress(
            "domain has a single label; mail needs a dotted name (RFC 5321 §2.3.5)"
        )
    tld = labels[-1]
    # RFC 3696 §2: top-level domain names are never all-numeric (that is a dotted IP address).
    if tld.isdigit():
        raise InvalidAddress("top-level domain is all-numeric (RFC 3696 §2)")
    return tld


def _check_special_use(address: Address, *, private_names: bool) -> None:
    """Refuse a special-use name (one ending in RESERVED_TLDS), after every syntax rule."""
    domain = address.ascii_domain
    tld = domain[domain.rfind(".") + 1 :]
    if tld in _NEVER_A_MAILBOX:
        if domain == _HOME_ARPA or domain.endswith("." + _HOME_ARPA):
            return
        raise SpecialUseDomain(f"special-use name: {_NEVER_A_MAILBOX[tld]}", address=address)
    if tld in _OUTSIDE_DNS and not (private_names and tld in _PRIVATE_NAMES):
        raise SpecialUseDomainUnchecked(f"special-use name: {_OUTSIDE_DNS[tld]}", address=address)


def _tag(local: str) -> str | None:
    """RFC 5233 subaddressing: the text after the first "+" of a dot-atom local part."""
    plus = local.find("+")
    if plus < 0 or local.startswith('"'):
        return None
    return local[plus + 1 :] or None
