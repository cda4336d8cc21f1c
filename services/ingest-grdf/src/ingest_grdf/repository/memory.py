"""In-memory repository: the fake the unit tests give the loop."""

from __future__ import annotations

from datetime import date, datetime

from ingest_grdf.mapping import AccessRight, GasContract
from ingest_grdf.repository import Cursor


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

    async def ping(self) -> bool:
        return True
