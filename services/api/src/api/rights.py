"""Residents' rights: withdraw a consent, delete readings, export everything, erase.

What each right does to the data, and why:

* **Withdraw** sets ``consents.revoked_at`` (never in the past of the consent's
  start, a CHECK of the table). Everything downstream already follows that column:
  the api's gate (``queries.METER_FOR``) hides the meter at once, shares of it
  stop with the owner's consent (and are revoked too, so a later consent does not
  revive them), and ingest-enedis asks Data Connect only for PRMs with a live
  consent (``ingest_enedis.cursor.consented_prms``, read at every cycle), so
  collection stops at its next cycle without any message to lose.
* **Delete readings** removes the raw readings of the delivery point, unless
  another person holds a live consent on it (they are then that person's data
  too: refused with 409, nothing deleted). Rollups are deliberately left as they
  were. They are aggregates that only leave behind the secrecy rule; subtracting
  a home from yesterday's published totals would *publish* that home's values by
  difference (before minus after). The aggregator's per-meter day and month
  totals (its working state for deltas and for the largest-point recompute, never
  served) are kept for the same reason. A deleted interval imported again would
  be counted twice (the store would see it as new); ingest-enedis never asks
  again for days its cursor passed, so collection does not do that.
* **Export** is a zip of JSON and CSV: the account, consents, occupancy rows when
  that table exists, meters, the readings of the meters the resident may read as
  holder of a live consent, the access log and the rights ledger.
* **Erase** deletes the person (``people``), which cascades to the account,
  sessions, consents, shares, webhooks and every access-log row about them; the
  readings of delivery points they were the only consent holder of are deleted
  first (as above), so what remains of them is only inside rollups. The rights
  ledger keeps the fact (``person_id`` NULL).

Every right exercised goes to ``api_rights_requests`` (migration ``1202_api_rights``).
"""

from __future__ import annotations

import csv
import io
import json
import uuid
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from api import access_log
from api.auth import Principal
from energy_store import sge_sites
from energy_store.consent_registry import acting_as

CONSENTS = """
SELECT c.consent_id, c.meter_id, c.purpose, c.scope, c.source, c.grantee,
       c.starts_at, c.expires_at, c.revoked_at, c.created_at,
       CASE WHEN c.revoked_at IS NOT NULL THEN 'withdrawn'
            WHEN c.expires_at <= now() THEN 'expired'
            WHEN c.verification = 'rejected' THEN 'rejected'
            -- not yet verified (or held for an operator: not said why, it would
            -- tell a forger that a neighbour holds the PRM) grants nothing yet
            WHEN c.starts_at > now() OR c.verification <> 'verified' THEN 'pending'
            ELSE 'live' END AS status
FROM consents c WHERE c.person_id = $1
ORDER BY c.created_at DESC, c.consent_id
"""


class ReadingsShared(Exception):
    """The readings are also covered by another person's live consent."""


@dataclass(frozen=True, slots=True)
class Withdrawal:
    consent_id: uuid.UUID
    meter_id: str
    withdrawn_at: datetime
    readings_deleted: int


async def consents_of(conn: asyncpg.Connection, person_id: uuid.UUID) -> list[Any]:
    """Every consent of the person, whatever its state, newest first."""
    rows: list[Any] = await conn.fetch(CONSENTS, person_id)
    return rows


async def _delete_readings(
    conn: asyncpg.Connection, person_id: uuid.UUID, meter_id: str
) -> int:
    """Deletes the meter's readings of the person's own period, if no one else
    holds a live verified consent on it.

    Only readings the person could read are theirs to delete: a consent never
    verified (a PRM typed into the callback) deletes nothing, and a delivery
    point's readings go only inside the person's occupancies (a previous or next
    occupant's stay). A pending or held consent of someone else does not block it.
    """
    others = await conn.fetchval(
        """SELECT count(*) FROM consents c
            WHERE c.meter_id = $1 AND c.person_id <> $2 AND c.starts_at <= now()
              AND c.expires_at > now() AND c.revoked_at IS NULL
              AND c.verification = 'verified'""",
        meter_id,
        person_id,
    )
    if others:
        raise ReadingsShared(meter_id)
    result: str = await conn.execute(
        """DELETE FROM readings r USING series s, meters m
           WHERE r.series_id = s.series_id AND s.meter_id = $1 AND m.meter_id = $1
             AND EXISTS (SELECT 1 FROM consents c WHERE c.person_id = $2
                         AND c.meter_id = $1 AND c.verification = 'verified')
             AND (m.scheme NOT IN ('prm', 'pce')
                  OR EXISTS (SELECT 1 FROM occupancies o
                             WHERE o.person_id = $2 AND o.delivery_point_id = $1
                               AND r.start_ts >= o.starts_at
                               AND (o.ends_at IS NULL OR r.end_ts <= o.ends_at)))""",
        meter_id,
        person_id,
    )
    return int(result.split()[-1])


async def withdraw(
    conn: asyncpg.Connection,
    person_id: uuid.UUID,
    consent_id: uuid.UUID,
    *,
    delete_readings: bool,
) -> Withdrawal | None:
    """Withdraws one of the person's consents (idempotent); None if not theirs.

    With ``delete_readings`` the meter's readings go too (also on a consent that
    was already withdrawn: deletion may be asked later). Raises
    :class:`ReadingsShared` (and changes nothing) when another person's live
    consent covers the same meter.
    """
    async with conn.transaction():
        await acting_as(conn, f"resident:{person_id}")  # the audit trigger's actor
        row = await conn.fetchrow(
            """SELECT consent_id, meter_id, revoked_at FROM consents
               WHERE consent_id = $1 AND person_id = $2 FOR UPDATE""",
            consent_id,
            person_id,
        )
        if row is None:
            return None
        withdrawn_at: datetime = row["revoked_at"] or await conn.fetchval(
            """UPDATE consents SET revoked_at = greatest(now(), starts_at)
               WHERE consent_id = $1 RETURNING revoked_at""",
            consent_id,
        )
        if row["revoked_at"] is None:
            await conn.execute(
                """UPDATE api_meter_shares SET revoked_at = now()
                   WHERE owner_person_id = $1 AND meter_id = $2
                     AND revoked_at IS NULL""",
                person_id,
                row["meter_id"],
            )
            await _ledger(conn, "withdraw", person_id, consent_id)
        deleted = 0
        if delete_readings:
            deleted = await _delete_readings(conn, person_id, row["meter_id"])
            await _ledger(conn, "delete_readings", person_id, consent_id, deleted)
    return Withdrawal(consent_id, row["meter_id"], withdrawn_at, deleted)


async def _ledger(
    conn: asyncpg.Connection,
    kind: str,
    person_id: uuid.UUID | None,
    consent_id: uuid.UUID | None = None,
    deleted: int = 0,
) -> None:
    await conn.execute(
        """INSERT INTO api_rights_requests (kind, person_id, consent_id,
               readings_deleted) VALUES ($1, $2, $3, $4)""",
        kind,
        person_id,
        consent_id,
        deleted,
    )


async def erase(conn: asyncpg.Connection, person_id: uuid.UUID) -> int:
    """Erases the person and everything attributable to them; readings deleted.

    Readings of a delivery point another person holds a live consent on are kept
    (they are that person's data); they no longer say anything about the erased
    person, whose consents are gone.
    """
    async with conn.transaction():
        meters = await conn.fetch(
            "SELECT DISTINCT meter_id FROM consents WHERE person_id = $1", person_id
        )
        deleted = 0
        for meter in meters:
            try:
                async with conn.transaction():
                    deleted += await _delete_readings(
                        conn, person_id, meter["meter_id"]
                    )
            except ReadingsShared:
                continue
        await _ledger(conn, "erase", person_id, None, deleted)
        # people cascades to api_accounts (sessions, webhooks), consents, shares,
        # the access log about them; the ledger row just written keeps the fact.
        await conn.execute("DELETE FROM people WHERE person_id = $1", person_id)
    return deleted


def _json(rows: Any) -> str:
    return json.dumps(
        [dict(r) for r in rows] if isinstance(rows, list) else rows,
        default=str,
        indent=1,
        ensure_ascii=False,
    )


async def _occupancy(conn: asyncpg.Connection, person_id: uuid.UUID) -> list[Any]:
    """Occupancy rows of the person (migration 0005), as JSON text decoded here
    whatever codec the pool has for jsonb."""
    rows = await conn.fetch(
        "SELECT to_jsonb(o)::text AS row FROM occupancies o WHERE o.person_id = $1 "
        "ORDER BY o.starts_at",
        person_id,
    )
    return [json.loads(r["row"]) for r in rows]


# Through the same rule as every individual read (``meter_access``: a live verified
# consent and the person's occupancy): the archive never holds a previous
# occupant's readings, nor any of a PRM claimed but not verified.
_READINGS = """
WITH w AS MATERIALIZED (SELECT meter_id, from_ts, until_ts FROM meter_access($1, now()))
SELECT s.meter_id, s.urn, s.direction, s.kind, s.dimension, s.unit, s.channel,
       s.period, r.start_ts, r.end_ts, r.value, r.quality
FROM series s JOIN readings r USING (series_id)
WHERE s.meter_id = ANY($2::text[])
  AND EXISTS (SELECT 1 FROM w WHERE w.meter_id = s.meter_id
              AND r.start_ts >= w.from_ts AND r.end_ts <= w.until_ts)
ORDER BY s.meter_id, s.series_id, r.start_ts
"""


async def export(conn: asyncpg.Connection, user: Principal) -> bytes:
    """The archive of everything the api holds about the resident (zip bytes).

    Readings are those of meters the resident reads as the holder of a live
    consent, as on their dashboard; each such read is written to the access log
    like any other (route ``/v1/me/export``).
    """
    person_id = user.person_id
    if person_id is None:
        raise ValueError("export is for residents")
    account = await conn.fetchrow(
        """SELECT a.account_id, a.email, a.role, a.created_at, p.person_id,
                  p.display_name, p.email AS person_email, p.created_at AS person_since
           FROM api_accounts a JOIN people p USING (person_id)
           WHERE a.account_id = $1""",
        user.account_id,
    )
    consents = await consents_of(conn, person_id)
    meters = await conn.fetch(
        """SELECT DISTINCT m.meter_id, m.scheme, m.energy, m.direction, m.sector,
                   m.building_id, b.address, b.iris,
                   EXISTS (SELECT 1 FROM meter_access($1, now()) a
                           WHERE a.meter_id = m.meter_id) AS readable
            FROM consents c0 JOIN meters m USING (meter_id)
            LEFT JOIN buildings b USING (building_id)
            WHERE c0.person_id = $1 ORDER BY m.meter_id""",
        person_id,
    )
    readable = [m["meter_id"] for m in meters if m["readable"]]
    for meter_id in readable:
        await access_log.record(conn, user, meter_id)
    shares = await conn.fetch(
        """SELECT s.meter_id, s.starts_at, s.expires_at, s.revoked_at,
                  g.display_name AS shared_with
           FROM api_meter_shares s JOIN people g ON g.person_id = s.grantee_person_id
           WHERE s.owner_person_id = $1 ORDER BY s.meter_id""",
        person_id,
    )
    log = await access_log.entries_about(conn, person_id, limit=1_000_000, offset=0)
    ledger = await conn.fetch(
        """SELECT kind, at, consent_id, readings_deleted FROM api_rights_requests
           WHERE person_id = $1 ORDER BY at""",
        person_id,
    )
    readings = io.StringIO()
    writer = csv.writer(readings)
    writer.writerow(
        ["meter_id", "series", "direction", "kind", "dimension", "unit", "channel",
         "period", "start", "end", "value", "quality"]
    )  # fmt: skip
    for r in await conn.fetch(_READINGS, person_id, readable):
        writer.writerow(
            [r["meter_id"], r["urn"], r["direction"], r["kind"], r["dimension"],
             r["unit"], r["channel"], r["period"], r["start_ts"].isoformat(),
             r["end_ts"].isoformat(), repr(r["value"]), r["quality"]]
        )  # fmt: skip
    sge = [dict(r) for r in await sge_sites.mine(conn, person_id=person_id)]
    await _ledger(conn, "export", person_id)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "README.txt",
            "SEN1: everything held about you.\n"
            "account.json, consents.json, occupancy.json, meters.json, shares.json,\n"
            "readings.csv (start/end: aware ISO 8601 instants, [start, end);\n"
            "value in the canonical unit of the series: Wh, W, VA or m3;\n"
            "quality 0 estimated, 1 raw, 2 corrected), access_log.json (who read\n"
            "your data, under which consent), rights_requests.json,\n"
            "sge_sites.json (the SGE sites you registered and their state).\n",
        )
        archive.writestr("account.json", _json(dict(account) if account else {}))
        archive.writestr("consents.json", _json(consents))
        archive.writestr("occupancy.json", _json(await _occupancy(conn, person_id)))
        archive.writestr("meters.json", _json(meters))
        archive.writestr("shares.json", _json(shares))
        archive.writestr("readings.csv", readings.getvalue())
        archive.writestr("access_log.json", _json(log))
        archive.writestr("rights_requests.json", _json(ledger))
        archive.writestr("sge_sites.json", _json(sge))
    return out.getvalue()
