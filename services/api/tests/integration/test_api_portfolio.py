"""A property manager's portfolio: the sites of their live consents, ranked, flagged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

pytestmark = pytest.mark.integration


async def _two_years(
    conn, put_readings, meter: str, night: float, day: float, before: float
) -> None:
    """Two years of half-hours: ``night`` Wh 01:00-05:00, ``day`` Wh otherwise; the
    year before last at ``before`` times that."""
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(
        hours=2
    )
    start = end - timedelta(days=729)
    series = await put_readings(conn, meter, start - timedelta(minutes=30), [0.0])
    await conn.execute(
        """INSERT INTO readings (series_id, start_ts, end_ts, value, quality)
           SELECT $1, t, t + interval '30 minutes',
                  (CASE WHEN extract(hour FROM t AT TIME ZONE 'Europe/Paris') BETWEEN 1 AND 4
                        THEN $2::float8 ELSE $3::float8 END)
                  * (CASE WHEN t < $5::timestamptz - interval '365 days' THEN $6::float8 ELSE 1 END),
                  1
           FROM generate_series($4::timestamptz, $5::timestamptz - interval '30 minutes',
                                interval '30 minutes') t""",
        series,
        night,
        day,
        start,
        end,
        before,
    )


async def _consent(conn, manager_id, meter: str) -> None:
    """The site's holder (verified consent, occupancy) shares the meter with the
    manager: the way a tenant lets a landlord see a site."""
    await conn.execute(
        """INSERT INTO api_meter_shares (owner_person_id, grantee_person_id,
               meter_id, expires_at)
           SELECT a.person_id, $1, $2, now() + interval '1 year'
           FROM consents a WHERE a.meter_id = $2 AND a.verification = 'verified'
             AND a.revoked_at IS NULL""",
        manager_id,
        meter,
    )


async def test_manager_ranks_sites_and_spots_night_baseload(
    client, world, put_readings, auth_header
) -> None:
    manager = world.territory.residents[0]
    site_a = world.territory.residents[2].meters[0]
    site_b = world.territory.residents[3].meters[0]
    async with world.pool.acquire() as conn:
        person = await conn.fetchval(
            "SELECT person_id FROM people WHERE email = $1", manager.email
        )
        for meter in (site_a, site_b):
            await _consent(conn, person, meter)
        await _two_years(conn, put_readings, site_a, 100.0, 300.0, 1.0)
        await _two_years(conn, put_readings, site_b, 400.0, 400.0, 0.75)
        await _two_years(
            conn, put_readings, world.meter_b, 900.0, 900.0, 1.0
        )  # not theirs
        surfaces = dict(
            await conn.fetch(
                "SELECT m.meter_id, b.surface_m2 FROM meters m JOIN buildings b USING (building_id)"
                " WHERE m.meter_id = ANY($1::text[])",
                [site_a, site_b],
            )
        )
    r = await client.get("/v1/me/portfolio", headers=auth_header(world.resident_a))
    assert r.status_code == 200
    sites = {s["meter_id"]: s for s in r.json()["sites"]}
    assert world.meter_b not in sites  # another person's meter never shows
    assert {site_a, site_b} <= set(sites)
    a, b = sites[site_a], sites[site_b]
    year_a = 365 * (8 * 100.0 + 40 * 300.0) / 1000
    assert a["kwh"] == pytest.approx(year_a, rel=0.01)
    assert a["kwh_per_m2"] == pytest.approx(a["kwh"] / surfaces[site_a], rel=0.001)
    assert a["change_pct"] == pytest.approx(0.0, abs=0.5)
    assert a["anomalies"] == []
    assert b["anomalies"] == ["night-baseload"]
    assert b["night_ratio"] == pytest.approx(1.0, abs=0.01)
    assert b["change_pct"] == pytest.approx(100 * (1 / 0.75 - 1), abs=0.5)
    ranked = [s["kwh_per_m2"] for s in r.json()["sites"] if s["kwh_per_m2"] is not None]
    assert ranked == sorted(ranked, reverse=True)


async def test_portfolio_follows_consent_and_callers(
    client, world, put_readings, auth_header
) -> None:
    manager = world.territory.residents[0]
    site = world.territory.residents[2].meters[0]
    async with world.pool.acquire() as conn:
        person = await conn.fetchval(
            "SELECT person_id FROM people WHERE email = $1", manager.email
        )
        await _consent(conn, person, site)
        await _two_years(conn, put_readings, site, 100.0, 300.0, 1.0)
    mine = await client.get("/v1/me/portfolio", headers=auth_header(world.resident_a))
    assert site in {s["meter_id"] for s in mine.json()["sites"]}
    # another resident, a city key, the public: not this site
    other = await client.get("/v1/me/portfolio", headers=auth_header(world.resident_b))
    assert other.status_code == 200
    assert site not in other.text
    key = await client.get("/v1/me/portfolio", headers={"x-api-key": world.commune_key})
    assert key.status_code in (401, 403)
    assert (await client.get("/v1/me/portfolio")).status_code == 401
    # the holder withdraws their consent: gone at once from the manager's list
    async with world.pool.acquire() as conn:
        await conn.execute(
            "UPDATE consents SET revoked_at = now() WHERE meter_id = $1"
            " AND revoked_at IS NULL",
            site,
        )
    after = await client.get("/v1/me/portfolio", headers=auth_header(world.resident_a))
    assert site not in {s["meter_id"] for s in after.json()["sites"]}


async def test_unverified_consent_adds_no_site(client, world, auth_header) -> None:
    """A consent still pending verification grants nothing, in a portfolio too."""
    manager = world.territory.residents[0]
    site = world.territory.residents[4].meters[0]
    async with world.pool.acquire() as conn:
        person = await conn.fetchval(
            "SELECT person_id FROM people WHERE email = $1", manager.email
        )
        await conn.execute(
            """INSERT INTO consents (person_id, meter_id, purpose, source, starts_at,
                   expires_at, verification)
               VALUES ($1, $2, 'portfolio', 'enedis', now() - interval '1 day',
                       now() + interval '1 year', 'pending')""",
            person,
            site,
        )
    r = await client.get("/v1/me/portfolio", headers=auth_header(world.resident_a))
    assert r.status_code == 200
    assert site not in {s["meter_id"] for s in r.json()["sites"]}


async def _daily_years(conn, meter: str, wh: float, before: float) -> None:
    """Two years of Enedis daily totals only (no curve yet): ``wh`` a day, the
    year before last ``before`` times that."""
    series_id = await conn.fetchval(
        """INSERT INTO series (urn, meter_id, scheme, direction, kind, dimension, unit,
                               period)
           VALUES ($1, $2, 'prm', 'consumption', 'interval', 'energy', 'Wh', 'daily')
           RETURNING series_id""",
        f"urn:dev:prm:{meter}_consumption/energy/active/daily",
        meter,
    )
    await conn.execute(
        """INSERT INTO readings (series_id, start_ts, end_ts, value, quality)
           SELECT $1, d::timestamp AT TIME ZONE 'Europe/Paris',
                  (d + 1)::timestamp AT TIME ZONE 'Europe/Paris',
                  $2::float8 * (CASE WHEN d < current_date - 365 THEN $3::float8
                                     ELSE 1 END), 1
           FROM generate_series(current_date - 729, current_date - 1,
                                interval '1 day') g(g), LATERAL (SELECT g::date AS d) x""",
        series_id,
        wh,
        before,
    )


async def test_daily_history_fills_the_portfolio_before_the_curves(
    client, world, put_readings, auth_header
) -> None:
    """The daily year is in, the curves are not: kWh, kWh/m² and the change vs last
    year are known; the night and weekend shape waits for the curve."""
    manager = world.territory.residents[0]
    site = world.territory.residents[2].meters[0]
    async with world.pool.acquire() as conn:
        person = await conn.fetchval(
            "SELECT person_id FROM people WHERE email = $1", manager.email
        )
        await _consent(conn, person, site)
        await _daily_years(conn, site, 10_000.0, 0.8)
        surface = await conn.fetchval(
            "SELECT b.surface_m2 FROM meters m JOIN buildings b USING (building_id)"
            " WHERE m.meter_id = $1",
            site,
        )
    r = await client.get("/v1/me/portfolio", headers=auth_header(world.resident_a))
    assert r.status_code == 200
    got = next(s for s in r.json()["sites"] if s["meter_id"] == site)
    # the 365 days before this hour: today's total is not published yet
    assert got["days"] in (364, 365)
    assert got["kwh"] == pytest.approx(3650.0, rel=0.01)
    assert got["kwh_per_m2"] == pytest.approx(got["kwh"] / surface, rel=0.001)
    assert got["change_pct"] == pytest.approx(25.0, abs=0.5)  # 1 / 0.8
    assert (got["night_ratio"], got["weekend_ratio"], got["anomalies"]) == (
        None, None, [],
    )  # fmt: skip


async def test_a_day_with_total_and_curve_counts_once(
    client, world, put_readings, auth_header
) -> None:
    """Curves arrive for the last days: those days count their daily total (not
    both), and the curve gives the night shape."""
    manager = world.territory.residents[0]
    site = world.territory.residents[2].meters[0]
    async with world.pool.acquire() as conn:
        person = await conn.fetchval(
            "SELECT person_id FROM people WHERE email = $1", manager.email
        )
        await _consent(conn, person, site)
        await _daily_years(conn, site, 10_000.0, 1.0)
        yesterday = await conn.fetchval(
            "SELECT (current_date - 1)::timestamp AT TIME ZONE 'Europe/Paris'"
        )
        await put_readings(conn, site, yesterday, [300.0] * 46)  # partial curve
    r = await client.get("/v1/me/portfolio", headers=auth_header(world.resident_a))
    got = next(s for s in r.json()["sites"] if s["meter_id"] == site)
    assert got["kwh"] == pytest.approx(3650.0, rel=0.01)  # not + 13.8 kWh
    assert got["night_ratio"] == pytest.approx(1.0, abs=0.01)  # flat curve
