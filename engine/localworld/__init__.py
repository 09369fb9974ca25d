"""A small world of our own for tests and the demo: loopback servers and what they serve.

Here: DNS zones written as plain dicts, and `LocalZone.answer()`, which says what a recursive
resolver would answer about a name; `engine.localworld.dns` puts that on the wire on 127.0.0.x.
Nothing here touches the network, and no engine stage imports this package.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

__all__ = ["MAX_CHAIN", "Answer", "Fault", "LocalZone", "Record", "Zone"]

# Recursive resolvers give up on long CNAME chains with SERVFAIL (Unbound after about 10 hops).
MAX_CHAIN = 10


class Fault(str, Enum):
    """How a name misbehaves, for every type or for chosen ones."""

    SERVFAIL = "servfail"
    REFUSED = "refused"
    DROP = "drop"  # never answer: the client times out
    TRUNCATE = "truncate"  # UDP replies carry TC and no records, so the client retries over TCP


Zone = Mapping[str, Mapping[str, object]]
"""Names to records, e.g.::

    {
        "example.test": {"MX": [(10, "mx1.example.test"), (20, "mx2.example.test")]},
        "mx1.example.test": {"A": ["192.0.2.1"], "AAAA": ["2001:db8::1"], "ttl": 60},
        "www.example.test": {"CNAME": "example.test"},
        "nullmx.test": {"MX": [(0, ".")]},
        "broken.test": {"fault": Fault.SERVFAIL},
        "v6broken.test": {"A": ["192.0.2.9"], "fault": {"AAAA": Fault.SERVFAIL}},
    }

Types: MX (preference, host) pairs, A, AAAA and TXT lists of strings, CNAME one name; "ttl"
applies to the name's records; "fault" is a Fault for every type or a {type: Fault} mapping.
Names missing from the zone are NXDOMAIN, except the parents of names it has (empty
non-terminals), which exist without records, and names below one with a fault for every type,
which share that fault.
"""

Record = tuple[str, str, int, str | tuple[int, str]]
"""(owner, type, ttl, value): value is a string, or (preference, host) for MX."""

_TYPES = ("MX", "A", "AAAA", "TXT", "CNAME")


@dataclass(frozen=True, slots=True)
class Answer:
    """What a resolver says: a response code and the answer records, CNAMEs first."""

    rcode: str  # "NOERROR", "NXDOMAIN", "SERVFAIL" or "REFUSED"
    records: tuple[Record, ...] = ()
    drop: bool = False  # send nothing at all
    truncate: bool = False  # over UDP, send TC and no records


@dataclass(frozen=True, slots=True)
class _Node:
    ttl: int
    records: Mapping[str, tuple[str | tuple[int, str], ...]]
    faults: Mapping[str, Fault]  # "*" for every type


def _name(text: str) -> str:
    name = text.strip().lower()
    return name if name == "." else name.rstrip(".")


class LocalZone:
    """A checked, read-only copy of a Zone dict that answers questions about it."""

    def __init__(self, zone: Zone, *, default_ttl: int = 300) -> None:
        self._nodes = {
            _name(name): _parse_node(name, spec, default_ttl) for name, spec in zone.items()
        }
        parents: set[str] = set()
        for name in self._nodes:
            labels = name.split(".")
            parents.update(".".join(labels[i:]) for i in range(1, len(labels)))
        self._parents = frozenset(parents)

    def answer(self, name: str, rtype: str) -> Answer:
        """The answer to (name, rtype), following CNAMEs as a recursive resolver does."""
        rtype = rtype.upper()
        qname = current = _name(name)
        chain: list[Record] = []
        seen = {current}
        for _ in range(MAX_CHAIN):
            node = self._nodes.get(current) or self._failing_ancestor(current)
            if node is None:
                exists = current in self._parents
                return Answer("NOERROR" if exists else "NXDOMAIN", tuple(chain))
            fault = node.faults.get(rtype, node.faults.get("*"))
            if fault is Fault.DROP:
                return Answer("NOERROR", drop=True)
            if fault is Fault.SERVFAIL or (fault is Fault.REFUSED and current != qname):
                return Answer("SERVFAIL")
            if fault is Fault.REFUSED:
                return Answer("REFUSED")
            truncate = fault is Fault.TRUNCATE and current == qname
            if rtype in node.records:
                found = [(current, rtype, node.ttl, value) for value in node.records[rtype]]
                return Answer("NOERROR", (*chain, *found), truncate=truncate)
            if "CNAME" not in node.records:
                return Answer("NOERROR", tuple(chain), truncate=truncate)
            target = str(node.records["CNAME"][0])
            chain.append((current, "CNAME", node.ttl, target))
            if target in seen:
                return Answer("SERVFAIL")  # a CNAME loop
            seen.add(target)
            current = target
        return Answer("SERVFAIL")  # chain too long

    def _failing_ancestor(self, name: str) -> _Node | None:
        # A fault for every type breaks the names below it too, as a zone whose servers fail.
        labels = name.split(".")
        for i in range(1, len(labels)):
            node = self._nodes.get(".".join(labels[i:]))
            if node is not None and "*" in node.faults:
                return _Node(node.ttl, {}, {"*": node.faults["*"]})
        return None


def _parse_node(name: str, spec: Mapping[str, object], default_ttl: int) -> _Node:
    records: dict[str, tuple[str | tuple[int, str], ...]] = {}
    faults: dict[str, Fault] = {}
    ttl = default_ttl
    for key, value in spec.items():
        kind = key.upper()
        if kind == "TTL":
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"{name}: ttl must be an int >= 0")
            ttl = value
        elif kind == "FAULT":
            if isinstance(value, Mapping):
                faults.update({str(t).upper(): _fault(name, f) for t, f in value.items()})
            else:
                faults["*"] = _fault(name, value)
        elif kind == "MX":
            if not isinstance(value, Sequence):
                raise ValueError(f"{name}: MX must be a list of (preference, host)")
            records[kind] = tuple((int(pref), _name(str(host))) for pref, host in value)
        elif kind == "CNAME":
            records[kind] = (_name(str(value)),)
        elif kind in _TYPES:
            items = [value] if isinstance(value, str) else value
            if not isinstance(items, Sequence):
                raise ValueError(f"{name}: {kind} must be a string or a list of strings")
            records[kind] = tuple(str(item) for item in items)
        else:
            raise ValueError(f"{name}: unknown key {key!r} (use {', '.join(_TYPES)}, ttl, fault)")
    if "CNAME" in records and len(records) > 1:
        raise ValueError(f"{name}: a CNAME cannot have other records (RFC 1034 §3.6.2)")
    return _Node(ttl, records, faults)


def _fault(name: str, value: object) -> Fault:
    if isinstance(value, str) and value.lower() in {f.value for f in Fault}:
        return Fault(value.lower())
    raise ValueError(f"{name}: fault must be one of {', '.join(f.value for f in Fault)}")
