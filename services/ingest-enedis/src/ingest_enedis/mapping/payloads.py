"""Data Connect v5 payloads -> SEN1 domain types (pure functions, no I/O).

Timestamp conventions of the upstream (see docs/upstreams/enedis.md §1.4):

* daily data (``daily_consumption``, ``daily_production``): ``date`` is a local
  Paris calendar day ``YYYY-MM-DD``; we emit the interval ``[00:00, next 00:00)``
  of that local day (23, 24 or 25 hours) and stamp the batch ``Stamp.START``;
* load curves: ``date`` is ``YYYY-MM-DD HH:MM:SS`` in local time *without offset*
  and marks the **end** of the interval; ``interval_length`` (``PT10M`` … ``PT60M``)
  may change from one point to the next. On the fall-back day the local times
  02:00-02:59 occur twice, so a point's offset is chosen as the first instant after
  the previous point's end (the order of points is the only disambiguator);
* daily max power: ``date`` is the instant of the peak; we emit a ``Kind.MAXIMUM``
  reading over the local day containing the peak (``Stamp.INSTANT``).

Values are strings; ``"null"``, ``null``, ``""`` or an omitted point mean "no data"
and produce no reading (the gap is visible to :func:`missing_days`).

Two paths give the same wire record. :func:`to_rows` is the one the collector
uses: rows of integer microseconds (aware by construction) in a
:class:`~energy_core.domain.RowsBatch`, what a series shares (kind, unit,
direction) validated once, encoded by ``energy_core.wire.rows_to_proto``; a bad
point (a value that is not a finite number, a date or step that does not parse)
is left out with its reason, for a dead letter, and its day stays a hole. Why:
one validated :class:`Reading` per point, then one protobuf message per
reading, was most of ingest-enedis' CPU in a backfill (a demo year is ~450,000
daily points and ~3 M curve points). :func:`to_batch` (``Reading`` objects) is
kept for tests and callers that want domain objects; the unit tests check both
paths give the same bytes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from energy_core.domain import (
    PARIS,
    Direction,
    Energy,
    Kind,
    Prm,
    Quality,
    Reading,
    ReadingBatch,
    RowsBatch,
    SeriesRows,
    Source,
    Stamp,
    Unit,
)
from energy_core.domain.time import (
    day_length,
    days_between,
    local_day_bounds,
    local_day_of,
)
from energy_core.errors import PayloadInvalidError
from ingest_enedis.streams import Stream

_STEP = re.compile(r"PT(\d+)M")
_NULLS = frozenset({"", "null", "none", "nan"})


def parse_value(raw: object) -> float | None:
    """A Data Connect value (a string) as a float; None when missing or "null"."""
    if raw is None:
        return None
    text = str(raw).strip()
    if text.lower() in _NULLS:
        return None
    try:
        value = float(text)
    except ValueError as exc:
        raise PayloadInvalidError(f"value {text!r} is not a number") from exc
    if not math.isfinite(value):
        raise PayloadInvalidError(f"value {text!r} is not a finite number")
    return value


def parse_step(raw: object) -> timedelta:
    """``PT30M`` -> 30 minutes (``PT5M``, ``PT10M``, ``PT15M``, ``PT60M`` too)."""
    return _parse_step(str(raw or "").strip())


@lru_cache(maxsize=64)
def _parse_step(text: str) -> timedelta:
    match = _STEP.fullmatch(text)
    if not match or int(match.group(1)) <= 0:
        raise PayloadInvalidError(f"interval_length {text!r} is not PT<n>M")
    return timedelta(minutes=int(match.group(1)))


def _parse_local(text: str) -> datetime:
    """``YYYY-MM-DD HH:MM:SS`` (naive local) or ISO with offset/Z (2025 variant)."""
    text = text.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise PayloadInvalidError(f"date {text!r} is not a Data Connect date") from exc
    if parsed.tzinfo is None and "T" in text:
        return parsed.replace(tzinfo=PARIS)
    return parsed


def resolve_local_end(text: str, after: datetime | None) -> datetime:
    """The aware instant of an end-stamped local time, the first one after ``after``.

    Local times of the fall-back hour exist twice (fold 0 = summer time first);
    local times skipped in spring are read with the offset before the change.
    """
    parsed = _parse_local(text)
    if parsed.tzinfo is not None:
        return parsed.astimezone(UTC)
    first, second = _offsets(text[:13])
    naive_utc = parsed.replace(tzinfo=UTC)
    if first == second:  # every hour of the year but two
        return naive_utc - first
    candidates = sorted({naive_utc - first, naive_utc - second})
    if after is not None:
        for candidate in candidates:
            if candidate > after:
                return candidate
    return candidates[0]


@lru_cache(maxsize=8192)
def _offsets(local_hour: str) -> tuple[timedelta, timedelta]:
    """UTC offsets (fold 0, fold 1) of a local ``YYYY-MM-DD HH`` (cached: a curve
    has one lookup per point, the zone rules one answer per hour)."""
    try:
        local = datetime.fromisoformat(local_hour + ":00").replace(tzinfo=PARIS)
    except ValueError as exc:
        raise PayloadInvalidError(f"date {local_hour!r} is not a local time") from exc
    return (
        local.utcoffset() or timedelta(),
        local.replace(fold=1).utcoffset() or timedelta(),
    )


def _interval_readings(payload: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    try:
        points = payload["meter_reading"].get("interval_reading") or []
    except (KeyError, AttributeError, TypeError) as exc:
        raise PayloadInvalidError("no meter_reading in the payload") from exc
    if not isinstance(points, list):
        raise PayloadInvalidError("interval_reading is not a list")
    return points


def curve_readings(payload: Mapping[str, Any], direction: Direction) -> list[Reading]:
    """Load-curve points (mean W over the step, end-stamped) -> Wh intervals.

    The hot path of a backfill (336 points a window): the per-point work is kept
    to one ISO parse, cached zone offsets and cached steps.
    """
    readings: list[Reading] = []
    append = readings.append
    previous_end: datetime | None = None
    for point in _interval_readings(payload):
        end = resolve_local_end(str(point.get("date", "")), previous_end)
        previous_end = end
        step, hours = _step_hours(str(point.get("interval_length") or "PT30M"))
        watts = parse_value(point.get("value"))
        if watts is None:
            continue
        append(
            Reading(
                Kind.INTERVAL,
                Unit.WH,
                end - step,
                end,
                watts * hours,
                direction=direction,
            )
        )
    return readings


@lru_cache(maxsize=64)
def _step_hours(raw: str) -> tuple[timedelta, float]:
    step = parse_step(raw)
    return step, step.total_seconds() / 3600.0


_day_bounds = lru_cache(maxsize=4096)(local_day_bounds)
"""A local day's aware ``[start, end)``, cached: every PRM of a backfill maps the
same year of days (the daily pass of `make run`'s demo is ~450,000 of them)."""


@lru_cache(maxsize=4096)
def _day_of(text: str) -> date:
    parsed = _parse_local(text)
    if parsed.tzinfo is not None:
        return local_day_of(parsed)
    return parsed.date()


def daily_readings(payload: Mapping[str, Any], direction: Direction) -> list[Reading]:
    """Daily energy (Wh) per local day ``[00:00, next 00:00)``."""
    readings: list[Reading] = []
    for point in _interval_readings(payload):
        raw_date = str(point.get("date", ""))
        day = _day_of(raw_date if "T" in raw_date else raw_date[:10] + " 00:00:00")
        value = parse_value(point.get("value"))
        if value is None:
            continue
        start, end = _day_bounds(day)
        readings.append(
            Reading(Kind.INTERVAL, Unit.WH, start, end, value, direction=direction)
        )
    return readings


def max_power_readings(payload: Mapping[str, Any]) -> list[Reading]:
    """Daily max power (VA) over the local day of the peak instant."""
    readings: list[Reading] = []
    for point in _interval_readings(payload):
        raw_date = str(point.get("date", ""))
        if len(raw_date) == 10:
            raw_date += " 00:00:00"
        day = _day_of(raw_date)
        value = parse_value(point.get("value"))
        if value is None:
            continue
        start, end = _day_bounds(day)
        readings.append(Reading(Kind.MAXIMUM, Unit.VA, start, end, value))
    return readings


def to_batch(
    prm: Prm, stream: Stream, payload: Mapping[str, Any], *, produced_at: datetime
) -> ReadingBatch:
    """One ReadingBatch for one fetched window of one stream of one PRM."""
    if stream.is_curve:
        readings = curve_readings(payload, stream.direction)
        stamped = Stamp.END
    elif stream is Stream.MAX_POWER:
        readings = max_power_readings(payload)
        stamped = Stamp.INSTANT
    else:
        readings = daily_readings(payload, stream.direction)
        stamped = Stamp.START
    return ReadingBatch(
        meter=prm,
        source=Source.ENEDIS_DATACONNECT,
        energy=Energy.ELECTRICITY,
        readings=tuple(readings),
        stamped=stamped,
        produced_at=produced_at,
    )


_US = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_HOUR_US = 3_600_000_000


@dataclass(frozen=True, slots=True)
class MappedWindow:
    """One fetched window as wire-ready rows, and the points left out.

    ``covered`` holds, per local day, the microseconds its readings cover (a
    daily reading covers its whole day): what :meth:`incomplete_days` compares
    with the day's length. ``rejected`` holds ``(date as sent, reason)`` per bad
    point, for the dead letter.
    """

    batch: RowsBatch
    rejected: tuple[tuple[str, str], ...]
    covered: Mapping[date, int]

    @property
    def count(self) -> int:
        """How many readings the window carries."""
        return self.batch.count

    def incomplete_days(self, start: date, end: date, *, curve: bool) -> list[date]:
        """Days of ``[start, end)`` not fully covered (same rule as
        :func:`incomplete_days`): holes to record and ask again."""
        covered = self.covered
        if not curve:
            return [d for d in days_between(start, end) if d not in covered]
        return [
            d for d in days_between(start, end) if covered.get(d, 0) < _day_length_us(d)
        ]


@lru_cache(maxsize=4096)
def _day_length_us(day: date) -> int:
    return day_length(day) // _US


@lru_cache(maxsize=4096)
def _day_us(day: date) -> tuple[int, int]:
    """A local day's ``[start, end)`` in microseconds since the epoch."""
    start, end = _day_bounds(day)
    return (start - _EPOCH) // _US, (end - _EPOCH) // _US


@lru_cache(maxsize=16384)
def _local_day_of_hour(hour: int) -> date:
    """The Paris day of a UTC hour (Paris offsets are whole hours, so every
    instant of a UTC hour has the same local day)."""
    return datetime.fromtimestamp(hour * 3600, PARIS).date()


def _end_us(text: str, after_us: int | None) -> int:
    """:func:`resolve_local_end` in microseconds (the same rule, no objects)."""
    parsed = _parse_local(text)
    if parsed.tzinfo is not None:
        return (parsed - _EPOCH) // _US
    first, second = _offsets(text[:13])
    naive_us = (parsed.replace(tzinfo=UTC) - _EPOCH) // _US
    if first == second:
        return naive_us - first // _US
    candidates = sorted({naive_us - first // _US, naive_us - second // _US})
    if after_us is not None:
        for candidate in candidates:
            if candidate > after_us:
                return candidate
    return candidates[0]


def _curve_rows(
    payload: Mapping[str, Any],
) -> tuple[
    list[tuple[int, int, float, Quality]], list[tuple[str, str]], dict[date, int]
]:
    rows: list[tuple[int, int, float, Quality]] = []
    rejected: list[tuple[str, str]] = []
    covered: dict[date, int] = {}
    append, raw = rows.append, Quality.RAW
    previous: int | None = None
    for point in _interval_readings(payload):
        text = str(point.get("date", ""))
        try:
            end = _end_us(text, previous)
            previous = end
            step, hours = _step_us_hours(str(point.get("interval_length") or "PT30M"))
            watts = parse_value(point.get("value"))
        except PayloadInvalidError as exc:
            rejected.append((text, str(exc)))
            continue
        if watts is None:
            continue
        start = end - step
        append((start, end, watts * hours, raw))
        day = _local_day_of_hour(start // _HOUR_US)
        covered[day] = covered.get(day, 0) + step
    return rows, rejected, covered


@lru_cache(maxsize=64)
def _step_us_hours(raw: str) -> tuple[int, float]:
    step, hours = _step_hours(raw)
    return step // _US, hours


def _day_rows(
    payload: Mapping[str, Any], *, max_power: bool
) -> tuple[
    list[tuple[int, int, float, Quality]], list[tuple[str, str]], dict[date, int]
]:
    rows: list[tuple[int, int, float, Quality]] = []
    rejected: list[tuple[str, str]] = []
    covered: dict[date, int] = {}
    append, raw = rows.append, Quality.RAW
    for point in _interval_readings(payload):
        raw_date = str(point.get("date", ""))
        try:
            if max_power:
                day = _day_of(
                    raw_date + " 00:00:00" if len(raw_date) == 10 else raw_date
                )
            else:
                day = _day_of(
                    raw_date if "T" in raw_date else raw_date[:10] + " 00:00:00"
                )
            value = parse_value(point.get("value"))
        except PayloadInvalidError as exc:
            rejected.append((raw_date, str(exc)))
            continue
        if value is None:
            continue
        start, end = _day_us(day)
        append((start, end, value, raw))
        covered[day] = covered.get(day, 0) + end - start
    return rows, rejected, covered


def to_rows(
    prm: Prm, stream: Stream, payload: Mapping[str, Any], *, produced_at: datetime
) -> MappedWindow:
    """One window of one stream as a :class:`RowsBatch` (the collector's path).

    The same readings as :func:`to_batch` for a valid payload; a bad point is
    left out with its reason instead of refusing the whole window.
    """
    if stream.is_curve:
        rows, rejected, covered = _curve_rows(payload)
        series = SeriesRows(Kind.INTERVAL, Unit.WH, rows, direction=stream.direction)
        stamped = Stamp.END
    elif stream is Stream.MAX_POWER:
        rows, rejected, covered = _day_rows(payload, max_power=True)
        series = SeriesRows(Kind.MAXIMUM, Unit.VA, rows)
        stamped = Stamp.INSTANT
    else:
        rows, rejected, covered = _day_rows(payload, max_power=False)
        series = SeriesRows(Kind.INTERVAL, Unit.WH, rows, direction=stream.direction)
        stamped = Stamp.START
    batch = RowsBatch(
        meter=prm,
        source=Source.ENEDIS_DATACONNECT,
        energy=Energy.ELECTRICITY,
        series=(series,) if rows else (),
        stamped=stamped,
        produced_at=produced_at,
    )
    return MappedWindow(batch, tuple(rejected), covered)


def covered_days(readings: Iterable[Reading]) -> set[date]:
    """Local days that have at least one reading (a day's readings start in it)."""
    return {local_day_of(r.start) for r in readings}


def missing_days(readings: Iterable[Reading], start: date, end: date) -> list[date]:
    """Days of ``[start, end)`` without any reading: the holes of a window."""
    have = covered_days(readings)
    return [d for d in days_between(start, end) if d not in have]


def incomplete_days(
    readings: Iterable[Reading], start: date, end: date, *, curve: bool
) -> list[date]:
    """Days of ``[start, end)`` not fully covered: holes to record and ask again.

    A daily stream needs one reading per day; a curve needs its readings to cover
    the whole local day (23, 24 or 25 hours), so a day with "null" points is a hole.
    """
    if not curve:
        return missing_days(readings, start, end)
    covered: dict[date, timedelta] = {}
    for reading in readings:
        day = reading.start.astimezone(PARIS).date()
        span = reading.end.astimezone(UTC) - reading.start.astimezone(UTC)
        covered[day] = covered.get(day, _NOTHING) + span
    return [
        day
        for day in days_between(start, end)
        if covered.get(day, _NOTHING) < _day_length(day)
    ]


_NOTHING = timedelta()


_day_length = lru_cache(maxsize=4096)(day_length)
"""The calendar's day length, cached: a backfill asks the same days again and again."""


@dataclass(frozen=True, slots=True)
class Contract:
    """What turns kWh into euros: subscribed power, tariff, off-peak hours, status."""

    subscribed_power_kva: float | None
    distribution_tariff: str | None
    offpeak_hours: str | None
    contract_status: str | None
    segment: str | None
    last_activation_date: date | None
    raw: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Address:
    """Where a PRM is: INSEE commune code and coordinates (WGS84)."""

    insee_code: str | None
    latitude: float | None
    longitude: float | None
    raw: Mapping[str, Any]


def _usage_point(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    try:
        return payload["customer"]["usage_points"][0]  # type: ignore[no-any-return]
    except (KeyError, IndexError, TypeError) as exc:
        raise PayloadInvalidError("no customer.usage_points[0] in payload") from exc


def _offset_date(raw: object) -> date | None:
    """``"2013-08-14+01:00"`` (a date with an offset) -> date(2013, 8, 14)."""
    text = str(raw or "").strip()
    if len(text) < 10:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError as exc:
        raise PayloadInvalidError(f"date {text!r} is not YYYY-MM-DD[+hh:mm]") from exc


def parse_contract(payload: Mapping[str, Any]) -> Contract:
    """``customers_upc/v5/usage_points/contracts`` -> :class:`Contract`."""
    contracts = _usage_point(payload).get("contracts") or {}
    power = re.search(r"[\d.,]+", str(contracts.get("subscribed_power") or ""))
    offpeak = contracts.get("offpeak_hours")
    if isinstance(offpeak, dict):
        offpeak = ";".join(f"{k}={v}" for k, v in sorted(offpeak.items()))
    return Contract(
        subscribed_power_kva=float(power.group(0).replace(",", ".")) if power else None,
        distribution_tariff=contracts.get("distribution_tariff"),
        offpeak_hours=offpeak,
        contract_status=contracts.get("contract_status"),
        segment=contracts.get("segment"),
        last_activation_date=_offset_date(contracts.get("last_activation_date")),
        raw=contracts,
    )


def _float(raw: object) -> float | None:
    try:
        return float(str(raw)) if raw not in (None, "") else None
    except ValueError:
        return None


def parse_address(payload: Mapping[str, Any]) -> Address:
    """``customers_upa/v5/usage_points/addresses`` -> :class:`Address`."""
    usage_point = _usage_point(payload).get("usage_point") or {}
    address = usage_point.get("usage_point_addresses") or {}
    geo = address.get("geo_points") or {}
    return Address(
        insee_code=address.get("insee_code"),
        latitude=_float(geo.get("latitude")),
        longitude=_float(geo.get("longitude")),
        raw=address,
    )
