"""Outbound HTTP that connects where it checked: a host name is resolved once, every address it
has is vetted, and the connection goes to a vetted address.

A guard that checks a name and then lets the HTTP client resolve it again can be passed by DNS
rebinding (a public answer for the check, a private one for the connection). PinnedTransport
leaves the client nothing to resolve: it sends the request to the vetted IP, keeps the original
Host header, and checks TLS (SNI and the certificate) against the name.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

Resolve = Callable[[str, int], Awaitable[list[str]]]  # (host, port) -> addresses, in order


class AddressRefused(Exception):
    """A host that does not resolve, or has an address the policy refuses; says which."""


async def system_resolve(host: str, port: int) -> list[str]:
    """The host's addresses from the system resolver (getaddrinfo), in its order."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


async def vetted_addresses(
    host: str,
    port: int,
    *,
    allow: Callable[[str], bool],
    resolve: Resolve = system_resolve,
    timeout_s: float = 10.0,
) -> list[str]:
    """The host's addresses, each one allowed by `allow`; raises AddressRefused otherwise.

    Every address must pass, not just the first: a name with one private address among public
    ones is refused, whichever address a client would have picked.
    """
    literal = _literal(host)
    if literal is not None:
        ips = [literal]
    else:
        try:
            ips = await asyncio.wait_for(resolve(host, port), timeout_s)
        except (OSError, asyncio.TimeoutError, UnicodeError) as exc:
            raise AddressRefused(f"host {host!r} does not resolve: {exc}") from exc
    refused = [ip for ip in ips if not allow(ip)]
    if not ips or refused:
        raise AddressRefused(
            f"host {host!r} resolves to a private or loopback address "
            f"({', '.join(refused) or 'none'})"
        )
    return ips


class PinnedTransport(httpx.AsyncBaseTransport):
    """An httpx transport that resolves each request's host once, vets every address with
    `allow`, and connects to the first; raises AddressRefused before connecting otherwise.

    Args:
        allow: the policy for an address (engine.addresses.is_public_ip for the SSRF guard).
        resolve: the resolver; the system's by default.
        options: passed to httpx.AsyncHTTPTransport (verify, retries, limits...).
    """

    def __init__(
        self,
        *,
        allow: Callable[[str], bool],
        resolve: Resolve = system_resolve,
        resolve_timeout_s: float = 10.0,
        **options: Any,
    ) -> None:
        self._allow = allow
        self._resolve = resolve
        self._resolve_timeout_s = resolve_timeout_s
        self._inner = httpx.AsyncHTTPTransport(**options)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        port = url.port or (443 if url.scheme == "https" else 80)
        ips = await vetted_addresses(
            url.host,
            port,
            allow=self._allow,
            resolve=self._resolve,
            timeout_s=self._resolve_timeout_s,
        )
        extensions = dict(request.extensions)
        if url.scheme == "https":
            # TLS for the name, not the address: the SNI, and the certificate checked against it.
            extensions["sni_hostname"] = url.host
        pinned = httpx.Request(
            request.method,
            url.copy_with(host=ips[0]),
            headers=request.headers,  # the Host header names the host, as the URL did
            stream=request.stream,
            extensions=extensions,
        )
        return await self._inner.handle_async_request(pinned)

    async def aclose(self) -> None:
        await self._inner.aclose()
