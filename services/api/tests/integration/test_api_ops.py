"""The operator's ingestion facts and the public Tempo calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from energy_core.domain.time import PARIS

pytestmark = pytest.mark.integration


async def test_ingestion_health_counts_fresh_and_stale_series(
    client, world, put_readings, auth_header
) -> None:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    async with world.pool.acquire() as conn:
        await put_readings(conn, world.meter_a, now - timedelta(hours=2), [100.0])
        await put_readings(conn, world.meter_b, now - timedelta(days=3), [100.0])
        await conn.execute(
            "INSERT INTO enedis_cursors (meter_id, stream, history_from, fetched_until)"
            " VALUES ($1, 'dc', $2, $3)",
            world.meter_a,
            datetime.now(PARIS).date() - timedelta(days=30),
            datetime.now(PARIS).date() - timedelta(days=6),
        )
        prm = await conn.fetchval("SELECT count(*) FROM series WHERE scheme = 'prm'")
    r = await client.get("/v1/ops/ingestion", headers=auth_header(world.operator))
    assert r.status_code == 200
    enedis = next(s for s in r.json()["sources"] if s["source"] == "enedis")
    assert enedis["series"] == prm
    assert enedis["newest_reading_end"].startswith(
        (now - timedelta(hours=1, minutes=30)).strftime("%Y-%m-%dT%H")
    )
    # meter_b's only reading is 3 days old; every other prm series has none
    assert enedis["stale_series"] == prm - 1
    assert enedis["backlog_days"] == 5  # fetched until 6 days ago, yesterday due
    assert r.json()["not_here"] == ["quota use", "dead letters (enedis, grdf, flukso)"]


async def test_ingestion_health_has_sge_files_and_dead_letters(
    client, world, auth_header
) -> None:
    """Every source of the platform is listed (enedis, grdf, flukso, sge); SGE's
    flux files handled and dead-lettered are counted from PostgreSQL."""
    async with world.pool.acquire() as conn:
        await conn.executemany(
            """INSERT INTO sge_flux_files (name, sha256, size, outcome, reason,
                 handled_at) VALUES ($1, $2, 10, $3, $4, $5)""",
            [
                ("ENEDIS_R50_1.zip", "a" * 64, "done", "", datetime(2026, 3, 1, tzinfo=UTC)),
                ("ENEDIS_R50_2.zip", "b" * 64, "done", "", datetime(2026, 3, 2, tzinfo=UTC)),
                ("ENEDIS_R151_1.zip", "c" * 64, "dead", "no key opens it",
                 datetime(2026, 3, 3, tzinfo=UTC)),
            ],
        )  # fmt: skip
    r = await client.get("/v1/ops/ingestion", headers=auth_header(world.operator))
    assert r.status_code == 200
    by = {s["source"]: s for s in r.json()["sources"]}
    assert set(by) == {"enedis", "grdf", "flukso", "sge"}
    assert by["sge"]["files_handled"] == 2
    assert by["sge"]["dead_letters"] == 1
    assert by["sge"]["newest_file_at"].startswith("2026-03-03")
    assert by["sge"]["series"] is None  # its readings are on the PRMs' series


async def test_ingestion_health_is_for_operators_only(
    client, world, auth_header
) -> None:
    assert (await client.get("/v1/ops/ingestion")).status_code == 401
    resident = await client.get(
        "/v1/ops/ingestion", headers=auth_header(world.resident_a)
    )
    assert resident.status_code == 403
    city = await client.get(
        "/v1/ops/ingestion", headers={"x-api-key": world.commune_key}
    )
    assert city.status_code in (401, 403)


async def test_tempo_days_are_public_and_bounded(client, world) -> None:
    async with world.pool.acquire() as conn:
        await conn.executemany(
            "INSERT INTO api_tempo_days VALUES ($1, $2)",
            [(date(2026, 1, 5), "red"), (date(2026, 1, 6), "white")],
        )
    r = await client.get(
        "/v1/reference/tempo-days", params={"start": "2026-01-01", "end": "2026-01-06"}
    )
    assert r.status_code == 200
    assert r.json() == [{"day": "2026-01-05", "colour": "red"}]
    long = await client.get(
        "/v1/reference/tempo-days", params={"start": "2020-01-01", "end": "2026-01-06"}
    )
    assert long.status_code == 422
