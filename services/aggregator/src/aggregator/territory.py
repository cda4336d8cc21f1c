"""The in-memory territory: meter placement, delivery points, neighbourhood capacities.

Each meter's :class:`Placement` says which delivery point its readings count for
(``point``): a PRM/PCE is its own point; a measuring device (a Flukso sensor)
counts for the PRM/PCE it is attached to, carried by the territory topic
(``delivery_point_id``), so the write path never asks PostgreSQL; a device no one
attached counts nowhere (``point`` None). The reverse map :attr:`Territory.devices`
(point -> its devices) tells the rollups which points need the source precedence
(settled utility data over real-time device data, :mod:`aggregator.rollups`).

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


POINT_SCHEMES = frozenset({"prm", "pce"})
"""Schemes whose meters are delivery points themselves."""


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a meter is: its building, parcel, IRIS and commune (None = unplaced),
    and the delivery point it counts for (itself, the point a device measures, or
    None for an unattached device)."""

    building_id: str | None
    parcel_idu: str | None
    iris: str | None
    commune_insee: str | None
    direction: str
    energy: str
    point: str | None = None
    is_device: bool = False


UNPLACED_DEFAULTS = ("consumption", "electricity")

_BOOTSTRAP = """
SELECT m.meter_id, m.scheme, m.delivery_point_id, m.building_id, b.parcel_idu,
       b.iris, p.commune_insee, m.direction, m.energy
FROM meters m LEFT JOIN buildings b USING (building_id)
LEFT JOIN parcels p ON p.idu = b.parcel_idu
"""


def _point(meter_id: str, scheme: str, delivery_point_id: str | None) -> str | None:
    return meter_id if scheme in POINT_SCHEMES else (delivery_point_id or None)


class Territory:
    """meter id -> Placement, point -> its devices, iris -> capacity (kW)."""

    def __init__(self) -> None:
        self.meters: dict[str, Placement] = {}
        self.devices: dict[str, set[str]] = {}
        self.capacity_kw: dict[str, float] = {}
        self.ready = asyncio.Event()

    def placement(self, meter_id: str) -> Placement | None:
        """The meter's placement, or None if the registry does not know it."""
        return self.meters.get(meter_id)

    def _set(self, meter_id: str, place: Placement | None) -> None:
        old = self.meters.pop(meter_id, None)
        if old is not None and old.is_device and old.point is not None:
            attached = self.devices.get(old.point)
            if attached is not None:
                attached.discard(meter_id)
                if not attached:
                    del self.devices[old.point]
        if place is None:
            return
        self.meters[meter_id] = place
        if place.is_device and place.point is not None:
            self.devices.setdefault(place.point, set()).add(meter_id)

    async def load(self, conn: asyncpg.Connection) -> None:
        """Fills the map from the registry tables (at start, before consuming)."""
        for r in await conn.fetch(_BOOTSTRAP):
            self._set(r["meter_id"], Placement(
                r["building_id"], r["parcel_idu"], r["iris"], r["commune_insee"],
                r["direction"], r["energy"],
                _point(r["meter_id"], r["scheme"], r["delivery_point_id"]),
                r["scheme"] not in POINT_SCHEMES,
            ))  # fmt: skip
        for r in await conn.fetch("SELECT iris, capacity_kw FROM neighbourhoods"):
            self.capacity_kw[r["iris"]] = r["capacity_kw"]
        logger.info("territory loaded: %d meters", len(self.meters))
        self.ready.set()

    def apply(self, key: str, value: bytes | None) -> None:
        """Applies one record of the compacted topic (None value = deleted)."""
        entity, _, ident = key.partition(":")
        if value is None:
            if entity == "meter":
                self._set(ident, None)
            elif entity == "neighbourhood":
                self.capacity_kw.pop(ident, None)
            return
        message = decode_territory_entity(value)
        which = message.WhichOneof("entity")
        if which == "meter":
            m = message.meter
            self._set(m.meter_id, Placement(
                m.building_id or None, m.parcel_idu or None, m.iris or None,
                m.commune_insee or None, m.direction or UNPLACED_DEFAULTS[0],
                m.energy or UNPLACED_DEFAULTS[1],
                _point(m.meter_id, m.scheme, m.delivery_point_id),
                m.scheme not in POINT_SCHEMES,
            ))  # fmt: skip
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
