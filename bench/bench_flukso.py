"""Flukso ingest throughput: MQTT (Mosquitto) -> ingest-flukso -> Kafka (tansu).

Prints the machine, the raw limits measured in the same run (bare aiomqtt and
paho-thread subscribers' messages/s, bare aiokafka produce records/s), then for
each fleet size the offered and the handled messages/s while the emulator's
fleet (a separate process writing the emulator's messages as raw MQTT packets,
see :func:`publisher`) publishes every sensor at 1 Hz in real time, and whether
the lag grows (lag = receive time - device timestamp of the newest gauge
handled: a service that keeps up holds it near 1 s, one that falls behind sees
it climb). Medians of several runs; bounded to a few minutes. Usage:
``uv run python bench/bench_flukso.py [--sizes 2000,5000,10000] [--runs 3]
[--seconds 12]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiomqtt
from aiokafka import AIOKafkaProducer

from energy_core import topics
from energy_core.kafka import KafkaPublisher, ensure_topics
from energy_core.settings import KafkaSettings
from ingest_flukso.client import FluksoApi, RawMessage, connect_fast
from ingest_flukso.emulator.devices import Fleet, config_messages
from ingest_flukso.emulator.publisher import fleet_devices
from ingest_flukso.service import FluksoService
from ingest_flukso.settings import Settings
from sen1_stack.broker import TansuBroker, free_port
from sen1_stack.mqtt import MqttBroker

_PUBLISHER = """
import sys, time
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
c = mqtt.Client(CallbackAPIVersion.VERSION2)
c.connect(sys.argv[1], int(sys.argv[2]))
c.loop_start()
for i in range(int(sys.argv[3])):
    c.publish("/bench/x", b'[1800000000,512,"W"]')
    if i % 1000 == 0:
        time.sleep(0.002)  # let the network thread drain
time.sleep(1)
c.loop_stop()
"""


async def bare_mqtt(host: str, port: int, n: int = 100_000) -> float:
    """Messages/s a bare aiomqtt subscriber receives (paho publisher, other process)."""
    got = 0
    async with aiomqtt.Client(host, port) as client:
        await client.subscribe("/bench/x")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", _PUBLISHER, host, str(port), str(n)
        )
        t0 = time.perf_counter()
        try:
            async with asyncio.timeout(60):
                async for _ in client.messages:
                    got += 1
                    if got == 1:
                        t0 = time.perf_counter()
                    if got >= n * 0.98:  # QoS 0: a few may be dropped under load
                        break
        except TimeoutError:
            pass
        elapsed = time.perf_counter() - t0
        await proc.wait()
    return got / elapsed


async def bare_fast(host: str, port: int, n: int = 100_000) -> float:
    """Messages/s of the service's lean subscriber alone (no mapping)."""
    got = 0
    async with connect_fast(host, port, "bench-raw") as connection:
        await connection.subscribe(["/sensor/x/gauge"])
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _PUBLISHER.replace("/bench/x", "/sensor/x/gauge"),
            host,
            str(port),
            str(n),
        )
        t0 = time.perf_counter()
        try:
            async with asyncio.timeout(60):
                async for chunk in connection:
                    if chunk and not got:
                        t0 = time.perf_counter()
                    got += len(chunk)
                    if got >= n * 0.98:
                        break
        except TimeoutError:
            pass
        elapsed = time.perf_counter() - t0
        await proc.wait()
    return got / elapsed


async def bare_kafka(settings: KafkaSettings, n: int = 100_000) -> float:
    """Records/s of a bare aiokafka producer (300-byte values, linger 5 ms)."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers)
    await producer.start()
    value = b"x" * 300
    t0 = time.perf_counter()
    futures = [
        await producer.send(
            settings.topic_name(topics.READINGS), value, key=str(i % 997).encode()
        )
        for i in range(n)
    ]
    await asyncio.gather(*futures)
    elapsed = time.perf_counter() - t0
    await producer.stop()
    return n / elapsed


def _packet(topic: str, payload: bytes) -> bytes:
    """One MQTT 3.1.1 PUBLISH packet, QoS 0, retained (what the devices send)."""
    name = topic.encode()
    body = len(name).to_bytes(2, "big") + name + payload
    size, length = len(body), bytearray()
    while True:
        size, digit = size >> 7, size & 0x7F
        length.append(digit | (0x80 if size else 0))
        if not size:
            return bytes([0x31]) + bytes(length) + body


def publisher(host: str, port: int, devices: int) -> None:
    """Load generator: the emulator's fleet written as raw MQTT packets, paced 1 Hz.

    The emulator's paho client costs about as much CPU as the service under test;
    writing the same messages as pre-built packets keeps the bench about ingest.
    """
    fleet = Fleet(fleet_devices(devices), start=int(time.time()))
    sock = socket.create_connection((host, port))
    client_id = b"bench-devices"
    connect = b"\x00\x04MQTT\x04\x02\x00\x3c" + len(client_id).to_bytes(2, "big")
    connect += client_id
    sock.sendall(bytes([0x10, len(connect)]) + connect)
    sock.recv(4)  # CONNACK
    sock.sendall(
        b"".join(_packet(t, p) for d in fleet.devices for t, p in config_messages(d))
    )
    next_at = time.time()
    while True:
        now = int(time.time())
        sock.sendall(b"".join(_packet(t, p) for t, p in fleet.tick(now)))
        next_at += 1
        time.sleep(max(0.0, next_at - time.time()))


class _Probe(FluksoService):
    """The real service, plus the device timestamp of the newest gauge handled."""

    newest = 0

    def handle(self, message: RawMessage) -> None:
        super().handle(message)
        if self.handled % 500 == 0 and message.topic.endswith("/gauge"):
            self.newest = max(self.newest, json.loads(message.payload)[0])


async def sustained(
    mqtt: MqttBroker, kafka: KafkaSettings, sensors: int, seconds: float
) -> tuple[float, list[float]]:
    """(handled messages/s, lag samples) with ``sensors`` emulated at 1 Hz."""
    emulator = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--publisher", f"{mqtt.host}:{mqtt.port}:{sensors}"
    )
    settings = Settings(
        mqtt_host=mqtt.host,
        mqtt_port=mqtt.port,
        kafka=kafka,
        backfill_delay_seconds=1e9,
    )
    publisher = KafkaPublisher(kafka, client_id="bench-flukso")
    await publisher.start()
    service = _Probe(settings, publisher, FluksoApi(None, settings.api_token))  # type: ignore[arg-type]
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    await asyncio.sleep(8)  # emulator start, discovery of every device
    h0, t0, lags = service.handled, time.perf_counter(), []
    while time.perf_counter() - t0 < seconds:
        await asyncio.sleep(1)
        lags.append(time.time() - service.newest)
        print(f"    {sensors} sensors: handled {service.handled}, lag {lags[-1]:.1f} s")
    rate = (service.handled - h0) / (time.perf_counter() - t0)
    stop.set()
    await task
    await publisher.stop()
    emulator.terminate()
    await emulator.wait()
    return rate, lags


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="2000,5000,10000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=12)
    parser.add_argument("--publisher", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.publisher:
        host, port, devices = args.publisher.split(":")
        publisher(host, int(port), int(devices))
        return
    print(
        f"machine: {platform.platform()} {platform.processor()} cpus={os.cpu_count()}"
    )
    print(f"python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        mqtt = MqttBroker(Path(tmp), port=free_port(), require_mosquitto=True)
        mqtt.start()
        tansu = TansuBroker(port=free_port(), log_file=Path(tmp) / "tansu.log")
        tansu.start()
        try:
            kafka = KafkaSettings(
                bootstrap_servers=tansu.bootstrap_servers, topic_prefix="bench."
            )
            await ensure_topics(kafka, topics.ALL)
            raw_mqtt = [await bare_mqtt(mqtt.host, mqtt.port) for _ in range(args.runs)]
            raw_paho = [await bare_fast(mqtt.host, mqtt.port) for _ in range(args.runs)]
            raw_kafka = [await bare_kafka(kafka) for _ in range(args.runs)]
            print(
                f"raw: bare aiomqtt subscriber {statistics.median(raw_mqtt):,.0f} msg/s"
            )
            print(
                f"raw: lean subscriber       {statistics.median(raw_paho):,.0f} msg/s"
            )
            print(
                f"raw: bare aiokafka produce  {statistics.median(raw_kafka):,.0f} rec/s"
            )
            for size in (int(s) for s in args.sizes.split(",")):
                rates, growth, last = [], [], []
                for run in range(args.runs):
                    print(f"  run {run + 1}/{args.runs}, {size} sensors at 1 Hz")
                    rate, lags = await sustained(mqtt, kafka, size, args.seconds)
                    rates.append(rate)
                    half = len(lags) // 2
                    growth.append(
                        statistics.mean(lags[half:]) - statistics.mean(lags[:half])
                    )
                    last.append(lags[-1])
                probe = Fleet(fleet_devices(size), start=int(time.time()) - 60)
                offered = sum(
                    len(probe.tick(int(time.time()) - 59 + s)) for s in range(10)
                )
                verdict = (
                    "keeps up" if statistics.median(growth) < 2 else "FALLS BEHIND"
                )
                print(
                    f"RESULT {size} sensors @1 Hz: offered {offered / 10:,.0f} msg/s, "
                    f"handled "
                    f"{statistics.median(rates):,.0f} msg/s (gauges + counters), "
                    f"final lag {statistics.median(last):.1f} s, lag growth over "
                    f"the run {statistics.median(growth):+.1f} s ({verdict})"
                )
        finally:
            tansu.stop()
            mqtt.stop()


if __name__ == "__main__":
    asyncio.run(main())
