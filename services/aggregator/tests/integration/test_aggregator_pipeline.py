"""Write path against real PostgreSQL: replay, corrections, late data, DST, load."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from aggregator.buckets import buckets_of
from aggregator.congestion import CongestionPolicy
from aggregator.load import LoadMonitor
from aggregator.outbox import relay_alerts
from aggregator.pipeline import Pipeline
from aggregator.territory import Territory
from energy_core.domain.readings import Kind, Quality
from energy_core.wire import decode_alert

from .conftest import METERS, batch

pytestmark = pytest.mark.integration

M1, M2, M3, M4, M5 = METERS


async def make_pipeline(pool: asyncpg.Pool) -> Pipeline:
    territory = Territory()
    async with pool.acquire() as conn:
        await territory.load(conn)
    return Pipeline(territory)


async def run(pool: asyncpg.Pool, pipeline: Pipeline, values: list[bytes]) -> int:
    async with pool.acquire() as conn:
        return (await pipeline.process(conn, values)).readings_changed


async def rollups(pool: asyncpg.Pool, **where: str) -> dict[tuple, tuple]:
    clauses = " AND ".join(f"{k} = '{v}'" for k, v in where.items()) or "true"
    rows = await pool.fetch(f"SELECT * FROM rollups WHERE {clauses}")  # noqa: S608
    keys = ("scope", "scope_id", "bucket", "bucket_start", "direction", "quality")
    return {
        tuple(r[k] for k in keys): (
            round(r["value"], 6),
            r["delivery_points"],
            r["max_point_value"],
        )
        for r in rows
    }


def truth(readings: list[tuple[str, datetime, datetime, float]]) -> dict[tuple, float]:
    """Independent ground truth: building sums per bucket from the bucket rule."""
    sums: dict[tuple, float] = defaultdict(float)
    for meter, start, end, value in readings:
        building = METERS[meter][0]
        for bucket, b_start, _ in buckets_of(start, end):
            sums[(building, bucket, b_start, METERS[meter][3])] += value
    return dict(sums)


async def test_replay_changes_no_rollup(territory_db: asyncpg.Pool) -> None:
    pipeline = await make_pipeline(territory_db)
    t0 = datetime(2026, 1, 10, 7, tzinfo=UTC)
    values = [batch(M1, t0, [100, 200, 300]), batch(M2, t0, [10, 20]),
              batch(M3, t0, [5]), batch(M4, t0, [50, 60])]  # fmt: skip
    assert await run(territory_db, pipeline, values) == 8
    first = await rollups(territory_db)
    assert await run(territory_db, pipeline, values + values) == 0
    assert await rollups(territory_db) == first
    day = datetime(2026, 1, 9, 23, tzinfo=UTC)
    b1 = first[("building", "B1", "P1D", day, "consumption", "raw")]
    assert b1 == (630.0, 2, 600.0)  # sum, delivery points, largest point
    assert first[("commune", "38151", "P1M", datetime(2025, 12, 31, 23, tzinfo=UTC),
                  "consumption", "raw")] == (635.0, 3, 600.0)  # fmt: skip
    assert first[("neighbourhood", "381510101", "PT1H", t0, "production", "raw")] == (
        110.0, 1, 110.0,
    )  # fmt: skip
    view = await territory_db.fetchrow(
        "SELECT * FROM neighbourhood_self_consumption WHERE iris = '381510101' "
        "AND bucket = 'P1D'"
    )
    assert (view["self_consumed_wh"], view["exported_wh"]) == (110.0, 0.0)


async def test_correction_replaces_raw_value(territory_db: asyncpg.Pool) -> None:
    pipeline = await make_pipeline(territory_db)
    t0 = datetime(2026, 2, 3, 10, tzinfo=UTC)
    await run(territory_db, pipeline, [batch(M1, t0, [100, 100]), batch(M2, t0, [7])])
    await run(territory_db, pipeline, [batch(M1, t0, [40], quality=Quality.CORRECTED)])
    got = await rollups(territory_db, scope="building", bucket="PT1H")
    assert got[("building", "B1", "PT1H", t0, "consumption", "raw")] == (
        107.0,
        2,
        100.0,
    )
    assert got[("building", "B1", "PT1H", t0, "consumption", "corrected")] == (
        40.0,
        1,
        40.0,
    )
    # A re-published raw value loses to the stored correction: nothing changes.
    assert await run(territory_db, pipeline, [batch(M1, t0, [100])]) == 0
    # A same-quality re-publication with another value replaces it.
    await run(territory_db, pipeline, [batch(M2, t0, [9])])
    got = await rollups(territory_db, scope="building", bucket="PT1H")
    assert got[("building", "B1", "PT1H", t0, "consumption", "raw")] == (
        109.0,
        2,
        100.0,
    )


async def test_late_data_lands_in_its_buckets(territory_db: asyncpg.Pool) -> None:
    pipeline = await make_pipeline(territory_db)
    today = datetime(2026, 5, 20, 8, tzinfo=UTC)
    sent = []
    for days_late in (0, 1, 2, 40):  # J, J+1, J+2, a backfill
        start = today - timedelta(days=days_late)
        await run(territory_db, pipeline, [batch(M3, start, [1.0 + days_late] * 4)])
        sent += [(M3, start + i * timedelta(minutes=30),
                  start + (i + 1) * timedelta(minutes=30), 1.0 + days_late)
                 for i in range(4)]  # fmt: skip
    got = await rollups(territory_db, scope="building", scope_id="B2")
    expected = truth(sent)
    assert {k: v[0] for k, v in got.items()} == {
        ("building", b, bucket, start, d, "raw"): round(v, 6)
        for (b, bucket, start, d), v in expected.items()
    }


@pytest.mark.parametrize(
    ("day", "hours"),
    [
        (datetime(2026, 3, 28, 23, tzinfo=UTC), 23),
        (datetime(2026, 10, 24, 22, tzinfo=UTC), 25),
    ],
)
async def test_dst_days(territory_db: asyncpg.Pool, day: datetime, hours: int) -> None:
    pipeline = await make_pipeline(territory_db)
    values = [float(i) for i in range(hours * 2)]
    await run(territory_db, pipeline, [batch(M1, day, values)])
    days = await territory_db.fetch(
        "SELECT bucket_start, bucket_end, value FROM rollups WHERE scope = 'building' "
        "AND bucket = 'P1D'"
    )
    assert [(r["bucket_start"], r["bucket_end"] - r["bucket_start"], r["value"])
            for r in days] == [(day, timedelta(hours=hours), sum(values))]  # fmt: skip
    hourly = await territory_db.fetch(
        "SELECT bucket_start, value FROM rollups WHERE scope = 'building' "
        "AND bucket = 'PT1H' ORDER BY bucket_start"
    )
    assert len(hourly) == hours
    expected = truth([(M1, day + i * timedelta(minutes=30),
                       day + (i + 1) * timedelta(minutes=30), v)
                      for i, v in enumerate(values)])  # fmt: skip
    assert [(r["bucket_start"], r["value"]) for r in hourly] == sorted(
        (start, v) for (_, bucket, start, _), v in expected.items() if bucket == "PT1H"
    )


async def test_instants_feed_live_load_and_congestion(
    territory_db: asyncpg.Pool,
) -> None:
    pipeline = await make_pipeline(territory_db)
    now = datetime.now(UTC).replace(microsecond=0)
    # 1 Hz power: 6 kW + 6.5 kW consumption, 1 kW production on a 10 kW feeder.
    values = [
        batch(M1, now - timedelta(seconds=3), [5000, 6000], step=timedelta(seconds=1),
              kind=Kind.INSTANT),
        batch(M2, now, [6500], kind=Kind.INSTANT),
        batch(M4, now, [1000], kind=Kind.INSTANT),
        b"not a protobuf batch",
    ]  # fmt: skip
    async with territory_db.acquire() as conn:
        result = await pipeline.process(conn, values)
    assert len(result.dead) == 1
    assert result.power_updates == 3
    assert await territory_db.fetchval("SELECT count(*) FROM readings") == 0
    monitor = LoadMonitor(
        CongestionPolicy(min_duration=timedelta(0)), stale_after=timedelta(seconds=30)
    )
    sent: list[tuple[str, bytes]] = []

    async def send(iris: str, payload: bytes) -> None:
        sent.append((iris, payload))

    async with territory_db.acquire() as conn:
        changes = await monitor.sample(conn, now)
        await relay_alerts(conn, send)
    assert [(t.change, t.level) for t in changes] == [("raised", 3)]  # 115 % of 10 kW
    load = await territory_db.fetchrow(
        "SELECT * FROM neighbourhood_load WHERE iris = '381510101'"
    )
    assert (load["consumption_kw"], load["production_kw"], load["meters_reporting"],
            load["meters_stale"]) == (12.5, 1.0, 3, 0)  # fmt: skip
    # Later: everything stale -> load 0 -> cleared; stale meters are visible.
    async with territory_db.acquire() as conn:
        changes = await monitor.sample(conn, now + timedelta(minutes=5))
        await relay_alerts(conn, send)
    assert [t.change for t in changes] == ["cleared"]
    events = await territory_db.fetch(
        "SELECT change FROM alert_events ORDER BY occurred_at"
    )
    assert [e["change"] for e in events] == ["raised", "cleared"]
    assert [decode_alert(v).level for _, v in sent] == [3, 0]
    assert {iris for iris, _ in sent} == {"381510101"}
    stale = await territory_db.fetchval(
        "SELECT meters_stale FROM neighbourhood_load WHERE iris = '381510101' "
        "ORDER BY at DESC LIMIT 1"
    )
    assert stale == 3


def _raw_batch(meter: str, value: float, start_us: int) -> bytes:
    """A ReadingBatch built on the wire, bypassing the domain's validation."""
    from energy_core._pb.energy.metering.v1 import readings_pb2 as pb

    message = pb.ReadingBatch(
        meter_id=meter, scheme=pb.METER_SCHEME_PRM, energy=pb.ENERGY_ELECTRICITY,
        source=pb.SOURCE_ENEDIS_DATACONNECT,
    )  # fmt: skip
    message.readings.add(
        kind=pb.KIND_INTERVAL, unit=pb.UNIT_WH, start_us=start_us,
        end_us=start_us + 1_800_000_000, value=value, quality=pb.QUALITY_RAW,
        direction=pb.DIRECTION_CONSUMPTION,
    )  # fmt: skip
    return message.SerializeToString()


async def test_bad_records_are_dead_lettered_and_lose_nothing_else(
    territory_db: asyncpg.Pool,
) -> None:
    """NaN, absurd instants and what PostgreSQL itself refuses never stall a batch."""
    from energy_core.domain.time import to_micros

    pipeline = await make_pipeline(territory_db)
    t0 = datetime(2026, 6, 1, 8, tzinfo=UTC)
    good = [batch(M1, t0, [100, 200]), batch(M3, t0, [5])]
    bad = [
        _raw_batch(M2, float("nan"), to_micros(t0)),
        _raw_batch(M2, 1.0, -(2**62)),  # far before PostgreSQL's range
        _raw_batch("3000000\x000000002", 1.0, to_micros(t0)),  # NUL: refused by PG
    ]
    result = await pipeline.write(territory_db, [good[0], *bad, good[1]])
    reasons = sorted(reason for reason, _, _ in result.dead)
    assert len(reasons) == 3
    assert any("finite" in r for r in reasons)
    assert any("range" in r for r in reasons)
    assert any(r.startswith("refused by PostgreSQL") for r in reasons)
    assert sorted(payload for _, _, payload in result.dead) == sorted(bad)
    assert result.readings_changed == 3
    total = await territory_db.fetchval(
        "SELECT sum(value) FROM rollups WHERE scope = 'commune' AND bucket = 'P1D'"
    )
    assert total == 305.0


async def test_a_batch_cut_into_transactions_rolls_up_as_one(
    territory_db: asyncpg.Pool,
) -> None:
    """A backfill's batch (days and curves of the same points, the daily total
    winning over the curve of its day) cut into transactions of 50 readings, days
    first, leaves exactly the rollups one transaction leaves."""
    day = datetime(2026, 5, 19, 22, tzinfo=UTC)  # a Paris day
    half_hours = [float(i % 7) for i in range(48)]
    values = [
        batch(M1, day, half_hours),  # M1's curve of the day...
        batch(M3, day, half_hours[:20]),  # M3's curve, no daily total
        batch(M1, day, [500.0, 510.0], step=timedelta(days=1)),  # ...its daily total
        batch(M4, day - timedelta(days=3), [7.0, 8.0, 9.0], step=timedelta(days=1)),
    ]
    whole = await make_pipeline(territory_db)
    async with territory_db.acquire() as conn:
        await whole.process(conn, values)
    once = await rollups(territory_db)
    async with territory_db.acquire() as conn:
        await conn.execute("DELETE FROM rollups; DELETE FROM readings;"
                           " DELETE FROM aggregator_meter_days;"
                           " DELETE FROM aggregator_meter_months")  # fmt: skip
    cut = await make_pipeline(territory_db)
    cut.max_readings = 50
    result = await cut.write(territory_db, values)
    assert result.records == len(values)
    assert not result.dead
    assert await rollups(territory_db) == once
    b1 = once[("building", "B1", "P1D", day, "consumption", "raw")]
    assert b1[0] == 500.0  # the daily total, not the curve's sum (precedence held)
