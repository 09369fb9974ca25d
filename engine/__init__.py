"""mailprobe: self-hosted email verification without sending mail.

    from engine import verify
    result = verify("jane.doe@example.com")
    print(result.state.value, result.reason.value)

The public names load on first use, so `import engine` stays cheap and does no I/O.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.config import Config, Politeness, Timeouts, TlsPolicy
    from engine.model import Reason, Result, State
    from engine.pending import PendingCheck
    from engine.verifier import Verifier, averify, verify

__all__ = [
    "Config",
    "PendingCheck",
    "Politeness",
    "Reason",
    "Result",
    "State",
    "Timeouts",
    "TlsPolicy",
    "Verifier",
    "averify",
    "verify",
]

_HOME = {
    "Config": "engine.config",
    "PendingCheck": "engine.pending",
    "Politeness": "engine.config",
    "Timeouts": "engine.config",
    "TlsPolicy": "engine.config",
    "Reason": "engine.model",
    "Result": "engine.model",
    "State": "engine.model",
    "Verifier": "engine.verifier",
    "averify": "engine.verifier",
    "verify": "engine.verifier",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
