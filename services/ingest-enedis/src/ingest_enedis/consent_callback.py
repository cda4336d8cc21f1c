"""Consent helpers: the Enedis consent redirect and its callback.

The resident (``people.person_id``) is sent to the Enedis consent page with a
``state`` we choose; Enedis redirects back with ``usage_point_id`` (one PRM or
several joined by ``;``). The api serves that callback in the resident's session
and records the consents through :mod:`energy_store.consent_registry`, as
:func:`record_callback` does here (for scripts and tests); the collector resumes
a PRM an upstream revocation had stopped as soon as it sees a newer consent.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from energy_core.dataconnect import authorize_url
from energy_store.consent_registry import (
    ENEDIS_PURPOSE,
    RecordedConsent,
    parse_usage_points,
    record_prm_consents,
)

PURPOSE = ENEDIS_PURPOSE
__all__ = ["PURPOSE", "authorize_url", "record_callback"]
"""``authorize_url`` is :func:`energy_core.dataconnect.authorize_url`, the builder
the api uses too (re-exported for scripts and tests that drive the consent page)."""


async def record_callback(
    pool: asyncpg.Pool,
    *,
    person_id: str,
    usage_point_id: str,
    now: datetime,
    duration: str = "P3Y",
    purpose: str = PURPOSE,
    verified_by: str | None = None,
) -> list[RecordedConsent]:
    """Stores the consents of an Enedis callback, creating unplaced meters if needed.

    They are pending (collected only once :mod:`ingest_enedis.verifier` or an
    operator verified them) unless ``verified_by`` says who already did (scripts,
    benches and tests that play the operator)."""
    prms = parse_usage_points(usage_point_id)
    async with pool.acquire() as conn, conn.transaction():
        return await record_prm_consents(
            conn,
            person_id=person_id,
            prms=prms,
            now=now,
            duration=duration,
            purpose=purpose,
            verified_by=verified_by,
        )
