"""Egress values, proxy URLs and the routing table (engine.routing): parsing, validation,
redaction of credentials, and which egress a mail host gets."""

from __future__ import annotations

import pickle
import sys

import pytest

from engine.config import Config
from engine.routing import (
    DIRECT,
    Egress,
    EgressRouter,
    ProxyScheme,
    ProxyUrl,
    Route,
    egress_settings,
    parse_egress,
    parse_proxy_url,
    parse_route,
)

SECRET = "s3cr3t-pw"


# Proxy URLs ---------------------------------------------------------------------------------


def test_socks5_url_with_credentials_parses_and_hides_the_password() -> None:
    proxy = parse_proxy_url(f"socks5://mp:{SECRET}@127.0.0.2:1081")

    assert proxy == ProxyUrl(
        scheme=ProxyScheme.SOCKS5, host="127.0.0.2", port=1081, username="mp", password=SECRET
    )
    assert str(proxy) == "socks5://mp:***@127.0.0.2:1081"
    assert SECRET not in repr(proxy)
    assert SECRET not in repr(Egress(name="a", proxy=proxy))
    assert SECRET not in Egress(name="a", proxy=proxy).describe()


def test_percent_encoded_credentials_are_decoded() -> None:
    proxy = parse_proxy_url("socks5://us%40er:p%2Cw%3A@proxy.example.net")
    assert (proxy.username, proxy.password, proxy.port) == ("us@er", "p,w:", 1080)


def test_socks4_and_ipv6_proxy_hosts() -> None:
    assert parse_proxy_url("socks4://127.0.0.2:1080").scheme is ProxyScheme.SOCKS4
    proxy = parse_proxy_url("socks5://[::1]:1080")
    assert proxy.host == "::1" and str(proxy) == "socks5://[::1]:1080"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("http://127.0.0.2:3128", "not supported"),
        ("socks5://127.0.0.2:99999", "not a proxy URL"),
        ("socks5://:1080", "needs a host"),
        ("socks5://127.0.0.2:1080/path", "no path"),
        (f"socks4://user:{SECRET}@127.0.0.2:1080", "SOCKS4 has no passwords"),
        (f"socks5://us\u00e9r:{SECRET}@127.0.0.2:1080", "ASCII"),
        (f"socks5://{'u' * 256}:{SECRET}@127.0.0.2", "1 to 255"),
    ],
)
def test_bad_proxy_urls_are_refused_without_showing_the_password(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words) as caught:
        parse_proxy_url(text)
    assert SECRET not in str(caught.value)


# Egresses ------------------------------------------------------------------------------------


def test_egress_spec_parses_every_setting() -> None:
    egress = parse_egress(
        f"a, proxy=socks5://mp:{SECRET}@127.0.0.2:1080, source=127.0.0.9, "
        "helo=a.verifier.example.com, mail_from=check@verifier.example.com"
    )
    assert egress.name == "a"
    assert egress.proxy is not None and egress.proxy.password == SECRET
    assert egress.source_address == "127.0.0.9"
    assert egress.helo_name == "a.verifier.example.com"
    assert egress.mail_from == "check@verifier.example.com"
    assert egress.describe() == "a (socks5://mp:***@127.0.0.2:1080, from 127.0.0.9)"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Upper", "lower-case"),
        ("a,port=25", "unknown setting"),
        ("a,source=not-an-ip", "must be an IP address"),
        ("a,helo=two words", "spaces"),
    ],
)
def test_bad_egress_specs_are_refused(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_egress(text)


def test_an_egress_is_a_picklable_value_with_equality() -> None:
    egress = parse_egress(f"a,proxy=socks5://mp:{SECRET}@127.0.0.2:1080,helo=a.example.com")
    copy = pickle.loads(pickle.dumps(egress))
    assert copy == egress and hash(copy) == hash(egress)
    assert copy.proxy is not None and copy.proxy.password == SECRET  # still usable


def test_config_refuses_duplicate_names_and_routes_to_unknown_egresses() -> None:
    a = Egress(name="a")
    with pytest.raises(ValueError, match="unique"):
        Config(egresses=(a, Egress(name="a", source_address="127.0.0.9")))
    with pytest.raises(ValueError, match="no egress named b"):
        Config(egresses=(a,), routes=(parse_route("google=a,b"),))
    assert Config(egresses=(a,), routes=(parse_route("*=a"),)).routes[0].egresses == ("a",)


# Routes ---------------------------------------------------------------------------------------


def test_route_syntax() -> None:
    assert parse_route("google=a") == Route("google", ("a",))
    assert parse_route("*.protection.outlook.com -> b") == Route("*.protection.outlook.com", ("b",))
    assert parse_route(" * = a , b ") == Route("*", ("a", "b"))
    for bad in ("google", "google=", "=a"):
        with pytest.raises(ValueError):
            parse_route(bad)


def test_routes_match_providers_hosts_and_patterns() -> None:
    router = EgressRouter(
        [Egress(name="a"), Egress(name="b"), Egress(name="c")],
        [
            parse_route("google=a"),
            parse_route("*.protection.outlook.com=b"),
            parse_route("mx.example.org=c"),
        ],
    )
    assert router.pick("aspmx.l.google.com", "google").name == "a"
    assert router.pick("ALT1.ASPMX.L.GOOGLE.COM.", "google").name == "a"
    assert router.pick("contoso-com.mail.protection.outlook.com", "microsoft").name == "b"
    assert router.pick("mx.example.org.", None).name == "c"
    # A provider route does not match by host name, nor a host route by provider.
    assert [e.name for e in router.candidates("google.example.net", None)] == ["a", "b", "c"]


def test_unrouted_hosts_go_to_every_egress_in_turn() -> None:
    router = EgressRouter(
        [Egress(name="a"), Egress(name="b"), Egress(name="c")], [parse_route("google=a")]
    )
    picks = [router.pick("mx.example.net").name for _ in range(6)]
    assert picks == ["a", "b", "c", "a", "b", "c"]
    assert router.pick("aspmx.l.google.com", "google").name == "a"
    assert router.pick("mx.example.net").name == "a"  # Google's picks do not move the turn


def test_a_route_with_several_egresses_takes_them_in_turn() -> None:
    router = EgressRouter([Egress(name="a"), Egress(name="b")], [parse_route("google=a,b")])
    assert [router.pick("mx.google.com", "google").name for _ in range(3)] == ["a", "b", "a"]


def test_a_pick_passes_over_the_egresses_to_avoid_while_the_route_allows_another() -> None:
    router = EgressRouter(
        [Egress(name="a"), Egress(name="b"), Egress(name="c")], [parse_route("google=a,b")]
    )
    picks = [router.pick("mx.example.net", avoid={"b"}).name for _ in range(4)]
    assert picks == ["a", "c", "a", "c"]
    assert [router.pick("mx.google.com", "google", {"a"}).name for _ in range(2)] == ["b", "b"]
    # Every candidate avoided: the turn goes on as if nothing were.
    assert [router.pick("mx.google.com", "google", {"a", "b"}).name for _ in range(2)] == [
        "a",
        "b",
    ]


def test_no_egresses_means_the_direct_one() -> None:
    router = EgressRouter([], [])
    assert router.pick("mx.example.net") is DIRECT
    assert router.get("direct") is DIRECT


# File sections -------------------------------------------------------------------------------


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib is Python 3.11+")
def test_egress_settings_from_a_toml_file() -> None:
    import tomllib

    doc = tomllib.loads(
        f"""
        [egresses.a]
        proxy = "socks5://mp:{SECRET}@127.0.0.2:1080"
        helo_name = "a.verifier.example.com"
        [egresses.b]
        source_address = "127.0.0.9"
        mail_from = ""
        [routes]
        google = "a"
        "*.protection.outlook.com" = "b"
        "*" = ["a", "b"]
        """
    )
    egresses, routes = egress_settings(doc)

    assert [e.name for e in egresses] == ["a", "b"]
    assert egresses[0].proxy is not None and egresses[0].proxy.username == "mp"
    assert egresses[1].source_address == "127.0.0.9" and egresses[1].mail_from == ""
    assert [str(r) for r in routes] == ["google=a", "*.protection.outlook.com=b", "*=a,b"]
    config = Config(egresses=egresses, routes=routes)
    assert config.egresses == egresses


def test_egress_settings_name_the_bad_entry() -> None:
    with pytest.raises(ValueError, match=r"\[egresses.a\] must be a table"):
        egress_settings({"egresses": {"a": "socks5://x"}})
    with pytest.raises(ValueError, match="unknown settings"):
        egress_settings({"egresses": {"a": {"port": 1}}})
    assert egress_settings({}) == ((), ())
