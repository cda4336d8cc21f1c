"""Readings: aware intervals, units that fit the kind, series identity."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from energy_core import InvalidValueError, wire
from energy_core.domain import (
    Direction,
    Energy,
    Kind,
    Period,
    Prm,
    Quality,
    Reading,
    ReadingBatch,
    SeriesKey,
    Source,
    Unit,
)
from energy_core.domain.readings import period_of_micros
from energy_core.domain.time import PARIS, to_micros

T0 = datetime(2026, 3, 29, 0, 0, tzinfo=UTC)


def interval(value: float = 1.0, **changes: object) -> Reading:
    fields: dict[str, object] = {
        "kind": Kind.INTERVAL,
        "unit": Unit.WH,
        "start": T0,
        "end": T0 + timedelta(minutes=30),
        "value": value,
    }
    fields.update(changes)
    return Reading(**fields)  # type: ignore[arg-type]


def test_naive_datetime_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidValueError) as excinfo:
        interval(start=datetime(2026, 3, 29))  # noqa: DTZ001 - the point of the test
    assert excinfo.value.field == "start"
    assert "naive" in str(excinfo.value)


def test_unknown_unit_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidValueError) as excinfo:
        Unit.parse("kWh/h")
    assert excinfo.value.field == "unit"


def test_unit_parse_accepts_upstream_spellings() -> None:
    assert Unit.parse("m³") is Unit.M3
    assert Unit.parse("KWH") is Unit.KWH


def test_interval_needs_end_after_start() -> None:
    with pytest.raises(InvalidValueError, match="end"):
        interval(end=T0)


def test_instant_is_a_point() -> None:
    with pytest.raises(InvalidValueError, match="point"):
        Reading(Kind.INSTANT, Unit.W, T0, T0 + timedelta(seconds=1), 5.0)


def test_power_unit_cannot_carry_energy() -> None:
    with pytest.raises(InvalidValueError, match="unit"):
        interval(unit=Unit.W)


def test_non_finite_value_is_refused() -> None:
    with pytest.raises(InvalidValueError, match="value"):
        interval(value=float("nan"))


def test_canonical_converts_kwh_to_wh() -> None:
    assert interval(1.5, unit=Unit.KWH).canonical().value == 1500.0
    assert interval(250, unit=Unit.L).canonical() == interval(0.25, unit=Unit.M3)


def test_quality_does_not_change_series_identity() -> None:
    raw = SeriesKey.of(Prm("30001610071843"), interval(quality=Quality.RAW))
    corrected = SeriesKey.of(Prm("30001610071843"), interval(quality=Quality.CORRECTED))
    assert raw == corrected
    assert raw.urn == "urn:dev:prm:30001610071843_consumption/energy/active"
    assert raw.urn_with_quality(Quality.RAW).endswith("/energy/active/raw")


def test_production_and_phase_make_distinct_series() -> None:
    meter = Prm("30001610071843")
    assert SeriesKey.of(meter, interval(direction=Direction.PRODUCTION)).urn.endswith(
        "_production/energy/active"
    )
    assert SeriesKey.of(meter, interval(channel="l2")).urn.endswith("/active/l2")


aware = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - bounds for hypothesis
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@given(
    start=aware,
    minutes=st.integers(1, 1440),
    value=st.floats(-1e12, 1e12, allow_nan=False),
    quality=st.sampled_from(Quality),
)
def test_wire_roundtrip_preserves_every_field(
    start: datetime, minutes: int, value: float, quality: Quality
) -> None:
    reading = interval(
        value, start=start, end=start + timedelta(minutes=minutes), quality=quality
    )
    batch = ReadingBatch(
        meter=Prm("30001610071843"),
        source=Source.ENEDIS_DATACONNECT,
        energy=Energy.ELECTRICITY,
        readings=(reading,),
        produced_at=T0,
    )
    decoded = wire.batch_from_proto(
        wire.decode_batch(wire.batch_to_proto(batch).SerializeToString())
    )
    assert decoded == batch


def test_garbage_bytes_are_a_payload_error() -> None:
    from energy_core import PayloadInvalidError

    with pytest.raises(PayloadInvalidError):
        wire.decode_batch(b"\xff\xff\xff")


def _local(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS).astimezone(UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("start", "end", "period"),
    [
        (_local(2026, 3, 29), _local(2026, 3, 30), Period.DAILY),  # 23 h
        (_local(2026, 10, 25), _local(2026, 10, 26), Period.DAILY),  # 25 h
        (_local(2026, 1, 10), _local(2026, 1, 11), Period.DAILY),
        (_local(2026, 3, 1), _local(2026, 4, 1), Period.MONTHLY),
        (_local(2026, 12, 1), _local(2027, 1, 1), Period.MONTHLY),
        (_local(2026, 1, 10, 0, 30), _local(2026, 1, 11, 0, 30), Period.NATIVE),
        (_local(2026, 1, 10), _local(2026, 1, 10, 0, 30), Period.NATIVE),
        (_local(2026, 1, 10), _local(2026, 1, 12), Period.NATIVE),  # two days
        (_local(2026, 3, 29), _local(2026, 3, 29) + timedelta(hours=24), Period.NATIVE),
    ],
)
def test_period_is_derived_from_local_days_and_months(
    start: datetime, end: datetime, period: Period
) -> None:
    reading = interval(start=start, end=end)
    assert SeriesKey.of(Prm("30001610071843"), reading).period is period
    assert period_of_micros(True, to_micros(start), to_micros(end)) is period


def test_daily_total_and_first_half_hour_are_distinct_series() -> None:
    """Both start at local midnight: without the period they would overwrite."""
    meter = Prm("30001610071843")
    day = interval(start=_local(2026, 1, 10), end=_local(2026, 1, 11))
    half_hour = interval(start=_local(2026, 1, 10), end=_local(2026, 1, 10, 0, 30))
    assert SeriesKey.of(meter, day) != SeriesKey.of(meter, half_hour)
    assert SeriesKey.of(meter, day).urn.endswith("_consumption/energy/active/daily")
    assert SeriesKey.of(meter, half_hour).urn.endswith("_consumption/energy/active")
