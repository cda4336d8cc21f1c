"""Both MQTT connections against the real Mosquitto: retained, keepalive, refusal."""

from __future__ import annotations

import asyncio
import functools
import time

import aiomqtt
import pytest

from energy_core.errors import UpstreamUnavailableError
from ingest_flukso.client import Connect, connect_aiomqtt, connect_fast
from sen1_stack.broker import free_port
from sen1_stack.mqtt import MqttBroker

pytestmark = pytest.mark.integration
CLIENTS = {"fast": connect_fast, "aiomqtt": connect_aiomqtt}


@pytest.mark.parametrize("name", sorted(CLIENTS))
async def test_retained_then_live_and_kept_alive_while_only_receiving(
    mqtt_broker: MqttBroker, name: str
) -> None:
    connect: Connect = functools.partial(CLIENTS[name], keepalive=2)
    topic = f"/test/{name}/{time.monotonic_ns()}"
    async with aiomqtt.Client(mqtt_broker.host, mqtt_broker.port) as publisher:
        await publisher.publish(topic, b"retained", retain=True)
        async with connect(mqtt_broker.host, mqtt_broker.port, f"t-{name}") as conn:
            await conn.subscribe([topic])
            got: list[bytes] = []
            stop = time.monotonic() + 8  # Mosquitto drops a silent client after ~6 s
            async with asyncio.TaskGroup() as group:

                async def publish_every_200_ms() -> None:
                    while time.monotonic() < stop:
                        await publisher.publish(topic, b"live")
                        await asyncio.sleep(0.2)
                    await publisher.publish(topic, b"last")

                group.create_task(publish_every_200_ms())
                async with asyncio.timeout(15):
                    async for chunk in conn:
                        got += [m.payload for m in chunk]
                        if got[-1] == b"last":
                            break
        await publisher.publish(topic, b"", retain=True)
    assert got[0] == b"retained"
    assert got.count(b"live") >= 35  # the broker never dropped the connection


async def test_fast_client_pings_an_idle_connection(mqtt_broker: MqttBroker) -> None:
    topic = "/sensor/idle/gauge"
    host, port = mqtt_broker.host, mqtt_broker.port
    async with connect_fast(host, port, "t-idle", keepalive=2) as conn:
        await conn.subscribe([topic])
        await asyncio.sleep(0.1)
        iterator = aiter(conn)
        idle = asyncio.create_task(anext(iterator))
        await asyncio.sleep(4)  # nothing to receive: 2 x keepalive
        async with aiomqtt.Client(mqtt_broker.host, mqtt_broker.port) as publisher:
            await publisher.publish(topic, b"still there")
        chunk = await asyncio.wait_for(idle, 5)
    assert [m.payload for m in chunk] == [b"still there"]


async def test_unreachable_broker_is_a_transient_error() -> None:
    port = free_port()
    for connect in CLIENTS.values():
        with pytest.raises(UpstreamUnavailableError):
            async with connect("127.0.0.1", port, "t-none"):
                pass
