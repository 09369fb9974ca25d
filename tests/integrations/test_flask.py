"""engine.integrations.flask with Flask's test client, on the loopback world."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.integrations._shared import close_shared
from engine.integrations.flask import Mailprobe, Policy
from tests.integrations.examples.flask_app import create_app, mailprobe
from tests.integrations.world import (
    DELIVERABLE,
    DISPOSABLE,
    NO_SUCH_USER,
    ROLE,
    SHORT_TIMEOUT_S,
    SLOW,
    TYPO,
    World,
)


@pytest.fixture
def app(world: World) -> Iterator[Flask]:
    yield create_app(world.mapping())
    close_shared()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _post(client: FlaskClient, email: str, url: str = "/signup") -> tuple[int, Any]:
    response = client.post(url, data={"email": email})
    return response.status_code, response.get_json()


@pytest.mark.parametrize("url", ["/signup", "/signup-async"])
def test_a_deliverable_address_is_accepted(client: FlaskClient, url: str) -> None:
    assert _post(client, "alice@Shop.TEST", url) == (
        201,
        {"email": DELIVERABLE, "state": "deliverable"},
    )


@pytest.mark.parametrize("url", ["/signup", "/signup-async"])
def test_an_undeliverable_address_is_refused_with_the_reason(client: FlaskClient, url: str) -> None:
    assert _post(client, NO_SUCH_USER, url) == (
        422,
        {
            "error": "email_undeliverable",
            "message": "This email address cannot receive mail (MailboxDoesNotExist).",
        },
    )


def test_the_message_offers_the_typo_suggestion(client: FlaskClient) -> None:
    _, body = _post(client, TYPO)
    assert body["message"].endswith("Did you mean jane@yahoo.com?")


def test_the_config_sets_the_policy(world: World) -> None:
    strict = create_app(world.mapping(REJECT_ROLE=True)).test_client()
    assert _post(strict, ROLE)[1]["error"] == "email_role"
    assert _post(strict, DISPOSABLE)[0] == 201  # risky, but not refused by this policy
    close_shared()


def test_the_time_limit_falls_back_and_unknown_is_accepted(world: World) -> None:
    hasty = create_app(world.mapping(TIMEOUT=SHORT_TIMEOUT_S)).test_client()
    for url in ("/signup", "/signup-async"):
        assert _post(hasty, SLOW, url) == (201, {"email": SLOW, "state": "unknown"})
    with hasty.application.app_context():
        result = mailprobe.verifier.check(SLOW)
    assert result.reason.value == "Timeout"
    close_shared()


def test_offline_mode_checks_without_the_network(world: World) -> None:
    before = len(world.commands())
    offline = create_app({"OFFLINE": True}).test_client()
    assert _post(offline, "offline@shop.test") == (
        201,
        {"email": "offline@shop.test", "state": "unknown"},
    )
    assert _post(offline, "jane@")[1]["error"] == "email_undeliverable"
    assert len(world.commands()) == before
    close_shared()


def test_apps_with_the_same_settings_share_one_verifier(world: World, app: Flask) -> None:
    other = create_app(world.mapping())
    with app.app_context():
        first = mailprobe.verifier
    with other.app_context():
        assert mailprobe.verifier is first


def test_settings_and_policy_given_to_the_extension_win(world: World) -> None:
    app = Flask(__name__)
    app.config["MAILPROBE"] = {"OFFLINE": True}
    extension = Mailprobe(app, settings=world.settings(), policy=Policy(reject_risky=True))
    with app.app_context():
        verdict = extension.check(DISPOSABLE)
        assert verdict.rejection is not None and verdict.rejection.code == "email_risky"
        assert extension.check(DELIVERABLE).result.state.value == "deliverable"
    close_shared()


def test_a_mistyped_setting_is_refused_at_init() -> None:
    app = Flask(__name__)
    app.config["MAILPROBE"] = {"TIMEOUTT": 5}
    with pytest.raises(ValueError, match="TIMEOUTT"):
        Mailprobe(app)


def test_checking_without_init_app_says_so() -> None:
    with Flask(__name__).app_context(), pytest.raises(RuntimeError, match="init_app"):
        Mailprobe().check(DELIVERABLE)
