"""The import ladder of engine/ (see the module docs): modules import only lower layers, and
third-party libraries stay at their seam."""

from __future__ import annotations

import ast
import subprocess
import sys
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
    "mx": 3,
    "smtp": 3,
    "probe": 3.5,  # asks through the transport
    "cache": 3,
    "politeness": 3,
    "hostqueue": 3.8,  # the bulk checker's queues
    "pipeline": 4,
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
    "service": 7,  # the HTTP service and its faces: above the engine, imported by nothing in it
    "integrations": 7,  # pydantic, Django, FastAPI, Flask: above the engine, like the service
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


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ENGINE)))
def test_no_engine_module_imports_the_service(path: Path) -> None:
    if _module_key(path) == "service":
        return
    for name in _imports(path):
        assert not name.startswith("engine.service"), f"{path.name} imports {name}"


FACES = sorted((ENGINE / "service" / "faces").glob("[!_]*.py"))


@pytest.mark.parametrize("path", FACES, ids=lambda p: p.stem)
def test_a_face_imports_no_other_face(path: Path) -> None:
    others = {f"engine.service.faces.{p.stem}" for p in FACES} - {
        f"engine.service.faces.{path.stem}"
    }
    for name in _imports(path):
        assert name not in others, f"face {path.stem} imports {name}"


# Web frameworks, each imported only by its own module of engine/integrations.
FRAMEWORKS: dict[str, str] = {
    "pydantic": "pydantic",
    "pydantic_core": "pydantic",
    "django": "django",
    "fastapi": "fastapi",
    "starlette": "fastapi",
    "flask": "flask",
    "werkzeug": "flask",
}
INTEGRATIONS = ENGINE / "integrations"
INTEGRATION_FILES = sorted(INTEGRATIONS.glob("*.py"))
INTEGRATION_FACES = sorted({FRAMEWORKS[top] for top in FRAMEWORKS})


@pytest.mark.parametrize("path", INTEGRATION_FILES, ids=lambda p: p.name)
def test_each_framework_is_imported_by_its_own_integration_only(path: Path) -> None:
    for name in _imports(path):
        owner = FRAMEWORKS.get(name.split(".")[0])
        if owner is not None:
            assert path.stem == owner, f"integrations/{path.name} imports {name}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ENGINE)))
def test_the_engine_imports_no_framework_and_no_integration(path: Path) -> None:
    me = _module_key(path)
    if me == "integrations" or LAYERS[me] >= 7:
        return  # the faces above the engine (the HTTP service may use a framework)
    for name in _imports(path):
        assert name.split(".")[0] not in FRAMEWORKS, f"{me} imports {name}"
        assert not name.startswith("engine.integrations"), f"{me} imports {name}"


@pytest.mark.parametrize("path", INTEGRATION_FILES, ids=lambda p: p.name)
def test_an_integration_imports_no_other_integration(path: Path) -> None:
    others = {f"engine.integrations.{face}" for face in INTEGRATION_FACES} - {
        f"engine.integrations.{path.stem}"
    }
    for name in _imports(path):
        assert name not in others, f"integrations/{path.name} imports {name}"


def _loaded_after(code: str) -> set[str]:
    """Top-level framework modules in sys.modules after running `code` in a fresh interpreter."""
    probe = f"{code}\nimport sys\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    return set(out.split()) & set(FRAMEWORKS)


def test_import_engine_imports_no_framework() -> None:
    code = "import engine, engine.integrations\nfrom engine import Config, Result, Verifier"
    assert _loaded_after(code) == set()


LOADS: dict[str, set[str]] = {
    "pydantic": {"pydantic", "pydantic_core"},
    "django": {"django"},
    "fastapi": {"fastapi", "starlette", "pydantic", "pydantic_core"},  # FastAPI's own
    "flask": {"flask", "werkzeug"},
}


@pytest.mark.parametrize(("face", "allowed"), sorted(LOADS.items()))
def test_an_integration_loads_its_own_framework_only(face: str, allowed: set[str]) -> None:
    loaded = _loaded_after(f"import engine.integrations.{face}")
    assert face in loaded
    assert loaded <= allowed
