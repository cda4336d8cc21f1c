"""Emulator over real HTTP (uvicorn on a free port) + a collector wired to it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import httpx
import pytest_asyncio
import uvicorn

from enedis_emulator import EmulatorState, build_app, build_state
from enedis_emulator.settings import EmulatorSettings
from energy_core import topics
from energy_core.kafka import Publisher
from energy_core.wire import batch_from_proto, decode_batch
from ingest_enedis.bootstrap import bootstrap
from ingest_enedis.service import Collector
from ingest_enedis.settings import Settings
from sen1_stack.broker import free_port
from sen1_stack.topic_reader import drain

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 10:00 Paris: J-1 is published


class MovingClock:
    """A clock both sides share in a test; ``now`` is moved by the test."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest_asyncio.fixture
async def emulator_factory() -> AsyncIterator[object]:
    """Starts emulators over real HTTP (uvicorn on a free port) with given settings."""
    servers: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []

    async def factory(**overrides: object) -> tuple[str, EmulatorState]:
        port = free_port()
        values: dict[str, object] = {
            "http_port": port,
            "with_demo": False,
            "requests_per_second": 400,
            "requests_per_hour": 10**7,
        }
        values.update(overrides)
        settings = EmulatorSettings(**values)  # type: ignore[arg-type]
        state = build_state(settings, clock=lambda: NOW)
        server = uvicorn.Server(
            uvicorn.Config(
                build_app(state), host="127.0.0.1", port=port, log_level="warning"
            )
        )
        task = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag only
            await asyncio.sleep(0.02)
        servers.append((server, task))
        return f"http://127.0.0.1:{port}", state

    yield factory
    for server, task in servers:
        server.should_exit = True
        await task


@pytest_asyncio.fixture
async def emulator(emulator_factory) -> tuple[str, EmulatorState]:
    return await emulator_factory()


def make_settings(base: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "base_url": base,
        "token_url": f"{base}/oauth2/v3/token",
        "requests_per_second": 300,
        "requests_per_hour": 10**7,
        "workers": 4,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.05,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest_asyncio.fixture
async def collector_factory(emulator, kafka_settings, pg_pool):
    """Collectors built by the service's own composition root (``bootstrap``)."""
    async with contextlib.AsyncExitStack() as stack:

        async def factory(
            *,
            base: str | None = None,
            clock: Callable[[], datetime] = lambda: NOW,
            publisher: Publisher | None = None,
            **overrides: object,
        ) -> Collector:
            settings = make_settings(
                base or emulator[0], kafka=kafka_settings, **overrides
            )
            runtime = await stack.enter_async_context(
                bootstrap(settings, publisher=publisher, pool=pg_pool, clock=clock)
            )
            return runtime.collector

        yield factory


async def consume_all(kafka_settings, spec=topics.READINGS) -> list:
    out = [record.value for record in await drain(kafka_settings, spec)]
    if spec is topics.READINGS:
        return [batch_from_proto(decode_batch(v)) for v in out]
    return out


async def person(pg_pool) -> str:
    return str(
        await pg_pool.fetchval(
            "INSERT INTO people (display_name) VALUES ('test') RETURNING person_id"
        )
    )


async def http_get(url: str) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.get(url)
