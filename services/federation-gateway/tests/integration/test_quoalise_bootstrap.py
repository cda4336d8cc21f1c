"""The Quoalise binding as shipped: ``bootstrap()`` with the real PostgreSQL and a
real Prosody. A Quoalise peer reads an IRIS rollup (the below-threshold day left
out) and a consented series (logged in the resident's access log); after the
consent is revoked, the next read is refused.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from federation_gateway.egress import PeerGrant
from federation_gateway.quoalise.connection import connect, make_client
from federation_gateway.quoalise.reader import QuoaliseReader, QuoaliseRefused
from federation_gateway.repository import Peer
from sen1_stack.prosody import Prosody

pytestmark = pytest.mark.integration

IRIS = "381510101"
COMMUNE = "38151"
PRM = "12345678901234"
SERIES = f"urn:dev:prm:{PRM}_consumption/energy/active/daily"
AGGREGATE = f"urn:sen1:iris:{IRIS}_consumption/energy/active/P1D"
DAY0 = datetime(2026, 11, 1, 23, 0, tzinfo=UTC)  # 2 Nov 00:00 Paris
PEER = "peer.localhost"


async def seed(pool: Any) -> str:
    """Two daily rollups (12 points, then 3) and a consented series; the consent id."""
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO communes (insee, name) VALUES ($1, 'Echirolles')", COMMUNE
        )
        await conn.execute(
            "INSERT INTO neighbourhoods (iris, commune_insee, name, capacity_kw)"
            " VALUES ($1, $2, 'Centre', 500)",
            IRIS,
            COMMUNE,
        )
        for i, points in enumerate([12, 3]):
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
                points * 10_000.0,
                points,
                10_000.0,
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
            VALUES ($1, $2, $3, 'research programme', $4, $5,
                    'verified', $4, 'test')
            RETURNING consent_id::text
            """,
            person,
            PRM,
            PEER,
            DAY0 - timedelta(days=30),
            datetime.now(UTC) + timedelta(days=300),
        )
        # a series leaves only within the holder's occupancy (meter_access)
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
        for i in range(2):
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


async def test_a_quoalise_peer_reads_through_the_shipped_bootstrap(
    collectives: Any, prosody: Prosody
) -> None:
    tag = uuid.uuid4().hex[:8]
    gateway = prosody.register(f"sen1{tag}", "localhost", "gw-pass")
    reader_jid = prosody.register(f"lab{tag}", PEER, "lab-pass")
    b = await collectives(
        "collective-b.test",
        quoalise_jid=f"{gateway}/proxy",
        quoalise_password="gw-pass",
        quoalise_host=prosody.host,
        quoalise_port=prosody.port,
        quoalise_ca_file=prosody.ca_file,
        quoalise_peer_jids={reader_jid: PEER},
    )
    assert b.runtime.quoalise is not None
    pool = b.runtime.pool
    consent = await seed(pool)
    await b.runtime.repository.upsert_peer(
        Peer(
            domain=PEER,
            base_url="https://peer.localhost",
            fingerprints=("quoalise-only-no-key",),
            grant=PeerGrant(
                domain=PEER,
                territories=frozenset({COMMUNE}),
                levels=frozenset({"neighbourhood"}),
                buckets=frozenset({"P1D"}),
                series=True,
            ),
        )
    )
    xmpp = make_client(f"{reader_jid}/r", "lab-pass", ca_file=prosody.ca_file)
    await connect(xmpp, prosody.host, prosody.port)
    try:
        reader = QuoaliseReader(xmpp, wait_s=10)
        agg = await reader.get_history(
            f"{gateway}/proxy", AGGREGATE, DAY0, DAY0 + timedelta(days=2)
        )
        assert [(r.time, r.value) for r in agg.records] == [(DAY0, 120_000.0)]
        assert agg.meta is not None
        assert agg.meta["measurement"]["aggregation"] == "sum"
        series = await reader.get_history(
            f"{gateway}/proxy", SERIES, DAY0, DAY0 + timedelta(days=2)
        )
        assert [r.value for r in series.records] == [8000.0, 8001.0]
        logged = await pool.fetchval(
            "SELECT count(*) FROM api_access_log WHERE consent_id = $1::uuid", consent
        )
        assert logged == 1
        await pool.execute(
            "UPDATE consents SET revoked_at = now() WHERE consent_id = $1::uuid",
            consent,
        )
        with pytest.raises(QuoaliseRefused) as refusal:
            await reader.get_history(
                f"{gateway}/proxy", SERIES, DAY0, DAY0 + timedelta(days=2)
            )
        assert refusal.value.condition == "not-authorized"
        assert PRM in str(refusal.value)
    finally:
        xmpp.disconnect()
