"""Local Paris periods → aware instants ([start, end), end exclusive)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from api.problems import Problem
from energy_core.domain.time import local_midnight, next_month_start

MAX_DAYS = 400
"""Longest span one request may ask for (a year and a bit); keeps queries bounded."""


def day_span(start: date, end: date) -> tuple[datetime, datetime]:
    """[start, end) local days as instants; refuses empty or over-long spans."""
    if end <= start:
        raise Problem(422, "end must be after start", kind="validation")
    if (end - start).days > MAX_DAYS:
        raise Problem(422, f"span is limited to {MAX_DAYS} days", kind="validation")
    return local_midnight(start), local_midnight(end)


def month_span(month: str) -> tuple[date, date]:
    """First day of ``YYYY-MM`` and first day of the next month."""
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError as exc:
        raise Problem(422, "month must be YYYY-MM", kind="validation") from exc
    return first, next_month_start(first)


def previous_month(month: str) -> str:
    """``YYYY-MM`` of the month before."""
    first, _ = month_span(month)
    return (first - timedelta(days=1)).strftime("%Y-%m")


def aware(value: datetime, name: str) -> datetime:
    """Refuses naive datetimes (which would be ambiguous on DST days)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise Problem(422, f"{name} needs a UTC offset", kind="validation")
    return value


def instant_span(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """[start, end) instants: aware, non-empty, at most MAX_DAYS long."""
    start, end = aware(start, "start"), aware(end, "end")
    if end <= start:
        raise Problem(422, "end must be after start", kind="validation")
    if end - start > timedelta(days=MAX_DAYS):
        raise Problem(422, f"span is limited to {MAX_DAYS} days", kind="validation")
    return start, end
