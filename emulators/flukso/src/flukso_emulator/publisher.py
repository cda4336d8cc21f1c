"""Publishes the fleet on an MQTT broker, in real time or as a fast replay."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

import aiomqtt
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from energy_core.loops import sleep_or_stop
from energy_store.demo import build
from flukso_emulator.devices import Fleet, config_messages
from flukso_emulator.model import SimDevice, from_demo, synthetic

logger = logging.getLogger(__name__)


def fleet_devices(total: int = 0) -> list[SimDevice]:
    """The demo territory's devices, topped up with synthetic ones to ``total``."""
    devices = [from_demo(d) for d in build().flukso_devices]
    devices += [synthetic(i) for i in range(len(devices), total)]
    return devices


async def announce(client: aiomqtt.Client, devices: Iterable[SimDevice]) -> None:
    """Publishes every device's retained discovery messages."""
    for device in devices:
        for topic, payload in config_messages(device):
            await client.publish(topic, payload, qos=0, retain=True)


async def replay(client: aiomqtt.Client, fleet: Fleet, seconds: Iterable[int]) -> int:
    """Publishes what the fleet sends at each device second, as fast as possible."""
    sent = 0
    for ts in seconds:
        for topic, payload in fleet.tick(ts):
            await client.publish(topic, payload, qos=0, retain=True)
            sent += 1
    return sent


async def run_live(
    fleet: Fleet,
    host: str,
    port: int,
    *,
    interval: float,
    stop: asyncio.Event,
    clock: Callable[[], float] = time.time,
) -> None:
    """Publishes every ``interval`` s until ``stop``.

    Uses paho-mqtt directly with its network thread: aiomqtt awaits one event-loop
    round trip per publish (about 2,000 messages/s here), too slow to emulate
    thousands of sensors; paho reconnects by itself and re-announces on connect.
    """
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="flukso-emulator")
    client.reconnect_delay_set(min_delay=1, max_delay=30)

    def on_connect(c: mqtt.Client, *_: object) -> None:
        logger.info("emulating %d devices on %s:%d", len(fleet.devices), host, port)
        for device in fleet.devices:
            for topic, payload in config_messages(device):
                c.publish(topic, payload, qos=0, retain=True)

    client.on_connect = on_connect
    client.connect_async(host, port, keepalive=30)
    client.loop_start()
    try:
        next_at = clock()
        while not stop.is_set():
            for topic, payload in fleet.tick(int(clock())):
                client.publish(topic, payload, qos=0, retain=True)  # dropped if offline
            next_at += interval
            delay = next_at - clock()
            if delay <= 0:
                next_at = clock()  # running late: skip, never burst
            await sleep_or_stop(stop, delay)
    finally:
        client.disconnect()
        client.loop_stop()
