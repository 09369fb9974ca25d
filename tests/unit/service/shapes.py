"""Vendor shapes from tests/data/faces and the checks every face test makes against them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[2] / "data" / "faces"


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
