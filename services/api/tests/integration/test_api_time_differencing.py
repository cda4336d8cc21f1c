"""Complementary suppression across bucket sizes, through the api and PostgreSQL.

A month and its days are both published by ``/v1/rollups``; a day withheld for
dominance inside a published month would come back as the month minus its
published days. The api withholds one more day (the smallest) so that what stays
unknown of the month mixes days and passes the rule, and it does so whatever
range of days is asked for. March 2026 holds a 23-hour day (29 March).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from energy_core.domain.time import (
    local_day_bounds,
    local_day_of,
    local_month_bounds,
)

pytestmark = pytest.mark.integration
MONTH = date(2026, 3, 1)
DOMINANT = date(2026, 3, 15)
HOMES = 50


def _iris_days() -> list[tuple[date, float, float]]:
    """(day, value Wh, largest point Wh): one home's runaway day on the 15th."""
    out = []
    for i in range(31):
        day = MONTH + timedelta(days=i)
        if day == DOMINANT:
            out.append((day, 10_000.0, 9_000.0))  # one home is 90 % of it
        else:
            out.append((day, 1_000.0 + 10 * i, 50.0))
    return out


async def _plant(world: Any, iris: str) -> None:
    commune = str(world.territory.commune)
    rows = []
    days = _iris_days()
    for day, value, top in days:
        start, end = local_day_bounds(day)
        rows.append(("neighbourhood", iris, "P1D", start, end, value, HOMES, top))
        # The rest of the commune: 150 more homes, far from dominated.
        rows.append(("commune", commune, "P1D", start, end, value + 50_000, 200, top))
    m0, m1 = local_month_bounds(MONTH)
    month_v = sum(v for _, v, _ in days)
    month_top = 9_000.0 + 30 * 50.0
    rows.append(("neighbourhood", iris, "P1M", m0, m1, month_v, HOMES, month_top))
    rows.append(
        ("commune", commune, "P1M", m0, m1, month_v + 31 * 50_000, 200, month_top)
    )
    async with world.pool.acquire() as conn:
        await conn.executemany(
            """INSERT INTO rollups (scope, scope_id, bucket, bucket_start, bucket_end,
                 energy, direction, quality, unit, value, delivery_points,
                 max_point_value)
               VALUES ($1, $2, $3, $4, $5, 'electricity', 'consumption', 'raw',
                 'Wh', $6, $7, $8)""",
            rows,
        )


def _start(item: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(item["bucket_start"])


def _end(item: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(item["bucket_end"])


def _day(item: dict[str, Any]) -> date:
    return local_day_of(_start(item))


async def _get(client: Any, iris: str, bucket: str, start: date, end: date):
    r = await client.get(
        f"/v1/rollups/neighbourhood/{iris}",
        params={"bucket": bucket, "start": str(start), "end": str(end)},
    )
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_month_minus_published_days_reveals_no_withheld_day(
    client, world
) -> None:
    iris = str(world.territory.neighbourhoods[0].iris)
    await _plant(world, iris)
    (month,) = await _get(client, iris, "P1M", MONTH, date(2026, 4, 1))
    assert month["suppressed"] is False
    days = await _get(client, iris, "P1D", MONTH, date(2026, 4, 1))
    assert len(days) == 31
    hours = {_day(d): _end(d) - _start(d) for d in days}
    assert hours[date(2026, 3, 29)] == timedelta(hours=23)  # a DST day among them
    withheld = [d for d in days if d["suppressed"]]
    published = [d for d in days if not d["suppressed"]]
    # The dominant day, and the smallest passing day with it: no more.
    assert [_day(d) for d in withheld] == [MONTH, DOMINANT]
    first = withheld[0]
    assert "enclosing month" in first["reason"]
    rest = month["value"] - sum(d["value"] for d in published)
    assert rest != pytest.approx(10_000.0)  # the dominant day is not given away
    assert rest == pytest.approx(10_000.0 + 1_000.0)
    # 9 000 Wh of one home in 11 000 Wh: within the 85 % share.
    assert 9_000.0 / rest <= 0.85


async def test_children_outside_the_requested_range_count(client, world) -> None:
    iris = str(world.territory.neighbourhoods[0].iris)
    await _plant(world, iris)
    # Asking for the first week only: the 15th is not in it, but the month is,
    # so the 1st must still be withheld (else a second request gives it away).
    days = await _get(client, iris, "P1D", MONTH, date(2026, 3, 8))
    assert len(days) == 7
    assert [d["suppressed"] for d in days] == [True] + [False] * 6
    # The CSV export tells the same.
    r = await client.get(
        f"/v1/rollups/neighbourhood/{iris}/export.csv",
        params={"bucket": "P1D", "start": "2026-03-01", "end": "2026-03-08"},
    )
    assert r.status_code == 200
    lines = r.text.splitlines()
    assert lines[1].split(",")[2] == ""  # the 1st: empty value
    assert all(line.split(",")[2] for line in lines[2:])


async def test_no_dominant_day_withholds_nothing(client, world) -> None:
    iris = str(world.territory.neighbourhoods[0].iris)
    await _plant(world, iris)
    async with world.pool.acquire() as conn:
        # The runaway day spread over the homes: nothing to hide any more.
        await conn.execute(
            "UPDATE rollups SET max_point_value = 50 WHERE bucket = 'P1D'"
        )
    days = await _get(client, iris, "P1D", MONTH, date(2026, 4, 1))
    assert not any(d["suppressed"] for d in days)


async def _map_feature(client, world, iris: str, start: str, end: str):
    r = await client.get(
        "/v1/map/neighbourhood",
        params={
            "commune": str(world.territory.commune),
            "start": start,
            "end": end,
            "geometry": "false",
        },
    )
    assert r.status_code == 200, r.text
    (feature,) = [f for f in r.json()["features"] if f["id"] == iris]
    return feature["properties"]


async def test_the_map_withholds_the_same_days(client, world) -> None:
    iris = str(world.territory.neighbourhoods[0].iris)
    await _plant(world, iris)
    # The first fortnight as edge days (no whole month inside): it holds the 1st,
    # which the time pass withholds, so the total goes too; else the month minus
    # this total minus the published days from the 16th gives the 15th alone.
    first = await _map_feature(client, world, iris, "2026-03-01", "2026-03-15")
    assert first["suppressed"] is True
    assert "enclosing month" in first["reason"]
    later = await _map_feature(client, world, iris, "2026-03-02", "2026-03-15")
    assert later["suppressed"] is False
    (month,) = await _get(client, iris, "P1M", MONTH, date(2026, 4, 1))
    after = await _get(client, iris, "P1D", date(2026, 3, 16), date(2026, 4, 1))
    assert not any(d["suppressed"] for d in after)
    rest = month["value"] - later["value"] - sum(d["value"] for d in after)
    assert rest == pytest.approx(10_000.0 + 1_000.0)  # the 1st and the 15th, mixed
    # The whole month as P1M is the month itself, published.
    whole = await _map_feature(client, world, iris, "2026-03-01", "2026-04-01")
    assert whole["value"] == pytest.approx(month["value"])
