"""Delivery points vs measuring devices: one home counts once (real PostgreSQL).

A home with a PRM and a FluksoMeter is ONE delivery point: its settled PRM data
wins over the device's real-time data (whichever arrives first), and its live power
keeps the device's import and export apart.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from aggregator.congestion import CongestionPolicy
from aggregator.load import LoadMonitor
from energy_core.domain.ids import FluksoSensorId, Prm
from energy_core.domain.readings import (
    Direction,
    Energy,
    Kind,
    Quality,
    Reading,
    ReadingBatch,
    Source,
)
from energy_core.domain.units import Unit
from energy_core.wire import batch_to_proto

from .conftest import DEVICES, METERS, batch
from .test_aggregator_pipeline import make_pipeline, run

pytestmark = pytest.mark.integration

M1 = "30000000000001"  # B1, Village Sud (381510101)
MAIN, PV = "a1" * 16, "b2" * 16  # M1's FluksoMeter: main (consumption) and PV sensor
UNATTACHED = "e5" * 16
DAY = datetime(2026, 6, 1, 22, tzinfo=UTC)  # 2 June 00:00 in Paris
MINUTE = timedelta(minutes=1)


def device_batch(
    device: str,
    readings: list[tuple[Kind, Direction, datetime, float, str]],
    *,
    quality: Quality = Quality.RAW,
) -> bytes:
    """(kind, direction, start, value, channel): minutes (Wh) or instants (W)."""
    message = ReadingBatch(
        meter=FluksoSensorId(device), source=Source.FLUKSO, energy=Energy.ELECTRICITY,
        readings=tuple(
            Reading(kind, Unit.WH if kind is Kind.INTERVAL else Unit.W, at,
                    at + MINUTE if kind is Kind.INTERVAL else at, value, quality,
                    direction, channel)
            for kind, direction, at, value, channel in readings
        ),
    )  # fmt: skip
    return batch_to_proto(message).SerializeToString()


def minutes(device: str, start: datetime, count: int, wh: float) -> bytes:
    direction = Direction(DEVICES[device][1])
    return device_batch(
        device,
        [(Kind.INTERVAL, direction, start + i * MINUTE, wh, "") for i in range(count)],
    )


async def building_day(pool: asyncpg.Pool, direction: str = "consumption") -> dict:
    rows = await pool.fetch(
        "SELECT quality, value, delivery_points, max_point_value FROM rollups "
        "WHERE scope = 'building' AND scope_id = 'B1' AND bucket = 'P1D' "
        "AND bucket_start = $1 AND direction = $2 AND delivery_points <> 0",
        DAY,
        direction,
    )
    return {
        r["quality"]: (r["value"], r["delivery_points"], r["max_point_value"])
        for r in rows
    }


@pytest.mark.parametrize("settled_first", [True, False])
async def test_a_home_with_a_prm_and_a_fluksometer_counts_once(
    territory_db: asyncpg.Pool, settled_first: bool
) -> None:
    """Settled PRM data wins over the device's for the same bucket, in either order:
    arriving after, it withdraws the device's contribution by delta."""
    pipeline = await make_pipeline(territory_db)
    prm_day = batch(M1, DAY, [100.0] * 48)  # 4,800 Wh settled
    device_day = minutes(MAIN, DAY, 24 * 60, 3.0)  # 4,320 Wh measured
    order = [prm_day, device_day] if settled_first else [device_day, prm_day]
    for values in order:
        await run(territory_db, pipeline, [values])
    # M2 (same building, a PRM) has nothing: B1 is ONE point, with its PRM's value.
    assert await building_day(territory_db) == {"raw": (4800.0, 1, 4800.0)}
    half_hour = await territory_db.fetch(
        "SELECT quality, value, delivery_points FROM rollups WHERE scope = 'commune'"
        " AND bucket = 'PT30M' AND bucket_start = $1 AND delivery_points <> 0",
        DAY,
    )
    assert [tuple(r) for r in half_hour] == [("raw", 100.0, 1)]


async def test_device_data_counts_where_the_point_has_no_settled_data(
    territory_db: asyncpg.Pool,
) -> None:
    """Real-time data fills the buckets the utility has not settled yet, under the
    quality ``device``; a PV sensor feeds its point's production; two homes' data
    are two points; an unattached device counts nowhere."""
    pipeline = await make_pipeline(territory_db)
    await run(territory_db, pipeline, [
        minutes(MAIN, DAY, 60, 5.0),  # first hour of the day: device only
        minutes(PV, DAY + timedelta(hours=12), 30, 20.0),
        minutes(UNATTACHED, DAY, 60, 7.0),
        batch("30000000000002", DAY, [50.0, 50.0]),  # another home, settled
    ])  # fmt: skip
    assert await building_day(territory_db) == {
        "device": (300.0, 1, 300.0),
        "raw": (100.0, 1, 100.0),
    }
    assert await building_day(territory_db, "production") == {
        "device": (600.0, 1, 600.0)
    }
    # The PRM's curve for the first half-hour arrives: that half-hour, its hour and
    # its day switch to the settled source (the device's 300 Wh are withdrawn);
    # the second half-hour, still unsettled, keeps the device's 150 Wh.
    await run(territory_db, pipeline, [batch(M1, DAY, [40.0])])
    assert await building_day(territory_db) == {"raw": (140.0, 2, 100.0)}
    hours = await territory_db.fetch(
        "SELECT bucket, bucket_start, quality, value, delivery_points FROM rollups "
        "WHERE scope = 'building' AND scope_id = 'B1' AND bucket IN ('PT30M', 'PT1H')"
        " AND direction = 'consumption' AND delivery_points <> 0 "
        "ORDER BY bucket, bucket_start, quality"
    )
    assert [tuple(r) for r in hours] == [
        ("PT1H", DAY, "raw", 140.0, 2),
        ("PT30M", DAY, "raw", 90.0, 2),
        ("PT30M", DAY + timedelta(minutes=30), "device", 150.0, 1),
        ("PT30M", DAY + timedelta(minutes=30), "raw", 50.0, 1),
    ]


THREE_PHASE = "c3" * 16  # attached to 30000000000003 (B2, 381510102)


def three_phase_home(at: datetime, with_sum: bool) -> list[tuple]:
    """FLM03 with PV: importing 400 W on l1, exporting 600 W on l2 and l3."""
    c, p = Direction.CONSUMPTION, Direction.PRODUCTION
    readings = [
        (Kind.INSTANT, c, at, 400.0, "l1"),
        (Kind.INSTANT, p, at, 600.0, "l2"),
        (Kind.INSTANT, p, at, 600.0, "l3"),
        (Kind.INSTANT, c, at, 0.0, "net"),  # derived: never added
        (Kind.INSTANT, p, at, 800.0, "net"),
        # an older instant the other way round: never the "last" one
        (Kind.INSTANT, c, at - timedelta(seconds=1), 2500.0, "l1"),
        (Kind.INSTANT, p, at - timedelta(seconds=1), 10.0, "l2"),
    ]
    if with_sum:
        readings += [
            (Kind.INSTANT, c, at, 400.0, ""),
            (Kind.INSTANT, p, at, 1200.0, ""),
        ]
    return readings


@pytest.mark.parametrize("with_sum", [True, False])
async def test_three_phase_home_with_pv_live_power_in_any_order(
    territory_db: asyncpg.Pool, with_sum: bool
) -> None:
    """400 W imported and 1,200 W exported are served as such (net export 800 W),
    whatever the order of the readings and however they are split in records."""
    pipeline = await make_pipeline(territory_db)
    now = datetime.now(UTC).replace(microsecond=0)
    monitor = LoadMonitor(CongestionPolicy(), stale_after=timedelta(seconds=30))
    rng = random.Random(7)
    for attempt in range(6):
        at = now + timedelta(seconds=10 * attempt)
        readings = three_phase_home(at, with_sum)
        rng.shuffle(readings)
        cut = rng.randint(0, len(readings))
        values = [device_batch(THREE_PHASE, part) for part in
                  (readings[:cut], readings[cut:]) if part]  # fmt: skip
        rng.shuffle(values)
        await run(territory_db, pipeline, values)
        rows = await territory_db.fetch(
            "SELECT direction, power_w, point_id, measured_at "
            "FROM aggregator_meter_power ORDER BY direction"
        )
        assert [tuple(r) for r in rows] == [
            ("consumption", 400.0, "30000000000003", at),
            ("production", 1200.0, "30000000000003", at),
        ], (attempt, cut)
        async with territory_db.acquire() as conn:
            await monitor.sample(conn, at)
        load = await territory_db.fetchrow(
            "SELECT consumption_kw, production_kw, meters_reporting, meters_stale "
            "FROM neighbourhood_load WHERE iris = $1 AND at = $2",
            METERS["30000000000003"][2],
            at,
        )
        assert tuple(load) == (0.4, 1.2, 1, 0)


async def test_live_load_counts_delivery_points_not_sensors(
    territory_db: asyncpg.Pool,
) -> None:
    """A home's main and PV sensors report: one point; an unattached sensor's power
    is load on the grid but no point; a point whose sensors went quiet is stale."""
    pipeline = await make_pipeline(territory_db)
    now = datetime.now(UTC).replace(microsecond=0)
    c, p = Direction.CONSUMPTION, Direction.PRODUCTION
    await run(territory_db, pipeline, [
        device_batch(MAIN, [(Kind.INSTANT, c, now, 900.0, "")]),
        device_batch(PV, [(Kind.INSTANT, p, now, 2000.0, "")]),
        device_batch(UNATTACHED, [(Kind.INSTANT, c, now, 100.0, "")]),
        device_batch("d4" * 16, [(Kind.INSTANT, c, now - timedelta(minutes=5),
                                  300.0, "")]),
    ])  # fmt: skip
    monitor = LoadMonitor(CongestionPolicy(), stale_after=timedelta(seconds=30))
    async with territory_db.acquire() as conn:
        await monitor.sample(conn, now)
    loads = {
        r["iris"]: tuple(r)[1:]
        for r in await territory_db.fetch(
            "SELECT iris, consumption_kw, production_kw, meters_reporting, "
            "meters_stale, consumers_reporting, producers_reporting "
            "FROM neighbourhood_load WHERE at = $1",
            now,
        )
    }
    # the home is one point reporting, which makes BOTH directions (a PV home
    # consumes too: the api judges each direction on its own count)
    assert loads == {
        "381510101": (1.0, 2.0, 1, 0, 1, 1),
        "381510102": (0.0, 0.0, 0, 1, 0, 0),
    }


async def test_a_pv_homes_day_row_keeps_injection_and_gross_apart(
    territory_db: asyncpg.Pool,
) -> None:
    """The rollups take ONE source per point and day (the PRM's injection), but the
    point's day row keeps both: the settled slots hold the injection, the device
    slot the PV sensor's gross production. The api's self-consumption (gross -
    injection, ``api.self_consumption.CITY_DAYS``) reads exactly these columns."""
    pipeline = await make_pipeline(territory_db)
    injected = ReadingBatch(
        meter=Prm(M1), source=Source.ENEDIS_DATACONNECT, energy=Energy.ELECTRICITY,
        readings=tuple(
            Reading(Kind.INTERVAL, Unit.WH, DAY + i * 30 * MINUTE,
                    DAY + (i + 1) * 30 * MINUTE, 25.0, Quality.RAW,
                    Direction.PRODUCTION)
            for i in range(48)
        ),
    )  # fmt: skip
    await run(territory_db, pipeline, [
        batch_to_proto(injected).SerializeToString(),  # 1,200 Wh exported
        minutes(PV, DAY, 24 * 60, 2.0),  # 2,880 Wh produced
    ])  # fmt: skip
    row = await territory_db.fetchrow(
        "SELECT sv0 + sv1 + sv2 AS settled, sn0 + sn1 + sn2 AS settled_n, sv3, sn3 "
        "FROM aggregator_meter_days WHERE point_id = $1 AND direction = 'production'"
        " AND day_start = $2",
        M1,
        DAY,
    )
    assert tuple(row) == (1200.0, 48, 2880.0, 24 * 60)
    # the rollup counts the settled injection only, once
    assert await building_day(territory_db, "production") == {
        "raw": (1200.0, 1, 1200.0)
    }


async def test_a_pv_sensors_day_history_is_its_points_gross_production(
    territory_db: asyncpg.Pool,
) -> None:
    """ingest-flukso's first-contact history: one reading per flukso.net UTC day,
    stamped ``[00:00Z, Paris midnight)`` (22 h in summer: the panels' night hours
    trimmed). It fits one Paris day, so the device slot of that day's row holds it
    as gross production beside the settled injection; a day reading stamped on the
    whole UTC day would fit no Paris day and count for none."""
    pipeline = await make_pipeline(territory_db)
    utc_day = DAY + timedelta(hours=2)  # 2 June 00:00Z, 02:00 in Paris
    history = ReadingBatch(
        meter=FluksoSensorId(PV), source=Source.FLUKSO, energy=Energy.ELECTRICITY,
        readings=(
            Reading(Kind.INTERVAL, Unit.WH, utc_day, utc_day + timedelta(hours=22),
                    9600.0, Quality.RAW, Direction.PRODUCTION),
            # the next UTC day as a whole: straddles two Paris days, counts nowhere
            Reading(Kind.INTERVAL, Unit.WH, utc_day + timedelta(days=1),
                    utc_day + timedelta(days=2), 7000.0, Quality.RAW,
                    Direction.PRODUCTION),
        ),
    )  # fmt: skip
    injected = ReadingBatch(
        meter=Prm(M1), source=Source.ENEDIS_DATACONNECT, energy=Energy.ELECTRICITY,
        readings=(Reading(Kind.INTERVAL, Unit.WH, DAY, DAY + timedelta(days=1),
                          4000.0, Quality.RAW, Direction.PRODUCTION),),
    )  # fmt: skip
    await run(territory_db, pipeline, [
        batch_to_proto(history).SerializeToString(),
        batch_to_proto(injected).SerializeToString(),
    ])  # fmt: skip
    rows = await territory_db.fetch(
        "SELECT day_start, sv3, sn3, ev0 + ev1 + ev2 AS injection "
        "FROM aggregator_meter_days WHERE point_id = $1 AND direction = 'production'"
        " ORDER BY day_start",
        M1,
    )
    assert [tuple(r) for r in rows] == [(DAY, 9600.0, 1, 4000.0)]
