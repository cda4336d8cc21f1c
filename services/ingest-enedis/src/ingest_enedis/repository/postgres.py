"""The repository over asyncpg: the SQL of :mod:`ingest_enedis.cursor`, one pool.

Each method takes one connection from the pool for as long as it needs it (a
worker never holds a connection while waiting for Enedis), and the methods that
change several rows do it in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg

from ingest_enedis import cursor
from ingest_enedis.cursor import Cursor
from ingest_enedis.mapping import Address, Contract, Parcel, building_at
from ingest_enedis.repository import KnownUsagePoint
from ingest_enedis.streams import Stream


class PostgresRepository:
    """:class:`~ingest_enedis.repository.Repository` over an asyncpg pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def ping(self) -> bool:
        """Readiness: the database answers."""
        try:
            return bool(await self.pool.fetchval("SELECT 1"))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            return False

    async def resume_reconsented(self) -> int:
        async with self.pool.acquire() as conn:
            return await cursor.resume_reconsented(conn)

    async def consented_prms(self, now: datetime) -> list[str]:
        async with self.pool.acquire() as conn:
            return await cursor.consented_prms(conn, now)

    async def cursor(self, prm: str, stream: Stream) -> Cursor | None:
        async with self.pool.acquire() as conn:
            return await cursor.get(conn, prm, stream)

    async def start_cursor(
        self, prm: str, stream: Stream, history_from: date
    ) -> Cursor:
        async with self.pool.acquire() as conn:
            return await cursor.start(conn, prm, stream, history_from)

    async def due_holes(self, prm: str, stream: Stream, now: datetime) -> list[date]:
        async with self.pool.acquire() as conn:
            return await cursor.due_holes(conn, prm, stream, now)

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
        async with self.pool.acquire() as conn:
            await cursor.advance(
                conn,
                prm,
                stream,
                until,
                holes,
                reason,
                retry_at,
                history_from=history_from,
            )

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
        async with self.pool.acquire() as conn, conn.transaction():
            if never is not None:  # those days do not exist for us
                await cursor.resolve_holes(conn, prm, stream, asked, never)
            missing = set(holes)
            await cursor.resolve_holes(
                conn, prm, stream, [d for d in asked if d not in missing]
            )
            await cursor.record_holes(conn, prm, stream, holes, reason, retry_at)

    async def stop_stream(self, prm: str, stream: Stream, reason: str) -> None:
        async with self.pool.acquire() as conn:
            await cursor.stop_stream(conn, prm, stream, reason)

    async def stop_prm(self, prm: str, reason: str, now: datetime) -> list[str]:
        async with self.pool.acquire() as conn:
            return await cursor.stop_prm(conn, prm, reason, now)

    async def usage_point(self, prm: str, max_age: timedelta) -> KnownUsagePoint | None:
        row = await self.pool.fetchrow(
            "SELECT last_activation_date, updated_at > now() - $2::interval AS fresh "
            "FROM enedis_usage_points WHERE meter_id = $1",
            prm,
            max_age,
        )
        if row is None:
            return None
        return KnownUsagePoint(row["last_activation_date"], bool(row["fresh"]))

    async def keep_usage_point(self, prm: str) -> None:
        await self.pool.execute(
            "UPDATE enedis_usage_points SET updated_at = now() WHERE meter_id = $1",
            prm,
        )

    async def save_usage_point(
        self, prm: str, contract: Contract | None, address: Address | None
    ) -> str:
        found: dict[str, Any] | None = None
        if address is not None:
            found = {
                "insee_code": address.insee_code,
                "latitude": address.latitude,
                "longitude": address.longitude,
                "raw": dict(address.raw),
            }
        async with self.pool.acquire() as conn, conn.transaction():
            current = await conn.fetchval(
                "SELECT building_id FROM meters WHERE meter_id = $1", prm
            )
            placement = "placed" if current else "unplaced"
            if (
                current is None
                and address is not None
                and address.latitude is not None
                and address.longitude is not None
            ):
                placement = await self._place(
                    conn, prm, address.insee_code, address.latitude, address.longitude
                )
            await cursor.save_usage_point(conn, prm, contract, found, placement)
        return placement

    @staticmethod
    async def _place(
        conn: asyncpg.Connection,
        prm: str,
        insee: str | None,
        lat: float,
        lon: float,
    ) -> str:
        """Attaches the meter to the only building of its parcel, if there is one."""
        known_commune = await conn.fetchval(
            "SELECT true FROM communes WHERE insee = $1", insee
        )
        if not known_commune:
            return "unknown_commune"
        rows = await conn.fetch(
            """SELECT p.geometry, array_agg(b.building_id) AS buildings
               FROM parcels p JOIN buildings b ON b.parcel_idu = p.idu
               WHERE p.commune_insee = $1 GROUP BY p.idu, p.geometry""",
            insee,
        )
        parcels = [
            Parcel(
                ((row["geometry"] or {}).get("coordinates") or [[]])[0],
                [str(b) for b in row["buildings"]],
            )
            for row in rows
        ]
        building = building_at(parcels, lat, lon)
        if building is None:
            return "unplaced"
        await conn.execute(
            "UPDATE meters SET building_id = $2, updated_at = now() WHERE meter_id = $1",
            prm,
            building,
        )
        return "placed"

    async def activation_date(self, prm: str) -> date | None:
        day: date | None = await self.pool.fetchval(
            "SELECT last_activation_date FROM enedis_usage_points WHERE meter_id = $1",
            prm,
        )
        return day

    async def record_activation(self, prm: str, day: date) -> None:
        await self.pool.execute(
            """UPDATE enedis_usage_points SET last_activation_date = $2,
                      updated_at = now()
               WHERE meter_id = $1
                 AND (last_activation_date IS NULL OR last_activation_date < $2)""",
            prm,
            day,
        )
