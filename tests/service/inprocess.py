"""The service in the test's own event loop, driven through httpx's ASGI transport."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from engine.config import Config
from engine.service.app import create_app
from engine.service.keys import create_key
from engine.service.runtime import Service
from engine.service.settings import Settings
from tests.service.world import DNS_HOST, SMTP_PORT, World


@dataclass
class Running:
    service: Service
    client: httpx.AsyncClient
    key: str

    def new_key(self, name: str) -> str:
        return create_key(self.service.store, name)


def world_config(world: World | None, tmp_path: Path, **changes: Any) -> Config:
    if world is None:
        return Config(check_dns=False, check_smtp=False, **changes)
    return Config(
        nameservers=(DNS_HOST,),
        dns_port=world.dns.port,
        smtp_port=SMTP_PORT,
        allow_private_addresses=True,
        helo_name="probe.mailprobe.test",
        mail_from="verify@mailprobe.test",
        cache_path=tmp_path / "cache.sqlite3",
        **changes,
    )


@contextlib.asynccontextmanager
async def running(
    world: World | None, tmp_path: Path, *, config: Config | None = None, **settings: Any
) -> AsyncIterator[Running]:
    service = Service(
        config or world_config(world, tmp_path),
        Settings(data_dir=tmp_path / "data", **settings),
    )
    app = create_app(service, manage_service=False)
    async with service:
        key = create_key(service.store, "k")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://service.test", timeout=30
        ) as client:
            yield Running(service, client, key)
