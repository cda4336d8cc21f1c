"""The city map in one call per level (``/v1/map/{level}``).

Each feature must say exactly what the per-scope route (``/v1/rollups``) says of
it, bucket by bucket summed: the batched complementary suppression is checked
against the one the per-scope route runs, on random territories with dominance
and missing parent rows; a key sees its territory only; the public sees the
commune like ``/v1/rollups``.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import pytest

from energy_core.domain.time import PARIS

pytestmark = pytest.mark.integration
DAYS = [datetime(2026, 3, d, tzinfo=PARIS) for d in (1, 2, 3)]
SPAN = {"start": "2026-03-01", "end": "2026-03-04"}


def _hierarchy(world, per_building: dict[str, int]) -> dict[tuple[str, str], int]:
    points: dict[tuple[str, str], int] = defaultdict(int)
    parcel_iris = {str(p.idu): str(p.iris) for p in world.territory.parcels}
    for b in world.territory.buildings:
        n = per_building.get(b.building_id, 0)
        parcel = str(b.parcel)
        for key in (
            ("building", b.building_id),
            ("parcel", parcel),
            ("neighbourhood", parcel_iris[parcel]),
            ("commune", str(world.territory.commune)),
        ):
            points[key] += n
    return dict(points)


async def _random_rows(world, seed: int) -> None:
    """Three days of P1D rows: random counts per building, one day with dominant
    points, some rows dropped (a node without its parent's row), two qualities."""
    rng = random.Random(seed)
    rows = []
    for k, day in enumerate(DAYS):
        per_building = {
            b.building_id: rng.choice([0, 0, 1, 3, 5, 8, 12, 15, 25, 40])
            for b in world.territory.buildings
        }
        per_building[world.territory.buildings[0].building_id] = 0  # one empty
        for (scope, sid), n in _hierarchy(world, per_building).items():
            if n <= 0 or (k == 2 and scope != "building" and rng.random() < 0.1):
                continue
            top = 1000.0 if k != 1 or rng.random() < 0.7 else 900.0 * n
            rows.append((scope, sid, day, day + timedelta(days=1), 1000.0 * n, n, top))
            if k == 0 and rng.random() < 0.2:  # a second quality of the same bucket
                rows.append((scope, sid, day, day + timedelta(days=1), 50.0, 1, 50.0))
    async with world.pool.acquire() as conn:
        await conn.executemany(
            """INSERT INTO rollups (scope, scope_id, bucket, bucket_start, bucket_end,
                 energy, direction, quality, unit, value, delivery_points,
                 max_point_value)
               VALUES ($1, $2, 'P1D', $3, $4, 'electricity', 'consumption',
                 CASE WHEN $7 = 50.0 THEN 'estimated' ELSE 'raw' END, 'Wh', $5, $6, $7)
               ON CONFLICT DO NOTHING""",
            rows,
        )


async def _per_scope(client, scope: str, sid: str) -> dict[str, Any]:
    """The feature as the per-scope route gives it, summed like the map."""
    r = await client.get(f"/v1/rollups/{scope}/{sid}", params=SPAN)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    if not items:
        return {"state": "empty", "value": None, "reason": None}
    hidden = [i for i in items if i["suppressed"]]
    if hidden:
        return {"state": "suppressed", "value": None, "reason": hidden[0]["reason"]}
    return {
        "state": "published",
        "value": sum(i["value"] for i in items),
        "reason": None,
        "points": max(i["delivery_points"] for i in items),
    }


@pytest.mark.parametrize("seed", [11, 12, 13])
async def test_every_feature_says_what_the_per_scope_route_says(
    client, world, seed
) -> None:
    await _random_rows(world, seed)
    commune = str(world.territory.commune)
    seen = defaultdict(int)
    for level in ("neighbourhood", "parcel", "building"):
        r = await client.get(f"/v1/map/{level}", params={**SPAN, "commune": commune})
        assert r.status_code == 200, r.text
        doc = r.json()
        assert doc["type"] == "FeatureCollection"
        assert doc["bucket"] == "P1D"
        expected_ids = {
            "neighbourhood": {str(n.iris) for n in world.territory.neighbourhoods},
            "parcel": {str(p.idu) for p in world.territory.parcels},
            "building": {b.building_id for b in world.territory.buildings},
        }[level]
        assert {f["id"] for f in doc["features"]} == expected_ids
        for f in doc["features"]:
            want = await _per_scope(client, level, f["id"])
            got = f["properties"]
            seen[got["state"]] += 1
            seen["withheld"] += "by difference" in (got["reason"] or "")
            assert got["state"] == want["state"], (level, f["id"], got, want)
            assert got["reason"] == want["reason"], (level, f["id"])
            if want["state"] == "published":
                assert got["value"] == pytest.approx(want["value"])
                assert got["delivery_points"] == want["points"]
                assert got["delivery_points"] >= 10
                assert got["value_per_point"] == pytest.approx(
                    want["value"] / want["points"]
                )
            else:
                assert got["value"] is None
                assert got["delivery_points"] is None
    # the random worlds exercise all three states, withheld ones included
    assert seen["published"]
    assert seen["suppressed"]
    assert seen["empty"]
    assert seen["withheld"], seen


async def test_geometry_names_and_month_buckets(client, world) -> None:
    commune = str(world.territory.commune)
    first = world.territory.neighbourhoods[0]
    start = datetime(2026, 2, 1, tzinfo=PARIS)
    async with world.pool.acquire() as conn:
        for scope, sid, n in (
            ("commune", commune, 60),
            ("neighbourhood", str(first.iris), 45),
        ):
            await conn.execute(
                """INSERT INTO rollups VALUES ($1, $2, 'P1M', $3, $4,
                   'electricity', 'consumption', 'raw', 'Wh', $5, $6, 1000)""",
                scope, sid, start, datetime(2026, 3, 1, tzinfo=PARIS), 1000.0 * n, n,
            )  # fmt: skip
    r = await client.get(
        "/v1/map/neighbourhood",
        params={"start": "2026-02-01", "end": "2026-03-01", "commune": commune},
    )
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["bucket"] == "P1M"
    byid = {f["id"]: f for f in doc["features"]}
    f = byid[str(first.iris)]
    assert f["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert f["properties"]["name"] == first.name
    assert f["properties"]["state"] == "published"  # 60 - 45 = 15 unknown: safe
    assert f["properties"]["value"] == 45_000
    assert f["properties"]["unit"] == "Wh"
    others = [x for k, x in byid.items() if k != str(first.iris)]
    assert all(x["properties"]["state"] == "empty" for x in others)


async def test_a_key_sees_its_territory_only(client, world) -> None:
    await _random_rows(world, 11)
    commune = str(world.territory.commune)
    own_iris = str(world.territory.neighbourhoods[-1].iris)
    key = {"x-api-key": world.other_iris_key}
    r = await client.get("/v1/map/parcel", params=SPAN, headers=key)
    assert r.status_code == 200, r.text
    feats = r.json()["features"]
    assert feats
    assert {f["properties"]["iris"] for f in feats} == {own_iris}
    r = await client.get("/v1/map/neighbourhood", params=SPAN, headers=key)
    assert [f["id"] for f in r.json()["features"]] == [own_iris]
    victim = str(world.territory.neighbourhoods[0].iris)
    r = await client.get("/v1/map/parcel", params={**SPAN, "iris": victim}, headers=key)
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")
    r = await client.get(
        "/v1/map/neighbourhood", params={**SPAN, "commune": "75056"}, headers=key
    )
    assert r.status_code == 403
    foreign_parcel = next(
        str(p.idu) for p in world.territory.parcels if str(p.iris) != own_iris
    )
    r = await client.get(
        "/v1/map/building", params={**SPAN, "parcel": foreign_parcel}, headers=key
    )
    assert r.status_code == 200
    assert r.json()["features"] == []  # another IRIS' parcel: nothing of it
    commune_key = {"x-api-key": world.commune_key}
    r = await client.get("/v1/map/neighbourhood", params=SPAN, headers=commune_key)
    assert r.status_code == 200
    assert r.json()["commune"] == commune
    assert len(r.json()["features"]) == len(world.territory.neighbourhoods)


async def test_public_reads_need_a_commune_and_stay_bounded(client, world) -> None:
    r = await client.get("/v1/map/neighbourhood", params=SPAN)
    assert r.status_code == 422
    r = await client.get("/v1/map/neighbourhood", params={**SPAN, "commune": "99999"})
    assert r.status_code == 404
    r = await client.get(
        "/v1/map/parcel",
        params={"start": "2024-01-01", "end": "2026-01-01", "commune": "38151"},
    )
    assert r.status_code == 422  # longer than MAX_DAYS
    r = await client.get("/v1/map/commune", params={**SPAN, "commune": "38151"})
    assert r.status_code == 422
    parcel = str(world.territory.parcels[0].idu)
    r = await client.get(
        "/v1/map/building",
        params={**SPAN, "commune": str(world.territory.commune), "parcel": parcel},
    )
    assert r.status_code == 200
    names = {
        b.building_id for b in world.territory.buildings if str(b.parcel) == parcel
    }
    assert {f["id"] for f in r.json()["features"]} == names


async def test_values_only_leave_the_shapes_out(client, world) -> None:
    params = {**SPAN, "commune": str(world.territory.commune)}
    full = (await client.get("/v1/map/parcel", params=params)).json()
    bare = (
        await client.get("/v1/map/parcel", params={**params, "geometry": "false"})
    ).json()
    assert all(f["geometry"] for f in full["features"])
    assert all(f["geometry"] is None for f in bare["features"])
    assert [f["properties"] for f in full["features"]] == [
        f["properties"] for f in bare["features"]
    ]
