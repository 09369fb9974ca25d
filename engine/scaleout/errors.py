"""What can stop a cluster run before or while it runs; no Ray here, so callers can catch these
without importing it."""

from __future__ import annotations

__all__ = ["ClusterError", "WorkerLost"]


class ClusterError(Exception):
    """The cluster cannot run the job as configured (Ray missing, no cluster, an egress no node
    offers, a worker that never started); the message says what to do."""


class WorkerLost(Exception):
    """A worker died more often than it may be restarted, or never came back. Its addresses
    are settled as transient faults (unknown), never as undeliverable."""
