"""The bucket rule and DST-correct local buckets (reference implementation)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aggregator.buckets import bucket_bounds, buckets_of


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("instant", "hours"),
    [
        (utc(2026, 3, 29, 12), 23),  # spring forward
        (utc(2026, 10, 25, 12), 25),  # fall back
        (utc(2026, 6, 1, 12), 24),
    ],
)
def test_local_day_lasts_23_24_or_25_hours(instant: datetime, hours: int) -> None:
    start, end = bucket_bounds("P1D", instant)
    assert end - start == timedelta(hours=hours)


def test_day_starts_at_local_midnight() -> None:
    start, end = bucket_bounds("P1D", utc(2026, 10, 25, 12))
    assert start == utc(2026, 10, 24, 22)
    assert end == utc(2026, 10, 25, 23)


def test_hours_of_fall_back_day_are_distinct() -> None:
    # 00:00 and 01:00 UTC on 2026-10-25 are both 02:xx Paris (CEST then CET).
    first = bucket_bounds("PT1H", utc(2026, 10, 25, 0, 10))
    second = bucket_bounds("PT1H", utc(2026, 10, 25, 1, 10))
    assert first == (utc(2026, 10, 25, 0), utc(2026, 10, 25, 1))
    assert second == (utc(2026, 10, 25, 1), utc(2026, 10, 25, 2))


def test_month_bounds_in_local_time() -> None:
    start, end = bucket_bounds("P1M", utc(2026, 3, 15))
    assert start == utc(2026, 2, 28, 23)  # 1 March 00:00 CET
    assert end == utc(2026, 3, 31, 22)  # 1 April 00:00 CEST


def test_half_hour_reading_goes_into_all_four_buckets() -> None:
    found = buckets_of(utc(2026, 1, 10, 8, 30), utc(2026, 1, 10, 9))
    assert [b for b, _, _ in found] == ["PT30M", "PT1H", "P1D", "P1M"]


def test_daily_reading_only_goes_into_day_and_month() -> None:
    start, end = bucket_bounds("P1D", utc(2026, 1, 10, 12))
    assert [b for b, _, _ in buckets_of(start, end)] == ["P1D", "P1M"]


def test_reading_straddling_two_days_only_goes_into_month() -> None:
    found = buckets_of(utc(2026, 1, 10, 22, 30), utc(2026, 1, 11, 1))
    assert [b for b, _, _ in found] == ["P1M"]


def test_unknown_bucket_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown bucket"):
        bucket_bounds("PT15M", utc(2026, 1, 1))
