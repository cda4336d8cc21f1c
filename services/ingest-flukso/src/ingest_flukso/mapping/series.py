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
  offset, so energy stays continuous and never negative.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from energy_core.domain import Energy, Kind, Quality, Reading, Unit
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
_COMBINE_HORIZON = 600
"""Seconds a phase value waits for its siblings before the sum gives up on it."""


def _at(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


@dataclass(frozen=True, slots=True)
class Emitted:
    """A reading for the series ``meter`` (sensor id, or device id for phases)."""

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


@dataclass
class Tracker:
    """Feeds Flukso messages in; gets readings and gaps out (no I/O, no clock)."""

    gap_seconds: int = 10
    future_tolerance: int = 300
    stats: Counter[str] = field(default_factory=Counter)
    _sensors: dict[FluksoSensorId, _State] = field(default_factory=dict)
    _phases: dict[tuple[FluksoSensorId, Kind, int], dict[int, float]] = field(
        default_factory=dict
    )
    _phase_count: dict[FluksoSensorId, int] = field(default_factory=dict)

    def configure(self, config: DeviceConfig) -> None:
        """Registers (or updates) a device's sensors, keeping their running state."""
        for info in config.sensors:
            state = self._sensors.get(info.sensor)
            if state is None:
                self._sensors[info.sensor] = _State(info)
            else:
                state.info = info
        self._phase_count[config.device] = config.phases

    def sensor(self, sensor: FluksoSensorId) -> SensorInfo | None:
        """The discovered sensor, or None."""
        state = self._sensors.get(sensor)
        return state.info if state else None

    @property
    def sensors(self) -> int:
        """How many sensors have been discovered."""
        return len(self._sensors)

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
        if state.last_seen is not None and ts - state.last_seen > self.gap_seconds:
            state.broken = True
        state.last_seen = max(ts, state.last_seen or ts)
        if kind is TopicKind.GAUGE:
            return self._gauge(state, ts, sample), []
        return self._counter(state, ts, sample)

    def _energy(self, info: SensorInfo) -> Energy | None:
        return {"electricity": Energy.ELECTRICITY, "gas": Energy.GAS}.get(info.type)

    def _gauge(self, state: _State, ts: int, sample: Sample) -> list[Emitted]:
        if state.last_gauge is not None and ts <= state.last_gauge:
            self.stats["duplicate" if ts == state.last_gauge else "out_of_order"] += 1
            return []
        state.last_gauge = ts
        if sample.unit != "W" or state.info.type != "electricity":
            self.stats["unit_ignored"] += 1  # VAR, V, A, pf, L/day: no series yet
            return []
        at = _at(ts)
        quality = Quality.ESTIMATED if state.info.estimated else Quality.RAW
        reading = Reading(
            Kind.INSTANT, Unit.W, at, at, sample.value, quality, state.info.direction
        )
        return self._out(state.info, Energy.ELECTRICITY, reading)

    def _counter(
        self, state: _State, ts: int, sample: Sample
    ) -> tuple[list[Emitted], list[Gap]]:
        energy = self._energy(state.info)
        unit = {"Wh": Unit.WH, "kWh": Unit.KWH, "L": Unit.L}.get(sample.unit)
        if energy is None or unit is None:
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
                out.extend(self._out(state.info, energy, reading))
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
            out.extend(self._out(state.info, Energy.ELECTRICITY, reading))
        return out

    def _out(self, info: SensorInfo, energy: Energy, reading: Reading) -> list[Emitted]:
        """The reading itself; for a phase, also the phase sum once all are in."""
        if info.phase is None:
            return [Emitted(info.meter, energy, reading)]
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
        start = int(reading.start.timestamp())
        key = (info.meter, reading.kind, start)
        parts = self._phases.setdefault(key, {})
        parts[info.phase] = reading.value
        if len(parts) == self._phase_count.get(info.meter, 3):
            del self._phases[key]
            total = Reading(
                reading.kind,
                reading.unit,
                reading.start,
                reading.end,
                round(sum(parts.values()), 6),
                reading.quality,
                reading.direction,
            )
            out.append(Emitted(info.meter, energy, total))
        elif len(self._phases) > 4 * len(self._phase_count) * _COMBINE_HORIZON:
            self._prune(start)
        return out

    def _prune(self, newest: int) -> None:
        for key in [k for k in self._phases if k[2] < newest - _COMBINE_HORIZON]:
            del self._phases[key]
            self.stats["phase_incomplete"] += 1
