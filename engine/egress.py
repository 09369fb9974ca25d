"""Egress connections: a socket to a vetted (ip, port) through an egress's SOCKS proxy or from
its source address, and the transport and identity of each egress.

The only module that imports python-socks, and only once a proxy is used (`mailprobe[socks]`).
It is handed IP literals the SSRF guard has already approved and never gives a proxy a name to
resolve; every proxy failure becomes a ProxyFault naming the proxy and the step.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.util
import ipaddress
import socket
from collections.abc import Callable, Collection, Mapping
from enum import Enum
from typing import Any

from engine.config import Config
from engine.errors import ProxyFault, SmtpTransient
from engine.model import Stage
from engine.routing import Egress, EgressRouter, ProxyScheme, ProxyUrl
from engine.smtp import AioSmtpTransport, Connector, Identity, SmtpTransport

__all__ = [
    "DirectConnector",
    "EgressPool",
    "ProxyStep",
    "SocksConnector",
    "connector_for",
    "egress_config",
    "socks_available",
]

SOCKS_EXTRA_HINT = "python-socks is not installed: pip install 'mailprobe[socks]'"


class ProxyStep(str, Enum):
    """Where a proxied connection failed; the self-test reports the same steps."""

    SETUP = "set up"  # the proxy client library is missing, or the egress cannot use it
    REACH = "reach the proxy"  # TCP to the proxy: refused, unreachable, timed out
    AUTHENTICATE = "authenticate"  # SOCKS5 method negotiation and RFC 1929 user/password
    CONNECT = "connect to the mail host"  # the proxy's own connect (SOCKS reply code)
    HANDSHAKE = "handshake"  # closed or silent before the CONNECT reply (step not told apart)


# RFC 1928 §6 reply codes, in words an operator can act on.
_SOCKS5_REPLIES = {
    1: "general failure (many proxies say this when they forbid the port)",
    2: "not allowed by the proxy's rules (the proxy forbids this destination or port 25)",
    3: "network unreachable from the proxy",
    4: "host unreachable from the proxy",
    5: "connection refused by the mail host (or a firewall beside the proxy)",
    6: "TTL expired",
    7: "command not supported",
    8: "address type not supported (an IPv6 destination on an IPv4-only proxy?)",
}
_SOCKS4_REPLIES = {
    0x5B: "request rejected or failed (the proxy forbids this destination, or cannot reach it)",
    0x5C: "rejected: the proxy could not reach identd on this machine",
    0x5D: "rejected: identd reports another user id",
}


def socks_available() -> bool:
    """Whether the SOCKS client (python-socks, the `socks` extra) can be imported."""
    return importlib.util.find_spec("python_socks") is not None


def _family_of(ip: str) -> int:
    return socket.AF_INET6 if ipaddress.ip_address(ip).version == 6 else socket.AF_INET


class DirectConnector:
    """Connects straight to the mail host from the egress's source address."""

    def __init__(self, egress: Egress) -> None:
        self.egress = egress
        self.source = egress.source_address
        self.label = f"from {self.source} (egress {egress.name})" if self.source else ""

    async def connect(self, ip: str, port: int, family: int, timeout_s: float) -> socket.socket:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            if self.source is not None:
                if _family_of(self.source) != family:
                    raise SmtpTransient(
                        f"egress {self.egress.name} binds {self.source}, which cannot reach "
                        f"{ip} (another address family)",
                        stage=Stage.CONNECT,
                    )
                sock.bind((self.source, 0))
            loop = asyncio.get_running_loop()
            await asyncio.wait_for(loop.sock_connect(sock, (ip, port)), timeout_s)
        except (OSError, asyncio.TimeoutError) as exc:
            sock.close()
            what = "timed out" if isinstance(exc, asyncio.TimeoutError) else str(exc)
            raise SmtpTransient(
                f"connect {ip}:{port} {self.label}: {type(exc).__name__}: {what}",
                stage=Stage.CONNECT,
            ) from exc
        except BaseException:
            sock.close()
            raise
        return sock


class SocksConnector:
    """Connects through the egress's SOCKS5 or SOCKS4 proxy to the vetted IP literal.

    The IP goes to the proxy as an address (ATYP 1 or 4), so the proxy resolves nothing and the
    session reaches exactly what the SSRF guard approved. `timeout_s` bounds the whole proxy
    handshake, the proxy's own connect to the mail host included.
    """

    def __init__(self, egress: Egress) -> None:
        if egress.proxy is None:
            raise ValueError(f"egress {egress.name} has no proxy")
        self.egress = egress
        self.proxy: ProxyUrl = egress.proxy
        self.label = f"through {self.proxy} (egress {egress.name})"

    def fault(self, step: ProxyStep, detail: str) -> ProxyFault:
        """A ProxyFault naming this proxy and `step`."""
        return ProxyFault(
            f"proxy {self.proxy} (egress {self.egress.name}) could not {step.value}: {detail}",
            proxy=f"{self.proxy} (egress {self.egress.name})",
            step=step.value,
        )

    def _client(self) -> Any:
        try:
            from python_socks import ProxyType
            from python_socks.async_.asyncio import Proxy
        except ImportError:
            raise self.fault(ProxyStep.SETUP, SOCKS_EXTRA_HINT) from None
        kind = ProxyType.SOCKS5 if self.proxy.scheme is ProxyScheme.SOCKS5 else ProxyType.SOCKS4
        # Built inside the running loop: python-socks binds a Proxy to the loop it sees.
        return Proxy(
            proxy_type=kind,
            host=self.proxy.host,
            port=self.proxy.port,
            username=self.proxy.username,
            password=self.proxy.password,
            rdns=False,
        )

    async def connect(self, ip: str, port: int, family: int, timeout_s: float) -> socket.socket:
        if family == socket.AF_INET6 and self.proxy.scheme is ProxyScheme.SOCKS4:
            raise self.fault(ProxyStep.SETUP, f"SOCKS4 cannot carry the IPv6 address {ip}")
        client = self._client()
        from python_socks import ProxyConnectionError, ProxyError, ProxyTimeoutError

        local = (self.egress.source_address, 0) if self.egress.source_address else None
        try:
            sock: socket.socket = await client.connect(
                dest_host=ip, dest_port=port, timeout=timeout_s, local_addr=local
            )
        except ProxyConnectionError as exc:
            raise self.fault(ProxyStep.REACH, str(exc)) from exc
        except ProxyTimeoutError as exc:
            raise self.fault(
                ProxyStep.HANDSHAKE,
                f"no answer within {timeout_s:g} s, its own connect to {ip}:{port} included "
                "(a proxy that blackholes port 25 looks like this)",
            ) from exc
        except ProxyError as exc:
            raise self._explain(exc, ip, port) from exc
        except OSError as exc:  # binding the source address, before the proxy was reached
            raise self.fault(ProxyStep.REACH, f"{type(exc).__name__}: {exc}") from exc
        sock.setblocking(False)
        return sock

    def _explain(self, exc: Exception, ip: str, port: int) -> ProxyFault:
        code = getattr(exc, "error_code", None)
        text = str(exc)
        if isinstance(code, int):
            table = _SOCKS5_REPLIES if self.proxy.scheme is ProxyScheme.SOCKS5 else _SOCKS4_REPLIES
            said = table.get(code, text)
            return self.fault(
                ProxyStep.CONNECT, f"{ip}:{port}: {said} [SOCKS reply {code:#04x}: {text}]"
            )
        lowered = text.lower()
        if "no acceptable authentication" in lowered:
            why = "the proxy accepts none of the methods offered"
            if self.proxy.username is None:
                why += " (it wants a user name and password: put them in the proxy URL)"
            return self.fault(ProxyStep.AUTHENTICATE, f"{why} [{text}]")
        if "authentication" in lowered:
            return self.fault(
                ProxyStep.AUTHENTICATE, f"user name or password refused by the proxy [{text}]"
            )
        return self.fault(
            ProxyStep.HANDSHAKE,
            f"the proxy closed the connection or broke the SOCKS protocol before connecting "
            f"to {ip}:{port} (proxies that forbid port 25 often just hang up) [{text}]",
        )


def connector_for(egress: Egress) -> Connector | None:
    """How `egress` connects: through its proxy, from its source address, or (None) plainly."""
    if egress.proxy is not None:
        return SocksConnector(egress)
    if egress.source_address is not None:
        return DirectConnector(egress)
    return None


def egress_config(config: Config, egress: Egress) -> Config:
    """`config` as sessions through `egress` see it: its HELO name and MAIL FROM win."""
    return dataclasses.replace(
        config,
        helo_name=egress.helo_name or config.helo_name,
        mail_from=egress.mail_from if egress.mail_from is not None else config.mail_from,
    )


class EgressPool:
    """The transport and sender of each egress, and the router that picks one per session."""

    def __init__(
        self,
        router: EgressRouter,
        transports: Mapping[str, SmtpTransport],
        identities: Mapping[str, Identity],
        provider: Callable[[str], str | None] = lambda host: None,
    ) -> None:
        self.router = router
        self._transports = dict(transports)
        self._identities = dict(identities)
        self._provider = provider

    @classmethod
    def build(
        cls,
        config: Config,
        *,
        provider: Callable[[str], str | None] = lambda host: None,
        transport: SmtpTransport | None = None,
        wrap: Callable[[Egress, SmtpTransport], SmtpTransport] | None = None,
        fqdn: Callable[[], str] = socket.getfqdn,
    ) -> EgressPool:
        """One AioSmtpTransport per egress of `config` (or `transport` for all of them, as tests
        inject), each passed through `wrap` (the politeness gates of that egress)."""
        router = EgressRouter(config.egresses, config.routes)
        transports: dict[str, SmtpTransport] = {}
        identities: dict[str, Identity] = {}
        for egress in router.egresses:
            own = egress_config(config, egress)
            inner = transport or AioSmtpTransport(own, fqdn=fqdn, connector=connector_for(egress))
            transports[egress.name] = wrap(egress, inner) if wrap is not None else inner
            identities[egress.name] = Identity(own, fqdn)
        return cls(router, transports, identities, provider)

    def pick(self, host: str, avoid: Collection[str] = ()) -> str:
        """The egress for a new session to `host` (routes first, else each in turn), passing
        over the egresses in `avoid` while the route allows another."""
        return self.router.pick(host, self._provider(host), avoid).name

    def transport(self, name: str) -> SmtpTransport:
        return self._transports[name]

    async def sender(self, name: str) -> str:
        """MAIL FROM for sessions through egress `name`."""
        return await self._identities[name].sender()
