"""The authorisation port on the real consent registry (table consents)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ingest_sge.repository.authorisations import SGE_PURPOSE, PostgresAuthorisations

pytestmark = pytest.mark.integration

PRM = "25162373298976"
NOW = datetime(2026, 11, 23, 9, tzinfo=UTC)


async def _consent(
    pool, purpose: str, starts: datetime, expires: datetime, verification="verified"
) -> str:
    person = await pool.fetchval(
        "INSERT INTO people (display_name, email) VALUES ('Ville', 'mairie@example.org') "
        "ON CONFLICT (email) DO UPDATE SET display_name = excluded.display_name "
        "RETURNING person_id"
    )
    await pool.execute(
        "INSERT INTO meters (meter_id, scheme, energy, direction, sector) VALUES "
        "($1, 'prm', 'electricity', 'consumption', 'professional') ON CONFLICT DO NOTHING",
        PRM,
    )
    return str(
        await pool.fetchval(
            "INSERT INTO consents (person_id, meter_id, purpose, source, starts_at, "
            "expires_at, verification, verified_at, verified_by) VALUES "
            "($1, $2, $3, 'enedis', $4::timestamptz, $5, $6::text, "
            "CASE WHEN $6::text = 'verified' THEN $4::timestamptz END, "
            "CASE WHEN $6::text = 'verified' THEN 'test' END) RETURNING consent_id",
            person,
            PRM,
            purpose,
            starts,
            expires,
            verification,
        )
    )


async def test_live_sge_consent_is_found_and_a_refusal_revokes_it(pg_pool):
    registry = PostgresAuthorisations(pg_pool)
    assert await registry.authorisation(PRM, NOW) is None
    # another purpose (Data Connect) does not authorise SGE calls
    await _consent(pg_pool, "enedis-dataconnect-collection", NOW - timedelta(days=1), NOW + timedelta(days=30))  # fmt: skip
    assert await registry.authorisation(PRM, NOW) is None
    # a consent whose holder is not proven yet authorises nothing
    await _consent(pg_pool, SGE_PURPOSE, NOW - timedelta(days=1), NOW + timedelta(days=30), "pending")  # fmt: skip
    assert await registry.authorisation(PRM, NOW) is None
    consent = await _consent(pg_pool, SGE_PURPOSE, NOW - timedelta(days=1), NOW + timedelta(days=30))  # fmt: skip
    found = await registry.authorisation(PRM, NOW)
    assert found is not None
    assert found.consent_id == consent
    assert await registry.authorisation(PRM, NOW + timedelta(days=31)) is None

    await registry.refused(consent, NOW)
    assert await registry.authorisation(PRM, NOW) is None
    assert await registry.authorisation(PRM, NOW - timedelta(hours=1)) is not None
    revoked = await pg_pool.fetchval(
        "SELECT revoked_at FROM consents WHERE consent_id = $1::uuid", consent
    )
    assert revoked == NOW
