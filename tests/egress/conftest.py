"""Fixtures for the egress tests: real Dante and microsocks proxies on 127.0.0.3x, one of each
kind per test session, each stopped by pid at the end.

A machine without the Debian packages skips these tests with the reason; with CI=true it fails
instead, so a missing install step cannot pass unnoticed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.egress.proxies import (
    DANTE_USER,
    Dante,
    MicroSocks,
    ProxyError,
    can_manage_users,
    missing_programs,
    system_user,
)
from tests.loopback.ports import free_port

DANTE_HOST = "127.0.0.31"
DANTE_AUTH_HOST = "127.0.0.32"
MICROSOCKS_HOST = "127.0.0.33"
DANTE_PASSWORD = "dante-Pw-7"
MICRO_USER = "mp"
MICRO_PASSWORD = "micro-Pw-9"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


@dataclass(frozen=True)
class Proxies:
    """The running proxies and the one SMTP port every loopback mail server of a test shares."""

    dante: Dante  # no auth; port `forbidden_port` blocked by rule
    micro: MicroSocks  # user MICRO_USER / MICRO_PASSWORD
    forbidden_port: int


@pytest.fixture(scope="session")
def proxies(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxies]:
    missing = missing_programs()
    if missing:
        _unavailable(f"{', '.join(missing)} not installed: run tests/egress/install.sh")
    if os.geteuid() != 0:
        _unavailable("danted needs root (user.privileged: root)")
    base = tmp_path_factory.mktemp("proxies")
    forbidden = free_port([DANTE_HOST])
    dante = Dante(
        DANTE_HOST, free_port([DANTE_HOST]), Path(base, "dante"), forbidden_port=forbidden
    )
    micro = MicroSocks(
        MICROSOCKS_HOST,
        free_port([MICROSOCKS_HOST]),
        Path(base, "micro"),
        user=MICRO_USER,
        password=MICRO_PASSWORD,
    )
    started: list[Dante | MicroSocks] = []
    try:
        for proxy in (dante, micro):
            proxy.start()
            started.append(proxy)
    except ProxyError as exc:
        for proxy in started:
            proxy.stop()
        _unavailable(f"could not start a proxy: {exc}")
    try:
        yield Proxies(dante=dante, micro=micro, forbidden_port=forbidden)
    finally:
        for proxy in started:
            proxy.stop()


@pytest.fixture(scope="session")
def dante_auth(tmp_path_factory: pytest.TempPathFactory, proxies: Proxies) -> Iterator[Dante]:
    """Dante with the `username` method, checking a system account made for the session."""
    if not can_manage_users():
        _unavailable("Dante's username method needs a system account: root and useradd")
    dante = Dante(
        DANTE_AUTH_HOST,
        free_port([DANTE_AUTH_HOST]),
        tmp_path_factory.mktemp("dante-auth"),
        username_auth=True,
    )
    with system_user(DANTE_USER, DANTE_PASSWORD):
        try:
            dante.start()
        except ProxyError as exc:
            _unavailable(f"could not start Dante with username auth: {exc}")
        try:
            yield dante
        finally:
            dante.stop()
