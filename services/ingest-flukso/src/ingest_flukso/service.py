"""The loop: subscribe -> map -> micro-batch -> publish, plus backfill of holes
and first-contact history.

One task per broker (reconnect with exponential backoff), one batcher (every
``batch_seconds``, one ReadingBatch per meter, key = meter id), one backfiller
(holes reported by the tracker, fetched from flukso.net once the devices have had
time to upload), one historian (a production sensor met for the first time gets
its past year of day averages, and today's minutes as a hole; see
:mod:`ingest_flukso.mapping.history`). A message that cannot be mapped is dead-lettered with its bytes;
it never stops the others.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
import zlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

from prometheus_client import Counter, Gauge

from energy_core import topics
from energy_core.domain import Energy, Reading, ReadingBatch, Source, Stamp
from energy_core.domain.ids import FluksoSensorId
from energy_core.errors import PermanentError, TransientError
from energy_core.kafka import Publisher, PublishQueue
from energy_core.loops import Backoff, sleep_or_stop
from energy_core.observability import meter_ref
from energy_core.wire import batch_to_proto, dead_letter, pb
from ingest_flukso.client import (
    CONFIGS,
    WILDCARDS,
    Connect,
    FluksoApi,
    RawMessage,
    connect_aiomqtt,
    connect_fast,
)
from ingest_flukso.history_state import HistoryState
from ingest_flukso.mapping import (
    Emitted,
    Gap,
    HistoryPlan,
    TopicKind,
    Tracker,
    day_readings,
    parse_config,
    parse_sample,
    parse_topic,
    plan,
)
from ingest_flukso.settings import Settings

logger = logging.getLogger(__name__)
SERVICE = "ingest-flukso"

MESSAGES = Counter("ingest_flukso_messages_total", "MQTT messages handled", ["topic"])
READINGS = Counter("ingest_flukso_readings_published_total", "Readings published")
BATCHES = Counter("ingest_flukso_batches_published_total", "ReadingBatch records")
DEAD = Counter("ingest_flukso_dead_letters_total", "Messages dead-lettered")
GAPS = Counter("ingest_flukso_gaps_total", "Holes detected for backfill")
BACKFILLED = Counter("ingest_flukso_backfilled_readings_total", "Readings backfilled")
DROPPED = Counter("ingest_flukso_dropped_total", "Samples not mapped", ["reason"])
REQUEUED = Counter(
    "ingest_flukso_backfill_requeued_total", "Holes asked again later (API down)"
)
ABANDONED = Counter(
    "ingest_flukso_backfill_abandoned_total",
    "Holes older than flukso.net's minute history while the API stayed down",
)
HISTORY_DAYS = Counter(
    "ingest_flukso_history_readings_total",
    "Day readings of first-contact history (production sensors)",
)
HISTORY_SENSORS = Counter(
    "ingest_flukso_history_sensors_total",
    "Sensors whose first-contact history was fetched",
    ["outcome"],
)
MINUTE_HISTORY_S = 24 * 3600
"""flukso.net answers minutes for the last 24 hours only ("nan" beyond)."""
SUBSCRIBED = Gauge(
    "ingest_flukso_sensor_topics_subscribed",
    "Per-sensor topics of this shard's devices whose SUBACK came back, summed over "
    "brokers (0 when not sharded: the wildcards bring every sensor)",
)
NEWEST = Gauge(
    "ingest_flukso_newest_published_sample_timestamp_seconds",
    "Device time of the newest sample handled before the last acknowledged flush "
    "(time() minus this is the MQTT-to-Kafka lag while devices publish)",
)

_Key = tuple[FluksoSensorId, Stamp]
_T = TypeVar("_T")


def _at(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class FluksoService:
    """Flukso brokers in, ReadingBatch records out (see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        publisher: Publisher,
        api: FluksoApi,
        *,
        clock: Callable[[], float] = time.time,
        connect: Connect | None = None,
    ) -> None:
        self._settings = settings
        self._connect: Connect = connect or (
            connect_fast if settings.mqtt_client == "fast" else connect_aiomqtt
        )
        self._publisher = publisher
        self._api = api
        self._clock = clock
        self.tracker = Tracker(
            gap_seconds=settings.gap_seconds,
            future_tolerance=settings.future_tolerance_seconds,
        )
        self._pending: dict[_Key, tuple[Energy, list[Reading]]] = {}
        self._outbox = PublishQueue(publisher)
        """Dead letters as they come, then each flush's batches: kept until acked."""
        self._gaps: asyncio.Queue[Gap] = asyncio.Queue()
        state_file = settings.history_state_file if settings.history else ""
        if state_file and settings.shards > 1:  # one writer per file
            state_file += f".{settings.shard}-of-{settings.shards}"
        self.history = HistoryState(state_file or None)
        """Sensors whose history is published (kept across restarts)."""
        self._met: set[FluksoSensorId] = set()
        self._plans: asyncio.Queue[HistoryPlan] = asyncio.Queue()
        self._history_added: list[tuple[FluksoSensorId, int]] = []
        """History queued in ``pending``: marked done once a flush is acked."""
        self._topics: dict[str, tuple[TopicKind, FluksoSensorId] | None] = {}
        self._dropped_seen: dict[str, int] = {}
        self.connected: dict[str, bool] = {}
        self._subscribed: dict[str, set[str]] = {}  # per broker, when sharded
        self._wanted: dict[str, list[str]] = {}
        self._acked: dict[str, set[str]] = {}
        """Per broker, the per-sensor topics whose SUBACK came back."""
        self.handled = 0
        """MQTT messages handled so far (mapped, ignored or dead-lettered)."""
        self._kinds: dict[TopicKind, int] = dict.fromkeys(TopicKind, 0)
        self._kinds_seen = dict(self._kinds)  # exported to MESSAGES at each flush
        self._batch_prefix = uuid.uuid4().hex[:12]  # one random draw per process
        self._batch_seq = 0

    @property
    def brokers(self) -> list[tuple[str, int]]:
        """Every broker followed: the main one and ``extra_brokers``."""
        out = [(self._settings.mqtt_host, self._settings.mqtt_port)]
        for item in self._settings.extra_brokers:
            host, _, port = item.rpartition(":")
            out.append((host, int(port)))
        return out

    async def ready(self) -> bool:
        """Ready when every broker is connected."""
        return len(self.connected) == len(self.brokers) and all(self.connected.values())

    def mine(self, device: str) -> bool:
        """Whether this process follows ``device`` (always, unless sharded)."""
        shards = self._settings.shards
        return shards == 1 or zlib.crc32(device.encode()) % shards == (
            self._settings.shard
        )

    def follows(self, sensor: FluksoSensorId) -> bool:
        """Whether every broker delivers ``sensor``'s gauge and counter to this
        process: always unless sharded, else once their SUBACK came back.

        Why: a sharded process learns its sensors from the configs, then
        subscribes; a sample published before the SUBACK is not delivered (QoS 0).
        """
        if self._settings.shards == 1:
            return True
        wanted = {f"/sensor/{sensor}/gauge", f"/sensor/{sensor}/counter"}
        return len(self._acked) == len(self.brokers) and all(
            wanted <= acked for acked in self._acked.values()
        )

    def handle(self, message: RawMessage, broker: str = "") -> None:
        """Maps one MQTT message; queues a dead letter if it cannot be mapped.

        Nothing here waits on Kafka: readings and dead letters are published by
        :meth:`flush`, so a broker hiccup never stops the MQTT loop.
        """
        self.handled += 1
        try:
            if message.topic in self._topics:
                parsed = self._topics[message.topic]
            else:
                parsed = self._topics[message.topic] = parse_topic(message.topic)
            if parsed is None:
                return
            kind, ident = parsed
            self._kinds[kind] += 1
            if kind is TopicKind.CONFIG:
                if self.mine(ident):
                    self._configure(ident, message.payload, broker)
                return
            unit = "W" if kind is TopicKind.GAUGE else "Wh"
            sample = parse_sample(message.payload, default_unit=unit)
            emitted, gaps = self.tracker.feed(kind, ident, sample, message.received)
            if ident not in self._met and self._settings.history:
                self._first_contact(ident, sample.ts or message.received)
        except PermanentError as exc:
            self._dead_letter(message, exc)
            return
        except Exception as exc:  # the per-record guard: never stop on one record
            logger.exception("unexpected failure mapping a message")
            self._dead_letter(message, exc)
            return
        self._add(emitted, Stamp.INSTANT)
        for gap in gaps:
            GAPS.inc()
            self._gaps.put_nowait(gap)

    def _first_contact(self, sensor: FluksoSensorId, ts: int) -> None:
        """Plans the history of a sensor seen live for the first time, unless an
        earlier run published it already."""
        info = self.tracker.sensor(sensor)
        if info is None:
            return  # not configured yet: the next sample asks again
        self._met.add(sensor)
        if sensor in self.history:
            return
        wanted = plan(info, ts)
        if wanted is not None:
            self._plans.put_nowait(wanted)

    def _configure(self, device: FluksoSensorId, payload: bytes, broker: str) -> None:
        config = parse_config(device, payload)
        self.tracker.configure(config)
        if self._settings.shards == 1:
            return  # the wildcards bring every sensor already
        subscribed = self._subscribed.setdefault(broker, set())
        for info in config.sensors:
            for topic in (
                f"/sensor/{info.sensor}/gauge",
                f"/sensor/{info.sensor}/counter",
            ):
                if topic not in subscribed:
                    subscribed.add(topic)
                    self._wanted.setdefault(broker, []).append(topic)

    def _dead_letter(self, message: RawMessage, exc: Exception) -> None:
        DEAD.inc()
        letter = dead_letter(
            service=SERVICE, origin=message.topic, payload=message.payload, error=exc
        )
        self._outbox.add(topics.DEAD_LETTERS, SERVICE, letter)

    def _add(self, emitted: list[Emitted], stamp: Stamp) -> None:
        for item in emitted:
            entry = self._pending.setdefault((item.meter, stamp), (item.energy, []))
            entry[1].append(item.reading)

    async def flush(self) -> int:
        """Publishes the dead letters and one ReadingBatch per (meter, stamp)
        gathered; returns the readings published (those a failed flush kept
        included). On failure everything is kept for the next flush
        (:class:`~energy_core.kafka.PublishQueue`, at-least-once)."""
        pending, self._pending = self._pending, {}
        newest = self.tracker.newest  # every sample up to here is in ``pending``
        produced = _at(int(self._clock()))
        first = self._batch_seq
        self._batch_seq += len(pending)
        batches = [
            (
                meter,
                ReadingBatch(
                    meter,
                    Source.FLUKSO,
                    energy,
                    tuple(readings),
                    stamp,
                    produced,
                    f"{self._batch_prefix}-{seq}",
                ),
            )
            for seq, ((meter, stamp), (energy, readings)) in enumerate(
                pending.items(), start=first
            )
        ]
        for key, batch in batches:
            self._outbox.add(topics.READINGS, key, batch_to_proto(batch))
        histories, self._history_added = self._history_added, []
        try:
            flushed = await self._outbox.flush()  # on failure the outbox keeps them
        except BaseException:
            self._history_added[:0] = histories  # their readings wait in the outbox
            raise
        if histories:
            self.history.mark(histories)
        published = [v for spec, _, v in flushed if spec is topics.READINGS]
        count = sum(
            len(v.readings) for v in published if isinstance(v, pb.ReadingBatch)
        )
        READINGS.inc(count)
        BATCHES.inc(len(published))
        if newest:
            NEWEST.set(newest)
        for kind, total in self._kinds.items():
            MESSAGES.labels(kind.value).inc(total - self._kinds_seen[kind])
            self._kinds_seen[kind] = total
        for reason, total in self.tracker.stats.items():
            DROPPED.labels(reason).inc(total - self._dropped_seen.get(reason, 0))
            self._dropped_seen[reason] = total
        return count

    async def _follow(self, host: str, port: int, stop: asyncio.Event) -> None:
        broker = f"{host}:{port}"
        self.connected[broker] = False
        policy = Backoff(0.5, self._settings.reconnect_max_seconds)
        failures = 0
        identifier = f"{SERVICE}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        while not stop.is_set():
            try:
                async with self._connect(host, port, identifier) as connection:
                    sharded = self._settings.shards > 1
                    self._subscribed[broker] = set()  # a new session: none yet
                    self._wanted.pop(broker, None)
                    self._acked[broker] = set()
                    # configs first, SUBACK awaited: Mosquitto then sends every
                    # retained config before any retained gauge or counter
                    await connection.subscribe(CONFIGS)
                    if not sharded:
                        await connection.subscribe(WILDCARDS[len(CONFIGS) :])
                    logger.info("following MQTT broker %s", broker)
                    self.connected[broker], failures = True, 0
                    async for chunk in connection:
                        for message in chunk:
                            self.handle(message, broker)
                        wanted = self._wanted.pop(broker, None)
                        if wanted:  # sensors of this shard's newly seen devices
                            await connection.subscribe(wanted)
                            self._acked[broker].update(wanted)
                            SUBSCRIBED.set(sum(map(len, self._acked.values())))
            except TransientError as exc:
                failures += 1
                logger.warning(
                    "%s; reconnecting in %.1f s", exc, policy.delay(failures)
                )
            except Exception:  # a bug must not silently end the broker's follower
                failures += 1
                logger.exception("following %s failed; reconnecting", broker)
            self.connected[broker] = False
            self._acked.pop(broker, None)
            SUBSCRIBED.set(sum(map(len, self._acked.values())))
            await sleep_or_stop(stop, policy.delay(failures))

    async def _batcher(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await sleep_or_stop(stop, self._settings.batch_seconds)
            try:
                await self.flush()
            except Exception:  # logged; the batches wait for the next round
                logger.exception("publishing batches failed; will retry")

    async def backfill(self, gap: Gap) -> int:
        """Fetches one hole from flukso.net and queues its readings; returns them.

        Raises the last TransientError when every attempt failed (the caller asks
        again later); a refusal (PermanentError) is logged and gives 0.
        """
        try:
            points = await self._retrying(
                "backfill",
                lambda: self._api.minutes(gap.sensor, _at(gap.start), _at(gap.end)),
            )
        except PermanentError as exc:
            logger.warning("backfill of %s refused: %s", meter_ref(gap.sensor), exc)
            return 0
        emitted = self.tracker.backfilled(gap, points)
        self._add(emitted, Stamp.END)
        BACKFILLED.inc(len(emitted))
        return len(emitted)

    async def _retrying(self, what: str, call: Callable[[], Awaitable[_T]]) -> _T:
        """``call()``, tried ``backfill_retries`` times while flukso.net is away
        (TransientError: backoff, its Retry-After honoured); the last failure is
        raised. A PermanentError goes straight to the caller."""
        policy = Backoff(1.0, max_s=60.0)
        attempt = 1
        while True:
            try:
                return await call()
            except TransientError as exc:
                logger.warning("%s attempt %d failed: %s", what, attempt, exc)
                if attempt >= self._settings.backfill_retries:
                    raise
                await asyncio.sleep(policy.delay(attempt, retry_after=exc.retry_after))
                attempt += 1

    async def fetch_history(self, wanted: HistoryPlan) -> int:
        """Fetches one sensor's day history and queues its readings (and today's
        minutes as a hole); returns the day readings queued.

        Raises the last TransientError when every attempt failed (the caller asks
        again later); a refusal (PermanentError, e.g. 404: no data) is logged and
        the sensor is marked done with nothing, as a hole-free sensor would be.
        """
        info = self.tracker.sensor(wanted.sensor)
        points: list[tuple[int, float | None]] = []
        try:
            points = await self._retrying(
                "history", lambda: self._api.days(wanted.sensor)
            )
        except PermanentError as exc:
            logger.warning("history of %s refused: %s", meter_ref(wanted.sensor), exc)
            HISTORY_SENSORS.labels("refused").inc()
        emitted: list[Emitted] = []
        if info is not None:
            emitted, refused = day_readings(info, wanted.days_until, points)
            for point, reason in refused:
                DEAD.inc()
                letter = dead_letter(
                    service=SERVICE,
                    origin=f"/sensor/{wanted.sensor}?interval=year&resolution=day",
                    payload=repr(list(point)).encode(),
                    reason=reason,
                    error_type="PayloadInvalidError",
                )
                self._outbox.add(topics.DEAD_LETTERS, SERVICE, letter)
        self._add(emitted, Stamp.END)
        self._history_added.append((wanted.sensor, wanted.days_until))
        if wanted.gap is not None:
            self._gaps.put_nowait(wanted.gap)
        HISTORY_DAYS.inc(len(emitted))
        HISTORY_SENSORS.labels("fetched").inc()
        return len(emitted)

    async def _historian(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            wanted = await self._plans.get()
            try:
                await self.fetch_history(wanted)
            except TransientError:
                later = self._settings.backfill_requeue_seconds
                logger.warning(
                    "history of %s asked again in %.0f s",
                    meter_ref(wanted.sensor),
                    later,
                )
                asyncio.get_running_loop().call_later(
                    later, self._plans.put_nowait, wanted
                )
            except Exception:  # one bad sensor must not end every later history
                logger.exception("history of %s failed", meter_ref(wanted.sensor))

    def _ask_again_later(self, gap: Gap) -> None:
        """flukso.net stayed unavailable: the hole waits, while it can still come."""
        later = self._settings.backfill_requeue_seconds
        if self._clock() + later - gap.end < MINUTE_HISTORY_S:
            REQUEUED.inc()
            logger.warning(
                "backfill of %s asked again in %.0f s", meter_ref(gap.sensor), later
            )
            asyncio.get_running_loop().call_later(later, self._gaps.put_nowait, gap)
        else:
            ABANDONED.inc()
            logger.warning(
                "backfill of %s abandoned: flukso.net unavailable for 24 h",
                meter_ref(gap.sensor),
            )

    async def _backfiller(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            gap = await self._gaps.get()
            due = gap.end + self._settings.backfill_delay_seconds - self._clock()
            if due > 0:
                await sleep_or_stop(stop, due)
            if stop.is_set():
                break
            try:
                await self.backfill(gap)
            except TransientError:
                self._ask_again_later(gap)
            except Exception:  # one bad hole must not end every later backfill
                logger.exception("backfill of %s failed", meter_ref(gap.sensor))

    async def run(self, stop: asyncio.Event) -> None:
        """Runs every task until ``stop``; publishes what is pending on the way out."""
        tasks = [
            asyncio.create_task(self._follow(host, port, stop))
            for host, port in self.brokers
        ]
        tasks += [
            asyncio.create_task(self._batcher(stop)),
            asyncio.create_task(self._backfiller(stop)),
            asyncio.create_task(self._historian(stop)),
        ]
        await stop.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.flush()
