"""The SSRF guard: which IP addresses the DNS stage hands on and the SMTP transport connects to."""

from __future__ import annotations

import pytest

from engine.addresses import is_public_ip


@pytest.mark.parametrize(
    "ip",
    [
        "0.0.0.0",
        "10.0.0.1",
        "10.1.2.3",
        "100.64.0.1",
        "100.127.255.254",
        "127.0.0.1",
        "127.0.0.25",
        "127.1.2.3",
        "169.254.1.1",
        "169.254.169.254",
        "172.16.0.1",
        "172.16.5.4",
        "172.31.255.255",
        "192.0.0.8",
        "192.0.0.9",  # RFC 6890 192.0.0.0/24, whatever a single entry's status
        "192.0.2.1",
        "192.88.99.1",
        "192.168.0.1",
        "198.18.0.1",
        "198.51.100.7",
        "203.0.113.9",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "::",
        "::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "::127.0.0.1",
        "::8.8.8.8",  # RFC 4291 §2.5.5.1: the IPv4-compatible form is deprecated
        "64:ff9b::10.0.0.1",
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b:1::1",  # RFC 8215 local-use NAT64
        "100::1",
        "1000::1",  # outside 2000::/3, not allocated
        "2001::1",
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        "2001:db8::1",
        "2002:0a00:0001::1",
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:7f00:0001::1",
        "3fff::1",
        "5f00::1",  # RFC 9602 SRv6 SIDs
        "fc00::1",
        "fd12:3456:789a::1",
        "fe80::1",
        "fe80::1%eth0",
        "2a00:1450:4001:81c::201b%eth0",
        "fec0::1",
        "ff02::1",
        "not an ip",
        "mx.example.test",
        "",
        "1.2.3",
        "[8.8.8.8]",
    ],
)
def test_not_public(ip: str) -> None:
    assert not is_public_ip(ip)


@pytest.mark.parametrize(
    "ip",
    [
        "8.8.8.8",
        "1.1.1.1",
        "93.184.215.14",
        "100.63.255.255",
        "100.128.0.1",
        "172.32.0.1",
        "192.169.0.1",
        "198.20.0.1",
        "2a00:1450:4001:80b::1b",
        "2a00:1450:4001:81c::201b",
        "2606:4700::6810:84e5",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
        "2002:0808:0808::1",
    ],
)
def test_public(ip: str) -> None:
    assert is_public_ip(ip)
