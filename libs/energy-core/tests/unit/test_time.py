"""Local days in Europe/Paris have 23, 24 or 25 hours."""

from datetime import UTC, date, datetime

from energy_core.domain.time import (
    from_micros,
    hours_in_local_day,
    local_day_bounds,
    local_day_of,
    to_micros,
)


def test_spring_forward_day_has_23_hours() -> None:
    assert hours_in_local_day(date(2026, 3, 29)) == 23


def test_fall_back_day_has_25_hours() -> None:
    assert hours_in_local_day(date(2026, 10, 25)) == 25


def test_ordinary_day_has_24_hours() -> None:
    assert hours_in_local_day(date(2026, 6, 1)) == 24


def test_local_day_starts_at_paris_midnight() -> None:
    start, end = local_day_bounds(date(2026, 1, 15))
    assert start.astimezone(UTC) == datetime(2026, 1, 14, 23, 0, tzinfo=UTC)
    assert end.astimezone(UTC) == datetime(2026, 1, 15, 23, 0, tzinfo=UTC)


def test_instant_late_in_utc_day_belongs_to_next_paris_day() -> None:
    assert local_day_of(datetime(2026, 7, 1, 22, 30, tzinfo=UTC)) == date(2026, 7, 2)


def test_micros_roundtrip() -> None:
    instant = datetime(2026, 10, 25, 0, 59, 59, 999999, tzinfo=UTC)
    assert from_micros(to_micros(instant)) == instant
