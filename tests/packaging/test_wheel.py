"""The built package works: a wheel built from the project, installed into a new venv outside
the checkout, runs the command, the demo (with the `demo` extra) and the doctor's help.

Slow (a build, a venv and an install: about a minute); PyPI is reached for the build backend and
the dependencies, through pip's cache.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parents[2]
# What is not part of the source: build leftovers would otherwise slip into the wheel.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis",
    ".tmp", "*.pyc",
)  # fmt: skip
# setuptools prints its deprecations in boxes of "!!" lines.
DEPRECATION_SIGNS = ("deprecat", "!!", "BuildBackendWarning")


def _run(
    args: list[str | Path], *, cwd: Path, env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    """The finished command, once it has exited 0."""
    proc = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=timeout, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{args} exited {proc.returncode}:\n{output}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    """(the venv's bin/, a neutral working directory, the environment to run in)."""
    tmp = tmp_path_factory.mktemp("wheel")
    assert ROOT not in tmp.parents, "the venv must live outside the checkout"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MAILPROBE_", "PYTHON", "VIRTUAL_ENV"))
    }
    source = tmp / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    build = _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check",
         "-w", tmp / "dist", source],
        cwd=tmp, env=env, timeout=600,
    )  # fmt: skip
    build_log = build.stdout + build.stderr
    noisy = [line for line in build_log.splitlines() if any(s in line for s in DEPRECATION_SIGNS)]
    assert not noisy, "the build warns:\n" + "\n".join(noisy)
    (wheel,) = (tmp / "dist").glob("mailprobe-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    for member in (
        "engine/py.typed",
        "engine/settings.py",
        "engine/localworld/__init__.py",
        "engine/localworld/smtp.py",
        "engine/data/disposable.txt",
        "engine/data/public_suffix_list.dat",
        "engine/data/demo_world.txt",
    ):
        assert member in names, f"{member} is missing from {wheel.name}"
    # The console's files, every one, so the service can serve it offline from the wheel.
    console = ROOT / "engine" / "console"
    for path in sorted(console.iterdir()):
        if path.is_file() and path.suffix != ".pyc":
            member = f"engine/console/{path.name}"
            assert member in names, f"{member} is missing from {wheel.name}"
    assert not any(n.startswith("tests/") for n in names)

    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", venv], cwd=tmp, env=env, timeout=300)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    _run(
        [bin_dir / "python", "-m", "pip", "install", "--disable-pip-version-check", "-q",
         f"mailprobe[demo] @ {wheel.as_uri()}"],
        cwd=tmp, env=env, timeout=900,
    )  # fmt: skip
    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    # The commands' own cache goes to the temporary directory, not the user's.
    return bin_dir, elsewhere, {**env, "XDG_CACHE_HOME": str(tmp / "cache")}


def test_the_installed_package_is_the_wheel_not_the_checkout(
    installed: tuple[Path, Path, dict[str, str]],
) -> None:
    bin_dir, cwd, env = installed
    out = _run(
        [bin_dir / "python", "-c", "import engine, engine.localworld; print(engine.__file__)"],
        cwd=cwd, env=env, timeout=60,
    ).stdout  # fmt: skip
    location = Path(out.strip())
    assert "site-packages" in location.parts
    assert ROOT not in location.parents


def test_verify_offline_runs_from_the_wheel(installed: tuple[Path, Path, dict[str, str]]) -> None:
    bin_dir, cwd, env = installed
    out = _run([bin_dir / "mailprobe", "verify", "--offline", "a@b.com"], cwd=cwd, env=env,
               timeout=120).stdout  # fmt: skip
    (row,) = (json.loads(line) for line in out.splitlines())
    assert (row["input"], row["email"], row["reason"]) == ("a@b.com", "a@b.com", "NotChecked")


def test_the_demo_runs_from_the_wheel(installed: tuple[Path, Path, dict[str, str]]) -> None:
    bin_dir, cwd, env = installed
    out = _run([bin_dir / "python", "-m", "engine.demo"], cwd=cwd, env=env, timeout=300).stdout
    # Offline and in the local mail world: the world's verdicts came back, and it was stopped.
    assert "MailboxDoesNotExist" in out
    assert "ServerIsCatchAll" in out
    assert "Greylisted" in out
    assert "nothing is left listening" in out


def test_the_console_files_load_from_the_installed_wheel(
    installed: tuple[Path, Path, dict[str, str]],
) -> None:
    # As the service reads them: through importlib.resources, from site-packages.
    bin_dir, cwd, env = installed
    code = (
        "import importlib.resources as r; c = r.files('engine.console'); "
        "print(sorted(p.name for p in c.iterdir() if p.name.endswith(('.html', '.js', '.css')))); "
        "print('app.js' in c.joinpath('index.html').read_text())"
    )
    out = _run([bin_dir / "python", "-c", code], cwd=cwd, env=env, timeout=60).stdout.splitlines()
    shipped = {
        p.name
        for p in (ROOT / "engine" / "console").glob("*")
        if p.suffix in (".html", ".js", ".css")
    }
    assert out[0] == str(sorted(shipped)) and out[1] == "True"


def test_doctor_help_and_config_show_run_from_the_wheel(
    installed: tuple[Path, Path, dict[str, str]],
) -> None:
    bin_dir, cwd, env = installed
    out = _run([bin_dir / "mailprobe", "doctor", "--help"], cwd=cwd, env=env, timeout=120).stdout
    assert out.startswith("usage: mailprobe doctor")
    assert "--probe-domain" in out
    out = _run([bin_dir / "mailprobe", "config", "show", "--timeout", "9"], cwd=cwd,
               env={**env, "MAILPROBE_SMTP_PORT": "2525"}, timeout=120).stdout  # fmt: skip
    assert "smtp_port = 2525  # env MAILPROBE_SMTP_PORT" in out.splitlines()
    assert "budget_s = 9.0  # flag --timeout" in out.splitlines()
