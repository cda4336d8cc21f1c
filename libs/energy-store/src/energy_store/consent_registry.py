"""Consents of residents to the collection of their meters' data, and occupancies.

Shared by the packages that write them: the api, which serves the Enedis consent
callback in the resident's session and the operator's decisions, and ingest-enedis
(which verifies pending consents against Data Connect customers v5, and
``consent_callback.record_callback`` for scripts and tests). Neither imports the other; both
write the ``consents`` and ``occupancies`` tables (migrations 0001, 0004, 0005)
through these functions. An upstream revocation is recorded by ingest-enedis itself
(``cursor.stop_prm``).

A consent is ``[starts_at, expires_at)``, at most three years (Enedis' maximum
``duration``, also a CHECK of the table); ``revoked_at`` ends it early. It is
recorded ``pending`` and grants nothing until it is ``verified`` (migration 0004):
the callback's ``usage_point_id`` is typed by the browser, so it proves nothing.
Every change is audited by a database trigger; :func:`acting_as` names the actor.
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
    verification: str = "pending"


async def record_prm_consents(
    conn: asyncpg.Connection,
    *,
    person_id: str,
    prms: Sequence[Prm],
    now: datetime,
    duration: str = "P3Y",
    purpose: str = ENEDIS_PURPOSE,
    verified_by: str | None = None,
) -> list[RecordedConsent]:
    """One consent per PRM from ``now`` for ``duration``, in the caller's transaction.

    The consents are ``pending`` (they grant nothing) unless ``verified_by`` names
    who already proved the holder (scripts, benches and tests that play the
    operator); the audit trigger records either. An unknown PRM becomes an
    unplaced ``meters`` row (consumption, residential until customers v5 says
    more) that an operator or ingest-enedis places later.
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
                   starts_at, expires_at, verification, verified_at, verified_by)
               VALUES ($1::uuid, $2, $3, 'enedis', $4, $5,
                       CASE WHEN $6::text IS NULL THEN 'pending' ELSE 'verified' END,
                       CASE WHEN $6::text IS NULL THEN NULL ELSE $4::timestamptz END,
                       $6)
               RETURNING consent_id""",
            person_id,
            str(prm),
            purpose,
            now,
            expires,
            verified_by,
        )
        recorded.append(
            RecordedConsent(
                str(consent_id),
                str(prm),
                now,
                expires,
                bool(created),
                "pending" if verified_by is None else "verified",
            )
        )
    return recorded


async def acting_as(conn: asyncpg.Connection, actor: str) -> None:
    """Names who acts for the audit trigger, until the end of the transaction
    (``operator:<account>``, ``ingest-enedis``, ``resident:<person>``)."""
    await conn.execute("SELECT set_config('sen1.actor', $1, true)", actor)


class HeldByAnotherError(Exception):
    """The delivery point is held (verified consent or occupancy) by someone else."""


VERIFICATIONS = frozenset({"verified", "to_verify", "rejected"})


async def decide(
    conn: asyncpg.Connection,
    *,
    consent_id: str,
    verification: str,
    by: str,
    reason: str | None,
    now: datetime,
) -> bool:
    """Moves a consent out of ``pending``/``to_verify``; False if it was not there.

    Runs in a savepoint: when ``verified`` would give the meter a second holder
    the database's exclusion constraint refuses it and :class:`HeldByAnotherError`
    is raised with nothing changed (the caller flags it for an operator instead).
    """
    if verification not in VERIFICATIONS:
        raise InvalidValueError(
            "verification", verification, "verified, to_verify or rejected"
        )
    try:
        async with conn.transaction():
            done: str = await conn.execute(
                """UPDATE consents SET verification = $2, verification_reason = $3,
                       verified_by = $4,
                       verified_at = CASE WHEN $2 = 'to_verify' THEN NULL
                                         ELSE $5::timestamptz END
                   WHERE consent_id = $1::uuid
                     AND verification IN ('pending', 'to_verify')""",
                consent_id,
                verification,
                reason,
                by,
                now,
            )
    except asyncpg.ExclusionViolationError as exc:
        raise HeldByAnotherError(consent_id) from exc
    return done.endswith(" 1")


async def held_by_another(
    conn: asyncpg.Connection, *, person_id: str, meter_id: str, now: datetime
) -> bool:
    """Whether someone else holds the delivery point now: a live verified consent
    on it, or an occupancy that covers ``now``."""
    return bool(
        await conn.fetchval(
            """SELECT EXISTS (SELECT 1 FROM consents
                   WHERE meter_id = $2 AND person_id <> $1::uuid
                     AND verification = 'verified' AND revoked_at IS NULL
                     AND starts_at <= $3 AND expires_at > $3)
               OR EXISTS (SELECT 1 FROM occupancies
                   WHERE delivery_point_id = $2 AND person_id <> $1::uuid
                     AND starts_at <= $3 AND (ends_at IS NULL OR ends_at > $3))""",
            person_id,
            meter_id,
            now,
        )
    )


async def open_occupancy(
    conn: asyncpg.Connection,
    *,
    person_id: str,
    delivery_point_id: str,
    starts_at: datetime,
    source: str,
) -> bool:
    """Records that the person occupies the point from ``starts_at`` (open-ended),
    unless an occupancy of theirs already covers that instant. False when it was
    already covered. Raises :class:`HeldByAnotherError` when another occupancy
    overlaps (the database's exclusion constraint), with nothing changed."""
    if starts_at.tzinfo is None:
        raise InvalidValueError("starts_at", starts_at, "timezone-aware")
    covered = await conn.fetchval(
        """SELECT EXISTS (SELECT 1 FROM occupancies WHERE person_id = $1::uuid
               AND delivery_point_id = $2 AND starts_at <= $3
               AND (ends_at IS NULL OR ends_at > $3))""",
        person_id,
        delivery_point_id,
        starts_at,
    )
    if covered:
        return False
    try:
        async with conn.transaction():
            await conn.execute(
                """INSERT INTO occupancies (person_id, delivery_point_id, starts_at,
                       source) VALUES ($1::uuid, $2, $3, $4)""",
                person_id,
                delivery_point_id,
                starts_at,
                source,
            )
    except asyncpg.ExclusionViolationError as exc:
        raise HeldByAnotherError(delivery_point_id) from exc
    return True


async def end_holding(
    conn: asyncpg.Connection,
    *,
    delivery_point_id: str,
    moved_out_at: datetime,
    now: datetime,
) -> int:
    """The current holders of a point moved out at ``moved_out_at``: their open
    occupancies end then and their live consents on it are revoked (audited by
    the trigger) at ``now``. Returns how many consents were revoked. Used by an operator who
    resolves a "held by another" flag for a new occupant."""
    await conn.execute(
        """UPDATE occupancies SET ends_at = greatest($2, starts_at + interval '1 second')
           WHERE delivery_point_id = $1 AND (ends_at IS NULL OR ends_at > $2)""",
        delivery_point_id,
        moved_out_at,
    )
    done: str = await conn.execute(
        """UPDATE consents SET revoked_at = greatest($2, starts_at)
           WHERE meter_id = $1 AND revoked_at IS NULL
             AND verification = 'verified'""",
        delivery_point_id,
        now,
    )
    return int(done.split()[-1])
