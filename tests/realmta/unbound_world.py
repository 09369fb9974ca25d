"""A real Unbound (Debian package `unbound`) on 127.0.0.153, serving the DNS stage's cases.

It runs in the foreground from a fresh temporary folder (`unbound -d -c FILE`), answers only
from local zones (every other name is NXDOMAIN, nothing is ever asked upstream) and is stopped
by its PID. The port is picked free on its address, so no root is needed.

Usable without pytest::

    with UnboundWorld() as world:
        print(world.host, world.port, world.stats()["num.query.type.MX"])
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import dns.exception
import dns.message
import dns.query

UNBOUND_IP = "127.0.0.153"
DEAD_IP = "127.0.0.154"  # a stub zone points here; nothing listens, so Unbound says SERVFAIL

# Public-looking addresses in answers; nothing connects to them.
P1, P2, P3 = "8.8.4.4", "9.9.9.9", "1.0.0.1"
P6 = "2a00:1450:4001:80b::1b"
IDN = "xn--bcher-kva.test"  # bücher.test
BIG_MX_COUNT = 200

LOCAL_DATA: tuple[str, ...] = (
    "order.test. 300 IN MX 20 mx2.order.test.",
    "order.test. 300 IN MX 10 mx1.order.test.",
    f"mx1.order.test. 300 IN A {P1}",
    f"mx1.order.test. 300 IN AAAA {P6}",
    f"mx2.order.test. 300 IN A {P2}",
    *(f"equal.test. 300 IN MX 10 mx{i}.equal.test." for i in range(4)),
    *(f"mx{i}.equal.test. 300 IN A {P1}" for i in range(4)),
    "null.test. 300 IN MX 0 .",
    f"aonly.test. 300 IN A {P3}",
    f"aaaaonly.test. 300 IN AAAA {P6}",
    'nothing.test. 300 IN TXT "v=spf1 -all"',
    "ghost.test. 300 IN MX 10 gone.ghost.test.",
    "ghost.test. 300 IN MX 20 bare.ghost.test.",
    'bare.ghost.test. 300 IN TXT "no address"',
    "halfghost.test. 300 IN MX 10 gone.ghost.test.",
    "halfghost.test. 300 IN MX 20 mx2.order.test.",
    "private.test. 300 IN MX 10 mx.private.test.",
    "private.test. 300 IN MX 20 lo.private.test.",
    "mx.private.test. 300 IN A 10.1.2.3",
    "mx.private.test. 300 IN AAAA fd00::25",
    "lo.private.test. 300 IN A 127.0.0.1",
    "lo.private.test. 300 IN AAAA ::1",
    f"{IDN}. 300 IN MX 10 mx.{IDN}.",
    f"mx.{IDN}. 300 IN A {P3}",
    "alias.test. 300 IN CNAME order.test.",
    *(f"big.test. 300 IN MX {i} mx{i}.big.test." for i in range(BIG_MX_COUNT)),
    *(f"mx{i}.big.test. 300 IN A 8.8.{i // 250}.{i % 250 + 1}" for i in range(BIG_MX_COUNT)),
)

_CONFIG = """\
server:
    interface: {host}
    port: {port}
    do-daemonize: no
    chroot: ""
    username: ""
    directory: "{folder}"
    pidfile: "{folder}/unbound.pid"
    use-syslog: no
    logfile: ""
    verbosity: 1
    num-threads: 1
    do-ip6: no
    module-config: "iterator"
    qname-minimisation: no
    do-not-query-localhost: no
    access-control: 127.0.0.0/8 allow
    statistics-interval: 0
    statistics-cumulative: yes
    extended-statistics: yes
    # Every name not defined here is NXDOMAIN: nothing is ever asked upstream.
    local-zone: "." static
    # SERVFAIL on demand: a stub zone on a dead address, over TCP so the refusal is instant.
    local-zone: "broken.test." transparent
    # REFUSED, and no answer at all.
    local-zone: "refused.test." refuse
    local-zone: "silent.test." deny
{local_data}
stub-zone:
    name: "broken.test."
    stub-addr: {dead}@{port}
    stub-tcp-upstream: yes
remote-control:
    control-enable: yes
    control-use-cert: no
    control-interface: "{folder}/control.sock"
"""

_POLL_TIMEOUT_S = 0.1
_START_TRIES = 100  # x at most _POLL_TIMEOUT_S: ten seconds to answer a first question
_PORT_TRIES = 5
_STOP_WAIT_S = 5.0


class UnboundError(RuntimeError):
    """Unbound could not be set up, started or asked for its statistics."""


def find_unbound() -> str | None:
    """The path of the unbound program, looking in the sbin folders too."""
    for name in ("unbound",):
        found = shutil.which(name)
        if found:
            return found
        for folder in ("/usr/sbin", "/sbin", "/usr/local/sbin"):
            candidate = Path(folder) / name
            if candidate.is_file():
                return str(candidate)
    return None


class UnboundWorld:
    """One Unbound process with the cases of LOCAL_DATA on `host`."""

    def __init__(self, host: str = UNBOUND_IP) -> None:
        self.host = host
        self.port = 0
        self._folder: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        program = find_unbound()
        if program is None:
            raise UnboundError("unbound is not installed (run tests/realmta/install.sh)")
        self._folder = Path(tempfile.mkdtemp(prefix="mailprobe-unbound-"))
        last = ""
        for _ in range(_PORT_TRIES):
            self.port = _free_port(self.host)
            config = self._folder / "unbound.conf"
            config.write_text(self._config(), encoding="utf-8")
            log = (self._folder / "unbound.log").open("wb")
            self._process = subprocess.Popen(
                [program, "-d", "-c", str(config)], stdout=log, stderr=subprocess.STDOUT
            )
            log.close()
            if self._wait_ready():
                return
            last = self.log()
            self._terminate()
        self.stop()
        raise UnboundError(f"unbound did not start on {self.host}: {last[-2000:]}")

    def stop(self) -> None:
        self._terminate()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def __enter__(self) -> UnboundWorld:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def log(self) -> str:
        if self._folder is None:
            return ""
        path = self._folder / "unbound.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def stats(self) -> dict[str, int]:
        """Unbound's counters (`unbound-control stats_noreset`), e.g. "num.query.type.MX"."""
        control = shutil.which("unbound-control") or "/usr/sbin/unbound-control"
        assert self._folder is not None
        done = subprocess.run(
            [control, "-c", str(self._folder / "unbound.conf"), "stats_noreset"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if done.returncode != 0:
            raise UnboundError(f"unbound-control failed: {done.stderr or done.stdout}")
        counters: dict[str, int] = {}
        for line in done.stdout.splitlines():
            key, _, value = line.partition("=")
            with contextlib.suppress(ValueError):
                counters[key] = int(value)
        return counters

    def _config(self) -> str:
        assert self._folder is not None
        data = "\n".join(f"    local-data: {_quoted(line)}" for line in LOCAL_DATA)
        return _CONFIG.format(
            host=self.host, port=self.port, folder=self._folder, dead=DEAD_IP, local_data=data
        )

    def _wait_ready(self) -> bool:
        query = dns.message.make_query("aonly.test.", "A")
        for _ in range(_START_TRIES):
            if self._process is None or self._process.poll() is not None:
                return False
            try:
                dns.query.udp(query, self.host, port=self.port, timeout=_POLL_TIMEOUT_S)
            except (dns.exception.Timeout, OSError):
                continue  # not listening yet: a refused datagram or no reply
            return True
        return False

    def _terminate(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=_STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=_STOP_WAIT_S)


def _quoted(line: str) -> str:
    # Unbound takes a record with double quotes in it (TXT) inside single quotes.
    return f"'{line}'" if '"' in line else f'"{line}"'


def _free_port(host: str) -> int:
    """A port free for both UDP and TCP on `host` (a small race with other programs remains)."""
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((host, 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((host, port))
                except OSError:
                    continue
                return port
    raise UnboundError(f"no free port on {host}")
