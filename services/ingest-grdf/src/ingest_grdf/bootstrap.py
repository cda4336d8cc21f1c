"""The composition root of ingest-grdf, shared by ``__main__`` and the tests.

``bootstrap(settings)`` builds one HTTP client, one token provider and one
quota limiter (shared by every worker, and counted in PostgreSQL so that every
process shares it too: ADICT's quotas are the application's),
the Kafka publisher, the PostgreSQL repository and the service, registers one
readiness check per dependency (broker, database, ADICT token) and closes
everything in reverse on the way out. Tests pass what they already have.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import httpx

from energy_core.kafka import KafkaPublisher, Publisher
from energy_core.loops import Backoff
from energy_core.observability import Health
from energy_store.db import create_pool
from energy_store.ingest_status import StatusReporter
from ingest_grdf.client import AdictClient, QuotaLimiter, QuotaStore, TokenProvider
from ingest_grdf.repository.postgres import PostgresRepository
from ingest_grdf.service import SERVICE, GrdfService
from ingest_grdf.settings import Settings
from ingest_grdf.status import reporter


@dataclass(frozen=True, slots=True)
class Runtime:
    """What :func:`bootstrap` built."""

    settings: Settings
    client: AdictClient
    repository: PostgresRepository
    service: GrdfService
    kafka: KafkaPublisher | None
    status: StatusReporter | None = None
    """Writes quota use and backlog for the operator page (``__main__`` runs it)."""

    async def broker_ready(self) -> bool:
        """The broker answers (always true for a caller-given publisher)."""
        return await self.kafka.reachable() if self.kafka else True


def limiter_for(settings: Settings, store: QuotaStore | None = None) -> QuotaLimiter:
    """ADICT's application-wide quotas: 1 call/s and the daily cap, counted in
    ``store`` (PostgreSQL: shared by every process) when given."""
    return QuotaLimiter(
        settings.requests_per_second,
        settings.daily_cap,
        time_scale=settings.quota_time_scale,
        store=store,
    )


@contextlib.asynccontextmanager
async def bootstrap(
    settings: Settings,
    *,
    health: Health | None = None,
    publisher: Publisher | None = None,
    pool: asyncpg.Pool | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> AsyncIterator[Runtime]:
    """Builds and starts ingest-grdf; closes what it opened on exit."""
    async with contextlib.AsyncExitStack() as stack:
        http = httpx.AsyncClient(timeout=settings.http_timeout_s)
        stack.push_async_callback(http.aclose)
        tokens = TokenProvider(
            http,
            settings.token_url,
            settings.client_id,
            settings.client_secret.get_secret_value(),
            settings.scope,
            margin_s=settings.token_margin_s,
        )
        if pool is None:
            pool = await create_pool(settings.postgres)
            stack.push_async_callback(pool.close)
        repository = PostgresRepository(pool)
        client = AdictClient(
            http,
            settings.base_url,
            tokens,
            limiter_for(settings, repository),
            backoff=Backoff(
                settings.backoff_base_s, settings.backoff_max_s, jitter=True
            ),
            max_attempts=settings.max_attempts,
            injections_path=settings.injections_path,
        )
        kafka: KafkaPublisher | None = None
        if publisher is None:
            kafka = KafkaPublisher(settings.kafka, client_id=SERVICE)
            await kafka.start()
            stack.push_async_callback(kafka.stop)
            publisher = kafka
        service = GrdfService(settings, client, publisher, repository, clock=clock)
        runtime = Runtime(
            settings, client, repository, service, kafka, reporter(settings, pool)
        )
        if health is not None:
            health.add_check("kafka", runtime.broker_ready)
            health.add_check("postgres", repository.ping)
            health.add_check("adict_token", tokens.ready)
        yield runtime
