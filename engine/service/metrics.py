"""Counters for `/metrics`, in the Prometheus text format (no client library needed)."""

from __future__ import annotations

from collections.abc import Iterable


def _labels(pairs: tuple[tuple[str, str], ...]) -> str:
    if not pairs:
        return ""
    inner = ",".join(
        f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for k, v in pairs
    )
    return "{" + inner + "}"


class Metrics:
    """Monotonic counters with labels; gauges are passed in when the page is rendered."""

    def __init__(self) -> None:
        self._counters: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
        self._help: dict[str, str] = {}

    def describe(self, name: str, text: str) -> None:
        self._help[name] = text
        self._counters.setdefault(name, {})

    def inc(self, name: str, n: float = 1, **labels: str) -> None:
        values = self._counters.setdefault(name, {})
        key = tuple(sorted(labels.items()))
        values[key] = values.get(key, 0.0) + n

    def value(self, name: str, **labels: str) -> float:
        return self._counters.get(name, {}).get(tuple(sorted(labels.items())), 0.0)

    def render(self, gauges: Iterable[tuple[str, str, dict[str, str], float]] = ()) -> str:
        lines: list[str] = []
        for name, values in sorted(self._counters.items()):
            if name in self._help:
                lines.append(f"# HELP {name} {self._help[name]}")
            lines.append(f"# TYPE {name} counter")
            for labels, v in sorted(values.items()):
                lines.append(f"{name}{_labels(labels)} {v:g}")
        seen: set[str] = set()
        for name, text, gauge_labels, v in gauges:
            if name not in seen:
                seen.add(name)
                lines.append(f"# HELP {name} {text}")
                lines.append(f"# TYPE {name} gauge")
            lines.append(f"{name}{_labels(tuple(sorted(gauge_labels.items())))} {v:g}")
        return "\n".join(lines) + "\n"
