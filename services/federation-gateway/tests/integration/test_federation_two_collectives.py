"""The done-when of issue 14 over HTTPS: two collectives on loopback.

B (collective-b) serves its IRIS rollups and one consented individual series; A
(collective-a) asks for them with signed requests. Every refusal path is shown on
the real wire: a tampered body, a replayed request, an unknown key, a revoked peer;
a below-threshold aggregate never leaves B; a consented series flows until the
consent is revoked and not one request after; A's read is in the resident's log.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from energy_store.federation import peer_aggregates
from federation_gateway.client import PeerRefusedError
from federation_gateway.keys import Keyring, SigningKey
from federation_gateway.signatures import sign

pytestmark = pytest.mark.integration

IRIS = "381510101"
COMMUNE = "38151"
PRM = "12345678901234"
SERIES = f"urn:dev:prm:{PRM}_consumption/energy/active/daily"
AGGREGATE = f"urn:sen1:iris:{IRIS}_consumption/energy/active/P1D"
DAY0 = datetime(2026, 11, 1, 23, 0, tzinfo=UTC)  # 2 Nov 00:00 Paris


async def seed_b(pool: Any, grantee: str) -> str:
    """B's territory, two daily rollups (12 points, then 3), one resident's series
    with a consent naming ``grantee``. Returns the consent id."""
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO communes (insee, name) VALUES ($1, 'Echirolles')",
            COMMUNE,
        )
        await conn.execute(
            "INSERT INTO neighbourhoods (iris, commune_insee, name, capacity_kw)"
            " VALUES ($1, $2, 'Centre', 500)",
            IRIS,
            COMMUNE,
        )
        for i, (points, value) in enumerate([(12, 120_000.0), (3, 30_000.0)]):
            start = DAY0 + timedelta(days=i)
            await conn.execute(
                """
                INSERT INTO rollups (scope, scope_id, bucket, bucket_start, bucket_end,
                    energy, direction, quality, unit, value, delivery_points,
                    max_point_value)
                VALUES ('neighbourhood', $1, 'P1D', $2, $3, 'electricity',
                        'consumption', 'raw', 'Wh', $4, $5, $6)
                """,
                IRIS,
                start,
                start + timedelta(days=1),
                value,
                points,
                value / points,
            )
        await conn.execute(
            "INSERT INTO meters (meter_id, scheme, energy, direction, sector)"
            " VALUES ($1, 'prm', 'electricity', 'consumption', 'residential')",
            PRM,
        )
        person = await conn.fetchval(
            "INSERT INTO people (display_name) VALUES ('resident') RETURNING person_id"
        )
        consent = await conn.fetchval(
            """
            INSERT INTO consents (person_id, meter_id, grantee, purpose, starts_at,
                                  expires_at, verification, verified_at, verified_by)
            VALUES ($1, $2, $3, 'moving to a neighbouring commune', $4, $5,
                    'verified', $4, 'test')
            RETURNING consent_id::text
            """,
            person,
            PRM,
            grantee,
            DAY0 - timedelta(days=30),
            datetime.now(UTC) + timedelta(days=300),
        )
        await conn.execute(
            "INSERT INTO occupancies (person_id, delivery_point_id, starts_at, source)"
            " VALUES ($1, $2, $3, 'demo')",
            person,
            PRM,
            DAY0 - timedelta(days=60),
        )
        series_id = await conn.fetchval(
            """
            INSERT INTO series (urn, meter_id, scheme, direction, kind, dimension,
                                unit, period)
            VALUES ($1, $2, 'prm', 'consumption', 'interval', 'energy', 'Wh', 'daily')
            RETURNING series_id
            """,
            SERIES,
            PRM,
        )
        for i in range(3):
            start = DAY0 + timedelta(days=i)
            await conn.execute(
                "INSERT INTO readings (series_id, start_ts, end_ts, value, quality)"
                " VALUES ($1, $2, $3, $4, 1)",
                series_id,
                start,
                start + timedelta(days=1),
                8000.0 + i,
            )
    return str(consent)


NEIGHBOURHOODS_P1D: dict[str, Any] = {
    "territories": frozenset({COMMUNE}),
    "levels": frozenset({"neighbourhood"}),
    "buckets": frozenset({"P1D"}),
}
"""B's grant to A of its daily IRIS rollups (``peer_entry`` keywords)."""


async def peered(collectives: Any, **grant: Any) -> tuple[Any, Any, str]:
    """Collectives A and B, B seeded (:func:`seed_b`), each registering the
    other, B granting A ``grant``; (A, B, the seeded consent's id)."""
    a = await collectives("collective-a.example")
    b = await collectives("collective-b.example")
    consent = await seed_b(b.runtime.pool, a.domain)
    await b.runtime.repository.upsert_peer(a.peer_entry(**grant))
    await a.runtime.repository.upsert_peer(b.peer_entry())
    return a, b, consent


async def subscribe(subscriber: Any, publisher: Any, urns: list[str]) -> Any:
    """``subscriber`` subscribes to ``urns`` at ``publisher`` from the start of time."""
    return await subscriber.runtime.client.post(
        f"{publisher.url}/federation/v1/subscriptions",
        {
            "urns": urns,
            "callback_url": f"{subscriber.url}/federation/v1/push",
            "since": "2000-01-01T00:00:00+00:00",
        },
    )


def _period() -> dict[str, str]:
    return {
        "start": DAY0.isoformat(),
        "end": (DAY0 + timedelta(days=3)).isoformat(),
    }


async def _signed_post(
    http: httpx.AsyncClient,
    url: str,
    payload: dict[str, Any],
    *,
    key: SigningKey,
    domain: str,
    tamper: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[httpx.Response, dict[str, str], bytes]:
    body = json.dumps(payload).encode()
    signed = headers or sign(
        key.private,
        keyid=f"{domain} {key.kid}",
        method="POST",
        target_uri=url,
        body=body,
        now=datetime.now(UTC),
    )
    sent = tamper if tamper is not None else body
    response = await http.post(url, content=sent, headers=signed)
    return response, signed, body


async def test_a_reads_b_signed_and_every_refusal_holds(collectives: Any) -> None:
    a, b, consent = await peered(collectives, **NEIGHBOURHOODS_P1D, series=True)
    query = f"{b.url}/federation/v1/query"

    # 1. A's signed pull of B's IRIS rollups: the 12-point day leaves, the 3-point
    # day never does (not even as a withheld placeholder).
    records = await a.runtime.client.post(query, {"urn": AGGREGATE, **_period()})
    assert [r["v"] for r in records] == [120_000.0]
    assert records[0]["bn"] == AGGREGATE
    assert records[0]["bt"] == int(DAY0.timestamp())
    assert records[0]["sen1_points"] == 12

    # 2. The consented individual series flows, and the read is in the resident's log.
    series = await a.runtime.client.post(query, {"urn": SERIES, **_period()})
    assert [r["v"] for r in series] == [8000.0, 8001.0, 8002.0]
    logged = await b.runtime.pool.fetch(
        "SELECT actor_kind, consent_id::text, route FROM api_access_log"
    )
    assert [tuple(r) for r in logged] == [("peer", consent, "/federation/v1/query")]

    # Another collective, registered for another territory and for series, gets
    # neither B's IRIS nor the resident's series (the consent names A, not C).
    c = await collectives("collective-c.example")
    await b.runtime.repository.upsert_peer(
        c.peer_entry(
            territories=frozenset({"38185"}),
            levels=frozenset({"neighbourhood"}),
            buckets=frozenset({"P1D"}),
            series=True,
        )
    )
    assert await c.runtime.client.post(query, {"urn": AGGREGATE, **_period()}) == []
    with pytest.raises(PeerRefusedError) as not_theirs:
        await c.runtime.client.post(query, {"urn": SERIES, **_period()})
    assert not_theirs.value.status == 403
    assert await b.runtime.pool.fetchval("SELECT count(*) FROM api_access_log") == 1

    key = a.runtime.keyring.current()
    async with httpx.AsyncClient() as http:
        # An anonymous (unsigned) request.
        anonymous = await http.post(query, json={"urn": AGGREGATE, **_period()})
        assert anonymous.status_code == 401
        assert anonymous.headers["content-type"] == "application/problem+json"
        payload = {"urn": AGGREGATE, **_period()}
        # 3. A tampered body: the digest no longer matches.
        tampered = json.dumps({"urn": SERIES, **_period()}).encode()
        r, _, _ = await _signed_post(
            http, query, payload, key=key, domain=a.domain, tamper=tampered
        )
        assert r.status_code == 401
        assert "Content-Digest" in r.json()["detail"]
        # 4. A replayed request: accepted once, refused the second time.
        r, headers, body = await _signed_post(
            http, query, payload, key=key, domain=a.domain
        )
        assert r.status_code == 200
        r = await http.post(query, content=body, headers=headers)
        assert r.status_code == 401
        assert r.json()["detail"] == "replayed request"
        # 5. An unknown key: A's domain, a key B never pinned.
        stranger = Keyring(
            [SigningKey.generate(datetime.now(UTC))], overlap=timedelta()
        )
        r, _, _ = await _signed_post(
            http, query, payload, key=stranger.current(), domain=a.domain
        )
        assert r.status_code == 401
        assert r.json()["detail"] == "unknown key"
        # 6. A stale signature (created beyond the allowed age).
        old = sign(
            key.private,
            keyid=f"{a.domain} {key.kid}",
            method="POST",
            target_uri=query,
            body=body,
            now=datetime.now(UTC) - timedelta(minutes=10),
        )
        r = await http.post(query, content=body, headers=old)
        assert r.status_code == 401
        assert r.json()["detail"] == "stale signature"

    # 7. The resident revokes: the very next request is refused.
    await b.runtime.pool.execute(
        "UPDATE consents SET revoked_at = now() WHERE consent_id = $1::uuid", consent
    )
    with pytest.raises(PeerRefusedError) as refused:
        await a.runtime.client.post(query, {"urn": SERIES, **_period()})
    assert refused.value.status == 403
    assert await b.runtime.pool.fetchval("SELECT count(*) FROM api_access_log") == 1

    # 8. B's operator revokes A: even aggregates are refused.
    assert await b.runtime.repository.revoke_peer(a.domain, datetime.now(UTC))
    with pytest.raises(PeerRefusedError) as revoked:
        await a.runtime.client.post(query, {"urn": AGGREGATE, **_period()})
    assert revoked.value.status == 403


async def _until(check: Any) -> Any:
    """Polls ``check`` (async, returns a value or None) until it answers (10 s)."""
    async with asyncio.timeout(10):
        while True:
            value = await check()
            if value:
                return value
            await asyncio.sleep(0.05)


async def test_a_subscribes_to_b_and_receives_signed_pushes(collectives: Any) -> None:
    a, b, _ = await peered(collectives, **NEIGHBOURHOODS_P1D)
    answer = await subscribe(a, b, [AGGREGATE])
    assert answer["subscription_id"]
    stop = asyncio.Event()
    loop = asyncio.create_task(b.runtime.service.run(stop))
    try:
        received = await _until(
            lambda: a.runtime.pool.fetch(
                "SELECT peer_domain, urn, bucket_start, value, delivery_points,"
                " keyid, signature FROM federation_peer_rollups"
            )
        )
        # Only the 12-point day arrived; signed with B's current key.
        assert [(r["peer_domain"], r["urn"], r["value"]) for r in received] == [
            (b.domain, AGGREGATE, 120_000.0)
        ]
        # what the api's city page reads (energy_store, not this service)
        shown = await peer_aggregates(
            a.runtime.pool, start=DAY0, end=DAY0 + timedelta(days=3)
        )
        assert [(p.peer_domain, p.value, p.delivery_points) for p in shown] == [
            (b.domain, 120_000.0, 12)
        ]
        assert received[0]["bucket_start"] == DAY0
        assert received[0]["keyid"] == f"{b.domain} {b.runtime.keyring.current().kid}"
        assert received[0]["signature"].startswith("sig1=:")

        # A new rollup on B is pushed; a day that falls below the threshold is not.
        await b.runtime.pool.execute(
            "UPDATE rollups SET value = value + 1000, updated_at = now()"
            " WHERE bucket_start = $1",
            DAY0,
        )
        await b.runtime.pool.execute(
            "UPDATE rollups SET value = 99, updated_at = now() WHERE bucket_start = $1",
            DAY0 + timedelta(days=1),
        )
        await _until(
            lambda: a.runtime.pool.fetchval(
                "SELECT true FROM federation_peer_rollups WHERE value = 121000"
            )
        )
        assert (
            await a.runtime.pool.fetchval(
                "SELECT count(*) FROM federation_peer_rollups"
            )
            == 1
        )

        # B revokes A: the next change is not pushed.
        await b.runtime.repository.revoke_peer(a.domain, datetime.now(UTC))
        await b.runtime.pool.execute(
            "UPDATE rollups SET value = 555555, updated_at = now()"
            " WHERE bucket_start = $1",
            DAY0,
        )
        await asyncio.sleep(1.0)
        assert (
            await a.runtime.pool.fetchval("SELECT value FROM federation_peer_rollups")
            == 121000
        )
    finally:
        stop.set()
        await loop


async def test_a_push_from_an_unregistered_collective_is_refused(
    collectives: Any,
) -> None:
    a = await collectives("collective-a.example")
    c = await collectives("collective-c.example")  # A never registered C
    with pytest.raises(PeerRefusedError) as refused:
        await c.runtime.client.post(
            f"{a.url}/federation/v1/push",
            {
                "idempotency_key": "0123456789abcdef",
                "records": [{"bn": AGGREGATE, "bt": 0, "bu": "Wh", "v": 1.0}],
            },
        )
    assert refused.value.status == 401
    assert (
        await a.runtime.pool.fetchval("SELECT count(*) FROM federation_peer_rollups")
        == 0
    )


async def test_a_consented_series_is_pushed_until_the_consent_is_revoked(
    collectives: Any,
) -> None:
    a, b, consent = await peered(collectives, series=True)
    await subscribe(a, b, [SERIES])
    stop = asyncio.Event()
    loop = asyncio.create_task(b.runtime.service.run(stop))
    try:
        rows = await _until(
            lambda: a.runtime.pool.fetch(
                "SELECT urn, value FROM federation_peer_rollups ORDER BY bucket_start"
            )
        )
        assert [(r["urn"], r["value"]) for r in rows] == [
            (SERIES, 8000.0),
            (SERIES, 8001.0),
            (SERIES, 8002.0),
        ]
        logged = await b.runtime.pool.fetch(
            "SELECT actor_kind, consent_id::text FROM api_access_log"
        )
        assert [tuple(r) for r in logged] == [("peer", consent)]

        # The resident revokes; a value ingested afterwards never reaches A.
        await b.runtime.pool.execute(
            "UPDATE consents SET revoked_at = now() WHERE consent_id = $1::uuid",
            consent,
        )
        await b.runtime.pool.execute(
            """
            INSERT INTO readings (series_id, start_ts, end_ts, value, quality)
            SELECT series_id, $2, $3, 9999, 1 FROM series WHERE urn = $1
            """,
            SERIES,
            DAY0 + timedelta(days=3),
            DAY0 + timedelta(days=4),
        )
        await asyncio.sleep(1.0)
        assert (
            await a.runtime.pool.fetchval(
                "SELECT count(*) FROM federation_peer_rollups WHERE value = 9999"
            )
            == 0
        )
        assert await b.runtime.pool.fetchval("SELECT count(*) FROM api_access_log") == 1
    finally:
        stop.set()
        await loop


async def test_an_unverified_consent_or_a_previous_tenants_data_opens_nothing(
    collectives: Any,
) -> None:
    a = await collectives("collective-a.example")
    b = await collectives("collective-b.example")
    consent = await seed_b(b.runtime.pool, a.domain)
    await b.runtime.repository.upsert_peer(a.peer_entry(series=True))
    query = f"{b.url}/federation/v1/query"
    assert len(await a.runtime.client.post(query, {"urn": SERIES, **_period()})) == 3

    # The resident moved in on the second day: the first day was a previous
    # tenant's, and their consent never opens it (meter_access's window).
    await b.runtime.pool.execute(
        "UPDATE occupancies SET starts_at = $2 WHERE delivery_point_id = $1",
        PRM,
        DAY0 + timedelta(days=1),
    )
    with pytest.raises(PeerRefusedError) as earlier:
        await a.runtime.client.post(query, {"urn": SERIES, **_period()})
    assert earlier.value.status == 403
    assert "window" in earlier.value.body
    theirs = {"start": (DAY0 + timedelta(days=1)).isoformat(), "end": _period()["end"]}
    values = await a.runtime.client.post(query, {"urn": SERIES, **theirs})
    assert [r["v"] for r in values] == [8001.0, 8002.0]

    # The consent is held for an operator (to_verify): nothing at all.
    await b.runtime.pool.execute(
        "UPDATE consents SET verification = 'to_verify',"
        " verification_reason = 'test' WHERE consent_id = $1::uuid",
        consent,
    )
    with pytest.raises(PeerRefusedError) as held:
        await a.runtime.client.post(query, {"urn": SERIES, **_period()})
    assert held.value.status == 403
    assert await b.runtime.pool.fetchval("SELECT count(*) FROM api_access_log") == 2
