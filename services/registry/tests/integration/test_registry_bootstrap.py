"""The production wiring (bootstrap) against the real PostgreSQL and broker."""

from __future__ import annotations

import asyncpg
import pytest

from energy_core.observability import Health
from energy_core.settings import KafkaSettings, PostgresSettings
from energy_store import demo
from energy_store.loader import load_territory
from registry import metrics
from registry.bootstrap import bootstrap
from registry.settings import RegistrySettings

pytestmark = pytest.mark.integration


async def test_bootstrap_republishes_the_territory_and_reports_ready(
    pg_pool: asyncpg.Pool,
    kafka_settings: KafkaSettings,
    postgres_settings: PostgresSettings,
) -> None:
    territory = demo.build()
    await load_territory(pg_pool, territory)
    entities = (
        len(territory.neighbourhoods)
        + len(territory.parcels)
        + len(territory.buildings)
        + len(territory.meters)
    )
    # as after a broker restart: every change already relayed once
    await pg_pool.execute("UPDATE territory_outbox SET published_at = now()")
    settings = RegistrySettings(kafka=kafka_settings, postgres=postgres_settings)
    health = Health()
    before = metrics.ENTITIES_PUBLISHED._value.get()
    async with bootstrap(settings, health=health, pool=pg_pool) as runtime:
        ready, checks = await health.readiness()
        assert ready
        assert checks == {"postgres": True, "kafka": True}
        pending, oldest = await runtime.outbox.backlog()
        assert pending == entities  # republish_on_start queued everything
        assert oldest is not None
        assert oldest.tzinfo is not None
        while await runtime.relay.step():
            pass
        assert await runtime.outbox.backlog() == (0, None)
    assert metrics.ENTITIES_PUBLISHED._value.get() - before == pending
    assert metrics.OUTBOX_BACKLOG._value.get() == 0
