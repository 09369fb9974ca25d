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
    "routing": 0.5,  # egress values and the routing table
    "addresses": 1,
    "errors": 1,
    "config": 1,
    "datasets": 1,
    "replywords": 0.5,  # the words of SMTP replies, for replies
    "replies": 1,
    "output": 1,
    "clock": 1,
    "ordered": 1.5,  # the windowed, in-order async map
    "cleaning": 1.8,  # clean mode: the decoration around a pasted address
    "literals": 1.8,  # RFC 5321 address literals
    "idna2008": 1.8,  # domain names by IDNA 2008
    "syntax": 2,
    "typos": 2,
    "reputation": 2,
    "names": 2,
    "verdict": 2,
    "providers": 2,
    "progress": 2.5,  # what a check in flight knows so far
    "mx": 3,
    "smtp": 3,
    "egress": 3.2,  # proxied and source-bound connections; a transport per egress
    "failover": 3.3,  # which egress a bulk run's addresses take after a proxy fault
    "probe": 3.5,  # asks through the transport
    "cache": 3,
    "politeness": 3,
    "hostqueue": 3.8,  # the bulk checker's queues
    "rcptgroups": 3.85,  # a bulk session's RCPT groups: their size, their transaction
    "catchalls": 3.85,  # each domain's catch-all answer in a bulk run
    "groupwatch": 3.85,  # drops a session's group once all its addresses reached their limit
    "settling": 3.9,  # reads a group's replies; settles, requeues or gives up on addresses
    "pipeline": 4,
    "pending": 4.2,  # a check running in the background
    "bulk": 4.5,  # reuses the pipeline's stages
    "verifier": 5,
    "testing": 5,
    "localworld": 5,
    "egressopts": 5,  # --proxy / --egress / --route
    "selftest": 5,  # the egress self-test the doctor runs
    "findings": 5.05,  # what a doctor check found
    "dnschecks": 5.1,  # the doctor's resolver, HELO name and MAIL FROM checks
    "portchecks": 5.1,  # the doctor's port 25 check, direct or through each egress
    "doctor": 5.9,  # `mailprobe doctor`: takes the engine options as `verify` does
    "demo": 6.5,  # runs the CLI; the service demo reuses its mail world
    "streams": 5.5,  # the CLI's row streams
    "progressbar": 5.5,  # the CLI's progress bar and summary
    "settings": 5.7,  # the CLI's and the service's settings: file, variables, flags
    "options": 5.8,  # a command-line flag per setting
    "cli": 6,
    "__init__": 6,
    "service": 7,  # the HTTP service and its faces: above the engine, imported by nothing in it
    "integrations": 7,  # pydantic, Django, FastAPI, Flask: above the engine, like the service
    "console": 7,  # the web console's static files; the service serves them, nothing imports them
    "scaleout": 7,  # bulk jobs on a Ray cluster: above the bulk checker and the CLI
    "commands": 8,  # the mailprobe command: the CLI's subcommands and the service's
    "__main__": 9,  # runs the command
}

SEAMS: dict[str, set[str]] = {
    "dns": {"mx", "localworld", "doctor"},
    "aiosmtplib": {"smtp"},
    "python_socks": {"egress"},
    "sqlite3": {"cache", "service"},
    "email_validator": {"syntax"},
    "tomllib": {"settings"},
    "tomli": {"settings"},
    "ray": {"scaleout"},
}

# Face libraries: only the faces above the engine (the service, the framework integrations) may
# import them, so `import engine` never does.
SERVICE_ONLY = ("fastapi", "starlette", "uvicorn", "pydantic", "httpx", "standardwebhooks",
                "multipart", "python_multipart")  # fmt: skip


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
def test_face_libraries_stay_in_the_service(path: Path) -> None:
    me = _module_key(path)
    for name in _imports(path):
        top = name.split(".")[0]
        if top in SERVICE_ONLY:
            assert me in ("service", "integrations"), f"{me} imports {top}; only a face may"


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ENGINE)))
def test_nothing_below_the_command_imports_the_service(path: Path) -> None:
    me = _module_key(path)
    if LAYERS[me] >= LAYERS["commands"] or me == "service":
        return
    for name in _imports(path):
        assert not name.startswith("engine.service"), f"{me} imports {name}"


def test_service_command_module_is_light_at_import() -> None:
    """`mailprobe verify` must not pay for FastAPI: the service's parsers import nothing heavy."""
    code = (
        "import sys, engine.commands, engine.service.command; "
        f"heavy = [m for m in {SERVICE_ONLY!r} if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == ""


def test_import_engine_pulls_in_no_face_library() -> None:
    code = (
        "import sys, engine; from engine import Verifier, Result, Config, verify; "
        f"heavy = [m for m in {SERVICE_ONLY!r} if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert out.stdout.strip() == ""
    imported = {line.split("|")[-1].strip().split(".")[0] for line in out.stderr.splitlines()}
    assert not imported & set(SERVICE_ONLY), imported & set(SERVICE_ONLY)


FACES = sorted((ENGINE / "service" / "faces").glob("[!_]*.py"))


@pytest.mark.parametrize("path", FACES, ids=lambda p: p.stem)
def test_a_face_imports_no_other_face(path: Path) -> None:
    others = {f"engine.service.faces.{p.stem}" for p in FACES} - {
        f"engine.service.faces.{path.stem}"
    }
    for name in _imports(path):
        assert name not in others, f"face {path.stem} imports {name}"


# Only the command line (and the HTTP service) read settings from the environment or a file;
# cache's default_cache_path() reads XDG_CACHE_HOME for the command's default cache location.
# scaleout's command sets one Ray variable (RAY_USAGE_STATS_ENABLED) before Ray starts.
READS_ENVIRONMENT = {"cli", "doctor", "settings", "options", "service", "cache", "scaleout"}


def _reads_environment(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {"environ", "getenv", "environb"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in names:
            return True
        if (
            isinstance(node, ast.ImportFrom)
            and node.module == "os"
            and {a.name for a in node.names} & names
        ):
            return True
    return False


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ENGINE)))
def test_the_library_reads_no_environment(path: Path) -> None:
    me = _module_key(path)
    if me not in READS_ENVIRONMENT:
        assert not _reads_environment(path), f"{me} reads the environment; only the CLI may"


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


# Ray: only engine/scaleout/cluster.py imports it, so the rest of the scale-out (its values,
# the driver, the CLI run) loads without it, and nothing outside engine.scaleout imports that.
SCALEOUT = ENGINE / "scaleout"


@pytest.mark.parametrize("path", sorted(SCALEOUT.glob("*.py")), ids=lambda p: p.name)
def test_ray_is_imported_by_the_cluster_module_only(path: Path) -> None:
    for name in _imports(path):
        if name.split(".")[0] == "ray":
            assert path.name == "cluster.py", f"scaleout/{path.name} imports {name}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ENGINE)))
def test_only_the_command_module_imports_the_scale_out(path: Path) -> None:
    me = _module_key(path)
    if me in ("scaleout", "commands", "__main__"):
        return
    for name in _imports(path):
        assert not name.startswith("engine.scaleout"), f"{me} imports {name}"


def _ray_loaded_after(code: str) -> bool:
    probe = f"{code}\nimport sys\nprint('ray' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return out.stdout.strip().splitlines()[-1] == "True"


def test_import_engine_and_the_scale_out_values_import_no_ray() -> None:
    code = (
        "import engine, engine.cli, engine.commands\n"
        "from engine import Config, Verifier, verify\n"
        "from engine.scaleout import ScaleOut, ClusterError, ClusterVerifier, averify_many"
    )
    assert not _ray_loaded_after(code)


def test_verify_without_ray_flag_imports_no_ray(tmp_path: Path) -> None:
    """`mailprobe verify` runs in full (offline, from a file, to a file) and Ray stays out."""
    src = tmp_path / "in.txt"
    src.write_text("jane@example.com\nnot-an-address\n", encoding="utf-8")
    code = (
        "from engine.commands import main\n"
        f"code = main(['verify', '-q', '--offline', '-i', {str(src)!r}, "
        f"'-o', {str(tmp_path / 'out.jsonl')!r}])\n"
        "assert code == 0, code"
    )
    assert not _ray_loaded_after(code)
    assert (tmp_path / "out.jsonl").read_text(encoding="utf-8").count("\n") == 2
