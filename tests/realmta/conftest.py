"""Fixtures for the real-server tier: one PostfixWorld (three Postfix, one postgrey) per session.

Outside CI a machine without the Debian packages (or without root) skips these tests with the
reason; with CI=true it fails instead, so a broken install step cannot pass unnoticed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.realmta.postfix_world import PostfixWorld, WorldError, missing_programs


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postfix_world() -> Iterator[PostfixWorld]:
    """Postfix on 127.0.0.70 (plain), .72 (behind postgrey on .71:10023), .73 (no SMTPUTF8)."""
    missing = missing_programs()
    if missing:
        _unavailable(f"{', '.join(missing)} not installed: run tests/realmta/install.sh")
    if os.geteuid() != 0:
        _unavailable("Postfix on port 25 needs root")
    world = PostfixWorld()
    try:
        world.start()
    except WorldError as exc:
        _unavailable(f"could not start Postfix: {exc}")
    try:
        yield world
    finally:
        world.stop()
