"""Fixtures for the web-framework integrations: one loopback mail world for the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integrations.world import World, running_world


@pytest.fixture(scope="session")
def world() -> Iterator[World]:
    with running_world() as started:
        yield started
    for server in started.servers:
        assert "DATA" not in server.stats.verbs(), f"DATA reached {server.host}"
