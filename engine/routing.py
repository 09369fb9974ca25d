"""Egress identities and the routing table: how sessions leave this machine, and which one asks
which mail host.

Pure values and parsing: an Egress is a named, picklable bundle (SOCKS proxy or direct, source
address, HELO name, MAIL FROM); a Route sends a provider or MX host pattern to egresses. No
sockets here (engine.egress connects), and a proxy password never appears in a repr, str or
error message.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from urllib.parse import unquote, urlsplit

__all__ = [
    "DIRECT",
    "Egress",
    "EgressRouter",
    "ProxyScheme",
    "ProxyUrl",
    "Route",
    "egress_settings",
    "parse_egress",
    "parse_proxy_url",
    "parse_route",
]

_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
_MAX_CREDENTIAL_BYTES = 255  # RFC 1929 §2: ULEN and PLEN are one octet each
_DEFAULT_SOCKS_PORT = 1080


class ProxyScheme(str, Enum):
    """The proxy protocols an egress can use. HTTP CONNECT is left out on purpose: client
    libraries over-read the CONNECT reply and swallow the server-first SMTP banner, and most
    HTTP proxies forbid port 25 anyway."""

    SOCKS5 = "socks5"  # RFC 1928, with RFC 1929 username/password
    SOCKS4 = "socks4"  # IPv4 destinations only; a user id but no password


@dataclass(frozen=True, slots=True, kw_only=True)
class ProxyUrl:
    """A SOCKS proxy endpoint from the operator's configuration (never from a request).

    The endpoint may be loopback or private (`ssh -D 127.0.0.1:1080`): the SSRF guard judges
    the mail host a session is for, not the proxy. `str()` and `repr()` hide the password.
    """

    scheme: ProxyScheme
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise ValueError(f"proxy port must be in 1..65535, not {self.port}")
        if not self.host or any(c in self.host for c in " /@\r\n\0"):
            raise ValueError("proxy URL needs a host name or IP address")
        for what, value in (("user name", self.username), ("password", self.password)):
            if value is None:
                continue
            if not value.isascii() or len(value.encode()) > _MAX_CREDENTIAL_BYTES or not value:
                raise ValueError(f"proxy {what} must be 1 to 255 ASCII characters")
        if self.scheme is ProxyScheme.SOCKS4 and self.password is not None:
            raise ValueError("SOCKS4 has no passwords (only a user id): use socks5://")
        if self.password is not None and self.username is None:
            raise ValueError("a proxy password needs a user name")

    def __str__(self) -> str:
        user = ""
        if self.username is not None:
            user = self.username + (":***" if self.password is not None else "") + "@"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme.value}://{user}{host}:{self.port}"

    def __repr__(self) -> str:
        return f"ProxyUrl({str(self)!r})"


def parse_proxy_url(text: str) -> ProxyUrl:
    """`socks5://user:pass@host:port` or `socks4://host:port` as a ProxyUrl.

    User name and password may be percent-encoded; the port defaults to 1080. Raises ValueError
    with a message that never contains the password.
    """
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        raise ValueError("not a proxy URL (expected socks5://[user:pass@]host:port)") from None
    try:
        scheme = ProxyScheme(parts.scheme.lower())
    except ValueError:
        raise ValueError(
            f"proxy scheme {parts.scheme!r} is not supported: use socks5:// (or socks4://)"
        ) from None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("a proxy URL has no path, query or fragment")
    if not parts.hostname:
        raise ValueError("proxy URL needs a host: socks5://[user:pass@]host:port")
    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    return ProxyUrl(
        scheme=scheme,
        host=parts.hostname,
        port=port if port is not None else _DEFAULT_SOCKS_PORT,
        username=username or None,
        password=password or None,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Egress:
    """One identity sessions leave by: a name, how it connects, what it says.

    Args:
        name: lower-case letters, digits, "-" and "_" (up to 32); routes and results use it.
        proxy: a SOCKS proxy every session goes through; None connects directly.
        source_address: the local IP to bind (for the leg to the mail host, or to the proxy).
        helo_name / mail_from: what this egress says; None takes Config.helo_name / mail_from.
            Servers judge the HELO name against the IP they see: with a proxy that is the
            proxy's IP, so give each egress the name its own PTR record carries.
    """

    name: str
    proxy: ProxyUrl | None = None
    source_address: str | None = None
    helo_name: str | None = None
    mail_from: str | None = None

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(
                f"egress name {self.name!r}: use 1 to 32 lower-case letters, digits, - or _"
            )
        if self.source_address is not None:
            try:
                ipaddress.ip_address(self.source_address)
            except ValueError:
                raise ValueError(
                    f"egress {self.name}: source_address must be an IP address, "
                    f"not {self.source_address!r}"
                ) from None
        for text in (self.helo_name, self.mail_from):
            if text is not None and any(c in text for c in "\r\n\0 "):
                raise ValueError(
                    f"egress {self.name}: helo_name and mail_from must not contain spaces, "
                    "CR, LF or NUL"
                )

    def describe(self) -> str:
        """`a (socks5://user:***@127.0.0.2:1080)`: the name and how it leaves, no password."""
        how = []
        if self.proxy is not None:
            how.append(str(self.proxy))
        if self.source_address is not None:
            how.append(f"from {self.source_address}")
        return f"{self.name} ({', '.join(how) or 'direct'})"


DIRECT = Egress(name="direct")
"""The egress a Config without `egresses` uses: this machine's own address and identity."""


@dataclass(frozen=True, slots=True)
class Route:
    """Sends mail hosts to egresses: `google=a`, `*.protection.outlook.com=b`, `*=a,b`.

    `pattern` is a provider name as engine.providers knows them (no dot, no wildcard), an MX
    host name, or a shell-style pattern over MX host names; `*` matches every host.
    """

    pattern: str
    egresses: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.pattern or any(c.isspace() for c in self.pattern):
            raise ValueError(f"route pattern {self.pattern!r} is empty or has spaces")
        if not self.egresses:
            raise ValueError(f"route {self.pattern!r} names no egress")

    @property
    def is_provider(self) -> bool:
        return "." not in self.pattern and not any(c in self.pattern for c in "*?[")

    def matches(self, host: str, provider: str | None) -> bool:
        if self.is_provider:
            return provider is not None and provider.lower() == self.pattern.lower()
        name = host.rstrip(".").lower()
        return fnmatch.fnmatchcase(name, self.pattern.rstrip(".").lower())

    def __str__(self) -> str:
        return f"{self.pattern}={','.join(self.egresses)}"


def parse_route(text: str) -> Route:
    """`PATTERN=EGRESS[,EGRESS...]` (also `PATTERN -> EGRESS`) as a Route; raises ValueError."""
    pattern, sep, names = text.partition("->") if "->" in text else text.partition("=")
    if not sep:
        raise ValueError(f"route {text!r}: expected PATTERN=EGRESS[,EGRESS...]")
    return Route(pattern.strip(), _names(names))


def _names(text: str | Sequence[str]) -> tuple[str, ...]:
    items = text.split(",") if isinstance(text, str) else list(text)
    return tuple(str(item).strip() for item in items if str(item).strip())


_EGRESS_KEYS = {
    "proxy": "proxy",
    "source": "source_address",
    "source_address": "source_address",
    "helo": "helo_name",
    "helo_name": "helo_name",
    "mail_from": "mail_from",
    "mail-from": "mail_from",
}


def parse_egress(text: str) -> Egress:
    """`NAME[,proxy=URL][,source=IP][,helo=NAME][,mail_from=ADDR]` as an Egress.

    A comma inside a proxy password must be percent-encoded (%2C), as in any URL. Raises
    ValueError (without the password).
    """
    name, *pairs = [part.strip() for part in text.strip().split(",")]
    fields: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        knob = _EGRESS_KEYS.get(key.strip().lower())
        if not sep or knob is None:
            raise ValueError(
                f"egress {name!r}: unknown setting {key.strip()!r} (expected proxy=, source=, "
                "helo=, mail_from=)"
            )
        fields[knob] = value.strip()
    return _egress(name, fields)


def _egress(name: str, fields: Mapping[str, object]) -> Egress:
    unknown = set(fields) - set(_EGRESS_KEYS.values())
    if unknown:
        raise ValueError(f"egress {name!r}: unknown settings {sorted(unknown)}")
    proxy = fields.get("proxy")
    text: dict[str, str | None] = {}
    for knob in ("source_address", "helo_name", "mail_from"):
        value = fields.get(knob)
        text[knob] = None if value is None else str(value)
    return Egress(
        name=name,
        proxy=parse_proxy_url(str(proxy)) if proxy else None,
        source_address=text["source_address"] or None,
        helo_name=text["helo_name"] or None,
        mail_from=text["mail_from"],
    )


def egress_settings(
    mapping: Mapping[str, object],
) -> tuple[tuple[Egress, ...], tuple[Route, ...]]:
    """Egresses and routes from a configuration file's sections (TOML, JSON, YAML alike):

        [egresses.a]
        proxy = "socks5://user:pass@203.0.113.9:1080"
        helo_name = "a.verifier.example.com"
        [egresses.b]
        source_address = "198.51.100.7"
        [routes]
        google = "a"
        "*.protection.outlook.com" = "b"
        "*" = ["a", "b"]

    Missing sections give empty tuples. Raises ValueError naming the bad entry.
    """
    egresses: list[Egress] = []
    section = mapping.get("egresses", {})
    if not isinstance(section, Mapping):
        raise ValueError("[egresses] must be a table of named egresses")
    for name, fields in section.items():
        if not isinstance(fields, Mapping):
            raise ValueError(f"[egresses.{name}] must be a table")
        egresses.append(_egress(str(name), {str(k): v for k, v in fields.items()}))
    routes: list[Route] = []
    table = mapping.get("routes", {})
    if not isinstance(table, Mapping):
        raise ValueError("[routes] must map patterns to egress names")
    for pattern, names in table.items():
        if not isinstance(names, (str, list, tuple)):
            raise ValueError(f"route {pattern!r}: expected an egress name or a list of them")
        routes.append(Route(str(pattern), _names(names)))
    return tuple(egresses), tuple(routes)


def check_routing(egresses: Sequence[Egress], routes: Sequence[Route]) -> None:
    """Raise ValueError unless the names are unique and every route names a known egress."""
    names = [e.name for e in egresses]
    if len(set(names)) != len(names):
        raise ValueError(f"egress names must be unique: {names}")
    known = set(names) or {DIRECT.name}
    for route in routes:
        missing = [n for n in route.egresses if n not in known]
        if missing:
            raise ValueError(f"route {route}: no egress named {', '.join(missing)}")


class EgressRouter:
    """Picks the egress for a new session to a mail host: the first route that matches it,
    else every egress in turn. Owned by one Verifier (the turn is its state)."""

    def __init__(self, egresses: Iterable[Egress], routes: Iterable[Route] = ()) -> None:
        self.egresses = tuple(egresses) or (DIRECT,)
        self.routes = tuple(routes)
        check_routing(self.egresses, self.routes)
        self._by_name = {e.name: e for e in self.egresses}
        self._turns: dict[tuple[str, ...], int] = {}

    def get(self, name: str) -> Egress:
        """The egress called `name`; raises KeyError."""
        return self._by_name[name]

    def candidates(self, host: str, provider: str | None = None) -> tuple[Egress, ...]:
        """The egresses that may serve `host`: the first matching route's, else all."""
        for route in self.routes:
            if route.matches(host, provider):
                return tuple(self._by_name[n] for n in route.egresses)
        return self.egresses

    def pick(self, host: str, provider: str | None = None, avoid: Collection[str] = ()) -> Egress:
        """The next of `host`'s candidates, in turn, passing over those named in `avoid`
        (unless every candidate is named there: then the next in turn all the same)."""
        candidates = self.candidates(host, provider)
        key = tuple(e.name for e in candidates)
        turn = self._turns.get(key, 0)
        count = len(candidates)
        step = 0
        if avoid:
            step = next(
                (s for s in range(count) if candidates[(turn + s) % count].name not in avoid), 0
            )
        self._turns[key] = turn + step + 1
        return candidates[(turn + step) % count]
