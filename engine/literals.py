"""RFC 5321 §4.1.3 address literals (`user@[192.0.2.1]`, `user@[IPv6:2001:db8::1]`): checked
exactly by the RFC's grammar and normalized; the syntax stage's domain part when it is a literal.

Pure and synchronous; raises InvalidAddress with the rule that was broken.
"""

from __future__ import annotations

import ipaddress
import re

from engine.errors import InvalidAddress

__all__ = ["address_literal"]

# RFC 5321 §4.1.3 address literals. ASCII digits only: \d and int() take any script's.
_IPV4_LITERAL = re.compile(r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}")
_IPV6_HEX = re.compile(r"[0-9A-Fa-f]{1,4}")
_LITERAL_TAG = re.compile(r"[A-Za-z0-9-]*[A-Za-z0-9]")  # Ldh-str
_DCONTENT = re.compile(r"[\x21-\x5a\x5e-\x7e]+")  # %d33-90 / %d94-126


def address_literal(text: str) -> tuple[str, str]:
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
