"""What ingest-enedis has collected, per PRM and stream (its own tables, asyncpg).

``fetched_until`` (exclusive local day) only moves after the window's batch was
published and acknowledged by the broker, together with the window's missing days
written to ``enedis_holes`` (one transaction); a crash between the two re-asks the
window (at-least-once, the store's upsert makes the replay a no-op). Days before
the activation or consent start are not holes: they do not exist for us, and
``history_from`` says where the collected history begins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import asyncpg

from energy_store.consent_registry import acting_as
from ingest_enedis.mapping import Contract
from ingest_enedis.streams import Stream

MAX_HOLE_ATTEMPTS = 8


@dataclass(frozen=True, slots=True)
class Cursor:
    """Collection state of one stream of one PRM."""

    history_from: date
    fetched_until: date
    stopped_reason: str | None


async def consented_prms(conn: asyncpg.Connection, now: datetime) -> list[str]:
    """PRMs with a live verified consent (started, not expired, not revoked): a
    pending one proves nothing and is never collected.

    In the order a cycle collects them: round-robin over the neighbourhoods (the
    first PRM of each IRIS, then the second of each, ...; unplaced PRMs last,
    then by PRM). A backfill then fills every neighbourhood at the same pace, so
    a city's map and its neighbourhood aggregates (which need a threshold of
    delivery points per IRIS) have data everywhere long before the last PRM is
    done, instead of one neighbourhood after the other."""
    rows = await conn.fetch(
        """SELECT meter_id FROM (
             SELECT p.meter_id, p.iris,
                    row_number() OVER (PARTITION BY p.iris ORDER BY p.meter_id) AS turn
             FROM (
               SELECT DISTINCT c.meter_id, b.iris
               FROM consents c JOIN meters m USING (meter_id)
               LEFT JOIN buildings b USING (building_id)
               WHERE m.scheme = 'prm' AND c.revoked_at IS NULL
                 AND c.verification = 'verified'
                 AND c.starts_at <= $1 AND c.expires_at > $1
             ) p
           ) ranked
           ORDER BY iris IS NULL, turn, iris, meter_id""",
        now,
    )
    return [r["meter_id"] for r in rows]


async def get(conn: asyncpg.Connection, prm: str, stream: Stream) -> Cursor | None:
    row = await conn.fetchrow(
        """SELECT history_from, fetched_until, stopped_reason FROM enedis_cursors
           WHERE meter_id = $1 AND stream = $2""",
        prm,
        stream.short,
    )
    return Cursor(**dict(row)) if row else None


async def start(
    conn: asyncpg.Connection, prm: str, stream: Stream, history_from: date
) -> Cursor:
    """Creates the cursor on first contact (or returns the existing one)."""
    await conn.execute(
        """INSERT INTO enedis_cursors (meter_id, stream, history_from, fetched_until)
           VALUES ($1, $2, $3, $3) ON CONFLICT DO NOTHING""",
        prm,
        stream.short,
        history_from,
    )
    cursor = await get(conn, prm, stream)
    assert cursor is not None  # noqa: S101 - just inserted
    return cursor


async def advance(
    conn: asyncpg.Connection,
    prm: str,
    stream: Stream,
    until: date,
    holes: Sequence[date],
    reason: str,
    retry_at: datetime,
    *,
    history_from: date | None = None,
) -> None:
    """Moves the cursor to ``until`` and records ``holes``, in one transaction."""
    async with conn.transaction():
        if holes:
            await record_holes(conn, prm, stream, holes, reason, retry_at)
        await conn.execute(
            """UPDATE enedis_cursors SET fetched_until = greatest(fetched_until, $3),
                  -- the first day that exists, while nothing was collected yet
                  history_from = CASE WHEN $4::date IS NOT NULL
                                       AND fetched_until <= history_from
                                      THEN greatest(history_from, $4::date)
                                      ELSE history_from END,
                  updated_at = now()
               WHERE meter_id = $1 AND stream = $2""",
            prm,
            stream.short,
            until,
            history_from,
        )


async def record_holes(
    conn: asyncpg.Connection,
    prm: str,
    stream: Stream,
    days: Sequence[date],
    reason: str,
    retry_at: datetime,
) -> None:
    """Records (or re-schedules) missing days; attempts count every miss."""
    await conn.executemany(
        """INSERT INTO enedis_holes (meter_id, stream, day, reason, next_attempt_at)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (meter_id, stream, day) DO UPDATE
             SET attempts = enedis_holes.attempts + 1, reason = EXCLUDED.reason,
                 next_attempt_at = EXCLUDED.next_attempt_at
             WHERE enedis_holes.resolved_at IS NULL""",
        [(prm, stream.short, d, reason, retry_at) for d in days],
    )


async def resolve_holes(
    conn: asyncpg.Connection,
    prm: str,
    stream: Stream,
    days: Sequence[date],
    reason: str | None = None,
) -> None:
    """Marks days as delivered, or, with a ``reason``, as holes that can never be
    filled (before activation or consent start): either way not asked again."""
    await conn.execute(
        """UPDATE enedis_holes SET resolved_at = now(), reason = coalesce($4, reason)
           WHERE meter_id = $1 AND stream = $2 AND day = ANY($3::date[])
             AND resolved_at IS NULL""",
        prm,
        stream.short,
        list(days),
        reason,
    )


async def stop_stream(
    conn: asyncpg.Connection, prm: str, stream: Stream, reason: str
) -> None:
    """Stops one stream of a PRM (e.g. production asked of a consumption point)."""
    await conn.execute(
        "UPDATE enedis_cursors SET stopped_reason = $3, updated_at = now() "
        "WHERE meter_id = $1 AND stream = $2",
        prm,
        stream.short,
        reason,
    )


async def resume_reconsented(conn: asyncpg.Connection) -> int:
    """Lifts the revocation stop of PRMs that got a consent since they were stopped.

    The api records consents without knowing this service's tables; the collector
    calls this at the start of every cycle, so a resident who consents again is
    collected again at the next cycle (both times are the database's clock).
    """
    result: str = await conn.execute(
        """UPDATE enedis_cursors e SET stopped_reason = NULL, updated_at = now()
           WHERE e.stopped_reason = 'consent_revoked'
             AND EXISTS (SELECT 1 FROM consents c
                         WHERE c.meter_id = e.meter_id AND c.revoked_at IS NULL
                           AND c.verification = 'verified'
                           AND greatest(c.created_at, c.verified_at)
                               > e.updated_at)"""
    )
    return int(result.split()[-1])


async def due_holes(
    conn: asyncpg.Connection, prm: str, stream: Stream, now: datetime
) -> list[date]:
    """Open holes whose retry time has come (fewer than MAX_HOLE_ATTEMPTS tries)."""
    rows = await conn.fetch(
        """SELECT day FROM enedis_holes
           WHERE meter_id = $1 AND stream = $2 AND resolved_at IS NULL
             AND next_attempt_at <= $3 AND attempts < $4 ORDER BY day""",
        prm,
        stream.short,
        now,
        MAX_HOLE_ATTEMPTS,
    )
    return [r["day"] for r in rows]


def hole_windows(days: Sequence[date], max_days: int) -> list[tuple[date, date]]:
    """Consecutive days grouped into ``[start, end)`` windows of at most max_days."""
    windows: list[tuple[date, date]] = []
    for day in sorted(days):
        if windows and windows[-1][1] == day and (day - windows[-1][0]).days < max_days:
            windows[-1] = (windows[-1][0], day + timedelta(days=1))
        else:
            windows.append((day, day + timedelta(days=1)))
    return windows


async def stop_prm(
    conn: asyncpg.Connection, prm: str, reason: str, now: datetime
) -> list[str]:
    """Stops every stream of a PRM and revokes its live verified consents (their
    ids): the ones it was collected under. A pending or held consent of someone
    else on the same PRM is not theirs to lose."""
    async with conn.transaction():
        await acting_as(conn, f"ingest-enedis:{reason}")
        await conn.execute(
            "UPDATE enedis_cursors SET stopped_reason = $2, updated_at = now() "
            "WHERE meter_id = $1",
            prm,
            reason,
        )
        rows = await conn.fetch(
            """UPDATE consents SET revoked_at = greatest($2, starts_at)
               WHERE meter_id = $1 AND revoked_at IS NULL
                 AND verification = 'verified' RETURNING consent_id""",
            prm,
            now,
        )
    return [str(r["consent_id"]) for r in rows]


async def save_usage_point(
    conn: asyncpg.Connection,
    prm: str,
    contract: Contract | None,
    address: dict[str, object] | None,
    placement: str,
) -> None:
    """Upserts what customers v5 said about a PRM."""
    c = contract
    a = address or {}
    await conn.execute(
        """INSERT INTO enedis_usage_points AS u (meter_id, subscribed_power_kva,
               distribution_tariff, offpeak_hours, contract_status,
               last_activation_date,
               insee_code, latitude, longitude, contract, address, placement)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
           ON CONFLICT (meter_id) DO UPDATE SET
               subscribed_power_kva = EXCLUDED.subscribed_power_kva,
               distribution_tariff = EXCLUDED.distribution_tariff,
               offpeak_hours = EXCLUDED.offpeak_hours,
               contract_status = EXCLUDED.contract_status,
               last_activation_date = EXCLUDED.last_activation_date,
               insee_code = EXCLUDED.insee_code, latitude = EXCLUDED.latitude,
               longitude = EXCLUDED.longitude, contract = EXCLUDED.contract,
               address = EXCLUDED.address, placement = EXCLUDED.placement,
               updated_at = now()""",
        prm,
        c.subscribed_power_kva if c else None,
        c.distribution_tariff if c else None,
        c.offpeak_hours if c else None,
        c.contract_status if c else None,
        c.last_activation_date if c else None,
        a.get("insee_code"),
        a.get("latitude"),
        a.get("longitude"),
        dict(c.raw) if c else None,
        a.get("raw"),
        placement,
    )
