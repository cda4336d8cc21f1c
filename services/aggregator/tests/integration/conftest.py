"""Aggregator test territory and reading factories (real PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import asyncpg
import pytest_asyncio

from energy_core.domain.ids import Prm
from energy_core.domain.readings import (
    Direction,
    Energy,
    Kind,
    Quality,
    Reading,
    ReadingBatch,
    Source,
)
from energy_core.domain.units import Unit
from energy_core.wire import batch_to_proto

# meter -> (building, parcel, iris, direction)
METERS = {
    "30000000000001": ("B1", "38151000AB0001", "381510101", "consumption"),
    "30000000000002": ("B1", "38151000AB0001", "381510101", "consumption"),
    "30000000000003": ("B2", "38151000AB0002", "381510102", "consumption"),
    "30000000000004": ("B1", "38151000AB0001", "381510101", "production"),
    "30000000000005": ("B2", "38151000AB0002", "381510102", "consumption"),
}
CAPACITY_KW = {"381510101": 10.0, "381510102": 500.0}
# Measuring devices (Flukso sensors): device -> (delivery point or None, direction).
# A home's main sensor and PV sensor measure one point; two sensors may share a
# point and a direction (circuits of one home, summed); one is attached to nobody.
DEVICES = {
    "a1" * 16: ("30000000000001", "consumption"),
    "b2" * 16: ("30000000000001", "production"),
    "c3" * 16: ("30000000000003", "consumption"),
    "d4" * 16: ("30000000000003", "consumption"),
    "e5" * 16: (None, "consumption"),
}
UNATTACHED_BUILDING = "B1"


async def create_territory(conn: asyncpg.Connection) -> None:
    """One commune, two neighbourhoods, two parcels, two buildings, five PRMs and
    five devices (four attached to PRMs, one to nobody)."""
    await conn.execute("INSERT INTO communes VALUES ('38151', 'Échirolles')")
    for iris, cap in CAPACITY_KW.items():
        await conn.execute(
            "INSERT INTO neighbourhoods (iris, commune_insee, name, capacity_kw) "
            "VALUES ($1, '38151', $1, $2)", iris, cap,
        )  # fmt: skip
    for building, parcel, iris, _ in {(*v[:3], "") for v in METERS.values()}:
        await conn.execute(
            "INSERT INTO parcels (idu, commune_insee, iris, geometry) "
            "VALUES ($1, '38151', $2, '{}') ON CONFLICT DO NOTHING", parcel, iris,
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO buildings (building_id, address, parcel_idu, iris, surface_m2,"
            " building_type) VALUES ($1, 'x', $2, $3, 100, 'residential')"
            " ON CONFLICT DO NOTHING", building, parcel, iris,
        )  # fmt: skip
    for meter, (building, _, _, direction) in METERS.items():
        await conn.execute(
            "INSERT INTO meters (meter_id, scheme, energy, direction, sector,"
            " building_id) VALUES ($1, 'prm', 'electricity', $2, 'residential', $3)",
            meter, direction, building,
        )  # fmt: skip
    for device, (point, direction) in DEVICES.items():
        building = METERS[point][0] if point else UNATTACHED_BUILDING
        await conn.execute(
            "INSERT INTO meters (meter_id, scheme, energy, direction, sector,"
            " building_id, delivery_point_id) VALUES ($1, 'flukso', 'electricity',"
            " $2, 'residential', $3, $4)", device, direction, building, point,
        )  # fmt: skip


@pytest_asyncio.fixture
async def territory_db(pg_pool: asyncpg.Pool) -> asyncpg.Pool:
    async with pg_pool.acquire() as conn:
        await create_territory(conn)
    return pg_pool


def batch(
    meter: str,
    start: datetime,
    values: list[float],
    *,
    step: timedelta = timedelta(minutes=30),
    quality: Quality = Quality.RAW,
    kind: Kind = Kind.INTERVAL,
    produced_at: datetime | None = None,
) -> bytes:
    """Serialised ReadingBatch: consecutive intervals (or instants) from ``start``."""
    direction = Direction(METERS[meter][3])
    unit = Unit.WH if kind is Kind.INTERVAL else Unit.W
    readings = tuple(
        Reading(
            kind=kind,
            unit=unit,
            start=start + i * step,
            end=start + (i + 1) * step if kind is Kind.INTERVAL else start + i * step,
            value=v,
            quality=quality,
            direction=direction,
        )
        for i, v in enumerate(values)
    )
    message = ReadingBatch(
        meter=Prm(meter), source=Source.ENEDIS_DATACONNECT, energy=Energy.ELECTRICITY,
        readings=readings, produced_at=produced_at,
    )  # fmt: skip
    return batch_to_proto(message).SerializeToString()


BatchFactory = Callable[..., bytes]
