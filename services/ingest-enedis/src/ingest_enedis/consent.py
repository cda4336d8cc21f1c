"""Consent helpers the api calls: the Enedis consent redirect and its callback.

The resident (``people.person_id``) is sent to the Enedis consent page with a
``state`` we choose; Enedis redirects back with ``usage_point_id`` (one PRM or
several joined by ``;``). Each PRM gets a consent row (start, expiry, purpose)
and, if unknown, an unplaced meter row (``meters.building_id`` NULL). A new
consent resumes the collection of a PRM that an upstream revocation had stopped.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

import asyncpg

from energy_core.domain import Prm
from energy_core.errors import InvalidValueError
from ingest_enedis import cursor

_DURATION = re.compile(r"P(?:(\d+)Y)?(?:(\d+)M)?")
PURPOSE = "enedis-dataconnect-collection"


def duration_months(duration: str) -> int:
    """``P3Y`` -> 36, ``P1Y4M`` -> 16; refuses more than three years."""
    match = _DURATION.fullmatch(duration)
    if not match or not any(match.groups()):
        raise InvalidValueError("duration", duration, "ISO 8601 PnYnM, e.g. P3Y")
    months = int(match.group(1) or 0) * 12 + int(match.group(2) or 0)
    if not 0 < months <= 36:
        raise InvalidValueError("duration", duration, "between 1 month and P3Y")
    return months


def new_state() -> str:
    """A random ``state`` (<= 100 characters) to bind the callback to the request."""
    return secrets.token_urlsafe(24)


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


def parse_usage_points(raw: str) -> list[Prm]:
    """``"a;b"`` (or ``,``-separated) -> validated PRMs, duplicates removed."""
    prms = [Prm(p.strip()) for p in re.split(r"[;,]", raw) if p.strip()]
    if not prms:
        raise InvalidValueError("usage_point_id", raw, "at least one 14-digit PRM")
    return list(dict.fromkeys(prms))


@dataclass(frozen=True, slots=True)
class RecordedConsent:
    """One consent row created by a callback."""

    consent_id: str
    meter_id: str
    starts_at: datetime
    expires_at: datetime
    created_meter: bool


def _add_months(moment: datetime, months: int) -> datetime:
    year, month = divmod(moment.month - 1 + months, 12)
    return moment.replace(
        year=moment.year + year, month=month + 1, day=min(moment.day, 28)
    )


async def record_callback(
    pool: asyncpg.Pool,
    *,
    person_id: str,
    usage_point_id: str,
    now: datetime,
    duration: str = "P3Y",
    purpose: str = PURPOSE,
) -> list[RecordedConsent]:
    """Stores the consents of an Enedis callback, creating unplaced meters if needed."""
    prms = parse_usage_points(usage_point_id)
    expires = _add_months(now, duration_months(duration))
    recorded: list[RecordedConsent] = []
    async with pool.acquire() as conn, conn.transaction():
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
        # a PRM stopped by an upstream revocation (ADAM-DC-0008) is collected again
        await cursor.resume_after_consent(conn, [str(p) for p in prms])
    return recorded


async def revoke(pool: asyncpg.Pool, meter_ids: Sequence[str], now: datetime) -> int:
    """Marks live consents of these meters revoked (the api's 'withdraw' button)."""
    result: str = await pool.execute(
        """UPDATE consents SET revoked_at = greatest($2, starts_at)
           WHERE meter_id = ANY($1::text[]) AND revoked_at IS NULL""",
        list(meter_ids),
        now,
    )
    return int(result.split()[-1])
