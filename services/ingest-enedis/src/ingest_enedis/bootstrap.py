"""The composition root of ingest-enedis, shared by ``__main__`` and the tests.

``bootstrap(settings)`` builds the limiter, the Data Connect client, the Kafka
publisher, the PostgreSQL repository and the collector, registers one readiness
check per dependency (broker, database, token) and closes everything in reverse
on the way out. Tests pass what they already have (the test database's pool, a
publisher that fails on purpose, a moving clock); nothing else differs from
production, so the wiring the tests exercise is the wiring that ships.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx

from energy_core.kafka import KafkaPublisher, Publisher
from energy_core.observability import Health
from energy_store.db import create_pool
from ingest_enedis.client import DataConnectClient
from ingest_enedis.limiter import SlidingWindowLimiter
from ingest_enedis.mapping import Stream
from ingest_enedis.repository.postgres import PostgresRepository
from ingest_enedis.service import SERVICE, Collector
from ingest_enedis.settings import Settings
from ingest_enedis.verifier import VerificationReport, verify_pending


@dataclass(frozen=True, slots=True)
class Runtime:
    """What :func:`bootstrap` built: the collector and the parts it wires."""

    settings: Settings
    client: DataConnectClient
    publisher: Publisher
    repository: PostgresRepository
    collector: Collector
    kafka: KafkaPublisher | None
    """The Kafka publisher bootstrap started (None when the caller gave one)."""

    async def broker_ready(self) -> bool:
        """The broker answers (always true for a caller-given publisher)."""
        return await self.kafka.reachable() if self.kafka else True


def limiter_for(settings: Settings) -> SlidingWindowLimiter:
    """The application-wide quota of Data Connect (Q3 per second, Q4 per hour)."""
    return SlidingWindowLimiter.per_second_and_hour(
        settings.requests_per_second,
        settings.requests_per_hour,
        time_scale=settings.quota_time_scale,
        margin_s=settings.quota_margin_s,
    )


async def _keep_session(conn: Any) -> None:
    """The pool's release without asyncpg's default reset query.

    The default (``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET
    ALL``) is one more round trip per acquire, about as many as the collector's
    own queries: nothing here sets session state (no advisory lock, LISTEN or
    SET; the audit actor is ``set_config(…, true)``, transaction-local), and
    asyncpg still rolls back a transaction left open before this is called.
    """


@contextlib.asynccontextmanager
async def bootstrap(
    settings: Settings,
    *,
    health: Health | None = None,
    publisher: Publisher | None = None,
    pool: asyncpg.Pool | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    streams: tuple[Stream, ...] = tuple(Stream),
    transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncIterator[Runtime]:
    """Builds and starts ingest-enedis; closes what it opened on exit.

    ``publisher`` and ``pool`` are used as given (and not closed) when passed;
    otherwise a Kafka publisher and a pool are made from ``settings``.
    """
    async with contextlib.AsyncExitStack() as stack:
        client = DataConnectClient(settings, limiter_for(settings), transport=transport)
        stack.push_async_callback(client.aclose)
        kafka: KafkaPublisher | None = None
        if publisher is None:
            kafka = KafkaPublisher(settings.kafka, client_id=SERVICE)
            await kafka.start()
            stack.push_async_callback(kafka.stop)
            publisher = kafka
        if pool is None:
            pool = await create_pool(settings.postgres, reset=_keep_session)
            stack.push_async_callback(pool.close)
        repository = PostgresRepository(pool)
        verified_pool = pool  # typed: no longer optional

        async def settle_pending(call: Any) -> VerificationReport:
            # before every cycle: only verified consents are collected
            return await verify_pending(verified_pool, client, call, clock())

        collector = Collector(
            settings, client, publisher, repository, clock=clock, streams=streams,
            before_cycle=settle_pending,
        )  # fmt: skip
        runtime = Runtime(settings, client, publisher, repository, collector, kafka)
        if health is not None:
            health.add_check("kafka", runtime.broker_ready)
            health.add_check("postgres", repository.ping)
            health.add_check("dataconnect_token", client.token_ready)
        yield runtime
