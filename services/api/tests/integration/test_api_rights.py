"""Residents' rights: access log, withdraw (keep / delete), export archive, erasure."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta

import pytest

from ingest_enedis import cursor  # the collector's own choice of PRMs to collect

pytestmark = pytest.mark.integration
DAY = {"start": "2026-03-01", "end": "2026-03-05"}
T0 = datetime(2026, 3, 2, tzinfo=UTC)


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def _person(world, email_index: int) -> str:
    async with world.pool.acquire() as conn:
        return str(
            await conn.fetchval(
                "SELECT person_id FROM people WHERE email = $1",
                world.territory.residents[email_index].email,
            )
        )


async def _consent_id(world, meter_id: str) -> str:
    async with world.pool.acquire() as conn:
        return str(
            await conn.fetchval(
                "SELECT consent_id FROM consents WHERE meter_id = $1 "
                "AND revoked_at IS NULL ORDER BY created_at LIMIT 1",
                meter_id,
            )
        )


async def _share(world, owner: int, grantee: int, meter_id: str) -> None:
    async with world.pool.acquire() as conn:
        await conn.execute(
            """INSERT INTO api_meter_shares (owner_person_id, grantee_person_id,
                   meter_id, expires_at) VALUES ($1, $2, $3, now() + interval '1 day')""",
            await _person(world, owner),
            await _person(world, grantee),
            meter_id,
        )


async def test_every_read_is_logged_once_with_route_and_consent(client, world) -> None:
    await client.get(
        f"/v1/meters/{world.meter_a}/daily",
        params=DAY,
        headers=bearer(world.resident_a),
    )
    await client.get(
        f"/v1/meters/{world.meter_a}/cost",
        params={"month": "2026-03"},
        headers=bearer(world.resident_a),
    )
    # a refused read is not a read: B probing A's meter leaves no row
    r = await client.get(
        f"/v1/meters/{world.meter_a}/daily",
        params=DAY,
        headers=bearer(world.resident_b),
    )
    assert r.status_code == 404
    log = await client.get("/v1/me/access-log", headers=bearer(world.resident_a))
    assert log.status_code == 200
    items = log.json()["items"]
    assert [i["route"] for i in items] == [
        "/v1/meters/{meter_id}/cost",
        "/v1/meters/{meter_id}/daily",
    ]
    consent = await _consent_id(world, world.meter_a)
    for item in items:
        assert item["meter_id"] == world.meter_a
        assert item["consent_id"] == consent
        assert item["actor"] == "you"
        assert item["method"] == "GET"
    # B's own log is about B only
    other = await client.get("/v1/me/access-log", headers=bearer(world.resident_b))
    assert other.json()["items"] == []


async def test_a_grantee_read_shows_in_the_owner_log(client, world) -> None:
    await _share(world, owner=1, grantee=0, meter_id=world.meter_b)
    r = await client.get(
        f"/v1/meters/{world.meter_b}/monthly",
        params=DAY,
        headers=bearer(world.resident_a),
    )
    assert r.status_code == 200
    items = (
        await client.get("/v1/me/access-log", headers=bearer(world.resident_b))
    ).json()["items"]
    assert len(items) == 1
    assert items[0]["actor"] == "resident"
    assert items[0]["actor_name"] == world.territory.residents[0].display_name
    assert items[0]["consent_id"] == await _consent_id(world, world.meter_b)
    # the grantee's own log does not list reads of data that is not theirs
    mine = await client.get("/v1/me/access-log", headers=bearer(world.resident_a))
    assert mine.json()["items"] == []


async def test_rights_routes_refuse_keys_operators_and_the_public(
    client, world
) -> None:
    for headers, status in (
        ({}, 401),
        ({"x-api-key": world.commune_key}, 403),
        (bearer(world.operator), 403),
    ):
        for method, path in (
            ("GET", "/v1/me/consents"),
            ("GET", "/v1/me/access-log"),
            ("GET", "/v1/me/export"),
            ("DELETE", "/v1/me?confirm=erase"),
        ):
            r = await client.request(method, path, headers=headers)
            assert r.status_code == status, (method, path, r.text)


async def test_withdraw_and_keep_hides_at_once_and_stops_collection(
    client, world, put_readings
) -> None:
    async with world.pool.acquire() as conn:
        await put_readings(conn, world.meter_a, T0, [100.0] * 4)
        assert world.meter_a in await cursor.consented_prms(conn, datetime.now(UTC))
    await _share(world, owner=0, grantee=1, meter_id=world.meter_a)
    consent = await _consent_id(world, world.meter_a)
    # B cannot withdraw A's consent: 404, and nothing changes
    r = await client.post(
        f"/v1/me/consents/{consent}/withdraw", json={}, headers=bearer(world.resident_b)
    )
    assert r.status_code == 404
    assert (
        await client.get(
            f"/v1/meters/{world.meter_a}/daily",
            params=DAY,
            headers=bearer(world.resident_a),
        )
    ).status_code == 200

    r = await client.post(
        f"/v1/me/consents/{consent}/withdraw",
        json={"delete_readings": False},
        headers=bearer(world.resident_a),
    )
    assert r.status_code == 200, r.text
    assert r.json()["readings_deleted"] == 0
    for token in (world.resident_a, world.resident_b):  # owner and grantee alike
        hidden = await client.get(
            f"/v1/meters/{world.meter_a}/daily", params=DAY, headers=bearer(token)
        )
        assert hidden.status_code == 404
    consents = (
        await client.get("/v1/me/consents", headers=bearer(world.resident_a))
    ).json()["items"]
    assert {c["consent_id"]: c["status"] for c in consents}[consent] == "withdrawn"
    async with world.pool.acquire() as conn:
        # the collector no longer asks Data Connect for this PRM
        assert world.meter_a not in await cursor.consented_prms(conn, datetime.now(UTC))
        kept = await conn.fetchval(
            "SELECT count(*) FROM readings r JOIN series s USING (series_id) "
            "WHERE s.meter_id = $1",
            world.meter_a,
        )
        assert kept == 4
        share_revoked = await conn.fetchval(
            "SELECT revoked_at IS NOT NULL FROM api_meter_shares WHERE meter_id = $1",
            world.meter_a,
        )
        assert share_revoked
    # deletion on request, later: the same route on the withdrawn consent
    r = await client.post(
        f"/v1/me/consents/{consent}/withdraw",
        json={"delete_readings": True},
        headers=bearer(world.resident_a),
    )
    assert r.status_code == 200
    assert r.json()["readings_deleted"] == 4


async def test_withdraw_and_delete_removes_readings_and_keeps_rollups(
    client, world, put_readings
) -> None:
    async with world.pool.acquire() as conn:
        await put_readings(conn, world.meter_a, T0, [100.0] * 4)
        await put_readings(conn, world.meter_b, T0, [50.0] * 4)
        await conn.execute(
            """INSERT INTO rollups (scope, scope_id, bucket, bucket_start, bucket_end,
                   energy, direction, quality, unit, value, delivery_points,
                   max_point_value)
               VALUES ('commune', $1, 'P1D', $2, $3, 'electricity', 'consumption',
                       'raw', 'Wh', 600, 2, 400)""",
            str(world.territory.commune),
            T0,
            T0 + timedelta(days=1),
        )
    consent = await _consent_id(world, world.meter_a)
    r = await client.post(
        f"/v1/me/consents/{consent}/withdraw",
        json={"delete_readings": True},
        headers=bearer(world.resident_a),
    )
    assert r.status_code == 200, r.text
    assert r.json()["readings_deleted"] == 4
    async with world.pool.acquire() as conn:
        left = await conn.fetch(
            "SELECT s.meter_id, count(*) AS n FROM readings r JOIN series s "
            "USING (series_id) GROUP BY 1"
        )
        assert {row["meter_id"]: row["n"] for row in left} == {world.meter_b: 4}
        # published history does not move: subtracting the home would reveal it
        value = await conn.fetchval(
            "SELECT value FROM rollups WHERE scope = 'commune' AND bucket = 'P1D'"
        )
        assert value == 600
        ledger = await conn.fetch(
            "SELECT kind, readings_deleted FROM api_rights_requests ORDER BY request_id"
        )
        assert [(x["kind"], x["readings_deleted"]) for x in ledger] == [
            ("withdraw", 0),
            ("delete_readings", 4),
        ]


async def test_delete_is_not_blocked_by_a_claim_and_stays_in_my_occupancy(
    client, world, put_readings
) -> None:
    # Two people can never hold verified consents on one meter at once (the
    # database refuses it), so "another live holder" is now someone's unverified
    # claim: it must not block the holder's right, and deletion only reaches the
    # holder's own occupancy (the half-hour before it is a previous occupant's).
    import asyncpg

    async with world.pool.acquire() as conn:
        await put_readings(conn, world.meter_a, T0, [100.0] * 2)
        await conn.execute(
            """UPDATE occupancies SET starts_at = $1::timestamptz + interval '30 minutes'
               WHERE delivery_point_id = $2""",
            T0,
            world.meter_a,
        )
        claim = """INSERT INTO consents (person_id, meter_id, purpose, starts_at,
                       expires_at, verification, verified_at, verified_by)
                   VALUES ($1, $2, 'test', now() - interval '1 day',
                           now() + interval '1 year', $3, $4, $5)"""
        other = __import__("uuid").UUID(await _person(world, 1))
        with pytest.raises(asyncpg.ExclusionViolationError):
            await conn.execute(
                claim, other, world.meter_a, "verified", datetime.now(UTC), "test"
            )
        await conn.execute(claim, other, world.meter_a, "pending", None, None)
    consent = await _consent_id(world, world.meter_a)
    r = await client.post(
        f"/v1/me/consents/{consent}/withdraw",
        json={"delete_readings": True},
        headers=bearer(world.resident_a),
    )
    assert r.status_code == 200, r.text
    assert r.json()["readings_deleted"] == 1
    async with world.pool.acquire() as conn:
        assert await conn.fetchval("SELECT min(start_ts) FROM readings") == T0
        assert await conn.fetchval("SELECT count(*) FROM readings") == 1


async def test_export_archive_holds_everything_and_only_mine(
    client, world, put_readings
) -> None:
    async with world.pool.acquire() as conn:
        await put_readings(conn, world.meter_a, T0, [100.0, 250.5])
        await put_readings(conn, world.meter_b, T0, [999.0])
    await client.get(
        f"/v1/meters/{world.meter_a}/daily",
        params=DAY,
        headers=bearer(world.resident_a),
    )
    r = await client.get("/v1/me/export", headers=bearer(world.resident_a))
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/zip"
    assert "attachment" in r.headers["content-disposition"]
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    names = set(archive.namelist())
    assert {
        "account.json", "consents.json", "occupancy.json", "meters.json",
        "readings.csv", "access_log.json", "rights_requests.json", "shares.json",
    } <= names  # fmt: skip
    account = json.loads(archive.read("account.json"))
    assert account["email"] == world.territory.residents[0].email
    meters = json.loads(archive.read("meters.json"))
    assert {m["meter_id"] for m in meters} == set(world.territory.residents[0].meters)
    rows = list(csv.DictReader(io.StringIO(archive.read("readings.csv").decode())))
    assert [(x["meter_id"], float(x["value"])) for x in rows] == [
        (world.meter_a, 100.0),
        (world.meter_a, 250.5),
    ]
    assert datetime.fromisoformat(rows[0]["start"]) == T0
    log = json.loads(archive.read("access_log.json"))
    # the earlier read, and this export's own read of the meter (logged first)
    assert {e["route"] for e in log} == {"/v1/meters/{meter_id}/daily", "/v1/me/export"}
    everything = b"".join(archive.read(n) for n in names)
    assert world.meter_b.encode() not in everything
    assert b"999.0" not in everything
    # the export is itself a read of the meters, and is logged as such
    after = (
        await client.get("/v1/me/access-log", headers=bearer(world.resident_a))
    ).json()["items"]
    assert after[0]["route"] == "/v1/me/export"


async def test_erase_account(client, world, put_readings) -> None:
    person = await _person(world, 0)
    async with world.pool.acquire() as conn:
        await put_readings(conn, world.meter_a, T0, [100.0] * 3)
        await put_readings(conn, world.meter_b, T0, [10.0] * 3)
    await _share(world, owner=1, grantee=0, meter_id=world.meter_b)
    # A reads B's shared meter: B's log names A; after A's erasure B keeps the
    # fact that someone read it, with the actor unknown.
    await client.get(
        f"/v1/meters/{world.meter_b}/daily",
        params=DAY,
        headers=bearer(world.resident_a),
    )
    await client.get(
        f"/v1/meters/{world.meter_a}/daily",
        params=DAY,
        headers=bearer(world.resident_a),
    )
    bad = await client.delete("/v1/me", headers=bearer(world.resident_a))
    assert bad.status_code == 422  # no confirmation, nothing erased
    r = await client.delete(
        "/v1/me", params={"confirm": "erase"}, headers=bearer(world.resident_a)
    )
    assert r.status_code == 204
    # the session is gone with the account
    gone = await client.get("/v1/meters", headers=bearer(world.resident_a))
    assert gone.status_code == 401
    async with world.pool.acquire() as conn:
        for table, column in (
            ("people", "person_id"),
            ("api_accounts", "person_id"),
            ("consents", "person_id"),
            ("api_access_log", "subject_person_id"),
            ("api_meter_shares", "grantee_person_id"),
            ("api_rights_requests", "person_id"),
        ):
            n = await conn.fetchval(
                f"SELECT count(*) FROM {table} WHERE {column} = $1::uuid",  # noqa: S608
                person,
            )
            assert n == 0, table
        remaining = await conn.fetch(
            "SELECT s.meter_id, count(*) AS n FROM readings r JOIN series s "
            "USING (series_id) GROUP BY 1"
        )
        assert {x["meter_id"]: x["n"] for x in remaining} == {world.meter_b: 3}
        ledger = await conn.fetchrow(
            "SELECT person_id, readings_deleted FROM api_rights_requests "
            "WHERE kind = 'erase'"
        )
        assert ledger["person_id"] is None
        assert ledger["readings_deleted"] == 3
    b_log = (
        await client.get("/v1/me/access-log", headers=bearer(world.resident_b))
    ).json()["items"]
    assert [(e["route"], e["actor"]) for e in b_log] == [
        ("/v1/meters/{meter_id}/daily", "unknown")
    ]
