"""Time rules: aware instants only, local days in Europe/Paris (23, 24 or 25 hours)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from energy_core.errors import InvalidValueError

PARIS = ZoneInfo("Europe/Paris")
"""The local time zone of every "day" and "month" in SEN1."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def require_aware(value: datetime, field: str) -> datetime:
    """Returns ``value`` if it carries a UTC offset; refuses naive datetimes."""
    if not isinstance(value, datetime):
        raise InvalidValueError(field, value, "expected a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidValueError(
            field, value, "naive datetime; give a timezone-aware instant"
        )
    return value


def to_micros(value: datetime) -> int:
    """Aware datetime -> integer microseconds since the Unix epoch (UTC)."""
    delta = require_aware(value, "timestamp") - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(micros: int) -> datetime:
    """Integer microseconds since the epoch -> aware UTC datetime."""
    return _EPOCH + timedelta(microseconds=micros)


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a local Paris day as aware datetimes (end is exclusive)."""
    start = datetime(day.year, day.month, day.day, tzinfo=PARIS)
    following = day + timedelta(days=1)
    end = datetime(following.year, following.month, following.day, tzinfo=PARIS)
    return start, end


def hours_in_local_day(day: date) -> int:
    """23 on the spring-forward Sunday, 25 on the fall-back Sunday, else 24."""
    start, end = local_day_bounds(day)
    return int((end.astimezone(UTC) - start.astimezone(UTC)) / timedelta(hours=1))


def local_day_of(instant: datetime) -> date:
    """The Paris calendar day an aware instant falls in."""
    return require_aware(instant, "instant").astimezone(PARIS).date()


def is_local_day(start: datetime, end: datetime) -> bool:
    """True if ``[start, end)`` is exactly one local Paris day (23, 24 or 25 h)."""
    local = require_aware(start, "start").astimezone(PARIS)
    if (local.hour, local.minute, local.second, local.microsecond) != (0, 0, 0, 0):
        return False
    return local_day_bounds(local.date())[1] == end


def is_local_month(start: datetime, end: datetime) -> bool:
    """True if ``[start, end)`` is exactly one local Paris calendar month."""
    local = require_aware(start, "start").astimezone(PARIS)
    if (local.day, local.hour, local.minute, local.second, local.microsecond) != (
        1, 0, 0, 0, 0,
    ):  # fmt: skip
        return False
    year, month = (
        (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    )
    return datetime(year, month, 1, tzinfo=PARIS) == end
