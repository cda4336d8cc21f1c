"""Who sees what: residents, cities, the public; problem+json on every refusal."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from api.main import create_app
from api.settings import Settings

pytestmark = pytest.mark.integration
PROBLEM = "application/problem+json"


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def assert_problem(response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"].startswith("/problems/")
    assert body["title"]
    assert "detail" in body
    return body


async def test_resident_sees_own_meters_only(client, world) -> None:
    r = await client.get("/v1/meters", headers=bearer(world.resident_a))
    assert r.status_code == 200
    ids = {m["meter_id"] for m in r.json()["items"]}
    assert world.meter_a in ids
    assert world.meter_b not in ids
    assert all(m["relation"] == "owner" for m in r.json()["items"])


async def test_resident_a_cannot_read_resident_b(client, world, put_readings) -> None:
    async with world.pool.acquire() as conn:
        await put_readings(
            conn, world.meter_b, datetime(2026, 3, 2, tzinfo=UTC), [100.0] * 4
        )
    for path in ("daily", "monthly"):
        r = await client.get(
            f"/v1/meters/{world.meter_b}/{path}",
            params={"start": "2026-03-01", "end": "2026-03-05"},
            headers=bearer(world.resident_a),
        )
        assert_problem(r, 404)
    r = await client.get(
        f"/v1/meters/{world.meter_b}/readings",
        params={"start": "2026-03-01T00:00:00Z", "end": "2026-03-05T00:00:00Z"},
        headers=bearer(world.resident_a),
    )
    assert_problem(r, 404)
    own = await client.get(
        f"/v1/meters/{world.meter_b}/daily",
        params={"start": "2026-03-01", "end": "2026-03-05"},
        headers=bearer(world.resident_b),
    )
    assert own.status_code == 200
    assert own.json()["items"][0]["kwh"] == pytest.approx(0.4)


async def test_city_key_cannot_read_individual_meters(client, world) -> None:
    headers = {"x-api-key": world.commune_key}
    assert_problem(await client.get("/v1/meters", headers=headers), 403)
    r = await client.get(
        f"/v1/meters/{world.meter_a}/daily",
        params={"start": "2026-03-01", "end": "2026-03-05"},
        headers=headers,
    )
    assert_problem(r, 403)
    assert (await client.get("/v1/auth/me", headers=headers)).json()["kind"] == "city"


async def test_public_and_bad_tokens_get_401(client, world) -> None:
    body = assert_problem(await client.get("/v1/meters"), 401)
    assert body["type"] == "/problems/unauthenticated"
    r = await client.get("/v1/meters", headers=bearer("sen1s_forged"))
    assert_problem(r, 401)
    assert r.headers["www-authenticate"] == "Bearer"


async def test_revoked_consent_hides_the_meter(client, world) -> None:
    async with world.pool.acquire() as conn:
        await conn.execute(
            "UPDATE consents SET revoked_at = now() WHERE meter_id = $1", world.meter_a
        )
    r = await client.get("/v1/meters", headers=bearer(world.resident_a))
    assert world.meter_a not in {m["meter_id"] for m in r.json()["items"]}


async def test_shared_meter_is_readable_by_grantee(client, world) -> None:
    async with world.pool.acquire() as conn:
        query = "SELECT person_id FROM people WHERE email = $1"
        grantee = await conn.fetchval(query, world.territory.residents[0].email)
        owner = await conn.fetchval(query, world.territory.residents[1].email)
        await conn.execute(
            """INSERT INTO api_meter_shares (owner_person_id, grantee_person_id,
               meter_id, expires_at) VALUES ($1, $2, $3, $4)""",
            owner,
            grantee,
            world.meter_b,
            datetime.now(UTC) + timedelta(days=30),
        )
    r = await client.get("/v1/meters", headers=bearer(world.resident_a))
    shared = [m for m in r.json()["items"] if m["meter_id"] == world.meter_b]
    assert shared
    assert shared[0]["relation"] == "shared"
    daily = f"/v1/meters/{world.meter_b}/daily"
    span = {"start": "2026-03-01", "end": "2026-03-05"}
    r = await client.get(daily, params=span, headers=bearer(world.resident_a))
    assert r.status_code == 200
    # The owner withdraws their consent: the share dies with it.
    async with world.pool.acquire() as conn:
        await conn.execute(
            "UPDATE consents SET revoked_at = now() WHERE meter_id = $1", world.meter_b
        )
    r = await client.get(daily, params=span, headers=bearer(world.resident_a))
    assert_problem(r, 404)
    r = await client.get(daily, params=span, headers=bearer(world.resident_b))
    assert_problem(r, 404)  # and the owner's own access too


async def _rollup(
    world,
    scope_id: str,
    points: int,
    value: float,
    top: float,
    quality: str = "raw",
    scope: str = "neighbourhood",
    day: str = "2026-03-01",
) -> None:
    """One P1D rollup row; a neighbourhood's row comes with the same commune row
    (the aggregator writes every level; a bucket without its parent is withheld)."""
    scopes = [(scope, scope_id)]
    if scope == "neighbourhood":
        scopes.append(("commune", scope_id[:5]))
    async with world.pool.acquire() as conn:
        for sc, sid in scopes:
            await conn.execute(
                """INSERT INTO rollups (scope, scope_id, bucket, bucket_start,
                     bucket_end, energy, direction, quality, unit, value,
                     delivery_points, max_point_value)
                   VALUES ($6, $1, 'P1D', $7::date::timestamp AT TIME ZONE
                     'Europe/Paris', ($7::date + 1)::timestamp AT TIME ZONE
                     'Europe/Paris', 'electricity', 'consumption', $5, 'Wh',
                     $2, $3, $4)""",
                sid,
                value,
                points,
                top,
                quality,
                sc,
                date.fromisoformat(day),
            )


@pytest.mark.parametrize(
    ("points", "top_share", "published", "reason"),
    [
        (9, 0.2, False, "fewer than 10"),
        (10, 0.2, True, None),
        (12, 0.9, False, "exceeds 85%"),
    ],
)
async def test_aggregate_secrecy(client, world, points, top_share, published, reason):
    iris = str(world.territory.neighbourhoods[0].iris)
    await _rollup(world, iris, points, 50_000.0, 50_000.0 * top_share)
    r = await client.get(
        f"/v1/rollups/neighbourhood/{iris}",
        params={"start": "2026-03-01", "end": "2026-03-02"},
    )
    assert r.status_code == 200, r.text
    item = r.json()["items"][0]
    assert item["suppressed"] is (not published)
    if published:
        assert item["value"] == 50_000.0
        assert item["delivery_points"] == points
    else:
        assert item["value"] is None
        assert item["delivery_points"] is None
        assert reason in item["reason"]
        assert str(points) not in item["reason"]  # the count stays secret too
    csv_text = (
        await client.get(
            f"/v1/rollups/neighbourhood/{iris}/export.csv",
            params={"start": "2026-03-01", "end": "2026-03-02"},
        )
    ).text
    assert ("50000.000" in csv_text) is published


async def test_dominant_point_split_across_qualities_is_suppressed(client, world):
    # One home uses 48 of the neighbourhood's 50 kWh that day; half of its readings
    # were corrected, so the aggregator keeps it in the raw AND the corrected row,
    # 24 kWh in each. Per row it weighs 48 %; in the merged bucket, 96 %.
    iris = str(world.territory.neighbourhoods[0].iris)
    await _rollup(world, iris, 12, 25_000.0, 24_000.0, quality="raw")
    await _rollup(world, iris, 12, 25_000.0, 24_000.0, quality="corrected")
    r = await client.get(
        f"/v1/rollups/neighbourhood/{iris}",
        params={"start": "2026-03-01", "end": "2026-03-02"},
    )
    item = r.json()["items"][0]
    assert item["suppressed"] is True, item
    assert item["value"] is None
    assert "exceeds 85%" in item["reason"]


async def test_city_key_limited_to_its_territory(client, world) -> None:
    first = str(world.territory.neighbourhoods[0].iris)
    r = await client.get(
        f"/v1/rollups/neighbourhood/{first}",
        params={"start": "2026-03-01", "end": "2026-03-02"},
        headers={"x-api-key": world.other_iris_key},
    )
    assert_problem(r, 403)
    r = await client.get(
        f"/v1/rollups/neighbourhood/{first}",
        params={"start": "2026-03-01", "end": "2026-03-02"},
        headers={"x-api-key": world.commune_key},
    )
    assert r.status_code == 200


async def test_validation_errors_are_problems(client, world) -> None:
    r = await client.get(
        "/v1/rollups/neighbourhood/381510101",
        params={"start": "yesterday", "end": "2026-03-02"},
    )
    body = assert_problem(r, 422)
    assert body["type"] == "/problems/validation"
    assert any("start" in e["loc"] for e in body["errors"])
    assert_problem(await client.get("/v1/no-such-route"), 404)
    assert_problem(
        await client.get(
            "/v1/rollups/parcel/38151000ZZ9999",
            params={"start": "2026-03-01", "end": "2026-03-02"},
        ),
        404,
    )


async def test_operator_only_routes(client, world) -> None:
    assert_problem(
        await client.get("/v1/webhooks", headers=bearer(world.resident_a)), 403
    )
    r = await client.get("/v1/webhooks", headers=bearer(world.operator))
    assert r.status_code == 200
    assert r.json() == {"items": []}


async def test_405_is_a_problem_with_allow(client, world) -> None:
    r = await client.delete("/v1/meters")
    assert_problem(r, 405)
    assert r.headers["allow"] == "GET"


async def test_a_crash_is_a_problem_and_logs_no_meter_id(
    world, postgres_settings, caplog
) -> None:
    class BrokenPool:
        def acquire(self):
            raise RuntimeError("database exploded")

    app = create_app(
        Settings(postgres=postgres_settings, subscribe_alerts=False),
        pool=world.pool,
    )
    async with app.router.lifespan_context(app):
        app.state.pool = BrokenPool()
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            r = await c.get(
                f"/v1/meters/{world.meter_a}/daily",
                params={"start": "2026-03-01", "end": "2026-03-02"},
                headers=bearer(world.resident_a),
            )
    assert_problem(r, 500)
    logged = "\n".join(rec.getMessage() for rec in caplog.records)
    assert "/v1/meters/{meter_id}/daily" in logged
    assert world.meter_a not in logged


async def test_rollups_page_on_and_csv_exports_every_bucket(client, world) -> None:
    iris = str(world.territory.neighbourhoods[0].iris)
    async with world.pool.acquire() as conn:
        n = await conn.fetchval(
            """WITH s AS (SELECT t FROM generate_series(
                   timestamptz '2026-01-01 00:00+01', timestamptz '2026-04-16 00:00+02'
                   - interval '30 minutes', interval '30 minutes') t),
               ins AS (INSERT INTO rollups (scope, scope_id, bucket, bucket_start,
                   bucket_end, energy, direction, quality, unit, value,
                   delivery_points, max_point_value)
                 SELECT sc, id, 'PT30M', t, t + interval '30 minutes', 'electricity',
                   'consumption', 'raw', 'Wh', 50000, 40, 2000
                 FROM s, (VALUES ('neighbourhood', $1), ('commune', left($1, 5)))
                   AS v(sc, id) RETURNING 1)
               SELECT count(*) / 2 FROM ins""",
            iris,
        )
    assert n > 5000  # more than one JSON page can hold
    span = {"start": "2026-01-01", "end": "2026-04-16", "bucket": "PT30M"}
    page = (
        await client.get(
            f"/v1/rollups/neighbourhood/{iris}", params={**span, "limit": 2}
        )
    ).json()
    assert len(page["items"]) == 2
    # Buckets 23:00Z and 23:30Z on 31 Dec (00:00 and 00:30 in Paris), then:
    assert page["next_start"] == "2026-01-01T00:00:00Z"
    csv_text = (
        await client.get(f"/v1/rollups/neighbourhood/{iris}/export.csv", params=span)
    ).text
    assert len(csv_text.splitlines()) == n + 1  # header + every bucket
