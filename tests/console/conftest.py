"""The console's tests need the `server` extra; the browser tests also need Chromium from
Debian's packages (tests/console/install.sh) and Playwright (the `browser` extra).

Without Chromium or Playwright the browser tests skip with the reason; with CI=true they fail
instead, so a missing install step cannot pass unnoticed.
"""

from __future__ import annotations

import importlib.util

import pytest

_NEEDED = ("fastapi", "uvicorn", "httpx", "standardwebhooks", "multipart")
_MISSING = [name for name in _NEEDED if importlib.util.find_spec(name) is None]

if _MISSING:
    collect_ignore_glob = ["test_*.py"]

    def pytest_report_header() -> str:
        return f"tests/console skipped: install mailprobe[server] ({', '.join(_MISSING)} missing)"


@pytest.fixture(autouse=True)
def _no_proxy_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Clients and the browser talk to loopback only; a proxy set for the machine must not catch
    # them.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
