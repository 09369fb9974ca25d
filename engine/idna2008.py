"""Domain names by IDNA 2008 (RFC 5890-5893): LDH labels, A-labels and U-labels checked code
point by code point, with no mapping beyond lower case and NFC (email-validator's UTS #46
processing would map more); the syntax stage's domain part when it is a name.

Pure and synchronous; raises InvalidAddress naming the code point and the rule it breaks.
"""

from __future__ import annotations

import string
import unicodedata

import idna
import idna.idnadata

from engine.errors import InvalidAddress

__all__ = ["LDH_CHARS", "describe_code_point", "domain_name"]

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
# RFC 1035 §2.3.1 (with RFC 1123 §2.1): the characters of an ASCII domain, dots included.
LDH_CHARS = frozenset(string.ascii_letters + string.digits + "-.")


def domain_name(text: str) -> tuple[str, str]:
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
    bad = sorted(set(label) - LDH_CHARS)
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
                f"domain has {describe_code_point(char)}, which IDNA 2008 does not allow: "
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
            "domain label starts with the combining mark "
            f"{describe_code_point(label[0])} (RFC 5891 §4.2.3.2)"
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
                f"domain has {describe_code_point(char)} where its contextual rule does not"
                f" allow it (RFC 5891 §4.2.3.3, {_context_rule(cp)})"
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


def describe_code_point(char: str) -> str:
    """`U+00E9 LATIN SMALL LETTER E WITH ACUTE`: a code point for an error message."""
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
