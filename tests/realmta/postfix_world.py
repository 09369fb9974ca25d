"""Real Postfix instances and a postgrey on loopback addresses, for realmta tests and benchmarks.

Every instance gets a fresh config folder and queue in a temporary directory, listens on its own
127.0.0.x address only, and never delivers anything (`virtual_transport = discard:`). The
processes started here are stopped by their PID; nothing is ever looked up or killed by name.

Usable without pytest::

    with PostfixWorld() as world:  # or world.start() ... world.stop()
        print(world.main.ip, world.greylist.ip, world.no_utf8.ip, world.pids())
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

MAIN_IP = "127.0.0.70"  # Postfix with the anti-harvest defaults, SMTPUTF8 and STARTTLS
POSTGREY_IP = "127.0.0.71"
POSTGREY_PORT = 10023
GREYLIST_IP = "127.0.0.72"  # Postfix asking postgrey about every recipient
NO_UTF8_IP = "127.0.0.73"  # Postfix with `smtputf8_enable = no`
SMTP_PORT = 25

# postgrey reads `--delay=0` as "not given" (its default, 300 s) and counts whole seconds, so
# the smallest usable delay is 1 s; 2 s leaves a margin for a first RCPT late in a second.
POSTGREY_DELAY_S = 2

MX_NAME = "mx.known.test"
KNOWN_DOMAIN = "known.test"  # virtual mailboxes; unknown users get 550 5.1.1 at RCPT time
CATCH_ALL_DOMAIN = "catchall.test"  # virtual alias domain with an @catchall.test entry
BLOCKED_DOMAIN = "blocked.test"  # every RCPT answered as a DNSBL listing of the client
MAILBOXES = ("alice", "bob", "carol", "full", "disabled", "josé")

# Lines of the check_recipient_access table: what real servers say for these mailboxes.
RECIPIENT_ACCESS = (
    f"full@{KNOWN_DOMAIN}  552 5.2.2 Mailbox full",
    f"disabled@{KNOWN_DOMAIN}  550 5.2.1 Mailbox disabled",
    f"{BLOCKED_DOMAIN}  rbl_listed",
)
# Postfix's own wording for a reject_rbl_client hit, given to any loopback client.
RBL_TEXT = (
    "Service unavailable; Client host [127.0.0.1] blocked using zen.spamhaus.org; "
    "https://www.spamhaus.org/query/ip/127.0.0.1"
)

_PROGRAMS = ("postfix", "postmap", "postgrey")
_SBIN_DIRS = ("/usr/sbin", "/sbin", "/usr/local/sbin")
_POLL_S = 0.05
_START_TRIES = 200  # x _POLL_S: ten seconds for a port to answer
_STOP_TRIES = 200
_LOCK_TRIES = 1800  # x _POLL_S: wait up to 90 s for another test run's world to stop
_LOCK_PATH = Path(tempfile.gettempdir()) / "mailprobe-realmta.lock"
_STATE_PATH = Path(tempfile.gettempdir()) / "mailprobe-realmta.pids"  # "PID ROOT" per line
_TMP_PREFIX = "mailprobe-postfix-"

_MASTER_CF = """\
# service type  private unpriv  chroot  wakeup  maxproc command
{ip}:smtp inet n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class WorldError(RuntimeError):
    """A server could not be set up, started or stopped."""


def find_program(name: str) -> str | None:
    """The path of a program, looking in the sbin folders too (root's PATH may lack them)."""
    found = shutil.which(name)
    if found:
        return found
    for folder in _SBIN_DIRS:
        candidate = Path(folder) / name
        if os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def missing_programs() -> list[str]:
    """The programs of Debian's postfix and postgrey packages that this machine lacks."""
    return [name for name in _PROGRAMS if find_program(name) is None]


def _program(name: str) -> str:
    path = find_program(name)
    if path is None:
        raise WorldError(f"{name} is not installed (run tests/realmta/install.sh)")
    return path


def _run(*args: str) -> None:
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise WorldError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")


def _answers(ip: str, port: int) -> bool:
    try:
        with socket.create_connection((ip, port), timeout=0.5):
            return True
    except OSError:
        return False


def _wait_free(ip: str, port: int) -> None:
    """Wait (bounded) for a port to stop answering: a stopped server's children may linger."""
    for _ in range(_STOP_TRIES):
        if not _answers(ip, port):
            return
        time.sleep(_POLL_S)
    raise WorldError(f"something already listens on {ip}:{port}")


def _read_banner(ip: str, port: int) -> str | None:
    """The first line a server sends, or None when nothing answers."""
    try:
        with socket.create_connection((ip, port), timeout=1.0) as sock:
            sock.settimeout(2.0)
            data = b""
            while b"\n" not in data:
                chunk = sock.recv(512)
                if not chunk:
                    break
                data += chunk
            with contextlib.suppress(OSError):
                sock.sendall(b"QUIT\r\n")
            return data.decode("ascii", "replace").strip() or None
    except OSError:
        return None


def _alive(pid: int) -> bool:
    """Whether the process runs; a zombie counts as gone (some init processes reap slowly)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # The state follows the command name, which is in parentheses and may hold spaces.
    return stat[stat.rindex(")") + 2 :][:1] not in ("Z", "X", "")


def _wait_gone(pid: int) -> bool:
    for _ in range(_STOP_TRIES):
        if not _alive(pid):
            return True
        time.sleep(_POLL_S)
    return False


@dataclass(frozen=True, slots=True)
class InstanceSpec:
    """What makes one Postfix instance different from the others."""

    name: str
    ip: str
    smtputf8: bool = True
    tls: bool = False
    policy_service: str | None = None  # "inet:HOST:PORT" asked about every recipient


class PostfixInstance:
    """One Postfix with its own config folder, queue and log; `start()`, `stop()`."""

    def __init__(self, spec: InstanceSpec, root: Path) -> None:
        self.spec = spec
        self.ip = spec.ip
        self.port = SMTP_PORT
        self.dir = root / spec.name
        self.log_path = self.dir / "maillog"
        self.master_pid: int | None = None

    def write_config(self) -> None:
        """Write main.cf, master.cf and the lookup tables, and index the tables with postmap."""
        d = self.dir
        # Owners as Postfix wants them; `postfix start` makes the queue's subfolders.
        (d / "queue").mkdir(parents=True, exist_ok=True)
        (d / "data").mkdir(exist_ok=True)
        shutil.chown(d / "data", "postfix")
        # The postfix user must reach the queue and the tables through the temporary folders.
        for folder in (d.parent, d):
            folder.chmod(0o755)
        domain_users = [f"{user}@{KNOWN_DOMAIN}" for user in MAILBOXES]
        if not self.spec.smtputf8:  # UTF-8 keys are only valid where SMTPUTF8 is on
            domain_users = [u for u in domain_users if u.isascii()]
        tables = {
            "virtual_mailboxes": [f"{u}  {u}" for u in domain_users]
            + [f"postmaster@{BLOCKED_DOMAIN}  postmaster@{BLOCKED_DOMAIN}"],
            "virtual_aliases": [f"@{CATCH_ALL_DOMAIN}  alice@{KNOWN_DOMAIN}"],
            "recipient_access": list(RECIPIENT_ACCESS),
        }
        for name, lines in tables.items():
            (d / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
        (d / "rbl_clients").write_text(f"127.0.0.0/8  554 5.7.1 {RBL_TEXT}\n", encoding="utf-8")
        (d / "main.cf").write_text(self._main_cf(), encoding="utf-8")
        (d / "master.cf").write_text(_MASTER_CF.format(ip=self.ip), encoding="utf-8")
        if self.spec.tls:
            self._write_certificate()
        # Postfix waits (up to about 2 s) for a main.cf changed in the last second to settle.
        settled = time.time() - 60
        for path in d.iterdir():
            if path.is_file():
                os.utime(path, (settled, settled))
        postmap = _program("postmap")
        for name in tables:
            _run(postmap, "-c", str(d), f"hash:{d / name}")

    def _main_cf(self) -> str:
        d = self.dir
        restrictions = [f"check_recipient_access hash:{d}/recipient_access"]
        if self.spec.policy_service:
            restrictions.append(f"check_policy_service {self.spec.policy_service}")
        lines = [
            "compatibility_level = 3.6",
            f"queue_directory = {d}/queue",
            f"data_directory = {d}/data",
            f"maillog_file = {self.log_path}",
            f"maillog_file_prefixes = {d}",
            # master.cf binds smtpd to this instance's address alone; Postfix refuses an
            # inet_interfaces address that no interface carries (lo has only 127.0.0.1).
            "inet_interfaces = loopback-only",
            "inet_protocols = ipv4",
            f"myhostname = {MX_NAME}",
            f"mydomain = {KNOWN_DOMAIN}",
            "myorigin = $myhostname",
            "smtpd_banner = $myhostname ESMTP",
            # No local delivery and no relaying: the tables below are the whole mail system.
            "mydestination =",
            "local_recipient_maps =",
            "relay_domains =",
            "alias_maps =",
            "alias_database =",
            "default_transport = discard:",
            "virtual_transport = discard:",
            f"virtual_mailbox_domains = {KNOWN_DOMAIN}, {BLOCKED_DOMAIN}",
            f"virtual_mailbox_maps = hash:{d}/virtual_mailboxes",
            f"virtual_alias_domains = {CATCH_ALL_DOMAIN}",
            f"virtual_alias_maps = hash:{d}/virtual_aliases",
            # The probe connects from 127.0.0.1: it must get what any internet client gets, so
            # no loopback address is trusted (TEST-NET-1 is never a client here).
            "mynetworks = 192.0.2.1/32",
            "smtpd_relay_restrictions = reject_unauth_destination",
            f"smtpd_recipient_restrictions = {', '.join(restrictions)}",
            "smtpd_restriction_classes = rbl_listed",
            f"rbl_listed = check_client_access cidr:{d}/rbl_clients",
            "disable_vrfy_command = yes",
            f"smtputf8_enable = {'yes' if self.spec.smtputf8 else 'no'}",
            # The default 1 s stalls the first accepted RCPT when nothing is ever delivered.
            "in_flow_delay = 0s",
            # Postfix's anti-harvest defaults, spelled out because real servers keep them.
            "smtpd_soft_error_limit = 10",
            "smtpd_hard_error_limit = 20",
            "smtpd_error_sleep_time = 1s",
            "biff = no",
        ]
        if self.spec.tls:
            lines += [
                "smtpd_tls_security_level = may",
                f"smtpd_tls_chain_files = {d}/tls/key.pem, {d}/tls/cert.pem",
                "smtpd_tls_loglevel = 1",  # the log says which sessions used TLS
            ]
        return "\n".join(lines) + "\n"

    def _write_certificate(self) -> None:
        import trustme  # test extra; imported here so the plain instances do without it

        cert = trustme.CA().issue_cert(MX_NAME)
        tls = self.dir / "tls"
        tls.mkdir(mode=0o700, exist_ok=True)
        cert.private_key_pem.write_to_path(str(tls / "key.pem"))
        (tls / "key.pem").chmod(0o600)
        cert.cert_chain_pems[0].write_to_path(str(tls / "cert.pem"))

    def start(self) -> None:
        """Write the config, start the master, and wait for the 220 greeting."""
        _wait_free(self.ip, self.port)
        self.write_config()
        try:
            _run(_program("postfix"), "-c", str(self.dir), "start")
        finally:
            self.master_pid = self._read_master_pid()
        for _ in range(_START_TRIES):
            banner = _read_banner(self.ip, self.port)
            if banner is not None and banner.startswith("220") and self.master_pid is not None:
                return
            time.sleep(_POLL_S)
        raise WorldError(f"{self.spec.name}: no 220 on {self.ip}:{self.port}; see {self.log_path}")

    def _read_master_pid(self) -> int | None:
        """The running master's PID (`postfix start` returns once it has written it)."""
        pid_file = self.dir / "queue" / "pid" / "master.pid"
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int(pid_file.read_text().split()[0])
            return pid if _alive(pid) else None
        return None

    def stop(self) -> None:
        """Stop the master and its children, and wait until they are gone."""
        self.finish_stop(self.begin_stop())

    def begin_stop(self) -> int | None:
        """SIGTERM the master, as `postfix stop` does, without its one-second polling.

        master(8) passes the signal on to its children. Returns the PID to `finish_stop`.
        """
        pid, self.master_pid = self.master_pid, None
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        return pid

    def finish_stop(self, pid: int | None) -> None:
        """Wait for the master to exit (SIGKILL its process group if it lingers), then for
        its children to close the listening socket they share."""
        if pid is None:
            return
        if not _wait_gone(pid):
            with contextlib.suppress(ProcessLookupError):  # the master leads its own group
                os.killpg(pid, signal.SIGKILL)
            _wait_gone(pid)
        with contextlib.suppress(WorldError):
            _wait_free(self.ip, self.port)

    def log_count(self, text: str) -> int:
        """How many lines of this instance's maillog contain `text`."""
        try:
            return self.log_path.read_text(errors="replace").count(text)
        except OSError:
            return 0

    def wait_for_log(self, text: str, more_than: int) -> bool:
        """Wait (bounded) until more than `more_than` lines contain `text`: postlogd writes
        the maillog a little after the session it describes."""
        for _ in range(_START_TRIES):
            if self.log_count(text) > more_than:
                return True
            time.sleep(_POLL_S)
        return False

    def log_tail(self, lines: int = 40) -> str:
        """The end of this instance's maillog, for failure messages."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Postgrey:
    """postgrey in the foreground as our child process, with an empty database and whitelists."""

    def __init__(self, root: Path, *, ip: str = POSTGREY_IP, port: int = POSTGREY_PORT) -> None:
        self.ip = ip
        self.port = port
        self.dir = root / "postgrey"
        self.log_path = self.dir / "postgrey.log"
        self.delay_s = POSTGREY_DELAY_S
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def policy_service(self) -> str:
        return f"inet:{self.ip}:{self.port}"

    def start(self) -> None:
        _wait_free(self.ip, self.port)
        db = self.dir / "db"
        db.mkdir(parents=True, exist_ok=True)
        for folder in (self.dir.parent, self.dir):  # postgrey's user must reach its database
            folder.chmod(0o755)
        shutil.chown(db, "postgrey", "postgrey")  # postgrey drops root for this user
        empty = self.dir / "whitelist"
        empty.write_text("")
        empty.chmod(0o644)
        command = [
            _program("postgrey"),
            f"--inet={self.ip}:{self.port}",
            f"--delay={self.delay_s}",
            f"--dbdir={db}",
            # Every test comes from 127.0.0.1: without this, five passed triplets would
            # whitelist the client and end greylisting for the rest of the run.
            "--auto-whitelist-clients=0",
            f"--whitelist-clients={empty}",
            f"--whitelist-recipients={empty}",
        ]
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        for _ in range(_START_TRIES):
            if self._process.poll() is not None:
                break
            if _answers(self.ip, self.port):
                return
            time.sleep(_POLL_S)
        self.stop()
        tail = self.log_path.read_text(errors="replace")[-2000:]
        raise WorldError(f"postgrey did not answer on {self.ip}:{self.port}:\n{tail}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=_STOP_TRIES * _POLL_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=_STOP_TRIES * _POLL_S)


@contextlib.contextmanager
def exclusive(tries: int = _LOCK_TRIES) -> Iterator[None]:
    """Hold the machine-wide lock on the fixed addresses while a world runs.

    Two test runs on one machine would otherwise race for 127.0.0.70:25 and friends.
    """
    with _LOCK_PATH.open("a") as handle:
        for _ in range(tries):
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                time.sleep(_POLL_S)
        else:
            raise WorldError(f"another run holds {_LOCK_PATH}; gave up waiting")
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class PostfixWorld:
    """Three Postfix instances and a postgrey on loopback, started and stopped together.

    `main` (127.0.0.70): known.test, catchall.test, blocked.test, SMTPUTF8, STARTTLS, anti-harvest
    defaults. `greylist` (127.0.0.72): the same domains behind postgrey (127.0.0.71:10023).
    `no_utf8` (127.0.0.73): the same domains with `smtputf8_enable = no`.

    The PIDs it starts are written to a state file beside the lock, so that a run killed before
    its clean-up (SIGKILL, a CI timeout) is cleaned up, by those PIDs, by the next `start()`.
    """

    def __init__(self, root: Path | None = None) -> None:
        self._given_root = root
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._lock: contextlib.ExitStack | None = None
        self.root = root or Path()
        self._postgrey: Postgrey | None = None
        self._instances: dict[str, PostfixInstance] = {}

    @property
    def main(self) -> PostfixInstance:
        return self._instance("main")

    @property
    def greylist(self) -> PostfixInstance:
        return self._instance("greylist")

    @property
    def no_utf8(self) -> PostfixInstance:
        return self._instance("no_utf8")

    @property
    def postgrey(self) -> Postgrey:
        if self._postgrey is None:
            raise WorldError("the world is not running")
        return self._postgrey

    def _instance(self, name: str) -> PostfixInstance:
        try:
            return self._instances[name]
        except KeyError:
            raise WorldError("the world is not running") from None

    def start(self) -> None:
        """Start everything; on any failure, stop what did start and raise WorldError."""
        missing = missing_programs()
        if missing:
            raise WorldError(f"missing {', '.join(missing)} (run tests/realmta/install.sh)")
        if os.geteuid() != 0:
            raise WorldError("Postfix on port 25 needs root")
        stack = contextlib.ExitStack()
        stack.enter_context(exclusive())
        self._lock = stack
        try:
            _stop_leftovers()
            if self._given_root is None:
                self._tmp = tempfile.TemporaryDirectory(prefix=_TMP_PREFIX)
                self.root = Path(self._tmp.name)
            self._postgrey = Postgrey(self.root)
            self._postgrey.start()
            self._record()
            specs = (
                InstanceSpec("main", MAIN_IP, tls=True),
                InstanceSpec("greylist", GREYLIST_IP, policy_service=self._postgrey.policy_service),
                InstanceSpec("no_utf8", NO_UTF8_IP, smtputf8=False),
            )
            for spec in specs:
                instance = PostfixInstance(spec, self.root)
                self._instances[spec.name] = instance
                try:
                    instance.start()
                finally:
                    self._record()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop every process this world started, by PID, and remove its folders."""
        try:
            instances = list(self._instances.values())
            for instance, pid in [(i, i.begin_stop()) for i in instances]:
                instance.finish_stop(pid)
            if self._postgrey is not None:
                self._postgrey.stop()
            self._instances, self._postgrey = {}, None
            with contextlib.suppress(OSError):
                _STATE_PATH.unlink()
        finally:
            if self._tmp is not None:
                self._tmp.cleanup()
                self._tmp = None
            if self._lock is not None:
                self._lock.close()
                self._lock = None

    def pids(self) -> list[int]:
        """The PIDs this world started and still runs (the masters and postgrey)."""
        found = [i.master_pid for i in self._instances.values()]
        found.append(self._postgrey.pid if self._postgrey is not None else None)
        return [pid for pid in found if pid is not None]

    def _record(self) -> None:
        lines = [f"{pid} {self.root}" for pid in self.pids()]
        _STATE_PATH.write_text("\n".join(lines) + "\n")

    def __enter__(self) -> PostfixWorld:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _belongs_to(pid: int, root: str) -> bool:
    """Whether a live process is one a world under `root` started: a Postfix master works in
    its queue folder there, postgrey names its database there on its command line."""
    proc = Path(f"/proc/{pid}")
    with contextlib.suppress(OSError):
        if os.readlink(proc / "cwd").startswith(root + "/"):
            return True
    with contextlib.suppress(OSError):
        return (root + "/").encode() in (proc / "cmdline").read_bytes()
    return False


def _stop_leftovers() -> None:
    """Stop, by their recorded PIDs, the processes of a world whose run died before stop()."""
    try:
        lines = _STATE_PATH.read_text().splitlines()
    except OSError:
        return
    roots: set[str] = set()
    for line in lines:
        pid_text, _, root = line.partition(" ")
        if not pid_text.isdigit() or not root.startswith("/"):
            continue
        pid = int(pid_text)
        roots.add(root)
        if _alive(pid) and _belongs_to(pid, root):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            if not _wait_gone(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                _wait_gone(pid)
    for root in roots:
        if Path(root).name.startswith(_TMP_PREFIX):
            shutil.rmtree(root, ignore_errors=True)
    with contextlib.suppress(OSError):
        _STATE_PATH.unlink()
