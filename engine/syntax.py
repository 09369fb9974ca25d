"""Clean, parse and normalize one email address into an Address; the syntax stage.

Pure and synchronous: no DNS, no I/O, no verdict. Plain ASCII addresses take a fast path of our
own; everything else (non-ASCII, quoted local parts, IP literals, Punycode) goes to email-validator.
"""

from __future__ import annotations

import re
import string
import unicodedata

from email_validator import EmailNotValidError, validate_email

from engine.errors import AtSignNotFound, InvalidAddress, TooManyAtSigns
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

# Special-use names that can never hold a mailbox reachable through public DNS: .invalid and
# .localhost (RFC 6761 §6.3, §6.4), .local (mDNS, RFC 6762 §3), .onion (RFC 7686 §2: "SHOULD
# generate an error"), .alt (RFC 9476 §2, not DNS at all) and .arpa (infrastructure, RFC 3172).
# .test, .example and example.com/.net/.org (RFC 6761 §6.2, §6.5; RFC 2606) are deliberately
# absent: they are well-formed, and DNS decides (example.com publishes a null MX, RFC 7505, and
# tests serve .test from loopback DNS).
RESERVED_TLDS = frozenset({"alt", "arpa", "invalid", "local", "localhost", "onion"})

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


def parse_address(raw: str, *, clean: bool = False) -> Address:
    """Split and normalize one address, following RFC 5321/5322/6531 rather than convention.

    With `clean`, `clean_address()` runs first and `Address.checked` holds what was parsed.

    Raises:
        AtSignNotFound: no "@" outside a quoted local part.
        TooManyAtSigns: more than one "@" outside a quoted local part.
        InvalidAddress: any other syntax error; the message says what is wrong.
    """
    return _parse(raw, clean=clean, fast=True)


def _parse_full(raw: str, *, clean: bool = False) -> Address:
    """`parse_address()` without the fast path: every input goes through email-validator."""
    return _parse(raw, clean=clean, fast=False)


def _parse(raw: str, *, clean: bool, fast: bool) -> Address:
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
                return _plain_address(raw, checked, match[1], match[2])
        elif checked.isascii() and '"' not in checked and "[" not in checked:
            # Without quotes, literals or non-ASCII text the grammar above is the whole of
            # RFC 5321 §4.1.2, so the full parser would refuse this too; say why ourselves.
            _check_characters(checked)
            reason = _plain_syntax_error(*_split(checked))
            if reason is not None:
                raise InvalidAddress(reason)
    return _full_address(raw, checked)


def _plain_address(raw: str, checked: str, local: str, domain: str) -> Address:
    """An ASCII dot-atom local part and LDH domain the regular expression already accepted."""
    _check_local_length(local)
    # RFC 5321 §2.4: the domain is case-insensitive; the local part keeps its case.
    domain = domain.lower()
    _check_domain(domain)
    return Address(
        input=raw,
        checked=checked,
        local=local,
        ascii_domain=domain,
        unicode_domain=domain,
        tag=_tag(local),
    )


def _full_address(raw: str, checked: str) -> Address:
    """Everything the fast path does not take, through email-validator."""
    _check_characters(checked)
    typed_local = _split(checked)[0]
    try:
        # Every option is given so that a change to email-validator's module-level defaults
        # elsewhere in the process cannot change our answers.
        valid = validate_email(
            checked,
            check_deliverability=False,
            allow_smtputf8=True,  # RFC 6531
            allow_quoted_local=True,  # RFC 5321 §4.1.2 Quoted-string
            allow_domain_literal=True,  # RFC 5321 §4.1.3 address literals
            # RFC 5321 §4.1.2: a local part has at least one character. An empty quoted string
            # is grammatical but names no mailbox, and the bare "@domain" form is not one.
            allow_empty_local=False,
            allow_display_name=False,  # RFC 5322 §3.4 name-addr is a header form; clean mode
            strict=False,  # its local-part limit counts characters; ours counts octets
            # Our own domain rules follow (_check_domain); this option would also demand a
            # letter at the end of the TLD, which RFC 3696 §2 does not.
            globally_deliverable=False,
            # Lets .test through (RFC 6761 §6.2); it also only skips DNS, which is off anyway.
            test_environment=True,
        )
    except EmailNotValidError as exc:
        raise InvalidAddress(str(exc)) from None
    local = valid.local_part
    # email-validator lower-cases the RFC 2142 role names; RFC 5321 §2.4 keeps the case as given.
    if not local.startswith('"') and typed_local.isascii() and local == typed_local.lower():
        local = typed_local
    _check_local_length(local)
    if valid.ascii_domain.startswith("["):
        return Address(
            input=raw,
            checked=checked,
            local=local,
            ascii_domain=valid.ascii_domain,
            unicode_domain=valid.domain,
            tag=_tag(local),
            is_smtputf8=not local.isascii(),
            domain_literal=str(valid.domain_address),
        )
    _check_domain(valid.ascii_domain)
    return Address(
        input=raw,
        checked=checked,
        local=local,
        ascii_domain=valid.ascii_domain,
        unicode_domain=valid.domain,
        tag=_tag(local),
        # RFC 6531 §3.3: a non-ASCII local part can only travel with SMTPUTF8.
        is_smtputf8=not local.isascii(),
    )


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
    """The local part (unquoted, NFC) and the domain part, at the one separating "@"."""
    if text.startswith('"'):
        # RFC 5321 §4.1.2 Quoted-string: "@" may appear inside, and a backslash quotes the next
        # character (quoted-pairSMTP).
        close = _closing_quote(text)
        if close < 0:
            raise InvalidAddress("quoted local part has no closing quote (RFC 5321 §4.1.2)")
        local, rest = text[: close + 1], text[close + 1 :]
        ats = rest.count("@")
        if ats > 1:
            raise TooManyAtSigns("more than one @ outside the quoted local part")
        if ats == 0:
            raise AtSignNotFound("no @ after the quoted local part")
        if not rest.startswith("@"):
            raise InvalidAddress("text between the closing quote and the @ (RFC 5321 §4.1.2)")
        unquoted = re.sub(r"\\(.)", r"\1", local[1:-1])
        return unicodedata.normalize("NFC", unquoted), rest[1:]
    ats = text.count("@")
    if ats == 0:
        if "＠" in text or "﹫" in text:
            raise AtSignNotFound("no @ sign (a full-width or small @ look-alike instead)")
        raise AtSignNotFound("no @ sign")
    if ats > 1:
        raise TooManyAtSigns(f"{ats} @ signs; only a quoted local part may hold one")
    local, domain = text.split("@")
    return unicodedata.normalize("NFC", local), domain


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


def _check_domain(domain: str) -> None:
    """The rules for a domain name (not a literal) in A-label form that both paths share."""
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
    if tld in RESERVED_TLDS:
        raise InvalidAddress(f"'.{tld}' is a special-use domain that takes no mail (RFC 6761 §6)")


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
