"""In-memory repository: the fake the unit tests give the loop."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from ingest_grdf.mapping import AccessRight, GasContract
from ingest_grdf.repository import Cursor, GrdfRequest


def _later(old: date | None, new: date | None) -> date | None:
    if new is None:
        return old
    return new if old is None or new > old else old


class MemoryRepository:
    """Same rules as the SQL: cursors never move backwards."""

    def __init__(self) -> None:
        self.by_pce: dict[str, AccessRight] = {}
        self.cursors: dict[str, Cursor] = {}
        self.contracts: dict[str, GasContract] = {}
        self.live_consents: dict[str, list[str]] = {}
        """PCE -> ids of SEN1 consents not revoked (tests put them there)."""
        self.pending_consents: dict[str, list[str]] = {}
        self.decided: dict[str, str] = {}
        self.requests: list[GrdfRequest] = []
        """Queued requests (tests put them there), oldest first."""
        self.deferred: dict[str, tuple[float, str]] = {}
        """Request id -> (delay, reason) of the last deferral (not queued again:
        a test puts the request back with its next attempt)."""
        self.files: dict[str, list[tuple[str, bytes, str]]] = {}
        self.finished: dict[str, tuple[bool, str | None, str | None]] = {}
        self.quota: dict[date, tuple[int, float]] = {}

    async def save_right(self, right: AccessRight) -> None:
        self.by_pce[str(right.pce)] = right

    async def rights(self) -> list[AccessRight]:
        return list(self.by_pce.values())

    async def cursor(self, pce: str) -> Cursor:
        return self.cursors.get(pce, Cursor(None, None))

    async def advance(
        self,
        pce: str,
        *,
        informatives_until: date | None = None,
        published_until: date | None = None,
    ) -> None:
        old = await self.cursor(pce)
        self.cursors[pce] = Cursor(
            _later(old.informatives_until, informatives_until),
            _later(old.published_until, published_until),
        )

    async def save_contract(self, pce: str, contract: GasContract) -> None:
        self.contracts[pce] = contract

    async def revoke_consents(self, pce: str, at: datetime) -> list[str]:
        return self.live_consents.pop(pce, [])

    async def settle_consents(
        self, pce: str, verification: str, reason: str, at: datetime
    ) -> dict[str, str]:
        out = dict.fromkeys(self.pending_consents.pop(pce, []), verification)
        self.decided.update(out)
        return out

    async def claim_request(self, stale_after_s: float) -> GrdfRequest | None:
        return self.requests.pop(0) if self.requests else None

    async def request_files(self, request_id: str) -> list[tuple[str, bytes, str]]:
        return self.files.get(request_id, [])

    async def defer_request(self, request_id: str, delay_s: float, reason: str) -> None:
        self.deferred[request_id] = (delay_s, reason)

    async def finish_request(
        self, request_id: str, *, ok: bool, code: str | None, message: str | None
    ) -> None:
        self.finished[request_id] = (ok, code, message)
        self.files.pop(request_id, None)

    async def take(
        self, day: date, cap: int, spacing_s: float
    ) -> tuple[int, float] | None:
        """The SQL's rule without a clock: counts only (waits are the limiter's)."""
        used, _ = self.quota.get(day, (0, 0.0))
        if used >= cap:
            return None
        self.quota[day] = (used + 1, 0.0)
        return used + 1, 0.0

    async def hold(self, day: date, seconds: float) -> None:
        _ = timedelta(seconds=seconds)

    async def ping(self) -> bool:
        return True
