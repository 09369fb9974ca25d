"""The service's tests need the `server` extra (make installs it); without it they are skipped."""

from __future__ import annotations

import importlib.util

import pytest

_NEEDED = ("fastapi", "uvicorn", "httpx", "standardwebhooks", "multipart")
_MISSING = [name for name in _NEEDED if importlib.util.find_spec(name) is None]

if _MISSING:
    collect_ignore_glob = ["test_*.py"]

    def pytest_report_header() -> str:
        return f"tests/service skipped: install mailprobe[server] ({', '.join(_MISSING)} missing)"


@pytest.fixture(autouse=True)
def _no_proxy_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Test clients talk to loopback only; a proxy set for the machine must not catch them.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
