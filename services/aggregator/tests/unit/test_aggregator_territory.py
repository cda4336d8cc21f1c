"""The in-memory territory follows delivery points from the territory topic."""

from __future__ import annotations

from aggregator.territory import Territory
from energy_core.wire import territory_entity

PRM, OTHER, SENSOR = "22150000000001", "22150000000002", "a1" * 16


def meter(meter_id: str, scheme: str, point: str = "") -> bytes:
    message = territory_entity("meter", {
        "meter_id": meter_id, "scheme": scheme, "energy": "electricity",
        "building_id": "B1", "direction": "consumption", "iris": "381510101",
        "delivery_point_id": point,
    })  # fmt: skip
    return message.SerializeToString()


def test_points_devices_and_their_moves() -> None:
    territory = Territory()
    territory.apply(f"meter:{PRM}", meter(PRM, "prm"))
    territory.apply(f"meter:{SENSOR}", meter(SENSOR, "flukso"))
    prm, sensor = territory.placement(PRM), territory.placement(SENSOR)
    assert prm is not None
    assert (prm.point, prm.is_device) == (PRM, False)
    assert sensor is not None
    assert (sensor.point, sensor.is_device) == (None, True)
    assert territory.devices == {}

    territory.apply(f"meter:{SENSOR}", meter(SENSOR, "flukso", PRM))  # attached
    assert territory.devices == {PRM: {SENSOR}}
    territory.apply(f"meter:{SENSOR}", meter(SENSOR, "flukso", OTHER))  # moved
    assert territory.devices == {OTHER: {SENSOR}}
    territory.apply(f"meter:{SENSOR}", None)  # deleted
    assert territory.devices == {}
    assert territory.placement(SENSOR) is None
