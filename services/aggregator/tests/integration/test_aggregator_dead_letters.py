"""Dead letters of every service counted in PostgreSQL by a real Faust worker.

An ingest service's letter (sent with the same publisher the services use), a
record the aggregator itself refuses (a malformed reading batch: the aggregator
dead-letters it, then counts its own letter) and bytes that are no DeadLetter at
all. Then the topic is read again from its first offset, as a consumer-group reset
or a crash before the commit would: nothing is counted twice.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from aggregator import dead_letters
from energy_core import topics
from energy_core.kafka import make_consumer, make_producer
from energy_core.settings import KafkaSettings, PostgresSettings
from energy_core.wire import dead_letter

from .test_aggregator_workers import start_worker, stop, wait_for

pytestmark = pytest.mark.integration

PCE = "21546000000001"


async def test_letters_counted_once_without_meter_ids(
    territory_db: asyncpg.Pool,
    kafka_settings: KafkaSettings,
    postgres_settings: PostgresSettings,
    tmp_path: Path,
) -> None:
    os.chmod(tmp_path, 0o755)  # noqa: S103 - the embedded PostgreSQL user reads it
    letter = dead_letter(
        service="ingest-grdf",
        reason=f"PCE {PCE}: volume is negative (-3.0 m3)",
        error_type="PayloadInvalidError",
        origin=f"/adict/v2/pce/{PCE}/donnees_consos_informatives",
        payload=b'{"pce": "' + PCE.encode() + b'"}',
    )
    producer = make_producer(kafka_settings, client_id="test-dead-letters")
    await producer.start()
    try:
        dl_topic = kafka_settings.topic_name(topics.DEAD_LETTERS)
        await producer.send_and_wait(
            dl_topic, letter.SerializeToString(), key=b"ingest-grdf"
        )
        await producer.send_and_wait(dl_topic, b"\xff\xfe not protobuf", key=b"x")
        await producer.send_and_wait(
            kafka_settings.topic_name(topics.READINGS),
            b"\x0a\xff\xff garbage",
            key=b"30000000000001",
        )
    finally:
        await producer.stop()

    worker, _ = start_worker(kafka_settings, postgres_settings, tmp_path, "w")
    try:
        count_sql = "SELECT count(*) FROM dead_letters"
        assert await wait_for(territory_db, count_sql, 3, 120) == 3
    finally:
        stop(worker)

    rows = {
        r["service"]: r for r in await territory_db.fetch("SELECT * FROM dead_letters")
    }
    assert set(rows) == {"ingest-grdf", "aggregator", "unknown"}
    grdf = rows["ingest-grdf"]
    assert grdf["reason"] == "PCE [id]: volume is negative (-3.0 m3)"
    assert grdf["error_type"] == "PayloadInvalidError"
    assert rows["aggregator"]["reason"].startswith("not a ReadingBatch")
    assert rows["unknown"]["reason"] == dead_letters.UNREADABLE
    stored = await territory_db.fetchval(
        "SELECT string_agg(d::text, ' ') FROM dead_letters d"
    )
    assert PCE not in stored
    assert "30000000000001" not in stored

    # Replay: read the whole topic again from offset 0 and store it again.
    consumer = make_consumer(
        kafka_settings, [topics.DEAD_LETTERS], group_id=None, client_id="replay"
    )
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=5000)
        records = [r for part in batches.values() for r in part]
    finally:
        await consumer.stop()
    assert len(records) == 3
    now = datetime.now(UTC)
    replay = [
        dead_letters.to_row(r.topic, r.partition, r.offset, r.value, now=now)
        for r in records
    ]
    async with territory_db.acquire() as conn:
        assert await dead_letters.record(conn, replay) == 0
    assert await territory_db.fetchval(count_sql) == 3
