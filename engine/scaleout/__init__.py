"""Bulk jobs spread over a Ray cluster: one worker per egress, each site's mail hosts asked by
the egress that owns it, verdicts, order, cache and resume on the driver.

    from engine.scaleout import ScaleOut, averify_many

Nothing here imports Ray until a run starts; `import engine` never imports this package.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.scaleout.config import ScaleOut
    from engine.scaleout.errors import ClusterError
    from engine.scaleout.job import ClusterVerifier, averify_many, verify_many

__all__ = ["ClusterError", "ClusterVerifier", "ScaleOut", "averify_many", "verify_many"]

_HOME = {
    "ClusterError": "engine.scaleout.errors",
    "ClusterVerifier": "engine.scaleout.job",
    "ScaleOut": "engine.scaleout.config",
    "averify_many": "engine.scaleout.job",
    "verify_many": "engine.scaleout.job",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'engine.scaleout' has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
