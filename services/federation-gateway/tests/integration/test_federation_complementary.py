"""Complementary suppression at egress, on the real wire: a peer pulling (and
being pushed) a commune and its IRIS of the same day can never compute a
withheld IRIS as the commune minus the published ones.

B's commune 38151 on DAY0: IRIS ...0101 (12 points, seeded by
:func:`seed_b`), ...0102 (15 points), ...0103 (4 points: fails the basic rule), and
the commune (31 points). Publishing the commune, ...0101 and ...0102 would give
...0103 away; the gateway withholds ...0101 as well, as the api does.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from energy_core.privacy import SecrecyRule

from .test_federation_two_collectives import (
    AGGREGATE,
    COMMUNE,
    DAY0,
    IRIS,
    _period,
    _until,
    peered,
    subscribe,
)

pytestmark = pytest.mark.integration

SIBLINGS = {"381510102": (15, 150_000.0), "381510103": (4, 40_000.0)}
SUPPRESSED = "381510103"
WHOLE = (31, 310_000.0)  # the commune: 12 + 15 + 4 points
GRANT: dict[str, Any] = {
    "territories": frozenset({COMMUNE}),
    "levels": frozenset({"neighbourhood", "commune"}),
    "buckets": frozenset({"P1D"}),
}


def _urn(level: str, territory: str) -> str:
    return f"urn:sen1:{level}:{territory}_consumption/energy/active/P1D"


async def _rollup(
    pool: Any,
    scope: str,
    scope_id: str,
    points: int,
    value: float,
    *,
    bucket: str = "P1D",
    start: datetime = DAY0,
    end: datetime | None = None,
    quality: str = "raw",
) -> None:
    await pool.execute(
        """
        INSERT INTO rollups (scope, scope_id, bucket, bucket_start, bucket_end,
            energy, direction, quality, unit, value, delivery_points, max_point_value)
        VALUES ($1, $2, $8, $3, $4, 'electricity', 'consumption', $9, 'Wh',
                $5, $6, $7)
        """,
        scope,
        scope_id,
        start,
        end or start + timedelta(days=1),
        value,
        points,
        value / points,
        bucket,
        quality,
    )


async def _seed_siblings(pool: Any) -> None:
    for iris, (points, value) in SIBLINGS.items():
        await pool.execute(
            "INSERT INTO neighbourhoods (iris, commune_insee, name, capacity_kw)"
            " VALUES ($1, $2, 'Voisin', 300)",
            iris,
            COMMUNE,
        )
        await _rollup(pool, "neighbourhood", iris, points, value)
    await _rollup(pool, "commune", COMMUNE, *WHOLE)


def _by_time(records: list[dict[str, Any]]) -> dict[int, float]:
    """SenML records by bucket start (base time of the first record + ``t``)."""
    base = records[0]["bt"] if records else 0
    return {base + r["t"]: r["v"] for r in records}


def _rest_below_threshold(published: dict[str, float]) -> bool:
    """Whether commune - published IRIS covers fewer delivery points than the
    threshold (it would then give a withheld IRIS, or a too-small group, away)."""
    points = {IRIS: 12, **{k: p for k, (p, _) in SIBLINGS.items()}}
    rest_points = WHOLE[0] - sum(points[k] for k in published)
    return 0 < rest_points < SecrecyRule().min_points


async def test_the_commune_minus_published_iris_never_gives_a_withheld_one(
    collectives: Any,
) -> None:
    a, b, _ = await peered(collectives, **GRANT)
    await _seed_siblings(b.runtime.pool)
    query = f"{b.url}/federation/v1/query"
    day0 = int(DAY0.timestamp())

    async def pulled(urn: str) -> float | None:
        records = await a.runtime.client.post(query, {"urn": urn, **_period()})
        return _by_time(records).get(day0)

    commune = await pulled(_urn("commune", COMMUNE))
    assert commune == WHOLE[1]
    iris = {code: await pulled(_urn("iris", code)) for code in (IRIS, *SIBLINGS)}
    published = {k: v for k, v in iris.items() if v is not None}
    # The 4-point IRIS fails the basic rule; the 12-point one goes with it.
    assert published == {"381510102": 150_000.0}
    assert not _rest_below_threshold(published)
    assert commune - sum(published.values()) != SIBLINGS[SUPPRESSED][1]
    # Asking for the one IRIS alone (a second request) changes nothing.
    assert await pulled(AGGREGATE) is None

    # Pushes of the same URNs send what the pull did, no more.
    assert await _pushed(a, b) == {
        _urn("commune", COMMUNE): WHOLE[1],
        _urn("iris", "381510102"): 150_000.0,
    }


async def _pushed(a: Any, b: Any) -> dict[str, float]:
    """What B pushes to A of DAY0 once A subscribed to the commune and its IRIS
    (urn -> value), after a few more rounds of B's loop."""
    urns = [_urn("commune", COMMUNE), *(_urn("iris", c) for c in (IRIS, *SIBLINGS))]
    await subscribe(a, b, urns)
    stop = asyncio.Event()
    loop = asyncio.create_task(b.runtime.service.run(stop))
    try:
        await _until(
            lambda: a.runtime.pool.fetchval(
                "SELECT count(*) >= 2 FROM federation_peer_rollups"
                " WHERE bucket_start = $1",
                DAY0,
            )
        )
        # Give the loop time for a few more rounds: nothing else may arrive.
        await asyncio.sleep(1.0)
        rows = await a.runtime.pool.fetch(
            "SELECT urn, value FROM federation_peer_rollups"
            " WHERE bucket_start = $1 ORDER BY urn",
            DAY0,
        )
    finally:
        stop.set()
        await loop
    return {r["urn"]: r["value"] for r in rows}


async def test_a_bucket_split_across_qualities_leaves_whole(collectives: Any) -> None:
    # IRIS ...0102 on DAY0: its 15 homes' raw day, plus one home's estimated part
    # (a bucket partly raw, partly estimated: two rollup rows). The api publishes
    # the sum, 159 kWh; the best-quality row alone (raw, 150 kWh) would let a
    # peer subtract the estimated home's 9 kWh from the api's figure.
    a, b, _ = await peered(collectives, **GRANT)
    pool = b.runtime.pool
    await _seed_siblings(pool)
    code, part = "381510102", 9_000.0
    await _rollup(pool, "neighbourhood", code, 1, part, quality="estimated")
    await _rollup(pool, "commune", COMMUNE, 1, part, quality="estimated")
    query = f"{b.url}/federation/v1/query"
    day0 = int(DAY0.timestamp())

    async def pulled(urn: str) -> float | None:
        records = await a.runtime.client.post(query, {"urn": urn, **_period()})
        return _by_time(records).get(day0)

    whole = {
        _urn("commune", COMMUNE): WHOLE[1] + part,
        _urn("iris", code): SIBLINGS[code][1] + part,
    }
    for urn, value in whole.items():
        assert await pulled(urn) == value
    # The merged figures decide too: ...0101 still goes with the 4-point IRIS.
    assert await pulled(_urn("iris", IRIS)) is None
    assert await pulled(_urn("iris", SUPPRESSED)) is None
    assert await _pushed(a, b) == whole


# November 2026 in Paris: 1 Nov 00:00 to 1 Dec 00:00 (UTC+1 all month).
MONTH = (
    datetime(2026, 10, 31, 23, 0, tzinfo=UTC),
    datetime(2026, 11, 30, 23, 0, tzinfo=UTC),
)


async def test_the_month_minus_published_days_never_gives_a_withheld_day(
    collectives: Any,
) -> None:
    # IRIS ...0102 (15 homes): DAY0 150 kWh, the next day only 3 homes reported
    # (withheld), the day after 140 kWh; its month holds the three.
    a, b, _ = await peered(
        collectives, **{**GRANT, "buckets": frozenset({"P1D", "P1M"})}
    )
    await _seed_siblings(b.runtime.pool)
    code = "381510102"
    days = {DAY0: 150_000.0, DAY0 + timedelta(days=1): 30_000.0}
    days[DAY0 + timedelta(days=2)] = 140_000.0
    await _rollup(
        b.runtime.pool,
        "neighbourhood",
        code,
        3,
        30_000.0,
        start=DAY0 + timedelta(days=1),
    )
    await _rollup(
        b.runtime.pool,
        "neighbourhood",
        code,
        15,
        140_000.0,
        start=DAY0 + timedelta(days=2),
    )
    await _rollup(
        b.runtime.pool,
        "neighbourhood",
        code,
        15,
        sum(days.values()),
        bucket="P1M",
        start=MONTH[0],
        end=MONTH[1],
    )
    query = f"{b.url}/federation/v1/query"
    urn = f"urn:sen1:iris:{code}_consumption/energy/active/"
    whole = {"start": MONTH[0].isoformat(), "end": MONTH[1].isoformat()}
    month = await a.runtime.client.post(query, {"urn": urn + "P1M", **whole})
    assert [r["v"] for r in month] == [sum(days.values())]
    daily = await a.runtime.client.post(query, {"urn": urn + "P1D", **whole})
    published = _by_time(daily)
    # The 3-home day is withheld, and so is the smaller passing one (140 kWh):
    # month - published days = two days together (18 homes), never one.
    assert published == {int(DAY0.timestamp()): 150_000.0}
    assert month[0]["v"] - sum(published.values()) != days[DAY0 + timedelta(days=1)]
    # Asking for the 140 kWh day alone changes nothing.
    alone = {
        "start": (DAY0 + timedelta(days=2)).isoformat(),
        "end": (DAY0 + timedelta(days=3)).isoformat(),
    }
    assert await a.runtime.client.post(query, {"urn": urn + "P1D", **alone}) == []


PARCEL_GRANT: dict[str, Any] = {
    **GRANT,
    "levels": frozenset({"neighbourhood", "parcel", "commune"}),
}


async def _place(pool: Any, level: str, code: str, points: int, value: float) -> None:
    """An IRIS of the commune (named ``code``) or a parcel of IRIS ...0102, with
    its DAY0 rollup."""
    if level == "neighbourhood":
        await pool.execute(
            "INSERT INTO neighbourhoods (iris, commune_insee, name, capacity_kw)"
            " VALUES ($1, $2, 'Voisin', 300) ON CONFLICT DO NOTHING",
            code,
            COMMUNE,
        )
    else:
        await pool.execute(
            "INSERT INTO parcels (idu, commune_insee, iris, geometry)"
            " VALUES ($1, $2, '381510102', '{}')",
            code,
            COMMUNE,
        )
    await _rollup(pool, level, code, points, value)


async def _pull_day0(a: Any, b: Any, urn: str) -> float | None:
    records = await a.runtime.client.post(
        f"{b.url}/federation/v1/query", {"urn": urn, **_period()}
    )
    return _by_time(records).get(int(DAY0.timestamp()))


async def test_the_iris_minus_published_parcels_never_gives_a_withheld_one(
    collectives: Any,
) -> None:
    # The commune: ...0101 (12 homes, seeded), ...0102 (31) and ...0103 (20), all
    # published. ...0102's parcels: 12, 15 and 4 homes; the 4-home one fails the
    # rule, the 12-home one goes with it (the IRIS minus the 15 gives the two).
    a, b, _ = await peered(collectives, **PARCEL_GRANT)
    pool = b.runtime.pool
    await _place(pool, "neighbourhood", "381510102", 31, 310_000.0)
    await _place(pool, "neighbourhood", "381510103", 20, 200_000.0)
    await _rollup(pool, "commune", COMMUNE, 63, 630_000.0)
    parcels = {
        "38151000AB0001": (12, 120_000.0),
        "38151000AB0002": (15, 150_000.0),
        "38151000AB0003": (4, 40_000.0),
    }
    for idu, figures in parcels.items():
        await _place(pool, "parcel", idu, *figures)
    iris = await _pull_day0(a, b, _urn("iris", "381510102"))
    assert iris == 310_000.0
    published = {
        idu: v
        for idu in parcels
        if (v := await _pull_day0(a, b, _urn("parcel", idu))) is not None
    }
    assert published == {"38151000AB0002": 150_000.0}
    assert iris - sum(published.values()) != parcels["38151000AB0003"][1]
    # Buildings walk the whole chain too: the one building of the published
    # parcel is published, the one of a withheld parcel is not.
    await b.runtime.repository.upsert_peer(
        a.peer_entry(**{**PARCEL_GRANT, "levels": frozenset({"building"})})
    )
    for building, idu in (("b-2", "38151000AB0002"), ("b-1", "38151000AB0001")):
        await pool.execute(
            "INSERT INTO buildings (building_id, address, parcel_idu, iris,"
            " surface_m2, building_type)"
            " VALUES ($1, 'rue', $2, '381510102', 900, 'residential')",
            building,
            idu,
        )
        await _rollup(pool, "building", building, *parcels[idu])
    assert await _pull_day0(a, b, _urn("building", "b-2")) == 150_000.0
    assert await _pull_day0(a, b, _urn("building", "b-1")) is None


async def test_the_parcels_of_a_withheld_iris_never_rebuild_it(
    collectives: Any,
) -> None:
    # The commune: ...0101 (40 homes), ...0102 (25) and ...0103 (4 homes: fails).
    # ...0102 is withheld so that the commune minus the published IRIS does not
    # give ...0103 away. Its two parcels (12 and 13 homes) each pass the rule,
    # but together they are ...0102: one of them is withheld too.
    a, b, _ = await peered(collectives, **PARCEL_GRANT)
    pool = b.runtime.pool
    await pool.execute(
        "UPDATE rollups SET delivery_points = 40, value = 400000,"
        " max_point_value = 10000 WHERE scope_id = $1 AND bucket_start = $2",
        IRIS,
        DAY0,
    )
    await _place(pool, "neighbourhood", "381510102", 25, 250_000.0)
    await _place(pool, "neighbourhood", "381510103", 4, 40_000.0)
    await _rollup(pool, "commune", COMMUNE, 69, 690_000.0)
    parcels = {"38151000AB0001": (12, 120_000.0), "38151000AB0002": (13, 130_000.0)}
    for idu, figures in parcels.items():
        await _place(pool, "parcel", idu, *figures)
    assert await _pull_day0(a, b, _urn("commune", COMMUNE)) == 690_000.0
    assert await _pull_day0(a, b, _urn("iris", IRIS)) == 400_000.0
    assert await _pull_day0(a, b, _urn("iris", "381510102")) is None
    published = {
        idu: v
        for idu in parcels
        if (v := await _pull_day0(a, b, _urn("parcel", idu))) is not None
    }
    assert published == {"38151000AB0002": 130_000.0}
    # A peer granted the IRIS alone (not the commune) is covered the same way.
    await b.runtime.repository.upsert_peer(
        a.peer_entry(**{**PARCEL_GRANT, "territories": frozenset({"381510102"})})
    )
    assert await _pull_day0(a, b, _urn("parcel", "38151000AB0002")) == 130_000.0
    assert await _pull_day0(a, b, _urn("parcel", "38151000AB0001")) is None
    assert await _pull_day0(a, b, _urn("iris", IRIS)) is None  # not granted
