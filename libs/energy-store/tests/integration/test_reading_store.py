"""Reading batches through the real broker into PostgreSQL: replays change nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from energy_core import topics, wire
from energy_core.domain import (
    Energy,
    Kind,
    Prm,
    Quality,
    Reading,
    ReadingBatch,
    Source,
    Stamp,
    Unit,
)
from energy_core.kafka import KafkaPublisher, make_consumer
from energy_core.settings import KafkaSettings
from energy_store.readings import ReadingStore

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)  # Paris midnight of the 23-hour day


def curve(
    prm: str, values: list[float], quality: Quality = Quality.RAW
) -> ReadingBatch:
    readings = tuple(
        Reading(
            kind=Kind.INTERVAL,
            unit=Unit.KWH,
            start=T0 + timedelta(minutes=30 * i),
            end=T0 + timedelta(minutes=30 * (i + 1)),
            value=v,
            quality=quality,
        )
        for i, v in enumerate(values)
    )
    return ReadingBatch(
        meter=Prm(prm),
        source=Source.ENEDIS_DATACONNECT,
        energy=Energy.ELECTRICITY,
        readings=readings,
        stamped=Stamp.END,
    )


async def send(settings: KafkaSettings, batches: list[ReadingBatch]) -> None:
    publisher = KafkaPublisher(settings, client_id="test-producer")
    await publisher.start()
    try:
        for batch in batches:
            await publisher.publish(
                topics.READINGS, str(batch.meter), wire.batch_to_proto(batch)
            )
        await publisher.flush()
    finally:
        await publisher.stop()


async def drain_into_store(
    settings: KafkaSettings, pool: asyncpg.Pool, expected: int
) -> int:
    """Consumes `expected` records with a group, stores them, commits after the write."""
    consumer = make_consumer(
        settings, [topics.READINGS], group_id="test-sink", client_id="t"
    )
    store = ReadingStore()
    seen = 0
    await consumer.start()
    try:
        while seen < expected:
            polled = await consumer.getmany(timeout_ms=5000)
            assert polled, f"only {seen} of {expected} records arrived"
            batches = [wire.decode_batch(m.value) for ms in polled.values() for m in ms]
            async with pool.acquire() as conn, conn.transaction():
                await store.upsert(conn, batches)
            await consumer.commit()
            seen += len(batches)
    finally:
        await consumer.stop()
    return seen


async def totals(pool: asyncpg.Pool) -> tuple[int, float]:
    row = await pool.fetchrow("SELECT count(*) AS n, sum(value) AS wh FROM readings")
    assert row is not None
    return row["n"], row["wh"]


async def test_replaying_the_same_batches_changes_no_total(
    kafka_settings: KafkaSettings, pg_pool: asyncpg.Pool
) -> None:
    batches = [
        curve("30001610071843", [0.5, 0.25, 1.0]),
        curve("30001610071844", [2.0]),
    ]
    await send(kafka_settings, batches)
    assert await drain_into_store(kafka_settings, pg_pool, 2) == 2
    first = await totals(pg_pool)
    assert first == (4, 3750.0)  # kWh stored as Wh

    await send(kafka_settings, batches)  # the same data again (at-least-once replay)
    assert await drain_into_store(kafka_settings, pg_pool, 2) == 2
    assert await totals(pg_pool) == first


async def test_corrected_value_replaces_raw_and_raw_never_replaces_corrected(
    pg_pool: asyncpg.Pool,
) -> None:
    store = ReadingStore()
    raw = wire.batch_to_proto(curve("30001610071843", [1.0, 1.0]))
    fixed = wire.batch_to_proto(curve("30001610071843", [1.5], Quality.CORRECTED))
    async with pg_pool.acquire() as conn, conn.transaction():
        created = await store.upsert(conn, [raw])
    assert [c.old_value for c in created] == [None, None]
    async with pg_pool.acquire() as conn, conn.transaction():
        changed = await store.upsert(conn, [fixed])
    assert [(c.old_value, c.value, c.delta) for c in changed] == [
        (1000.0, 1500.0, 500.0)
    ]
    async with pg_pool.acquire() as conn, conn.transaction():
        assert await store.upsert(conn, [raw]) == []  # a late raw copy loses
    assert await totals(pg_pool) == (2, 2500.0)


async def test_duplicates_inside_one_write_count_once(pg_pool: asyncpg.Pool) -> None:
    store = ReadingStore()
    batch = wire.batch_to_proto(curve("30001610071843", [1.0]))
    async with pg_pool.acquire() as conn, conn.transaction():
        changes = await store.upsert(conn, [batch, batch, batch])
    assert len(changes) == 1
    assert await totals(pg_pool) == (1, 1000.0)
