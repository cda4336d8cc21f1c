"""The asyncpg :class:`FluxLedger` on table ``sge_flux_files`` (migration 1501)."""

from __future__ import annotations

import asyncpg

from ingest_sge.repository import FileRecord


class PostgresLedger:
    """The ledger in PostgreSQL; ``record`` never overwrites the first outcome."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def seen(self, name: str, size: int) -> bool:
        """A file of this name and size was handled already."""
        row = await self._pool.fetchval(
            "SELECT 1 FROM sge_flux_files WHERE name = $1 AND size = $2 LIMIT 1",
            name,
            size,
        )
        return row is not None

    async def handled(self, name: str, sha256: str) -> bool:
        """This exact file was handled already."""
        row = await self._pool.fetchval(
            "SELECT 1 FROM sge_flux_files WHERE name = $1 AND sha256 = $2",
            name,
            sha256,
        )
        return row is not None

    async def record(self, record: FileRecord) -> None:
        """Inserts the file's outcome; a second record of the same file is ignored."""
        await self._pool.execute(
            """
            INSERT INTO sge_flux_files
                (name, sha256, size, outcome, key_id, records, readings, reason)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT (name, sha256) DO NOTHING
            """,
            record.name,
            record.sha256,
            record.size,
            record.outcome.value,
            record.key_id,
            record.records,
            record.readings,
            record.reason,
        )

    async def ping(self) -> bool:
        """PostgreSQL answers a trivial query."""
        try:
            return bool(await self._pool.fetchval("SELECT 1") == 1)
        except (OSError, asyncpg.PostgresError):
            return False
