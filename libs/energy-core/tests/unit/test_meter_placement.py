"""MeterPlacement: delivery points (PRM, PCE) vs measuring devices attached to one."""

from __future__ import annotations

import pytest

from energy_core.domain.ids import FluksoSensorId, Pce, Prm
from energy_core.domain.readings import Direction, Energy
from energy_core.domain.territory import MeterPlacement, Sector
from energy_core.errors import InvalidValueError

PRM = Prm("22150000000001")
SENSOR = FluksoSensorId("a1" * 16)


def place(meter, point=None, direction=Direction.CONSUMPTION) -> MeterPlacement:
    return MeterPlacement(
        meter, Energy.ELECTRICITY, direction, Sector.RESIDENTIAL, "B1",
        delivery_point=point,
    )  # fmt: skip


def test_a_prm_is_its_own_delivery_point() -> None:
    prm = place(PRM)
    assert prm.is_delivery_point
    assert prm.point == PRM


def test_a_device_counts_for_the_point_it_measures_in_either_direction() -> None:
    main = place(SENSOR, PRM)
    pv = place(FluksoSensorId("b2" * 16), PRM, Direction.PRODUCTION)
    assert not main.is_delivery_point
    assert main.point == pv.point == PRM


def test_an_unattached_device_counts_nowhere() -> None:
    assert place(SENSOR).point is None


@pytest.mark.parametrize(
    ("meter", "point"),
    [
        (PRM, Pce("21380000000001")),  # a point cannot measure another point
        (SENSOR, FluksoSensorId("c3" * 16)),  # a device is no delivery point
        (SENSOR, "22150000000001"),  # an unvalidated id
    ],
)
def test_invalid_attachments_are_refused(meter, point) -> None:
    with pytest.raises(InvalidValueError):
        place(meter, point)
