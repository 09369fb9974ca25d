"""Waiting for the service: a route asked again and again until its JSON says a test may go on."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

STEP_S = 0.05


async def poll(
    client: httpx.AsyncClient,
    path: str,
    done: Callable[[dict[str, Any]], bool],
    *,
    tries: int = 1200,
    **kw: Any,
) -> dict[str, Any]:
    """GET `path` (with `kw`) until `done(body)`; its last body, or AssertionError after `tries`."""
    body: dict[str, Any] = {}
    for _ in range(tries):
        body = (await client.get(path, **kw)).json()
        if done(body):
            return body
        await asyncio.sleep(STEP_S)
    raise AssertionError(f"{path} never got there: {body}")
