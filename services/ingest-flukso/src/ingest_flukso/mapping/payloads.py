"""Flukso topic and payload parsing (upstream contract grdf-flukso-p1.md §2.1).

Payload shapes accepted (flmlocal documents all of them): ``[ts, value, "unit"]``
(stock firmware), ``[value, "unit"]``, ``[value]`` and a bare ``value``. Shapes without
a timestamp are stamped with the receive time by the caller. Units are read from the
payload, never assumed (gotcha 6).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, NamedTuple

from energy_core.domain import Direction
from energy_core.domain.ids import FluksoSensorId
from energy_core.errors import InvalidValueError, PayloadInvalidError

CLOCK_VALID_FROM = 1_234_567_890
"""The firmware publishes nothing while its clock is below this (Feb 2009, no NTP)."""

PRODUCTION_FUNCTIONS = frozenset({"solar", "pv", "production", "prod", "injection"})
"""``function`` names (the user's sensor label) that mean PV production."""


class TopicKind(StrEnum):
    """The topics this service consumes."""

    GAUGE = "gauge"
    COUNTER = "counter"
    CONFIG = "config"


def parse_topic(topic: str) -> tuple[TopicKind, FluksoSensorId] | None:
    """``/sensor/<sid>/gauge|counter`` or ``/device/<did>/config/sensor``; else None."""
    parts = topic.split("/")
    if len(parts) == 4 and parts[0] == "" and parts[1] == "sensor":
        if parts[3] in ("gauge", "counter"):
            return TopicKind(parts[3]), FluksoSensorId(parts[2])
        return None
    if parts[1:2] == ["device"] and parts[3:] == ["config", "sensor"] and not parts[0]:
        return TopicKind.CONFIG, FluksoSensorId(parts[2])
    return None


class Sample(NamedTuple):
    """One gauge or counter value; ``ts`` is unix seconds (None: no timestamp sent)."""

    ts: int | None
    value: float
    unit: str


_FIRMWARE = re.compile(rb'\[(\d+),(-?\d+(?:\.\d+)?),"([A-Za-z0-9/%.]+)"\]')
"""The stock firmware's ``[%d,%d,"%s"]`` (FLM03: a decimal value): parsed without
the JSON decoder, the hot path. Anything else goes through ``json.loads``."""


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadInvalidError(f"value {value!r} is not a number")
    if not math.isfinite(value):
        raise PayloadInvalidError(f"value {value!r} is not finite")
    return float(value)


def parse_sample(payload: bytes, *, default_unit: str) -> Sample:
    """Parses a gauge/counter payload (raises PayloadInvalidError)."""
    match = _FIRMWARE.fullmatch(payload)
    if match is not None:
        ts, value, unit = match.groups()
        return Sample(int(ts), float(value), unit.decode())
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadInvalidError(f"not JSON: {exc}") from exc
    if not isinstance(data, list):
        return Sample(None, _number(data), default_unit)
    if len(data) == 3:
        ts, value, unit = data
        if isinstance(ts, bool) or not isinstance(ts, int | float):
            raise PayloadInvalidError(f"timestamp {ts!r} is not a number")
        if not isinstance(unit, str):
            raise PayloadInvalidError(f"unit {unit!r} is not a string")
        return Sample(int(ts), _number(value), unit)
    if len(data) == 2 and isinstance(data[1], str):
        return Sample(None, _number(data[0]), data[1])
    if len(data) == 1:
        return Sample(None, _number(data[0]), default_unit)
    raise PayloadInvalidError(f"unexpected array shape of length {len(data)}")


@dataclass(frozen=True, slots=True)
class SensorInfo:
    """What the service needs to know about one enabled sensor.

    ``meter`` is the series id: the sensor id, or the device id for the per-phase
    sensors of a three-phase FLM03 (then ``phase`` is 1..3). ``estimated`` marks an
    FLM02 in three-phase mode, whose power is I x voltage without a power factor.
    ``net``: the sensor feeds the device's net import/export (see parse_config).
    """

    sensor: FluksoSensorId
    device: FluksoSensorId
    meter: FluksoSensorId
    type: str
    direction: Direction
    phase: int | None = None
    estimated: bool = False
    net: bool = False


@dataclass(frozen=True, slots=True)
class DeviceConfig:
    """The enabled sensors of one device, from its retained config message."""

    device: FluksoSensorId
    sensors: tuple[SensorInfo, ...]

    @property
    def phases(self) -> int:
        """How many per-phase consumption sensors feed the device series (0: none)."""
        return sum(
            1
            for s in self.sensors
            if s.phase is not None and s.direction is Direction.CONSUMPTION
        )

    @property
    def net(self) -> bool:
        """True when the device's net import/export is published."""
        return any(s.net for s in self.sensors)


def _enabled(section: dict[str, Any]) -> bool:
    return section.get("enable", 0) in (1, "1", True) and "id" in section


def _function(section: dict[str, Any]) -> str:
    return str(section.get("function", ""))


def parse_config(device: FluksoSensorId, payload: bytes) -> DeviceConfig:
    """Parses ``/device/<did>/config/sensor`` (the UCI ``flukso`` config as JSON).

    Direction: ``function`` solar/pv/production/prod/injection is production, any
    other consumption; an FLM03 ``pminus`` sensor (power flowing the other way
    through its clamp, i.e. export on a grid clamp) is the reverse of that.

    Three-phase rules: FLM02 ``main.phase == 3`` makes sensor "1" the aggregated,
    estimated sensor; FLM03 ``pplus`` (or ``pminus``) sensors sharing one
    ``function`` on distinct ports 1..3 are phases of one building series per
    direction, whose meter id is the device id.

    Net import/export: when a device has exactly one electricity series per
    direction (a sensor or a three-phase sum), both feed its net series.
    """
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadInvalidError(f"config is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise PayloadInvalidError("config is not a JSON object")
    raw_main = data.get("main")
    main: dict[str, Any] = raw_main if isinstance(raw_main, dict) else {}
    flm02_three_phase = str(main.get("phase", "1")) == "3"
    sections = [
        (name, s)
        for name, s in data.items()
        if name.isdigit()
        and isinstance(s, dict)
        and _enabled(s)
        # FLM03 q1-4/vrms/irms/pf/...: not series SEN1 keeps yet
        and s.get("subtype") in (None, "pplus", "pminus")
    ]
    phase_groups: dict[tuple[str, str], list[int]] = {}
    for _, s in sections:
        port = s.get("port")
        if s.get("subtype") and isinstance(port, list) and len(port) == 1:
            key = (str(s["subtype"]), _function(s))
            phase_groups.setdefault(key, []).append(port[0])
    three_phase = {k for k, ports in phase_groups.items() if sorted(ports) == [1, 2, 3]}
    sensors: list[SensorInfo] = []
    for name, s in sections:
        kind = str(s.get("type", "electricity"))
        subtype = s.get("subtype")
        try:
            sensor = FluksoSensorId(str(s["id"]))
        except InvalidValueError as exc:
            raise PayloadInvalidError(f"sensor section {name}: {exc}") from exc
        production = _function(s).lower() in PRODUCTION_FUNCTIONS
        if subtype == "pminus":
            production = not production
        direction = Direction.PRODUCTION if production else Direction.CONSUMPTION
        phase = None
        meter = sensor
        if subtype and (str(subtype), _function(s)) in three_phase:
            phase = int(s["port"][0])
            meter = device
        estimated = flm02_three_phase and name == "1" and kind == "electricity"
        sensors.append(
            SensorInfo(sensor, device, meter, kind, direction, phase, estimated)
        )
    series: dict[Direction, set[str]] = {}
    for info in sensors:
        if info.type == "electricity":
            series.setdefault(info.direction, set()).add(info.meter)
    if all(len(series.get(d, ())) == 1 for d in Direction):
        sensors = [replace(s, net=s.type == "electricity") for s in sensors]
    return DeviceConfig(device, tuple(sensors))
