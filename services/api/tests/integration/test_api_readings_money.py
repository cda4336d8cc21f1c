"""Readings by local day (DST), euros (dated tariffs), CO2, peers, consent."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest

from api.auth import hash_password
from energy_core.domain.time import PARIS

pytestmark = pytest.mark.integration


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_daily_totals_follow_paris_days_on_dst(client, world, put_readings):
    # 2026-10-25 has 25 hours in Paris: 50 half-hours of 100 Wh = 5 kWh.
    start = datetime(2026, 10, 24, tzinfo=PARIS)
    # Subtract in UTC: aware datetimes sharing one tzinfo subtract as wall clocks.
    end = datetime(2026, 10, 27, tzinfo=PARIS).astimezone(UTC)
    n = int((end - start.astimezone(UTC)) / timedelta(minutes=30))
    async with world.pool.acquire() as conn:
        await put_readings(conn, world.meter_a, start.astimezone(UTC), [100.0] * n)
    r = await client.get(
        f"/v1/meters/{world.meter_a}/daily",
        params={"start": "2026-10-24", "end": "2026-10-27"},
        headers=bearer(world.resident_a),
    )
    assert r.status_code == 200, r.text
    got = {i["period"]: (i["kwh"], i["readings"]) for i in r.json()["items"]}
    assert got == {
        "2026-10-24": (4.8, 48),
        "2026-10-25": (5.0, 50),
        "2026-10-26": (4.8, 48),
    }
    monthly = await client.get(
        f"/v1/meters/{world.meter_a}/monthly",
        params={"start": "2026-10-01", "end": "2026-11-01"},
        headers=bearer(world.resident_a),
    )
    assert monthly.json()["items"][0]["kwh"] == pytest.approx(14.6)
    csv_text = (
        await client.get(
            f"/v1/meters/{world.meter_a}/daily.csv",
            params={"start": "2026-10-24", "end": "2026-10-27"},
            headers=bearer(world.resident_a),
        )
    ).text
    assert csv_text.splitlines()[2] == "2026-10-25,5.000,50,1"


async def test_load_curve_pages(client, world, put_readings):
    start = datetime(2026, 3, 1, tzinfo=UTC)
    async with world.pool.acquire() as conn:
        await put_readings(conn, world.meter_a, start, [float(i) for i in range(10)])
    params = {
        "start": "2026-03-01T00:00:00Z",
        "end": "2026-03-02T00:00:00Z",
        "limit": 4,
    }
    r = await client.get(
        f"/v1/meters/{world.meter_a}/readings",
        params=params,
        headers=bearer(world.resident_a),
    )
    page = r.json()
    assert [i["kwh"] for i in page["items"]] == [0, 0.001, 0.002, 0.003]
    assert page["next_start"] == "2026-03-01T02:00:00Z"
    naive = await client.get(
        f"/v1/meters/{world.meter_a}/readings",
        params={**params, "start": "2026-03-01T00:00:00"},
        headers=bearer(world.resident_a),
    )
    assert naive.status_code == 422


async def test_cost_uses_the_tariff_of_each_day(client, world, put_readings):
    # A price change on 2026-03-15 must not re-price 1..14 March.
    async with world.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO api_meter_contracts VALUES ($1, 'hphc', 6, '{22:00-06:00}')",
            world.meter_a,
        )
        await conn.executemany(
            """INSERT INTO api_tariffs VALUES ('hphc', 6, $1, $2, $3, $4, 'test')""",
            [
                (date(2026, 2, 1), date(2026, 3, 15), 31.0, {"hp": 0.20, "hc": 0.10}),
                (date(2026, 3, 15), None, 62.0, {"hp": 0.40, "hc": 0.20}),
            ],
        )
        # 1 kWh at 23:00 local (HC) on 10 March and on 20 March; 1 kWh at noon (HP).
        for day in (10, 20):
            for hour in (23, 12):
                at = datetime(2026, 3, day, hour, tzinfo=PARIS).astimezone(UTC)
                await put_readings(conn, world.meter_a, at, [1000.0])
    r = await client.get(
        f"/v1/meters/{world.meter_a}/cost",
        params={"month": "2026-03"},
        headers=bearer(world.resident_a),
    )
    body = r.json()
    assert r.status_code == 200, body
    assert body["kwh"] == 4
    assert body["energy_eur"] == pytest.approx(0.10 + 0.20 + 0.20 + 0.40)
    assert body["standing_eur"] == pytest.approx(14 * 31 / 31 + 17 * 62 / 31)
    assert body["unpriced_days"] == []


async def test_co2_and_comparison(client, world, put_readings):
    async with world.pool.acquire() as conn:
        await conn.execute(
            """INSERT INTO api_co2_factors VALUES ('electricity', '2022-01-01', NULL,
               0.052, 'mix', 'test')"""
        )
        at = datetime(2026, 3, 5, 12, tzinfo=UTC)
        await put_readings(conn, world.meter_a, at, [10_000.0])
        await put_readings(conn, world.meter_a, at - timedelta(days=30), [4_000.0])
    co2 = (
        await client.get(
            f"/v1/meters/{world.meter_a}/co2",
            params={"month": "2026-03"},
            headers=bearer(world.resident_a),
        )
    ).json()
    assert co2["kg_co2e"] == pytest.approx(0.52)
    cmp = (
        await client.get(
            f"/v1/meters/{world.meter_a}/comparison",
            params={"month": "2026-03"},
            headers=bearer(world.resident_a),
        )
    ).json()
    assert cmp["my_kwh"] == 10
    assert cmp["previous_month_kwh"] == 4
    # Only this home has data: the peer average is withheld.
    assert cmp["suppressed"] is True
    assert cmp["similar_mean_kwh"] is None
    assert "fewer than 10" in cmp["reason"]


async def test_enedis_consent_redirect(client, world):
    r = await client.get("/v1/enedis/consent", headers=bearer(world.resident_a))
    assert r.status_code == 307
    query = parse_qs(urlparse(r.headers["location"]).query)
    assert query["duration"] == ["P3Y"]
    assert query["response_type"] == ["code"]
    assert query["client_id"] == ["sen1-demo"]
    assert len(query["state"][0]) > 20
    too_long = await client.get(
        "/v1/enedis/consent",
        params={"duration": "P4Y"},
        headers=bearer(world.resident_a),
    )
    assert too_long.status_code == 422
    city = await client.get(
        "/v1/enedis/consent", headers={"x-api-key": world.commune_key}
    )
    assert city.status_code == 403


async def test_login_logout_cookie(client, world):
    email = world.territory.residents[0].email
    bad = await client.post("/v1/auth/login", json={"email": email, "password": "no"})
    assert bad.status_code == 401
    ok = await client.post(
        "/v1/auth/login", json={"email": email, "password": "correct horse battery"}
    )
    assert ok.status_code == 200
    assert ok.json()["role"] == "resident"
    assert "httponly" in ok.headers["set-cookie"].lower()
    assert (await client.get("/v1/meters")).status_code == 200  # cookie
    async with world.pool.acquire() as conn:
        stored = await conn.fetchval(
            "SELECT count(*) FROM api_sessions WHERE token_sha256 = $1",
            ok.json()["token"],
        )
    assert stored == 0  # only the digest is stored
    await client.post("/v1/auth/logout")
    client.cookies.clear()
    r = await client.get("/v1/meters", headers=bearer(ok.json()["token"]))
    assert r.status_code == 401


async def test_tempo_first_night_of_the_month_takes_the_eves_colour(
    client, world, put_readings
):
    # 03:00 on 1 March belongs to the Tempo day of 28 February (06:00 -> 06:00).
    async with world.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO api_meter_contracts VALUES ($1, 'tempo', 6, '{}')",
            world.meter_a,
        )
        prices = {
            "blue_hp": 0.16,
            "blue_hc": 0.13,
            "white_hp": 0.19,
            "white_hc": 0.15,
            "red_hp": 0.76,
            "red_hc": 0.40,
        }
        await conn.execute(
            "INSERT INTO api_tariffs VALUES ('tempo', 6, '2025-08-01', NULL, 31.0, "
            "$1, 'test')",
            prices,
        )
        await conn.executemany(
            "INSERT INTO api_tempo_days VALUES ($1, $2)",
            [(date(2026, 2, 28), "red"), (date(2026, 3, 1), "blue")],
        )
        for hour in (3, 12):
            at = datetime(2026, 3, 1, hour, tzinfo=PARIS).astimezone(UTC)
            await put_readings(conn, world.meter_a, at, [1000.0])
        # A day whose colour is unknown is not priced as blue: it is reported.
        at = datetime(2026, 3, 10, 12, tzinfo=PARIS).astimezone(UTC)
        await put_readings(conn, world.meter_a, at, [1000.0])
    body = (
        await client.get(
            f"/v1/meters/{world.meter_a}/cost",
            params={"month": "2026-03"},
            headers=bearer(world.resident_a),
        )
    ).json()
    assert body["energy_eur"] == pytest.approx(0.40 + 0.16), body  # red HC + blue HP
    assert body["kwh"] == 3
    assert body["unpriced_days"] == ["2026-03-10"]


async def test_co2_takes_the_newest_factor_in_force(client, world, put_readings):
    async with world.pool.acquire() as conn:
        await conn.executemany(
            "INSERT INTO api_co2_factors VALUES ('electricity', $1, NULL, $2, 'mix', "
            "'test')",
            [(date(2022, 1, 1), 0.052), (date(2026, 3, 15), 0.030)],
        )
        for day in (10, 20):
            at = datetime(2026, 3, day, 12, tzinfo=PARIS).astimezone(UTC)
            await put_readings(conn, world.meter_a, at, [10_000.0])
    co2 = (
        await client.get(
            f"/v1/meters/{world.meter_a}/co2",
            params={"month": "2026-03"},
            headers=bearer(world.resident_a),
        )
    ).json()
    assert co2["kg_co2e"] == pytest.approx(10 * 0.052 + 10 * 0.030), co2
    assert [f["kg_per_kwh"] for f in co2["factors"]] == [0.052, 0.030]
    assert co2["days_without_factor"] == []


async def test_login_does_not_freeze_the_event_loop(client, world):
    # argon2 verification takes ~0.1 s of CPU; meanwhile other requests must run.
    email = world.territory.residents[0].email
    t0 = time.perf_counter()
    hash_password("calibration")
    one_hash = time.perf_counter() - t0
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.02)
    r = await client.post(
        "/v1/auth/login", json={"email": email, "password": "correct horse battery"}
    )
    done.set()
    await task
    assert r.status_code == 200
    assert max(gaps) < 0.6 * one_hash, (max(gaps), one_hash)


async def test_login_with_a_corrupt_hash_is_refused_not_a_500(client, world):
    async with world.pool.acquire() as conn:
        await conn.execute(
            "UPDATE api_accounts SET password_hash = 'not-argon2' WHERE email = $1",
            world.territory.residents[0].email,
        )
    r = await client.post(
        "/v1/auth/login",
        json={"email": world.territory.residents[0].email, "password": "x"},
    )
    assert r.status_code == 401


async def _daily_total(conn, meter_id: str, day: date, wh: float) -> None:
    """A daily-series reading (Enedis daily_consumption), as the store writes it."""
    series_id = await conn.fetchval(
        """INSERT INTO series (urn, meter_id, scheme, direction, kind, dimension, unit,
                               period)
           VALUES ($1, $2, 'prm', 'consumption', 'interval', 'energy', 'Wh', 'daily')
           ON CONFLICT (urn) DO UPDATE SET unit = EXCLUDED.unit RETURNING series_id""",
        f"urn:dev:prm:{meter_id}_consumption/energy/active/daily",
        meter_id,
    )
    start = datetime(day.year, day.month, day.day, tzinfo=PARIS)
    nxt = day + timedelta(days=1)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=PARIS)
    await conn.execute(
        "INSERT INTO readings (series_id, start_ts, end_ts, value, quality) "
        "VALUES ($1, $2, $3, $4, 1)",
        series_id, start.astimezone(UTC), end.astimezone(UTC), wh,
    )  # fmt: skip


async def test_a_days_daily_total_wins_over_its_curve_never_both(
    client, world, put_readings
):
    """Enedis gives both a daily total and a load curve: a day counts once."""
    async with world.pool.acquire() as conn:
        for day in (1, 2):  # curve: 48 half-hours of 100 Wh = 4.8 kWh a day
            start = datetime(2026, 5, day, tzinfo=PARIS).astimezone(UTC)
            await put_readings(conn, world.meter_a, start, [100.0] * 48)
        await _daily_total(conn, world.meter_a, date(2026, 5, 1), 5000.0)
        await _daily_total(conn, world.meter_a, date(2026, 5, 3), 7000.0)  # no curve
        await conn.execute(
            "INSERT INTO api_meter_contracts VALUES ($1, 'base', 6, '{}')",
            world.meter_a,
        )
        await conn.execute(
            "INSERT INTO api_tariffs VALUES ('base', 6, '2026-01-01', NULL, 31.0, "
            "'{\"base\": 0.25}', 'test')"
        )
    daily = await client.get(
        f"/v1/meters/{world.meter_a}/daily",
        params={"start": "2026-05-01", "end": "2026-05-04"},
        headers=bearer(world.resident_a),
    )
    assert daily.status_code == 200, daily.text
    got = {i["period"]: (i["kwh"], i["readings"]) for i in daily.json()["items"]}
    assert got == {
        "2026-05-01": (5.0, 1),  # the daily total, not 5.0 + 4.8
        "2026-05-02": (4.8, 48),  # no daily total: the curve
        "2026-05-03": (7.0, 1),
    }
    monthly = await client.get(
        f"/v1/meters/{world.meter_a}/monthly",
        params={"start": "2026-05-01", "end": "2026-06-01"},
        headers=bearer(world.resident_a),
    )
    assert monthly.json()["items"][0]["kwh"] == pytest.approx(16.8)
    curve = await client.get(
        f"/v1/meters/{world.meter_a}/readings",
        params={
            "start": "2026-05-01T00:00:00+02:00",
            "end": "2026-05-02T00:00:00+02:00",
        },
        headers=bearer(world.resident_a),
    )
    assert len(curve.json()["items"]) == 48  # the load curve never shows the total
    cost = await client.get(
        f"/v1/meters/{world.meter_a}/cost",
        params={"month": "2026-05"},
        headers=bearer(world.resident_a),
    )
    body = cost.json()
    # Base: the curve of 1 and 2 May (9.6 kWh) and the whole 3 May (7 kWh).
    assert body["kwh"] == pytest.approx(16.6)
    assert body["energy_eur"] == pytest.approx(16.6 * 0.25)
    assert body["unpriced_days"] == []
