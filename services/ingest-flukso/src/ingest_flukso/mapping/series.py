"""Per-sensor state: gauges to INSTANT power, counters to per-minute INTERVAL energy.

Intervals are ``[start, end)`` aligned on :data:`BUCKET` (60 s, the finest flukso.net
resolution), so a live interval and a backfilled one for the same minute share the
same identity (series, start) and the store's upsert keeps one value. The counter
value at each minute boundary is interpolated linearly between the two counter
samples around it; a minute is emitted once both of its boundaries are known and no
silence (a gap) lies between them. Holes are reported as :class:`Gap` for backfill.

Rules (decided here, documented in the README):
- timestamps are the device's (UTC epoch seconds); a payload without one is stamped
  with the receive time; a timestamp before 2009-02-13 (clock not set) or more than
  ``future_tolerance`` ahead of the receive time raises PayloadInvalidError, so the
  message is dead-lettered with its bytes rather than filed at a wrong instant;
- per sensor and topic, timestamps must strictly increase (as the firmware
  guarantees): an equal one is a duplicate, a lower one out of order; both dropped;
- a counter that goes down is a reset (reflash/repair): the last value becomes an
  offset, so energy stays continuous and never negative;
- a counter is published only when it changes, so a sensor drawing nothing (PV at
  night, ``pminus`` without export) sends none for hours: while its gauges read 0 W
  without a silence, its minutes are emitted as 0 Wh instead of waiting for the
  next counter value (the counter cannot have moved with no power).

Combined series (once every part of one instant or minute is in; parts that never
complete are dropped after :data:`_HORIZON` seconds and counted):
- three-phase: per-phase readings (channel ``l1``..``l3``) and their sum (channel
  ``""``) under the device id, per direction;
- net: for a device with one consumption and one production series, channel
  ``"net"`` under the device id: import (consumption direction) = max(C - P, 0),
  export (production direction) = max(P - C, 0), per gauge timestamp and per minute.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import NamedTuple

from energy_core.domain import (
    Dimension,
    Direction,
    Energy,
    Kind,
    Quality,
    Reading,
    Unit,
)
from energy_core.domain.ids import FluksoSensorId
from energy_core.errors import PayloadInvalidError
from ingest_flukso.mapping.payloads import (
    CLOCK_VALID_FROM,
    DeviceConfig,
    Sample,
    SensorInfo,
    TopicKind,
)

BUCKET = 60
"""Seconds per energy interval: the flukso.net ``minute`` resolution."""
_HORIZON = {Kind.INSTANT: 60, Kind.INTERVAL: 3600}
"""Seconds (receive time) a part of a sum or net waits for the others: gauges of one
device come in the same second; minutes of two counters may be a few minutes apart
(a counter moves every 51 s at 70 W) or come back from a backfill together."""
_COUNTER_DIMENSIONS = frozenset({Dimension.ENERGY, Dimension.VOLUME})
"""Counters count energy (Wh, kWh) or water (L); their symbols are read by
:meth:`Unit.lookup`, the platform's one reading of unit symbols."""
_ENERGY = {"electricity": Energy.ELECTRICITY, "gas": Energy.GAS}
NET = "net"
"""Channel of the net import/export series."""


@lru_cache(maxsize=4096)  # every sensor of a fleet samples the same seconds
def _at(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class Emitted(NamedTuple):
    """A reading for the series ``meter`` (sensor id, or device id for phases/net)."""

    meter: FluksoSensorId
    energy: Energy
    reading: Reading


@dataclass(frozen=True, slots=True)
class Gap:
    """Minutes ``[start, end)`` (unix s, bucket-aligned) live could not measure."""

    sensor: FluksoSensorId
    start: int
    end: int


@dataclass(slots=True)
class _State:
    info: SensorInfo
    last_gauge: int | None = None
    last_seen: int | None = None
    broken: bool = False
    prev: tuple[int, float] | None = None  # (ts, effective counter)
    last_raw: float | None = None
    offset: float = 0.0
    chain: tuple[int, float] | None = None  # (boundary, effective counter there)
    gap_start: int | None = None
    unit: Unit = Unit.WH  # of the counter
    zero_from: int | None = None  # first gauge of the current run of 0 W gauges


@dataclass(slots=True)
class _Parts:
    """Values gathered for one combined reading (a phase sum or a net)."""

    first: Reading  # interval, kind and canonical unit of the result
    values: dict[object, float]
    quality: Quality


@dataclass
class Tracker:
    """Feeds Flukso messages in; gets readings and gaps out (no I/O, no clock)."""

    gap_seconds: int = 10
    future_tolerance: int = 300
    stats: Counter[str] = field(default_factory=Counter)
    _sensors: dict[FluksoSensorId, _State] = field(default_factory=dict)
    _groups: dict[tuple[FluksoSensorId, Direction], int] = field(default_factory=dict)
    _parts: dict[tuple[object, ...], _Parts] = field(default_factory=dict)
    _expiry: dict[Kind, deque[tuple[int, tuple[object, ...]]]] = field(
        default_factory=lambda: {kind: deque() for kind in _HORIZON}
    )
    _now: int = 0  # the latest receive time seen
    newest: int = 0
    """Device timestamp of the newest sample fed (capped at its receive time)."""

    def configure(self, config: DeviceConfig) -> None:
        """Registers (or updates) a device's sensors, keeping their running state."""
        groups: Counter[tuple[FluksoSensorId, Direction]] = Counter()
        for info in config.sensors:
            state = self._sensors.get(info.sensor)
            if state is None:
                self._sensors[info.sensor] = _State(info)
            else:
                state.info = info
            if info.phase is not None:
                groups[(info.meter, info.direction)] += 1
        self._groups.update(groups)

    def sensor(self, sensor: FluksoSensorId) -> SensorInfo | None:
        """The discovered sensor, or None."""
        state = self._sensors.get(sensor)
        return state.info if state else None

    @property
    def sensors(self) -> int:
        """How many sensors have been discovered."""
        return len(self._sensors)

    @property
    def pending(self) -> int:
        """Parts of sums and nets waiting for the others (bounded by the horizon)."""
        return len(self._parts)

    def feed(
        self, kind: TopicKind, sensor: FluksoSensorId, sample: Sample, received: int
    ) -> tuple[list[Emitted], list[Gap]]:
        """Maps one gauge or counter sample (raises PayloadInvalidError)."""
        state = self._sensors.get(sensor)
        if state is None:
            self.stats["undiscovered"] += 1
            return [], []
        ts = received if sample.ts is None else sample.ts
        if ts < CLOCK_VALID_FROM:
            raise PayloadInvalidError(f"device clock not set (ts={ts})")
        if ts > received + self.future_tolerance:
            raise PayloadInvalidError(f"timestamp {ts} is ahead of receive time")
        if received > self._now:
            self._now = received
        if ts > self.newest:
            self.newest = min(ts, received)
        last_seen = state.last_seen
        if last_seen is None or ts > last_seen:
            if last_seen is not None and ts - last_seen > self.gap_seconds:
                state.broken = True
                state.zero_from = None
            state.last_seen = ts
        if kind is TopicKind.GAUGE:
            return self._gauge(state, ts, sample)
        return self._counter(state, ts, sample)

    def _gauge(
        self, state: _State, ts: int, sample: Sample
    ) -> tuple[list[Emitted], list[Gap]]:
        if state.last_gauge is not None and ts <= state.last_gauge:
            self.stats["duplicate" if ts == state.last_gauge else "out_of_order"] += 1
            return [], []
        state.last_gauge = ts
        info = state.info
        if sample.unit != "W" or info.type != "electricity":
            self.stats["unit_ignored"] += 1  # VAR, V, A, pf, L/day: no series yet
            return [], []
        at = _at(ts)
        quality = Quality.ESTIMATED if info.estimated else Quality.RAW
        reading = Reading(
            Kind.INSTANT, Unit.W, at, at, sample.value, quality, info.direction
        )
        out = self._out(info, Energy.ELECTRICITY, reading, ts)
        if sample.value != 0:
            state.zero_from = None
            return out, []
        if state.zero_from is None:
            state.zero_from = ts
        if state.broken or state.prev is None:
            return out, []
        gaps = self._rest_from(state, state.prev, state.zero_from)
        return out + self._zero_minutes(state, state.zero_from, ts), gaps

    def _rest_from(
        self, state: _State, prev: tuple[int, float], zero_from: int
    ) -> list[Gap]:
        """Starts a chain at a counter at rest: no newer sample came, so its last
        value holds. Closes the hole waiting for the chain, if one is."""
        if state.chain is not None:
            return []
        start = max(zero_from, prev[0])
        boundary = -(-start // BUCKET) * BUCKET
        state.chain = (boundary, prev[1])
        gaps = []
        if state.gap_start is not None:
            if boundary > state.gap_start:
                gaps.append(Gap(state.info.sensor, state.gap_start, boundary))
            state.gap_start = None
        return gaps

    def _zero_minutes(self, state: _State, zero_from: int, ts: int) -> list[Emitted]:
        """0 Wh minutes a counter at rest has covered (gauges at 0 W since zero_from)."""
        assert state.chain is not None  # noqa: S101 - started by _rest_from
        boundary, value = state.chain
        info = state.info
        energy = _ENERGY.get(info.type)
        if energy is None or boundary < zero_from:
            return []
        out: list[Emitted] = []
        quality = Quality.ESTIMATED if info.estimated else Quality.RAW
        while boundary + BUCKET <= ts:
            reading = Reading(
                Kind.INTERVAL,
                state.unit,
                _at(boundary),
                _at(boundary + BUCKET),
                0.0,
                quality,
                info.direction,
            )
            out += self._out(info, energy, reading, boundary)
            boundary += BUCKET
        state.chain = (boundary, value)
        return out

    def _counter(
        self, state: _State, ts: int, sample: Sample
    ) -> tuple[list[Emitted], list[Gap]]:
        energy = _ENERGY.get(state.info.type)
        unit = Unit.lookup(sample.unit)
        if energy is None or unit is None or unit.dimension not in _COUNTER_DIMENSIONS:
            self.stats["unit_ignored"] += 1
            return [], []
        prev = state.prev
        if prev is not None and ts <= prev[0]:
            self.stats["duplicate" if ts == prev[0] else "out_of_order"] += 1
            return [], []
        if state.last_raw is not None and sample.value < state.last_raw:
            self.stats["counter_reset"] += 1
            state.offset += state.last_raw
        state.last_raw = sample.value
        state.unit = unit
        value = state.offset + sample.value
        state.prev = (ts, value)
        if prev is None:
            return [], []
        out: list[Emitted] = []
        gaps: list[Gap] = []
        if state.broken:
            state.broken = False
            if state.gap_start is None:
                state.gap_start = (
                    state.chain[0] if state.chain else prev[0] // BUCKET * BUCKET
                )
            state.chain = None
            return [], []
        quality = Quality.ESTIMATED if state.info.estimated else Quality.RAW
        first = prev[0] // BUCKET * BUCKET + BUCKET
        if state.chain is not None and state.chain[0] >= first:
            first = state.chain[0] + BUCKET  # minutes already given as 0 Wh
        for boundary in range(first, ts + 1, BUCKET):
            at_b = prev[1] + (value - prev[1]) * (boundary - prev[0]) / (ts - prev[0])
            if state.chain is not None:
                reading = Reading(
                    Kind.INTERVAL,
                    unit,
                    _at(boundary - BUCKET),
                    _at(boundary),
                    round(at_b - state.chain[1], 6),
                    quality,
                    state.info.direction,
                )
                out.extend(self._out(state.info, energy, reading, boundary - BUCKET))
            elif state.gap_start is not None:
                if boundary > state.gap_start:
                    gaps.append(Gap(state.info.sensor, state.gap_start, boundary))
                state.gap_start = None
            state.chain = (boundary, at_b)
        return out, gaps

    def backfilled(
        self, gap: Gap, points: Sequence[tuple[int, float | None]]
    ) -> list[Emitted]:
        """Readings for a gap from flukso.net minute averages (W, end-stamped).

        Only buckets inside the gap are kept, so nothing live already sent is
        sent again; ``None`` ("nan") buckets stay holes.
        """
        state = self._sensors.get(gap.sensor)
        if state is None or state.info.type != "electricity":
            return []
        out: list[Emitted] = []
        for end, watts in points:
            start = end - BUCKET
            if watts is None or end % BUCKET or start < gap.start or end > gap.end:
                continue
            reading = Reading(
                Kind.INTERVAL,
                Unit.WH,
                _at(start),
                _at(end),
                round(watts * BUCKET / 3600, 6),
                Quality.ESTIMATED if state.info.estimated else Quality.RAW,
                state.info.direction,
            )
            out.extend(self._out(state.info, Energy.ELECTRICITY, reading, start))
        return out

    def _out(
        self, info: SensorInfo, energy: Energy, reading: Reading, start: int
    ) -> list[Emitted]:
        """The reading itself; for a phase, also the sum once all phases are in;
        for a net member, also the net once both directions are in."""
        if info.phase is None:
            out = [Emitted(info.meter, energy, reading)]
            if info.net:
                out += self._net(info, reading, start)
            return out
        phased = Reading(
            reading.kind,
            reading.unit,
            reading.start,
            reading.end,
            reading.value,
            reading.quality,
            reading.direction,
            f"l{info.phase}",
        )
        out = [Emitted(info.meter, energy, phased)]
        group = (info.meter, info.direction)
        key = ("phase", info.meter, info.direction, reading.kind, start)
        parts = self._combine(key, info.phase, reading, self._groups.get(group, 3))
        if parts is not None:
            total = self._reading(parts, sum(parts.values.values()), info.direction)
            out.append(Emitted(info.meter, energy, total))
            if info.net:
                out += self._net(info, total, start)
        return out

    def _net(self, info: SensorInfo, reading: Reading, start: int) -> list[Emitted]:
        key = (NET, info.device, reading.kind, start)
        parts = self._combine(key, info.direction, reading, 2)
        if parts is None:
            return []
        net = parts.values[Direction.CONSUMPTION] - parts.values[Direction.PRODUCTION]
        return [
            Emitted(
                info.device,
                Energy.ELECTRICITY,
                self._reading(parts, max(net, 0.0), Direction.CONSUMPTION, NET),
            ),
            Emitted(
                info.device,
                Energy.ELECTRICITY,
                self._reading(parts, max(-net, 0.0), Direction.PRODUCTION, NET),
            ),
        ]

    def _combine(
        self, key: tuple[object, ...], part: object, reading: Reading, size: int
    ) -> _Parts | None:
        """Adds one part; returns (and forgets) the parts once ``size`` are in."""
        reading = reading.canonical()
        parts = self._parts.get(key)
        if parts is None:
            parts = self._parts[key] = _Parts(reading, {}, reading.quality)
            expiry = self._expiry[reading.kind]
            expiry.append((self._now, key))
            horizon = self._now - _HORIZON[reading.kind]
            while expiry[0][0] < horizon:
                _, old = expiry.popleft()
                if self._parts.pop(old, None) is not None:
                    self.stats[f"{old[0]}_incomplete"] += 1
        parts.values[part] = reading.value
        if reading.quality.rank < parts.quality.rank:
            parts.quality = reading.quality
        if len(parts.values) < size:
            return None
        del self._parts[key]
        return parts

    @staticmethod
    def _reading(
        parts: _Parts, value: float, direction: Direction, channel: str = ""
    ) -> Reading:
        first = parts.first
        return Reading(
            first.kind,
            first.unit,
            first.start,
            first.end,
            round(value, 6),
            parts.quality,
            direction,
            channel,
        )
