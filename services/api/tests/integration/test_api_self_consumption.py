"""Self-consumption on the resident page and the city page (real PostgreSQL).

Resident: a PV home whose PRM injects (Data Connect production curve) and whose
FluksoMeter PV sensor measures the gross production, over the 23-hour day of
2026-03-29; a day with only one side says so. Another resident, a city key and
the public get nothing of it.

City: the aggregator's per-point day rows (gross in the device slot, injection in
the settled slots) summed per IRIS, published only with >= the threshold of
distinct delivery points every day; a key of one IRIS sees only its own.
"""

from __future__ import annotations

from datetime import UTC, date, timedelta

import pytest

from energy_core.domain.time import local_midnight

pytestmark = pytest.mark.integration
DAYS = [date(2026, 3, 28), date(2026, 3, 29), date(2026, 3, 30)]  # 29th: 23 hours
SPAN = {"start": "2026-03-28", "end": "2026-03-31"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _production(conn, meter_id: str, day: date, wh: float, step_min: int = 30):
    """A production curve over the whole local day (46 half-hours on the 29th)."""
    series = await conn.fetchval(
        """INSERT INTO series (urn, meter_id, scheme, direction, kind, dimension, unit)
           VALUES ($1, $2, 'prm', 'production', 'interval', 'energy', 'Wh')
           ON CONFLICT (urn) DO UPDATE SET unit = EXCLUDED.unit RETURNING series_id""",
        f"urn:dev:prm:{meter_id}_production/energy/active",
        meter_id,
    )
    t, end = local_midnight(day).astimezone(UTC), local_midnight(day + timedelta(1))
    step = timedelta(minutes=step_min)
    rows = []
    while t < end:
        rows.append((series, t, t + step, wh))
        t += step
    await conn.executemany(
        "INSERT INTO readings (series_id, start_ts, end_ts, value, quality) "
        "VALUES ($1, $2, $3, $4, 1)",
        rows,
    )
    return len(rows)


async def test_a_pv_home_sees_its_self_consumption_per_day(client, world) -> None:
    owner = world.territory.residents[1]  # a FluksoMeter home with a PV sensor
    pv = next(
        m.meter_id
        for d in world.territory.flukso_devices
        for m in d.sensors
        if m.meter_id in owner.meters and m.direction.value == "production"
    )
    async with world.pool.acquire() as conn:
        await conn.execute(
            "UPDATE meters SET delivery_point_id = $1 WHERE meter_id = $2",
            world.meter_b,
            pv,
        )
        # gross: 200 Wh a half-hour; injected: 80 Wh a half-hour
        slots = await _production(conn, pv, DAYS[1], 200.0)
        assert slots == 46  # the 23-hour day
        await _production(conn, world.meter_b, DAYS[1], 80.0)
        await _production(conn, pv, DAYS[0], 100.0)  # no injection known that day
        await _production(conn, world.meter_b, DAYS[2], 50.0)  # no sensor data
    r = await client.get(
        f"/v1/meters/{world.meter_b}/self-consumption",
        params=SPAN,
        headers=bearer(world.resident_b),
    )
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["devices"] == [pv]
    by_day = {d["day"]: d for d in doc["days"]}
    d29 = by_day["2026-03-29"]
    assert d29["state"] == "both"
    assert d29["production_kwh"] == pytest.approx(46 * 0.2)
    assert d29["injection_kwh"] == pytest.approx(46 * 0.08)
    assert d29["self_consumed_kwh"] == pytest.approx(46 * 0.12)
    assert by_day["2026-03-28"]["state"] == "production-only"
    assert by_day["2026-03-28"]["self_consumed_kwh"] is None
    assert by_day["2026-03-28"]["production_kwh"] == pytest.approx(48 * 0.1)
    assert by_day["2026-03-30"]["state"] == "injection-only"
    assert by_day["2026-03-30"]["self_consumed_kwh"] is None
    assert doc["total"]["days_with_both"] == 1
    assert doc["total"]["self_consumed_kwh"] == pytest.approx(46 * 0.12)

    # nobody else: another resident, a city key, the public
    for headers, status in (
        (bearer(world.resident_a), 404),
        ({"x-api-key": world.commune_key}, 403),
        ({}, 401),
    ):
        r = await client.get(
            f"/v1/meters/{world.meter_b}/self-consumption",
            params=SPAN,
            headers=headers,
        )
        assert r.status_code == status, (headers, r.text)
        assert "self_consumed" not in r.text
    # a device the resident withdrew stays hidden, even behind its point
    async with world.pool.acquire() as conn:
        person = await conn.fetchval(
            "SELECT person_id FROM people WHERE email = $1", owner.email
        )
        withdrawn = await conn.execute(  # as POST /v1/me/consents/{id}/withdraw
            "UPDATE consents SET revoked_at = now() WHERE person_id = $1"
            " AND meter_id = $2 AND revoked_at IS NULL",
            person,
            pv,
        )
        assert withdrawn == "UPDATE 1"
    r = await client.get(
        f"/v1/meters/{world.meter_b}/self-consumption",
        params=SPAN,
        headers=bearer(world.resident_b),
    )
    assert r.status_code == 200, r.text
    assert r.json()["devices"] == []
    assert {d["state"] for d in r.json()["days"]} == {"injection-only"}
    assert r.json()["sides"] == {"injection": True, "production": False}
    # a device is not a delivery point
    r = await client.get(
        f"/v1/meters/{pv}/self-consumption",
        params=SPAN,
        headers=bearer(world.resident_b),
    )
    assert r.status_code in (404, 422), r.text


async def _day_rows(world, iris: str, points: int, days: list[date], tag: str) -> None:
    """Per-point day rows as the aggregator keeps them: the PRM's injection in the
    raw slot (exact: a daily value), the PV sensor's gross in the device slot."""
    commune = str(world.territory.commune)
    rows = []
    for p in range(points):
        point = f"{tag}{p:04d}"
        for day in days:
            gross, injected = 10_000.0 + 100 * p, 4_000.0
            rows.append(
                (point, local_midnight(day), local_midnight(day + timedelta(1)),
                 iris, commune, injected, gross)
            )  # fmt: skip
    async with world.pool.acquire() as conn:
        await conn.executemany(
            """INSERT INTO aggregator_meter_days (point_id, direction, unit, day_start,
                 day_end, energy, iris, commune_insee, ev0, ev1, ev2, en0, en1, en2,
                 sv0, sv1, sv2, sn0, sn1, sn2, ev3, en3, sv3, sn3)
               VALUES ($1, 'production', 'Wh', $2, $3, 'electricity', $4, $5,
                 0, $6, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, $7, 1440)""",
            rows,
        )


async def test_city_self_consumption_behind_the_threshold(client, world) -> None:
    hoods = [str(n.iris) for n in world.territory.neighbourhoods]
    big, small, own = hoods[0], hoods[1], hoods[-1]  # own: the IRIS key's
    await _day_rows(world, big, 12, DAYS, "A")
    await _day_rows(world, small, 3, DAYS, "B")
    await _day_rows(world, own, 11, DAYS, "C")
    # one day of the big IRIS with a single point whose gross is below what it
    # injected: left out of the sums, not counted as a point
    commune = str(world.territory.commune)
    r = await client.get("/v1/self-consumption", params={**SPAN, "commune": commune})
    assert r.status_code == 200, r.text
    doc = r.json()
    cells = {c["iris"]: c for c in doc["neighbourhoods"]}
    assert cells[small]["state"] == "suppressed"
    assert cells[small]["value"] is None
    assert cells[small]["reason"] == "fewer than 10 delivery points"
    per_point = sum(10_000.0 + 100 * p - 4_000.0 for p in range(12))
    assert cells[big]["state"] == "published"
    assert cells[big]["value"] == pytest.approx(3 * per_point)
    assert cells[big]["delivery_points"] == 12
    assert cells[big]["days"] == 3
    # commune = 26 points; 26 - 12 - 11 = 3 unknown: the smaller sibling goes too
    assert doc["commune_total"]["state"] == "published"
    assert cells[own]["state"] == "suppressed"
    assert "by difference" in cells[own]["reason"]
    assert doc["coverage"] == {
        "both_sides": 26,
        "injection_only": None,
        "production_only": None,
    }  # none of the others: zero is under the threshold, so not said

    # a key of one IRIS: its own only, no commune total
    r = await client.get(
        "/v1/self-consumption", params=SPAN, headers={"x-api-key": world.other_iris_key}
    )
    assert r.status_code == 200, r.text
    doc = r.json()
    assert [c["iris"] for c in doc["neighbourhoods"]] == [own]
    assert doc["commune_total"] is None
    assert big not in r.text
    assert doc["coverage"]["both_sides"] == 11
    r = await client.get(
        "/v1/self-consumption",
        params={**SPAN, "iris": big},
        headers={"x-api-key": world.other_iris_key},
    )
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")
    r = await client.get(
        "/v1/self-consumption",
        params={**SPAN, "commune": "75056"},
        headers={"x-api-key": world.commune_key},
    )
    assert r.status_code == 403
    r = await client.get("/v1/self-consumption", params=SPAN)
    assert r.status_code == 422  # the public names a commune


async def test_a_day_where_the_sensor_saw_less_is_left_out(client, world) -> None:
    hood = str(world.territory.neighbourhoods[0].iris)
    await _day_rows(world, hood, 12, DAYS[:1], "D")
    async with world.pool.acquire() as conn:
        await conn.execute(  # one point's sensor saw less than it injected
            "UPDATE aggregator_meter_days SET sv3 = 100 WHERE point_id = 'D0000'"
        )
    r = await client.get(
        "/v1/self-consumption",
        params={"start": "2026-03-28", "end": "2026-03-29",
                "commune": str(world.territory.commune)},
    )  # fmt: skip
    cell = next(c for c in r.json()["neighbourhoods"] if c["iris"] == hood)
    assert cell["state"] == "published"
    assert cell["delivery_points"] == 11  # not 12: the disagreeing day is no point
    assert cell["value"] == pytest.approx(
        sum(10_000.0 + 100 * p - 4_000.0 for p in range(1, 12))
    )
