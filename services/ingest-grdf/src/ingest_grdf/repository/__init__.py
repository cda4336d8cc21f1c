"""The repository port: what ingest-grdf keeps in PostgreSQL (``grdf_rights``).

The loop talks to this Protocol only, so it is unit-tested with
:class:`~ingest_grdf.repository.memory.MemoryRepository`; production uses
:class:`~ingest_grdf.repository.postgres.PostgresRepository`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from ingest_grdf.mapping import AccessRight, GasContract


@dataclass(frozen=True, slots=True)
class Cursor:
    """How far a PCE's history was collected (exclusive gas days), per kind."""

    informatives_until: date | None
    published_until: date | None


class Repository(Protocol):
    """Port of ingest-grdf's state."""

    async def save_right(self, right: AccessRight) -> None:
        """Creates or updates the PCE's right (state, dates, scopes)."""
        ...

    async def rights(self) -> list[AccessRight]:
        """Every right known, whatever its state."""
        ...

    async def cursor(self, pce: str) -> Cursor:
        """The PCE's collection cursors (None: never collected)."""
        ...

    async def advance(
        self,
        pce: str,
        *,
        informatives_until: date | None = None,
        published_until: date | None = None,
    ) -> None:
        """Moves the cursors given (never backwards)."""
        ...

    async def save_contract(self, pce: str, contract: GasContract) -> None:
        """Keeps the latest contractual and technical data."""
        ...

    async def revoke_consents(self, pce: str, at: datetime) -> list[str]:
        """Ends SEN1's live consents on ``pce`` (GRDF says the right is gone), so
        what the api shows follows GRDF's state; returns their ids."""
        ...

    async def settle_consents(
        self, pce: str, verification: str, reason: str, at: datetime
    ) -> dict[str, str]:
        """Decides SEN1's pending consents on ``pce`` from GRDF's answer:
        ``verified`` when the holder accepted the right (GRDF asked the holder
        itself), ``rejected`` when they refused; a consent that would give the
        PCE a second holder is held ``to_verify`` instead. consent id -> outcome."""
        ...

    async def ping(self) -> bool:
        """The store answers (readiness)."""
        ...


__all__ = ["Cursor", "Repository"]
