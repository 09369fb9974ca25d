"""`mailprobe verify --ray ADDRESS`: the CLI's online run, with the SMTP stage on a Ray cluster.

engine.commands hands this run to engine.cli, which keeps everything else of `verify` (input,
output in order, the progress journal behind --resume, the summary); only the checking differs.
"""

from __future__ import annotations

import argparse
import functools
import os
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

from engine.cli import UsageError
from engine.ordered import check_many
from engine.progressbar import Progress
from engine.scaleout.config import ScaleOut
from engine.scaleout.errors import ClusterError
from engine.scaleout.job import ClusterVerifier
from engine.streams import Row, Writer
from engine.verifier import Verifier

__all__ = ["online_run", "run_online"]


def online_run(args: argparse.Namespace) -> Callable[..., Coroutine[Any, Any, str]]:
    """The run engine.cli's `verify` uses in place of its own for `--ray`."""
    return functools.partial(run_online, address=args.ray, spread=args.ray_spread)


async def run_online(
    verifier: Verifier,
    rows: Iterator[Row],
    writer: Writer,
    progress: Progress,
    *,
    window: int,
    refresh: bool,
    address: str,
    spread: int = 1,
) -> str:
    """Check `rows` on the cluster at `address`, writing each result in input order; returns
    the summary line. Raises UsageError when the cluster cannot run the job."""
    try:
        scaleout = ScaleOut(address=address, spread=spread)
    except ValueError as exc:
        raise UsageError(f"--ray / --ray-spread: {exc}") from exc
    # Ray reports usage to its authors unless told not to; mailprobe never phones home.
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    cache = None
    if verifier.config.cache_path is not None:
        from engine.cache import SqliteCache

        cache = SqliteCache(verifier.config.cache_path, verifier.config)
    cluster = ClusterVerifier(scaleout=scaleout, verifier=verifier, cache=cache, refresh=refresh)
    try:
        await cluster.start()
        async for row, result in check_many(rows, lambda r: cluster.check(r.raw), window=window):
            writer.write(row, result)
            progress.add(result)
    except ClusterError as exc:
        raise UsageError(str(exc)) from exc
    finally:
        await cluster.aclose()
    return cluster.summary()
