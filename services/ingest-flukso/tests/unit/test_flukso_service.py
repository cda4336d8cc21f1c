"""The service loop with fakes: Kafka and code failures never stop the MQTT or backfill loops."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime

import httpx
import pytest

from energy_core import topics
from energy_core.domain import Kind
from energy_core.domain.ids import FluksoSensorId
from energy_core.errors import PayloadInvalidError, UpstreamUnavailableError
from energy_core.testing import InMemoryPublisher
from energy_core.wire import batch_from_proto
from ingest_flukso.client import Connection, FluksoApi, RawMessage
from ingest_flukso.mapping import Gap
from ingest_flukso.service import ABANDONED, FluksoService
from ingest_flukso.settings import Settings

DEV = FluksoSensorId("d" * 32)
MAIN = FluksoSensorId("a" * 32)
NOW = int(time.time()) // 60 * 60
CONFIG = json.dumps(
    {"main": {"phase": 1}, "1": {"id": MAIN, "enable": 1, "type": "electricity"}}
).encode()


class _FlakyPublisher(InMemoryPublisher):
    """Refuses the first ``failures`` records, as aiokafka does while Kafka is down."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def publish(self, spec: topics.TopicSpec, key: str, value: object) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("KafkaTimeoutError: metadata not available")
        await super().publish(spec, key, value)  # type: ignore[arg-type]


class _Broker:
    """A fake MQTT broker: connection n plays ``scripts[n]`` (chunks, or an error)."""

    def __init__(self, scripts: list[list[list[RawMessage]] | Exception]) -> None:
        self.scripts = scripts
        self.connects = 0

    @contextlib.asynccontextmanager
    async def connect(
        self, host: str, port: int, client_id: str
    ) -> AsyncIterator[Connection]:
        script = self.scripts[min(self.connects, len(self.scripts) - 1)]
        self.connects += 1
        if isinstance(script, Exception):
            raise script
        yield _Connection(script)


class _Connection:
    def __init__(self, chunks: list[list[RawMessage]]) -> None:
        self.chunks = chunks

    async def subscribe(self, filters: Sequence[str]) -> None:
        pass

    async def __aiter__(self) -> AsyncIterator[list[RawMessage]]:
        for chunk in self.chunks:
            yield chunk
        await asyncio.Event().wait()  # then stays connected, silent


async def _until(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def _run(service: FluksoService, until: Callable[[], bool]) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    await _until(until)
    stop.set()
    await task


def _settings() -> Settings:
    return Settings(batch_seconds=0.05, backfill_delay_seconds=0, history_state_file="")


def _readings(publisher: InMemoryPublisher) -> list[float]:
    return [
        r.value
        for _, v in publisher.sent[topics.READINGS]
        for r in batch_from_proto(v).readings  # type: ignore[arg-type]
    ]


async def test_kafka_down_while_dead_lettering_does_not_stop_the_mqtt_loop() -> None:
    garbage = RawMessage(f"/sensor/{MAIN}/gauge", b"garbage{", NOW)
    config = RawMessage(f"/device/{DEV}/config/sensor", CONFIG, NOW)
    gauge = RawMessage(f"/sensor/{MAIN}/gauge", f'[{NOW},321,"W"]'.encode(), NOW)
    broker = _Broker([[[config, garbage], [gauge]]])
    publisher = _FlakyPublisher(failures=3)
    service = FluksoService(_settings(), publisher, None, connect=broker.connect)  # type: ignore[arg-type]
    await _run(service, lambda: bool(publisher.sent[topics.READINGS]))
    letters = [v for _, v in publisher.sent[topics.DEAD_LETTERS]]
    assert [letter.payload for letter in letters] == [b"garbage{"]  # type: ignore[union-attr]
    assert _readings(publisher) == [321]
    assert broker.connects == 1  # the connection was never given up


async def test_an_unexpected_error_in_the_connection_reconnects() -> None:
    config = RawMessage(f"/device/{DEV}/config/sensor", CONFIG, NOW)
    gauge = RawMessage(f"/sensor/{MAIN}/gauge", f'[{NOW},7,"W"]'.encode(), NOW)
    broker = _Broker([RuntimeError("a bug in a client"), [[config, gauge]]])
    publisher = InMemoryPublisher()
    service = FluksoService(_settings(), publisher, None, connect=broker.connect)  # type: ignore[arg-type]
    await _run(service, lambda: bool(publisher.sent[topics.READINGS]))
    assert broker.connects == 2
    assert _readings(publisher) == [7]


class _Api:
    """flukso.net stand-in: the first hole fails in an unexpected way."""

    def __init__(self) -> None:
        self.calls = 0

    async def minutes(
        self, sensor: str, start: datetime, end: datetime
    ) -> list[tuple[int, float | None]]:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("unexpected")
        first = int(start.timestamp())
        return [(t, 600.0) for t in range(first + 60, int(end.timestamp()) + 1, 60)]


async def test_one_failed_backfill_does_not_end_the_later_ones() -> None:
    config = RawMessage(f"/device/{DEV}/config/sensor", CONFIG, NOW)
    broker = _Broker([[[config]]])
    publisher = InMemoryPublisher()
    api = _Api()
    service = FluksoService(_settings(), publisher, api, connect=broker.connect)  # type: ignore[arg-type]
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    await _until(lambda: service.tracker.sensors > 0)
    service._gaps.put_nowait(Gap(MAIN, NOW - 600, NOW - 480))
    service._gaps.put_nowait(Gap(MAIN, NOW - 300, NOW - 180))
    await _until(lambda: api.calls == 2 and bool(publisher.sent[topics.READINGS]))
    stop.set()
    await task
    batches = [batch_from_proto(v) for _, v in publisher.sent[topics.READINGS]]  # type: ignore[arg-type]
    starts = [int(r.start.timestamp()) - NOW for b in batches for r in b.readings]
    assert starts == [-300, -240]  # the second hole, 600 W = 10 Wh a minute
    assert {r.kind for b in batches for r in b.readings} == {Kind.INTERVAL}
    assert _readings(publisher) == pytest.approx([10.0, 10.0])


class _DownApi:
    """flukso.net down for the first ``down`` calls, then answering 600 W."""

    def __init__(self, down: int) -> None:
        self.down = down
        self.calls = 0

    async def minutes(
        self, sensor: str, start: datetime, end: datetime
    ) -> list[tuple[int, float | None]]:
        self.calls += 1
        if self.calls <= self.down:
            raise UpstreamUnavailableError("flukso.net: 503")
        first = int(start.timestamp())
        return [(t, 600.0) for t in range(first + 60, int(end.timestamp()) + 1, 60)]


async def test_a_hole_is_asked_again_later_while_flukso_net_stays_down() -> None:
    config = RawMessage(f"/device/{DEV}/config/sensor", CONFIG, NOW)
    broker = _Broker([[[config]]])
    publisher = InMemoryPublisher()
    api = _DownApi(down=4)  # two rounds of two attempts fail, the third answers
    settings = Settings(
        batch_seconds=0.05,
        backfill_delay_seconds=0,
        backfill_retries=2,
        backfill_requeue_seconds=0.05,
    )
    service = FluksoService(settings, publisher, api, connect=broker.connect)  # type: ignore[arg-type]
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    await _until(lambda: service.tracker.sensors > 0)
    service._gaps.put_nowait(Gap(MAIN, NOW - 300, NOW - 180))
    await _until(lambda: bool(publisher.sent[topics.READINGS]))
    stop.set()
    await task
    assert api.calls == 5
    assert _readings(publisher) == pytest.approx([10.0, 10.0])


async def test_a_hole_past_the_minute_history_is_abandoned_visibly() -> None:
    settings = Settings(backfill_retries=1, backfill_requeue_seconds=600)
    service = FluksoService(settings, InMemoryPublisher(), _DownApi(down=9))  # type: ignore[arg-type]
    before = ABANDONED._value.get()
    old = Gap(MAIN, NOW - 86_000, NOW - 85_900)  # 24 h old in ten minutes
    with pytest.raises(UpstreamUnavailableError):
        await service.backfill(old)
    service._ask_again_later(old)
    assert ABANDONED._value.get() == before + 1
    assert service._gaps.empty()


async def test_non_finite_backfill_values_are_an_invalid_payload() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, content=b'[[1800000060,Infinity],[1800000120,"nan"]]'
        )

    transport = httpx.MockTransport(handler)
    async with httpx.AsyncClient(transport=transport, base_url="http://f") as http:
        api = FluksoApi(http, Settings().api_token)
        start = datetime.fromtimestamp(1_800_000_000).astimezone()
        end = datetime.fromtimestamp(1_800_000_120).astimezone()
        with pytest.raises(PayloadInvalidError, match="non-finite"):
            await api.minutes(MAIN, start, end)


class _Recording(_Connection):
    def __init__(self, chunks: list[list[RawMessage]]) -> None:
        super().__init__(chunks)
        self.filters: list[str] = []

    async def subscribe(self, filters: Sequence[str]) -> None:
        self.filters += filters


async def test_shards_split_devices_and_subscribe_to_their_own_sensors() -> None:
    devices = [FluksoSensorId(f"{i:032x}") for i in range(40)]
    sensor_of = {d: FluksoSensorId(f"{int(d, 16) + 1000:032x}") for d in devices}
    configs = [
        RawMessage(
            f"/device/{d}/config/sensor",
            json.dumps({"1": {"id": sensor_of[d], "enable": 1}}).encode(),
            NOW,
        )
        for d in devices
    ]
    followed: list[set[str]] = []
    for shard in (0, 1):
        connection = _Recording([configs, configs])  # a config re-published
        settings = Settings(batch_seconds=0.05, shards=2, shard=shard)

        @contextlib.asynccontextmanager
        async def connect(
            host: str, port: int, client_id: str, connection: _Recording = connection
        ) -> AsyncIterator[Connection]:
            yield connection

        service = FluksoService(settings, InMemoryPublisher(), None, connect=connect)  # type: ignore[arg-type]
        await _run(service, lambda s=service: s.handled == 2 * len(configs))
        mine = {d for d in devices if service.mine(d)}
        assert all(service.tracker.sensor(sensor_of[d]) for d in mine)
        assert service.tracker.sensors == len(mine)
        assert connection.filters == ["/device/+/config/sensor"] + [
            f"/sensor/{sensor_of[d]}/{topic}"
            for d in devices
            if d in mine
            for topic in ("gauge", "counter")
        ]  # each sensor once, although its config came twice
        followed.append(mine)
    assert followed[0].isdisjoint(followed[1])
    assert followed[0] | followed[1] == set(devices)
    assert 10 < len(followed[0]) < 30  # crc32 spreads them


def test_a_shard_must_be_below_the_shard_count() -> None:
    with pytest.raises(ValueError, match="not below"):
        Settings(shards=2, shard=2)


class _StuckPublisher(InMemoryPublisher):
    """Hangs on its first record, as aiokafka does with a full buffer."""

    def __init__(self) -> None:
        super().__init__()
        self.stuck = True

    async def publish(self, spec: topics.TopicSpec, key: str, value: object) -> None:
        if self.stuck:
            self.stuck = False
            await asyncio.Event().wait()
        await super().publish(spec, key, value)  # type: ignore[arg-type]


async def test_a_flush_cancelled_at_shutdown_keeps_its_readings_for_the_last_one() -> (
    None
):
    publisher = _StuckPublisher()
    service = FluksoService(_settings(), publisher, None)  # type: ignore[arg-type]
    service.handle(RawMessage(f"/device/{DEV}/config/sensor", CONFIG, NOW))
    service.handle(RawMessage(f"/sensor/{MAIN}/gauge", f'[{NOW},5,"W"]'.encode(), NOW))
    flush = asyncio.create_task(service.flush())
    await asyncio.sleep(0.01)
    flush.cancel()  # the batcher, cancelled by run() on SIGTERM
    with pytest.raises(asyncio.CancelledError):
        await flush
    assert await service.flush() == 1  # run()'s final flush
    assert _readings(publisher) == [5]


async def test_a_big_flush_lets_the_event_loop_run() -> None:
    publisher = InMemoryPublisher()
    service = FluksoService(_settings(), publisher, None)  # type: ignore[arg-type]
    sensors = [FluksoSensorId(f"{i:032x}") for i in range(1, 3001)]
    config = {str(i): {"id": s, "enable": 1} for i, s in enumerate(sensors, start=1)}
    service.handle(
        RawMessage(f"/device/{DEV}/config/sensor", json.dumps(config).encode(), NOW)
    )
    for sid in sensors:
        service.handle(
            RawMessage(f"/sensor/{sid}/gauge", f'[{NOW},1,"W"]'.encode(), NOW)
        )
    ticks = 0

    async def other_task() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(other_task())
    await asyncio.sleep(0)
    before = ticks
    assert await service.flush() == len(sensors)
    task.cancel()
    assert ticks - before >= 5  # every 500 of the 3,000 batches
