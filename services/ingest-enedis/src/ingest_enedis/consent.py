"""Consent helpers: the Enedis consent redirect and its callback.

The resident (``people.person_id``) is sent to the Enedis consent page with a
``state`` we choose; Enedis redirects back with ``usage_point_id`` (one PRM or
several joined by ``;``). The api serves that callback in the resident's session
and records the consents through :mod:`energy_store.consents`, as
:func:`record_callback` does here (for scripts and tests); the collector resumes
a PRM an upstream revocation had stopped as soon as it sees a newer consent.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

import asyncpg

from energy_core.errors import InvalidValueError
from energy_store.consents import (
    ENEDIS_PURPOSE,
    RecordedConsent,
    duration_months,
    parse_usage_points,
    record_prm_consents,
)

PURPOSE = ENEDIS_PURPOSE


def authorize_url(
    authorize_endpoint: str,
    *,
    client_id: str,
    redirect_uri: str,
    state: str,
    duration: str = "P3Y",
) -> str:
    """The Enedis consent page URL to redirect the resident's browser to."""
    duration_months(duration)
    if not 0 < len(state) <= 100:
        raise InvalidValueError("state", state, "1 to 100 characters")
    query = urlencode(
        {
            "client_id": client_id,
            "response_type": "code",
            "state": state,
            "duration": duration,
            "redirect_uri": redirect_uri,
        }
    )
    return f"{authorize_endpoint}?{query}"


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
