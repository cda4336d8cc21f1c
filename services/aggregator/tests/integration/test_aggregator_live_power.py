"""Live power on its own consumer: written while no readings agent runs at all
(the agent stuck behind a backfill's batch is the case it exists for)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from aggregator.live_power import follow_live_power
from energy_core.domain.ids import FluksoSensorId
from energy_core.domain.readings import (
    Direction,
    Energy,
    Kind,
    Quality,
    Reading,
    ReadingBatch,
    Source,
    Stamp,
)
from energy_core.domain.units import Unit
from energy_core.settings import KafkaSettings
from energy_core.wire import batch_to_proto

from .conftest import batch
from .test_aggregator_pipeline import make_pipeline
from .test_aggregator_workers import publish

pytestmark = pytest.mark.integration

DEVICE = "a1" * 16  # a home's main sensor, measuring PRM 30000000000001
HOME_IN_BACKFILL = "30000000000003"


def _power(at: datetime, watts: float) -> bytes:
    reading = Reading(Kind.INSTANT, Unit.W, at, at, watts, Quality.RAW,
                      Direction.CONSUMPTION)  # fmt: skip
    live = ReadingBatch(FluksoSensorId(DEVICE), Source.FLUKSO, Energy.ELECTRICITY,
                        (reading,), Stamp.INSTANT)  # fmt: skip
    return batch_to_proto(live).SerializeToString()


async def _until(pool: asyncpg.Pool, query: str, within: float = 30) -> list:
    deadline = time.monotonic() + within
    while not (rows := await pool.fetch(query)):
        assert time.monotonic() < deadline, "nothing written in time"
        await asyncio.sleep(0.2)
    return rows


async def test_live_power_is_written_without_the_readings_agent(
    territory_db: asyncpg.Pool, kafka_settings: KafkaSettings
) -> None:
    pipeline = await make_pipeline(territory_db)
    task = asyncio.create_task(
        follow_live_power(pipeline, territory_db, kafka_settings,
                          group_id="test-live", client_id="test-live")
    )  # fmt: skip
    try:
        now = datetime.now(UTC).replace(microsecond=0)
        # It starts at the newest offset: like a device, publish until it is heard.
        early = now - timedelta(minutes=5)
        for i in range(120):
            heard = _power(early + timedelta(seconds=i), 100.0)
            await publish(kafka_settings, [(DEVICE, heard)])
            if await territory_db.fetchval(
                "SELECT count(*) FROM aggregator_meter_power"
            ):
                break
            await asyncio.sleep(0.25)
        else:
            raise AssertionError("the live consumer never heard the device")
        backfill = batch(HOME_IN_BACKFILL, now - timedelta(days=7), [100.0] * 336)
        await publish(
            kafka_settings,
            [
                (HOME_IN_BACKFILL, backfill),
                (DEVICE, _power(now - timedelta(seconds=2), 500.0)),
                (DEVICE, _power(now, 640.0)),
                (DEVICE, _power(now - timedelta(seconds=1), 580.0)),  # late: older
            ],
        )
        await _until(
            territory_db,
            "SELECT 1 FROM aggregator_meter_power WHERE power_w = 640",
        )
        await asyncio.sleep(1.0)  # anything else would be written by now
        rows = await territory_db.fetch(
            "SELECT meter_id, point_id, iris, power_w, measured_at"
            " FROM aggregator_meter_power"
        )
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    # the newest power of the device, counted for its delivery point
    assert [tuple(r) for r in rows] == [
        (DEVICE, "30000000000001", "381510101", 640.0, now)
    ]
    # the backfill is the readings agent's: nothing of it was stored here
    assert await territory_db.fetchval("SELECT count(*) FROM readings") == 0
