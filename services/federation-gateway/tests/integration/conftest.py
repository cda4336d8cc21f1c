"""Two SEN1 collectives on loopback: two databases, two gateways on free ports.

Each gateway is built by the shipped ``bootstrap()`` and served by uvicorn; the
tests register each in the other's peer registry with the fingerprint of its key.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest_asyncio
import uvicorn
from cryptography.fernet import Fernet

from energy_core.observability import Health
from energy_core.settings import PostgresSettings
from federation_gateway.bootstrap import Runtime, bootstrap
from federation_gateway.egress import PeerGrant
from federation_gateway.repository import Peer
from federation_gateway.settings import Settings
from sen1_stack.broker import free_port
from sen1_stack.postgres import EmbeddedPostgres
from sen1_stack.pytest_plugin import TEMPLATE_DB


@dataclass
class Collective:
    """One running collective: its gateway's runtime and base URL."""

    domain: str
    url: str
    runtime: Runtime
    database: str = ""
    close: Callable[[], Awaitable[None]] = field(default=lambda: _nothing())
    """Stops this collective's gateway (a restart: start another on its database)."""

    def peer_entry(self, **grant: object) -> Peer:
        """How another collective registers this one."""
        return Peer(
            domain=self.domain,
            base_url=self.url,
            fingerprints=(self.runtime.keyring.current().kid,),
            grant=PeerGrant(domain=self.domain, **grant),  # type: ignore[arg-type]
        )


async def _nothing() -> None:
    return None


@pytest_asyncio.fixture
async def collectives(
    sen1_postgres: EmbeddedPostgres,
) -> AsyncIterator[Callable[[str], object]]:
    """A factory of running collectives; everything stops at the end of the test."""
    stop = asyncio.Event()
    servers: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []
    exits: list[object] = []

    async def start(
        domain: str,
        *,
        port: int = 0,
        new_database: bool = False,
        database: str = "",
        **overrides: object,
    ) -> Collective:
        """``new_database``: the gateway creates and migrates it (the demo neighbour);
        ``database``: reuse that one (a restarted gateway)."""
        name = database or f"t_{uuid.uuid4().hex[:12]}"
        if not new_database and not database:
            sen1_postgres.create_database(name, template=TEMPLATE_DB)
        port = port or free_port()
        url = f"http://127.0.0.1:{port}"
        values: dict[str, object] = {
            "secret_key": Fernet.generate_key().decode(),
            "push_interval_seconds": 0.2,
            "push_retry_base_seconds": 0.05,
            "push_retry_max_seconds": 0.2,
            **overrides,
        }
        settings = Settings(
            domain=domain,
            public_url=url,
            http_port=port,
            postgres=PostgresSettings(dsn=sen1_postgres.dsn(name)),
            **values,  # type: ignore[arg-type]
        )
        context = bootstrap(settings, stop=stop, health=Health())
        runtime = await context.__aenter__()
        exits.append(context)
        server = uvicorn.Server(
            uvicorn.Config(
                runtime.app, host="127.0.0.1", port=port, log_level="warning"
            )
        )
        task = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag only
            await asyncio.sleep(0.01)
        servers.append((server, task))

        async def close() -> None:
            server.should_exit = True
            await task
            servers.remove((server, task))
            exits.remove(context)
            await context.__aexit__(None, None, None)

        return Collective(domain, url, runtime, name, close)

    yield start
    stop.set()
    for server, task in servers:
        server.should_exit = True
        await task
    for context in reversed(exits):
        await context.__aexit__(None, None, None)  # type: ignore[attr-defined]
