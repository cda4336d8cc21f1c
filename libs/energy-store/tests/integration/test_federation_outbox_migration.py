"""Migration 1702_federation_outbox: the triggers write nothing until a gateway
enabled the outbox, then one row per changed bucket in the writer's transaction;
it downgrades and upgrades again cleanly."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from alembic import command

from energy_store import migrate

pytestmark = pytest.mark.integration

ROLLUP = """
INSERT INTO rollups (scope, scope_id, bucket, bucket_start, bucket_end, energy,
    direction, quality, unit, value, delivery_points, max_point_value)
SELECT 'commune', '38151', 'P1D', d, d + interval '1 day', $1, 'consumption', 'raw',
       $2, 1, 12, 0.1
FROM generate_series('2026-11-01'::timestamptz, '2026-11-03', interval '1 day') d
ON CONFLICT (scope, scope_id, bucket, bucket_start, energy, direction, quality, unit)
DO UPDATE SET value = rollups.value + 1
"""


async def test_outbox_triggers_and_round_trip(sen1_postgres) -> None:
    name = f"m_{uuid.uuid4().hex[:12]}"
    sen1_postgres.create_database(name)
    dsn = sen1_postgres.dsn(name)
    migrate.upgrade(dsn)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(ROLLUP, "electricity", "Wh")
        assert await conn.fetchval("SELECT count(*) FROM federation_outbox") == 0
        await conn.execute("INSERT INTO federation_outbox_enabled DEFAULT VALUES")
        async with conn.transaction():
            xid = await conn.fetchval("SELECT pg_current_xact_id()::text")
            await conn.execute(ROLLUP, "electricity", "Wh")  # three updates
            await conn.execute(ROLLUP, "gas", "m3")  # gas: not federated
        rows = await conn.fetch(
            "SELECT xid::text, scope, scope_id, bucket, bucket_start"
            " FROM federation_outbox ORDER BY bucket_start"
        )
        assert len(rows) == 3
        assert {r["xid"] for r in rows} == {xid}
    finally:
        await conn.close()
    config = migrate.alembic_config(dsn)
    command.downgrade(config, "1701_federation")
    conn = await asyncpg.connect(dsn)
    try:
        assert not await conn.fetchval(
            "SELECT to_regclass('federation_outbox') IS NOT NULL"
        )
        await conn.execute(ROLLUP, "electricity", "Wh")  # no trigger left behind
    finally:
        await conn.close()
    migrate.upgrade(dsn)
