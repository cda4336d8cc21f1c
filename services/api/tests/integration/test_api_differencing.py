"""Complementary suppression: no group under the threshold by subtraction.

A parcel of 41 homes and its block of 40 are both "at least 10 points"; publishing
both gives the 41st home's consumption, bucket by bucket. The api withholds the
smallest children of a parent until what stays unknown of it passes the rule (or
is empty when the parent is published), level by level from the commune down.
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

import pytest

from api import queries
from api.privacy import SecrecyRule

pytestmark = pytest.mark.integration
DAY = {"start": "2026-03-01", "end": "2026-03-02"}


async def _rows(world, points: dict[tuple[str, str], int]) -> None:
    """P1D rows for 1 March; each point weighs 1 kWh (no dominance in play)."""
    async with world.pool.acquire() as conn:
        await conn.executemany(
            """INSERT INTO rollups (scope, scope_id, bucket, bucket_start, bucket_end,
                 energy, direction, quality, unit, value, delivery_points,
                 max_point_value)
               VALUES ($1, $2, 'P1D', '2026-03-01 00:00+01', '2026-03-02 00:00+01',
                 'electricity', 'consumption', 'raw', 'Wh', $3, $4, 1000)""",
            [(sc, sid, 1000.0 * n, n) for (sc, sid), n in points.items() if n > 0],
        )


def _hierarchy(world, per_building: dict[str, int]) -> dict[tuple[str, str], int]:
    """Consistent counts at every level from the buildings' counts."""
    points: dict[tuple[str, str], int] = defaultdict(int)
    parcel_iris = {str(p.idu): str(p.iris) for p in world.territory.parcels}
    for b in world.territory.buildings:
        n = per_building.get(b.building_id, 0)
        parcel = str(b.parcel)
        points[("building", b.building_id)] += n
        points[("parcel", parcel)] += n
        points[("neighbourhood", parcel_iris[parcel])] += n
        points[("commune", str(world.territory.commune))] += n
    return dict(points)


async def _item(client, scope: str, scope_id: str) -> dict[str, Any]:
    r = await client.get(f"/v1/rollups/{scope}/{scope_id}", params=DAY)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    return items[0] if items else {"suppressed": True, "value": None}


async def test_a_block_is_withheld_when_its_parcel_would_give_the_house_away(
    client, world
) -> None:
    parcel = str(world.territory.buildings[0].parcel)
    block, house = [
        b.building_id for b in world.territory.buildings if str(b.parcel) == parcel
    ][:2]
    await _rows(world, _hierarchy(world, {block: 40, house: 1}))
    parcel_item = await _item(client, "parcel", parcel)
    block_item = await _item(client, "building", block)
    assert parcel_item["value"] == 41_000  # the parcel itself is fine
    assert block_item["suppressed"] is True  # 41 - 40 would be the house
    assert block_item["value"] is None
    assert "by difference with its parcel" in block_item["reason"]
    assert (await _item(client, "building", house))["suppressed"] is True


async def test_a_large_enough_remainder_lets_children_through(client, world) -> None:
    parcel = str(world.territory.buildings[0].parcel)
    a, b, c = [
        x.building_id for x in world.territory.buildings if str(x.parcel) == parcel
    ][:3]
    # a: 40 published; b + c (6 + 5 = 11 points) stay unknown together: safe.
    await _rows(world, _hierarchy(world, {a: 40, b: 6, c: 5}))
    assert (await _item(client, "building", a))["value"] == 40_000
    assert (await _item(client, "parcel", parcel))["value"] == 51_000


def _frontier(scope: str, sid: str, published, children) -> int:
    """Points of the scope known through its published descendants."""
    total = 0
    for child in children.get((scope, sid), []):
        if published.get(child):
            total += published[child]
        else:
            total += _frontier(*child, published, children)
    return total


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
async def test_no_published_combination_isolates_a_small_group(
    client, world, seed
) -> None:
    rng = random.Random(seed)
    per_building = {
        b.building_id: rng.choice([0, 0, 1, 2, 3, 5, 8, 12, 15, 25, 40])
        for b in world.territory.buildings
    }
    points = _hierarchy(world, per_building)
    await _rows(world, points)
    children: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    parcel_iris = {str(p.idu): str(p.iris) for p in world.territory.parcels}
    commune = ("commune", str(world.territory.commune))
    for n in world.territory.neighbourhoods:
        children[commune].append(("neighbourhood", str(n.iris)))
    for p in world.territory.parcels:
        children[("neighbourhood", parcel_iris[str(p.idu)])].append(
            ("parcel", str(p.idu))
        )
    for b in world.territory.buildings:
        children[("parcel", str(b.parcel))].append(("building", b.building_id))
    published: dict[tuple[str, str], int] = {}
    for key in points:
        item = await _item(client, *key)
        if not item["suppressed"]:
            assert item["delivery_points"] == points[key]
            published[key] = points[key]
    assert published, "the scenario publishes nothing: it tests nothing"
    for key, total in points.items():
        if key[0] == "building" or total == 0:
            continue
        unknown = total - _frontier(*key, published, children)
        if key in published:
            # Parent minus what its published descendants give away.
            assert unknown == 0 or unknown >= 10, (key, total, unknown)
        else:
            # A withheld scope must not be rebuilt from its descendants either.
            assert unknown >= 10 or unknown == total, (key, total, unknown)


@pytest.mark.parametrize("share", [0.85, 1.0, None])
async def test_the_sql_rule_is_the_python_rule(world, share) -> None:
    cases = [
        (n, v, mx)
        for n in (0, 9, 10, 11)
        for v in (-5.0, 0.0, 1.0, 100.0)
        for mx in (-1.0, 0.0, 1.0, 85.0, 86.0, 100.0)
    ]
    predicate = queries.PRIMARY_OK.format(n="n", v="v", mx="mx")
    sql = " ".join(
        (
            "SELECT",
            predicate.replace("$6", "$4").replace("$7", "$5"),
            "FROM unnest($1::int[], $2::float8[], $3::float8[])",
            "WITH ORDINALITY AS t(n, v, mx, i) ORDER BY i",
        )
    )
    async with world.pool.acquire() as conn:
        got = [
            r[0]
            for r in await conn.fetch(
                sql, *(list(col) for col in zip(*cases, strict=True)), 10, share
            )
        ]
    rule = SecrecyRule(10, share)
    want = [
        rule.check(delivery_points=n, value=v, max_point_value=mx).published
        for n, v, mx in cases
    ]
    assert got == want
