"""The one Paris calendar: DST days, local midnight, months shifted and clamped."""

from datetime import UTC, date, datetime, timedelta

import pytest

from energy_core.domain.time import (
    PARIS,
    day_length,
    days_between,
    is_local_month,
    local_midnight,
    local_month_bounds,
    month_start,
    next_month_start,
    shift_months,
)


@pytest.mark.parametrize(
    ("day", "hours"),
    [(date(2026, 3, 29), 23), (date(2026, 10, 25), 25), (date(2026, 7, 14), 24)],
)
def test_day_length_follows_dst(day: date, hours: int) -> None:
    assert day_length(day) == timedelta(hours=hours)


def test_local_midnight_is_paris_midnight_in_winter_and_summer() -> None:
    assert local_midnight(date(2026, 1, 15)).astimezone(UTC) == datetime(
        2026, 1, 14, 23, tzinfo=UTC
    )
    assert local_midnight(date(2026, 7, 15)).astimezone(UTC) == datetime(
        2026, 7, 14, 22, tzinfo=UTC
    )


def test_month_bounds_lose_and_gain_the_dst_hour() -> None:
    start, end = local_month_bounds(date(2026, 3, 17))
    assert start == datetime(2026, 3, 1, tzinfo=PARIS)
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(days=31, hours=-1)
    start, end = local_month_bounds(date(2026, 10, 31))
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(days=31, hours=1)
    assert is_local_month(start, end)
    assert not is_local_month(start, end - timedelta(hours=1))


def test_december_rolls_into_next_year() -> None:
    assert next_month_start(date(2026, 12, 31)) == date(2027, 1, 1)
    assert month_start(date(2026, 12, 31)) == date(2026, 12, 1)
    assert local_month_bounds(date(2026, 12, 5))[1] == datetime(
        2027, 1, 1, tzinfo=PARIS
    )


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 3, 31), -24, date(2024, 3, 28)),  # clamped, never before
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2024, 1, 29), 1, date(2024, 2, 28)),  # leap year: still the 28th
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2026, 1, 15), -1, date(2025, 12, 15)),
        (date(2026, 5, 10), 36, date(2029, 5, 10)),
        (date(2026, 5, 10), 0, date(2026, 5, 10)),
    ],
)
def test_shift_months_clamps_to_the_28th(
    day: date, months: int, expected: date
) -> None:
    assert shift_months(day, months) == expected


def test_shift_months_keeps_wall_clock_and_zone_of_an_instant() -> None:
    moment = datetime(2026, 1, 31, 10, 30, tzinfo=PARIS)  # winter, +01:00
    later = shift_months(moment, 6)  # summer, +02:00: same wall clock
    assert later == datetime(2026, 7, 28, 10, 30, tzinfo=PARIS)
    assert later.utcoffset() == timedelta(hours=2)
    utc = datetime(2026, 5, 31, 12, tzinfo=UTC)
    assert shift_months(utc, 36) == datetime(2029, 5, 28, 12, tzinfo=UTC)
    assert shift_months(utc, 36) - utc <= timedelta(days=3 * 366)


def test_days_between_is_end_exclusive() -> None:
    assert days_between(date(2026, 3, 28), date(2026, 3, 31)) == [
        date(2026, 3, 28),
        date(2026, 3, 29),
        date(2026, 3, 30),
    ]
    assert days_between(date(2026, 3, 28), date(2026, 3, 28)) == []
    assert days_between(date(2026, 3, 28), date(2026, 3, 1)) == []
