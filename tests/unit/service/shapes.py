"""Vendor shapes from tests/data/faces and the checks every face test makes against them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from engine.model import Reason, Result, State
from engine.service.faces import byteplant, emailable, kickbox, mailvalid, reacher

DATA = Path(__file__).resolve().parents[2] / "data" / "faces"

FACES: dict[str, Callable[[Result], dict[str, Any]]] = {
    "kickbox": kickbox.to_kickbox,
    "emailable": emailable.to_emailable,
    "byteplant": byteplant.to_byteplant,
    "mailvalid": mailvalid.to_mailvalid,
    "reacher": reacher.to_reacher,
}
MODULES: dict[str, ModuleType] = {
    "kickbox": kickbox,
    "emailable": emailable,
    "byteplant": byteplant,
    "mailvalid": mailvalid,
    "reacher": reacher,
}

# The README's table of states and reasons: each reason goes with exactly one state.
REASON_STATE: dict[Reason, State] = {
    Reason.SUCCESS: State.DELIVERABLE,
    Reason.SERVER_IS_CATCH_ALL: State.RISKY,
    Reason.MAILBOX_FULL: State.RISKY,
    Reason.DOMAIN_IS_WELL_KNOWN_DEA: State.RISKY,
    Reason.MAILBOX_DOES_NOT_EXIST: State.UNDELIVERABLE,
    Reason.MAILBOX_DISABLED: State.UNDELIVERABLE,
    Reason.DOMAIN_IS_INEXISTENT: State.UNDELIVERABLE,
    Reason.NO_MX_SERVERS_FOUND: State.UNDELIVERABLE,
    Reason.DOMAIN_DOES_NOT_ACCEPT_MAIL: State.UNDELIVERABLE,
    Reason.AT_SIGN_NOT_FOUND: State.UNDELIVERABLE,
    Reason.TOO_MANY_AT_SIGNS_FOUND: State.UNDELIVERABLE,
    Reason.INVALID_SYNTAX: State.UNDELIVERABLE,
    # .invalid / .localhost; .onion and .local are unknown (test_special_use_... checks those).
    Reason.SPECIAL_USE_DOMAIN: State.UNDELIVERABLE,
    Reason.SERVER_DOES_NOT_SUPPORT_INTERNATIONAL_MAILBOXES: State.UNDELIVERABLE,
    Reason.GREYLISTED: State.UNKNOWN,
    Reason.SENDER_BLOCKED: State.UNKNOWN,
    Reason.TRANSIENT_NETWORK_FAULT: State.UNKNOWN,
    Reason.MX_ADDRESS_NOT_PUBLIC: State.UNKNOWN,
    Reason.TIMEOUT: State.UNKNOWN,
    Reason.NOT_CHECKED: State.UNKNOWN,
    Reason.UNKNOWN: State.UNKNOWN,
}


def load(vendor: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / f"{vendor}.json").read_text(encoding="utf-8"))
    return data


def json_type(value: object) -> str:
    """The JSON type name of a decoded value (bool before int: bool is an int in Python)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise AssertionError(f"not a JSON value: {value!r}")


def flatten(obj: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted paths to every value, objects included (arrays are leaves)."""
    out: dict[str, Any] = {}
    for key, value in obj.items():
        path = f"{prefix}{key}"
        out[path] = value
        if isinstance(value, dict):
            out.update(flatten(value, f"{path}."))
    return out


def roundtrip(body: dict[str, Any]) -> dict[str, Any]:
    """The body as a client decodes it: the face must be plain JSON, and stay the same."""
    decoded: dict[str, Any] = json.loads(json.dumps(body, allow_nan=False))
    assert decoded == body
    return decoded


def assert_types(body: dict[str, Any], types: dict[str, list[str]]) -> None:
    for path, value in flatten(body).items():
        assert path in types, f"{path} is not in the documented shape"
        allowed = set(types[path])
        if "number" in allowed:
            allowed.add("integer")  # a JSON number may be written without a fraction
        assert json_type(value) in allowed, f"{path}={value!r} is not {types[path]}"
