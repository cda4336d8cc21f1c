"""The composition root of the registry relay, shared by ``__main__`` and the tests.

``bootstrap(settings)`` makes sure the topics exist, builds the pool, the Kafka
publisher, the outbox repository and the :class:`~registry.service.Relay`,
queues every entity when ``republish_on_start`` (so a memory broker is refilled),
registers one readiness check per dependency (PostgreSQL, broker) and closes
everything in reverse on exit. Tests pass their own pool and publisher.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg

from energy_core import topics
from energy_core.kafka import KafkaPublisher, Publisher, ensure_topics
from energy_core.observability import Health
from energy_store.db import create_pool
from energy_store.territory import enqueue_everything
from registry.repository import PostgresOutbox
from registry.service import SERVICE, Relay
from registry.settings import RegistrySettings

logger = logging.getLogger(SERVICE)


@dataclass(frozen=True, slots=True)
class Runtime:
    """What :func:`bootstrap` built."""

    settings: RegistrySettings
    outbox: PostgresOutbox
    relay: Relay
    kafka: KafkaPublisher | None
    """The Kafka publisher bootstrap started (None when the caller gave one)."""

    async def broker_ready(self) -> bool:
        """The broker answers (always true for a caller-given publisher)."""
        return await self.kafka.reachable() if self.kafka else True


@contextlib.asynccontextmanager
async def bootstrap(
    settings: RegistrySettings,
    *,
    health: Health | None = None,
    publisher: Publisher | None = None,
    pool: asyncpg.Pool | None = None,
) -> AsyncIterator[Runtime]:
    """Builds the relay; ``publisher`` and ``pool`` are used as given (not closed)."""
    async with contextlib.AsyncExitStack() as stack:
        kafka: KafkaPublisher | None = None
        if publisher is None:
            await ensure_topics(settings.kafka, topics.ALL)
            kafka = KafkaPublisher(settings.kafka, client_id=SERVICE)
            await kafka.start()
            stack.push_async_callback(kafka.stop)
            publisher = kafka
        if pool is None:
            pool = await create_pool(settings.postgres)
            stack.push_async_callback(pool.close)
        outbox = PostgresOutbox(pool, publisher)
        runtime = Runtime(
            settings, outbox, Relay(outbox, interval_s=settings.relay_interval_s), kafka
        )
        if health is not None:
            health.add_check("postgres", outbox.ping)
            health.add_check("kafka", runtime.broker_ready)
        if settings.republish_on_start:
            async with pool.acquire() as conn:
                queued = await enqueue_everything(conn)
            logger.info("queued %d territory entities for republication", queued)
        yield runtime
