"""The registry's SQL behind a port: the outbox it drains and how far behind it is.

The relay itself (state-based, at-least-once) lives in ``energy_store.outbox``
because the tests of the shared store exercise it too; this module only adapts
it to :class:`OutboxPort`, so the loop can be tested with an in-memory fake.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import asyncpg

from energy_core.kafka import Publisher
from energy_store.outbox import relay_once

_BACKLOG = """
SELECT count(*) AS pending, min(created_at) AS oldest
FROM territory_outbox WHERE published_at IS NULL
"""


class OutboxPort(Protocol):
    """What the relay loop needs from the territory outbox."""

    async def relay_once(self, limit: int) -> int:
        """Publishes up to ``limit`` pending changes; returns how many were relayed."""
        ...

    async def backlog(self) -> tuple[int, datetime | None]:
        """Pending rows and the creation time (aware) of the oldest one."""
        ...

    async def ping(self) -> bool:
        """The database answers (readiness)."""
        ...


class PostgresOutbox:
    """:class:`OutboxPort` on PostgreSQL, publishing through ``publisher``."""

    def __init__(self, pool: asyncpg.Pool, publisher: Publisher) -> None:
        self.pool = pool
        self._publisher = publisher

    async def relay_once(self, limit: int) -> int:
        return await relay_once(self.pool, self._publisher, limit=limit)

    async def backlog(self) -> tuple[int, datetime | None]:
        row = await self.pool.fetchrow(_BACKLOG)  # an aggregate: always one row
        return (int(row["pending"]), row["oldest"]) if row else (0, None)

    async def ping(self) -> bool:
        return bool(await self.pool.fetchval("SELECT 1"))
