"""Webhook sends connect to the address the SSRF guard vetted: DNS rebinding gets no second
lookup to answer, and TLS is still checked against the name.

On loopback, 127.0.0.1 plays the internal address an attacker wants reached (the policy refuses
it, as is_public_ip refuses private ones) and 127.0.0.25 the public one the guard lets through.
A trap server on 127.0.0.1 counts every connection it gets: it must get none.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import trustme

from engine.addresses import is_public_ip
from engine.service.pinning import AddressRefused, PinnedTransport
from engine.service.store import Store
from engine.service.webhooks import STANDARD, Outbox
from tests.loopback.ports import free_port
from tests.service.receiver import Receiver, receiving

PUBLIC, INTERNAL = "127.0.0.25", "127.0.0.1"
NAME = "hooks.rebind.test"  # no system resolver knows it: only the test's resolver answers


def allow(ip: str) -> bool:
    return ip != INTERNAL


@dataclass
class Rebinding:
    """A resolver that answers the public-looking address first, then the internal one."""

    answers: list[list[str]] = field(default_factory=lambda: [[PUBLIC], [INTERNAL]])
    asked: list[str] = field(default_factory=list)

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        return self.answers[min(len(self.asked) - 1, len(self.answers) - 1)]


@dataclass
class Trap:
    connections: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        writer.close()


@contextlib.asynccontextmanager
async def trap_and_receiver() -> AsyncIterator[tuple[Trap, Receiver]]:
    port = free_port([PUBLIC, INTERNAL])
    trap = Trap()
    server = await asyncio.start_server(trap.handle, INTERNAL, port)
    try:
        async with receiving(host=PUBLIC, port=port) as receiver:
            yield trap, receiver
    finally:
        server.close()
        await server.wait_closed()


async def test_one_send_resolves_once_and_the_second_answer_is_never_used() -> None:
    resolver = Rebinding()
    async with trap_and_receiver() as (trap, receiver):
        transport = PinnedTransport(allow=allow, resolve=resolver, trust_env=False)
        async with httpx.AsyncClient(transport=transport, trust_env=False) as client:
            url = f"http://{NAME}:{receiver.port}/hook"
            reply = await client.post(url, content=b'{"n":1}')
            assert reply.status_code == 200
            assert resolver.asked == [NAME]  # one lookup: vetted, then connected to
            assert len(receiver.received) == 1
            assert receiver.received[0].headers["host"] == f"{NAME}:{receiver.port}"
            # The next lookup answers the internal address: refused before any connection.
            with pytest.raises(AddressRefused, match=r"127\.0\.0\.1"):
                await client.post(url, content=b'{"n":2}')
            assert resolver.asked == [NAME, NAME]
    assert trap.connections == 0
    assert len(receiver.received) == 1


async def test_a_name_with_any_refused_address_is_refused_whole() -> None:
    resolver = Rebinding(answers=[[PUBLIC, INTERNAL]])
    async with trap_and_receiver() as (trap, receiver):
        transport = PinnedTransport(allow=allow, resolve=resolver, trust_env=False)
        async with httpx.AsyncClient(transport=transport, trust_env=False) as client:
            with pytest.raises(AddressRefused):
                await client.post(f"http://{NAME}:{receiver.port}/hook", content=b"{}")
            # An address in the URL is vetted as it is, with no lookup.
            with pytest.raises(AddressRefused):
                await client.post(f"http://{INTERNAL}:{receiver.port}/hook", content=b"{}")
            # The real policy refuses loopback outright.
            strict = PinnedTransport(allow=is_public_ip, resolve=Rebinding(), trust_env=False)
            async with httpx.AsyncClient(transport=strict, trust_env=False) as guarded:
                with pytest.raises(AddressRefused):
                    await guarded.post(f"http://{NAME}:{receiver.port}/hook", content=b"{}")
    assert trap.connections == 0 and receiver.received == []


@contextlib.asynccontextmanager
async def tls_receiver(cert_for: str, ca: trustme.CA) -> AsyncIterator[tuple[Receiver, list[str]]]:
    names: list[str] = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(cert_for).configure_cert(context)
    context.sni_callback = lambda sock, name, ctx: names.append(str(name)) or None
    receiver = Receiver(host=PUBLIC)
    server = await asyncio.start_server(receiver._handle, PUBLIC, 0, ssl=context)
    receiver.port = server.sockets[0].getsockname()[1]
    try:
        yield receiver, names
    finally:
        server.close()
        await server.wait_closed()


async def test_tls_is_checked_against_the_name_not_the_pinned_address() -> None:
    ca = trustme.CA()
    trusted = ssl.create_default_context()
    ca.configure_trust(trusted)
    async with tls_receiver(NAME, ca) as (receiver, names):
        transport = PinnedTransport(allow=allow, resolve=Rebinding(), verify=trusted)
        async with httpx.AsyncClient(transport=transport, trust_env=False) as client:
            reply = await client.post(f"https://{NAME}:{receiver.port}/hook", content=b"{}")
        assert reply.status_code == 200
        assert names == [NAME]  # the SNI named the host, though the socket went to an address
        assert receiver.received[0].headers["host"] == f"{NAME}:{receiver.port}"
    # A certificate for another name fails, as it would without pinning.
    async with tls_receiver("other.test", ca) as (receiver, _):
        transport = PinnedTransport(allow=allow, resolve=Rebinding(), verify=trusted)
        async with httpx.AsyncClient(transport=transport, trust_env=False) as client:
            with pytest.raises(httpx.ConnectError, match=r"(?i)certificate|hostname"):
                await client.post(f"https://{NAME}:{receiver.port}/hook", content=b"{}")
        assert receiver.received == []


async def test_the_outbox_sends_where_it_vetted_and_gives_up_on_a_refused_address(
    tmp_path: Path,
) -> None:
    resolver = Rebinding(answers=[[PUBLIC], [INTERNAL]])
    store = Store(tmp_path)
    async with trap_and_receiver() as (trap, receiver):
        outbox = Outbox(
            store,
            backoff_s=(0.01,),
            timeout_s=5.0,
            allow_private=False,
            resolve=resolver,
            address_allowed=allow,
        )
        outbox.start()
        try:
            url = f"http://{NAME}:{receiver.port}/hook"
            for job in ("first", "second"):
                await outbox.enqueue(
                    job_id=job, event="job.completed", url=url, signing=STANDARD,
                    secret=None, payload='{"n":1}',
                )  # fmt: skip
            log: list[dict[str, object]] = []
            for _ in range(400):
                log = [d for job in ("first", "second") for d in await store.deliveries_of(job)]
                if all(d["state"] != "pending" for d in log):
                    break
                await asyncio.sleep(0.02)
        finally:
            await outbox.aclose()
            await store.aclose()
    assert [d["state"] for d in log] == ["delivered", "failed"]
    refused = log[1]["attempts"]
    assert isinstance(refused, list) and len(refused) == 1  # no retry of a refused address
    assert "private or loopback" in str(refused[0]["error"])
    assert resolver.asked == [NAME, NAME]
    assert trap.connections == 0 and len(receiver.received) == 1
