"""ScaleOut: how a bulk job runs on a Ray cluster, every knob with its documented default.

A frozen value beside engine.config.Config (which still says everything about the checks and
the egresses); nothing here imports Ray.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RESOURCE_PREFIX", "ScaleOut", "resource_of"]

RESOURCE_PREFIX = "egress:"
"""A node that may send sessions as egress NAME offers the custom resource `egress:NAME`
(`ray start --resources '{"egress:a": 1}'`); the worker of that egress asks for all of it."""


def resource_of(egress: str) -> str:
    """The custom resource that pins egress `egress`'s worker to its node."""
    return RESOURCE_PREFIX + egress


@dataclass(frozen=True, slots=True, kw_only=True)
class ScaleOut:
    """How to run on Ray.

    Args:
        address: "auto" joins the running cluster (RAY_ADDRESS, else the last `ray start` on
            this machine); "local" starts a one-machine Ray here with an `egress:NAME` resource
            for every configured egress; anything else is the head's HOST:PORT.
        spread: egresses that share one site's addresses (a provider, or the domains with the
            same primary MX). 1: each site is asked by exactly one egress, so the cluster sends
            it no more than one machine would. k: the site's addresses are split over k
            egresses (each with its own limits), for big providers that judge each client IP
            on its own; the cluster total toward it is then at most k times the limits.
        batch: addresses in one call to an egress's worker.
        linger_s: how long the driver waits to fill a batch before sending what it has.
        restarts: times Ray restarts a worker that died; a batch in flight when it died is
            sent again each time, so its addresses are asked again (no mail is ever sent).
        ready_timeout_s: how long to wait for each worker to start (its node may be busy, or
            another job may hold the egress).
    """

    address: str = "auto"
    spread: int = 1
    batch: int = 100
    linger_s: float = 0.02
    restarts: int = 3
    ready_timeout_s: float = 120.0

    def __post_init__(self) -> None:
        if not self.address or any(c.isspace() for c in self.address):
            raise ValueError("the Ray address is 'auto', 'local' or HOST:PORT")
        if self.spread < 1 or self.batch < 1:
            raise ValueError("spread and batch must be >= 1")
        if self.restarts < 0:
            raise ValueError("restarts must be >= 0")
        if self.linger_s < 0 or self.ready_timeout_s <= 0:
            raise ValueError("linger_s must be >= 0 and ready_timeout_s > 0")
