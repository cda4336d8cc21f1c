"""SGE sites of a property manager or a city: registration, the worker's claims,
verification, withdrawal (table ``sge_sites``, migration 1504).

Shared by the two packages that write it, which never import each other: the api
records a registration (the customer's declared authorisation as a *pending*
consent of purpose :data:`SGE_PURPOSE`, plus one request per PRM) and a
withdrawal; ingest-sge claims requests, verifies them (:func:`verify`), enrols
the point in SGE and records the outcome. The why of a table rather than a
command topic is in the migration's docstring.

What stops a manager from enrolling other people's points (bulk forging):

- a registration grants nothing by itself: its consent is ``pending``;
- the worker verifies it only if no one else holds the point (a live verified
  consent of another person, or another occupancy overlapping the declared
  history: the database's exclusion constraints decide), else the site is
  ``refused`` with ``held_by_another`` and the consent ``rejected``;
- SGE checks the declared authorisation on its side; its refusal (SGT4K2,
  SGT566, SGT4G2) revokes the consent and the site shows ``refused``;
- limits per request and per account (:data:`MAX_PER_REQUEST`,
  :data:`MAX_LIVE_PER_PERSON`, :data:`MAX_REFUSED_PER_DAY`): a manager whose
  declarations keep being refused is stopped until an operator looks.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from energy_core.domain import Prm
from energy_core.errors import InvalidValueError
from energy_store.consent_registry import (
    HeldByAnotherError,
    acting_as,
    decide,
    held_by_another,
)

SGE_PURPOSE = "enedis-sge-collection"
"""The consents SGE calls need (``ingest_sge.repository.authorisations`` reads them)."""
SOURCE = "sge-declaration"
"""``consents.source`` of an authorisation declared by a registrant."""
OCCUPANCY_SOURCE = "sge-authorisation"
VERIFIER = "ingest-sge:declared-authorisation"
"""Who verifies a declared authorisation (audited as the consent's ``verified_by``)."""
MAX_PER_REQUEST = 200
"""PRMs in one registration."""
MAX_LIVE_PER_PERSON = 2000
"""Sites not refused nor withdrawn, per registrant."""
MAX_REFUSED_PER_DAY = 20
"""Sites refused in the last 24 h after which a registrant may register no more."""
HELD = "held_by_another"
"""Reason of a site refused because another person holds the point. Saying so is
an oracle (the point is held in SEN1) that refusing at all already is."""
LIVE = ("requested", "enrolling", "active", "failed", "withdrawing")
STATES = (*LIVE, "refused", "withdrawn")


@dataclass(frozen=True, slots=True)
class Declaration:
    """The customer's authorisation (``autorisationClient``/``accord``) as declared."""

    authorised_by: str
    """The customer who signed: a company's name or a person's name."""
    authoriser_kind: str
    """``legal`` (personne morale) or ``natural`` (personne physique)."""
    scope: str
    valid_from: datetime
    valid_until: datetime
    proof_reference: str
    """The reference of the signed mandate the registrant keeps (never the file)."""
    history_from: datetime | None = None
    """First instant of data the customer authorised (their tenure); None: from
    ``valid_from``."""

    def __post_init__(self) -> None:
        for name in ("valid_from", "valid_until", "history_from"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise InvalidValueError(name, value, "timezone-aware")
        if self.authoriser_kind not in ("legal", "natural"):
            raise InvalidValueError(
                "authoriser_kind", self.authoriser_kind, "legal or natural"
            )
        if self.valid_until <= self.valid_from:
            raise InvalidValueError("valid_until", self.valid_until, "after valid_from")
        if self.history_from is not None and self.history_from > self.valid_from:
            raise InvalidValueError(
                "history_from", self.history_from, "at or before valid_from"
            )


@dataclass(frozen=True, slots=True)
class Registered:
    """One PRM of a registration: its site row and whether it was new."""

    site_id: str
    meter_id: str
    state: str
    created: bool


async def register(
    conn: asyncpg.Connection,
    *,
    person_id: uuid.UUID,
    sites: Sequence[tuple[str, Sequence[Prm]]],
    declaration: Declaration,
    now: datetime,
) -> list[Registered]:
    """Records a pending consent and an enrolment request per PRM, in the caller's
    transaction. A PRM the person has a live site for already is not registered
    twice (its row is returned, ``created`` False). A PRM someone else holds now
    (a live verified consent or an occupancy) is recorded ``refused`` at once,
    with no consent written on it. An unknown PRM becomes an unplaced
    professional meter."""
    await acting_as(conn, f"resident:{person_id}")
    out: list[Registered] = []
    for name, prms in sites:
        for prm in dict.fromkeys(prms):
            existing = await conn.fetchrow(
                """SELECT site_id, state FROM sge_sites WHERE person_id = $1
                   AND meter_id = $2 AND state <> ALL($3::text[])""",
                person_id,
                str(prm),
                ["refused", "withdrawn"],
            )
            if existing is not None:
                out.append(
                    Registered(
                        str(existing["site_id"]), str(prm), existing["state"], False
                    )
                )
                continue
            await conn.execute(
                """INSERT INTO meters (meter_id, scheme, energy, direction, sector)
                   VALUES ($1, 'prm', 'electricity', 'consumption', 'professional')
                   ON CONFLICT (meter_id) DO NOTHING""",
                str(prm),
            )
            if await held_by_another(
                conn, person_id=str(person_id), meter_id=str(prm), now=now
            ):
                site_id = await conn.fetchval(
                    """INSERT INTO sge_sites (person_id, meter_id, name, authorised_by,
                           authoriser_kind, proof_reference, state, reason)
                       VALUES ($1, $2, $3, $4, $5, $6, 'refused', $7)
                       RETURNING site_id""",
                    person_id,
                    str(prm),
                    name,
                    declaration.authorised_by,
                    declaration.authoriser_kind,
                    declaration.proof_reference,
                    HELD,
                )
                out.append(Registered(str(site_id), str(prm), "refused", True))
                continue
            consent_id = await conn.fetchval(
                """INSERT INTO consents (person_id, meter_id, purpose, source, scope,
                       starts_at, expires_at, data_from, verification)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending')
                   RETURNING consent_id""",
                person_id,
                str(prm),
                SGE_PURPOSE,
                SOURCE,
                declaration.scope,
                declaration.valid_from,
                declaration.valid_until,
                declaration.history_from,
            )
            site_id = await conn.fetchval(
                """INSERT INTO sge_sites (person_id, meter_id, consent_id, name,
                       authorised_by, authoriser_kind, proof_reference)
                   VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING site_id""",
                person_id,
                str(prm),
                consent_id,
                name,
                declaration.authorised_by,
                declaration.authoriser_kind,
                declaration.proof_reference,
            )
            out.append(Registered(str(site_id), str(prm), "requested", True))
    return out


async def limits_left(
    conn: asyncpg.Connection, *, person_id: uuid.UUID, now: datetime
) -> tuple[int, int]:
    """(sites the person may still register, refusals in the last 24 h)."""
    row = await conn.fetchrow(
        """SELECT count(*) FILTER (WHERE state = ANY($2::text[]))::int AS live,
                  count(*) FILTER (WHERE state = 'refused'
                                   AND updated_at > $3)::int AS refused
           FROM sge_sites WHERE person_id = $1""",
        person_id,
        list(LIVE),
        now - timedelta(days=1),
    )
    return MAX_LIVE_PER_PERSON - int(row["live"]), int(row["refused"])


MINE = """
SELECT s.site_id, s.meter_id, s.name, s.state, s.reason, s.readings,
       s.authorised_by, s.authoriser_kind, s.proof_reference, s.created_at,
       s.updated_at, c.scope, c.starts_at, c.expires_at, c.data_from,
       c.verification, c.revoked_at
FROM sge_sites s LEFT JOIN consents c USING (consent_id)
WHERE s.person_id = $1
ORDER BY s.created_at DESC, s.meter_id
LIMIT $2
"""


async def mine(
    conn: asyncpg.Connection, *, person_id: uuid.UUID, limit: int = 5000
) -> list[asyncpg.Record]:
    """The person's own sites, newest first (never anyone else's)."""
    rows: list[asyncpg.Record] = await conn.fetch(MINE, person_id, limit)
    return rows


async def _release(
    conn: asyncpg.Connection,
    *,
    person_id: uuid.UUID,
    meter_id: str,
    consent_id: uuid.UUID,
    now: datetime,
) -> None:
    """Ends what a site granted: the consent is revoked (audited) and the
    occupancy its verification opened ends now (others of the person stay)."""
    await conn.execute(
        """UPDATE consents SET revoked_at = greatest($2, starts_at)
           WHERE consent_id = $1 AND revoked_at IS NULL""",
        consent_id,
        now,
    )
    await conn.execute(
        """UPDATE occupancies SET ends_at = greatest($3, starts_at + interval '1 second')
           WHERE person_id = $1 AND delivery_point_id = $2 AND source = $4
             AND (ends_at IS NULL OR ends_at > $3)""",
        person_id,
        meter_id,
        now,
        OCCUPANCY_SOURCE,
    )


async def withdraw(
    conn: asyncpg.Connection, *, person_id: uuid.UUID, meter_id: str, now: datetime
) -> bool:
    """The person withdraws their live site on ``meter_id``: the authorisation ends
    at once (nothing more is read or shown), and the subscription is left for the
    worker to stop (``withdrawing``) when one may exist. False: no such site."""
    async with conn.transaction():
        await acting_as(conn, f"resident:{person_id}")
        row = await conn.fetchrow(
            """SELECT site_id, consent_id, state, service_id FROM sge_sites
               WHERE person_id = $1 AND meter_id = $2 AND state = ANY($3::text[])
               FOR UPDATE""",
            person_id,
            meter_id,
            [s for s in LIVE if s != "withdrawing"],
        )
        if row is None:
            return False
        await _release(
            conn,
            person_id=person_id,
            meter_id=meter_id,
            consent_id=row["consent_id"],
            now=now,
        )
        subscribed = row["service_id"] is not None or row["state"] in (
            "enrolling",
            "active",
        )
        await conn.execute(
            """UPDATE sge_sites SET state = $2, reason = $3, claimed_at = NULL,
                   next_attempt_at = $4, updated_at = $4 WHERE site_id = $1""",
            row["site_id"],
            "withdrawing" if subscribed else "withdrawn",
            "withdrawn by the registrant",
            now,
        )
    return True


# ---------------------------------------------------------------- the worker's side


@dataclass(frozen=True, slots=True)
class Claim:
    """A site taken by the worker: to enrol, or to stop (``withdrawing``)."""

    site_id: str
    person_id: uuid.UUID
    meter_id: str
    consent_id: uuid.UUID
    name: str
    state: str
    service_id: str | None
    attempts: int


async def sweep(conn: asyncpg.Connection, *, now: datetime) -> int:
    """Sites whose authorisation ended without the api's withdrawal (the consent
    withdrawn through the generic consents route, or expired) become
    ``withdrawing``, so that their subscription is stopped too; the occupancy
    their verification opened ends. Returns how many."""
    async with conn.transaction():
        ended = await conn.fetch(
            """UPDATE sge_sites s SET state = 'withdrawing',
                   reason = CASE WHEN c.revoked_at IS NOT NULL
                                 THEN 'authorisation withdrawn'
                                 ELSE 'authorisation expired' END,
                   next_attempt_at = $1, claimed_at = NULL, updated_at = $1
               FROM consents c
               WHERE c.consent_id = s.consent_id
                 AND s.state IN ('requested', 'active', 'failed')
                 AND (c.revoked_at IS NOT NULL OR c.expires_at <= $1)
               RETURNING s.person_id, s.meter_id""",
            now,
        )
        for row in ended:
            await conn.execute(
                """UPDATE occupancies
                   SET ends_at = greatest($3, starts_at + interval '1 second')
                   WHERE person_id = $1 AND delivery_point_id = $2 AND source = $4
                     AND (ends_at IS NULL OR ends_at > $3)""",
                row["person_id"],
                row["meter_id"],
                now,
                OCCUPANCY_SOURCE,
            )
    return len(ended)


async def claim(
    conn: asyncpg.Connection, *, now: datetime, limit: int, lease: timedelta
) -> list[Claim]:
    """Takes up to ``limit`` due sites (several workers never take the same one):
    requests and failures become ``enrolling``; withdrawals stay ``withdrawing``;
    a claim older than ``lease`` (its worker died) is taken again. Sites whose
    authorisation ended meanwhile are turned into withdrawals first
    (:func:`sweep`)."""
    await sweep(conn, now=now)
    rows = await conn.fetch(
        """UPDATE sge_sites s
           SET state = CASE WHEN s.state = 'withdrawing' THEN 'withdrawing'
                            ELSE 'enrolling' END,
               claimed_at = $1, attempts = s.attempts + 1, updated_at = $1
           FROM (SELECT site_id FROM sge_sites
                 WHERE next_attempt_at <= $1
                   AND (state IN ('requested', 'failed')
                        OR (state IN ('enrolling', 'withdrawing')
                            AND (claimed_at IS NULL OR claimed_at < $1 - $3::interval)))
                 ORDER BY next_attempt_at LIMIT $2
                 FOR UPDATE SKIP LOCKED) due
           WHERE s.site_id = due.site_id
           RETURNING s.site_id, s.person_id, s.meter_id, s.consent_id, s.name,
                     s.state, s.service_id, s.attempts""",
        now,
        limit,
        lease,
    )
    return [
        Claim(
            str(r["site_id"]),
            r["person_id"],
            r["meter_id"],
            r["consent_id"],
            r["name"],
            r["state"],
            r["service_id"],
            r["attempts"],
        )
        for r in rows
    ]


async def pending(conn: asyncpg.Connection) -> int:
    """Sites waiting for the worker (requested, failed, withdrawing)."""
    return int(
        await conn.fetchval(
            """SELECT count(*) FROM sge_sites
               WHERE state IN ('requested', 'failed', 'withdrawing')"""
        )
    )


async def verify(conn: asyncpg.Connection, site: Claim, *, now: datetime) -> str | None:
    """Makes a claimed site's declared authorisation live, or says why not.

    In one transaction: the registrant occupies the point from the declared
    history start (unless an occupancy of theirs covers it already), and the
    consent becomes ``verified``. The database refuses either when someone else
    holds the point: then the consent is ``rejected`` and ``held_by_another`` is
    returned. Returns ``withdrawn``/``expired`` when the consent is no longer
    live, None when the site may be enrolled.
    """
    async with conn.transaction():
        await acting_as(conn, "ingest-sge")
        consent = await conn.fetchrow(
            """SELECT verification, revoked_at, starts_at, expires_at,
                      coalesce(data_from, starts_at) AS history_from
               FROM consents WHERE consent_id = $1 FOR UPDATE""",
            site.consent_id,
        )
        if consent is None or consent["revoked_at"] is not None:
            return "withdrawn"
        if consent["expires_at"] <= now:
            return "expired"
        if consent["verification"] == "rejected":
            return HELD
        if consent["verification"] == "verified":
            return None
        try:
            async with conn.transaction():
                await _open_occupancy(conn, site, consent["history_from"])
                await decide(
                    conn,
                    consent_id=str(site.consent_id),
                    verification="verified",
                    by=VERIFIER,
                    reason=None,
                    now=max(now, consent["starts_at"]),
                )
        except HeldByAnotherError:
            await decide(
                conn,
                consent_id=str(site.consent_id),
                verification="rejected",
                by=VERIFIER,
                reason="the point is held by someone else",
                now=now,
            )
            return HELD
    return None


async def _open_occupancy(
    conn: asyncpg.Connection, site: Claim, starts_at: datetime
) -> None:
    covered = await conn.fetchval(
        """SELECT EXISTS (SELECT 1 FROM occupancies WHERE person_id = $1
               AND delivery_point_id = $2 AND starts_at <= $3
               AND (ends_at IS NULL OR ends_at > $3))""",
        site.person_id,
        site.meter_id,
        starts_at,
    )
    if covered:
        return
    try:
        await conn.execute(
            """INSERT INTO occupancies (person_id, delivery_point_id, starts_at, source)
               VALUES ($1, $2, $3, $4)""",
            site.person_id,
            site.meter_id,
            starts_at,
            OCCUPANCY_SOURCE,
        )
    except asyncpg.ExclusionViolationError as exc:
        raise HeldByAnotherError(site.meter_id) from exc


async def finish(
    conn: asyncpg.Connection,
    site: Claim,
    *,
    state: str,
    now: datetime,
    reason: str | None = None,
    service_id: str | None = None,
    readings: int = 0,
    retry_at: datetime | None = None,
) -> None:
    """Records a claim's outcome. A refusal also ends what the site granted (the
    consent — SGE's refusal may have revoked it already — and the occupancy). A
    site withdrawn while it was being enrolled keeps ``withdrawing`` (only the
    subscription's id is kept, for the stop)."""
    if state not in STATES:
        raise InvalidValueError("state", state, " | ".join(STATES))
    async with conn.transaction():
        await acting_as(conn, "ingest-sge")
        if state == "refused":
            await _release(
                conn,
                person_id=site.person_id,
                meter_id=site.meter_id,
                consent_id=site.consent_id,
                now=now,
            )
        await conn.execute(
            """UPDATE sge_sites SET
                   state = CASE WHEN state = $7 THEN $2 ELSE state END,
                   reason = CASE WHEN state = $7 THEN $3 ELSE reason END,
                   service_id = coalesce($4, service_id),
                   readings = readings + $5,
                   next_attempt_at = coalesce($6, next_attempt_at),
                   claimed_at = NULL, updated_at = now()
               WHERE site_id = $1::uuid""",
            site.site_id,
            state,
            reason,
            service_id,
            readings,
            retry_at,
            site.state,
        )
