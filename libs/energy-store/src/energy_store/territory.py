"""The territory registry: validated domain entities in, rows out (upserts).

Every change fires the outbox triggers (migration 0001), so the compacted
territory topic follows without callers doing anything else.
"""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg

from energy_core.domain.ids import InseeCode
from energy_core.domain.territory import Building, MeterPlacement, Neighbourhood, Parcel


async def upsert_commune(
    conn: asyncpg.Connection, *, insee: InseeCode, name: str
) -> None:
    """Creates or renames a commune."""
    await conn.execute(
        "INSERT INTO communes (insee, name) VALUES ($1, $2) "
        "ON CONFLICT (insee) DO UPDATE SET name = EXCLUDED.name",
        str(InseeCode(insee)),
        name,
    )


async def upsert_neighbourhoods(
    conn: asyncpg.Connection, items: Iterable[Neighbourhood]
) -> None:
    """Creates or updates neighbourhoods (changed rows only)."""
    await conn.executemany(
        """INSERT INTO neighbourhoods (iris, commune_insee, name, capacity_kw, geometry)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (iris) DO UPDATE SET name = EXCLUDED.name,
               capacity_kw = EXCLUDED.capacity_kw, geometry = EXCLUDED.geometry,
               updated_at = now()
           WHERE (neighbourhoods.name, neighbourhoods.capacity_kw, neighbourhoods.geometry)
               IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.capacity_kw, EXCLUDED.geometry)""",
        [(n.iris, n.commune, n.name, n.capacity_kw, n.geometry) for n in items],
    )


async def upsert_parcels(conn: asyncpg.Connection, items: Iterable[Parcel]) -> None:
    """Creates or updates parcels (changed rows only)."""
    await conn.executemany(
        """INSERT INTO parcels (idu, commune_insee, iris, geometry)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (idu) DO UPDATE SET iris = EXCLUDED.iris,
               geometry = EXCLUDED.geometry, updated_at = now()
           WHERE (parcels.iris, parcels.geometry)
               IS DISTINCT FROM (EXCLUDED.iris, EXCLUDED.geometry)""",
        [(p.idu, p.idu[:5], p.iris, p.geometry) for p in items],
    )


async def upsert_buildings(conn: asyncpg.Connection, items: Iterable[Building]) -> None:
    """Creates or updates buildings (changed rows only)."""
    await conn.executemany(
        """INSERT INTO buildings
               (building_id, address, parcel_idu, iris, surface_m2, building_type)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (building_id) DO UPDATE SET address = EXCLUDED.address,
               parcel_idu = EXCLUDED.parcel_idu, iris = EXCLUDED.iris,
               surface_m2 = EXCLUDED.surface_m2,
               building_type = EXCLUDED.building_type, updated_at = now()
           WHERE (buildings.address, buildings.parcel_idu, buildings.iris,
                  buildings.surface_m2, buildings.building_type)
               IS DISTINCT FROM (EXCLUDED.address, EXCLUDED.parcel_idu, EXCLUDED.iris,
                  EXCLUDED.surface_m2, EXCLUDED.building_type)""",
        [
            (
                b.building_id,
                b.address,
                b.parcel,
                b.iris,
                b.surface_m2,
                b.building_type.value,
            )
            for b in items
        ],
    )


async def upsert_meters(
    conn: asyncpg.Connection, items: Iterable[MeterPlacement]
) -> None:
    """Creates or updates meters (changed rows only); building None = unplaced.

    Delivery points are written before the devices attached to them (a device's
    ``delivery_point_id`` references its point).
    """
    ordered = sorted(items, key=lambda m: not m.is_delivery_point)
    await conn.executemany(
        """INSERT INTO meters (meter_id, scheme, energy, direction, sector, building_id,
                               delivery_point_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (meter_id) DO UPDATE SET energy = EXCLUDED.energy,
               direction = EXCLUDED.direction, sector = EXCLUDED.sector,
               building_id = EXCLUDED.building_id,
               delivery_point_id = EXCLUDED.delivery_point_id, updated_at = now()
           WHERE (meters.energy, meters.direction, meters.sector, meters.building_id,
                  meters.delivery_point_id)
               IS DISTINCT FROM (EXCLUDED.energy, EXCLUDED.direction,
                   EXCLUDED.sector, EXCLUDED.building_id, EXCLUDED.delivery_point_id)""",
        [
            (
                str(m.meter),
                m.meter.scheme.value,
                m.energy.value,
                m.direction.value,
                m.sector.value,
                m.building_id,
                None if m.delivery_point is None else str(m.delivery_point),
            )
            for m in ordered
        ],
    )


async def enqueue_everything(conn: asyncpg.Connection) -> int:
    """Queues every entity for (re)publication, e.g. to refill an empty broker."""
    return int(
        await conn.fetchval(
            """WITH q AS (
                   INSERT INTO territory_outbox (entity, entity_key)
                   SELECT 'neighbourhoods', iris FROM neighbourhoods
                   UNION ALL SELECT 'parcels', idu FROM parcels
                   UNION ALL SELECT 'buildings', building_id FROM buildings
                   UNION ALL SELECT 'meters', meter_id FROM meters
                   RETURNING 1)
               SELECT count(*) FROM q"""
        )
    )
