"""The composition root of ingest-flukso, shared by ``__main__`` and the tests.

``bootstrap(settings, stop=...)`` starts the Kafka publisher (waiting for a broker
that is not up yet, until ``stop``), opens the flukso.net HTTP client, builds the
service and registers one readiness check per dependency (every MQTT broker
followed, Kafka); everything is closed in reverse on exit. Tests pass their own
publisher or MQTT connector; the rest is the wiring that ships.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx

from energy_core.kafka import KafkaPublisher, Publisher, start_when_reachable
from energy_core.observability import Health
from ingest_flukso.client import Connect, FluksoApi
from ingest_flukso.service import SERVICE, FluksoService
from ingest_flukso.settings import Settings


class StoppedBeforeStartError(Exception):
    """``stop`` was set before Kafka ever answered: nothing was started."""


@dataclass(frozen=True, slots=True)
class Runtime:
    """What :func:`bootstrap` built."""

    service: FluksoService
    publisher: Publisher
    kafka: KafkaPublisher | None
    """The Kafka publisher bootstrap started (None when the caller gave one)."""

    async def broker_ready(self) -> bool:
        """The broker answers (always true for a caller-given publisher)."""
        return await self.kafka.reachable() if self.kafka else True


@contextlib.asynccontextmanager
async def bootstrap(
    settings: Settings,
    *,
    stop: asyncio.Event,
    health: Health | None = None,
    publisher: Publisher | None = None,
    connect: Connect | None = None,
    clock: Callable[[], float] = time.time,
) -> AsyncIterator[Runtime]:
    """Builds and starts ingest-flukso; closes what it opened on exit.

    Raises StoppedBeforeStartError if ``stop`` is set before Kafka answered.
    """
    async with contextlib.AsyncExitStack() as stack:
        kafka: KafkaPublisher | None = None
        if publisher is None:
            kafka = KafkaPublisher(settings.kafka, client_id=SERVICE)
            if not await start_when_reachable(kafka, stop):
                raise StoppedBeforeStartError(SERVICE)
            stack.push_async_callback(kafka.stop)
            publisher = kafka
        http = await stack.enter_async_context(
            httpx.AsyncClient(base_url=settings.api_url, timeout=30)
        )
        service = FluksoService(
            settings,
            publisher,
            FluksoApi(http, settings.api_token),
            clock=clock,
            connect=connect,
        )
        runtime = Runtime(service, publisher, kafka)
        if health is not None:
            health.add_check("mqtt", service.ready)
            health.add_check("kafka", runtime.broker_ready)
        yield runtime
