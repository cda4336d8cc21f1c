"""Aggregator throughput, freshness and RSS next to bare aiokafka and bare PostgreSQL.

Starts embedded PostgreSQL + tansu and, per run, a fresh database with a territory
of ``BENCH_METERS`` meters (1,000 buildings) and a fresh readings topic pre-filled
with ``BENCH_RECORDS`` records (one record = one meter-day of 48 half-hours, as
ingest-enedis publishes them). Then, for each worker count of ``BENCH_WORKERS``:

* **end to end**: Faust worker subprocesses consume the topic until every raw
  reading is durable in PostgreSQL (its rollups commit in the same transaction);
  readings/s from the workers' start (start-up included) and in steady state
  (first to last durable batch);
* **freshness**: after the catch-up, real-time records (a few Flukso-like minutes
  of one meter, stamped ``produced_at``) until their building's half-hour rollup
  shows the new value: p50 / p99;
* **RSS**: the largest resident set of a worker, with the whole territory loaded.

Raw limits measured in the same run, on the same data: bare aiokafka consume of the
topic (records/s and the readings they carry), bare PostgreSQL COPY of 3 columns
with a primary key, and the reading store alone (COPY + set-based upsert of the
same readings, no rollups). Medians of ``BENCH_RUNS`` runs; progress on stdout.

Usage: ``uv run python bench/bench_aggregator.py`` (env: BENCH_METERS=100000,
BENCH_RECORDS=20000, BENCH_RUNS=3, BENCH_WORKERS=1,2).
"""

from __future__ import annotations

import argparse
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
from energy_core.domain.ids import Prm
from energy_core.domain.readings import Energy, Kind, Reading, ReadingBatch, Source
from energy_core.domain.units import Unit
from energy_core.kafka import ensure_topics
from energy_core.settings import KafkaSettings
from energy_core.wire import batch_to_proto, decode_batch
from energy_store import migrate
from energy_store.readings import ReadingStore
from sen1_stack.broker import TansuBroker, free_port
from sen1_stack.postgres import EmbeddedPostgres

METERS = int(os.environ.get("BENCH_METERS", "100000"))
RECORDS = int(os.environ.get("BENCH_RECORDS", "20000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
WORKERS = [int(w) for w in os.environ.get("BENCH_WORKERS", "1,2").split(",")]
BUILDINGS = 1000
PROBES = 30
DAY0 = datetime(2026, 1, 1, 23, tzinfo=UTC)  # Paris midnight, 2 January 2026
HALF_HOUR = timedelta(minutes=30)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def meter(i: int) -> str:
    return f"3{i:013d}"


def record(i: int, *, produced: datetime | None = None) -> bytes:
    """Meter-day ``i``: meter i % METERS, day i // METERS, 48 half-hours."""
    start = DAY0 + timedelta(days=i // METERS)
    readings = tuple(
        Reading(Kind.INTERVAL, Unit.WH, start + h * HALF_HOUR,
                start + (h + 1) * HALF_HOUR, float((h + i) % 7 * 40))
        for h in range(48)
    )  # fmt: skip
    batch = ReadingBatch(
        meter=Prm(meter(i % METERS)), source=Source.ENEDIS_DATACONNECT,
        energy=Energy.ELECTRICITY, readings=readings, produced_at=produced,
    )  # fmt: skip
    return batch_to_proto(batch).SerializeToString()


def minutes(i: int, at: datetime, value: float) -> bytes:
    """A real-time record: 5 minutes of meter i, ending just before ``at``."""
    start = at.replace(second=0, microsecond=0) - timedelta(minutes=5)
    readings = tuple(
        Reading(Kind.INTERVAL, Unit.WH, start + timedelta(minutes=k),
                start + timedelta(minutes=k + 1), value)
        for k in range(5)
    )  # fmt: skip
    batch = ReadingBatch(
        meter=Prm(meter(i)), source=Source.FLUKSO, energy=Energy.ELECTRICITY,
        readings=readings, produced_at=at,
    )  # fmt: skip
    return batch_to_proto(batch).SerializeToString()


async def territory(conn: asyncpg.Connection) -> None:
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
            (f"B{b}", "x", "38151000AB0001", "381510101", 100.0, "residential")
            for b in range(BUILDINGS)
        ],
        columns=["building_id", "address", "parcel_idu", "iris", "surface_m2",
                 "building_type"],
    )  # fmt: skip
    await conn.copy_records_to_table(
        "meters",
        records=[
            (meter(i), "prm", "electricity", "consumption", "residential",
             f"B{i % BUILDINGS}")
            for i in range(METERS)
        ],
        columns=["meter_id", "scheme", "energy", "direction", "sector", "building_id"],
    )  # fmt: skip


async def fill(kafka: KafkaSettings, values: list[bytes]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka.bootstrap_servers, linger_ms=20, max_batch_size=1 << 20
    )
    await producer.start()
    name = kafka.topic_name(topics.READINGS)
    for i, value in enumerate(values):
        await producer.send(name, key=meter(i % METERS).encode(), value=value)
    await producer.flush()
    await producer.stop()


async def bare_kafka(kafka: KafkaSettings, n: int) -> tuple[float, float]:
    """records/s and readings/s of a bare consumer decoding every record."""
    consumer = AIOKafkaConsumer(
        kafka.topic_name(topics.READINGS), bootstrap_servers=kafka.bootstrap_servers,
        auto_offset_reset="earliest", group_id=None, max_partition_fetch_bytes=1 << 22,
    )  # fmt: skip
    await consumer.start()
    got = readings = 0
    t0 = time.perf_counter()
    while got < n:
        for batch in (await consumer.getmany(timeout_ms=1000)).values():
            got += len(batch)
            readings += sum(len(decode_batch(m.value).readings) for m in batch)
    elapsed = time.perf_counter() - t0
    await consumer.stop()
    return got / elapsed, readings / elapsed


async def bare_copy(dsn: str) -> float:
    conn = await asyncpg.connect(dsn)
    await conn.execute(
        "CREATE TEMP TABLE c (a bigint, b timestamptz, v float8, PRIMARY KEY (a, b))"
    )
    now = datetime.now(UTC)
    rows = [(i, now, 1.0) for i in range(300_000)]
    t0 = time.perf_counter()
    await conn.copy_records_to_table("c", records=rows)
    rate = len(rows) / (time.perf_counter() - t0)
    await conn.close()
    return rate


async def bare_store(dsn: str, values: list[bytes]) -> float:
    """readings/s of the reading store alone (no rollups), 4,000 records a write."""
    conn = await asyncpg.connect(dsn)
    store, readings = ReadingStore(), 0
    t0 = time.perf_counter()
    for i in range(0, len(values), 4000):
        batches = [decode_batch(v) for v in values[i : i + 4000]]
        readings += sum(len(b.readings) for b in batches)
        async with conn.transaction():
            await store.write(conn, batches)
    rate = readings / (time.perf_counter() - t0)
    await conn.execute("TRUNCATE readings, series CASCADE")
    await conn.close()
    return rate


def start_workers(
    n: int, kafka: KafkaSettings, dsn: str, tmp: Path
) -> list[subprocess.Popen[bytes]]:
    workers = []
    tmp.mkdir(parents=True, exist_ok=True)
    for w in range(n):
        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
               "KAFKA_TOPIC_PREFIX": kafka.topic_prefix, "POSTGRES_DSN": dsn,
               "AGGREGATOR_HTTP_PORT": str(free_port()),
               "AGGREGATOR_DATA_DIR": str(tmp / f"w{w}")}  # fmt: skip
        with (tmp / f"worker{w}.log").open("ab") as out:
            workers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "aggregator", "worker", "-l", "warn"],
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
    return workers


def rss(workers: list[subprocess.Popen[bytes]]) -> int:
    return max(int(psutil.Process(w.pid).memory_info().rss) for w in workers)


async def end_to_end(
    conn: asyncpg.Connection, workers: list[subprocess.Popen[bytes]], expected: int
) -> tuple[float, float, int]:
    """(readings/s incl. start-up, steady readings/s, max RSS) until all durable."""
    t0 = time.perf_counter()
    first_at = first_n = None
    peak = 0
    while True:
        n = await conn.fetchval("SELECT count(*) FROM readings")
        now = time.perf_counter()
        peak = max(peak, rss(workers))
        if n and first_at is None:
            first_at, first_n = now, n
        if n >= expected:
            break
        if any(w.poll() is not None for w in workers):
            raise RuntimeError("a worker exited; see its log")
        log(f"  {n:,}/{expected:,} readings durable")
        await asyncio.sleep(2)
    assert first_at is not None
    assert first_n is not None
    steady = (n - first_n) / (now - first_at) if now > first_at else float("nan")
    return n / (now - t0), steady, peak


async def freshness(conn: asyncpg.Connection, kafka: KafkaSettings) -> list[float]:
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers)
    await producer.start()
    name = kafka.topic_name(topics.READINGS)
    lags = []
    try:
        for p in range(PROBES):
            sent = datetime.now(UTC)
            value = 1000.0 + p
            await producer.send_and_wait(
                name, key=meter(p).encode(), value=minutes(p, sent, value)
            )
            deadline = time.perf_counter() + 30
            while time.perf_counter() < deadline:
                got = await conn.fetchval(
                    "SELECT value FROM rollups WHERE scope = 'building' "
                    "AND scope_id = $1 AND bucket = 'PT30M' AND bucket_start <= $2 "
                    "AND bucket_end > $2 AND quality = 'raw'",
                    f"B{p % BUILDINGS}", sent - timedelta(minutes=1),
                )  # fmt: skip
                if got is not None and got >= value:
                    break
                await asyncio.sleep(0.01)
            lags.append((datetime.now(UTC) - sent).total_seconds())
            await asyncio.sleep(0.2)
    finally:
        await producer.stop()
    return sorted(lags)


async def one_run(
    pg: EmbeddedPostgres, broker: TansuBroker, tmp: Path, run: int, values: list[bytes]
) -> dict[str, float]:
    figures: dict[str, float] = {}
    for workers_n in WORKERS:
        db = f"bench{run}w{workers_n}"
        pg.create_database(db)
        dsn = pg.dsn(db)
        migrate.upgrade(dsn)
        kafka = KafkaSettings(
            bootstrap_servers=broker.bootstrap_servers, topic_prefix=f"b{db}."
        )
        await ensure_topics(kafka, topics.ALL)
        conn = await asyncpg.connect(dsn)
        await territory(conn)
        log(f"run {run + 1}/{RUNS}, {workers_n} worker(s): filling the topic")
        await fill(kafka, values)
        if workers_n == WORKERS[0]:
            figures["kafka_records"], figures["kafka_readings"] = await bare_kafka(
                kafka, len(values)
            )
            figures["copy"] = await bare_copy(dsn)
            figures["store"] = await bare_store(dsn, values)
            log(f"  raw limits: {figures}")
        workers = start_workers(workers_n, kafka, dsn, tmp / db)
        try:
            total, steady, peak = await end_to_end(conn, workers, len(values) * 48)
            lags = await freshness(conn, kafka)
            peak = max(peak, rss(workers))
        finally:
            for w in workers:
                w.terminate()
            for w in workers:
                w.wait(timeout=30)
        figures[f"e2e_{workers_n}"] = total
        figures[f"steady_{workers_n}"] = steady
        figures[f"fresh50_{workers_n}"] = statistics.median(lags)
        figures[f"fresh99_{workers_n}"] = lags[max(0, int(len(lags) * 0.99) - 1)]
        figures[f"rss_{workers_n}"] = peak / 1e6
        log(f"  {workers_n} worker(s): {total:,.0f} readings/s incl. start-up, "
            f"{steady:,.0f} steady, freshness p50 {figures[f'fresh50_{workers_n}']:.2f}"
            f" s p99 {figures[f'fresh99_{workers_n}']:.2f} s, RSS {peak / 1e6:.0f} MB")  # fmt: skip
        await conn.close()
    return figures


async def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-agg-"))
    os.chmod(tmp, 0o755)  # noqa: S103 - the embedded PostgreSQL user reads it
    pg = EmbeddedPostgres(tmp / "pg", port=free_port())
    broker = TansuBroker(port=free_port(), log_file=tmp / "tansu.log")
    pg.start()
    broker.start()
    try:
        log(f"machine: {platform.platform()} cpus={os.cpu_count()} "
            f"python={platform.python_version()}")  # fmt: skip
        log(f"territory {METERS:,} meters; {RECORDS:,} records x 48 readings a run")
        values = [record(i) for i in range(RECORDS)]
        runs = [await one_run(pg, broker, tmp, r, values) for r in range(RUNS)]
    finally:
        broker.stop()
        pg.stop()

    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    print(f"\nmachine: {platform.platform()} cpus={os.cpu_count()}; medians of {RUNS} "
          f"runs; {RECORDS * 48:,} readings ({RECORDS:,} records) a run, "
          f"{METERS:,} meters")  # fmt: skip
    print(f"bare aiokafka consume + decode: {med('kafka_records'):,.0f} records/s "
          f"= {med('kafka_readings'):,.0f} readings/s")  # fmt: skip
    print(f"bare PostgreSQL COPY (3 columns + primary key): {med('copy'):,.0f} rows/s")
    print(f"reading store alone (COPY + upsert, no rollups): {med('store'):,.0f} "
          "readings/s")  # fmt: skip
    for n in WORKERS:
        print(f"aggregator, {n} worker(s): {med(f'steady_{n}'):,.0f} readings/s steady "
              f"({med(f'e2e_{n}'):,.0f} incl. start-up); freshness to visible rollup "
              f"p50 {med(f'fresh50_{n}'):.2f} s, p99 {med(f'fresh99_{n}'):.2f} s; "
              f"RSS {med(f'rss_{n}'):.0f} MB")  # fmt: skip


if __name__ == "__main__":
    # Settings come from the environment (see above); --help answers without running.
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    asyncio.run(main())
