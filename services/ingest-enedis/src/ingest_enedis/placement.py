"""Customers v5 -> contract and address; attach the meter to its building if known.

A PRM whose address falls inside a parcel of the territory that carries exactly
one building is attached to it (``meters.building_id``). Otherwise it stays
*unplaced* (``building_id`` NULL, ``enedis_usage_points.placement`` says why) for an
operator to resolve. A meter already placed by the registry is left alone.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, timedelta
from itertools import pairwise
from typing import Any, TypeVar

import asyncpg

from energy_core.errors import ConsentRevokedError, PermanentError
from energy_core.observability import meter_ref
from ingest_enedis import cursor
from ingest_enedis.client import DataConnectClient
from ingest_enedis.mapping import Contract, parse_address, parse_contract

logger = logging.getLogger(__name__)
T = TypeVar("T")
Caller = Callable[[Callable[[], Awaitable[T]]], Awaitable[T]]


def point_in_polygon(lon: float, lat: float, ring: Sequence[Sequence[float]]) -> bool:
    """Ray casting on one GeoJSON ring (lon, lat)."""
    inside = False
    for (x1, y1), (x2, y2) in pairwise(ring):
        if (y1 > lat) != (y2 > lat) and lon < (x2 - x1) * (lat - y1) / (y2 - y1) + x1:
            inside = not inside
    return inside


async def find_building(
    conn: asyncpg.Connection, insee: str, lat: float, lon: float
) -> str | None:
    """The only building of the parcel containing (lat, lon), if there is one."""
    rows = await conn.fetch(
        """SELECT p.idu, p.geometry, array_agg(b.building_id) AS buildings
           FROM parcels p JOIN buildings b ON b.parcel_idu = p.idu
           WHERE p.commune_insee = $1 GROUP BY p.idu, p.geometry""",
        insee,
    )
    for row in rows:
        geometry = row["geometry"] or {}
        rings = geometry.get("coordinates") or []
        if rings and point_in_polygon(lon, lat, rings[0]):
            buildings = row["buildings"]
            return str(buildings[0]) if len(buildings) == 1 else None
    return None


async def refresh_usage_point(
    pool: asyncpg.Pool,
    client: DataConnectClient,
    prm: str,
    call: Caller[Any],
    *,
    max_age: timedelta = timedelta(days=30),
) -> date | None:
    """Contract + address when unknown or older than ``max_age``; the activation date.

    A refusal other than a revoked consent (production-only point, undocumented
    4xx, unparsable answer) leaves the PRM without customer data until the next
    refresh; it never stops the collection of its readings.
    """
    async with pool.acquire() as conn:
        known = await conn.fetchrow(
            "SELECT last_activation_date, updated_at > now() - $2::interval AS fresh "
            "FROM enedis_usage_points WHERE meter_id = $1",
            prm,
            max_age,
        )
    if known is not None and known["fresh"]:
        return known["last_activation_date"]  # type: ignore[no-any-return]
    contract: Contract | None = None
    address: dict[str, Any] | None = None
    try:
        contract = parse_contract(await call(lambda: client.contract(prm)))
        found = parse_address(await call(lambda: client.address(prm)))
        address = {
            "insee_code": found.insee_code,
            "latitude": found.latitude,
            "longitude": found.longitude,
            "raw": dict(found.raw),
        }
    except ConsentRevokedError:
        raise
    except PermanentError as exc:
        # production-only points have no customer data (documented sandbox client 5)
        logger.info("%s: no customer data (%s)", meter_ref(prm), type(exc).__name__)
        if known is not None:  # keep what an earlier answer said, ask again later
            await pool.execute(
                "UPDATE enedis_usage_points SET updated_at = now() WHERE meter_id = $1",
                prm,
            )
            return known["last_activation_date"]  # type: ignore[no-any-return]
    async with pool.acquire() as conn, conn.transaction():
        current = await conn.fetchval(
            "SELECT building_id FROM meters WHERE meter_id = $1", prm
        )
        placement = "placed" if current else "unplaced"
        if current is None and address and address["latitude"] is not None:
            known_commune = await conn.fetchval(
                "SELECT true FROM communes WHERE insee = $1", address["insee_code"]
            )
            building = None
            if known_commune:
                building = await find_building(
                    conn,
                    address["insee_code"],
                    address["latitude"],
                    address["longitude"],
                )
            else:
                placement = "unknown_commune"
            if building:
                await conn.execute(
                    "UPDATE meters SET building_id = $2, updated_at = now() "
                    "WHERE meter_id = $1",
                    prm,
                    building,
                )
                placement = "placed"
        await cursor.save_usage_point(conn, prm, contract, address, placement)
    return contract.last_activation_date if contract else None


async def record_activation(pool: asyncpg.Pool, prm: str, day: date) -> None:
    """Keeps the activation date the gateway enforces when the contract said less."""
    await pool.execute(
        """UPDATE enedis_usage_points SET last_activation_date = $2, updated_at = now()
           WHERE meter_id = $1
             AND (last_activation_date IS NULL OR last_activation_date < $2)""",
        prm,
        day,
    )
