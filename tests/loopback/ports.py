"""A TCP port free on every loopback address a test needs (Config.smtp_port is one number)."""

from __future__ import annotations

import random
import socket
from collections.abc import Sequence


def free_port(hosts: Sequence[str], *, tries: int = 200) -> int:
    """A port that binds on all `hosts` right now, so two test runs on one machine never clash."""
    rng = random.Random()
    for _ in range(tries):
        port = rng.randrange(20000, 60000)
        sockets = []
        try:
            for host in hosts:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sockets.append(s)
                s.bind((host, port))
            return port
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError(f"no free port on {list(hosts)} after {tries} tries")
