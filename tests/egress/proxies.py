"""Real SOCKS proxies on loopback for the egress tests: Dante (danted) and microsocks, each
started from a temporary folder and stopped by pid; and small scripted SOCKS5 servers for the
faults real proxies will not produce on demand (silence, a hang-up mid-session).

Everything listens on 127.0.0.0/8 only; Dante's rules also let it reach loopback only.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

_READY_TRIES = 250  # x 20 ms: a proxy that does not listen within 5 s has failed to start
_STOP_WAIT_S = 5.0

DANTE_USER = "mailprobe-socks"  # a system account: Dante's `username` method checks passwd


class ProxyError(RuntimeError):
    """A proxy could not be started."""


def missing_programs() -> list[str]:
    return [p for p in ("danted", "microsocks") if shutil.which(p) is None]


def _wait_listening(host: str, port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(_READY_TRIES):
        if proc.poll() is not None:
            raise ProxyError(f"exited with {proc.returncode}: {_tail(log)}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
            return
        time.sleep(0.02)
    raise ProxyError(f"not listening on {host}:{port} after 5 s: {_tail(log)}")


def _tail(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[-800:]
    except OSError:
        return "(no log)"


class _Process:
    """A proxy daemon this test run started; stop() ends it by its pid."""

    def __init__(self, host: str, port: int, workdir: Path) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"test proxies listen on loopback only, not {host}")
        self.host = host
        self.port = port
        self.workdir = workdir
        self.log = workdir / "proxy.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def _command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            self._proc = subprocess.Popen(
                self._command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        try:
            _wait_listening(self.host, self.port, self._proc, self.log)
        except ProxyError:
            self.stop()
            raise

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(_STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(_STOP_WAIT_S)

    def url(
        self, user: str | None = None, password: str | None = None, scheme: str = "socks5"
    ) -> str:
        auth = f"{user}:{password}@" if user and password else (f"{user}@" if user else "")
        return f"{scheme}://{auth}{self.host}:{self.port}"

    def log_text(self) -> str:
        return _tail(self.log)


class Dante(_Process):
    """danted on `host:port`; outgoing connections leave from `host` (its `external:`), so a
    mail server sees `host` as the client. Loopback destinations only; `forbidden_port` is
    blocked by rule (SOCKS reply 2), as commercial proxies block port 25.
    """

    def __init__(
        self,
        host: str,
        port: int,
        workdir: Path,
        *,
        username_auth: bool = False,
        forbidden_port: int | None = None,
    ) -> None:
        super().__init__(host, port, workdir)
        self.username_auth = username_auth
        self.forbidden_port = forbidden_port
        self.conf = workdir / "danted.conf"
        self.pidfile = workdir / "danted.pid"

    def _write_conf(self) -> None:
        block = ""
        if self.forbidden_port is not None:
            block = (
                "socks block { from: 0/0 to: 0/0 port = "
                f"{self.forbidden_port} log: error connect }}\n"
            )
        self.conf.write_text(
            f"logoutput: {self.log}\n"
            f"internal: {self.host} port = {self.port}\n"
            f"external: {self.host}\n"
            "user.privileged: root\n"
            "user.unprivileged: nobody\n"
            "clientmethod: none\n"
            f"socksmethod: {'username' if self.username_auth else 'none'}\n"
            "timeout.negotiate: 10\n"
            "timeout.connect: 5\n"
            "timeout.io: 60\n"
            "client pass { from: 127.0.0.0/8 to: 0/0 log: error }\n"
            f"{block}"
            "socks pass { from: 127.0.0.0/8 to: 127.0.0.0/8 log: error connect disconnect }\n"
            "socks block { from: 0/0 to: 0/0 log: error connect }\n"
        )

    def _command(self) -> list[str]:
        return ["danted", "-f", str(self.conf), "-p", str(self.pidfile)]

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._write_conf()
        check = subprocess.run(
            ["danted", "-V", "-f", str(self.conf)], capture_output=True, timeout=30, check=False
        )
        if check.returncode != 0:
            raise ProxyError(f"danted -V refused the config: {check.stderr.decode()[-800:]}")
        super().start()


class MicroSocks(_Process):
    """microsocks on `host:port`, leaving from `host` (-b); user/password when given."""

    def __init__(
        self,
        host: str,
        port: int,
        workdir: Path,
        *,
        user: str | None = None,
        password: str | None = None,
    ) -> None:
        super().__init__(host, port, workdir)
        self.user = user
        self.password = password

    def _command(self) -> list[str]:
        cmd = ["microsocks", "-i", self.host, "-p", str(self.port), "-b", self.host]
        if self.user and self.password:
            cmd += ["-u", self.user, "-P", self.password]
        return cmd


@contextlib.contextmanager
def system_user(name: str, password: str) -> Iterator[None]:
    """A login-less system account for Dante's username method; removed afterwards if created."""
    created = subprocess.run(
        ["useradd", "-M", "-s", "/usr/sbin/nologin", name], capture_output=True, check=False
    )
    if created.returncode not in (0, 9):  # 9: the account exists already (a crashed run)
        raise ProxyError(f"useradd failed: {created.stderr.decode().strip()}")
    subprocess.run(["chpasswd"], input=f"{name}:{password}".encode(), check=True, timeout=30)
    try:
        yield
    finally:
        subprocess.run(["userdel", name], capture_output=True, check=False, timeout=30)


def can_manage_users() -> bool:
    return os.geteuid() == 0 and all(shutil.which(p) for p in ("useradd", "chpasswd", "userdel"))


# Scripted SOCKS5 servers ---------------------------------------------------------------------


class ScriptedSocks:
    """A SOCKS5 server (no auth) in the test's loop that misbehaves as told.

    mode "silent": accepts and never answers. "close_on_connect": answers the greeting, then
    hangs up on the CONNECT request. "close_mid_session": relays to the requested address and
    hangs up both sides once the client sends a line starting with `close_at` (e.g. b"RCPT").
    `requests` records each CONNECT destination as (address type, host, port).
    """

    def __init__(self, host: str, mode: str, *, close_at: bytes = b"RCPT") -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError("loopback only")
        self.host = host
        self.port = 0
        self.mode = mode
        self.close_at = close_at
        self.requests: list[tuple[int, str, int]] = []
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> ScriptedSocks:
        self._server = await asyncio.start_server(self._client, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=_STOP_WAIT_S)
        await asyncio.wait_for(self._server.wait_closed(), _STOP_WAIT_S)

    def url(self) -> str:
        return f"socks5://{self.host}:{self.port}"

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        self._writers.add(writer)
        try:
            await self._talk(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _talk(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode == "silent":
            await reader.read()  # until the client gives up
            return
        head = await reader.readexactly(2)
        await reader.readexactly(head[1])
        writer.write(b"\x05\x00")
        await writer.drain()
        ver_cmd_rsv_atyp = await reader.readexactly(4)
        atyp = ver_cmd_rsv_atyp[3]
        if atyp == 1:
            host = socket.inet_ntop(socket.AF_INET, await reader.readexactly(4))
        elif atyp == 4:
            host = socket.inet_ntop(socket.AF_INET6, await reader.readexactly(16))
        else:
            size = (await reader.readexactly(1))[0]
            host = (await reader.readexactly(size)).decode()
        port = int.from_bytes(await reader.readexactly(2), "big")
        self.requests.append((atyp, host, port))
        if self.mode == "close_on_connect":
            return
        up_reader, up_writer = await asyncio.open_connection(host, port)
        self._writers.add(up_writer)
        writer.write(b"\x05\x00\x00\x01\x00\x00\x00\x00\x00\x00")
        await writer.drain()
        down = asyncio.ensure_future(self._down(up_reader, writer))
        try:
            await self._up(reader, up_writer)
        finally:
            down.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await down
            self._writers.discard(up_writer)
            up_writer.close()

    async def _down(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        while data := await src.read(65536):
            dst.write(data)
            await dst.drain()

    async def _up(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        while line := await src.readline():
            if line.upper().startswith(self.close_at):
                raise ConnectionResetError("scripted hang-up")
            dst.write(line)
            await dst.drain()
