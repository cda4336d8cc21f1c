"""A city sees its neighbouring collectives' aggregates, and no one else does.

The rows are planted as the federation gateway stores them (verified pushes, with
provenance); the route is the api's only window on them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from api import auth
from energy_core.domain.time import local_midnight

pytestmark = pytest.mark.integration

DAY = date(2026, 11, 2)
KID = "A" * 43
NEIGHBOUR = "grenoble.example"
HIDDEN = "lyon.example"  # a peer the operator did not show to this commune
REVOKED = "revoked.example"


async def _plant(conn, commune: str) -> None:
    for domain, shown, revoked in (
        (NEIGHBOUR, [commune], None),
        (HIDDEN, ["38999"], None),
        (REVOKED, [commune], datetime.now(UTC) - timedelta(days=1)),
    ):
        await conn.execute(
            "INSERT INTO federation_peers (domain, base_url, fingerprints, shown_to,"
            " revoked_at) VALUES ($1, $2, $3, $4, $5)",
            domain,
            f"https://{domain}",
            [KID],
            shown,
            revoked,
        )
    start = local_midnight(DAY)
    rows = [
        # (peer, urn, day offset, value, points, max share)
        (NEIGHBOUR, "urn:sen1:iris:381850101_consumption/energy/active/P1D", 0,
         360_000.0, 40, 0.1),
        (NEIGHBOUR, "urn:sen1:iris:381850101_consumption/energy/active/P1D", 1,
         7_777.0, 3, 0.5),  # under OUR threshold: never shown
        (NEIGHBOUR, "urn:sen1:iris:381850101_consumption/energy/active/P1D", 2,
         8_888.0, 40, 0.95),  # one point dominates: never shown
        (NEIGHBOUR, "urn:sen1:commune:38185_consumption/energy/active/P1D", 0,
         900_000.0, 120, 0.05),
        (HIDDEN, "urn:sen1:iris:693810101_consumption/energy/active/P1D", 0,
         111_111.0, 40, 0.1),
        (REVOKED, "urn:sen1:iris:381850102_consumption/energy/active/P1D", 0,
         222_222.0, 40, 0.1),
    ]  # fmt: skip
    await conn.executemany(
        """INSERT INTO federation_peer_rollups (peer_domain, urn, bucket,
               bucket_start, value, unit, delivery_points, max_share, keyid,
               signature)
           VALUES ($1, $2, 'P1D', $3, $4, 'Wh', $5, $6, $7, 'sig1=:c2ln:')""",
        [
            (peer, urn, start + timedelta(days=d), v, n, mx, f"{peer} {KID}")
            for peer, urn, d, v, n, mx in rows
        ],
    )


async def test_city_sees_its_neighbours_with_provenance_and_no_one_else_does(
    client, world, auth_header
) -> None:
    commune = str(world.territory.commune)
    async with world.pool.acquire() as conn:
        await _plant(conn, commune)
        foreign = await auth.create_api_key(
            conn, label="foreign", scope="commune", scope_id="38999"
        )
    url = f"/v1/city/{commune}/peers?start=2026-11-01&end=2026-11-10"

    r = await client.get(url, headers={"x-api-key": world.commune_key})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert [p["peer"] for p in doc["peers"]] == [NEIGHBOUR]
    peer = doc["peers"][0]
    assert peer["signature_verified"] is True
    series = {s["urn"]: s for s in peer["series"]}
    iris = series["urn:sen1:iris:381850101_consumption/energy/active/P1D"]
    assert (iris["level"], iris["scope_id"], iris["direction"]) == (
        "neighbourhood",
        "381850101",
        "consumption",
    )
    assert [v["value"] for v in iris["values"]] == [360_000.0]
    assert iris["values"][0]["delivery_points"] == 40
    assert iris["values"][0]["keyid"] == f"{NEIGHBOUR} {KID}"
    assert datetime.fromisoformat(iris["values"][0]["bucket_start"]) == (
        local_midnight(DAY)
    )
    assert series["urn:sen1:commune:38185_consumption/energy/active/P1D"]["values"]
    for hidden in ("7777", "8888", "111111", "222222", HIDDEN, REVOKED):
        assert hidden not in r.text

    # Another commune's key: nothing of ours; on its own commune, only its peers.
    r = await client.get(url, headers={"x-api-key": foreign})
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")
    own = await client.get(
        "/v1/city/38999/peers?start=2026-11-01&end=2026-11-10",
        headers={"x-api-key": foreign},
    )
    assert own.status_code == 200
    assert [p["peer"] for p in own.json()["peers"]] == [HIDDEN]
    assert NEIGHBOUR not in own.text
    # A key of one IRIS of the commune, a resident, an operator, the public.
    for headers, status in (
        ({"x-api-key": world.other_iris_key}, 403),
        (auth_header(world.resident_a), 403),
        (auth_header(world.operator), 403),
        ({}, 401),
    ):
        r = await client.get(url, headers=headers)
        assert r.status_code == status, headers
        assert "360000" not in r.text
        assert NEIGHBOUR not in r.text


async def test_city_peers_period_is_validated(client, world) -> None:
    commune = str(world.territory.commune)
    r = await client.get(
        f"/v1/city/{commune}/peers?start=2026-11-10&end=2026-11-01",
        headers={"x-api-key": world.commune_key},
    )
    assert r.status_code == 422
    r = await client.get(
        "/v1/city/not-a-commune/peers?start=2026-11-01&end=2026-11-10",
        headers={"x-api-key": world.commune_key},
    )
    assert r.status_code == 422
