"""The rebuild path goes through the same composition root as the worker."""

from __future__ import annotations

import asyncpg
import pytest

from aggregator.bootstrap import rebuilding
from aggregator.rebuild import rebuild
from aggregator.settings import Settings
from energy_core.settings import PostgresSettings
from energy_store import demo
from energy_store.loader import load_territory

pytestmark = pytest.mark.integration


async def test_rebuilding_loads_the_territory_and_rebuilds(
    pg_pool: asyncpg.Pool, postgres_settings: PostgresSettings
) -> None:
    await load_territory(pg_pool, demo.build())
    settings = Settings(postgres=postgres_settings, work_mem_mb=64)
    async with rebuilding(settings) as (pool, pipeline):
        assert pipeline.territory.ready.is_set()
        assert await rebuild(pool, pipeline) == 0  # no readings stored yet
    assert pool.is_closing()  # the root closes the pool it opened
