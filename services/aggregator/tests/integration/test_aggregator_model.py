"""Rollups against an independent model, on random histories (real PostgreSQL).

Each scenario sends a random mix of load-curve fragments, whole days, daily totals
of the same meters, Flukso-like minutes, per-phase readings (stored, never rolled
up), corrections, estimates and replays, and minutes of MEASURING DEVICES attached
to the delivery points (before or after the points' own settled data, in both
directions, two devices on one point, one device attached to nobody), in random
groupings, over days that include the 23-hour DST day and a month boundary. The
expected rollups are computed here from first principles:

1. the stored reading per (series, start): a higher quality wins, the same quality
   replaces (the store's rule);
2. each delivery point's total per bucket, direction and quality: half-hours and
   hours sum its curve; a day takes its daily total when it has one (in any
   quality), else its curve; when the point has NO settled reading of its own in
   the bucket (half-hour, hour, day), its devices' readings count instead, summed,
   under the quality ``device``; a month sums its days; an unattached device
   counts nowhere;
3. per scope: sum, number of delivery points present, largest point total.

Nothing here reuses the aggregator's SQL; only the bucket bounds come from
``aggregator.buckets`` (itself tested against DST days).
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest

from aggregator.buckets import bucket_bounds
from aggregator.rebuild import rebuild
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
from energy_core.domain.time import local_day_bounds
from energy_core.domain.units import Unit
from energy_core.wire import batch_to_proto

from .conftest import DEVICES, METERS, UNATTACHED_BUILDING
from .test_aggregator_pipeline import make_pipeline

pytestmark = pytest.mark.integration

DAYS = [date(2026, 3, 28), date(2026, 3, 29), date(2026, 3, 31), date(2026, 4, 1)]
QUALITIES = [Quality.RAW] * 3 + [Quality.CORRECTED, Quality.ESTIMATED]
RANK = {Quality.ESTIMATED: 0, Quality.RAW: 1, Quality.CORRECTED: 2}
HALF_HOUR = timedelta(minutes=30)
MINUTE = timedelta(minutes=1)
MINUTES = "30000000000005"
"""The one meter that sends minutes (a series never mixes steps over one bucket)."""

Stored = dict[tuple[str, str, datetime], tuple[datetime, float, Quality]]
"""(meter, 'curve' | 'daily' | 'phase' | 'device', start) -> (end, value, quality)."""


def half_hours(day: date) -> list[datetime]:
    start, end = local_day_bounds(day)
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    return [start + i * HALF_HOUR for i in range(int((end - start) / HALF_HOUR))]


def encode(
    meter: str,
    readings: list[tuple[datetime, datetime, float]],
    q: Quality,
    channel: str = "",
) -> bytes:
    if meter in DEVICES:
        direction = Direction(DEVICES[meter][1])
        ident: FluksoSensorId | Prm = FluksoSensorId(meter)
        source = Source.FLUKSO
    else:
        direction = Direction(METERS[meter][3])
        ident, source = Prm(meter), Source.ENEDIS_DATACONNECT
    batch = ReadingBatch(
        meter=ident, source=source, energy=Energy.ELECTRICITY,
        readings=tuple(
            Reading(Kind.INTERVAL, Unit.WH, s, e, v, quality=q, direction=direction,
                    channel=channel)
            for s, e, v in readings
        ),
    )  # fmt: skip
    return batch_to_proto(batch).SerializeToString()


def apply(stored: Stored, op: tuple[str, str, list, Quality]) -> None:
    """The store's rule: a higher quality wins, the same quality replaces."""
    meter, kind, readings, quality = op
    for s, e, v in readings:
        old = stored.get((meter, kind, s))
        if old is None or RANK[quality] >= RANK[old[2]]:
            stored[(meter, kind, s)] = (e, v, quality)


def scenario(rng: random.Random, stored: Stored) -> list[list[bytes]]:
    """Random deliveries, applied to ``stored`` in delivery order; grouped.

    Some deliveries repeat an earlier one (an upstream re-publication): the same
    quality replaces, so they count as deliveries in the model too.
    """
    sent: list[tuple[bytes, tuple[str, str, list, Quality]]] = []
    for _ in range(40):
        meter = rng.choice([m for m in METERS if m != MINUTES])
        day = rng.choice(DAYS)
        quality = rng.choice(QUALITIES)
        roll = rng.random()
        if roll < 0.15 and sent:
            sent.append(rng.choice(sent))
            apply(stored, sent[-1][1])
            continue
        if roll > 0.8:  # a device's minutes: a few, a half-hour, or an hour's worth
            device = rng.choice(list(DEVICES))
            slot = rng.choice(half_hours(day))
            count = rng.choice([rng.randint(1, 10), 30, 60])
            if count < 30:
                slot += timedelta(minutes=rng.randrange(30 - count + 1))
            readings = [(slot + i * MINUTE, slot + (i + 1) * MINUTE,
                         float(rng.randint(0, 30))) for i in range(count)]  # fmt: skip
            quality = rng.choice([Quality.RAW, Quality.RAW, Quality.ESTIMATED])
            op = (device, "device", readings, quality)
            apply(stored, op)
            sent.append((encode(device, readings, quality), op))
            continue
        if roll < 0.25:  # Flukso-like minutes: a few at a time, never a whole bucket
            slot = rng.choice(half_hours(day)) + timedelta(minutes=rng.randrange(30))
            readings = [(slot + i * MINUTE, slot + (i + 1) * MINUTE,
                         float(rng.randint(0, 30))) for i in range(rng.randint(1, 20))]  # fmt: skip
            op = (MINUTES, "curve", readings, quality)
            apply(stored, op)
            sent.append((encode(MINUTES, readings, quality), op))
            continue
        if roll < 0.3:  # one phase of a three-phase meter: stored, never rolled up
            s = rng.choice(half_hours(day))
            op = (meter, "phase", [(s, s + HALF_HOUR, 99.0)], quality)
            apply(stored, op)
            sent.append((encode(meter, op[2], quality, channel="l1"), op))
            continue
        if roll < 0.45:  # a daily total
            start, end = (t.astimezone(UTC) for t in local_day_bounds(day))
            readings = [(start, end, float(rng.randint(0, 9000)))]
            kind = "daily"
        else:  # a curve: the whole day, a slice, or scattered half-hours
            slots = half_hours(day)
            shape = rng.random()
            if shape < 0.4:
                chosen = slots
            elif shape < 0.7:
                a = rng.randrange(len(slots))
                chosen = slots[a : a + rng.randint(1, 8)]
            else:
                chosen = sorted(rng.sample(slots, rng.randint(1, 6)))
            readings = [(s, s + HALF_HOUR, float(rng.randint(0, 400))) for s in chosen]
            kind = "curve"
        op = (meter, kind, readings, quality)
        apply(stored, op)
        sent.append((encode(meter, readings, quality), op))
    groups, i = [], 0
    while i < len(sent):
        n = rng.randint(1, 6)
        groups.append([value for value, _ in sent[i : i + n]])
        i += n
    return groups


def expected(stored: Stored) -> dict[tuple, tuple[float, int, float]]:
    """(scope, scope_id, bucket, bucket_start, direction, quality) -> truth."""
    # Per point, direction, bucket and quality: the point's own total and count.
    own: dict[tuple, list[float]] = defaultdict(lambda: [0.0, 0])
    device: dict[tuple, float] = defaultdict(float)
    settled: set[tuple] = set()  # (point, direction, bucket, start) with own data
    has_daily: set[tuple[str, datetime]] = set()
    for meter, kind, start in stored:
        if kind == "daily":
            has_daily.add((meter, start))
    for (meter, kind, start), (_end, value, quality) in stored.items():
        if kind == "phase":
            continue
        if kind == "device":
            point, direction = DEVICES[meter]
            if point is None:
                continue  # attached to nobody: counts nowhere
            for bucket in ("PT30M", "PT1H", "P1D"):
                b_start = bucket_bounds(bucket, start)[0]
                device[(point, direction, bucket, b_start)] += value
            continue
        direction = METERS[meter][3]
        day_start = bucket_bounds("P1D", start)[0]
        buckets = ["P1D"] if kind == "daily" else ["PT30M", "PT1H", "P1D"]
        for bucket in buckets:
            b_start = bucket_bounds(bucket, start)[0]
            settled.add((meter, direction, bucket, b_start))
            if bucket == "P1D" and (kind == "daily") != (
                (meter, day_start) in has_daily
            ):
                continue  # the daily total wins over the curve for that day
            cell = own[(meter, direction, bucket, b_start, quality.value)]
            cell[0] += value
            cell[1] += 1
    for (point, direction, bucket, b_start), value in device.items():
        if (point, direction, bucket, b_start) not in settled:
            cell = own[(point, direction, bucket, b_start, "device")]
            cell[0] += value
            cell[1] += 1  # present (the count only says "present" from here on)
    for (point, direction, bucket, b_start, quality), (value, n) in list(own.items()):
        if bucket == "P1D" and n:
            month_start = bucket_bounds("P1M", b_start)[0]
            month = own[(point, direction, "P1M", month_start, quality)]
            month[0] += value
            month[1] += 1
    truth: dict[tuple, list[float]] = defaultdict(lambda: [0.0, 0, 0.0])
    for (point, direction, bucket, b_start, quality), (value, n) in own.items():
        if not n:
            continue
        building, parcel, iris, _ = METERS[point]
        for scope, scope_id in (("building", building), ("parcel", parcel),
                                ("neighbourhood", iris), ("commune", "38151")):  # fmt: skip
            cell = truth[(scope, scope_id, bucket, b_start, direction, quality)]
            cell[0] += value
            cell[1] += 1
            cell[2] = max(cell[2], value)
    assert UNATTACHED_BUILDING in {v[0] for v in METERS.values()}
    return {k: (round(v[0], 6), int(v[1]), round(v[2], 6)) for k, v in truth.items()}


@pytest.mark.parametrize("seed", range(12))
async def test_rollups_match_the_model(territory_db: asyncpg.Pool, seed: int) -> None:
    rng = random.Random(seed)
    stored: Stored = {}
    groups = scenario(rng, stored)
    pipeline = await make_pipeline(territory_db)
    for group in groups:
        async with territory_db.acquire() as conn:
            await pipeline.process(conn, group)
    got = await observed(territory_db)
    assert got == expected(stored)
    # The rebuild path (after a rule change) recomputes the same from the readings.
    await territory_db.execute(
        "UPDATE rollups SET value = value + 1, delivery_points = delivery_points + 1"
    )
    counted = [k for k in stored if k[0] not in DEVICES or DEVICES[k[0]][0]]
    assert await rebuild(territory_db, pipeline, points=2) == len(counted)
    assert await observed(territory_db) == got
    assert await territory_db.fetchval("SELECT count(*) FROM readings") == len(stored)
    # At-least-once: a consumer restart delivers the last records again, in order.
    for group in groups[-3:]:
        async with territory_db.acquire() as conn:
            await pipeline.process(conn, group)
    assert await observed(territory_db) == got


async def observed(pool: asyncpg.Pool) -> dict[tuple, tuple[float, int, float]]:
    """The rollups table under the model's keys; rows left empty are checked."""
    got = {}
    for r in await pool.fetch("SELECT * FROM rollups"):
        key = (r["scope"], r["scope_id"], r["bucket"], r["bucket_start"],
               r["direction"], r["quality"])  # fmt: skip
        cell = (
            round(r["value"], 6),
            r["delivery_points"],
            round(r["max_point_value"], 6),
        )
        if cell[1] == 0:  # every point left this quality: an empty row remains
            assert cell == (0.0, 0, 0.0), key
            continue
        got[key] = cell
    return got
