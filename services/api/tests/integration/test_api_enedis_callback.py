"""The Enedis consent callback: state bound to the browser, pending consents stored,
errors. The callback alone grants nothing (verification: ingest-enedis, operators)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

pytestmark = pytest.mark.integration

NEW_PRM = "98800007059999"  # not in the demo territory: becomes an unplaced meter


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def _start(client, token: str) -> str:
    """The resident opens the consent page; returns the state the browser carries."""
    r = await client.get("/v1/enedis/consent", headers=bearer(token))
    assert r.status_code == 307
    return parse_qs(urlparse(r.headers["location"]).query)["state"][0]


async def _my_meters(client, token: str) -> set[str]:
    r = await client.get("/v1/meters", headers=bearer(token))
    assert r.status_code == 200
    return {m["meter_id"] for m in r.json()["items"]}


async def test_callback_stores_one_pending_consent_per_prm_and_grants_nothing(
    client, world
):
    before = await _my_meters(client, world.resident_a)
    assert NEW_PRM not in before
    assert world.meter_b not in before
    state = await _start(client, world.resident_a)
    r = await client.get(
        "/v1/enedis/callback",
        params={
            "code": "ignored",
            "state": state,
            "usage_point_id": f"{NEW_PRM};{world.meter_a}",
        },
        headers=bearer(world.resident_a),
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/resident?consent=pending"
    assert await _my_meters(client, world.resident_a) == before  # nothing yet
    mine = await client.get("/v1/enedis/consents", headers=bearer(world.resident_a))
    pending = {
        c["meter_id"]: c["verification"]
        for c in mine.json()["items"]
        if c["verification"] == "pending"
    }
    assert pending == {NEW_PRM: "pending", world.meter_a: "pending"}
    async with world.pool.acquire() as conn:
        meter = await conn.fetchrow(
            "SELECT building_id, scheme FROM meters WHERE meter_id = $1", NEW_PRM
        )
        span = await conn.fetchval(
            "SELECT expires_at - starts_at FROM consents WHERE meter_id = $1", NEW_PRM
        )
    assert meter["scheme"] == "prm"
    assert meter["building_id"] is None  # unplaced until customers v5 places it
    assert 365 * 3 - 3 <= span.days <= 365 * 3 + 1  # P3Y, the day clamped
    # the state is used up: the same link again is refused
    again = await client.get(
        "/v1/enedis/callback",
        params={"state": state, "usage_point_id": NEW_PRM},
        headers=bearer(world.resident_a),
    )
    assert again.status_code == 400
    # resident B never consented to this PRM and still does not see it
    assert NEW_PRM not in await _my_meters(client, world.resident_b)


async def test_a_forged_or_foreign_state_is_refused_and_stores_nothing(client, world):
    await _start(client, world.resident_a)
    r = await client.get(
        "/v1/enedis/callback",
        params={"state": "forged-state", "usage_point_id": NEW_PRM},
        headers=bearer(world.resident_a),
    )
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "state does not match" in r.json()["detail"]
    async with world.pool.acquire() as conn:
        assert not await conn.fetchval(
            "SELECT count(*) FROM consents WHERE meter_id = $1", NEW_PRM
        )
    anonymous = await client.get(
        "/v1/enedis/callback", params={"state": "x", "usage_point_id": NEW_PRM}
    )
    assert anonymous.status_code == 401


async def test_bad_prm_names_the_field_and_a_refusal_stores_nothing(client, world):
    state = await _start(client, world.resident_a)
    bad = await client.get(
        "/v1/enedis/callback",
        params={"state": state, "usage_point_id": "1234567890123"},
        headers=bearer(world.resident_a),
    )
    assert bad.status_code == 422
    assert "1234567890123" in bad.json()["detail"]
    missing = await client.get(
        "/v1/enedis/callback",
        params={"state": state},
        headers=bearer(world.resident_a),
    )
    assert missing.status_code == 422
    assert "usage_point_id" in missing.json()["detail"]
    refused = await client.get(
        "/v1/enedis/callback",
        params={"state": state, "error": "access_denied"},
        headers=bearer(world.resident_a),
    )
    assert refused.status_code == 303
    assert refused.headers["location"] == "/resident?consent=refused"
    async with world.pool.acquire() as conn:
        assert not await conn.fetchval(
            "SELECT count(*) FROM consents WHERE meter_id = '1234567890123'"
        )


async def test_the_duration_asked_is_the_duration_stored(client, world):
    r = await client.get(
        "/v1/enedis/consent",
        params={"duration": "P6M"},
        headers=bearer(world.resident_a),
    )
    state = parse_qs(urlparse(r.headers["location"]).query)["state"][0]
    await client.get(
        "/v1/enedis/callback",
        params={"state": state, "usage_point_id": NEW_PRM},
        headers=bearer(world.resident_a),
    )
    async with world.pool.acquire() as conn:
        span = await conn.fetchval(
            "SELECT expires_at - starts_at FROM consents WHERE meter_id = $1", NEW_PRM
        )
    assert 178 <= span.days <= 184
