"""The port of the enrolment requests the api writes (table ``sge_sites``).

Managers and cities register their sites through the api; the rows are the
hand-off (the why is in migration 1504). The worker claims due rows, verifies
the declared authorisation (the registrant holds the point, no one else does),
and records each outcome. The SQL is shared with the api in
``energy_store.sge_sites``; this port is what the worker's loop is given, so
unit tests pass :class:`MemoryEnrolments`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

import asyncpg

from energy_store import sge_sites
from energy_store.sge_sites import Claim

__all__ = ["Claim", "EnrolmentQueue", "MemoryEnrolments", "PostgresEnrolments"]


class EnrolmentQueue(Protocol):
    """Port: the registered sites as the worker sees them."""

    async def claim(self, now: datetime, limit: int) -> list[Claim]:
        """Due sites, taken by this worker only."""

    async def verify(self, site: Claim, now: datetime) -> str | None:
        """None when the site's authorisation is live; else why not."""

    async def finish(
        self,
        site: Claim,
        *,
        state: str,
        now: datetime,
        reason: str | None = None,
        service_id: str | None = None,
        readings: int = 0,
        retry_at: datetime | None = None,
    ) -> None:
        """Records the outcome of a claim."""

    async def pending(self) -> int:
        """Sites waiting (requested, failed, withdrawing)."""


class PostgresEnrolments:
    """The queue on ``sge_sites`` through ``energy_store.sge_sites``."""

    def __init__(self, pool: asyncpg.Pool, *, lease: timedelta) -> None:
        self._pool = pool
        self._lease = lease

    async def claim(self, now: datetime, limit: int) -> list[Claim]:
        """Due sites (``FOR UPDATE SKIP LOCKED``, leased)."""
        async with self._pool.acquire() as conn:
            return await sge_sites.claim(conn, now=now, limit=limit, lease=self._lease)

    async def verify(self, site: Claim, now: datetime) -> str | None:
        """Occupancy opened and consent verified, or the reason it cannot be."""
        async with self._pool.acquire() as conn:
            return await sge_sites.verify(conn, site, now=now)

    async def finish(
        self,
        site: Claim,
        *,
        state: str,
        now: datetime,
        reason: str | None = None,
        service_id: str | None = None,
        readings: int = 0,
        retry_at: datetime | None = None,
    ) -> None:
        """Records the outcome (a refusal also ends consent and occupancy)."""
        async with self._pool.acquire() as conn:
            await sge_sites.finish(
                conn,
                site,
                state=state,
                now=now,
                reason=reason,
                service_id=service_id,
                readings=readings,
                retry_at=retry_at,
            )

    async def pending(self) -> int:
        """Sites waiting for the worker."""
        async with self._pool.acquire() as conn:
            return await sge_sites.pending(conn)


@dataclass(slots=True)
class MemorySite:
    """One row of :class:`MemoryEnrolments`."""

    claim: Claim
    state: str
    held_by_another: bool = False
    reason: str | None = None
    service_id: str | None = None
    readings: int = 0
    next_attempt_at: datetime | None = None
    verified: bool = False


class MemoryEnrolments:
    """The queue in memory, for unit tests (no lease: a claim is taken once)."""

    def __init__(self) -> None:
        self.sites: dict[str, MemorySite] = {}

    def add(
        self,
        prm: str,
        *,
        name: str = "site",
        state: str = "requested",
        held_by_another: bool = False,
        service_id: str | None = None,
    ) -> str:
        """Registers a site (what the api does); returns its id."""
        site_id = str(uuid.uuid4())
        claim = Claim(
            site_id, uuid.uuid4(), prm, uuid.uuid4(), name, state, service_id, 0
        )
        self.sites[site_id] = MemorySite(
            claim, state, held_by_another, service_id=service_id
        )
        return site_id

    async def claim(self, now: datetime, limit: int) -> list[Claim]:
        """Due requested/failed/withdrawing sites."""
        out: list[Claim] = []
        for row in self.sites.values():
            if len(out) >= limit:
                break
            due = row.next_attempt_at is None or row.next_attempt_at <= now
            if due and row.state in ("requested", "failed", "withdrawing"):
                state = "withdrawing" if row.state == "withdrawing" else "enrolling"
                row.state = state
                row.claim = replace(
                    row.claim,
                    state=state,
                    service_id=row.service_id,
                    attempts=row.claim.attempts + 1,
                )
                out.append(row.claim)
        return out

    async def verify(self, site: Claim, now: datetime) -> str | None:
        """``held_by_another`` when the test said so."""
        row = self.sites[site.site_id]
        if row.held_by_another:
            return sge_sites.HELD
        row.verified = True
        return None

    async def finish(
        self,
        site: Claim,
        *,
        state: str,
        now: datetime,
        reason: str | None = None,
        service_id: str | None = None,
        readings: int = 0,
        retry_at: datetime | None = None,
    ) -> None:
        """As the SQL does: a row withdrawn meanwhile keeps ``withdrawing``."""
        row = self.sites[site.site_id]
        if row.state == site.state:
            row.state, row.reason = state, reason
        row.service_id = service_id or row.service_id
        row.readings += readings
        row.next_attempt_at = retry_at or row.next_attempt_at

    async def pending(self) -> int:
        """Sites waiting for the worker."""
        return sum(
            1
            for r in self.sites.values()
            if r.state in ("requested", "failed", "withdrawing")
        )
