"""First contact over the real parts: emulated flukso.net over HTTP, Mosquitto, tansu.

The demo's devices announce themselves and send one gauge each; every PV sensor's
past year comes once as day readings whose energy is what the emulated panels
produced that UTC day; a restart (same state file) publishes none again."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import aiomqtt
import pytest

from energy_core import topics
from energy_core.domain import Direction, Kind
from energy_core.settings import KafkaSettings
from energy_core.wire import batch_from_proto, decode_batch
from flukso_emulator.model import SimDevice, energy_between
from flukso_emulator.publisher import announce
from ingest_flukso.mapping.history import DAY
from ingest_flukso.service import FluksoService
from ingest_flukso.settings import Settings
from sen1_stack.mqtt import MqttBroker
from sen1_stack.topic_reader import drain

from .test_flukso_pipeline import _until, running_service

pytestmark = pytest.mark.integration


async def _day_readings(kafka: KafkaSettings) -> list[tuple[str, int, int, float]]:
    """(meter, start, end, Wh) of every reading longer than 20 h on the topic."""
    out = []
    for record in await drain(kafka, topics.READINGS, poll_ms=1000):
        batch = batch_from_proto(decode_batch(record.value))
        for r in batch.readings:
            if r.kind is Kind.INTERVAL and r.end - r.start > timedelta(hours=20):
                start, end = int(r.start.timestamp()), int(r.end.timestamp())
                out.append((batch.meter, start, end, r.value))
    return out


async def test_first_contact_publishes_each_pv_sensors_year_once(
    mqtt_broker: MqttBroker,
    kafka_settings: KafkaSettings,
    flukso_api: tuple[str, list[SimDevice]],
    tmp_path: Path,
) -> None:
    api_url, devices = flukso_api
    pv = {s.sensor_id: s for d in devices for s in d.sensors if s.pv_kwp > 0}
    assert len(pv) >= 10
    settings = Settings(
        mqtt_host=mqtt_broker.host,
        mqtt_port=mqtt_broker.port,
        kafka=kafka_settings,
        api_url=api_url,
        batch_seconds=0.2,
        backfill_delay_seconds=0,
        history_state_file=str(tmp_path / "history.json"),
    )
    now = int(time.time())

    async def meet(service: FluksoService) -> None:
        async with aiomqtt.Client(mqtt_broker.host, mqtt_broker.port) as mqtt:
            await announce(mqtt, devices)
            await _until(lambda: all(service.tracker.sensor(s) for s in pv))
            for sid in pv:
                await mqtt.publish(f"/sensor/{sid}/gauge", f'[{now},0,"W"]'.encode())

    async with running_service(settings, settings.api_url) as service:
        await meet(service)
        await _until(lambda: all(s in service.history for s in pv), 120)
    first = await _day_readings(kafka_settings)
    per_sensor = Counter(meter for meter, *_ in first)
    assert set(per_sensor) == set(pv)  # PV sensors only, every one of them
    today = now // DAY * DAY
    for sid, count in per_sensor.items():
        assert 360 <= count <= 365, (sid, count)
    assert len({(m, s) for m, s, _, _ in first}) == len(first)  # each day once
    assert max(end for *_, end, _ in first) <= today  # live and minutes after
    # energies: what the emulated panels produced that UTC day (W rounded: 12 Wh)
    sid = next(iter(per_sensor))
    sensor = pv[sid]
    mine = sorted((s, e, v) for m, s, e, v in first if m == sid)
    for start, end, value in (mine[0], mine[len(mine) // 2], mine[-1]):
        assert end - start in (22 * 3600, 23 * 3600)  # to the Paris midnight
        assert value == pytest.approx(
            energy_between(sensor, start, start + DAY), abs=12.1
        )
    assert all(v >= 0 for *_, v in first)
    assert (
        sum(v for m, _, _, v in first if m == sid) > 1000 * sensor.pv_kwp * 300 / 1000
    )

    async with running_service(
        settings, settings.api_url
    ) as again:  # a restart, the same state file
        await meet(again)
        await _until(lambda: all(again.tracker.sensor(s) for s in pv))
        await asyncio.sleep(3)  # a history, if any, would be fetched and sent by now
        assert again._plans.empty()
    assert sorted(await _day_readings(kafka_settings)) == sorted(first)  # none new
    assert {Direction.PRODUCTION} == {sensor.direction for sensor in pv.values()}
