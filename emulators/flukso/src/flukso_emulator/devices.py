"""What the emulated devices publish: retained configs, gauges and counters.

Topic and payload shapes follow the FLM02/FLM03 firmware (contract §2.1): gauges
``[ts,int,"W"]`` every tick, counters ``[ts,int,"Wh"]`` only when the integer value
changed, both retained; ``/device/<did>/config/sensor`` is the UCI config as JSON
with ``main``/``daemon``/``mqtt`` sections and disabled ``{"id": …}`` stubs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from flukso_emulator.model import (
    SimDevice,
    SimSensor,
    _hex,
    energy_between,
    gauge_power,
)

Message = tuple[str, bytes]


def config_payload(device: SimDevice) -> dict[str, Any]:
    """The device's UCI ``flukso`` config, as the firmware publishes it."""
    v3 = device.version == "v3"
    config: dict[str, Any] = {
        "main": {"hw_major": "3" if v3 else "2", "phase": 1, "max_sensors": 6},
        "daemon": {"enable_wan_branch": 1, "enable_lan_branch": 1, "wan_interval": 300},
        "mqtt": {"enable": 1, "host": "127.0.0.1", "port": 1883},
    }
    for slot, sensor in enumerate(device.sensors, start=1):
        section: dict[str, Any] = {
            "id": sensor.sensor_id,
            "enable": 1,
            "type": "electricity",
            "function": sensor.function,
            "data_type": "counter",
            "tmpo": 1,
            "rid": 0,
        }
        if v3 and sensor.phase is not None:
            section |= {
                "class": "analog",
                "subtype": sensor.subtype,
                "port": [sensor.phase],
            }
        elif sensor.pv_kwp > 0:
            section |= {"class": "pulse", "port": [4], "constant": 1.0}
        else:
            section |= {
                "class": "analog",
                "port": [slot],
                "voltage": 230,
                "current": 50,
            }
        config[str(slot)] = section
    for slot in range(len(device.sensors) + 1, 7):
        config[str(slot)] = {"id": _hex(device.device_id, "stub", slot)}
    return config


def config_messages(device: SimDevice) -> list[Message]:
    """Retained discovery messages (FLM03 adds config/flx and the test/tap text)."""
    did = device.device_id
    out = [
        (f"/device/{did}/config/sensor", json.dumps(config_payload(device)).encode())
    ]
    if device.version == "v3":
        flx: dict[str, Any] = {"main": {"phase": "3p+n", "math": "p1+p2+p3"}}
        flx |= {str(p): {"name": f"L{p}", "enable": 1} for p in (1, 2, 3)}
        out.append((f"/device/{did}/config/flx", json.dumps(flx).encode()))
        out.append((f"/device/{did}/config/kube", b"{}"))
        tap = f"# serial: FL03{did[:6]}\n# firmware: 3.0.2\n".encode()
        out.append((f"/device/{did}/test/tap", tap))
    return out


@dataclass
class _Counter:
    base: float
    last_ts: int
    published: int | None = None


@dataclass
class Fleet:
    """The devices' running state; :meth:`tick` gives what they publish at ``ts``."""

    devices: list[SimDevice]
    start: int
    _counters: dict[str, _Counter] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for device in self.devices:
            for sensor in device.sensors:
                base = float(100_000 + sensor.seed % 5_000_000)
                self._counters[sensor.sensor_id] = _Counter(base, self.start)

    def counter(self, sensor: SimSensor, device: SimDevice, ts: int) -> float:
        """Advances a sensor's counter (Wh) to ``ts``, playing reflashes."""
        state = self._counters[sensor.sensor_id]
        if ts <= state.last_ts:
            return state.base
        if "counter_reset" in device.behaviours:
            for second in range(state.last_ts + 1, ts + 1):
                if device.resets_at(second):
                    state.base, state.last_ts = 0.0, second
        state.base += energy_between(sensor, state.last_ts, ts)
        state.last_ts = ts
        return state.base

    def tick(self, ts: int) -> list[Message]:
        """Every gauge (and changed counter) the fleet publishes at second ``ts``."""
        out: list[Message] = []
        for device in self.devices:
            silent = device.silent(ts)
            for sensor in device.sensors:
                value = self.counter(sensor, device, ts)
                if silent:
                    continue  # Wi-Fi down: counters keep counting, nothing is sent
                sid = sensor.sensor_id
                gauge = f'[{ts},{gauge_power(sensor, ts)},"W"]'.encode()
                out.append((f"/sensor/{sid}/gauge", gauge))
                state = self._counters[sid]
                if int(value) != state.published:
                    state.published = int(value)
                    out.append(
                        (f"/sensor/{sid}/counter", f'[{ts},{int(value)},"Wh"]'.encode())
                    )
        return out
