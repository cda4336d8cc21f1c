"""Time rules and the one Paris calendar of SEN1.

Aware instants only; a local day is [00:00, next 00:00) Europe/Paris, so it lasts
23, 24 or 25 hours; a local month is [1st 00:00, next 1st 00:00). Every service,
library and the api computes days, months and their bounds here: a second copy
of this arithmetic is how a 25-hour day ends up counted as 24.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from energy_core.errors import InvalidValueError

PARIS = ZoneInfo("Europe/Paris")
"""The local time zone of every "day" and "month" in SEN1."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_D = TypeVar("_D", date, datetime)


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


def local_midnight(day: date) -> datetime:
    """00:00 Europe/Paris of a calendar day, as an aware instant (a day's start)."""
    return datetime(day.year, day.month, day.day, tzinfo=PARIS)


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a local Paris day as aware datetimes (end is exclusive)."""
    return local_midnight(day), local_midnight(day + timedelta(days=1))


def day_length(day: date) -> timedelta:
    """How long a local day lasts: 23 h, 24 h or 25 h (real elapsed time)."""
    start, end = local_day_bounds(day)
    return end.astimezone(UTC) - start.astimezone(UTC)


def hours_in_local_day(day: date) -> int:
    """23 on the spring-forward Sunday, 25 on the fall-back Sunday, else 24."""
    return int(day_length(day) / timedelta(hours=1))


def days_between(start: date, end: date) -> list[date]:
    """Every calendar day of ``[start, end)`` (end exclusive; empty if end <= start)."""
    return [start + timedelta(days=i) for i in range((end - start).days)]


def month_start(day: date) -> date:
    """The first day of the month ``day`` is in."""
    return day.replace(day=1)


def next_month_start(day: date) -> date:
    """The first day of the month after the one ``day`` is in."""
    year, month = divmod(day.year * 12 + day.month, 12)
    return date(year, month + 1, 1)


def local_month_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of the local Paris month containing ``day`` (end exclusive)."""
    return local_midnight(month_start(day)), local_midnight(next_month_start(day))


def shift_months(value: _D, months: int) -> _D:
    """The same day (and wall-clock time) ``months`` later (negative: earlier),
    the day clamped to the 28th.

    Clamping to the 28th rather than to the month's last day keeps the result in
    every month and never further than asked: a consent of ``P3Y`` from 31 May ends
    on 28 May three years on (the three-year CHECK holds), and 24 months of history
    before 31 March start on 28 March (never before the gateway's limit).
    """
    year, month = divmod(value.year * 12 + value.month - 1 + months, 12)
    return value.replace(year=year, month=month + 1, day=min(value.day, 28))


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
    return local_month_bounds(local.date())[1] == end
