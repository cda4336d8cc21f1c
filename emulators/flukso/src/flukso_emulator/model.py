"""The deterministic household and PV model behind every emulated sensor.

Power is a function of (sensor seed, unix minute) only: the live publisher and the
REST history compute the same per-minute average, and a counter accumulates exactly
``minute_power * 60 / 3600`` Wh per minute. Within a minute the gauge wobbles a
little around that average (sum zero), as a real gauge would.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from energy_core.domain import Direction
from energy_core.domain.ids import FluksoSensorId
from energy_core.domain.time import PARIS
from energy_store.demo import FluksoDevice

RESET_EVERY = 1800
"""A ``counter_reset`` device reflashes at minute 17 of every half hour."""
RESET_AT = 17 * 60
DROPOUT_EVERY = 1200
"""A ``wifi_dropout`` device is silent 3 minutes (from minute 5) every 20 minutes."""
DROPOUT_FROM, DROPOUT_TO = 300, 480
_PHASE_SHARE = {1: 0.45, 2: 0.33, 3: 0.22}


def _hex(*parts: object) -> FluksoSensorId:
    digest = hashlib.md5(":".join(map(str, parts)).encode())  # noqa: S324 - ids
    return FluksoSensorId(digest.hexdigest())


def _noise(seed: int, n: int) -> float:
    """A deterministic value in [0, 1) for (seed, n); cheap, no RNG state."""
    x = (seed * 0x9E3779B1 + n * 0x85EBCA77) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x2C1B3C6D) & 0xFFFFFFFF
    x ^= x >> 12
    x = (x * 0x297A2D39) & 0xFFFFFFFF
    x ^= x >> 15
    return x / 0x100000000


@dataclass(frozen=True, slots=True)
class SimSensor:
    """One emulated sensor: consumption (whole home or one phase) or PV.

    ``subtype`` is the FLM03 one: each clamp of a three-phase v3 home has a
    ``pplus`` sensor (power drawn) and a ``pminus`` one (power sent back; 0 W, as
    the emulated three-phase home has no PV).
    """

    sensor_id: FluksoSensorId
    direction: Direction
    phase: int | None
    pv_kwp: float
    seed: int
    function: str
    subtype: str | None = None


@dataclass(frozen=True, slots=True)
class SimDevice:
    """One emulated FluksoMeter and the faults it plays."""

    device_id: FluksoSensorId
    version: str
    sensors: tuple[SimSensor, ...]
    behaviours: frozenset[str]

    def silent(self, ts: int) -> bool:
        """True while the device's Wi-Fi is down (it publishes nothing)."""
        return (
            "wifi_dropout" in self.behaviours
            and DROPOUT_FROM <= ts % DROPOUT_EVERY < DROPOUT_TO
        )

    def resets_at(self, ts: int) -> bool:
        """True on the second the device is reflashed (its counters go to 0)."""
        return "counter_reset" in self.behaviours and ts % RESET_EVERY == RESET_AT


def from_demo(device: FluksoDevice) -> SimDevice:
    """The emulated twin of a demo territory device (a v3 adds ``pminus`` twins)."""
    v3 = device.version == "v3"
    sensors = [
        SimSensor(
            s.sensor_id,
            s.direction,
            s.phase,
            device.pv_kwp if s.direction is Direction.PRODUCTION else 0.0,
            int(s.sensor_id[:8], 16),
            "solar" if s.direction is Direction.PRODUCTION else "main",
            "pplus" if v3 and s.phase is not None else None,
        )
        for s in device.sensors
    ]
    sensors += [
        SimSensor(
            _hex(device.device_id, "pminus", s.phase),
            Direction.PRODUCTION,
            s.phase,
            0.0,
            int(s.sensor_id[:8], 16),
            "main",
            "pminus",
        )
        for s in device.sensors
        if v3 and s.phase is not None
    ]
    return SimDevice(
        device.device_id, device.version, tuple(sensors), device.behaviours
    )


def synthetic(index: int) -> SimDevice:
    """A bench device beyond the demo territory: one single-phase main sensor."""
    device = _hex("bench-flukso-device", index)
    sensor = _hex(device, "main")
    main = SimSensor(
        sensor, Direction.CONSUMPTION, None, 0.0, int(sensor[:8], 16), "main"
    )
    return SimDevice(device, "v2", (main,), frozenset())


def _bump(hour: float, centre: float, width: float) -> float:
    return math.exp(-(((hour - centre) / width) ** 2))


@lru_cache(maxsize=1 << 17)  # live ticks and REST history ask the same minutes
def minute_power(sensor: SimSensor, minute: int) -> float:
    """Average power (W) of ``sensor`` over unix minute ``minute`` (never negative)."""
    local = datetime.fromtimestamp(minute * 60, PARIS)
    hour = local.hour + local.minute / 60
    return _power(sensor, minute, hour, local.timetuple().tm_yday, local.weekday())


def mean_power(sensor: SimSensor, first: int, stop: int) -> float:
    """Mean of :func:`minute_power` over minutes ``[first, stop)``, exactly.

    Long REST spans (a year of days) would convert 525,600 minutes to local time
    and flood the live ticks' cache; Paris offsets are whole hours, so one
    conversion per UTC hour gives every minute's local hour, day and weekday.
    """
    total, minute = 0.0, first
    while minute < stop:
        local = datetime.fromtimestamp(minute * 60, PARIS)
        doy, weekday = local.timetuple().tm_yday, local.weekday()
        hour_end = min(stop, (minute // 60 + 1) * 60)
        for m in range(minute, hour_end):
            total += _power(sensor, m, local.hour + (m % 60) / 60, doy, weekday)
        minute = hour_end
    return total / (stop - first)


def _power(
    sensor: SimSensor, minute: int, hour: float, doy: int, weekday: int
) -> float:
    if sensor.subtype == "pminus":
        return 0.0  # no export: the emulated three-phase home has no PV
    winter = math.cos(2 * math.pi * (doy - 15) / 365)  # 1 mid-January, -1 mid-July
    if sensor.pv_kwp > 0:
        day = 12.0 - 3.5 * winter  # 8.5 h in winter, 15.5 h in summer
        rise, set_ = 13.5 - day / 2, 13.5 + day / 2
        if not rise < hour < set_:
            return 0.0
        bell: float = math.sin(math.pi * (hour - rise) / (set_ - rise)) ** 1.5
        cloud = _noise(sensor.seed, minute // 7)
        shade = 1 - 0.75 * max(0.0, cloud - 0.5) / 0.5
        return sensor.pv_kwp * 1000 * 0.8 * (0.8 - 0.2 * winter) * bell * shade
    weekend = weekday >= 5
    standby = 70 + 90 * _noise(sensor.seed, 1)
    if weekend:
        peaks = 500 * _bump(hour, 9.5, 1.2) + 600 * _bump(hour, 12.8, 1.0)
        peaks += 1000 * _bump(hour, 19.5, 1.5)
    else:
        peaks = 650 * _bump(hour, 7.3, 0.7) + 1200 * _bump(hour, 19.5, 1.4)
    season = 1 + 0.35 * winter
    appliance = 1500.0 if _noise(sensor.seed, minute // 5) < 0.07 else 0.0
    power = standby + season * peaks + appliance
    if sensor.phase is not None:
        power *= _PHASE_SHARE[sensor.phase]
    return float(power)


def gauge_power(sensor: SimSensor, ts: int) -> int:
    """The integer W a gauge shows at second ``ts`` (FLM02 ``[%d,%d,"W"]``)."""
    avg = minute_power(sensor, ts // 60)
    wobble = 0.03 * avg * math.sin(2 * math.pi * (ts % 60) / 60)
    return round(avg + wobble)


def energy_between(sensor: SimSensor, start: int, end: int) -> float:
    """Energy (Wh) over seconds ``[start, end)``: exact sum of minute averages."""
    total = 0.0
    ts = start
    while ts < end:
        stop = min(end, (ts // 60 + 1) * 60)
        total += minute_power(sensor, ts // 60) * (stop - ts) / 3600
        ts = stop
    return total
