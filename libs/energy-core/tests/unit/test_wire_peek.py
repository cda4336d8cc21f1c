"""peek_stamp reads a batch's ``stamped`` without decoding its readings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from energy_core.domain.ids import FluksoSensorId, Prm
from energy_core.domain.readings import (
    Direction,
    Energy,
    Kind,
    Quality,
    Reading,
    ReadingBatch,
    Source,
    Stamp,
)
from energy_core.domain.units import Unit
from energy_core.wire import STAMP_INSTANT, batch_to_proto, decode_batch, peek_stamp

AT = datetime(2026, 12, 3, 18, 0, tzinfo=UTC)


@pytest.mark.parametrize("stamp", list(Stamp))
def test_the_stamp_of_any_batch(stamp: Stamp) -> None:
    minutes = tuple(
        Reading(Kind.INTERVAL, Unit.WH, AT + timedelta(minutes=i),
                AT + timedelta(minutes=i + 1), 12.5, Quality.RAW, Direction.CONSUMPTION)
        for i in range(500)
    )  # fmt: skip
    batch = ReadingBatch(
        Prm("30000000000001"), Source.ENEDIS_DATACONNECT, Energy.ELECTRICITY,
        minutes, stamp, AT, "b-1",
    )  # fmt: skip
    data = batch_to_proto(batch).SerializeToString()
    assert peek_stamp(data) == decode_batch(data).stamped


def test_live_flukso_power_is_stamped_instant_and_garbage_is_nothing() -> None:
    power = Reading(Kind.INSTANT, Unit.W, AT, AT, 640.0, Quality.RAW,
                    Direction.CONSUMPTION)  # fmt: skip
    live = ReadingBatch(FluksoSensorId("a1" * 16), Source.FLUKSO, Energy.ELECTRICITY,
                        (power,), Stamp.INSTANT)  # fmt: skip
    assert peek_stamp(batch_to_proto(live).SerializeToString()) == STAMP_INSTANT
    for garbage in (b"", b"\x0a\xff", b"\xff\xff\xff", b"not a protobuf at all"):
        assert peek_stamp(garbage) != STAMP_INSTANT
