"""Loads a territory (the demo one, or an operator's) into the registry, idempotently."""

from __future__ import annotations

import asyncpg

from energy_store import territory
from energy_store.demo import (
    CONSENT_END,
    CONSENT_START,
    OCCUPANCY_START,
    DemoTerritory,
)


async def load_territory(pool: asyncpg.Pool, demo: DemoTerritory) -> dict[str, int]:
    """Upserts everything in one transaction; a second load changes nothing."""
    async with pool.acquire() as conn, conn.transaction():
        await territory.upsert_commune(conn, insee=demo.commune, name=demo.commune_name)
        await territory.upsert_neighbourhoods(conn, demo.neighbourhoods)
        await territory.upsert_parcels(conn, demo.parcels)
        await territory.upsert_buildings(conn, demo.buildings)
        await territory.upsert_meters(conn, demo.meters)
        for resident in demo.residents:
            person_id = await conn.fetchval(
                """INSERT INTO people (display_name, email) VALUES ($1, $2)
                   ON CONFLICT (email) DO UPDATE SET display_name = EXCLUDED.display_name
                   RETURNING person_id""",
                resident.display_name,
                resident.email,
            )
            # The demo plays the operator: its residents are proven holders of
            # their dwelling's points (verified consents, occupancies), so the
            # demo shows their data through the same rule as everyone's.
            await conn.executemany(
                """INSERT INTO consents (person_id, meter_id, grantee, purpose, source,
                                         starts_at, expires_at, verification,
                                         verified_at, verified_by)
                   SELECT $1, $2, 'sen1', 'collection', 'demo', $3, $4, 'verified',
                          $3, 'demo'
                   WHERE NOT EXISTS (SELECT 1 FROM consents WHERE person_id = $1
                                     AND meter_id = $2 AND purpose = 'collection')""",
                [(person_id, m, CONSENT_START, CONSENT_END) for m in resident.meters],
            )
            await conn.executemany(
                """INSERT INTO occupancies (person_id, delivery_point_id, starts_at,
                                            source)
                   SELECT $1, $2, $3, 'demo' FROM meters
                   WHERE meter_id = $2 AND scheme IN ('prm', 'pce')
                     AND NOT EXISTS (SELECT 1 FROM occupancies
                                     WHERE delivery_point_id = $2)""",
                [(person_id, m, OCCUPANCY_START) for m in resident.meters],
            )
    return {
        "neighbourhoods": len(demo.neighbourhoods),
        "parcels": len(demo.parcels),
        "buildings": len(demo.buildings),
        "meters": len(demo.meters),
        "residents": len(demo.residents),
    }
