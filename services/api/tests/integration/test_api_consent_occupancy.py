"""Verified consents and occupancy windows, enforced by the database.

- a forged callback shows nothing of the neighbour, on any individual route;
- an operator settles a held consent; the new occupant then sees nothing from
  before their move-in (readings, daily, monthly, CSV, CO2, comparison, devices)
  and the previous holder loses the point;
- the database refuses what the routes must never do (CHECKs, exclusion
  constraints, triggers), and audits every decision;
- alerts of neighbourhoods below the threshold of delivery points reach only the
  alert system.
"""

from __future__ import annotations

import asyncio
import io
import json
import uuid
import zipfile
from datetime import UTC, date, datetime
from urllib.parse import parse_qs, urlparse

import asyncpg
import httpx
import pytest
import uvicorn

from api.alert_hub import AlertGate, AlertHub
from api.auth import create_api_key
from api.main import create_app
from api.privacy import SecrecyRule
from api.settings import Settings
from energy_core.domain import PARIS
from energy_core.secrets import SecretBox
from energy_core.settings import SecrecySettings
from energy_store.consent_registry import acting_as, decide
from sen1_stack.broker import free_port

pytestmark = pytest.mark.integration
BEFORE = datetime(2026, 3, 2, tzinfo=PARIS)  # a previous occupant's day
AFTER = datetime(2026, 3, 12, tzinfo=PARIS)  # the new occupant's day
MOVE_IN = "2026-03-10"
MARCH = {"start": "2026-03-01", "end": "2026-03-20"}


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def _person(pool: asyncpg.Pool, email: str) -> uuid.UUID:
    person: uuid.UUID = await pool.fetchval(
        "SELECT person_id FROM people WHERE email = $1", email
    )
    return person


async def _forge(client: httpx.AsyncClient, token: str, usage_points: str) -> None:
    r = await client.get("/v1/enedis/consent", headers=bearer(token))
    state = parse_qs(urlparse(r.headers["location"]).query)["state"][0]
    r = await client.get(
        "/v1/enedis/callback",
        params={"state": state, "usage_point_id": usage_points},
        headers=bearer(token),
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/resident?consent=pending"


async def _individual_routes(
    client: httpx.AsyncClient, token: str, meter: str
) -> dict[str, httpx.Response]:
    month = {"month": "2026-03"}
    return {
        "readings": await client.get(
            f"/v1/meters/{meter}/readings",
            params={"start": "2026-03-01T00:00:00Z", "end": "2026-03-20T00:00:00Z"},
            headers=bearer(token),
        ),
        "daily": await client.get(
            f"/v1/meters/{meter}/daily", params=MARCH, headers=bearer(token)
        ),
        "monthly": await client.get(
            f"/v1/meters/{meter}/monthly",
            params={"start": "2026-03-01", "end": "2026-04-01"},
            headers=bearer(token),
        ),
        "csv": await client.get(
            f"/v1/meters/{meter}/daily.csv", params=MARCH, headers=bearer(token)
        ),
        "co2": await client.get(
            f"/v1/meters/{meter}/co2", params=month, headers=bearer(token)
        ),
        "comparison": await client.get(
            f"/v1/meters/{meter}/comparison", params=month, headers=bearer(token)
        ),
        "cost": await client.get(
            f"/v1/meters/{meter}/cost", params=month, headers=bearer(token)
        ),
    }


async def test_a_forged_callback_shows_nothing_of_the_neighbour(
    client, world, put_readings
) -> None:
    async with world.pool.acquire() as conn:
        await put_readings(conn, world.meter_b, BEFORE.astimezone(UTC), [250.0] * 4)
    await _forge(client, world.resident_a, f"{world.meter_b};98800007059999")
    for name, r in (
        await _individual_routes(client, world.resident_a, world.meter_b)
    ).items():
        assert r.status_code == 404, (name, r.text)
    mine = await client.get("/v1/meters", headers=bearer(world.resident_a))
    assert world.meter_b not in {m["meter_id"] for m in mine.json()["items"]}
    theirs = await client.get(
        f"/v1/meters/{world.meter_b}/daily",
        params=MARCH,
        headers=bearer(world.resident_b),
    )
    assert [d["kwh"] for d in theirs.json()["items"]] == [1.0]  # untouched


async def test_operator_settles_a_held_consent_and_the_new_occupant_sees_from_move_in(
    client, world, put_readings
) -> None:
    pool = world.pool
    owner = world.territory.residents[1]
    device = next(m for m in owner.meters if len(m) == 32)  # their FluksoMeter
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE meters SET delivery_point_id = $1 WHERE meter_id = $2",
            world.meter_b,
            device,
        )
        for meter in (world.meter_b, device):
            for day in (BEFORE, AFTER):
                await put_readings(conn, meter, day.astimezone(UTC), [250.0] * 4)
    # the newcomer consents for the flat they moved into; the PRM is still held
    await _forge(client, world.resident_a, world.meter_b)
    newcomer = await _person(pool, world.territory.residents[0].email)
    consent_id = await pool.fetchval(
        "SELECT consent_id FROM consents WHERE person_id = $1 AND meter_id = $2",
        newcomer,
        world.meter_b,
    )
    async with pool.acquire() as conn, conn.transaction():  # as ingest-enedis does
        await acting_as(conn, "ingest-enedis")
        await decide(
            conn, consent_id=str(consent_id), verification="to_verify",
            by="ingest-enedis:customers-v5", reason="held_by_another",
            now=datetime.now(UTC),
        )  # fmt: skip

    # only operators see and decide
    listing = "/v1/operator/consents"
    decision = f"{listing}/{consent_id}/decision"
    verify = {"decision": "verified", "reason": "lease seen, moved in on the 10th"}
    for headers, status in (
        (bearer(world.resident_a), 403),
        ({"x-api-key": world.commune_key}, 403),
        ({}, 401),
    ):
        assert (await client.get(listing, headers=headers)).status_code == status
        r = await client.post(decision, json=verify, headers=headers)
        assert r.status_code == status
    # the resident is not told why: that would reveal the neighbour uses SEN1
    mine = await client.get("/v1/enedis/consents", headers=bearer(world.resident_a))
    assert [
        (c["verification"], c["verification_reason"])
        for c in mine.json()["items"]
        if c["meter_id"] == world.meter_b
    ] == [("pending", None)]
    op = bearer(world.operator)
    held = (await client.get(listing, headers=op)).json()["items"]
    assert [(c["consent_id"], c["held_by_another"]) for c in held] == [
        (str(consent_id), True)
    ]
    assert held[0]["verification_reason"] == "held_by_another"

    r = await client.post(decision, json=verify, headers=op)
    assert r.status_code == 422  # no move-in day
    r = await client.post(decision, json={**verify, "move_in": MOVE_IN}, headers=op)
    assert r.status_code == 409, r.text  # still held: the database refuses
    assert r.headers["content-type"].startswith("application/problem+json")
    for name, got in (
        await _individual_routes(client, world.resident_a, world.meter_b)
    ).items():
        assert got.status_code == 404, name
    r = await client.post(
        decision,
        json={**verify, "move_in": MOVE_IN, "previous_holder_moved_out": True},
        headers=op,
    )
    assert r.status_code == 204, r.text

    # the newcomer: only from the move-in day on, on every route
    routes = await _individual_routes(client, world.resident_a, world.meter_b)
    starts = [
        datetime.fromisoformat(r["start"]) for r in routes["readings"].json()["items"]
    ]
    assert len(starts) == 4  # the four half-hours of the 12th, none of the 2nd
    assert min(starts) == AFTER
    assert [d["period"] for d in routes["daily"].json()["items"]] == ["2026-03-12"]
    assert routes["monthly"].json()["items"][0]["kwh"] == pytest.approx(1.0)
    assert routes["csv"].text.splitlines()[1:] == ["2026-03-12,1.000,4,1"]
    assert routes["co2"].json()["kwh"] == pytest.approx(1.0)
    assert routes["comparison"].json()["my_kwh"] == pytest.approx(1.0)
    assert routes["cost"].status_code == 404  # no contract known: not a leak
    mine = await client.get("/v1/meters", headers=bearer(world.resident_a))
    assert {world.meter_b, device} <= {m["meter_id"] for m in mine.json()["items"]}
    dev = await client.get(
        f"/v1/meters/{device}/daily", params=MARCH, headers=bearer(world.resident_a)
    )
    assert [d["period"] for d in dev.json()["items"]] == ["2026-03-12"]

    # the previous holder moved out: the point and its device are no longer theirs
    for meter in (world.meter_b, device):
        r = await client.get(
            f"/v1/meters/{meter}/daily", params=MARCH, headers=bearer(world.resident_b)
        )
        assert r.status_code == 404
    # every decision is in the audit trail, with who took it
    trail = await client.get(f"{listing}/{consent_id}/audit", headers=op)
    events = [(e["event"], e["actor"]) for e in trail.json()["items"]]
    assert [e for e, _ in events] == ["recorded", "mismatch", "operator_verified"]
    assert events[0][1] == f"resident:{newcomer}"
    assert events[2][1].startswith("operator:")
    previous = await pool.fetch(
        """SELECT a.event, a.actor FROM consent_audit a JOIN consents c USING (consent_id)
           WHERE c.meter_id = $1 AND c.person_id = $2 ORDER BY audit_id""",
        world.meter_b,
        await _person(pool, owner.email),
    )
    assert [r["event"] for r in previous][-1] == "revoked"
    assert previous[-1]["actor"].startswith("operator:")


async def test_the_database_enforces_the_rules(world) -> None:
    pool = world.pool
    a = await _person(pool, world.territory.residents[0].email)
    b = await _person(pool, world.territory.residents[1].email)
    device = next(m for m in world.territory.residents[1].meters if len(m) == 32)
    insert = """INSERT INTO consents (person_id, meter_id, purpose, starts_at,
                    expires_at, verification, verified_at, verified_by,
                    verification_reason)
                VALUES ($1, $2, 'x', now(), now() + interval '1 year', $3, $4, $5, $6)"""
    now = datetime.now(UTC)
    async with pool.acquire() as conn:
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(insert, a, world.meter_a, "bogus", None, None, None)
        with pytest.raises(asyncpg.CheckViolationError):  # verified by nobody
            await conn.execute(insert, a, world.meter_a, "verified", None, None, None)
        with pytest.raises(asyncpg.CheckViolationError):  # held without a reason
            await conn.execute(insert, a, world.meter_a, "to_verify", None, None, None)
        with pytest.raises(asyncpg.ExclusionViolationError):  # a second holder
            await conn.execute(insert, b, world.meter_a, "verified", now, "t", None)
        with pytest.raises(asyncpg.ExclusionViolationError):  # a second occupant
            await conn.execute(
                """INSERT INTO occupancies (person_id, delivery_point_id, starts_at,
                   source) VALUES ($1, $2, now(), 'operator')""",
                b,
                world.meter_a,
            )
        with pytest.raises(asyncpg.CheckViolationError):  # a device is not a point
            await conn.execute(
                """INSERT INTO occupancies (person_id, delivery_point_id, starts_at,
                   source) VALUES ($1, $2, now(), 'operator')""",
                b,
                device,
            )
        with pytest.raises(asyncpg.CheckViolationError):  # a consent changes hands
            await conn.execute(
                "UPDATE consents SET person_id = $1 WHERE meter_id = $2",
                b,
                world.meter_a,
            )
        # a pending consent opens nothing, even with an occupancy
        newcomer = await conn.fetchval(
            "INSERT INTO people (display_name) VALUES ('n') RETURNING person_id"
        )
        await conn.execute(
            """INSERT INTO meters (meter_id, scheme, energy, direction, sector)
               VALUES ('98800007059999', 'prm', 'electricity', 'consumption',
               'residential')"""
        )
        await conn.execute(
            """INSERT INTO consents (person_id, meter_id, purpose, starts_at,
               expires_at) VALUES ($1, '98800007059999', 'x', now(),
               now() + interval '1 year')""",
            newcomer,
        )
        await conn.execute(
            """INSERT INTO occupancies (person_id, delivery_point_id, starts_at, source)
               VALUES ($1, '98800007059999', '2020-01-01', 'operator')""",
            newcomer,
        )
        assert not await conn.fetch("SELECT * FROM meter_access($1, now())", newcomer)
        # every insert was audited; expiry is audited once
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM consent_audit WHERE person_id = $1 "
                "AND event = 'recorded'",
                newcomer,
            )
            == 1
        )
        await conn.execute(
            """UPDATE consents SET expires_at = starts_at + interval '1 month'
               WHERE person_id = $1 AND meter_id = $2""",
            a,
            world.meter_a,
        )
        assert await conn.fetchval("SELECT consent_audit_expired(now())") == 1
        assert await conn.fetchval("SELECT consent_audit_expired(now())") == 0


async def test_alerts_of_small_neighbourhoods_reach_only_the_alert_system(
    world, postgres_settings
) -> None:
    pool = world.pool
    points = {
        r["iris"]: r["points"]
        for r in await pool.fetch(
            """SELECT b.iris, count(*)::int AS points FROM buildings b
               JOIN meters m USING (building_id) WHERE m.scheme = 'prm'
               GROUP BY 1"""
        )
    }
    small, large = min(points, key=points.get), max(points, key=points.get)
    assert points[small] < points[large]
    threshold = points[small] + 1  # the small one falls below it
    at = datetime(2026, 3, 1, 18, tzinfo=UTC)
    async with pool.acquire() as conn:
        for iris in (small, large):
            await conn.execute(
                """INSERT INTO alerts VALUES ($1, $2, 2, 'active', $3, $3, NULL,
                   480, 400)""",
                uuid.uuid4(),
                iris,
                at,
            )
    settings = Settings(
        postgres=postgres_settings,
        subscribe_alerts=False,
        secrecy=SecrecySettings(min_points=threshold),
        SEN1_SECRET_KEY=SecretBox.generate_key(),
    )
    async with pool.acquire() as conn:
        alerts_key = await create_api_key(
            conn, label="alert system", scope="alerts", scope_id=None
        )
    app = create_app(settings, pool=pool)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as c,
    ):
        seen = {}
        for who, headers in (
            ("resident", bearer(world.resident_a)),
            ("city", {"x-api-key": world.commune_key}),
            ("operator", bearer(world.operator)),
            ("alert system", {"x-api-key": alerts_key}),
        ):
            r = await c.get("/v1/alerts", headers=headers)
            assert r.status_code == 200
            seen[who] = {a["iris"] for a in r.json()["items"]}
    assert seen["resident"] == seen["city"] == {large}
    assert seen["operator"] == seen["alert system"] == {small, large}
    # live: the hub marks each event; webhooks (listeners) receive every one
    heard: list[dict] = []

    async def webhook(event: dict) -> None:
        heard.append(event)

    hub = AlertHub(gate=AlertGate(pool, SecrecyRule(min_points=threshold)))
    hub.add_listener(webhook)
    async with hub.subscribe() as queue:
        for iris in (small, large):
            await hub.publish(
                {"alert_id": "a", "iris": iris, "change": "raised", "level": 2,
                 "load_kw": 480.0, "capacity_kw": 400.0,
                 "occurred_at": at.isoformat()}
            )  # fmt: skip
        got = [queue.get_nowait() for _ in range(2)]
    await hub.drain()
    assert [(e["iris"], e["public"]) for e in got] == [(small, False), (large, True)]
    assert [e["iris"] for e in heard] == [small, large]


async def test_a_move_out_ends_what_the_consent_shows(client, world, put_readings):
    async with world.pool.acquire() as conn:
        for day in (BEFORE, AFTER):
            await put_readings(conn, world.meter_a, day.astimezone(UTC), [100.0] * 4)
        await conn.execute(
            "UPDATE occupancies SET ends_at = $1 WHERE delivery_point_id = $2",
            datetime(2026, 3, 10, tzinfo=PARIS),
            world.meter_a,
        )
    r = await client.get(
        f"/v1/meters/{world.meter_a}/daily",
        params=MARCH,
        headers=bearer(world.resident_a),
    )
    assert [d["period"] for d in r.json()["items"]] == [str(date(2026, 3, 2))]


async def test_forging_in_bulk_is_refused_before_it_costs_the_quota(
    client, world
) -> None:
    r = await client.get("/v1/enedis/consent", headers=bearer(world.resident_a))
    state = parse_qs(urlparse(r.headers["location"]).query)["state"][0]
    many = ";".join(f"988000070{i:05d}" for i in range(11))
    r = await client.get(
        "/v1/enedis/callback",
        params={"state": state, "usage_point_id": many},
        headers=bearer(world.resident_a),
    )
    assert r.status_code == 422
    for batch in range(2):  # 20 awaiting verification: the cap
        await _forge(
            client,
            world.resident_a,
            ";".join(f"98800{batch}07{i:06d}" for i in range(10)),
        )
    r = await client.get("/v1/enedis/consent", headers=bearer(world.resident_a))
    state = parse_qs(urlparse(r.headers["location"]).query)["state"][0]
    r = await client.get(
        "/v1/enedis/callback",
        params={"state": state, "usage_point_id": "98800900000001"},
        headers=bearer(world.resident_a),
    )
    assert r.status_code == 429
    assert r.headers["content-type"].startswith("application/problem+json")
    a = await _person(world.pool, world.territory.residents[0].email)
    assert (
        await world.pool.fetchval(
            "SELECT count(*) FROM consents WHERE person_id = $1 "
            "AND verification = 'pending'",
            a,
        )
        == 20
    )


async def _sse_events(
    http: httpx.AsyncClient, url: str, headers: dict[str, str], connected: asyncio.Event
) -> list[dict]:
    """The ``alert`` events of one stream until the server closes it."""
    events = []
    async with http.stream("GET", url, headers=headers) as response:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line.startswith(": connected"):
                connected.set()
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
    return events


async def test_streamed_alerts_of_small_neighbourhoods_reach_only_operators(
    world, postgres_settings
) -> None:
    points = {
        r["iris"]: r["points"]
        for r in await world.pool.fetch(
            """SELECT b.iris, count(*)::int AS points FROM buildings b
               JOIN meters m USING (building_id) WHERE m.scheme = 'prm'
               GROUP BY 1"""
        )
    }
    small, large = min(points, key=points.get), max(points, key=points.get)
    settings = Settings(
        postgres=postgres_settings,
        subscribe_alerts=False,
        secrecy=SecrecySettings(min_points=points[small] + 1),
    )
    app = create_app(settings, pool=world.pool)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag only
        await asyncio.sleep(0.02)
    base = f"http://127.0.0.1:{port}/v1/stream/alerts"
    try:
        async with httpx.AsyncClient(timeout=20) as http:
            ready = [asyncio.Event(), asyncio.Event()]
            resident = asyncio.create_task(
                _sse_events(
                    http, f"{base}?max_events=1", bearer(world.resident_a), ready[0]
                )
            )
            operator = asyncio.create_task(
                _sse_events(
                    http, f"{base}?max_events=2", bearer(world.operator), ready[1]
                )
            )
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in ready)), 10)
            for iris in (small, large):
                await app.state.hub.publish(
                    {"alert_id": iris, "iris": iris, "change": "raised", "level": 3,
                     "load_kw": 1.0, "capacity_kw": 1.0,
                     "occurred_at": datetime.now(UTC).isoformat()}
                )  # fmt: skip
            got_resident = await asyncio.wait_for(resident, 10)
            got_operator = await asyncio.wait_for(operator, 10)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)
    assert [e["iris"] for e in got_resident] == [large]
    assert [e["iris"] for e in got_operator] == [small, large]


async def test_a_consent_window_cuts_the_occupancy(client, world, put_readings):
    # a consent covering data only from the 10th (data_from) hides the 2nd, even
    # though the resident lived there then
    async with world.pool.acquire() as conn:
        for day in (BEFORE, AFTER):
            await put_readings(conn, world.meter_a, day.astimezone(UTC), [100.0] * 4)
        await conn.execute(
            "UPDATE consents SET data_from = $1 WHERE meter_id = $2",
            datetime(2026, 3, 10, tzinfo=PARIS),
            world.meter_a,
        )
    r = await client.get(
        f"/v1/meters/{world.meter_a}/daily",
        params=MARCH,
        headers=bearer(world.resident_a),
    )
    assert [d["period"] for d in r.json()["items"]] == ["2026-03-12"]


async def test_a_forged_consent_exports_and_deletes_nothing_of_the_neighbour(
    client, world, put_readings
) -> None:
    async with world.pool.acquire() as conn:
        await put_readings(conn, world.meter_b, BEFORE.astimezone(UTC), [250.0] * 4)
        # the neighbour moved out: no live consent protects their readings any more
        await conn.execute(
            "UPDATE consents SET revoked_at = now() WHERE meter_id = $1", world.meter_b
        )
    await _forge(client, world.resident_a, world.meter_b)
    listed = await client.get("/v1/me/consents", headers=bearer(world.resident_a))
    assert [
        c["status"] for c in listed.json()["items"] if c["meter_id"] == world.meter_b
    ] == ["pending"]  # not "live": it grants nothing
    archive = await client.get("/v1/me/export", headers=bearer(world.resident_a))
    assert archive.status_code == 200
    with zipfile.ZipFile(io.BytesIO(archive.content)) as z:
        readings = z.read("readings.csv").decode()
    assert world.meter_b not in readings
    forged = await world.pool.fetchval(
        "SELECT consent_id FROM consents WHERE meter_id = $1 AND revoked_at IS NULL",
        world.meter_b,
    )
    r = await client.post(
        f"/v1/me/consents/{forged}/withdraw",
        json={"delete_readings": True},
        headers=bearer(world.resident_a),
    )
    assert r.status_code == 200, r.text
    assert (
        await world.pool.fetchval(
            "SELECT count(*) FROM readings r JOIN series s USING (series_id) "
            "WHERE s.meter_id = $1",
            world.meter_b,
        )
        == 4
    )
    audit = await world.pool.fetch(
        "SELECT event, actor FROM consent_audit WHERE consent_id = $1 ORDER BY audit_id",
        forged,
    )
    assert [a["event"] for a in audit] == ["recorded", "revoked"]
    assert audit[-1]["actor"].startswith("resident:")


async def test_erasure_keeps_the_decisions_but_not_whose_they_were(client, world):
    a = await _person(world.pool, world.territory.residents[0].email)
    assert await world.pool.fetchval(
        "SELECT count(*) FROM consent_audit WHERE person_id = $1", a
    )
    r = await client.delete(
        "/v1/me", params={"confirm": "erase"}, headers=bearer(world.resident_a)
    )
    assert r.status_code == 204, r.text
    assert not await world.pool.fetchval(
        "SELECT count(*) FROM consent_audit WHERE person_id = $1", a
    )
    assert await world.pool.fetchval(
        "SELECT count(*) FROM consent_audit WHERE person_id IS NULL AND meter_id = $1",
        world.meter_a,
    )
