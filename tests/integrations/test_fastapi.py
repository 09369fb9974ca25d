"""engine.integrations.fastapi with FastAPI's TestClient, on the loopback world."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError

from engine.integrations.fastapi import Settings, SharedVerifier, VerifierDep
from tests.integrations.examples.fastapi_app import create_app
from tests.integrations.examples.pydantic_models import Signup, signup_async
from tests.integrations.world import (
    CATCH_ALL,
    DELIVERABLE,
    DISPOSABLE,
    NO_SUCH_USER,
    ROLE,
    SHORT_TIMEOUT_S,
    SLOW,
    TYPO,
    World,
)


def _with_model_routes(app: FastAPI) -> FastAPI:
    """Routes that validate the pydantic example inside endpoints, sync and async."""

    @app.post("/signup-in-loop")
    async def in_loop(data: dict[str, str], verifier: VerifierDep) -> dict[str, Any]:
        # Validated synchronously inside the running loop: answers without waiting.
        try:
            Signup.model_validate(data, context={"mailprobe": verifier})
        except ValidationError as exc:
            return {"refused": exc.errors()[0]["type"]}
        return {"accepted": True}

    @app.post("/signup-awaited")
    async def awaited(data: dict[str, str], verifier: VerifierDep) -> dict[str, Any]:
        try:
            await signup_async(data, verifier)
        except ValidationError as exc:
            return {"refused": exc.errors()[0]["type"]}
        return {"accepted": True}

    @app.post("/signup-thread")
    def in_thread(data: dict[str, str], verifier: VerifierDep) -> dict[str, Any]:
        # A `def` endpoint runs in FastAPI's thread pool: no loop there, the check waits.
        try:
            Signup.model_validate(data, context={"mailprobe": verifier})
        except ValidationError as exc:
            return {"refused": exc.errors()[0]["type"]}
        return {"accepted": True}

    return app


def _client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(_with_model_routes(create_app(settings))) as client:
        yield client


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    yield from _client(world.settings())


@pytest.fixture
def hasty_client(world: World) -> Iterator[TestClient]:
    yield from _client(world.settings(timeout_s=SHORT_TIMEOUT_S))


def test_email_check_accepts_with_the_state(client: TestClient) -> None:
    response = client.get("/email-check", params={"email": DELIVERABLE})
    assert response.status_code == 200
    assert response.json() == {"state": "deliverable", "did_you_mean": None}
    assert client.get("/email-check", params={"email": CATCH_ALL}).json()["state"] == "risky"


def test_email_check_refuses_with_fastapis_error_shape(client: TestClient) -> None:
    response = client.get("/email-check", params={"email": TYPO})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error == {
        "type": "email_undeliverable",
        "loc": ["query", "email"],
        "msg": "This email address cannot receive mail (DomainIsInexistent)."
        " Did you mean jane@yahoo.com?",
        "input": TYPO,
        "ctx": {
            "reason": "DomainIsInexistent",
            "state": "undeliverable",
            "email": TYPO,
            "suggestion": "jane@yahoo.com",
        },
    }


def test_a_missing_parameter_is_fastapis_own_422(client: TestClient) -> None:
    response = client.get("/email-check")
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "missing"


def test_body_check_with_a_stricter_policy(client: TestClient) -> None:
    created = client.post("/accounts", json={"name": "Alice", "email": "alice@SHOP.test"})
    assert (created.status_code, created.json()) == (201, {"name": "Alice", "email": DELIVERABLE})
    for email, code in ((DISPOSABLE, "email_disposable"), (ROLE, "email_role")):
        refused = client.post("/accounts", json={"name": "X", "email": email})
        assert refused.status_code == 422
        (error,) = refused.json()["detail"]
        assert (error["type"], error["loc"]) == (code, ["body", "email"])


def test_the_time_limit_falls_back_and_unknown_is_accepted(hasty_client: TestClient) -> None:
    response = hasty_client.get("/verify", params={"email": SLOW})
    assert (response.json()["state"], response.json()["reason"]) == ("unknown", "Timeout")
    assert hasty_client.get("/email-check", params={"email": SLOW}).status_code == 200


def test_the_lifespan_keeps_one_verifier_for_every_request(world: World) -> None:
    app = create_app(world.settings())
    with TestClient(app) as client:
        verifier = app.state.mailprobe
        assert isinstance(verifier, SharedVerifier)
        client.get("/email-check", params={"email": "lifespan@shop.test"})
        client.get("/email-check", params={"email": "lifespan@shop.test"})
        assert verifier.cache.get("lifespan@shop.test") is not None
        assert app.state.mailprobe is verifier


def test_a_model_validated_inside_an_async_endpoint_never_waits(client: TestClient) -> None:
    data = {"name": "Eve", "email": "model-in-loop@shop.test"}  # no such user
    # In the loop: not probed yet, so accepted for now (unknown is accepted)...
    assert client.post("/signup-in-loop", json=data).json() == {"accepted": True}
    # ...awaiting the check first gets the full verdict into the cache.
    assert client.post("/signup-awaited", json=data).json() == {"refused": "email_undeliverable"}
    assert client.post("/signup-in-loop", json=data).json() == {"refused": "email_undeliverable"}


def test_a_model_validated_in_a_def_endpoint_waits_for_the_probe(client: TestClient) -> None:
    data = {"name": "Nobody", "email": NO_SUCH_USER}
    assert client.post("/signup-thread", json=data).json() == {"refused": "email_undeliverable"}
    ok = {"name": "Alice", "email": DELIVERABLE}
    assert client.post("/signup-thread", json=ok).json() == {"accepted": True}
