"""The repository port: everything ingest-enedis keeps or reads in PostgreSQL.

The collector talks to this Protocol only, so its loop is unit-tested with
:class:`~ingest_enedis.repository.memory.MemoryRepository`; production uses
:class:`~ingest_enedis.repository.postgres.PostgresRepository` (asyncpg, the SQL
of :mod:`ingest_enedis.cursor`). A contract test runs the same scenarios against
both, so the fake cannot drift from the SQL.

Rules both keep: ``fetched_until`` (exclusive local day) only moves with the
window's missing days recorded (one transaction); holes are asked again until
``MAX_HOLE_ATTEMPTS``; a resolved hole is never reopened; an upstream revocation
stops every stream of the PRM and revokes its live consents.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from ingest_enedis.cursor import MAX_HOLE_ATTEMPTS, Cursor
from ingest_enedis.mapping import Address, Contract
from ingest_enedis.streams import Stream

__all__ = ["MAX_HOLE_ATTEMPTS", "Cursor", "KnownUsagePoint", "Repository"]


@dataclass(frozen=True, slots=True)
class KnownUsagePoint:
    """What an earlier customers v5 answer left: the activation date, and whether
    it is recent enough not to ask again."""

    last_activation_date: date | None
    fresh: bool


class Repository(Protocol):
    """Port of ingest-enedis' state (see the module docstring for the rules)."""

    async def resume_reconsented(self) -> int:
        """Lifts the revocation stop of PRMs consented again since; how many."""
        ...

    async def consented_prms(self, now: datetime) -> list[str]:
        """PRMs with a live consent at ``now`` (started, not expired or revoked)."""
        ...

    async def cursor(self, prm: str, stream: Stream) -> Cursor | None:
        """The collection state of one stream of one PRM, if it was started."""
        ...

    async def start_cursor(
        self, prm: str, stream: Stream, history_from: date
    ) -> Cursor:
        """Creates the cursor at ``history_from`` (or returns the existing one)."""
        ...

    async def due_holes(self, prm: str, stream: Stream, now: datetime) -> list[date]:
        """Open holes whose retry time has come, in day order."""
        ...

    async def advance(
        self,
        prm: str,
        stream: Stream,
        until: date,
        holes: Sequence[date],
        reason: str,
        retry_at: datetime,
        *,
        history_from: date | None = None,
    ) -> None:
        """Moves the cursor to ``until`` and records ``holes`` (one transaction);
        ``history_from`` moves the history start while nothing was collected."""
        ...

    async def refill(
        self,
        prm: str,
        stream: Stream,
        asked: Sequence[date],
        holes: Sequence[date],
        reason: str,
        retry_at: datetime,
        *,
        never: str | None = None,
    ) -> None:
        """Holes asked again: the ``asked`` days not in ``holes`` are resolved,
        ``holes`` rescheduled; with ``never`` (a reason) every asked day is closed
        for good (before activation or consent start). One transaction."""
        ...

    async def stop_stream(self, prm: str, stream: Stream, reason: str) -> None:
        """Stops one stream of a PRM (e.g. production asked of a consumer)."""
        ...

    async def stop_prm(self, prm: str, reason: str, now: datetime) -> list[str]:
        """Stops every stream of a PRM and revokes its live consents (their ids)."""
        ...

    async def usage_point(self, prm: str, max_age: timedelta) -> KnownUsagePoint | None:
        """What customers v5 said of the PRM before, if anything."""
        ...

    async def keep_usage_point(self, prm: str) -> None:
        """Keeps the earlier answer for another ``max_age`` (customers refused)."""
        ...

    async def save_usage_point(
        self, prm: str, contract: Contract | None, address: Address | None
    ) -> str:
        """Stores contract and address and places the meter if it can; returns the
        placement (``placed``, ``unplaced`` or ``unknown_commune``)."""
        ...

    async def activation_date(self, prm: str) -> date | None:
        """The activation date known for the PRM (contract or found by search)."""
        ...

    async def record_activation(self, prm: str, day: date) -> None:
        """Keeps the activation date the gateway enforces when it is later."""
        ...
