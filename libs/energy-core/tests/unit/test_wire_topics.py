"""energy_core.wire names what services need of the alerts and territory messages.

Services never import energy_core._pb (an import contract); these are the names they
use instead, so their behaviour is pinned here.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime

import pytest

from energy_core import wire
from energy_core.domain import (
    Direction,
    Energy,
    Kind,
    Quality,
    RowsBatch,
    SeriesRows,
    Source,
    Stamp,
)
from energy_core.domain.ids import Prm
from energy_core.domain.units import Unit
from energy_core.errors import InvalidValueError, PayloadInvalidError
from energy_core.wire import batch_to_proto, rows_to_proto


def test_alert_roundtrip_and_change_names() -> None:
    event = wire.AlertEvent(
        alert_id="a-1",
        iris="381510101",
        change=wire.ALERT_CHANGES["escalated"],
        level=2,
        previous_level=1,
        load_kw=812.5,
        capacity_kw=800.0,
        occurred_at_us=1_790_000_000_000_000,
    )
    back = wire.decode_alert(event.SerializeToString())
    assert back == event
    assert wire.ALERT_CHANGE_NAMES[back.change] == "escalated"
    assert set(wire.ALERT_CHANGES) == {"raised", "escalated", "deescalated", "cleared"}
    # every name maps to a distinct non-zero enum value (0 is "unspecified")
    assert sorted(wire.ALERT_CHANGE_NAMES) == [1, 2, 3, 4]


def test_undecodable_alert_is_a_payload_error() -> None:
    with pytest.raises(PayloadInvalidError, match="AlertEvent"):
        wire.decode_alert(b"\xff\xff\xff")


@pytest.mark.parametrize(
    ("kind", "values"),
    [
        ("neighbourhood", {"iris": "381510101", "capacity_kw": 800.0}),
        ("parcel", {"idu": "38151000AB0001"}),
        ("building", {"building_id": "b-1", "parcel_idu": "38151000AB0001"}),
        ("meter", {"meter_id": "30001610071843", "iris": "381510101"}),
    ],
)
def test_territory_entity_roundtrip(kind: str, values: dict[str, object]) -> None:
    entity = wire.territory_entity(kind, values)
    assert entity.WhichOneof("entity") == kind
    back = wire.decode_territory_entity(entity.SerializeToString())
    assert back == entity
    for field, value in values.items():
        assert getattr(getattr(back, kind), field) == value


def test_unknown_territory_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown territory entity kind"):
        wire.territory_entity("commune", {})


def test_undecodable_territory_record_is_a_payload_error() -> None:
    with pytest.raises(PayloadInvalidError, match="TerritoryEntity"):
        wire.decode_territory_entity(b"\xff\xff\xff")


def test_rows_batch_is_the_same_wire_record_as_its_reading_batch() -> None:
    """The bulk encoder writes protobuf bytes by hand: it must equal the slow path."""
    rng = random.Random(7)
    rows = []
    for _ in range(300):
        start = rng.randint(-(2**40), 2**52)  # before 1970 too (negative varints)
        rows.append(
            (
                start,
                start + rng.randint(1, 2**31),
                rng.uniform(-1e12, 1e12),
                rng.choice(list(Quality)),
            )
        )
    batch = RowsBatch(
        Prm("12345678901234"),
        Source.ENEDIS_SGE,
        Energy.ELECTRICITY,
        (
            SeriesRows(Kind.INTERVAL, Unit.WH, rows),
            SeriesRows(
                Kind.INDEX,
                Unit.KWH,
                [(9, 9, 0.0, Quality.RAW)],
                Direction.PRODUCTION,
                "HPH",
            ),
        ),
        Stamp.END,
        produced_at=datetime(2026, 1, 1, tzinfo=UTC),
        batch_id="b1",
    )
    assert batch.count == 301
    assert rows_to_proto(batch) == batch_to_proto(batch.to_batch())


def test_series_rows_refuse_what_a_reading_refuses() -> None:
    with pytest.raises(InvalidValueError):
        SeriesRows(Kind.INTERVAL, Unit.WH, [(10, 10, 1.0, Quality.RAW)])  # end == start
    with pytest.raises(InvalidValueError):
        SeriesRows(Kind.INTERVAL, Unit.WH, [(0, 10, math.nan, Quality.RAW)])
    with pytest.raises(InvalidValueError):
        SeriesRows(Kind.INTERVAL, Unit.VA, [(0, 10, 1.0, Quality.RAW)])  # no energy
    with pytest.raises(InvalidValueError):
        SeriesRows(Kind.INDEX, Unit.WH, [(0, 10, 1.0, Quality.RAW)])  # a point
