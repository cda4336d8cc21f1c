"""Live power on its own consumer: the neighbourhood load never waits behind a backfill.

Why: the readings agent writes a batch before it takes the next one. While a
backfill's batch takes a minute (the demo's first minutes: batches of 45 to 64 s),
the FluksoMeters' gauges wait behind it in Kafka and every meter's last power goes
stale (``stale_after_s``, 30 s): the operator page showed no live load from the
second to the sixth minute of ``make run``.

This task reads the same topic in a consumer group of its own, from the newest
offset, decodes only the records stamped INSTANT (peeked before their readings,
:func:`energy_core.wire.peek_stamp`) and writes each meter's last power through
the agent's upsert, which keeps the newest: the two paths may write the same
gauges in any order. No offset is committed: a power is worth nothing once stale,
so a restart starts at the newest record, and the agent still writes every gauge
it reads (the live path is a head start, never the only writer).
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg
from aiokafka import AIOKafkaConsumer

from aggregator import metrics
from aggregator.pipeline import Pipeline
from energy_core import topics
from energy_core.kafka import make_consumer
from energy_core.settings import KafkaSettings
from energy_core.wire import STAMP_INSTANT, peek_stamp

logger = logging.getLogger(__name__)

_DB_ERRORS = (asyncpg.PostgresError, OSError, asyncpg.InterfaceError)
_PAUSE_S = 5.0
"""Before a failed consumer is started again."""


def live_values(values: list[bytes]) -> list[bytes]:
    """The records that may carry live power (stamped INSTANT)."""
    return [v for v in values if peek_stamp(v) == STAMP_INSTANT]


async def follow_live_power(
    pipeline: Pipeline,
    pool: asyncpg.Pool,
    kafka: KafkaSettings,
    *,
    group_id: str,
    client_id: str,
) -> None:
    """Writes live power as it arrives, until cancelled; a consumer that fails
    (Kafka away) is started again after a pause, never ending the worker."""
    while True:
        consumer = make_consumer(
            kafka,
            [topics.READINGS],
            group_id=group_id,
            client_id=client_id,
            auto_offset_reset="latest",
        )
        try:
            await consumer.start()
            await _write_live(pipeline, pool, consumer)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("live power consumer failed; again in %.0f s", _PAUSE_S)
            await asyncio.sleep(_PAUSE_S)
        finally:
            await consumer.stop()


async def _write_live(
    pipeline: Pipeline, pool: asyncpg.Pool, consumer: AIOKafkaConsumer
) -> None:
    while True:
        fetched = await consumer.getmany(timeout_ms=1000, max_records=5000)
        values = live_values(
            [r.value for part in fetched.values() for r in part if r.value]
        )
        if not values:
            continue
        try:
            metrics.LIVE_POWER.inc(await pipeline.write_power(pool, values))
        except _DB_ERRORS:  # live: the next gauges come within seconds
            logger.warning("live power not written (PostgreSQL); next batch")
            await asyncio.sleep(1.0)
