"""Config: every knob of the engine in one frozen value, with its documented default.

The library reads no environment variables or files for configuration; the command line builds
a Config from flags, MAILPROBE_* variables and a config file (engine/settings.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from engine.routing import Egress, Route, check_routing


class TlsPolicy(str, Enum):
    """What to do when a server offers (or does not offer) STARTTLS."""

    NEVER = "never"  # never upgrade
    OPPORTUNISTIC = "opportunistic"  # upgrade when offered (default, as MTAs do)
    REQUIRED = "required"  # a server without STARTTLS is a transient fault


@dataclass(frozen=True, slots=True, kw_only=True)
class Timeouts:
    """Seconds allowed for each step; `budget_s` caps everything spent on one address.

    `budget_s` is a hard limit on the whole check, DNS and every retry included, one by one and
    in bulk: when it ends, the Result is unknown/Timeout with what was learned. Greylisting
    retries wait `Config.greylist_delay_s`; one that cannot end within the budget is not made
    (the Result is Greylisted): with the defaults, raise `budget_s` to let it happen.
    """

    dns_s: float = 5.0  # one DNS query, per attempt
    connect_s: float = 10.0  # TCP connect to one MX address
    greeting_s: float = 30.0  # some servers hold the 220 greeting for tens of seconds
    command_s: float = 20.0  # each SMTP command (EHLO, MAIL, RCPT, RSET)
    budget_s: float = 60.0  # the whole check of one address: DNS, sessions, retries, waits

    def __post_init__(self) -> None:
        for name in ("dns_s", "connect_s", "greeting_s", "command_s", "budget_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"Timeouts.{name} must be > 0")


@dataclass(frozen=True, slots=True, kw_only=True)
class Politeness:
    """Limits that keep mailprobe from hammering anybody's mail server."""

    sessions_per_host: int = 2  # concurrent SMTP sessions to one MX host
    sessions_per_provider: int = 4  # concurrent sessions to one provider (google, microsoft...)
    sessions_total: int = 50  # concurrent SMTP sessions overall
    connections_per_minute_per_host: int = 30  # new connections to one MX host a minute; 0: no cap
    rcpts_per_transaction: int = 50  # RCPT TO commands in one MAIL FROM transaction
    transactions_per_session: int = 10  # MAIL FROM transactions in one connection (RSET between)
    # Rejected RCPTs per session: groups are sized so the expected count stays within
    # `errors_per_session` (Postfix slows down past 10) and even the worst case, every RCPT of
    # a group refused, within `max_errors_per_session` (Postfix hangs up at 20).
    errors_per_session: int = 8
    max_errors_per_session: int = 18
    backoff_base_s: float = 5.0  # first back-off after a 421 or a burst of 4xx; doubles each time
    backoff_max_s: float = 300.0

    def __post_init__(self) -> None:
        for name in (
            "sessions_per_host",
            "sessions_per_provider",
            "sessions_total",
            "rcpts_per_transaction",
            "transactions_per_session",
            "errors_per_session",
            "max_errors_per_session",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"Politeness.{name} must be >= 1")
        if self.connections_per_minute_per_host < 0:
            raise ValueError("Politeness.connections_per_minute_per_host must be >= 0 (0: no cap)")
        if self.max_errors_per_session < self.errors_per_session:
            raise ValueError("Politeness.max_errors_per_session must be >= errors_per_session")


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    """Everything the engine can be told. Change a copy with `dataclasses.replace`."""

    # Stages
    check_dns: bool = True  # False: syntax, typos and flags only (the CLI's --offline)
    check_smtp: bool = True  # False: stop after DNS
    clean: bool = False  # strip mailto:, <>, stray punctuation and spaces before parsing
    disposable_is_risky: bool = True  # disposable domains -> risky / DomainIsWellKnownDea
    suggest_typos: bool = True

    # DNS
    nameservers: tuple[str, ...] | None = None  # None: the system's resolver configuration
    dns_port: int = 53
    dns_attempts: int = 2  # tries per query before the outcome is transient
    prefer_ipv6: bool = False  # order of a host's addresses: IPv4 first by default
    max_mx_hosts: int = 5  # MX hosts used per domain (bounded cost for hostile zones)
    max_addresses: int = 10  # addresses used per domain across all MX hosts
    dns_ttl_min_s: float = 60.0  # cached answers live at least this long...
    dns_ttl_max_s: float = 3600.0  # ...and at most this long
    dns_negative_ttl_s: float = 900.0  # NXDOMAIN / no-MX answers
    dns_transient_ttl_s: float = 5.0  # SERVFAIL / timeouts are cached only this long

    # SMTP
    smtp_port: int = 25
    helo_name: str | None = None  # None: this machine's FQDN
    mail_from: str | None = None  # None: "verify@" + helo_name
    starttls: TlsPolicy = TlsPolicy.OPPORTUNISTIC
    verify_certificates: bool = False  # MTAs do not verify each other's certificates by default
    detect_catch_all: bool = True
    greylist_retry: bool = True  # only when the retry fits in Timeouts.budget_s
    greylist_delay_s: float = 60.0  # wait before the one greylisting retry
    transient_retries: int = 2  # retries on the next MX after a transient failure
    retry_backoff_s: float = 1.0  # first back-off between those retries; doubles

    # Egress: how sessions leave this machine (engine.routing). No egresses: directly, with
    # helo_name and mail_from. Routes send providers or MX patterns to egresses; a host no
    # route matches goes to every egress in turn. Politeness limits hold per egress.
    egresses: tuple[Egress, ...] = ()
    routes: tuple[Route, ...] = ()

    # Safety
    # SSRF guard; tests and intranets opt in. Also leaves .local names to DNS (RFC 6762 §3).
    allow_private_addresses: bool = False

    timeouts: Timeouts = field(default_factory=Timeouts)
    politeness: Politeness = field(default_factory=Politeness)

    # Cache (bulk runs)
    cache_path: Path | None = None  # None: no persistent cache
    cache_positive_ttl_s: float = 31 * 86400.0  # as Postfix's address_verify_positive_expire_time
    cache_negative_ttl_s: float = 3 * 86400.0  # as Postfix's address_verify_negative_expire_time

    # Data
    data_dir: Path | None = None  # None: the lists shipped inside the package

    def __post_init__(self) -> None:
        if not 0 < self.smtp_port < 65536 or not 0 < self.dns_port < 65536:
            raise ValueError("ports must be in 1..65535")
        if self.dns_attempts < 1 or self.max_mx_hosts < 1 or self.max_addresses < 1:
            raise ValueError("dns_attempts, max_mx_hosts and max_addresses must be >= 1")
        if self.transient_retries < 0:
            raise ValueError("transient_retries must be >= 0")
        if self.dns_ttl_min_s < 0 or self.dns_ttl_max_s < self.dns_ttl_min_s:
            raise ValueError("need 0 <= dns_ttl_min_s <= dns_ttl_max_s")
        if self.greylist_delay_s < 0 or self.retry_backoff_s < 0:
            raise ValueError("delays must be >= 0")
        for text in (self.helo_name, self.mail_from):
            if text is not None and any(c in text for c in "\r\n\0 "):
                raise ValueError("helo_name and mail_from must not contain spaces, CR, LF or NUL")
        check_routing(self.egresses, self.routes)


OFFLINE = Config(check_dns=False, check_smtp=False)
