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
        await conn.execute(  # no production on this PRM: stopped, not backlog
            "INSERT INTO enedis_cursors (meter_id, stream, history_from,"
            " fetched_until, stopped_reason) VALUES ($1, 'dp', $2, $2, 'no data')",
            world.meter_a,
            datetime.now(PARIS).date() - timedelta(days=700),
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
    assert enedis["stopped_cursors"] == 1
    assert r.json()["not_here"] == [
        "quota use (enedis): no status written today",
        "quota use (grdf): no status written today",
        "quota use (flukso): no upstream quota known, calls not counted",
        "quota use (sge): no upstream quota known, calls not counted",
    ]
    assert r.json()["dead_letters"] == []


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
    await _letters(world.pool, [("ingest-grdf", "volume negative", 1)])
    anonymous = await client.get("/v1/ops/ingestion")
    resident = await client.get(
        "/v1/ops/ingestion", headers=auth_header(world.resident_a)
    )
    city = await client.get(
        "/v1/ops/ingestion", headers={"x-api-key": world.commune_key}
    )
    assert anonymous.status_code == 401
    assert resident.status_code == 403
    assert city.status_code in (401, 403)
    for refused in (anonymous, resident, city):
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert "volume negative" not in refused.text
        assert "ingest-grdf" not in refused.text


async def _letters(pool, letters: list[tuple[str, str, float]]) -> None:
    """Dead letters as the aggregator stores them: (service, reason, hours ago)."""
    now = datetime.now(UTC)
    async with pool.acquire() as conn:
        await conn.executemany(
            """INSERT INTO dead_letters (topic, partition, "offset", service, reason,
                   error_type, occurred_at) VALUES ('t', 0, $1, $2, $3, 'E', $4)""",
            [
                (i, service, reason, now - timedelta(hours=hours))
                for i, (service, reason, hours) in enumerate(letters)
            ],
        )


async def test_dead_letters_per_source_over_a_day_and_a_week(
    client, world, auth_header
) -> None:
    await _letters(
        world.pool,
        [
            ("ingest-grdf", "PCE [id]: volume is negative", 1),
            ("ingest-grdf", "PCE [id]: volume is negative", 30),
            ("ingest-grdf", "unknown unit 'kWhx'", 2),
            ("ingest-enedis", "interval_length missing", 100),
            ("ingest-enedis", "too old to count", 24 * 8),
            ("aggregator", "not a ReadingBatch", 0.5),
            # a row written by anything but the aggregator's scrubbing path
            ("federation-gateway", "peer sent 30001610071843", 3),
        ],
    )
    r = await client.get("/v1/ops/ingestion", headers=auth_header(world.operator))
    assert r.status_code == 200
    body = r.json()
    by = {s["source"]: s for s in body["sources"]}
    assert (by["grdf"]["dead_letters_24h"], by["grdf"]["dead_letters_7d"]) == (2, 3)
    assert (by["enedis"]["dead_letters_24h"], by["enedis"]["dead_letters_7d"]) == (
        0, 1,
    )  # fmt: skip
    assert by["flukso"]["dead_letters_7d"] == 0
    letters = {d["service"]: d for d in body["dead_letters"]}
    assert set(letters) == {
        "ingest-grdf", "ingest-enedis", "aggregator", "federation-gateway",
    }  # fmt: skip
    assert "30001610071843" not in r.text
    assert letters["federation-gateway"]["reasons"][0]["reason"] == "peer sent [id]"
    assert letters["aggregator"]["source"] == "aggregator"
    grdf = letters["ingest-grdf"]
    assert [(x["reason"], x["count"]) for x in grdf["reasons"]] == [
        ("PCE [id]: volume is negative", 2),  # newest first
        ("unknown unit 'kWhx'", 1),
    ]
    first, last = grdf["reasons"][0]["first_seen"], grdf["reasons"][0]["last_seen"]
    assert first < last


async def test_quota_use_from_the_collectors_status_rows(
    client, world, auth_header
) -> None:
    today = datetime.now(PARIS).date()
    now = datetime.now(UTC)
    async with world.pool.acquire() as conn:
        await conn.executemany(
            """INSERT INTO ingest_status (source, instance, day, calls_today,
                   rate_per_s, cap_per_s, cap_per_hour, cap_per_day, backlog,
                   backlog_unit, updated_at, calls_last_hour)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)""",
            [
                # a process that restarted earlier today: its calls count, its rate not
                ("enedis", "h-1", today, 1200, 4.9, 5, 10000, 240000, 90, "days",
                 now - timedelta(hours=2), 1200),
                ("enedis", "h-2", today, 300, 4.5, 5, 10000, 240000, 42, "days", now,
                 280),
                ("enedis", "h-2", today - timedelta(days=1), 9999, 0, 5, 10000,
                 240000, 500, "days", now - timedelta(days=1), 9999),
                ("grdf", "g-1", today, 10, 0.8, 1, None, 6000, 3, "PCEs", now, None),
            ],
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO grdf_quota (day, used, next_at) VALUES ($1, 25, now())", today
        )
    r = await client.get("/v1/ops/ingestion", headers=auth_header(world.operator))
    assert r.status_code == 200
    by = {s["source"]: s for s in r.json()["sources"]}
    quota = by["enedis"]["quota"]
    assert quota["calls_today"] == 1500
    assert quota["rate_per_s"] == pytest.approx(4.5)
    assert quota["calls_last_hour"] == 280  # the live process's window only
    assert (quota["cap_per_s"], quota["cap_per_hour"], quota["cap_per_day"]) == (
        5, 10000, 240000,
    )  # fmt: skip
    assert (by["enedis"]["backlog"], by["enedis"]["backlog_unit"]) == (42, "days")
    grdf = by["grdf"]["quota"]
    assert grdf["calls_today"] == 25  # the shared quota row counts every process
    assert (grdf["cap_per_day"], grdf["cap_per_hour"]) == (6000, None)
    assert grdf["calls_last_hour"] is None
    assert by["flukso"]["quota"] is None
    assert by["flukso"]["quota_note"] == "no_quota_known"
    assert by["enedis"]["quota_note"] is None
    assert r.json()["not_here"] == [
        "quota use (flukso): no upstream quota known, calls not counted",
        "quota use (sge): no upstream quota known, calls not counted",
    ]


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


async def test_federation_peers_and_sge_backlog(client, world, auth_header) -> None:
    """Each live peer's newest aggregate and failing deliveries; a revoked peer is
    not listed; SGE's sites still to enrol are its backlog."""
    received = datetime(2026, 11, 30, 8, tzinfo=UTC)
    async with world.pool.acquire() as conn:
        for domain, revoked in (("grenoble.example", None),
                                ("gone.example", received)):  # fmt: skip
            await conn.execute(
                "INSERT INTO federation_peers (domain, base_url, fingerprints,"
                " revoked_at) VALUES ($1, $2, '{k1}', $3)",
                domain, f"https://{domain}", revoked,
            )  # fmt: skip
        await conn.execute(
            """INSERT INTO federation_peer_rollups (peer_domain, urn, bucket,
                   bucket_start, value, unit, delivery_points, max_share, keyid,
                   signature, received_at)
               VALUES ('grenoble.example', 'urn:x', 'P1D', $1, 1, 'Wh', 40, 0.1,
                       'k1', 's', $2)""",
            received - timedelta(days=1), received,
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO federation_subscriptions (peer_domain, callback_url, urns,"
            " failing_since) VALUES ('grenoble.example', 'https://g.example/cb',"
            " '{urn:x}', $1)",
            received,
        )
        sites = await conn.fetch(
            """SELECT DISTINCT ON (person_id, meter_id) person_id, meter_id,
                      consent_id FROM consents ORDER BY person_id, meter_id LIMIT 3"""
        )
        assert len(sites) == 3
        for site, state in zip(sites, ("requested", "active", "failed"), strict=True):
            await conn.execute(  # one active: not backlog
                """INSERT INTO sge_sites (person_id, meter_id, consent_id, name,
                       authorised_by, authoriser_kind, proof_reference, state)
                   VALUES ($1, $2, $3, 'school', 'mayor', 'legal', 'ref', $4)""",
                site["person_id"], site["meter_id"], site["consent_id"], state,
            )  # fmt: skip
    r = await client.get("/v1/ops/ingestion", headers=auth_header(world.operator))
    assert r.status_code == 200
    (peer,) = r.json()["peers"]
    assert peer["domain"] == "grenoble.example"
    assert peer["newest_received_at"].startswith("2026-11-30T08")
    assert peer["newest_bucket_start"].startswith("2026-11-29T08")
    assert peer["failing_since"].startswith("2026-11-30T08")
    sge = next(s for s in r.json()["sources"] if s["source"] == "sge")
    assert (sge["backlog"], sge["backlog_unit"]) == (2, "sites")
    assert not any(site["meter_id"] in r.text for site in sites)


async def test_each_source_is_late_by_its_own_delay(client, world, auth_header) -> None:
    """GRDF's daily informatives come D+1/D+2 after the gas day (06:00 Paris) and
    its published readings cover months: neither is late when it is on time,
    though both are older than a day; Enedis' J+1 is not late before 08:00."""
    t = world.territory
    pces = [str(m.meter) for m in t.meters if m.energy.value == "gas"][:3]
    now = datetime.now(UTC)

    async def series(pce: str, channel: str, end: datetime) -> None:
        async with world.pool.acquire() as conn:
            await add_day(conn, pce, "pce", end, channel=channel)

    await series(pces[0], "", now - timedelta(hours=60))  # D+2, on time
    await series(pces[1], "", now - timedelta(days=4))  # late
    await series(pces[2], "published", now - timedelta(days=120))  # a month, on time
    await series(pces[0], "published", now - timedelta(days=250))  # late
    async with world.pool.acquire() as conn:
        await add_day(conn, world.meter_a, "prm", now - timedelta(hours=33))  # 07:00
        await add_day(conn, world.meter_b, "prm", now - timedelta(hours=40))  # late
    r = await client.get("/v1/ops/ingestion", headers=auth_header(world.operator))
    by = {s["source"]: s for s in r.json()["sources"]}
    assert (by["grdf"]["series"], by["grdf"]["stale_series"]) == (4, 2)
    async with world.pool.acquire() as conn:
        empty = await conn.fetchval(
            "SELECT count(*) FROM series s WHERE scheme = 'prm' AND NOT EXISTS"
            " (SELECT 1 FROM readings r WHERE r.series_id = s.series_id)"
        )
    assert by["enedis"]["stale_series"] == empty + 1  # meter_b, and the empty ones


async def add_day(
    conn, meter: str, scheme: str, end: datetime, *, channel: str = ""
) -> None:
    """A daily series of ``meter`` (on ``channel``) holding one day ending at ``end``."""
    sid = await conn.fetchval(
        """INSERT INTO series (urn, meter_id, scheme, direction, kind, dimension,
               unit, channel, period)
           VALUES ($1, $2, $3, 'consumption', 'interval', 'energy', 'Wh', $4,
                   'daily') RETURNING series_id""",
        f"urn:dev:{scheme}:{meter}_consumption/energy/active/daily/{channel}",
        meter,
        scheme,
        channel,
    )
    await conn.execute(
        "INSERT INTO readings (series_id, start_ts, end_ts, value, quality)"
        " VALUES ($1, $2, $3, 10000, 1)",
        sid,
        end - timedelta(days=1),
        end,
    )
