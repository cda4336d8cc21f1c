"""Normalised readings: what every ingest service produces and every processor reads.

A :class:`Reading` is one value over an explicit interval ``[start, end)`` (start
inclusive, end exclusive, both aware). INDEX and INSTANT readings are points:
``start == end``. A :class:`ReadingBatch` carries readings of one meter so that one
Kafka record moves many readings.

Identity: a reading is identified by its series (meter, direction, quantity,
channel, period) and its interval start; quality is *not* part of identity, so that
a corrected value replaces the raw one instead of living beside it. The period
keeps a meter's daily total apart from its load curve: the day's value and the
first half-hour both start at local midnight, and must not overwrite each other.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache

from energy_core.domain.ids import MeterId, MeterScheme
from energy_core.domain.time import (
    from_micros,
    is_local_day,
    is_local_month,
    require_aware,
)
from energy_core.domain.units import Dimension, Unit
from energy_core.errors import InvalidValueError


class Kind(StrEnum):
    """What a value means (see proto ``energy.metering.v1.Kind``)."""

    INDEX = "index"  # cumulative register value at an instant
    INTERVAL = "interval"  # energy or volume over [start, end)
    INSTANT = "instant"  # instantaneous power at an instant
    MAXIMUM = "maximum"  # maximum power reached over [start, end)


class Quality(StrEnum):
    """How far a value can be trusted; ``rank`` orders who wins on conflict."""

    ESTIMATED = "estimated"
    RAW = "raw"
    CORRECTED = "corrected"

    @property
    def rank(self) -> int:
        """Estimated < raw < corrected: a higher rank replaces a lower one."""
        return _QUALITY_RANK[self]


_QUALITY_RANK = {Quality.ESTIMATED: 0, Quality.RAW: 1, Quality.CORRECTED: 2}


class Direction(StrEnum):
    """Energy drawn from the grid (consumption) or injected/produced (production)."""

    CONSUMPTION = "consumption"
    PRODUCTION = "production"


class Energy(StrEnum):
    """The carrier a meter measures."""

    ELECTRICITY = "electricity"
    GAS = "gas"


class Source(StrEnum):
    """The upstream a reading came from."""

    ENEDIS_DATACONNECT = "enedis_dataconnect"
    ENEDIS_SGE = "enedis_sge"
    GRDF_ADICT = "grdf_adict"
    FLUKSO = "flukso"


class Period(StrEnum):
    """Which kind of interval series a reading belongs to (part of its identity).

    ``DAILY``: an INTERVAL reading covering exactly one local Paris day (23, 24 or
    25 hours); ``MONTHLY``: exactly one local month; ``NATIVE``: everything else
    (load curves, Flukso minutes, points). Derived from the interval by
    :func:`period_of`, so producers cannot get it wrong.
    """

    NATIVE = ""
    DAILY = "daily"
    MONTHLY = "monthly"


_DAY_MIN_US = 23 * 3600 * 1_000_000


def period_of(kind: Kind, start: datetime, end: datetime) -> Period:
    """The period of a reading: DAILY / MONTHLY for whole local days / months."""
    if kind is not Kind.INTERVAL or (end - start).total_seconds() < 23 * 3600:
        return Period.NATIVE
    if is_local_day(start, end):
        return Period.DAILY
    if is_local_month(start, end):
        return Period.MONTHLY
    return Period.NATIVE


def period_of_micros(is_interval: bool, start_us: int, end_us: int) -> Period:
    """:func:`period_of` on wire timestamps; cheap for the common short interval.

    Long intervals are cached: every meter's daily readings share the same few
    hundred days, and converting each one to local time was a third of the
    aggregator's CPU while a demo backfill poured in.
    """
    if not is_interval or end_us - start_us < _DAY_MIN_US:
        return Period.NATIVE
    return _long_period(start_us, end_us)


@lru_cache(maxsize=65_536)
def _long_period(start_us: int, end_us: int) -> Period:
    start = _EPOCH + timedelta(microseconds=start_us)
    end = _EPOCH + timedelta(microseconds=end_us)
    return period_of(Kind.INTERVAL, start, end)


class Stamp(StrEnum):
    """Which end of an interval the upstream itself stamped (kept for audit)."""

    START = "start"
    END = "end"
    INSTANT = "instant"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_POINT_KINDS = frozenset({Kind.INDEX, Kind.INSTANT})
_KIND_DIMENSIONS: dict[Kind, frozenset[Dimension]] = {
    Kind.INDEX: frozenset({Dimension.ENERGY, Dimension.VOLUME}),
    Kind.INTERVAL: frozenset({Dimension.ENERGY, Dimension.VOLUME}),
    Kind.INSTANT: frozenset({Dimension.POWER, Dimension.APPARENT_POWER}),
    Kind.MAXIMUM: frozenset({Dimension.POWER, Dimension.APPARENT_POWER}),
}
_CHANNEL_MAX = 16


@dataclass(frozen=True, slots=True)
class Reading:
    """One value of one meter over ``[start, end)`` (a point when start == end)."""

    kind: Kind
    unit: Unit
    start: datetime
    end: datetime
    value: float
    quality: Quality = Quality.RAW
    direction: Direction = Direction.CONSUMPTION
    channel: str = ""

    def __post_init__(self) -> None:
        require_aware(self.start, "start")
        require_aware(self.end, "end")
        Kind(self.kind)
        Unit(self.unit)
        Quality(self.quality)
        Direction(self.direction)
        if self.kind in _POINT_KINDS:
            if self.start != self.end:
                raise InvalidValueError(
                    "end", self.end, f"a {self.kind} reading is a point: end == start"
                )
        elif self.end <= self.start:
            raise InvalidValueError(
                "end", self.end, f"a {self.kind} reading needs end > start"
            )
        if self.unit.dimension not in _KIND_DIMENSIONS[self.kind]:
            raise InvalidValueError(
                "unit",
                self.unit.value,
                f"a {self.kind} reading cannot be in {self.unit}",
            )
        if not isinstance(self.value, int | float) or not math.isfinite(self.value):
            raise InvalidValueError("value", self.value, "a finite number is required")
        if len(self.channel) > _CHANNEL_MAX or not self.channel.isascii():
            raise InvalidValueError(
                "channel", self.channel, f"at most {_CHANNEL_MAX} ASCII characters"
            )

    def canonical(self) -> Reading:
        """The same reading in the canonical unit of its dimension (Wh, W, VA, m3)."""
        if self.unit is self.unit.canonical:
            return self
        return Reading(
            kind=self.kind,
            unit=self.unit.canonical,
            start=self.start,
            end=self.end,
            value=self.unit.to_canonical(self.value),
            quality=self.quality,
            direction=self.direction,
            channel=self.channel,
        )


def _check_header(
    meter: object,
    source: str,
    energy: str,
    stamped: str,
    produced_at: datetime | None,
) -> None:
    """What a :class:`ReadingBatch` and a :class:`RowsBatch` share: the meter id
    type, the enums and an aware production time (one rule for both wire paths)."""
    if not isinstance(meter, MeterId):
        raise InvalidValueError(
            "meter", meter, "build it with Prm, Pce or FluksoSensorId"
        )
    Source(source)
    Energy(energy)
    Stamp(stamped)
    if produced_at is not None:
        require_aware(produced_at, "produced_at")


@dataclass(frozen=True, slots=True)
class ReadingBatch:
    """Readings of one meter, published as one Kafka record keyed by the meter id."""

    meter: MeterId
    source: Source
    energy: Energy
    readings: tuple[Reading, ...]
    stamped: Stamp = Stamp.START
    produced_at: datetime | None = None
    batch_id: str = ""

    def __post_init__(self) -> None:
        _check_header(
            self.meter, self.source, self.energy, self.stamped, self.produced_at
        )
        for reading in self.readings:
            if not isinstance(reading, Reading):
                raise InvalidValueError("readings", reading, "expected Reading items")


Row = tuple[int, int, float, Quality]
"""One reading of a :class:`SeriesRows`: (start_us, end_us, value, quality)."""


@dataclass(frozen=True, slots=True)
class SeriesRows:
    """Readings of one series as plain rows: the cheap form of a load curve.

    Why it exists: a flux file of 10,000 PRMs carries half a million values, and
    one validated :class:`Reading` object per value (then one protobuf per
    reading) cost bulk producers two thirds of their time. What a series'
    readings share (kind, unit, direction, channel) is validated once here, with
    the same rules as :class:`Reading`; each row is checked only for what varies:
    its interval (``end > start``, or ``end == start`` for points) and a finite
    value. Timestamps are integer microseconds since the epoch (UTC), so they are
    aware by construction.
    """

    kind: Kind
    unit: Unit
    rows: Sequence[Row]
    direction: Direction = Direction.CONSUMPTION
    channel: str = ""

    def __post_init__(self) -> None:
        # one prototype reading applies every rule that does not vary by row
        Reading(
            self.kind,
            self.unit,
            _EPOCH,
            _EPOCH + _PROTO_SPAN[self.kind],
            0.0,
            direction=self.direction,
            channel=self.channel,
        )
        point = self.kind in _POINT_KINDS
        isfinite = math.isfinite
        for start, end, value, _quality in self.rows:
            if (end != start) if point else (end <= start):
                raise InvalidValueError(
                    "end",
                    end,
                    f"a {self.kind} row needs {'end == start' if point else 'end > start'}",
                )
            if not isfinite(value):
                raise InvalidValueError("value", value, "a finite number is required")

    def readings(self) -> tuple[Reading, ...]:
        """The rows as validated :class:`Reading` objects (tests, slow paths)."""
        return tuple(
            Reading(
                self.kind,
                self.unit,
                from_micros(start),
                from_micros(end),
                value,
                quality,
                self.direction,
                self.channel,
            )
            for start, end, value, quality in self.rows
        )


@dataclass(frozen=True, slots=True)
class RowsBatch:
    """A :class:`ReadingBatch` whose readings are :class:`SeriesRows` (bulk producers).

    It travels as the same wire record (``energy_core.wire.rows_to_proto``);
    :meth:`to_batch` gives the equivalent validated :class:`ReadingBatch`.
    """

    meter: MeterId
    source: Source
    energy: Energy
    series: tuple[SeriesRows, ...]
    stamped: Stamp = Stamp.START
    produced_at: datetime | None = None
    batch_id: str = ""

    def __post_init__(self) -> None:
        _check_header(
            self.meter, self.source, self.energy, self.stamped, self.produced_at
        )
        for series in self.series:
            if not isinstance(series, SeriesRows):
                raise InvalidValueError("series", series, "expected SeriesRows items")

    @property
    def count(self) -> int:
        """How many readings the batch carries."""
        return sum(len(s.rows) for s in self.series)

    def to_batch(self) -> ReadingBatch:
        """The same readings as a validated :class:`ReadingBatch`."""
        return ReadingBatch(
            meter=self.meter,
            source=self.source,
            energy=self.energy,
            readings=tuple(r for s in self.series for r in s.readings()),
            stamped=self.stamped,
            produced_at=self.produced_at,
            batch_id=self.batch_id,
        )


_PROTO_SPAN = {
    Kind.INDEX: timedelta(0),
    Kind.INSTANT: timedelta(0),
    Kind.INTERVAL: timedelta(microseconds=1),
    Kind.MAXIMUM: timedelta(microseconds=1),
}


@dataclass(frozen=True, slots=True)
class SeriesKey:
    """What identifies a series: a reading's identity is (series, interval start)."""

    scheme: MeterScheme
    meter: str
    direction: Direction
    kind: Kind
    dimension: Dimension
    channel: str = field(default="")
    period: Period = field(default=Period.NATIVE)

    @classmethod
    def of(cls, meter: MeterId, reading: Reading) -> SeriesKey:
        """The series a reading of ``meter`` belongs to."""
        return cls(
            scheme=meter.scheme,
            meter=str(meter),
            direction=reading.direction,
            kind=reading.kind,
            dimension=reading.unit.dimension,
            channel=reading.channel,
            period=period_of(reading.kind, reading.start, reading.end),
        )

    @property
    def urn(self) -> str:
        """Quoalise-style URN without the quality suffix.

        e.g. ``urn:dev:prm:30001610071843_consumption/energy/active``, or
        ``…/energy/active/daily`` for daily totals (the Quoalise spelling); federation
        appends ``/raw`` or ``/corrected`` (see :meth:`urn_with_quality`).
        """
        path = _QUANTITY[(self.kind, self.dimension)]
        if self.period is not Period.NATIVE:
            path = f"{path}/{self.period.value}"
        if self.channel:
            path = f"{path}/{self.channel}"
        return f"urn:dev:{self.scheme.value}:{self.meter}_{self.direction.value}/{path}"

    def urn_with_quality(self, quality: Quality) -> str:
        """The full Quoalise series URN, e.g. ``…_consumption/energy/active/raw``."""
        return f"{self.urn}/{quality.value}"


_QUANTITY: dict[tuple[Kind, Dimension], str] = {
    (Kind.INTERVAL, Dimension.ENERGY): "energy/active",
    (Kind.INTERVAL, Dimension.VOLUME): "volume/gas",
    (Kind.INDEX, Dimension.ENERGY): "index/active",
    (Kind.INDEX, Dimension.VOLUME): "index/volume",
    (Kind.INSTANT, Dimension.POWER): "power/active",
    (Kind.INSTANT, Dimension.APPARENT_POWER): "power/apparent",
    (Kind.MAXIMUM, Dimension.POWER): "power/active/max",
    (Kind.MAXIMUM, Dimension.APPARENT_POWER): "power/apparent/max",
}
