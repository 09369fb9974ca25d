"""Serving a loopback server from blocking code: its own event loop on a thread of its own."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable


def serve_in_thread(
    start: Callable[[], Awaitable[None]],
    stop: Callable[[], Awaitable[None]],
    *,
    name: str,
    timeout_s: float,
) -> Callable[[float], None]:
    """Run `start()` in a new loop on a thread and keep the loop running.

    Returns `halt(timeout_s)`, which stops the loop, awaits `stop()` there and joins the
    thread. Raises what `start()` raised, or RuntimeError if it did not finish in time.
    """
    loop = asyncio.new_event_loop()
    started = threading.Event()
    failure: list[Exception] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(start())
        except Exception as exc:  # reported to the starting thread below
            failure.append(exc)
            started.set()
            loop.close()
            return
        started.set()
        loop.run_forever()
        loop.run_until_complete(stop())
        loop.close()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    if not started.wait(timeout_s):
        raise RuntimeError(f"{name} did not start in {timeout_s} s")
    if failure:
        thread.join(timeout_s)
        raise failure[0]

    def halt(join_s: float) -> None:
        # Queued even if run_forever() has not begun yet: it then stops on its first pass.
        loop.call_soon_threadsafe(loop.stop)
        thread.join(join_s)

    return halt
