"""Emulated devices -> Mosquitto -> ingest-flukso -> tansu, with backfill over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
import pytest

from energy_core import topics
from energy_core.domain import Direction, Kind, ReadingBatch, Stamp
from energy_core.kafka import KafkaPublisher
from energy_core.observability import Health
from energy_core.settings import KafkaSettings
from energy_core.wire import batch_from_proto, decode_batch
from flukso_emulator.devices import Fleet
from flukso_emulator.model import (
    DROPOUT_EVERY,
    SimDevice,
    energy_between,
    gauge_power,
)
from flukso_emulator.publisher import announce, replay
from ingest_flukso.bootstrap import StoppedBeforeStartError, bootstrap
from ingest_flukso.client import FluksoApi
from ingest_flukso.service import FluksoService
from ingest_flukso.settings import Settings
from sen1_stack.broker import free_port
from sen1_stack.mqtt import MqttBroker
from sen1_stack.topic_reader import drain

pytestmark = pytest.mark.integration

Series = dict[tuple[str, str, Kind, Direction], dict[int, float]]
C, P = Direction.CONSUMPTION, Direction.PRODUCTION
WINDOW = 1200  # simulated seconds: one Wi-Fi dropout and one reflash


async def _until(check: Callable[[], bool], within: float = 60) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


async def _quiet(count: Callable[[], int], within: float = 60) -> None:
    """Returns once ``count()`` has not moved for a whole second."""
    deadline = time.monotonic() + within
    last = count()
    while True:
        await asyncio.sleep(1.0)
        now = count()
        if now == last:
            return
        assert time.monotonic() < deadline, "messages still arriving"
        last = now


@contextlib.asynccontextmanager
async def running_service(
    settings: Settings, api_url: str
) -> AsyncIterator[FluksoService]:
    stop = asyncio.Event()
    settings = settings.model_copy(update={"api_url": api_url})
    async with bootstrap(settings, stop=stop) as runtime:
        service = runtime.service
        task = asyncio.create_task(service.run(stop))
        try:
            await _until(
                lambda: bool(service.connected) and all(service.connected.values())
            )
            yield service
        finally:
            stop.set()
            await task


async def _consume(settings: KafkaSettings, spec: topics.TopicSpec) -> list[Any]:
    return await drain(settings, spec, poll_ms=1000)


def _settings(
    mqtt_broker: MqttBroker, kafka_settings: KafkaSettings, client: str = "fast"
) -> Settings:
    return Settings(
        mqtt_host=mqtt_broker.host,
        mqtt_port=mqtt_broker.port,
        mqtt_client=client,
        kafka=kafka_settings,
        backfill_delay_seconds=0,
        batch_seconds=0.5,
        history=False,  # first-contact history: test_flukso_history.py
    )


async def test_devices_to_kafka_with_phases_reset_and_backfill(
    mqtt_broker: MqttBroker,
    kafka_settings: KafkaSettings,
    flukso_api: tuple[str, list[SimDevice]],
) -> None:
    api_url, devices = flukso_api
    # in the past (within the 24 h minute retention), aligned so that the dropout
    # (minutes 5-8 of every 20) and the reflash (minute 17 of every 30) fall inside
    start = (int(time.time()) - 7200) // 3600 * 3600
    fleet = Fleet(devices, start=start)
    settings = _settings(mqtt_broker, kafka_settings)
    async with aiomqtt.Client(mqtt_broker.host, mqtt_broker.port) as mqtt:
        await announce(mqtt, devices)
        async with running_service(settings, api_url) as service:
            sent = await replay(mqtt, fleet, range(start + 1, start + WINDOW + 1))
            await _until(lambda: service.handled >= sent + len(devices), 120)
            await _until(lambda: service._gaps.empty())
            await asyncio.sleep(1.5)  # the backfill in flight and the last batch

    records = await _consume(kafka_settings, topics.READINGS)
    batches: list[ReadingBatch] = []
    for record in records:
        batch = batch_from_proto(decode_batch(record.value))
        assert record.key.decode() == batch.meter  # key = meter id
        batches.append(batch)
    readings = [(b, r) for b in batches for r in b.readings]
    assert len(batches) < len(readings) / 5  # micro-batched, not one per gauge

    # discovery: every enabled sensor of every device, disabled stubs skipped
    assert service.tracker.sensors == sum(len(d.sensors) for d in devices)
    # exactly one value per interval for every series
    identity = Counter(
        (b.meter, r.channel, r.kind, r.direction, r.start) for b, r in readings
    )
    assert max(identity.values()) == 1

    series: Series = defaultdict(dict)
    stamps: dict[tuple[str, int], Stamp] = {}
    for b, r in readings:
        key = (b.meter, r.channel, r.kind, r.direction)
        series[key][int(r.start.timestamp())] = r.value
        if r.kind is Kind.INTERVAL:
            stamps[(b.meter, int(r.start.timestamp()))] = b.stamped

    plain = next(d for d in devices if d.version == "v2" and not d.behaviours)
    _check_plain(plain, series, start)
    _check_three_phase(devices[0], series, start)
    _check_reset(next(d for d in devices if "counter_reset" in d.behaviours), series)
    dropout = next(d for d in devices if "wifi_dropout" in d.behaviours)
    _check_backfill(dropout, series, stamps, start)
    assert service.tracker.stats["counter_reset"] >= 1
    pv_homes = [d for d in devices if len(d.sensors) == 2]  # main + solar
    assert plain in pv_homes
    assert dropout in pv_homes
    for device in pv_homes:
        _check_net(device, series)


def _check_plain(device: SimDevice, series: Series, start: int) -> None:
    sensor = device.sensors[0]
    gauges = series[(sensor.sensor_id, "", Kind.INSTANT, C)]
    assert len(gauges) == WINDOW
    assert all(v == gauge_power(sensor, ts) for ts, v in gauges.items())
    minutes = series[(sensor.sensor_id, "", Kind.INTERVAL, C)]
    first, last = min(minutes), max(minutes)
    assert sorted(minutes) == list(range(first, last + 60, 60))  # contiguous
    expected = energy_between(sensor, first, last + 60)
    assert sum(minutes.values()) == pytest.approx(expected, abs=2.0)  # integer Wh


def _check_three_phase(device: SimDevice, series: Series, start: int) -> None:
    did = device.device_id
    for kind in (Kind.INSTANT, Kind.INTERVAL):
        for direction in (C, P):
            total = series[(did, "", kind, direction)]
            phases = [series[(did, f"l{p}", kind, direction)] for p in (1, 2, 3)]
            assert total
            for ts, value in total.items():
                assert value == pytest.approx(sum(p[ts] for p in phases))
        assert len(series[(did, "", Kind.INSTANT, C)]) == WINDOW
        # pminus (power sent back) is 0 in a home without PV: import = consumption
        assert set(series[(did, "", kind, P)].values()) == {0}
        assert series[(did, "net", kind, C)] == series[(did, "", kind, C)]
        assert set(series[(did, "net", kind, P)].values()) == {0}


def _check_reset(device: SimDevice, series: Series) -> None:
    minutes = series[(device.sensors[0].sensor_id, "", Kind.INTERVAL, C)]
    assert minutes
    assert min(minutes.values()) >= 0  # the reflash never shows as negative energy


def _check_backfill(
    device: SimDevice,
    series: Series,
    stamps: dict[tuple[str, int], Stamp],
    start: int,
) -> None:
    sensor = device.sensors[0]
    minutes = series[(sensor.sensor_id, "", Kind.INTERVAL, C)]
    first, last = min(minutes), max(minutes)
    assert sorted(minutes) == list(range(first, last + 60, 60))  # no hole left
    hole = range(start + 300, start + 480, 60)  # the device was silent here
    assert all(stamps[(sensor.sensor_id, ts)] is Stamp.END for ts in hole)
    for ts in hole:  # flukso.net's rounded minute average, as Wh
        watts = round(energy_between(sensor, ts, ts + 60) * 60)
        assert minutes[ts] == pytest.approx(watts / 60, abs=1e-6)
    gauges = series[(sensor.sensor_id, "", Kind.INSTANT, C)]
    assert not any(start + 300 <= ts < start + 480 for ts in gauges)


def _check_net(device: SimDevice, series: Series) -> None:
    """Net import/export of a home with a main and a PV sensor, under the device."""
    main, pv = (s.sensor_id for s in device.sensors)
    did = device.device_id
    for kind in (Kind.INSTANT, Kind.INTERVAL):
        used, made = series[(main, "", kind, C)], series[(pv, "", kind, P)]
        imports, exports = series[(did, "net", kind, C)], series[(did, "net", kind, P)]
        # one net value wherever both sides have one, and nowhere else
        assert set(imports) == set(exports) == set(used) & set(made)
        assert imports
        for ts in imports:
            assert imports[ts] == pytest.approx(max(used[ts] - made[ts], 0))
            assert exports[ts] == pytest.approx(max(made[ts] - used[ts], 0))


@pytest.mark.parametrize("client", ["fast", "aiomqtt"])
async def test_garbage_is_dead_lettered_and_duplicates_dropped(
    mqtt_broker: MqttBroker,
    kafka_settings: KafkaSettings,
    flukso_api: tuple[str, list[SimDevice]],
    client: str,
) -> None:
    api_url, _ = flukso_api
    did, good, bad = "e" * 32, "f" * 31 + "1", "f" * 31 + "2"
    sections = {
        str(i): {"id": sid, "enable": 1, "type": "electricity"}
        for i, sid in ((1, good), (2, bad))
    }
    config = json.dumps({"main": {"phase": 1}, **sections}).encode()
    now = int(time.time()) - 60
    settings = _settings(mqtt_broker, kafka_settings, client)
    async with aiomqtt.Client(mqtt_broker.host, mqtt_broker.port) as mqtt:
        await mqtt.publish(f"/device/{did}/config/sensor", config, retain=True)
        async with running_service(settings, api_url) as service:
            before = service.handled
            publish: Callable[[str, bytes], Awaitable[None]] = mqtt.publish
            await publish(f"/sensor/{bad}/gauge", b"garbage{")
            await publish(f"/sensor/{bad}/gauge", b'[12,100,"W"]')  # clock not set
            for _ in range(50):  # a duplicate burst (retained replays, reconnects)
                await publish(f"/sensor/{good}/gauge", f'[{now},321,"W"]'.encode())
            await publish(f"/sensor/{good}/gauge", f'[{now + 1},322,"W"]'.encode())
            await publish(f"/sensor/{bad}/gauge", f'[{now + 1},99,"W"]'.encode())
            await _until(lambda: service.handled >= before + 54)
            await asyncio.sleep(1)

    letters = await _consume(kafka_settings, topics.DEAD_LETTERS)
    decoded: list[Any] = [
        topics.DEAD_LETTERS.value_type.FromString(r.value) for r in letters
    ]
    assert sorted(d.payload for d in decoded) == [b'[12,100,"W"]', b"garbage{"]
    assert all(d.origin == f"/sensor/{bad}/gauge" and d.reason for d in decoded)
    assert any("clock not set" in d.reason for d in decoded)

    records = await _consume(kafka_settings, topics.READINGS)
    values: dict[str, list[float]] = defaultdict(list)
    for record in records:
        batch = batch_from_proto(decode_batch(record.value))
        values[batch.meter] += [r.value for r in batch.readings]
    assert values[good] == [321, 322]  # the burst counted once
    assert values[bad] == [99]  # the sensor recovers after its garbage


async def test_service_waits_for_a_late_broker_and_reconnects(
    kafka_settings: KafkaSettings,
    flukso_api: tuple[str, list[SimDevice]],
    tmp_path: Path,
) -> None:
    api_url, _ = flukso_api
    late = MqttBroker(tmp_path, port=free_port())
    settings = _settings(late, kafka_settings)
    publisher = KafkaPublisher(kafka_settings, client_id="test-reconnect")
    await publisher.start()
    async with httpx.AsyncClient(base_url=api_url) as http:
        service = FluksoService(
            settings, publisher, FluksoApi(http, settings.api_token)
        )
        stop = asyncio.Event()
        task = asyncio.create_task(service.run(stop))
        broker = f"{late.host}:{late.port}"
        try:
            await asyncio.sleep(1.5)  # connection refused: backing off
            assert service.connected == {broker: False}
            for _ in range(2):  # the first start, then a broker restart
                late.start()
                try:
                    await _until(lambda: service.connected[broker], 40)
                finally:
                    late.stop()
                await _until(lambda: not service.connected[broker], 20)
        finally:
            stop.set()
            await task
            await publisher.stop()


async def test_two_shards_follow_every_device_once(
    mqtt_broker: MqttBroker,
    kafka_settings: KafkaSettings,
    flukso_api: tuple[str, list[SimDevice]],
) -> None:
    api_url, devices = flukso_api
    # after the other tests' retained messages (older), which would hide these, and
    # in minutes 10-11 of a 20-minute cycle: outside the Wi-Fi dropout (minutes
    # 5-7) in which some emulated devices publish nothing
    seconds = 120
    start = (int(time.time()) - 780) // DROPOUT_EVERY * DROPOUT_EVERY + 600
    window = range(start + 1, start + seconds + 1)
    assert not any(d.silent(t) for d in devices for t in window)
    fleet = Fleet(devices, start=start)
    shards = [
        _settings(mqtt_broker, kafka_settings).model_copy(
            update={"shards": 2, "shard": shard}
        )
        for shard in (0, 1)
    ]
    async with aiomqtt.Client(mqtt_broker.host, mqtt_broker.port) as mqtt:
        await announce(mqtt, devices)
        async with (
            running_service(shards[0], api_url) as one,
            running_service(shards[1], api_url) as two,
        ):
            sensors = [s.sensor_id for d in devices for s in d.sensors]
            # every sensor configured and subscribed (its SUBACK back) by its
            # shard: a sample published before that is not delivered (QoS 0)
            await _until(
                lambda: all(
                    (one.tracker.sensor(s) and one.follows(s))
                    or (two.tracker.sensor(s) and two.follows(s))
                    for s in sensors
                )
            )
            # both shards handled every config already: count only what follows
            before = one.handled + two.handled
            sent = await replay(mqtt, fleet, window)
            await _until(lambda: one.handled + two.handled >= before + sent, 60)
            # the count can be reached while messages are still in flight (retained
            # gauges of the per-sensor subscriptions land in the same window under
            # load): wait until both shards have handled nothing new for a second
            await _quiet(lambda: one.handled + two.handled)
            await asyncio.sleep(1.5)  # the last batches

    # the session broker may retain other tests' devices: count the emulator's
    assert sum(bool(one.tracker.sensor(s)) for s in sensors) not in (0, len(sensors))
    assert not any(one.tracker.sensor(s) and two.tracker.sensor(s) for s in sensors)
    records = await _consume(kafka_settings, topics.READINGS)
    readings = [
        (b, r)
        for b in (batch_from_proto(decode_batch(rec.value)) for rec in records)
        for r in b.readings
    ]
    identity = Counter(
        (b.meter, r.channel, r.kind, r.direction, r.start) for b, r in readings
    )
    assert max(identity.values()) == 1  # no device followed twice
    gauges = Counter(
        b.meter for b, r in readings if r.kind is Kind.INSTANT and r.channel == ""
    )
    meters = {
        s.sensor_id if s.phase is None else d.device_id
        for d in devices
        for s in d.sensors
    }
    assert set(gauges) >= meters  # every meter, from one shard or the other
    assert all(gauges[m] >= seconds for m in meters)  # none missed (x2 per phase sum)


@pytest.mark.parametrize("client", ["fast", "aiomqtt"])
async def test_retained_gauges_are_mapped_after_a_restart(
    mqtt_broker: MqttBroker,
    kafka_settings: KafkaSettings,
    flukso_api: tuple[str, list[SimDevice]],
    client: str,
) -> None:
    api_url, _ = flukso_api
    did, sensors = "c" * 32, [f"{i:032x}" for i in range(1, 41)]
    config = {"main": {"phase": 1}} | {
        str(i): {"id": sid, "enable": 1, "type": "electricity"}
        for i, sid in enumerate(sensors, start=1)
    }
    now = int(time.time()) - 30
    async with aiomqtt.Client(mqtt_broker.host, mqtt_broker.port) as mqtt:
        # QoS 1: each PUBACK says the broker holds the retained message, so
        # everything is retained before the service starts (QoS 0 raced it).
        for sid in sensors:  # retained before the config, as after a reflash
            gauge = f'[{now},{int(sid, 16)},"W"]'.encode()
            await mqtt.publish(f"/sensor/{sid}/gauge", gauge, qos=1, retain=True)
        await mqtt.publish(
            f"/device/{did}/config/sensor",
            json.dumps(config).encode(),
            qos=1,
            retain=True,
        )
        settings = _settings(mqtt_broker, kafka_settings, client)
        async with running_service(settings, api_url) as service:
            await _until(lambda: service.tracker.sensors >= len(sensors))
            await asyncio.sleep(1.5)
        assert service.tracker.stats["undiscovered"] == 0
        for sid in sensors:
            await mqtt.publish(f"/sensor/{sid}/gauge", b"", retain=True)
        await mqtt.publish(f"/device/{did}/config/sensor", b"", retain=True)
    records = await _consume(kafka_settings, topics.READINGS)
    values = {
        batch.meter: [r.value for r in batch.readings]
        for batch in (batch_from_proto(decode_batch(r.value)) for r in records)
    }
    assert all(values[sid] == [int(sid, 16)] for sid in sensors)


async def test_readyz_checks_every_mqtt_broker_and_kafka(
    mqtt_broker: MqttBroker,
    kafka_settings: KafkaSettings,
    flukso_api: tuple[str, list[SimDevice]],
) -> None:
    api_url, _ = flukso_api
    settings = _settings(mqtt_broker, kafka_settings, "aiomqtt").model_copy(
        update={"api_url": api_url}
    )
    health = Health()
    stop = asyncio.Event()
    async with bootstrap(settings, stop=stop, health=health) as runtime:
        ready, checks = await health.readiness()
        assert checks == {"mqtt": False, "kafka": True}  # not following MQTT yet
        assert not ready
        task = asyncio.create_task(runtime.service.run(stop))
        try:
            connected = runtime.service.connected
            await _until(lambda: bool(connected) and all(connected.values()))
            assert await health.readiness() == (True, {"mqtt": True, "kafka": True})
        finally:
            stop.set()
            await task


async def test_bootstrap_gives_up_quietly_when_stopped_before_kafka_answers(
    tmp_path: Path,
) -> None:
    nobody = KafkaSettings(bootstrap_servers=f"127.0.0.1:{free_port()}")
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.5, stop.set)
    began = time.monotonic()
    with pytest.raises(StoppedBeforeStartError):
        async with bootstrap(Settings(kafka=nobody), stop=stop):
            pytest.fail("nothing may run without a broker")
    assert time.monotonic() - began < 10
