"""Consents of residents to the collection of their meters' data.

Shared by the two packages that record them: the api, which serves the Enedis
consent callback in the resident's session, and ingest-enedis
(``consent_callback.record_callback``, for scripts and tests). Neither imports the other;
both write the ``consents`` table of migration 0001 through these functions. An
upstream revocation is recorded by ingest-enedis itself (``cursor.stop_prm``).

A consent is ``[starts_at, expires_at)``, at most three years (Enedis' maximum
``duration``, also a CHECK of the table); ``revoked_at`` ends it early.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from energy_core.dataconnect import duration_months
from energy_core.domain import Prm
from energy_core.domain.time import shift_months
from energy_core.errors import InvalidValueError

ENEDIS_PURPOSE = "enedis-dataconnect-collection"


def parse_usage_points(raw: str) -> list[Prm]:
    """``"a;b"`` (or ``,``-separated, as some callbacks do) -> validated PRMs, once each."""
    prms = [Prm(p.strip()) for p in re.split(r"[;,]", raw) if p.strip()]
    if not prms:
        raise InvalidValueError("usage_point_id", raw, "at least one 14-digit PRM")
    return list(dict.fromkeys(prms))


@dataclass(frozen=True, slots=True)
class RecordedConsent:
    """One consent row created for one PRM."""

    consent_id: str
    meter_id: str
    starts_at: datetime
    expires_at: datetime
    created_meter: bool
    """True when the PRM was unknown: it is now an unplaced meter (no building)."""


async def record_prm_consents(
    conn: asyncpg.Connection,
    *,
    person_id: str,
    prms: Sequence[Prm],
    now: datetime,
    duration: str = "P3Y",
    purpose: str = ENEDIS_PURPOSE,
) -> list[RecordedConsent]:
    """One consent per PRM from ``now`` for ``duration``, in the caller's transaction.

    An unknown PRM becomes an unplaced ``meters`` row (consumption, residential
    until customers v5 says more) that an operator or ingest-enedis places later.
    """
    if now.tzinfo is None:
        raise InvalidValueError("now", now, "timezone-aware")
    expires = shift_months(now, duration_months(duration))
    recorded: list[RecordedConsent] = []
    for prm in prms:
        created = await conn.fetchval(
            """INSERT INTO meters (meter_id, scheme, energy, direction, sector)
               VALUES ($1, 'prm', 'electricity', 'consumption', 'residential')
               ON CONFLICT (meter_id) DO NOTHING RETURNING true""",
            str(prm),
        )
        consent_id = await conn.fetchval(
            """INSERT INTO consents (person_id, meter_id, purpose, source,
                   starts_at, expires_at)
               VALUES ($1::uuid, $2, $3, 'enedis', $4, $5) RETURNING consent_id""",
            person_id,
            str(prm),
            purpose,
            now,
            expires,
        )
        recorded.append(
            RecordedConsent(str(consent_id), str(prm), now, expires, bool(created))
        )
    return recorded
