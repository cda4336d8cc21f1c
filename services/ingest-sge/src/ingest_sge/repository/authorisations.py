"""The port of the customer's authorisations that every SGE call needs.

SGE serves a point's measures to a Tiers only with the customer's authorisation
(``autorisationClient``/``accord``). SEN1 keeps it in the consent registry
(table ``consents``: who authorised — the person —, which point, which scope,
which period, revoked or not), with the purpose :data:`SGE_PURPOSE`; only a
``verified`` consent (migration 0004: its holder proven) authorises a call. The reader
asks this port BEFORE any call, and records here a refusal that SGE returns
(SGT4K2, SGT566, SGT4G2): the consent is revoked from that instant, so the point
is not asked again until a new authorisation is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import asyncpg

from energy_store.consent_registry import acting_as
from energy_store.sge_sites import SGE_PURPOSE as SGE_PURPOSE

REFUSAL_ACTOR = "ingest-sge:sge-refusal"
"""Who revoked a consent SGE refused (``consent_audit.actor``)."""


@dataclass(frozen=True, slots=True)
class Authorisation:
    """A live authorisation of one point: its consent row and period."""

    consent_id: str
    meter_id: str
    scope: str
    starts_at: datetime
    expires_at: datetime


class AuthorisationRegistry(Protocol):
    """Port: the consent registry as SGE calls need it."""

    async def authorisation(self, prm: str, at: datetime) -> Authorisation | None:
        """The authorisation covering ``prm`` at ``at``, or None."""

    async def refused(self, consent_id: str, at: datetime) -> None:
        """SGE refused: the consent ends at ``at`` (revoked)."""


class MemoryAuthorisations:
    """The registry in memory, for unit tests."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[Authorisation, datetime | None]] = {}

    def grant(self, authorisation: Authorisation) -> None:
        """Records an authorisation (tests)."""
        self.rows[authorisation.consent_id] = (authorisation, None)

    async def authorisation(self, prm: str, at: datetime) -> Authorisation | None:
        """The first live authorisation of ``prm`` at ``at``."""
        for row, revoked in self.rows.values():
            if (
                row.meter_id == prm
                and row.starts_at <= at < row.expires_at
                and (revoked is None or at < revoked)
            ):
                return row
        return None

    async def refused(self, consent_id: str, at: datetime) -> None:
        """Revokes the consent at ``at``."""
        row, revoked = self.rows[consent_id]
        self.rows[consent_id] = (row, revoked or at)


class PostgresAuthorisations:
    """The registry on table ``consents`` (purpose ``enedis-sge-collection``,
    verified consents only)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def authorisation(self, prm: str, at: datetime) -> Authorisation | None:
        """The live SGE consent of ``prm`` at ``at`` ending last, or None."""
        row = await self._pool.fetchrow(
            """
            SELECT consent_id, meter_id, scope, starts_at, expires_at
              FROM consents
             WHERE meter_id = $1 AND purpose = $2
               AND verification = 'verified'
               AND starts_at <= $3 AND $3 < expires_at
               AND (revoked_at IS NULL OR $3 < revoked_at)
             ORDER BY expires_at DESC
             LIMIT 1
            """,
            prm,
            SGE_PURPOSE,
            at,
        )
        if row is None:
            return None
        return Authorisation(
            str(row["consent_id"]),
            row["meter_id"],
            row["scope"],
            row["starts_at"],
            row["expires_at"],
        )

    async def refused(self, consent_id: str, at: datetime) -> None:
        """Sets ``revoked_at`` (kept if it was earlier); the audit names SGE's
        refusal as the actor."""
        async with self._pool.acquire() as conn, conn.transaction():
            await acting_as(conn, REFUSAL_ACTOR)
            await conn.execute(
                """
                UPDATE consents
                   SET revoked_at = LEAST(COALESCE(revoked_at, $2), $2)
                 WHERE consent_id = $1::uuid
                """,
                consent_id,
                at,
            )
