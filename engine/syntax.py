"""Clean, parse and normalize one email address into an Address; the syntax stage.

Pure and synchronous: no DNS, no I/O, no verdict. Plain ASCII addresses take a fast path of our
own, which gives the same answer as the full parser for every input. In the full parser the
local part is judged by email-validator; a domain name follows IDNA 2008 (RFC 5890-5893) with
no mapping beyond lower case and NFC, which email-validator's UTS #46 processing would apply.
"""

from __future__ import annotations

import ipaddress
import re
import string
import unicodedata

import idna
import idna.idnadata
from email_validator import EmailNotValidError, ValidatedEmail, validate_email

from engine.errors import (
    AtSignNotFound,
    InvalidAddress,
    SpecialUseDomain,
    SpecialUseDomainUnchecked,
    TooManyAtSigns,
)
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
# Clean mode looks at lines up to this long: room for a display name, a comment and spaces.
# A longer line is not one decorated address; it is parsed as given and refused for its length.
MAX_CLEAN_INPUT = 1024

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

# RFC 5321 §4.1.3 address literals. ASCII digits only: \d and int() take any script's.
_IPV4_LITERAL = re.compile(r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}")
_IPV6_HEX = re.compile(r"[0-9A-Fa-f]{1,4}")
_LITERAL_TAG = re.compile(r"[A-Za-z0-9-]*[A-Za-z0-9]")  # Ldh-str
_DCONTENT = re.compile(r"[\x21-\x5a\x5e-\x7e]+")  # %d33-90 / %d94-126

# IDNA 2008 (RFC 5890-5893), with the code point classes of the idna package.
_ACE_PREFIX = "xn--"  # RFC 5890 §2.3.2.1
_PVALID = idna.idnadata.codepoint_classes["PVALID"]
_CONTEXTJ = idna.idnadata.codepoint_classes["CONTEXTJ"]
_CONTEXTO = idna.idnadata.codepoint_classes["CONTEXTO"]
# What a rejected code point is, for the message (RFC 5892 §2; the classes above decide).
_OTHER_DOTS = frozenset("\u3002\uff0e\uff61")  # ideographic, full-width, half-width full stops
_DISALLOWED_EXCEPTIONS = frozenset({0x0640, 0x07FA, 0x302E, 0x302F, 0x303B, *range(0x3031, 0x3036)})
# Default_Ignorable_Code_Point outside the Cf category (Unicode DerivedCoreProperties).
_IGNORABLE: tuple[tuple[int, int], ...] = (
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFFA0, 0xFFA0),
    (0xE0000, 0xE0FFF),
)
_IGNORABLE_BLOCKS = ((0x20D0, 0x20FF), (0x1D100, 0x1D1FF), (0x1D200, 0x1D24F))  # RFC 5892 §2.4
_OLD_HANGUL_JAMO = ((0x1100, 0x11FF), (0xA960, 0xA97F), (0xD7B0, 0xD7FF))  # RFC 5892 §2.9
_LETTER_DIGITS = frozenset({"Ll", "Lu", "Lo", "Nd", "Lm", "Mn", "Mc"})  # RFC 5892 §2.1
_CATEGORY_KIND = {
    "P": "punctuation",
    "S": "a symbol",
    "Z": "a space or separator",
    "N": "a number that is not a decimal digit",
    "M": "an enclosing mark",
    "C": "a control, format or private-use code point",
    "L": "a title-case letter",
}
_CONTEXT_RULES = {
    (0x200C, 0x200C): "RFC 5892 Appendix A.1: only after a virama or between joining letters",
    (0x200D, 0x200D): "RFC 5892 Appendix A.2: only after a virama",
    (0x00B7, 0x00B7): "RFC 5892 Appendix A.3: only between two 'l'",
    (0x0375, 0x0375): "RFC 5892 Appendix A.4: only before a Greek letter",
    (0x05F3, 0x05F4): "RFC 5892 Appendix A.5, A.6: only after a Hebrew letter",
    (0x30FB, 0x30FB): "RFC 5892 Appendix A.7: only with Hiragana, Katakana or Han",
    (0x0660, 0x0669): "RFC 5892 Appendix A.8: not with Extended Arabic-Indic digits",
    (0x06F0, 0x06F9): "RFC 5892 Appendix A.9: not with Arabic-Indic digits",
}
# email-validator judges the local part; this well-formed domain stands in for the real one.
_STAND_IN_DOMAIN = "example.com"

# RFC 5322 §3.2.3 atext: the characters of a dot-atom local part.
_ATEXT = r"A-Za-z0-9!#$%&'*+/=?^_`{|}~-"
# RFC 1035 §2.3.1 as relaxed by RFC 1123 §2.1: letters, digits, hyphens inside, digit first ok.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_ATEXT_CHARS = frozenset(string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-.")
_LDH_CHARS = frozenset(string.ascii_letters + string.digits + "-.")
# The fast path's whole grammar: RFC 5321 §4.1.2 Dot-string "@" Domain, ASCII only.
_PLAIN_ADDRESS = re.compile(rf"([{_ATEXT}]+(?:\.[{_ATEXT}]+)*)@({_LABEL}(?:\.{_LABEL})*)")

# Never part of an address, cleaned or not: C0 and C1 controls (CR, LF and NUL among them, which
# would split or end an SMTP command line, RFC 5321 §2.3.8), DEL, the Unicode line and paragraph
# separators, and lone surrogates (undecodable bytes kept by the surrogateescape error handler).
_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_FORBIDDEN_BUT_TAB = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")

# Clean mode: blanks around and between the tokens of a pasted address (RFC 5322 §3.2.2 FWS),
# plus the no-break space, zero-width space and byte-order mark that copying text drags along.
_BLANKS = " \t\u00a0\u200b\ufeff"
_BLANK_RUN = re.compile(f"[{_BLANKS}]+")
# Can never start an address: a dot-atom does not start with a dot (RFC 5322 §3.2.3), and these
# specials are not atext. Quotes are handled apart: a leading '"' may open a quoted local part.
_LEADING_JUNK = ".,;:()<>[]"
# Can never end an address: a domain ends with a letter or digit, or "]" for a literal.
_TRAILING_JUNK = ".,;:!?'\"()<>[]{}"
_TRAILING_JUNK_BUT_BRACKET = _TRAILING_JUNK.replace("]", "")
_MAILTO = "mailto:"  # RFC 6068 §2


def clean_address(raw: str) -> str:
    """Undo the usual decoration around a pasted address; never raises.

    Strips surrounding blanks, a display name and angle brackets (`Name <a@b>`), a leading
    `mailto:` (any case) and its `?query`, a trailing or leading `(comment)`, quotes wrapping
    the whole address, stray punctuation at either end, and blanks between tokens outside a
    quoted local part. Control characters are never cleaned away: an input holding one (other
    than a tab) comes back unchanged, so parsing it fails.
    """
    if len(raw) > MAX_CLEAN_INPUT or _FORBIDDEN_BUT_TAB.search(raw):
        return raw
    text = raw.strip(_BLANKS)
    # RFC 5322 §3.4 name-addr: keep the angle-addr and drop the display name around it.
    # Only when nothing but punctuation follows the ">": a quoted local part may hold "<" or ">".
    start = text.rfind("<")
    end = text.find(">", start + 1)
    if start >= 0 and end > start and not text[end + 1 :].strip(_BLANKS + _TRAILING_JUNK):
        text = text[start + 1 : end]
    previous = None
    while text != previous:
        previous = text
        text = text.strip(_BLANKS)
        if text[: len(_MAILTO)].lower() == _MAILTO:
            # RFC 6068 §2: "?" starts the header fields of a mailto URI.
            text = text[len(_MAILTO) :].split("?", 1)[0]
        if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
            text = text[1:-1]
        # RFC 5322 §3.2.2 comments are not part of the addr-spec.
        if text.endswith(")") and not text.startswith("(") and "(" in text:
            text = text[: text.rfind("(")]
        elif text.startswith("(") and not text.endswith(")") and ")" in text:
            text = text[text.find(")") + 1 :]
        text = text.lstrip(_LEADING_JUNK)
        # A domain literal ends with its "]" (RFC 5321 §4.1.3); a quote matching the first
        # character stays for the wrapping-quote rule on the next round.
        junk = _TRAILING_JUNK_BUT_BRACKET if "@[" in text else _TRAILING_JUNK
        if text[:1] in ("'", '"'):
            junk = junk.replace(text[0], "")
        text = text.rstrip(junk)
    return _drop_inner_blanks(text)


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
        ascii_domain, ip = _address_literal(typed_domain)
        unicode_domain = ascii_domain
    else:
        ascii_domain, unicode_domain = _domain_name(typed_domain)
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
    bad = sorted(set(domain) - _LDH_CHARS)
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
                    f" {_describe(char)} (RFC 5321 §4.1.2 quoted-pairSMTP)"
                )
        elif char == "\\":
            escaped = True
        elif char.isascii() and not (" " <= char <= "~"):
            raise InvalidAddress(
                f"quoted local part has {_describe(char)}, which is not qtextSMTP"
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


def _address_literal(text: str) -> tuple[str, str]:
    """An address literal, exactly by RFC 5321 §4.1.3: the normalized literal and its IP.

        address-literal  = "[" ( IPv4-address-literal / IPv6-address-literal /
                                 General-address-literal ) "]"
        General-address-literal = Standardized-tag ":" 1*dcontent

    An IPv4 literal is four Snum, each 1*3DIGIT of value 0-255 in decimal: "010" is ten (never
    octal eight), and the normalized form drops such zeros. A tag must be registered with IANA,
    whose Address Literal Tags registry holds only "IPv6" (case-insensitive, RFC 5234 §2.3).
    """
    if not text.endswith("]") or len(text) < 2:
        raise InvalidAddress("address literal has no closing ']' (RFC 5321 §4.1.3)")
    inner = text[1:-1]
    if _IPV4_LITERAL.fullmatch(inner):
        ip = _ipv4(inner)
        return f"[{ip}]", ip
    tag, colon, content = inner.partition(":")
    if tag.lower() == "ipv6" and colon:
        ip = _ipv6(content)
        return f"[IPv6:{ip}]", ip
    if _ipv6_groups(inner) is not None:
        raise InvalidAddress(
            f"IPv6 address literal needs its tag: [IPv6:{inner}] (RFC 5321 §4.1.3)"
        )
    if colon and _LITERAL_TAG.fullmatch(tag) and _DCONTENT.fullmatch(content):
        raise InvalidAddress(
            f"address literal tag {tag!r} is not registered: RFC 5321 §4.1.3 takes a"
            " Standardized-tag from IANA's Address Literal Tags, which hold only 'IPv6'"
        )
    raise InvalidAddress(
        f"address literal {text!r} is neither an IPv4 address (four numbers 0-255) nor"
        " 'IPv6:' and an IPv6 address (RFC 5321 §4.1.3)"
    )


def _ipv4(text: str) -> str:
    """RFC 5321 §4.1.3 IPv4-address-literal (matched by _IPV4_LITERAL) in dotted decimal."""
    numbers = []
    for snum in text.split("."):
        number = int(snum, 10)
        if number > 255:
            raise InvalidAddress(
                f"IPv4 address literal has {snum}, above 255 (RFC 5321 §4.1.3 Snum)"
            )
        numbers.append(number)
    return ".".join(map(str, numbers))


def _ipv6(text: str) -> str:
    """RFC 5321 §4.1.3 IPv6-addr in its normalized text form (RFC 5952 §4, §5).

        IPv6-full   = IPv6-hex 7(":" IPv6-hex)
        IPv6-comp   = [IPv6-hex *5(":" IPv6-hex)] "::" [IPv6-hex *5(":" IPv6-hex)]
        IPv6v4-full = IPv6-hex 5(":" IPv6-hex) ":" IPv4-address-literal
        IPv6v4-comp = [IPv6-hex *3(":" IPv6-hex)] "::"
                      [IPv6-hex *3(":" IPv6-hex) ":"] IPv4-address-literal

    "::" stands for at least two groups of zeros: at most 6 groups besides it (4 with an IPv4
    tail). RFC 4291 lets it stand for one group; RFC 5321 does not (erratum 2467 rejected).
    """
    groups = _ipv6_groups(text)
    if groups is None:
        zone = " (a zone index is not part of an address literal)" if "%" in text else ""
        raise InvalidAddress(
            f"{text!r} is not an IPv6 address in a form of RFC 5321 §4.1.3{zone}: eight groups,"
            " or '::' for two or more zero groups, optionally ending in an IPv4 address"
        )
    address = ipaddress.IPv6Address(int.from_bytes(bytes(groups), "big"))
    mapped = address.ipv4_mapped
    # RFC 5952 §5: an IPv4-mapped address keeps its dotted tail (the same on every Python).
    return f"::ffff:{mapped}" if mapped is not None else address.compressed


def _ipv6_groups(text: str) -> list[int] | None:
    """The 16 octets of an RFC 5321 §4.1.3 IPv6-addr, or None when it is not one."""
    tail: list[int] = []
    hex_part = text
    colon = text.rfind(":")
    if colon >= 0 and "." in text[colon + 1 :]:
        if not _IPV4_LITERAL.fullmatch(text[colon + 1 :]):
            return None
        tail = [int(snum, 10) for snum in text[colon + 1 :].split(".")]
        if max(tail) > 255:
            return None
        # Keep "::" when it comes right before the IPv4 part; drop a lone separating ":".
        hex_part = text[: colon + 1] if text[: colon + 1].endswith("::") else text[:colon]
    wanted = 6 if tail else 8
    if "::" in hex_part:
        left, _, right = hex_part.partition("::")
        if "::" in right:
            return None
        explicit = (left.split(":") if left else []) + (right.split(":") if right else [])
        if len(explicit) > wanted - 2:
            return None
        left_count = len(left.split(":")) if left else 0
        hexes = explicit[:left_count] + ["0"] * (wanted - len(explicit)) + explicit[left_count:]
    else:
        explicit = hexes = hex_part.split(":")
        if len(hexes) != wanted:
            return None
    if not all(_IPV6_HEX.fullmatch(h) for h in explicit):
        return None
    octets: list[int] = []
    for group in hexes:
        value = int(group, 16)
        octets += [value >> 8, value & 0xFF]
    return octets + tail


def _domain_name(text: str) -> tuple[str, str]:
    """The A-label and U-label forms of a domain name, by IDNA 2008 (RFC 5890-5893).

    The only changes made to what was typed are lower case and NFC, which RFC 5891 §5.2 leaves
    to the application; no UTS #46 compatibility mapping (full-width forms, "ª" to "a", the
    ideographic full stop as a dot) and no "ß" to "ss". Every code point a label holds must be
    PVALID, or CONTEXTJ/CONTEXTO with its rule satisfied (RFC 5892); anything else is refused
    with a message naming the code point and the rule.
    """
    if not text:
        raise InvalidAddress("nothing after the @ (RFC 5321 §4.1.2)")
    # Label by label, so that a final sigma is lower-cased as the end of its word.
    labels = [
        label.lower() if label.isascii() else unicodedata.normalize("NFC", label.lower())
        for label in text.split(".")
    ]
    if "" in labels:
        raise InvalidAddress(
            "domain starts or ends with a dot, or has two in a row (RFC 5321 §4.1.2)"
        )
    a_labels: list[str] = []
    u_labels: list[str] = []
    for label in labels:
        if label.isascii():
            _check_ldh_label(label)
            u_label = _decode_a_label(label) if label.startswith(_ACE_PREFIX) else label
            a_label = label
        else:
            _check_u_label(label)
            u_label = label
            a_label = _ACE_PREFIX + label.encode("punycode").decode("ascii")
        a_labels.append(a_label)
        u_labels.append(u_label)
    _check_bidi_domain(u_labels)
    return ".".join(a_labels), ".".join(u_labels)


def _check_ldh_label(label: str) -> None:
    """An ASCII label: letters, digits and inner hyphens (RFC 1035 §2.3.1, RFC 1123 §2.1)."""
    bad = sorted(set(label) - _LDH_CHARS)
    if bad:
        listed = " ".join(repr(c) for c in bad)
        raise InvalidAddress(
            f"domain has characters other than letters, digits, hyphens: {listed} (RFC 1035 §2.3.1)"
        )
    if label.startswith("-") or label.endswith("-"):
        raise InvalidAddress("domain label starts or ends with a hyphen (RFC 1035 §2.3.1)")
    if label[2:4] == "--" and not label.startswith(_ACE_PREFIX):
        raise InvalidAddress(
            f"domain label {label!r} has '--' as its third and fourth characters, which are"
            " reserved for encodings such as Punycode's 'xn--' (RFC 5891 §4.2.3.1)"
        )


def _decode_a_label(label: str) -> str:
    """The U-label of an A-label, which must be the exact Punycode of a valid U-label."""
    try:
        u_label = label[len(_ACE_PREFIX) :].encode("ascii").decode("punycode")
    except (UnicodeError, ValueError, IndexError):
        u_label = ""
    if not u_label or u_label.isascii():
        raise InvalidAddress(
            f"domain label {label!r} starts with 'xn--' but is not the Punycode of a"
            " non-ASCII label (RFC 5891 §5.3, RFC 5890 §2.3.2.1)"
        )
    if _ACE_PREFIX + u_label.encode("punycode").decode("ascii") != label:
        raise InvalidAddress(
            f"domain label {label!r} is not the canonical Punycode of {u_label!r}"
            " (RFC 5890 §2.3.2.1: a fake A-label)"
        )
    if unicodedata.normalize("NFC", u_label) != u_label:
        raise InvalidAddress(f"domain label {label!r} decodes to text not in NFC (RFC 5891 §5.4)")
    try:
        _check_u_label(u_label)
    except InvalidAddress as exc:
        raise InvalidAddress(f"A-label {label!r} decodes to {u_label!r}: {exc}") from None
    return u_label


def _check_u_label(label: str) -> None:
    """RFC 5891 §5.4 (with the registration rules of §4.2.3): code points, hyphens, a leading
    combining mark and the contextual rules. The Bidi Rule spans the whole domain."""
    for char in label:
        if not _idna_allowed(char):
            raise InvalidAddress(
                f"domain has {_describe(char)}, which IDNA 2008 does not allow: "
                + _disallowed_rule(char)
            )
    if label[2:4] == "--":
        raise InvalidAddress(
            f"domain label {label!r} has '--' as its third and fourth characters"
            " (RFC 5891 §4.2.3.1)"
        )
    if label.startswith("-") or label.endswith("-"):
        raise InvalidAddress("domain label starts or ends with a hyphen (RFC 5891 §4.2.3.1)")
    if unicodedata.category(label[0]).startswith("M"):
        raise InvalidAddress(
            f"domain label starts with the combining mark {_describe(label[0])} (RFC 5891 §4.2.3.2)"
        )
    for pos, char in enumerate(label):
        cp = ord(char)
        if idna.intranges_contain(cp, _PVALID):
            continue
        try:
            if idna.intranges_contain(cp, _CONTEXTJ):
                ok = idna.valid_contextj(label, pos)
            else:
                ok = idna.valid_contexto(label, pos)
        except ValueError:  # a neighbour unknown to this Python's Unicode data
            ok = False
        if not ok:
            raise InvalidAddress(
                f"domain has {_describe(char)} where its contextual rule does not allow it"
                f" (RFC 5891 §4.2.3.3, {_context_rule(cp)})"
            )


def _check_bidi_domain(u_labels: list[str]) -> None:
    """RFC 5893 §2: once any label holds right-to-left text, every label obeys the Bidi Rule."""
    if not any(unicodedata.bidirectional(c) in ("R", "AL", "AN") for u in u_labels for c in u):
        return
    for label in u_labels:
        try:
            idna.check_bidi(label, check_ltr=True)
        except idna.IDNAError as exc:
            raise InvalidAddress(
                f"domain label {label!r} breaks the Bidi Rule of a domain with right-to-left"
                f" text ({exc}; RFC 5893 §2)"
            ) from None


def _idna_allowed(char: str) -> bool:
    """PVALID, CONTEXTJ or CONTEXTO in the IDNA 2008 tables (RFC 5892, as the idna package
    derives them for its Unicode version)."""
    cp = ord(char)
    return any(idna.intranges_contain(cp, ranges) for ranges in (_PVALID, _CONTEXTJ, _CONTEXTO))


def _describe(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X} {name}".rstrip() if name else f"U+{ord(char):04X}"


def _disallowed_rule(char: str) -> str:
    """Which rule of RFC 5892 §2 makes `char` DISALLOWED or UNASSIGNED, in the order of §3."""
    cp = ord(char)
    category = unicodedata.category(char)
    if char in _OTHER_DOTS:
        return (
            "it separated labels in IDNA 2003 (RFC 3490 §3.1), but IDNA 2008 separates them"
            " with '.' only, and mailprobe applies no local mapping (RFC 5895 §2)"
        )
    if cp in _DISALLOWED_EXCEPTIONS:
        return "listed as DISALLOWED among the exceptions (RFC 5892 §2.6)"
    if category == "Cn" and not _is_noncharacter(cp):
        return f"unassigned in Unicode {unicodedata.unidata_version} (RFC 5892 §2.10)"
    if char.isascii():
        return "in ASCII only lower-case letters, digits and '-' (RFC 5892 §2.5)"
    stable = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", char).casefold())
    if stable != char:
        shown = repr(stable) if stable else "nothing"
        return (
            f"case folding and compatibility mapping turn it into {shown}, and mailprobe maps"
            " neither (RFC 5892 §2.2 Unstable)"
        )
    if char.isspace() or _is_noncharacter(cp) or category == "Cf" or _in(cp, _IGNORABLE):
        return "a default-ignorable, white-space or non-character code point (RFC 5892 §2.3)"
    if _in(cp, _IGNORABLE_BLOCKS):
        return "in a block of musical or symbol-combining notation (RFC 5892 §2.4)"
    if _in(cp, _OLD_HANGUL_JAMO):
        return "an old Hangul jamo (RFC 5892 §2.9)"
    if category not in _LETTER_DIGITS:
        kind = _CATEGORY_KIND.get(category[0], "not a letter or digit")
        return f"only letters, digits and combining marks, and this is {kind} (RFC 5892 §2.1)"
    return "DISALLOWED by RFC 5892"


def _context_rule(cp: int) -> str:
    for (low, high), rule in _CONTEXT_RULES.items():
        if low <= cp <= high:
            return rule
    return "RFC 5892 Appendix A"


def _is_noncharacter(cp: int) -> bool:
    return 0xFDD0 <= cp <= 0xFDEF or cp & 0xFFFE == 0xFFFE


def _in(cp: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(low <= cp <= high for low, high in ranges)


def _tag(local: str) -> str | None:
    """RFC 5233 subaddressing: the text after the first "+" of a dot-atom local part."""
    plus = local.find("+")
    if plus < 0 or local.startswith('"'):
        return None
    return local[plus + 1 :] or None


def _drop_inner_blanks(text: str) -> str:
    """Remove blanks outside a quoted local part; inside quotes a space is content."""
    if '"' not in text:
        return _BLANK_RUN.sub("", text)
    pieces: list[str] = []
    quoted = escaped = False
    for char in text:
        if quoted:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char in _BLANKS:
            continue
        pieces.append(char)
    return "".join(pieces)
