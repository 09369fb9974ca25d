"""engine.integrations.django with Django's own test Client, on the loopback world.

Django is configured here, once for the process, with the example app's URLs; each test sets
MAILPROBE (the example settings plus where the loopback world listens) with override_settings.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import django
import pytest
from django.conf import settings

if not settings.configured:
    settings.configure(
        ROOT_URLCONF="tests.integrations.examples.django_app",
        ALLOWED_HOSTS=["testserver"],
        SECRET_KEY="only-for-these-tests",
        MAILPROBE={"OFFLINE": True},
    )
    django.setup()

from django.core.exceptions import ImproperlyConfigured
from django.test import AsyncClient, Client, override_settings

from engine.integrations._shared import close_shared
from engine.integrations.django import EmailVerificationValidator, verifier
from tests.integrations.examples import django_settings
from tests.integrations.examples.django_app import SignupForm
from tests.integrations.world import (
    DELIVERABLE,
    DISPOSABLE,
    NO_SUCH_USER,
    SHORT_TIMEOUT_S,
    SLOW,
    TYPO,
    World,
)


@pytest.fixture
def mailprobe(world: World) -> Iterator[dict[str, Any]]:
    """The example's MAILPROBE, pointed at the loopback world."""
    mapping = {**django_settings.MAILPROBE, **world.mapping()}
    with override_settings(MAILPROBE=mapping):
        yield mapping
    close_shared()


def _signup(client: Client, email: str, url: str = "/signup") -> tuple[int, dict[str, Any]]:
    response = client.post(url, {"name": "Jane", "email": email})
    return response.status_code, response.json()


def _error(body: dict[str, Any]) -> dict[str, Any]:
    (error,) = body["errors"]["email"]
    return error  # type: ignore[no-any-return]


@pytest.mark.usefixtures("mailprobe")
def test_sync_view_accepts_a_deliverable_address() -> None:
    status, body = _signup(Client(), "alice@Shop.TEST")
    assert status == 201
    assert body == {"email": DELIVERABLE, "state": "deliverable", "reason": "Success"}


@pytest.mark.usefixtures("mailprobe")
def test_sync_view_refuses_an_undeliverable_address_with_the_reason() -> None:
    status, body = _signup(Client(), NO_SUCH_USER)
    assert status == 422
    assert _error(body) == {
        "code": "email_undeliverable",
        "message": "This email address cannot receive mail (MailboxDoesNotExist).",
    }


@pytest.mark.usefixtures("mailprobe")
def test_the_error_offers_the_typo_suggestion() -> None:
    _, body = _signup(Client(), TYPO)
    assert _error(body)["message"].endswith("Did you mean jane@yahoo.com?")


@pytest.mark.usefixtures("mailprobe")
def test_the_settings_policy_refuses_disposable_addresses() -> None:
    status, body = _signup(Client(), DISPOSABLE)
    assert (status, _error(body)["code"]) == (422, "email_disposable")


@pytest.mark.usefixtures("mailprobe")
def test_djangos_own_email_check_comes_first() -> None:
    status, body = _signup(Client(), "jane@")
    assert (status, _error(body)["code"]) == (422, "invalid")


@pytest.mark.usefixtures("mailprobe")
def test_async_view_runs_the_check_off_the_loop_and_refuses() -> None:
    status, body = _signup(Client(), "async-view@shop.test", url="/signup-async")
    assert (status, _error(body)["code"]) == (422, "email_undeliverable")


@pytest.mark.usefixtures("mailprobe")
async def test_async_client_and_async_view_get_the_full_verdict() -> None:
    response = await AsyncClient().post("/signup-async", {"name": "Jane", "email": DELIVERABLE})
    assert response.status_code == 201
    assert response.json()["state"] == "deliverable"
    response = await AsyncClient().post("/signup-async", {"name": "Jo", "email": NO_SUCH_USER})
    assert response.status_code == 422


@pytest.mark.usefixtures("mailprobe")
async def test_a_form_validated_inside_the_loop_answers_offline_without_blocking() -> None:
    # Not the way to do it (see the async view), but it must not stall the loop.
    form = SignupForm({"name": "Jane", "email": "in-loop-form@shop.test"})
    assert form.is_valid()
    result = form.fields["email"].result
    assert (result.state.value, result.reason.value) == ("unknown", "NotChecked")


def test_the_time_limit_falls_back_to_the_offline_verdict(mailprobe: dict[str, Any]) -> None:
    with override_settings(MAILPROBE={**mailprobe, "TIMEOUT": SHORT_TIMEOUT_S}):
        status, body = _signup(Client(), SLOW)
    assert status == 201  # unknown is accepted by default
    assert body == {"email": SLOW, "state": "unknown", "reason": "Timeout"}


def test_offline_mode_checks_without_the_network(world: World) -> None:
    before = len(world.commands())
    with override_settings(MAILPROBE={"OFFLINE": True}):
        status, body = _signup(Client(), "offline@shop.test")
        assert (status, body["reason"]) == (201, "NotChecked")
        status, body = _signup(Client(), "jane@yaho.com")
        assert (status, body["reason"]) == (201, "NotChecked")  # not refused without DNS
    assert len(world.commands()) == before
    close_shared()


def test_the_validator_deconstructs_for_migrations() -> None:
    validator = EmailVerificationValidator(reject_role=True)
    path, args, kwargs = validator.deconstruct()
    assert path == "engine.integrations.django.EmailVerificationValidator"
    assert (args, kwargs) == ((), {"reject_role": True})
    assert EmailVerificationValidator(**kwargs) == validator
    assert validator != EmailVerificationValidator()


def test_one_shared_verifier_per_settings() -> None:
    with override_settings(MAILPROBE={"OFFLINE": True, "TIMEOUT": 2}):
        first = verifier()
        assert verifier() is first
    with override_settings(MAILPROBE={"OFFLINE": True, "TIMEOUT": 3}):
        assert verifier() is not first
    close_shared()


def test_a_mistyped_setting_is_an_improper_configuration() -> None:
    with override_settings(MAILPROBE={"TIMEOUTT": 5}), pytest.raises(ImproperlyConfigured):
        verifier()
