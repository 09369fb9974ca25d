"""Ray, and only here: join (or start) a cluster, start one worker per egress pinned to its node
by the custom resource `egress:NAME`, and call the workers, sending a batch again when Ray
restarted its worker under it.

The only module of mailprobe that imports Ray, and only when a run asks for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

import ray
from ray.exceptions import RayActorError

from engine.config import Config
from engine.routing import Egress
from engine.scaleout.config import ScaleOut, resource_of
from engine.scaleout.errors import ClusterError, WorkerLost
from engine.scaleout.worker import Answer, EgressWorker, WorkerStats
from engine.verdict import Findings

__all__ = ["Cluster", "worker_name"]

log = logging.getLogger(__name__)

_CLOSE_WAIT_S = 10.0  # seconds each worker gets to end its sessions with QUIT


def worker_name(egress: str) -> str:
    """The Ray actor name of `egress`'s worker (in the driver's namespace)."""
    return f"mailprobe-egress-{egress}"


class Cluster:
    """The workers of one run: `start()`, `await ready()`, `await probe(...)`, `await aclose()`."""

    def __init__(self, config: Config, egresses: Sequence[Egress], scaleout: ScaleOut) -> None:
        self.config = config
        self.egresses = tuple(egresses)
        self.scaleout = scaleout
        self.resent = 0  # batches sent again after their worker died
        self._handles: dict[str, Any] = {}
        self._owns_ray = False

    def start(self) -> None:
        """Connect (blocking) and start the workers; raises ClusterError."""
        if not ray.is_initialized():
            self._connect()
        needed = [resource_of(e.name) for e in self.egresses]
        have: dict[str, float] = ray.cluster_resources()  # type: ignore[no-untyped-call]
        missing = [r for r in needed if have.get(r, 0.0) < 1.0]
        if missing:
            raise ClusterError(
                f"no node of the Ray cluster offers {', '.join(missing)}: start the node of each "
                f"egress with `ray start --resources '{{\"{missing[0]}\": 1}}' ...`"
            )
        remote = ray.remote(EgressWorker)
        for egress in self.egresses:
            self._handles[egress.name] = remote.options(
                name=worker_name(egress.name),
                resources={resource_of(egress.name): 1.0},
                num_cpus=0,  # it waits on sockets; the node's CPUs stay free for other work
                max_restarts=self.scaleout.restarts,
                max_task_retries=0,  # the driver sends a lost batch again itself
            ).remote(self.config, egress)

    def _connect(self) -> None:
        address = self.scaleout.address
        options: dict[str, Any] = {
            "include_dashboard": False,
            "logging_level": logging.WARNING,
            "log_to_driver": False,  # workers log into the cluster's session logs
        }
        if address == "local":
            options["resources"] = {resource_of(e.name): 1.0 for e in self.egresses}
        try:
            ray.init(address=address, **options)
        except ConnectionError as exc:
            raise ClusterError(
                f"no Ray cluster at {address!r} ({exc}); start one with `ray start --head` "
                "or use --ray local"
            ) from exc
        self._owns_ray = True

    async def ready(self) -> dict[str, int]:
        """Wait until every worker runs; returns their process ids. Raises ClusterError."""
        pids: dict[str, int] = {}
        for name, handle in self._handles.items():
            try:
                pids[name] = await asyncio.wait_for(
                    handle.ready.remote(), self.scaleout.ready_timeout_s
                )
            except (asyncio.TimeoutError, RayActorError) as exc:
                raise ClusterError(
                    f"the worker of egress {name} did not start within "
                    f"{self.scaleout.ready_timeout_s:.0f} s ({type(exc).__name__}): is "
                    f"{resource_of(name)} held by another job?"
                ) from exc
        return pids

    def handle(self, egress: str) -> Any:
        """The Ray actor handle of `egress`'s worker (tests kill it to prove the resend)."""
        return self._handles[egress]

    async def probe(
        self, egress: str, batch: list[tuple[int, Findings]]
    ) -> list[tuple[int, Answer]]:
        """`batch` asked through `egress`; sent again while Ray restarts a worker that died
        with it. Raises WorkerLost when the worker is gone for good."""
        handle = self._handles[egress]
        for attempt in range(self.scaleout.restarts + 1):
            try:
                answers: list[tuple[int, Answer]] = await handle.probe.remote(batch)
                return answers
            except RayActorError as exc:
                # Restarted (or restarting) under this batch: it may or may not have been
                # asked; asking again is harmless, since a probe never sends a message. A
                # worker dead for good fails the wait below.
                self.resent += 1
                log.warning(
                    "egress %s: worker restarted; sending %d addresses again (%d)",
                    egress, len(batch), attempt + 1,
                )  # fmt: skip
                await self._back(egress, exc)
        raise WorkerLost(f"egress {egress}: its worker kept dying ({self.scaleout.restarts} times)")

    async def _back(self, egress: str, cause: Exception) -> None:
        try:
            await asyncio.wait_for(
                self._handles[egress].ready.remote(), self.scaleout.ready_timeout_s
            )
        except (asyncio.TimeoutError, RayActorError) as exc:
            raise WorkerLost(f"egress {egress}: its worker did not come back ({exc})") from cause

    async def stats(self) -> list[WorkerStats]:
        """Each live worker's counters."""
        out: list[WorkerStats] = []
        for name, handle in self._handles.items():
            try:
                out.append(await asyncio.wait_for(handle.stats.remote(), _CLOSE_WAIT_S))
            except (asyncio.TimeoutError, RayActorError):
                log.warning("egress %s: no statistics (worker gone)", name)
        return out

    async def aclose(self) -> None:
        """End the workers' sessions, stop them, and leave Ray if this run joined it."""
        for handle in self._handles.values():
            with contextlib.suppress(asyncio.TimeoutError, RayActorError):
                await asyncio.wait_for(handle.aclose.remote(), _CLOSE_WAIT_S)
            ray.kill(handle, no_restart=True)
        self._handles.clear()
        if self._owns_ray:
            ray.shutdown()
            self._owns_ray = False
