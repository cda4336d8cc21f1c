"""The asyncpg :class:`FluxLedger` on tables ``sge_flux_files`` (migration 1501)
and ``sge_flux_attempts`` (migration 1503)."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from ingest_sge.mapping import C68Record
from ingest_sge.repository import FileRecord


class PostgresLedger:
    """The ledger in PostgreSQL; ``record`` never overwrites the first outcome."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def seen(self, name: str, size: int) -> bool:
        """A file of this name and size was handled (or given up) already."""
        row = await self._pool.fetchval(
            """
            SELECT 1 FROM sge_flux_files WHERE name = $1 AND size = $2
            UNION ALL
            SELECT 1 FROM sge_flux_attempts
             WHERE name = $1 AND size = $2 AND given_up_at IS NOT NULL
            LIMIT 1
            """,
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

    async def attempt(self, name: str, size: int, reason: str) -> int:
        """One more incomplete poll of (name, size); the count so far."""
        count = await self._pool.fetchval(
            """
            INSERT INTO sge_flux_attempts (name, size, attempts, reason)
            VALUES ($1, $2, 1, $3)
            ON CONFLICT (name, size) DO UPDATE
               SET attempts = sge_flux_attempts.attempts + 1,
                   reason = EXCLUDED.reason,
                   last_at = now()
            RETURNING attempts
            """,
            name,
            size,
            reason,
        )
        return int(count)

    async def give_up(self, name: str, size: int, reason: str) -> None:
        """(name, size) is never asked again (``seen`` answers True)."""
        await self._pool.execute(
            """
            INSERT INTO sge_flux_attempts (name, size, attempts, reason, given_up_at)
            VALUES ($1, $2, 1, $3, now())
            ON CONFLICT (name, size) DO UPDATE
               SET reason = EXCLUDED.reason, given_up_at = now()
            """,
            name,
            size,
            reason,
        )

    async def save_technical(
        self, records: Sequence[C68Record], source_file: str
    ) -> None:
        """Upserts the C68 data of each PRM (the latest file wins)."""
        await self._pool.executemany(
            """
            INSERT INTO sge_technical_data
                (prm, segment, contract_state, tariff, voltage, subscribed_kva,
                 source_file)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            ON CONFLICT (prm) DO UPDATE
               SET segment = EXCLUDED.segment,
                   contract_state = EXCLUDED.contract_state,
                   tariff = EXCLUDED.tariff,
                   voltage = EXCLUDED.voltage,
                   subscribed_kva = EXCLUDED.subscribed_kva,
                   source_file = EXCLUDED.source_file,
                   updated_at = now()
            """,
            [
                (
                    str(r.prm),
                    r.segment,
                    r.state,
                    r.tariff,
                    r.tension,
                    r.subscribed_kva,
                    source_file,
                )
                for r in records
            ],
        )

    async def ping(self) -> bool:
        """PostgreSQL answers a trivial query."""
        try:
            return bool(await self._pool.fetchval("SELECT 1") == 1)
        except (OSError, asyncpg.PostgresError):
            return False
