"""Faust agents, tasks and timers: readings -> PostgreSQL, load sampling, territory.

Offsets: ``stream.take`` acknowledges a batch's events only when the loop asks
for the next batch, i.e. after :meth:`Pipeline.process` committed; Faust commits
acknowledged offsets every ``commit_interval_s``. A crash therefore replays at most
the uncommitted batches, which the idempotent store turns into no-ops.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast

import asyncpg
import faust

from aggregator import dead_letters, metrics, power
from aggregator.live_power import follow_live_power
from aggregator.outbox import relay_alerts
from aggregator.territory import follow_territory
from energy_core import topics
from energy_core.loops import Backoff
from energy_core.wire import dead_letter

if TYPE_CHECKING:
    from aggregator.app import Context

logger = logging.getLogger(__name__)

_DB_ERRORS = (asyncpg.PostgresError, OSError, asyncpg.InterfaceError)


async def _startup(ctx: Context) -> None:
    """Territory from PostgreSQL first, then follow the compacted topic."""
    if ctx.territory.ready.is_set():
        return
    pool = await ctx.db()
    async with pool.acquire() as conn:
        await ctx.territory.load(conn)
    metrics.TERRITORY_METERS.set(len(ctx.territory.meters))


SLOW_BATCH_S = 1.0
"""A batch taking this long is logged (backfills); live batches stay silent."""

PRUNE_EVERY_S = 3600.0
"""How often stored dead letters past the topic's retention are deleted."""

_DB_BACKOFF = Backoff(base_s=0.5, max_s=30.0)
"""PostgreSQL unavailable: the batch is retried (never acknowledged before)."""


def register(app: faust.App, ctx: Context) -> None:
    """Attaches the agents, the territory task and the sampling timer to ``app``."""
    settings = ctx.settings
    lock = asyncio.Lock()

    async def started() -> None:
        async with lock:
            await _startup(ctx)

    @app.task  # type: ignore[untyped-decorator]
    async def territory_feed() -> None:
        await started()
        await follow_territory(
            ctx.territory, settings.kafka, client_id=f"{app.conf.id}-territory"
        )

    @app.task  # type: ignore[untyped-decorator]
    async def live_power() -> None:
        await started()
        pipeline = ctx.pipeline
        if pipeline is None:  # pragma: no cover - set by bootstrap
            raise RuntimeError("pipeline missing")
        await follow_live_power(
            pipeline,
            await ctx.db(),
            settings.kafka,
            group_id=f"{app.conf.id}-live",
            client_id=f"{app.conf.id}-live",
        )

    @app.agent(ctx.topics.readings, name="readings")
    async def readings(stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
        await started()
        pool = await ctx.db()
        pipeline = ctx.pipeline
        if pipeline is None:  # pragma: no cover - set by bootstrap
            raise RuntimeError("pipeline missing")
        async for values in stream.take(
            settings.batch_size, within=settings.batch_within_s
        ):
            began = time.perf_counter()
            failures = 0
            while True:  # never ack a batch that is not durable
                try:
                    result = await pipeline.write(pool, values)
                    break
                except _DB_ERRORS:
                    metrics.DB_RETRIES.inc()
                    failures += 1
                    delay = _DB_BACKOFF.delay(failures)
                    logger.exception("batch failed; retrying in %.1f s", delay)
                    await asyncio.sleep(delay)
            now_us = time.time_ns() // 1000
            for produced in result.produced_at_us:
                if produced > 0:
                    metrics.FRESHNESS_SECONDS.observe((now_us - produced) / 1e6)
            for reason, kind, payload in result.dead:
                letter = dead_letter(
                    service="aggregator", reason=reason, error_type=kind,
                    origin=settings.kafka.topic_name(topics.READINGS), payload=payload,
                )  # fmt: skip
                await ctx.topics.dead_letters.send(
                    key=b"aggregator", value=letter.SerializeToString()
                )
            metrics.RECORDS.inc(result.records)
            metrics.READINGS_CHANGED.inc(result.readings_changed)
            metrics.DEAD_LETTERS.inc(len(result.dead))
            seconds = time.perf_counter() - began
            metrics.BATCH_SECONDS.observe(seconds)
            if seconds >= SLOW_BATCH_S:  # a backfill's progress, visible in the log
                logger.info(
                    "batch: %d records, %d readings changed, %d rollup changes "
                    "in %.1f s",
                    result.records,
                    result.readings_changed,
                    result.rollup_changes,
                    seconds,
                )
            metrics.TERRITORY_METERS.set(len(ctx.territory.meters))
            yield None

    @app.agent(ctx.topics.dead_letters, name="dead-letters")
    async def letters(stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
        """Every service's dead letters -> ``dead_letters`` (counted per source on
        the operator page); idempotent by (topic, partition, offset), hence
        ``take_events`` (the events carry them) rather than ``take``."""
        pool = await ctx.db()
        pruned_at = 0.0
        events_of = cast("faust.Stream[bytes]", stream)  # StreamT lacks take_events
        async for events in events_of.take_events(
            settings.batch_size, within=settings.batch_within_s
        ):
            now = datetime.now(UTC)
            rows = [
                dead_letters.to_row(
                    e.message.topic,
                    e.message.partition,
                    e.message.offset,
                    e.value,
                    now=now,
                )
                for e in events
            ]
            failures = 0
            while True:  # never ack letters that are not stored
                try:
                    async with pool.acquire() as conn:
                        new = await dead_letters.record(conn, rows)
                        if time.monotonic() - pruned_at > PRUNE_EVERY_S:
                            await dead_letters.prune(conn, now)
                            pruned_at = time.monotonic()
                    break
                except _DB_ERRORS:
                    metrics.DB_RETRIES.inc()
                    failures += 1
                    delay = _DB_BACKOFF.delay(failures)
                    logger.exception("dead letters failed; retrying in %.1f s", delay)
                    await asyncio.sleep(delay)
            metrics.DEAD_LETTERS_RECORDED.inc(new)
            yield None

    async def send_alert(iris: str, payload: bytes) -> None:
        """Returns once the broker acknowledged the event (the outbox marks it)."""
        delivered = await ctx.topics.alerts.send(key=iris.encode(), value=payload)
        await delivered

    @app.timer(interval=settings.sample_interval_s)  # type: ignore[untyped-decorator]
    async def sample_load() -> None:
        await started()
        monitor = ctx.monitor
        if monitor is None:  # pragma: no cover - set by bootstrap
            return
        try:
            if ctx.leader_conn is None or ctx.leader_conn.is_closed():
                ctx.leader_conn = await asyncpg.connect(
                    ctx.settings.postgres.dsn.get_secret_value()
                )
                monitor.loaded = False
            conn = ctx.leader_conn
            if not await conn.fetchval(
                "SELECT pg_try_advisory_lock($1)", power.LEADER_LOCK
            ):
                metrics.LEADER.set(0)
                return
            metrics.LEADER.set(1)
            await monitor.sample(conn, datetime.now(UTC))
            await relay_alerts(conn, send_alert)
        except _DB_ERRORS:
            logger.exception("load sample failed")
            if ctx.leader_conn is not None:
                await ctx.leader_conn.close()
            ctx.leader_conn = None
