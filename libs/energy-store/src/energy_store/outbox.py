"""Relays territory changes from the outbox table to the compacted territory topic.

State-based: for each queued key the relay publishes the entity as it is *now*
(or a tombstone if it is gone), so replays and duplicates are harmless and the
compacted topic converges on the registry. Rows are marked published only after
the broker acknowledged them (at-least-once).
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg

from energy_core import topics
from energy_core.kafka import Publisher
from energy_core.wire import TerritoryEntity, territory_entity

logger = logging.getLogger(__name__)

_CLAIM = """
SELECT id, entity, entity_key FROM territory_outbox
WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED
"""

_LOOKUPS: dict[str, str] = {
    "neighbourhoods": """SELECT iris, commune_insee, name, capacity_kw
                         FROM neighbourhoods WHERE iris = ANY($1::text[])""",
    "parcels": "SELECT idu, commune_insee, iris FROM parcels WHERE idu = ANY($1::text[])",
    "buildings": """SELECT b.building_id, b.parcel_idu, b.iris, p.commune_insee,
                           b.building_type, b.surface_m2
                    FROM buildings b JOIN parcels p ON p.idu = b.parcel_idu
                    WHERE b.building_id = ANY($1::text[])""",
    "meters": """SELECT m.meter_id, m.scheme, m.energy, coalesce(m.building_id, '')
                            AS building_id, m.direction, m.sector,
                        coalesce(b.iris, '') AS iris,
                        coalesce(b.parcel_idu, '') AS parcel_idu,
                        coalesce(p.commune_insee, '') AS commune_insee,
                        coalesce(m.delivery_point_id, '') AS delivery_point_id
                 FROM meters m LEFT JOIN buildings b USING (building_id)
                 LEFT JOIN parcels p ON p.idu = b.parcel_idu
                 WHERE m.meter_id = ANY($1::text[])""",
}

_PREFIX = {
    "neighbourhoods": "neighbourhood",
    "parcels": "parcel",
    "buildings": "building",
    "meters": "meter",
}


def _entity(entity: str, row: Any) -> TerritoryEntity:
    return territory_entity(_PREFIX[entity], dict(row))


def entity_key(entity: str, key: str) -> str:
    """The Kafka key of an entity, e.g. ``meter:30001610071843``."""
    return f"{_PREFIX[entity]}:{key}"


async def relay_once(
    pool: asyncpg.Pool, publisher: Publisher, *, limit: int = 5000
) -> int:
    """Publishes up to ``limit`` pending changes; returns how many were relayed."""
    async with pool.acquire() as conn, conn.transaction():
        claimed = await conn.fetch(_CLAIM, limit)
        if not claimed:
            return 0
        keys_by_entity: dict[str, set[str]] = {}
        for row in claimed:
            keys_by_entity.setdefault(row["entity"], set()).add(row["entity_key"])
        for entity, keys in keys_by_entity.items():
            rows = await conn.fetch(_LOOKUPS[entity], list(keys))
            found = {str(r[0]): r for r in rows}
            for key in sorted(keys):
                row = found.get(key)
                value = _entity(entity, row) if row is not None else None
                await publisher.publish(
                    topics.TERRITORY, entity_key(entity, key), value
                )
        await publisher.flush()
        await conn.execute(
            "UPDATE territory_outbox SET published_at = now() WHERE id = ANY($1::bigint[])",
            [r["id"] for r in claimed],
        )
    logger.info("relayed %d territory changes", len(claimed))
    return len(claimed)
