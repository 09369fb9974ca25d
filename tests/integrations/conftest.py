"""Fixtures for the web-framework integrations: one loopback mail world for the session, and
shared verifiers pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.integrations._shared import SharedVerifier
from tests.integrations.world import SHORT_TIMEOUT_S, World, running_world


@pytest.fixture(scope="session")
def world() -> Iterator[World]:
    with running_world() as started:
        yield started
    for server in started.servers:
        assert "DATA" not in server.stats.verbs(), f"DATA reached {server.host}"


@pytest.fixture
def shared(world: World) -> Iterator[SharedVerifier]:
    """A shared verifier with a time limit the world's working servers never approach."""
    verifier = SharedVerifier(world.settings())
    yield verifier
    verifier.close()


@pytest.fixture
def hasty(world: World) -> Iterator[SharedVerifier]:
    """A shared verifier with a time limit the tarpit always exceeds."""
    verifier = SharedVerifier(world.settings(timeout_s=SHORT_TIMEOUT_S))
    yield verifier
    verifier.close()
