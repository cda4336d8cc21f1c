"""An upgraded database gets its rollups back without a manual step.

A database that holds readings but whose rollups were emptied (``1101`` changed the
rule) is marked by migration ``1801_demo``; the aggregator's worker start replays
the readings once and clears the mark. A fresh database is not marked.
"""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest
from alembic import command

from aggregator.__main__ import _rebuild
from aggregator.settings import Settings
from energy_core.settings import PostgresSettings
from energy_store.migrate import alembic_config

from .conftest import batch
from .test_aggregator_pipeline import make_pipeline

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 1, 23, tzinfo=UTC)
SNAPSHOT = (
    "SELECT scope, scope_id, bucket, bucket_start, direction, quality, value, "
    "delivery_points FROM rollups ORDER BY 1, 2, 3, 4, 5, 6"
)


async def test_emptied_rollups_come_back_at_worker_start(
    territory_db: asyncpg.Pool, postgres_settings: PostgresSettings, pg_dsn: str
) -> None:
    assert not await territory_db.fetch("SELECT * FROM aggregator_pending_rebuilds")
    pipeline = await make_pipeline(territory_db)
    async with territory_db.acquire() as conn:
        await pipeline.process(
            conn,
            [batch("30000000000001", T0, [100.0] * 48),
             batch("30000000000003", T0, [50.0] * 48)],
        )  # fmt: skip
    before = await territory_db.fetch(SNAPSHOT)
    assert before
    # What 1101 did to a database with data: rollups emptied, readings kept.
    await territory_db.execute(
        "TRUNCATE rollups, aggregator_meter_days, aggregator_meter_months"
    )
    config = alembic_config(pg_dsn)
    command.downgrade(config, "demo@-1")
    command.upgrade(config, "heads")
    marks = await territory_db.fetch("SELECT reason FROM aggregator_pending_rebuilds")
    assert [r["reason"] for r in marks] == ["1101_aggregator_delivery_points"]

    settings = Settings(postgres=postgres_settings)
    await _rebuild(settings, only_if_requested=True)  # what `worker` runs first
    assert await territory_db.fetch(SNAPSHOT) == before
    assert not await territory_db.fetch("SELECT * FROM aggregator_pending_rebuilds")

    # Nothing pending: a second start does not touch the rollups.
    await territory_db.execute("UPDATE rollups SET value = value + 1")
    await _rebuild(settings, only_if_requested=True)
    changed = await territory_db.fetch(SNAPSHOT)
    assert [r["value"] for r in changed] == [r["value"] + 1 for r in before]
