"""The loopback mail world the integration tests verify against, on 127.0.12.x.

shop.test has alice@ and info@ (a role address) and rejects unknown users; catchall.test
accepts anything; mailinator.com is on the disposable list (and so never probed); slow.test's
server accepts the connection and never answers (a tarpit), to show the time limit at work;
yahoo.com exists so that the typo suggestion for yaho.com is kept. Nothing else is reachable.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

from engine.config import Config, Politeness
from engine.integrations._shared import Settings
from engine.localworld.dns import LocalDnsServer
from engine.localworld.smtp import LoopbackServer, MailboxServer, TarpitServer
from tests.loopback.ports import free_port

DNS_IP = "127.0.12.53"
SHOP_IP, CATCH_ALL_IP, DISPOSABLE_IP, SLOW_IP = (
    "127.0.12.10",
    "127.0.12.11",
    "127.0.12.12",
    "127.0.12.13",
)

DELIVERABLE = "alice@shop.test"
ROLE = "info@shop.test"
NO_SUCH_USER = "nobody@shop.test"
CATCH_ALL = "anyone@catchall.test"
DISPOSABLE = "bob@mailinator.com"
SLOW = "carol@slow.test"
TYPO = "jane@yaho.com"  # no such domain; did you mean jane@yahoo.com?
NOT_AN_ADDRESS = "jane.example.com"

# A time limit the tarpit always exceeds and the other servers never approach: they answer in
# milliseconds, so only a stalled machine could make them miss it.
GENEROUS_TIMEOUT_S = 30.0
SHORT_TIMEOUT_S = 0.5  # for the tarpit: the fallback is what is asserted, never a duration


def zone() -> dict[str, dict[str, object]]:
    return {
        "shop.test": {"MX": [(10, "mx.shop.test")]},
        "mx.shop.test": {"A": [SHOP_IP]},
        "catchall.test": {"MX": [(10, "mx.catchall.test")]},
        "mx.catchall.test": {"A": [CATCH_ALL_IP]},
        "mailinator.com": {"MX": [(10, "mail.mailinator.com")]},
        "mail.mailinator.com": {"A": [DISPOSABLE_IP]},
        "slow.test": {"MX": [(10, "mx.slow.test")]},
        "mx.slow.test": {"A": [SLOW_IP]},
        "yahoo.com": {"MX": [(10, "mx.shop.test")]},
    }


@dataclass(frozen=True, slots=True)
class World:
    """Where the running world listens, and its servers (their stats say what they were sent)."""

    dns_port: int
    smtp_port: int
    servers: tuple[LoopbackServer, ...]

    def config(self) -> Config:
        return Config(
            allow_private_addresses=True,  # every mail host here is on loopback
            nameservers=(DNS_IP,),
            dns_port=self.dns_port,
            smtp_port=self.smtp_port,
            helo_name="verify.mailprobe.test",
            mail_from="verify@mailprobe.test",
            greylist_retry=False,
            # Many tests, one mail host: no connection-rate wait between them.
            politeness=Politeness(connections_per_minute_per_host=10_000),
        )

    def settings(self, **changes: object) -> Settings:
        base = Settings(config=self.config(), timeout_s=GENEROUS_TIMEOUT_S)
        return dataclasses.replace(base, **changes)  # type: ignore[arg-type]

    def mapping(self, **extra: object) -> dict[str, object]:
        """The world as a framework's MAILPROBE settings dict."""
        return {"CONFIG": self.config(), "TIMEOUT": GENEROUS_TIMEOUT_S, **extra}

    def commands(self) -> list[str]:
        return [line for server in self.servers for line in server.stats.commands]


@contextlib.contextmanager
def running_world() -> Iterator[World]:
    port = free_port([SHOP_IP, CATCH_ALL_IP, DISPOSABLE_IP, SLOW_IP])
    servers: tuple[LoopbackServer, ...] = (
        MailboxServer(SHOP_IP, port, hostname="mx.shop.test", users=(DELIVERABLE, ROLE)),
        MailboxServer(
            CATCH_ALL_IP,
            port,
            hostname="mx.catchall.test",
            domains=("catchall.test",),
            catch_all=True,
        ),
        MailboxServer(
            DISPOSABLE_IP,
            port,
            hostname="mail.mailinator.com",
            domains=("mailinator.com",),
            catch_all=True,
        ),
        TarpitServer(SLOW_IP, port),
    )
    with contextlib.ExitStack() as stack:
        dns = stack.enter_context(LocalDnsServer(zone(), host=DNS_IP))
        for server in servers:
            stack.enter_context(server.running_in_thread())
        yield World(dns.port, port, servers)
