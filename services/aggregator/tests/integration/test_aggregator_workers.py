"""Real Faust workers (subprocesses) on the real broker and PostgreSQL.

Two workers share the partitions; one is killed (SIGKILL) mid-stream and
restarted; the rollups must equal the ground truth computed here.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest

from energy_core import topics
from energy_core._pb.energy.metering.v1 import readings_pb2
from energy_core.kafka import KafkaPublisher
from energy_core.settings import KafkaSettings, PostgresSettings
from sen1_stack.broker import free_port

from .conftest import METERS, batch

pytestmark = pytest.mark.integration


def start_worker(
    kafka: KafkaSettings, postgres: PostgresSettings, tmp: Path, name: str
) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
        "POSTGRES_DSN": postgres.dsn.get_secret_value(),
        "AGGREGATOR_HTTP_PORT": str(port),
        "AGGREGATOR_DATA_DIR": str(tmp / name),
        "AGGREGATOR_BATCH_SIZE": "200",
        "AGGREGATOR_SAMPLE_INTERVAL_S": "1",
    }
    with (tmp / f"{name}.log").open("ab") as log:  # the child keeps its own fd
        proc = subprocess.Popen(
            [sys.executable, "-m", "aggregator", "worker", "-l", "warn"],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    return proc, port


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def wait_for(
    pool: asyncpg.Pool, sql: str, expected: object, within: float
) -> object:
    deadline = time.monotonic() + within
    got: object = None
    while time.monotonic() < deadline:
        got = await pool.fetchval(sql)
        if got == expected:
            return got
        await asyncio.sleep(0.5)
    return got


async def publish(kafka: KafkaSettings, values: list[tuple[str, bytes]]) -> None:
    publisher = KafkaPublisher(kafka, client_id="test-aggregator")
    await publisher.start()
    try:
        for key, value in values:
            message = readings_pb2.ReadingBatch()
            message.ParseFromString(value)
            await publisher.publish(topics.READINGS, key, message)
        await publisher.flush()
    finally:
        await publisher.stop()


async def test_two_workers_and_a_kill_give_the_ground_truth(
    territory_db: asyncpg.Pool,
    kafka_settings: KafkaSettings,
    postgres_settings: PostgresSettings,
    tmp_path: Path,
) -> None:
    os.chmod(tmp_path, 0o755)  # noqa: S103 - the embedded PostgreSQL user reads it
    meters = [m for m in METERS if METERS[m][3] == "consumption"]
    start = datetime(2026, 4, 1, tzinfo=UTC)
    values, total = [], 0.0
    for day in range(60):  # 60 days x 3 meters, one daily batch of 48 half-hours each
        for i, meter in enumerate(meters):
            readings = [float((day * 7 + i * 3 + h) % 11) for h in range(48)]
            total += sum(readings)
            values.append((meter, batch(meter, start + timedelta(days=day), readings)))
    first, second = values[: len(values) // 2], values[len(values) // 2 :]
    w1, port1 = start_worker(kafka_settings, postgres_settings, tmp_path, "w1")
    w2, _ = start_worker(kafka_settings, postgres_settings, tmp_path, "w2")
    try:
        await publish(kafka_settings, first + first[:30])  # duplicates included
        count_sql = "SELECT count(*) FROM readings"
        assert (
            await wait_for(territory_db, count_sql, len(first) * 48, 90)
            == len(first) * 48
        )
        async with httpx.AsyncClient() as client:
            metrics = await client.get(f"http://127.0.0.1:{port1}/metrics")
            ready = await client.get(f"http://127.0.0.1:{port1}/readyz")
        assert "aggregator_records_total" in metrics.text
        assert ready.status_code == 200
        # Kill one worker mid-stream, publish the rest, restart it.
        await publish(kafka_settings, second)
        stop(w1, signal.SIGKILL)
        w1, _ = start_worker(kafka_settings, postgres_settings, tmp_path, "w1b")
        await publish(kafka_settings, second[:40])  # replays again
        expected = len(values) * 48
        assert await wait_for(territory_db, count_sql, expected, 240) == expected
        commune_sql = (
            "SELECT round(sum(value)::numeric, 3) FROM rollups WHERE scope = 'commune' "
            "AND bucket = 'P1M' AND quality = 'raw'"
        )
        got = await wait_for(territory_db, commune_sql, round(total, 3), 30)
        assert float(got) == pytest.approx(total)  # type: ignore[arg-type]
        # Every level agrees with the per-meter buckets (nothing counted twice).
        for scope in ("building", "parcel", "neighbourhood", "commune"):
            scope_total = await territory_db.fetchval(
                "SELECT sum(value) FROM rollups WHERE scope = $1 AND bucket = 'P1D'",
                scope,
            )
            assert scope_total == pytest.approx(total)
        hh = await territory_db.fetchval(
            "SELECT sum(value) FROM rollups "
            "WHERE scope = 'building' AND bucket = 'PT30M'"
        )
        assert hh == pytest.approx(total)
    finally:
        stop(w1)
        stop(w2)
