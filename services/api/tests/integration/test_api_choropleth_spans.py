"""The map over spans of whole days (not whole months): whole months come from P1M
rows and the days around them from P1D rows, in one statement.

The composed answer must be the daily answer: for spans crossing both DST changes
(25-hour 2025-10-26 and 23-hour 2026-03-29) and the year's edge, every feature
the map publishes has the sum of the per-scope route's DAILY buckets (and the
largest point count), and every feature the daily route withholds on some day of
an edge stays suppressed over the span, with the same reason.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import pytest

from energy_core.domain.time import local_midnight, next_month_start

pytestmark = pytest.mark.integration
FIRST, LAST = date(2025, 10, 1), date(2026, 4, 1)  # rows written for [FIRST, LAST)
DOMINANT_DAY = date(2025, 10, 26)  # the 25-hour day, inside the October edge


def _points(world, seed: int) -> dict[tuple[str, str], int]:
    rng = random.Random(seed)
    parcel_iris = {str(p.idu): str(p.iris) for p in world.territory.parcels}
    points: dict[tuple[str, str], int] = defaultdict(int)
    for b in world.territory.buildings:
        n = rng.choice([0, 3, 8, 12, 25])
        parcel = str(b.parcel)
        for key in (
            ("building", b.building_id),
            ("parcel", parcel),
            ("neighbourhood", parcel_iris[parcel]),
            ("commune", str(world.territory.commune)),
        ):
            points[key] += n
    return {k: n for k, n in points.items() if n > 0}


def _day_rows(
    points: dict[tuple[str, str], int], dominant: tuple[str, str]
) -> list[tuple[Any, ...]]:
    """A P1D row per scope and day (values vary by day), and the P1M rows the
    aggregator would hold: the months' sums of those days."""
    rows: list[tuple[Any, ...]] = []
    months: dict[tuple[str, str, date], list[float]] = {}
    day = FIRST
    while day < LAST:
        factor = 1.0 + (day.toordinal() % 7) / 10 + (day.day % 3) / 100
        for (scope, sid), n in points.items():
            value = 1000.0 * n * factor
            top = 1000.0 * factor
            if (scope, sid) == dominant and day == DOMINANT_DAY:
                top = 0.9 * value  # one point is 90 % of that day
            start, end = local_midnight(day), local_midnight(day + timedelta(days=1))
            rows.append((scope, sid, "P1D", start, end, value, n, top))
            m = months.setdefault((scope, sid, day.replace(day=1)), [0.0, 0.0, n])
            m[0] += value
            m[1] += top
        day += timedelta(days=1)
    for (scope, sid, first), (value, top, n) in months.items():
        rows.append(
            (
                scope,
                sid,
                "P1M",
                local_midnight(first),
                local_midnight(next_month_start(first)),
                value,
                int(n),
                top,
            )
        )
    return rows


async def _write(world, rows: list[tuple[Any, ...]]) -> None:
    async with world.pool.acquire() as conn:
        await conn.executemany(
            """INSERT INTO rollups (scope, scope_id, bucket, bucket_start, bucket_end,
                 energy, direction, quality, unit, value, delivery_points,
                 max_point_value)
               VALUES ($1, $2, $3, $4, $5, 'electricity', 'consumption', 'raw', 'Wh',
                       $6, $7, $8)""",
            rows,
        )


async def _daily(client, scope: str, sid: str, span: dict[str, str]) -> dict[str, Any]:
    """The feature from the per-scope route's DAILY buckets, summed."""
    r = await client.get(
        f"/v1/rollups/{scope}/{sid}", params={**span, "bucket": "P1D", "limit": 500}
    )
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    if not items:
        return {"state": "empty"}
    hidden = [i for i in items if i["suppressed"]]
    if hidden:
        return {"state": "suppressed", "reason": hidden[0]["reason"]}
    return {
        "state": "published",
        "value": sum(i["value"] for i in items),
        "points": max(i["delivery_points"] for i in items),
    }


@pytest.mark.parametrize(
    "span",
    [
        # October edge with the 25-hour day, Nov-Feb whole, March edge with the
        # 23-hour day
        {"start": "2025-10-20", "end": "2026-03-30"},
        # December edge, January whole (the year's edge between P1D and P1M),
        # February edge
        {"start": "2025-12-10", "end": "2026-02-15"},
        # no whole month: days only, across the year's edge
        {"start": "2025-12-20", "end": "2026-01-10"},
    ],
)
async def test_a_span_of_days_is_the_sum_of_its_days(client, world, span) -> None:
    points = _points(world, 7)
    parcels = sorted(
        (sid, n) for (scope, sid), n in points.items() if scope == "parcel"
    )
    dominant = ("parcel", next(sid for sid, n in parcels if n >= 25))
    await _write(world, _day_rows(points, dominant))
    commune = str(world.territory.commune)
    seen: dict[str, int] = defaultdict(int)
    for level in ("neighbourhood", "parcel"):
        r = await client.get(
            f"/v1/map/{level}",
            params={**span, "commune": commune, "geometry": "false"},
        )
        assert r.status_code == 200, r.text
        doc = r.json()
        for f in doc["features"]:
            got, want = f["properties"], await _daily(client, level, f["id"], span)
            seen[got["state"]] += 1
            assert got["state"] == want["state"], (level, f["id"], got, want)
            if want["state"] == "published":
                assert got["value"] == pytest.approx(want["value"], rel=1e-12)
                assert got["delivery_points"] == want["points"]
            elif want["state"] == "suppressed":
                assert got["reason"] == want["reason"]
                assert got["value"] is None
    assert seen["published"]
    assert seen["suppressed"]
    if span["start"] == "2025-10-20":
        # the whole span is months AND days, and the dominant day sits in an edge:
        # a cell suppressed on one day of the span is suppressed over the span
        assert doc["bucket"] == "P1D+P1M"
        cell = next(f for f in doc["features"] if f["id"] == dominant[1])
        assert cell["properties"]["state"] == "suppressed"
        assert "exceeds" in cell["properties"]["reason"]
        # and not because of its size: without the dominant day it is published
        r = await client.get(
            "/v1/map/parcel",
            params={"start": "2025-10-27", "end": "2026-03-30", "commune": commune},
        )
        after = next(f for f in r.json()["features"] if f["id"] == dominant[1])
        assert after["properties"]["state"] == "published"
