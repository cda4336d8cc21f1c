"""The repository port: what ingest-grdf keeps in PostgreSQL (``grdf_rights``).

The loop talks to this Protocol only, so it is unit-tested with
:class:`~ingest_grdf.repository.memory.MemoryRepository`; production uses
:class:`~ingest_grdf.repository.postgres.PostgresRepository`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from ingest_grdf.mapping import AccessRight, GasContract


@dataclass(frozen=True, slots=True)
class Cursor:
    """How far a PCE's history was collected (exclusive gas days), per kind."""

    informatives_until: date | None
    published_until: date | None


@dataclass(frozen=True, slots=True)
class GrdfRequest:
    """What a resident or a property manager asked from the dashboard (a row of
    ``grdf_requests``, written by the api): declare, revoke or send proofs."""

    request_id: str
    kind: str
    pce: str
    holder: dict[str, Any]
    """``name`` or ``company``, ``email``, ``postcode`` (declare only)."""
    scopes: list[str] | None
    data_from: date | None
    data_until: date | None
    right_end: date | None
    attempts: int = 1
    """Tries so far, this one included."""


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

    async def claim_request(self, stale_after_s: float) -> GrdfRequest | None:
        """The oldest queued request (or one claimed ``stale_after_s`` ago by a
        worker that died), claimed for this worker; None when there is none."""
        ...

    async def request_files(self, request_id: str) -> list[tuple[str, bytes, str]]:
        """A proofs request's files: (file name, bytes, content type)."""
        ...

    async def defer_request(self, request_id: str, delay_s: float, reason: str) -> None:
        """Queues a request that met a transient failure again, not to be claimed
        before ``delay_s`` from now; ``reason`` is what the person sees meanwhile."""
        ...

    async def finish_request(
        self, request_id: str, *, ok: bool, code: str | None, message: str | None
    ) -> None:
        """The outcome the person sees (GRDF's code and message when refused);
        proof files are deleted once the request is finished."""
        ...

    async def ping(self) -> bool:
        """The store answers (readiness)."""
        ...


__all__ = ["Cursor", "GrdfRequest", "Repository"]
