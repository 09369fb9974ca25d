"""Settings of the HTTP service: where it keeps its data and the limits it applies to clients.

A frozen value built by the `serve` command; the engine's own knobs stay in engine.Config.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def default_data_dir() -> Path:
    """$XDG_DATA_HOME/mailprobe or ~/.local/share/mailprobe."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "mailprobe"


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Everything the service decides on its own, with documented defaults."""

    data_dir: Path
    # Per-key request rate: a token bucket refilled at `rate_per_s`, holding up to `burst`.
    rate_per_s: float = 20.0
    burst: int = 40
    max_body_bytes: int = 1 << 20  # a JSON body of a single check or a small request
    max_json_job_bytes: int = 64 << 20  # a JSON job: parsed in memory, so bounded
    max_upload_bytes: int = 2 << 30  # a CSV job: streamed to disk, so only disk bounds it
    verify_wait_s: float = 30.0  # how long a single check waits when no timeout is given
    max_wait_s: float = 300.0
    recent_ttl_s: float = 300.0  # the same question within this long is answered from memory
    recent_max: int = 100_000
    window: int = 2000  # addresses of one job in flight
    max_running_jobs: int = 4
    allow_private_callbacks: bool = False  # SSRF guard for webhook URLs
    # Waits between the 5 attempts of a webhook delivery (Standard Webhooks' schedule, cut).
    webhook_backoff_s: tuple[float, ...] = (5.0, 300.0, 1800.0, 7200.0)
    webhook_timeout_s: float = 15.0
    progress_every_s: float = 30.0  # at most one job.progress webhook per job this often
    event_every_s: float = 0.5  # server-sent progress events per job, at most this often
    # A check in flight this long while no row of its job settles counts as waiting on a slow
    # server: the job then shows how many wait instead of an ETA from the rows done.
    slow_after_s: float = 5.0

    def __post_init__(self) -> None:
        if self.rate_per_s <= 0 or self.burst < 1:
            raise ValueError("rate_per_s must be > 0 and burst >= 1")
        if self.window < 1 or self.max_running_jobs < 1:
            raise ValueError("window and max_running_jobs must be >= 1")
        if self.slow_after_s <= 0:
            raise ValueError("slow_after_s must be > 0")
        if len(self.webhook_backoff_s) < 1:
            raise ValueError("webhook_backoff_s needs at least one wait")
