"""Alerts are delivered at least once: a crash between the commit of an alert change
and its publication loses nothing (real PostgreSQL and broker)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from aggregator.congestion import CongestionPolicy
from aggregator.load import LoadMonitor
from aggregator.outbox import relay_alerts
from energy_core import topics
from energy_core.domain.readings import Kind
from energy_core.kafka import make_consumer, make_producer
from energy_core.settings import KafkaSettings
from energy_core.wire import ALERT_CHANGES, decode_alert

from .conftest import batch
from .test_aggregator_pipeline import make_pipeline, run

pytestmark = pytest.mark.integration


class Crash(Exception):
    """The leader dies after committing the alert, before the broker has the event."""


async def test_an_alert_committed_before_a_crash_is_still_published(
    territory_db: asyncpg.Pool, kafka_settings: KafkaSettings
) -> None:
    pipeline = await make_pipeline(territory_db)
    now = datetime.now(UTC)
    await run(territory_db, pipeline, [
        batch("30000000000001", now, [12000], kind=Kind.INSTANT),
    ])  # fmt: skip
    monitor = LoadMonitor(
        CongestionPolicy(min_duration=timedelta(0)), stale_after=timedelta(seconds=30)
    )

    async def dies(iris: str, payload: bytes) -> None:
        raise Crash

    async with territory_db.acquire() as conn:
        changes = await monitor.sample(conn, now)  # commits the alert + outbox row
        with pytest.raises(Crash):
            await relay_alerts(conn, dies)
    assert [t.change for t in changes] == ["raised"]
    assert await territory_db.fetchval("SELECT count(*) FROM alerts") == 1
    pending = "SELECT count(*) FROM alerts_outbox WHERE published_at IS NULL"
    assert await territory_db.fetchval(pending) == 1

    # The next leader (fresh connection, fresh state) relays what was left.
    producer = make_producer(kafka_settings, client_id="test-alerts-relay")
    await producer.start()
    topic = kafka_settings.topic_name(topics.ALERTS)

    async def send(iris: str, payload: bytes) -> None:
        await producer.send_and_wait(topic, payload, key=iris.encode())

    try:
        successor = LoadMonitor(CongestionPolicy(), stale_after=timedelta(seconds=30))
        async with territory_db.acquire() as conn:
            await successor.reload(conn)
            assert await relay_alerts(conn, send) == 1
            assert await relay_alerts(conn, send) == 0  # marked: not sent again
            await successor.sample(conn, now + timedelta(seconds=1))  # no new change
            assert await relay_alerts(conn, send) == 0
    finally:
        await producer.stop()
    assert await territory_db.fetchval(pending) == 0

    consumer = make_consumer(
        kafka_settings, [topics.ALERTS], group_id=None, client_id="test-alerts",
        auto_offset_reset="earliest",
    )  # fmt: skip
    await consumer.start()
    try:
        records = []
        for _ in range(10):
            polled = await consumer.getmany(timeout_ms=1000)
            records += [r for rs in polled.values() for r in rs]
            if records:
                break
    finally:
        await consumer.stop()
    (record,) = records
    event = decode_alert(record.value)
    alert_id = await territory_db.fetchval("SELECT alert_id FROM alerts")
    assert (record.key, event.alert_id, event.change, event.level) == (
        b"381510101", str(alert_id), ALERT_CHANGES["raised"], 3,
    )  # fmt: skip


async def test_an_alert_change_rolled_back_is_never_announced(
    territory_db: asyncpg.Pool,
) -> None:
    """The outbox row shares the change's transaction: no change, no event."""
    pipeline = await make_pipeline(territory_db)
    now = datetime.now(UTC)
    await run(territory_db, pipeline, [
        batch("30000000000001", now, [12000], kind=Kind.INSTANT),
    ])  # fmt: skip
    monitor = LoadMonitor(
        CongestionPolicy(min_duration=timedelta(0)), stale_after=timedelta(seconds=30)
    )
    async with territory_db.acquire() as conn:
        await conn.execute(
            "CREATE FUNCTION fail() RETURNS trigger LANGUAGE plpgsql AS "
            "$$BEGIN RAISE EXCEPTION 'events refused'; END$$;"
            "CREATE TRIGGER refuse BEFORE INSERT ON alert_events "
            "FOR EACH ROW EXECUTE FUNCTION fail()"
        )
        with pytest.raises(asyncpg.RaiseError):
            await monitor.sample(conn, now)
    assert await territory_db.fetchval("SELECT count(*) FROM alerts") == 0
    assert await territory_db.fetchval("SELECT count(*) FROM alerts_outbox") == 0
