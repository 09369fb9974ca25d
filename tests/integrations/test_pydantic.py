"""engine.integrations.pydantic on the loopback world: VerifiedEmail and email_check()."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from pydantic import BaseModel, ValidationError

from engine.integrations.pydantic import Policy, SharedVerifier, VerifiedEmail, email_check
from tests.integrations.examples.pydantic_models import Invitation, Signup, signup_async
from tests.integrations.world import (
    CATCH_ALL,
    DELIVERABLE,
    DISPOSABLE,
    NO_SUCH_USER,
    NOT_AN_ADDRESS,
    ROLE,
    SLOW,
    TYPO,
    World,
)


def _error(model: type[BaseModel], data: dict[str, str], verifier: SharedVerifier) -> Any:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data, context={"mailprobe": verifier})
    (error,) = caught.value.errors()
    return error


def test_a_deliverable_address_is_accepted_and_normalized(shared: SharedVerifier) -> None:
    signup = Signup.model_validate(
        {"name": "Alice", "email": "alice@SHOP.Test"}, context={"mailprobe": shared}
    )
    assert signup.email == DELIVERABLE


def test_an_undeliverable_address_raises_pydantics_own_error(shared: SharedVerifier) -> None:
    error = _error(Signup, {"name": "Nobody", "email": NO_SUCH_USER}, shared)
    assert error["type"] == "email_undeliverable"
    assert error["loc"] == ("email",)
    assert error["ctx"]["reason"] == "MailboxDoesNotExist"
    assert error["msg"] == "This email address cannot receive mail (MailboxDoesNotExist)."


def test_the_error_offers_the_typo_suggestion(shared: SharedVerifier) -> None:
    error = _error(Signup, {"name": "Jane", "email": TYPO}, shared)
    assert error["ctx"]["suggestion"] == "jane@yahoo.com"
    assert error["msg"].endswith("Did you mean jane@yahoo.com?")


def test_bad_syntax_is_refused_with_its_reason(shared: SharedVerifier) -> None:
    error = _error(Signup, {"name": "Jane", "email": NOT_AN_ADDRESS}, shared)
    assert (error["type"], error["ctx"]["reason"]) == ("email_undeliverable", "AtSignNotFound")


def test_risky_and_unknown_pass_the_default_policy(
    shared: SharedVerifier, hasty: SharedVerifier
) -> None:
    risky = Signup.model_validate({"name": "A", "email": CATCH_ALL}, context={"mailprobe": shared})
    assert risky.email == CATCH_ALL
    # The tarpit outlasts the time limit: unknown / Timeout, which the default policy accepts.
    slow = Signup.model_validate({"name": "C", "email": SLOW}, context={"mailprobe": hasty})
    assert slow.email == SLOW


def test_a_stricter_policy_refuses_disposable_and_role_addresses(shared: SharedVerifier) -> None:
    assert _error(Invitation, {"email": DISPOSABLE}, shared)["type"] == "email_disposable"
    assert _error(Invitation, {"email": ROLE}, shared)["type"] == "email_role"
    invited = Invitation.model_validate({"email": CATCH_ALL}, context={"mailprobe": shared})
    assert invited.email == CATCH_ALL


def test_refusing_unknown_refuses_the_time_limits_fallback(hasty: SharedVerifier) -> None:
    class Strict(BaseModel):
        email: Annotated[str, email_check(Policy(reject_unknown=True), verifier=hasty)]

    with pytest.raises(ValidationError) as caught:
        Strict(email=SLOW)
    (error,) = caught.value.errors()
    assert (error["type"], error["ctx"]["reason"]) == ("email_unknown", "Timeout")


def test_the_context_verifier_wins_over_the_given_one(shared: SharedVerifier, world: World) -> None:
    offline = SharedVerifier(world.settings(offline=True))

    class Given(BaseModel):
        email: Annotated[str, email_check(verifier=offline)]

    try:
        assert Given(email=NO_SUCH_USER).email == NO_SUCH_USER  # offline: not probed
        assert _error(Given, {"email": NO_SUCH_USER}, shared)["type"] == "email_undeliverable"
    finally:
        offline.close()


async def test_inside_a_running_loop_the_validator_answers_offline_without_blocking(
    shared: SharedVerifier,
) -> None:
    address = "async-signup@shop.test"  # no such user
    data = {"name": "Eve", "email": address}
    # Validated synchronously in this loop: not probed yet, so not refused yet.
    assert Signup.model_validate(data, context={"mailprobe": shared}).email == address
    # The async path awaits the full check first, and the validator uses its result.
    with pytest.raises(ValidationError) as caught:
        await signup_async(data, shared)
    assert caught.value.errors()[0]["ctx"]["reason"] == "MailboxDoesNotExist"


async def test_the_async_path_accepts_a_deliverable_address(shared: SharedVerifier) -> None:
    signup = await signup_async({"name": "Alice", "email": DELIVERABLE}, shared)
    assert signup.email == DELIVERABLE


def test_json_schema_says_email() -> None:
    class Form(BaseModel):
        email: VerifiedEmail

    schema = Form.model_json_schema()["properties"]["email"]
    assert (schema["type"], schema["format"]) == ("string", "email")
