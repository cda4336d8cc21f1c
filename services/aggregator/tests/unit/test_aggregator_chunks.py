"""How a large batch is cut into transactions: days first, bounded, nothing lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aggregator.pipeline import chunks
from energy_core.domain import Energy, Prm, Source
from energy_core.domain.readings import Direction, Kind, Quality, Reading, ReadingBatch
from energy_core.domain.units import Unit
from energy_core.wire import batch_to_proto, decode_batch

T0 = datetime(2026, 1, 4, 23, tzinfo=UTC)


def record(prm: str, n: int, step: timedelta) -> bytes:
    readings = tuple(
        Reading(
            kind=Kind.INTERVAL, unit=Unit.WH, start=T0 + i * step,
            end=T0 + (i + 1) * step, value=float(i), quality=Quality.RAW,
            direction=Direction.CONSUMPTION,
        )
        for i in range(n)
    )  # fmt: skip
    batch = ReadingBatch(
        meter=Prm(prm), source=Source.ENEDIS_DATACONNECT, energy=Energy.ELECTRICITY,
        readings=readings,
    )  # fmt: skip
    return batch_to_proto(batch).SerializeToString()


DAY, HALF = timedelta(days=1), timedelta(minutes=30)


def test_a_small_batch_stays_one_transaction_in_its_order() -> None:
    values = [record("12345678901234", 48, HALF), record("12345678901235", 30, DAY)]
    assert chunks(values, 1000) == [values]


def test_a_large_batch_is_cut_days_first_and_bounded() -> None:
    curve_a = record("12345678901234", 336, HALF)
    days_a = record("12345678901234", 365, DAY)
    curve_b = record("12345678901235", 336, HALF)
    curve_b2 = record("12345678901235", 48, HALF)
    days_b = record("12345678901235", 364, DAY)
    values = [curve_a, days_a, curve_b, curve_b2, days_b]
    parts = chunks(values, 800)
    flat = [v for part in parts for v in part]
    assert sorted(flat) == sorted(values)  # nothing lost, nothing twice
    assert flat[:2] == [days_a, days_b]  # days first, in their order
    assert flat[2:] == [curve_a, curve_b, curve_b2]  # each series keeps its order
    for part in parts:
        assert sum(len(decode_batch(v).readings) for v in part) <= 800
    assert parts[0] == [days_a, days_b]  # 729 readings: the days commit alone
    assert len(parts) == 2


def test_a_record_larger_than_the_bound_gets_its_own_transaction() -> None:
    big, small = record("12345678901234", 900, HALF), record("12345678901235", 10, HALF)
    assert chunks([big, small], 500) == [[big], [small]]


def test_an_undecodable_record_goes_first_and_is_kept() -> None:
    good = record("12345678901234", 600, HALF)
    parts = chunks([good, b"\xff\xff not a batch"], 500)
    assert parts == [[b"\xff\xff not a batch"], [good]]


def test_live_power_goes_before_everything() -> None:
    readings = tuple(
        Reading(
            kind=Kind.INSTANT, unit=Unit.W, start=T0 + i * timedelta(seconds=1),
            end=T0 + i * timedelta(seconds=1), value=400.0, quality=Quality.RAW,
            direction=Direction.CONSUMPTION,
        )
        for i in range(5)
    )  # fmt: skip
    live = batch_to_proto(
        ReadingBatch(meter=Prm("12345678901236"), source=Source.FLUKSO,
                     energy=Energy.ELECTRICITY, readings=readings)
    ).SerializeToString()  # fmt: skip
    days = record("12345678901234", 365, DAY)
    curve = record("12345678901235", 336, HALF)
    parts = chunks([curve, days, live], 400)
    assert parts == [[live, days], [curve]]  # 370 readings, then 336


def test_energy_of_days_goes_before_a_day_s_max_power_then_curves() -> None:
    """Gas days and daily kWh are what the dashboards show first; the daily max
    power (as many readings) waits behind them, before the curves."""
    max_power = batch_to_proto(
        ReadingBatch(
            meter=Prm("12345678901234"), source=Source.ENEDIS_DATACONNECT,
            energy=Energy.ELECTRICITY,
            readings=tuple(
                Reading(kind=Kind.MAXIMUM, unit=Unit.VA, start=T0 + i * DAY,
                        end=T0 + (i + 1) * DAY, value=3000.0)
                for i in range(300)
            ),
        )
    ).SerializeToString()  # fmt: skip
    curve = record("12345678901235", 336, HALF)
    days = record("12345678901236", 365, DAY)
    parts = chunks([curve, max_power, days], 700)
    assert parts == [[days, max_power], [curve]]  # 665 readings, then 336
    parts = chunks([max_power, curve, days], 400)
    assert parts == [[days], [max_power], [curve]]
