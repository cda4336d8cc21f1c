"""Publishes the fleet on an MQTT broker, in real time or as a fast replay."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable

import aiomqtt
from energy_store.demo import build

from ingest_flukso.emulator.devices import Fleet, config_messages
from ingest_flukso.emulator.model import SimDevice, from_demo, synthetic

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
    """Publishes every ``interval`` s until ``stop``; reconnects with backoff."""
    backoff = 0.5
    while not stop.is_set():
        try:
            async with aiomqtt.Client(host, port, identifier="flukso-emulator") as c:
                backoff = 0.5
                await announce(c, fleet.devices)
                logger.info(
                    "emulating %d devices on %s:%d", len(fleet.devices), host, port
                )
                next_at = clock()
                while not stop.is_set():
                    await replay(c, fleet, [int(clock())])
                    next_at += interval
                    delay = max(0.0, next_at - clock())
                    if delay == 0.0:
                        next_at = clock()  # running late: skip, never burst
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=delay)
        except aiomqtt.MqttError as exc:
            logger.warning("broker unavailable (%s); retrying in %.1f s", exc, backoff)
            try:
                await asyncio.wait_for(stop.wait(), timeout=backoff)
            except TimeoutError:
                backoff = min(backoff * 2, 30.0)
