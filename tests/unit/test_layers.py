"""The import ladder of engine/ (see the module docs): modules import only lower layers, and
third-party libraries stay at their seam."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parents[2] / "engine"

LAYERS: dict[str, float] = {
    "model": 0,
    "addresses": 1,
    "errors": 1,
    "config": 1,
    "datasets": 1,
    "replies": 1,
    "output": 1,
    "clock": 1,
    "ordered": 1.5,  # the windowed, in-order async map
    "syntax": 2,
    "typos": 2,
    "reputation": 2,
    "verdict": 2,
    "providers": 2,
    "progress": 2.5,  # what a check in flight knows so far
    "mx": 3,
    "smtp": 3,
    "probe": 3.5,  # asks through the transport
    "cache": 3,
    "politeness": 3,
    "hostqueue": 3.8,  # the bulk checker's queues
    "pipeline": 4,
    "pending": 4.2,  # a check running in the background
    "bulk": 4.5,  # reuses the pipeline's stages
    "verifier": 5,
    "testing": 5,
    "localworld": 5,
    "doctor": 5,
    "demo": 7,  # runs the CLI
    "streams": 5.5,  # the CLI's row streams
    "cli": 6,
    "__init__": 6,
    "__main__": 7,  # runs the CLI
}

SEAMS: dict[str, set[str]] = {
    "dns": {"mx", "localworld", "doctor"},
    "aiosmtplib": {"smtp"},
    "sqlite3": {"cache"},
    "email_validator": {"syntax"},
}


def _module_key(path: Path) -> str:
    rel = path.relative_to(ENGINE)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


FILES = sorted(ENGINE.rglob("*.py"))


def test_every_module_has_a_layer() -> None:
    missing = {_module_key(p) for p in FILES} - set(LAYERS)
    assert not missing, f"give these modules a layer in this test: {missing}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ENGINE)))
def test_imports_go_down_the_ladder(path: Path) -> None:
    me = _module_key(path)
    for name in _imports(path):
        parts = name.split(".")
        if parts[0] != "engine" or len(parts) < 2:
            continue
        other = parts[1]
        if other == me:
            continue
        assert LAYERS[other] < LAYERS[me], f"{me} (layer {LAYERS[me]}) imports {other}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ENGINE)))
def test_third_party_libraries_stay_at_their_seam(path: Path) -> None:
    me = _module_key(path)
    for name in _imports(path):
        top = name.split(".")[0]
        allowed = SEAMS.get(top)
        if allowed is not None:
            assert me in allowed, f"{me} imports {top}; only {sorted(allowed)} may"
