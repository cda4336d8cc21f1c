"""The in-memory territory: meter placement and neighbourhood capacities.

Why not a Faust table: every worker needs the WHOLE territory (a meter of any
partition may be read by any worker), while a Faust table is partitioned like its
topic; a GlobalTable would need a changelog topic we do not want to depend on with
the embedded broker. So each worker keeps a plain map, filled at start from
PostgreSQL (the registry is the source of truth) and then kept current by a
group-less consumer of the compacted territory topic (:func:`follow_territory`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import asyncpg

from energy_core import topics
from energy_core.kafka import make_consumer
from energy_core.settings import KafkaSettings
from energy_core.wire import decode_territory_entity

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a meter is: its building, parcel, IRIS and commune (None = unplaced)."""

    building_id: str | None
    parcel_idu: str | None
    iris: str | None
    commune_insee: str | None
    direction: str
    energy: str


UNPLACED_DEFAULTS = ("consumption", "electricity")

_BOOTSTRAP = """
SELECT m.meter_id, m.building_id, b.parcel_idu, b.iris, p.commune_insee,
       m.direction, m.energy
FROM meters m LEFT JOIN buildings b USING (building_id)
LEFT JOIN parcels p ON p.idu = b.parcel_idu
"""


class Territory:
    """meter id -> Placement, iris -> capacity (kW)."""

    def __init__(self) -> None:
        self.meters: dict[str, Placement] = {}
        self.capacity_kw: dict[str, float] = {}
        self.ready = asyncio.Event()

    def placement(self, meter_id: str) -> Placement | None:
        """The meter's placement, or None if the registry does not know it."""
        return self.meters.get(meter_id)

    async def load(self, conn: asyncpg.Connection) -> None:
        """Fills the map from the registry tables (at start, before consuming)."""
        for r in await conn.fetch(_BOOTSTRAP):
            self.meters[r["meter_id"]] = Placement(
                r["building_id"], r["parcel_idu"], r["iris"], r["commune_insee"],
                r["direction"], r["energy"],
            )  # fmt: skip
        for r in await conn.fetch("SELECT iris, capacity_kw FROM neighbourhoods"):
            self.capacity_kw[r["iris"]] = r["capacity_kw"]
        logger.info("territory loaded: %d meters", len(self.meters))
        self.ready.set()

    def apply(self, key: str, value: bytes | None) -> None:
        """Applies one record of the compacted topic (None value = deleted)."""
        entity, _, ident = key.partition(":")
        if value is None:
            if entity == "meter":
                self.meters.pop(ident, None)
            elif entity == "neighbourhood":
                self.capacity_kw.pop(ident, None)
            return
        message = decode_territory_entity(value)
        which = message.WhichOneof("entity")
        if which == "meter":
            m = message.meter
            self.meters[m.meter_id] = Placement(
                m.building_id or None, m.parcel_idu or None, m.iris or None,
                m.commune_insee or None, m.direction or UNPLACED_DEFAULTS[0],
                m.energy or UNPLACED_DEFAULTS[1],
            )  # fmt: skip
        elif which == "neighbourhood":
            self.capacity_kw[message.neighbourhood.iris] = (
                message.neighbourhood.capacity_kw
            )


async def follow_territory(
    territory: Territory, kafka: KafkaSettings, *, client_id: str
) -> None:
    """Reads the whole compacted topic (no group: every worker sees every key)."""
    consumer = make_consumer(
        kafka, [topics.TERRITORY], group_id=None, client_id=client_id
    )
    await consumer.start()
    try:
        async for record in consumer:
            try:
                key = record.key.decode() if record.key else ""
                territory.apply(key, record.value)
            except Exception:  # a bad territory record must not stop the worker
                logger.exception("skipping an unreadable territory record")
    finally:
        await consumer.stop()
