"""Which IP addresses the engine may connect to: public unicast ones only (the SSRF guard).

Pure: the standard library's ipaddress and fixed tables, so the DNS stage and the SMTP transport
judge an address the same way, on every Python.
"""

from __future__ import annotations

import ipaddress

__all__ = ["is_public_ip"]

_V4_NOT_PUBLIC = tuple(
    ipaddress.IPv4Network(net)
    for net in (
        "0.0.0.0/8",  # "this network", unspecified
        "10.0.0.0/8",  # RFC 1918
        "100.64.0.0/10",  # RFC 6598 carrier-grade NAT
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local
        "172.16.0.0/12",  # RFC 1918
        "192.0.0.0/24",  # RFC 6890 IETF protocol assignments
        "192.0.2.0/24",  # RFC 5737 documentation
        "192.88.99.0/24",  # RFC 7526 deprecated 6to4 relay anycast
        "192.168.0.0/16",  # RFC 1918
        "198.18.0.0/15",  # RFC 2544 benchmarking
        "198.51.100.0/24",  # RFC 5737 documentation
        "203.0.113.0/24",  # RFC 5737 documentation
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and 255.255.255.255 broadcast
    )
)
# Only 2000::/3 is global unicast today (RFC 4291 §2.4); within it these are not public.
_V6_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_V6_NOT_PUBLIC = tuple(
    ipaddress.IPv6Network(net)
    for net in (
        "2001::/23",  # RFC 2928 IETF protocol assignments, Teredo 2001::/32 among them
        "2001:db8::/32",  # RFC 3849 documentation
        "3fff::/20",  # RFC 9637 documentation
    )
)
_V6_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052 well-known prefix
_V6_6TO4 = ipaddress.IPv6Network("2002::/16")  # RFC 3056


def is_public_ip(ip: str) -> bool:
    """Whether `ip` is a public unicast address that a mail server may have.

    False for loopback, private (RFC 1918, RFC 4193 fc00::/7), carrier-grade NAT, link-local,
    multicast, unspecified, reserved, documentation and benchmarking ranges, Teredo, and text
    that is not an address. IPv4-mapped, NAT64 (64:ff9b::/96) and 6to4 addresses are judged by
    the IPv4 address they carry. Never raises.
    """
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv4Address):
        return not any(address in net for net in _V4_NOT_PUBLIC)
    if address.scope_id:
        return False  # a zone index ("fe80::1%eth0") only means something on this machine
    carried = _carried_ipv4(address)
    if carried is not None:
        return not any(carried in net for net in _V4_NOT_PUBLIC)
    if address not in _V6_GLOBAL_UNICAST:
        return False  # ::1, ::, fc00::/7, fe80::/10, ff00::/8, 100::/64 and the rest
    return not any(address in net for net in _V6_NOT_PUBLIC)


def _carried_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _V6_NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _V6_6TO4:
        return address.sixtofour
    return None
