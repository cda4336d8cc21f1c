"""The demo territory loads idempotently and reaches the compacted topic via the outbox."""

from __future__ import annotations

import asyncpg
import pytest

from energy_core import topics
from energy_core._pb.energy.territory.v1 import territory_pb2
from energy_core.kafka import KafkaPublisher, make_consumer
from energy_core.settings import KafkaSettings
from energy_store import demo
from energy_store.loader import load_territory
from energy_store.outbox import relay_once

pytestmark = pytest.mark.integration


async def test_demo_territory_meets_the_brief_and_loads_twice(
    pg_pool: asyncpg.Pool,
) -> None:
    territory = demo.build()
    await load_territory(pg_pool, territory)
    await load_territory(pg_pool, territory)
    counts = await pg_pool.fetchrow(
        """SELECT (SELECT count(*) FROM neighbourhoods) AS n,
                  (SELECT count(*) FROM parcels) AS p,
                  (SELECT count(*) FROM buildings) AS b,
                  (SELECT count(*) FROM meters) AS m,
                  (SELECT count(*) FROM consents) AS c"""
    )
    assert counts is not None
    assert counts["n"] == 15  # Échirolles' real IRIS
    assert counts["p"] == len(territory.parcels) >= 80
    assert counts["b"] == len(territory.buildings) >= 150
    assert counts["m"] == len(territory.meters) >= 500
    assert counts["c"] == sum(len(r.meters) for r in territory.residents)


async def test_malformed_idu_is_refused_by_the_database(pg_pool: asyncpg.Pool) -> None:
    await load_territory(pg_pool, demo.build())
    with pytest.raises(asyncpg.CheckViolationError, match="parcels_idu_check"):
        await pg_pool.execute(
            "INSERT INTO parcels (idu, commune_insee, iris, geometry) "
            "VALUES ('38151000ab0001', '38151', '381510101', '{}'::jsonb)"
        )


async def test_outbox_relay_mirrors_the_registry_on_the_topic(
    pg_pool: asyncpg.Pool, kafka_settings: KafkaSettings
) -> None:
    territory = demo.build()
    await load_territory(pg_pool, territory)
    publisher = KafkaPublisher(kafka_settings, client_id="test-relay")
    await publisher.start()
    try:
        relayed = 0
        while n := await relay_once(pg_pool, publisher, limit=100):
            relayed += n
        await pg_pool.execute(
            "UPDATE neighbourhoods SET capacity_kw = 99 WHERE iris = '381510101'"
        )
        assert await relay_once(pg_pool, publisher) == 1
    finally:
        await publisher.stop()
    assert relayed == (
        len(territory.parcels)
        + len(territory.buildings)
        + len(territory.meters)
        + len(territory.neighbourhoods)
    )

    consumer = make_consumer(
        kafka_settings, [topics.TERRITORY], group_id=None, client_id="t"
    )
    latest: dict[str, territory_pb2.TerritoryEntity] = {}
    await consumer.start()
    try:

        def updated() -> bool:
            hood = latest.get("neighbourhood:381510101")
            return hood is not None and hood.neighbourhood.capacity_kw == 99

        while len(latest) < relayed or not updated():
            polled = await consumer.getmany(timeout_ms=5000)
            assert polled, f"only {len(latest)} keys arrived"
            for messages in polled.values():
                for m in messages:
                    entity = territory_pb2.TerritoryEntity()
                    entity.ParseFromString(m.value)
                    latest[m.key.decode()] = entity
    finally:
        await consumer.stop()
    meter = territory.meters[0]
    assert latest[f"meter:{meter.meter}"].meter.iris == "381510101"
    assert latest[f"meter:{meter.meter}"].meter.parcel_idu.startswith("38151000")
    # Every Flukso series is a device attached to its house's PRM, on the topic too.
    devices = [m for m in territory.meters if not m.is_delivery_point]
    assert devices
    for device in devices:
        on_topic = latest[f"meter:{device.meter}"].meter
        assert on_topic.delivery_point_id == str(device.delivery_point)
        assert on_topic.building_id == device.building_id
    assert latest[f"meter:{meter.meter}"].meter.delivery_point_id == ""


async def test_demo_houses_are_one_point_each(pg_pool: asyncpg.Pool) -> None:
    """Each Flukso house: one PRM, its sensors attached to it (none unattached)."""
    territory = demo.build()
    await load_territory(pg_pool, territory)
    rows = await pg_pool.fetch(
        """SELECT d.building_id, d.delivery_point_id, p.scheme, p.building_id AS pb
           FROM meters d LEFT JOIN meters p ON p.meter_id = d.delivery_point_id
           WHERE d.scheme = 'flukso'"""
    )
    assert len(rows) == sum(
        len({s.meter_id for s in f.sensors}) for f in territory.flukso_devices
    )
    for r in rows:
        assert (r["scheme"], r["pb"]) == ("prm", r["building_id"])
    houses = {f.building_id for f in territory.flukso_devices}
    assert len({r["delivery_point_id"] for r in rows}) == len(houses)
