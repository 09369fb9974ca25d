"""Fakes of the engine's I/O protocols, for our tests and for users' tests; no network, no waits.

FakeResolver answers the Resolver protocol from a dict shaped like the zones engine.localworld
serves on loopback, so one table can drive a unit test and a loopback test alike.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from engine.errors import DnsTransient, NoSuchDomain
from engine.mx import HostAddresses, MxRecords

__all__ = ["FakeResolver"]

_FAILURES = frozenset({"servfail", "refused", "drop"})  # TRUNCATE is a transport detail: no fault
_MAX_CHAIN = 10


class FakeResolver:
    """A Resolver that answers from a dict and counts the questions it was asked.

    The dict maps names to records: {"example.test": {"MX": [(10, "mx.example.test")]},
    "mx.example.test": {"A": ["192.0.2.1"], "AAAA": ["2001:db8::1"], "ttl": 60}}; also
    "CNAME": "target", and "fault": "servfail" | "refused" | "drop" for every type or as
    {"AAAA": "servfail"} for some (engine.localworld.Fault values work too). A fault raises
    DnsTransient, also for the names below a name whose fault is for every type; a missing name
    is NoSuchDomain (its parents exist, without records).

    Args:
        records: the zone.
        ttl: TTL of records without a "ttl" of their own.
        gate: when given, every question waits until it is set (to line up concurrent calls);
            `at_gate` is set as soon as one question waits there.
    """

    def __init__(
        self,
        records: Mapping[str, Mapping[str, object]],
        *,
        ttl: float = 300.0,
        gate: asyncio.Event | None = None,
    ) -> None:
        self.records = {_name(name): spec for name, spec in records.items()}
        self.ttl = ttl
        self.gate = gate
        self.at_gate = asyncio.Event()
        self.calls: Counter[tuple[str, str]] = Counter()  # (name, "mx" or "addresses") -> calls
        self._parents = frozenset(
            parent
            for name in self.records
            for parent in (".".join(name.split(".")[i:]) for i in range(1, name.count(".") + 1))
        )

    async def mx(self, domain: str) -> MxRecords:
        name = _name(domain)
        self.calls[(name, "mx")] += 1
        await self._wait()
        values, ttl = self._answer(name, "MX")
        records = tuple(_mx_pair(value) for value in values)
        return MxRecords(records, ttl)

    async def addresses(self, host: str) -> HostAddresses:
        name = _name(host)
        self.calls[(name, "addresses")] += 1
        await self._wait()
        found: list[str] = []
        ttls: list[float] = []
        failure: Exception | None = None
        for rtype in ("A", "AAAA"):
            try:
                values, ttl = self._answer(name, rtype)
            except DnsTransient as exc:
                failure = exc
                continue
            found.extend(str(v) for v in values)
            if values:
                ttls.append(ttl)
        if not found and failure is not None:
            raise failure
        return HostAddresses(tuple(found), min(ttls, default=self.ttl))

    async def _wait(self) -> None:
        if self.gate is not None:
            self.at_gate.set()
            await self.gate.wait()

    def _answer(self, name: str, rtype: str) -> tuple[list[object], float]:
        ttl = self.ttl
        current = name
        for _ in range(_MAX_CHAIN):
            spec = self.records.get(current) or self._failing_ancestor(current)
            if spec is None:
                if current in self._parents:
                    return [], ttl
                raise NoSuchDomain(f"{current}: NXDOMAIN")
            ttl = min(ttl, _number(spec.get("ttl", self.ttl)))
            fault = spec.get("fault")
            if isinstance(fault, Mapping):
                fault = fault.get(rtype)
            if fault in _FAILURES:  # a str Enum such as localworld.Fault compares as its value
                raise DnsTransient(f"{current} {rtype}: {fault}")
            if rtype in spec:
                values = spec[rtype]
                return ([values] if isinstance(values, str) else list(_items(values))), ttl
            if "CNAME" not in spec:
                return [], ttl
            current = _name(str(spec["CNAME"]))
        raise DnsTransient(f"{name} {rtype}: CNAME chain too long")

    def _failing_ancestor(self, name: str) -> Mapping[str, object] | None:
        # A fault for every type breaks the names below it too, as a zone whose servers fail.
        labels = name.split(".")
        for i in range(1, len(labels)):
            spec = self.records.get(".".join(labels[i:]))
            if spec is not None and isinstance(spec.get("fault"), str):
                return {"fault": spec["fault"]}
        return None


def _number(value: object) -> float:
    if not isinstance(value, (int, float)):
        raise TypeError(f"ttl must be a number, not {value!r}")
    return float(value)


def _items(value: object) -> Iterable[object]:
    if not isinstance(value, Iterable):
        raise TypeError(f"records must be a list, not {value!r}")
    return value


def _mx_pair(value: object) -> tuple[int, str]:
    if not isinstance(value, Sequence) or len(value) != 2:
        raise TypeError(f"MX records are (preference, host) pairs, not {value!r}")
    preference, host = value
    return int(preference), _name(str(host))


def _name(text: str) -> str:
    name = text.strip().lower()
    return name if name == "." else name.rstrip(".")
