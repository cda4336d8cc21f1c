"""Aggregator throughput, freshness and RSS next to bare aiokafka and bare COPY.

Starts embedded PostgreSQL + tansu, loads a territory of METERS meters, pre-fills
the readings topic (one record = one meter-day of 48 half-hours), then runs ONE
Faust worker (subprocess) and measures readings/s until every raw reading is
durable (rollups are in the same transaction), its RSS, and freshness (produced_at
-> rollup committed) for a trickle of real-time records published afterwards.
Prints the machine and the raw limits measured in the same run.
"""

from __future__ import annotations

import asyncio
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import psutil
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from energy_core import topics
from energy_core.kafka import ensure_topics
from energy_core.settings import KafkaSettings
from energy_store import migrate
from sen1_stack.broker import TansuBroker, free_port
from sen1_stack.postgres import EmbeddedPostgres

sys.path.insert(0, str(Path(__file__).parents[1] / "services/aggregator/tests"))
from integration.conftest import batch

METERS = int(os.environ.get("BENCH_METERS", "100000"))
RECORDS = int(os.environ.get("BENCH_RECORDS", "20000"))
PROBES = 30


async def territory(conn: asyncpg.Connection) -> list[str]:
    await conn.execute("INSERT INTO communes VALUES ('38151', 'Échirolles')")
    await conn.execute(
        "INSERT INTO neighbourhoods (iris, commune_insee, name, capacity_kw) "
        "VALUES ('381510101', '38151', 'n', 5000)"
    )
    await conn.execute(
        "INSERT INTO parcels (idu, commune_insee, iris, geometry) "
        "VALUES ('38151000AB0001', '38151', '381510101', '{}')"
    )
    await conn.copy_records_to_table(
        "buildings",
        records=[
            (f"B{i}", "x", "38151000AB0001", "381510101", 100.0, "residential")
            for i in range(1000)
        ],
        columns=[
            "building_id",
            "address",
            "parcel_idu",
            "iris",
            "surface_m2",
            "building_type",
        ],
    )
    meters = [f"3{i:013d}" for i in range(METERS)]
    await conn.copy_records_to_table(
        "meters",
        records=[
            (m, "prm", "electricity", "consumption", "residential", f"B{i % 1000}")
            for i, m in enumerate(meters)
        ],
        columns=["meter_id", "scheme", "energy", "direction", "sector", "building_id"],
    )
    return meters


def record(meter: str, day: int, produced: datetime | None = None) -> bytes:
    from integration import conftest

    conftest.METERS.setdefault(meter, ("B", "P", "I", "consumption"))
    start = datetime(2026, 1, 1, 23, tzinfo=UTC) + timedelta(days=day)
    return batch(meter, start, [float(h % 7) for h in range(48)], produced_at=produced)


async def bare_kafka(kafka: KafkaSettings, n: int) -> float:
    consumer = AIOKafkaConsumer(
        kafka.topic_name(topics.READINGS), bootstrap_servers=kafka.bootstrap_servers,
        auto_offset_reset="earliest", group_id=None,
    )  # fmt: skip
    await consumer.start()
    got, t0 = 0, time.perf_counter()
    while got < n:
        for records in (await consumer.getmany(timeout_ms=1000)).values():
            got += len(records)
    await consumer.stop()
    return got / (time.perf_counter() - t0)


async def bare_copy(dsn: str) -> float:
    conn = await asyncpg.connect(dsn)
    await conn.execute("CREATE TEMP TABLE c (a bigint, b timestamptz, v float8, "
                       "PRIMARY KEY (a, b))")  # fmt: skip
    now = datetime.now(UTC)
    rows = [(i, now, 1.0) for i in range(300_000)]
    t0 = time.perf_counter()
    await conn.copy_records_to_table("c", records=rows)
    rate = len(rows) / (time.perf_counter() - t0)
    await conn.close()
    return rate


async def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-agg-"))
    os.chmod(tmp, 0o755)  # noqa: S103
    pg = EmbeddedPostgres(tmp / "pg", port=free_port())
    broker = TansuBroker(port=free_port(), log_file=tmp / "tansu.log")
    pg.start()
    broker.start()
    worker = None
    try:
        pg.create_database("bench")
        dsn = pg.dsn("bench")
        migrate.upgrade(dsn)
        kafka = KafkaSettings(
            bootstrap_servers=broker.bootstrap_servers, topic_prefix="b."
        )
        await ensure_topics(kafka, topics.ALL)
        conn = await asyncpg.connect(dsn)
        meters = await territory(conn)
        print(
            f"territory: {len(meters)} meters; filling {RECORDS} records x 48 readings"
        )
        producer = AIOKafkaProducer(
            bootstrap_servers=kafka.bootstrap_servers, linger_ms=20
        )
        await producer.start()
        name = kafka.topic_name(topics.READINGS)
        for i in range(RECORDS):
            m = meters[i % len(meters)]
            await producer.send(name, key=m.encode(), value=record(m, i // len(meters)))
        await producer.flush()
        kafka_rate = await bare_kafka(kafka, RECORDS)
        copy_rate = await bare_copy(dsn)
        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
               "KAFKA_TOPIC_PREFIX": kafka.topic_prefix, "POSTGRES_DSN": dsn,
               "AGGREGATOR_HTTP_PORT": str(free_port()),
               "AGGREGATOR_DATA_DIR": str(tmp / "w")}  # fmt: skip
        t0 = time.perf_counter()
        with (tmp / "worker.log").open("ab") as log:
            worker = subprocess.Popen(  # noqa: ASYNC220
                [sys.executable, "-m", "aggregator", "worker", "-l", "warn"],
                env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        expected, rss = RECORDS * 48, 0
        while (n := await conn.fetchval("SELECT count(*) FROM readings")) < expected:
            rss = max(rss, psutil.Process(worker.pid).memory_info().rss)
            print(f"  {n}/{expected} readings durable", flush=True)
            await asyncio.sleep(2)
        elapsed = time.perf_counter() - t0
        lags = []
        for p in range(PROBES):  # real-time: one record, wait for its rollup
            m = meters[p]
            sent = datetime.now(UTC)
            await producer.send_and_wait(
                name, key=m.encode(), value=record(m, 200 + p, produced=sent)
            )
            while not await conn.fetchval(  # noqa: ASYNC110
                "SELECT count(*) FROM aggregator_point_buckets WHERE meter_id = $1 "
                "AND bucket_start >= '2026-07-01'", m,
            ):  # fmt: skip
                await asyncio.sleep(0.01)
            lags.append((datetime.now(UTC) - sent).total_seconds())
        rss = max(rss, psutil.Process(worker.pid).memory_info().rss)
        await producer.stop()
        await conn.close()
        lags.sort()
        print(f"machine: {platform.platform()} cpus={os.cpu_count()}")
        print(f"bare aiokafka consume: {kafka_rate:,.0f} records/s")
        print(f"bare PostgreSQL COPY:  {copy_rate:,.0f} rows/s")
        print(f"aggregator end to end: {expected / elapsed:,.0f} readings/s "
              f"({RECORDS / elapsed:,.0f} records/s, incl. worker start-up "
              f"{elapsed:.1f} s total)")  # fmt: skip
        print(
            f"freshness (1 worker, idle): p50 {statistics.median(lags):.3f} s, "
            f"p99 {lags[int(len(lags) * 0.99) - 1]:.3f} s over {len(lags)} probes"
        )
        print(f"aggregator RSS (max): {rss / 1e6:.0f} MB with {len(meters)} meters")
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
        broker.stop()
        pg.stop()


if __name__ == "__main__":
    asyncio.run(main())
