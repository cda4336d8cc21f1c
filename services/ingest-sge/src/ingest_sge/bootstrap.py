"""The composition root of ingest-sge, shared by ``__main__`` and the tests.

``bootstrap(settings, stop=...)`` starts the Kafka publisher (waiting for a broker
that is not up yet, until ``stop``), opens the PostgreSQL pool of the file ledger,
builds the collector with the SFTP drop of the settings (and, when the SGE kit
and certificate are configured, the SOAP client, the authorisation-checking
reader and the portfolio enrolment), and registers one
readiness check per dependency (broker, database, the drop's last poll). Tests
pass their own publisher or pool; the rest is the wiring that ships.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from energy_core.kafka import KafkaPublisher, Publisher, start_when_reachable
from energy_core.observability import Health
from energy_store.db import create_pool
from ingest_sge.client import SftpDrop
from ingest_sge.client.soap import SgeSoapClient
from ingest_sge.enrolment import EnrolmentWorker
from ingest_sge.portfolio import Portfolio
from ingest_sge.reader import MeasuresReader
from ingest_sge.repository.authorisations import PostgresAuthorisations
from ingest_sge.repository.enrolments import PostgresEnrolments
from ingest_sge.repository.postgres import PostgresLedger
from ingest_sge.service import SERVICE, Drop, FluxCollector
from ingest_sge.settings import Settings


class StoppedBeforeStartError(Exception):
    """``stop`` was set before Kafka ever answered: nothing was started."""


@dataclass(frozen=True, slots=True)
class Runtime:
    """What :func:`bootstrap` built."""

    settings: Settings
    collector: FluxCollector
    ledger: PostgresLedger
    publisher: Publisher
    portfolio: Portfolio | None
    """Enrolment of sites (None while the SOAP client is not configured)."""
    enrolment: EnrolmentWorker | None
    """The worker of the sites registered through the api (None without SOAP)."""
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
    pool: asyncpg.Pool | None = None,
    clock: Callable[[], float] = time.time,
) -> AsyncIterator[Runtime]:
    """Builds and starts ingest-sge; closes what it opened on exit.

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
        if pool is None:
            pool = await create_pool(settings.postgres)
            stack.push_async_callback(pool.close)
        ledger = PostgresLedger(pool)
        target = settings.sftp_target()

        def drop() -> AbstractAsyncContextManager[Drop]:
            return SftpDrop(target, settings.spool_dir)

        collector = FluxCollector(
            publisher,
            ledger,
            settings.keys(),
            drop=drop,
            spool=settings.spool_dir,
            publish_every_records=settings.publish_every_records,
            ambiguous=settings.ambiguous_hour,
            settle_s=settings.settle_s,
            max_attempts=settings.max_attempts,
            clock=clock,
        )
        portfolio: Portfolio | None = None
        enrolment: EnrolmentWorker | None = None
        soap_config = settings.soap_config()
        if soap_config is not None:
            soap = SgeSoapClient(soap_config)
            stack.push_async_callback(soap.aclose)
            reader = MeasuresReader(
                soap,
                PostgresAuthorisations(pool),
                ambiguous=settings.ambiguous_hour,
                clock=clock,
            )
            portfolio = Portfolio(
                reader,
                soap,
                publisher,
                directory=soap,
                history_days=settings.backfill_days,
            )
            enrolment = EnrolmentWorker(
                PostgresEnrolments(
                    pool, lease=timedelta(seconds=settings.enrolment_lease_s)
                ),
                portfolio,
                stopper=soap,
                publisher=publisher,
                clock=clock,
                batch=settings.enrolment_batch,
            )
        runtime = Runtime(
            settings, collector, ledger, publisher, portfolio, enrolment, kafka
        )
        if health is not None:
            health.add_check("kafka", runtime.broker_ready)
            health.add_check("postgres", ledger.ping)
        yield runtime
