"""`make demo` end to end: the table shows every state and reason it claims, and the local mail
world it started on 127.0.4.x is gone when it returns."""

from __future__ import annotations

import contextlib
import io
import re
import socket
import threading

import pytest

from engine import demo
from engine.model import Reason, State

# What the world table shows for each line of data/demo_world.txt.
WORLD: dict[str, tuple[State, Reason]] = {
    "alice@shop.test": (State.DELIVERABLE, Reason.SUCCESS),
    "noreply@shop.test": (State.DELIVERABLE, Reason.SUCCESS),
    "nobody@shop.test": (State.UNDELIVERABLE, Reason.MAILBOX_DOES_NOT_EXIST),
    "full@shop.test": (State.RISKY, Reason.MAILBOX_FULL),
    "old@shop.test": (State.UNDELIVERABLE, Reason.MAILBOX_DISABLED),
    "postmaster@[127.0.4.10]": (State.DELIVERABLE, Reason.SUCCESS),
    "info@catchall.test": (State.RISKY, Reason.SERVER_IS_CATCH_ALL),
    "bob@mailinator.com": (State.RISKY, Reason.DOMAIN_IS_WELL_KNOWN_DEA),
    "carol@implicit.test": (State.DELIVERABLE, Reason.SUCCESS),
    "josé@ascii-only.test": (
        State.UNDELIVERABLE,
        Reason.SERVER_DOES_NOT_SUPPORT_INTERNATIONAL_MAILBOXES,
    ),
    "dave@greylist.test": (State.UNKNOWN, Reason.GREYLISTED),
    "erin@blocked.test": (State.UNKNOWN, Reason.SENDER_BLOCKED),
    "frank@vague.test": (State.UNKNOWN, Reason.UNKNOWN),
    "grace@down.test": (State.UNKNOWN, Reason.TRANSIENT_NETWORK_FAULT),
    "heidi@broken.test": (State.UNKNOWN, Reason.TRANSIENT_NETWORK_FAULT),
    "ivan@nowhere.test": (State.UNDELIVERABLE, Reason.DOMAIN_IS_INEXISTENT),
    "judy@nullmx.test": (State.UNDELIVERABLE, Reason.DOMAIN_DOES_NOT_ACCEPT_MAIL),
    "mallory@nomail.test": (State.UNDELIVERABLE, Reason.NO_MX_SERVERS_FOUND),
    "plainaddress": (State.UNDELIVERABLE, Reason.AT_SIGN_NOT_FOUND),
    "a@b@shop.test": (State.UNDELIVERABLE, Reason.TOO_MANY_AT_SIGNS_FOUND),
    "john..doe@shop.test": (State.UNDELIVERABLE, Reason.INVALID_SYNTAX),
}
# Without --allow-private, the SSRF guard refuses the same world's loopback mail hosts.
GUARDED: dict[str, tuple[State, Reason]] = {
    "alice@shop.test": (State.UNKNOWN, Reason.MX_ADDRESS_NOT_PUBLIC),
    "postmaster@[127.0.4.10]": (State.UNKNOWN, Reason.MX_ADDRESS_NOT_PUBLIC),
}

_STATES = {s.value for s in State}
_REASONS = {r.value for r in Reason}
# A DNS query: id 0x1234, recursion desired, one question: shop.test MX IN.
_MX_QUESTION = bytes.fromhex("123401000001000000000000") + b"\x04shop\x04test\x00\x00\x0f\x00\x01"
_TABLE_HEAD = re.compile(r"^INPUT\s+STATE\s+REASON")


def _tables(output: str) -> list[list[tuple[str, State, Reason]]]:
    """Each table the demo printed, as (input, state, reason) rows in order."""
    tables: list[list[tuple[str, State, Reason]]] = []
    rows: list[tuple[str, State, Reason]] | None = None
    for line in output.splitlines():
        if _TABLE_HEAD.match(line):
            rows = []
            tables.append(rows)
            continue
        words = line.split()
        pairs = [
            i for i in range(1, len(words) - 1) if words[i] in _STATES and words[i + 1] in _REASONS
        ]
        if rows is None or not pairs:
            rows = None  # a table ends at its first line that is not a row
            continue
        i = pairs[0]
        rows.append((" ".join(words[:i]), State(words[i]), Reason(words[i + 1])))
    return tables


@pytest.fixture(scope="module")
def demo_run() -> tuple[int, str]:
    """One run of the demo, shared by the tests here: (exit code, what it printed)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = demo.main()
    return code, out.getvalue()


def test_demo_exits_0_and_shows_every_state_and_reason(demo_run: tuple[int, str]) -> None:
    code, output = demo_run
    assert code == 0, output
    rows = [row for table in _tables(output) for row in table]
    assert {state for _, state, _ in rows} == set(State)
    assert {reason for _, _, reason in rows} == set(Reason)


def test_world_table_shows_what_each_sample_line_is_for(demo_run: tuple[int, str]) -> None:
    _, output = demo_run
    offline, cleaned, world, guarded, limited = _tables(output)
    assert {reason for _, _, reason in offline} == {
        Reason.NOT_CHECKED,
        Reason.DOMAIN_IS_WELL_KNOWN_DEA,
        Reason.AT_SIGN_NOT_FOUND,
        Reason.TOO_MANY_AT_SIGNS_FOUND,
        Reason.INVALID_SYNTAX,
        Reason.SPECIAL_USE_DOMAIN,
    }
    assert len(cleaned) == 3
    assert [(i, (s, r)) for i, s, r in world] == list(WORLD.items())
    assert [(i, (s, r)) for i, s, r in guarded] == list(GUARDED.items())
    assert limited == [("kim@slow.test", State.UNKNOWN, Reason.TIMEOUT)]


def test_the_time_limited_call_says_where_it_stopped(demo_run: tuple[int, str]) -> None:
    _, output = demo_run
    notes = next(line for line in output.splitlines() if "detail.notes" in line)
    assert "stopped by the time limit" in notes and "MAIL FROM" in notes


def test_demo_says_what_the_world_is_and_that_the_guard_was_opted_out(
    demo_run: tuple[int, str],
) -> None:
    _, output = demo_run
    assert "Nothing leaves this machine" in output
    assert "--allow-private" in output
    assert "SSRF" in output
    assert output.rstrip().splitlines()[-1].startswith("Stopped:")


def test_demo_stops_every_server_it_started(demo_run: tuple[int, str]) -> None:
    _, output = demo_run
    ports = re.search(r"--dns-port (\d+) --smtp-port (\d+)", output)
    assert ports is not None, output
    dns_port, smtp_port = int(ports[1]), int(ports[2])
    listening = [(demo.DNS_IP, dns_port)]
    listening += [(host.ip, smtp_port) for host in demo.HOSTS]
    for address in listening:
        with (
            socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock,
            pytest.raises(ConnectionRefusedError),
        ):
            sock.settimeout(5.0)
            sock.connect(address)
    # UDP: a question to the closed DNS port comes back as ICMP "port unreachable".
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5.0)
        sock.connect((demo.DNS_IP, dns_port))
        sock.send(_MX_QUESTION)
        with pytest.raises(ConnectionRefusedError):
            sock.recv(512)
    alive = [t.name for t in threading.enumerate() if "127.0.4." in t.name]
    assert not alive, f"threads still running: {alive}"
