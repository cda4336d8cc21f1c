"""aiokafka plumbing built from the topic registry: publisher, consumer, topic admin.

Delivery is at-least-once everywhere: producers retry, consumers commit after their
writes are durable, and every sink is idempotent. Idempotent producers and
transactions are optional extras for a production cluster (``KafkaSettings``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from google.protobuf.message import Message

from energy_core.errors import TransientError, UpstreamUnavailableError
from energy_core.loops import Backoff, sleep_or_stop
from energy_core.settings import KafkaSettings
from energy_core.topics import TopicSpec

logger = logging.getLogger(__name__)


class Publisher(Protocol):
    """Port: where services send records. Kafka in production, memory in unit tests."""

    async def publish(self, spec: TopicSpec, key: str, value: Message | None) -> None:
        """Queues one record (``None`` is a tombstone on compacted topics)."""

    async def flush(self) -> None:
        """Returns once every queued record is acknowledged by the broker."""


Record = tuple[TopicSpec, str, Message | None]
"""(topic, key, value) of one record waiting for the broker."""


class PublishQueue:
    """Publish-and-flush that keeps failures: records leave only once acknowledged.

    Services :meth:`add` records as they map them and :meth:`flush` when progress
    must be durable (before moving a cursor, every batching interval, at shutdown).
    If publishing or the broker's acknowledgement fails — or the flush is cancelled
    at shutdown — every record of that flush is kept, ahead of those added since,
    for the next flush: nothing is ever dropped (at-least-once; a record the broker
    took before the failure may be sent twice, and every sink is idempotent).
    """

    YIELD_EVERY = 500
    """aiokafka's ``send`` rarely yields: give the loop a turn every this many
    records, so that a big flush does not starve MQTT or ``/metrics``."""

    def __init__(self, publisher: Publisher) -> None:
        self.publisher = publisher
        self._records: list[Record] = []

    def add(self, spec: TopicSpec, key: str, value: Message | None) -> None:
        """Queues one record for the next flush (nothing is sent yet)."""
        self._records.append((spec, key, value))

    @property
    def pending(self) -> int:
        """Records waiting for a flush (including those a failed flush kept)."""
        return len(self._records)

    async def flush(self) -> list[Record]:
        """Publishes every queued record and waits for the broker; returns them.

        Raises what the publisher raised; the records are then kept.
        """
        records, self._records = self._records, []
        if not records:
            return records
        try:
            for i, (spec, key, value) in enumerate(records, start=1):
                await self.publisher.publish(spec, key, value)
                if i % self.YIELD_EVERY == 0:
                    await asyncio.sleep(0)
            await self.publisher.flush()
        except BaseException:  # broker down, or cancelled at shutdown: keep them
            self._records = records + self._records
            raise
        return records


def _client_options(settings: KafkaSettings) -> dict[str, Any]:
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "security_protocol": settings.security_protocol,
    }
    if settings.sasl_mechanism:
        options["sasl_mechanism"] = settings.sasl_mechanism
        options["sasl_plain_username"] = settings.sasl_username
        if settings.sasl_password is not None:
            options["sasl_plain_password"] = settings.sasl_password.get_secret_value()
    return options


def make_producer(settings: KafkaSettings, *, client_id: str) -> AIOKafkaProducer:
    """An aiokafka producer configured from settings (not started)."""
    acks: int | str = "all" if settings.acks == "all" else int(settings.acks)
    return AIOKafkaProducer(
        client_id=client_id,
        acks=acks,
        enable_idempotence=settings.enable_idempotence,
        linger_ms=settings.linger_ms,
        compression_type=settings.compression_type,
        max_batch_size=settings.max_batch_size,
        **_client_options(settings),
    )


def make_consumer(
    settings: KafkaSettings,
    specs: Iterable[TopicSpec],
    *,
    group_id: str | None,
    client_id: str,
    **options: Any,
) -> AIOKafkaConsumer:
    """An aiokafka consumer on registry topics; commits are manual by default."""
    options.setdefault("enable_auto_commit", False)
    options.setdefault("auto_offset_reset", "earliest")
    return AIOKafkaConsumer(
        *(settings.topic_name(spec) for spec in specs),
        group_id=group_id,
        client_id=client_id,
        **_client_options(settings),
        **options,
    )


class KafkaPublisher:
    """A :class:`Publisher` over one aiokafka producer."""

    def __init__(self, settings: KafkaSettings, *, client_id: str) -> None:
        self._settings = settings
        self._producer = make_producer(settings, client_id=client_id)
        self._pending: list[Any] = []

    async def start(self) -> None:
        """Connects to the broker; raises UpstreamUnavailableError if it cannot."""
        try:
            await self._producer.start()
        except KafkaError as exc:
            await self._producer.stop()
            raise UpstreamUnavailableError(f"Kafka unreachable: {exc}") from exc

    async def stop(self) -> None:
        """Flushes and closes the producer."""
        await self._producer.stop()

    async def publish(self, spec: TopicSpec, key: str, value: Message | None) -> None:
        """Queues one record; ordering per key is kept by the key's partition."""
        if value is not None and not isinstance(value, spec.value_type):
            msg = f"{spec.name} carries {spec.value_type.__name__}, not {type(value)}"
            raise TypeError(msg)
        future = await self._producer.send(
            self._settings.topic_name(spec),
            key=key.encode(),
            value=None if value is None else value.SerializeToString(),
        )
        self._pending.append(future)

    async def flush(self) -> None:
        """Waits for every queued record; raises if one failed (at-least-once)."""
        pending, self._pending = self._pending, []
        for future in pending:
            await future

    async def reachable(self, within_s: float = 2.0) -> bool:
        """Readiness: the cluster answers a metadata request within ``within_s``.

        A started producer keeps no state that says the broker went away; asking
        for metadata is the cheapest question every broker answers.
        """
        try:
            async with asyncio.timeout(within_s):
                metadata = await self._producer.client.fetch_all_metadata()
        except (KafkaError, OSError, TimeoutError):
            return False
        return bool(metadata.brokers())

    @property
    def producer(self) -> AIOKafkaProducer:
        """The underlying producer, for readiness checks."""
        return self._producer


async def start_when_reachable(
    publisher: KafkaPublisher,
    stop: asyncio.Event,
    *,
    backoff: Backoff = Backoff(1.0, 30.0),  # noqa: B008 - frozen, shared safely
) -> bool:
    """Starts ``publisher``, retrying while the broker is unreachable, until ``stop``.

    A service started before its broker (``make run`` starts everything at once,
    Kubernetes in any order) waits for it instead of crashing into a restart loop.
    Returns False if ``stop`` came first (nothing was started).
    """
    failures = 0
    while not stop.is_set():
        try:
            await publisher.start()
            return True
        except TransientError as exc:
            failures += 1
            delay = backoff.delay(failures)
            logger.warning("%s; retrying in %.1f s", exc, delay)
            await sleep_or_stop(stop, delay)
    return False


async def ensure_topics(
    settings: KafkaSettings, specs: Iterable[TopicSpec], *, replication: int = 1
) -> list[str]:
    """Creates the registry topics that do not exist yet; returns the ones created."""
    admin = AIOKafkaAdminClient(client_id="sen1-topics", **_client_options(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(
                settings.topic_name(spec),
                spec.partitions,
                replication,
                topic_configs=spec.configs(),
            )
            for spec in specs
            if settings.topic_name(spec) not in existing
        ]
        if wanted:
            try:
                await admin.create_topics(wanted)
            except TopicAlreadyExistsError:
                logger.info("topics created concurrently by another process")
        return [t.name for t in wanted]
    finally:
        await admin.close()
