"""The collection loop: consented PRMs -> Data Connect windows -> READINGS.

For each PRM with a live consent and each stream, the cursor says up to which
local day (exclusive) everything was asked; the loop asks ``[fetched_until,
available_end)`` in windows (7 days for curves, 365 for daily data), publishes one
ReadingBatch per window, records the days that came back empty as holes, then
moves the cursor. Holes are asked again later. Retry policy lives here:
429 -> pause the shared limiter; 5xx/timeouts -> backoff with full jitter;
ADAM-ERR0123 -> start at the activation date; ADAM-DC-0008 -> stop the PRM,
revoke its consents and emit a consent event.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import asyncpg

from energy_core import topics
from energy_core.domain import PARIS, Prm
from energy_core.domain.time import to_micros
from energy_core.errors import (
    ConsentRevokedError,
    NoDataError,
    PayloadInvalidError,
    PermanentError,
    RateLimitedError,
    UpstreamUnavailableError,
)
from energy_core.kafka import Publisher
from energy_core.observability import meter_ref
from energy_core.wire import batch_to_proto, dead_letter, pb
from ingest_enedis import cursor
from ingest_enedis.client import (
    BeforeActivationError,
    BeforeConsentError,
    DataConnectClient,
    HistoryLimitError,
    WrongDirectionError,
)
from ingest_enedis.mapping import Stream, incomplete_days, to_batch
from ingest_enedis.placement import refresh_usage_point
from ingest_enedis.settings import Settings

logger = logging.getLogger(__name__)
T = TypeVar("T")
SERVICE = "ingest-enedis"
CONSENT_REVOKED = 2  # energy.metering.v1.ConsentChange.CONSENT_CHANGE_REVOKED


def months_before(day: date, months: int) -> date:
    """The same day ``months`` earlier (clamped to the 28th)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month + 1, min(day.day, 28))


@dataclass
class CycleReport:
    """What one pass over the consented PRMs did (for logs and tests)."""

    prms: int = 0
    windows: int = 0
    readings: int = 0
    holes: int = 0
    stopped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


class Collector:
    """Collects every consented PRM; one instance per process."""

    def __init__(
        self,
        settings: Settings,
        client: DataConnectClient,
        publisher: Publisher,
        pool: asyncpg.Pool,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        streams: tuple[Stream, ...] = tuple(Stream),
    ) -> None:
        self.settings = settings
        self.client = client
        self.publisher = publisher
        self.pool = pool
        self.clock = clock
        self.streams = streams

    def available_end(self) -> date:
        """Exclusive end of what should be published: J-1 once past ~08:00 Paris."""
        now = self.clock().astimezone(PARIS)
        today = now.date()
        return (
            today
            if now.hour >= self.settings.publication_hour
            else today - timedelta(days=1)
        )

    async def run_cycle(self) -> CycleReport:
        """One pass over every consented PRM with ``workers`` concurrent workers."""
        report = CycleReport()
        async with self.pool.acquire() as conn:
            prms = await cursor.consented_prms(conn, self.clock())
        report.prms = len(prms)
        queue: asyncio.Queue[str] = asyncio.Queue()
        for prm in prms:
            queue.put_nowait(prm)

        async def worker() -> None:
            while not queue.empty():
                prm = queue.get_nowait()
                try:
                    await self.collect_prm(Prm(prm), report)
                except (UpstreamUnavailableError, RateLimitedError) as exc:
                    logger.warning(
                        "%s: upstream unavailable, later: %s", meter_ref(prm), exc
                    )
                    report.failed.append(prm)

        await asyncio.gather(*(worker() for _ in range(self.settings.workers)))
        await self.publisher.flush()
        return report

    async def _call(self, what: Callable[[], Awaitable[T]]) -> T:
        """Retries 429 (pausing every worker) and 5xx/timeouts (jittered backoff)."""
        attempt = 0
        throttled = 0
        while True:
            try:
                return await what()
            except RateLimitedError as exc:
                throttled += 1
                if throttled > self.settings.max_attempts * 10:
                    raise
                pause = exc.retry_after or min(
                    self.settings.backoff_max_s, 2.0**throttled
                )
                self.client_limiter_pause(pause / self.settings.quota_time_scale)
            except UpstreamUnavailableError:
                attempt += 1
                if attempt >= self.settings.max_attempts:
                    raise
                cap = min(
                    self.settings.backoff_max_s,
                    self.settings.backoff_base_s * 2**attempt,
                )
                await asyncio.sleep(random.uniform(0, cap))

    def client_limiter_pause(self, seconds: float) -> None:
        self.client.limiter.pause(seconds)

    async def collect_prm(self, prm: Prm, report: CycleReport) -> None:
        """Every stream of one PRM: history, daily increment, due holes."""
        end = self.available_end()
        try:
            activation = await refresh_usage_point(
                self.pool, self.client, prm, self._call
            )
            for stream in self.streams:
                await self._collect_stream(prm, stream, end, activation, report)
        except ConsentRevokedError:
            await self._stop(prm, report)

    async def _collect_stream(
        self,
        prm: Prm,
        stream: Stream,
        end: date,
        activation: date | None,
        report: CycleReport,
    ) -> None:
        months = (
            self.settings.curve_history_months
            if stream.is_curve
            else self.settings.daily_history_months
        )
        floor = months_before(end, months)
        if activation and activation > floor:
            floor = activation
        span = (
            self.settings.curve_window_days
            if stream.is_curve
            else self.settings.daily_window_days
        )
        async with self.pool.acquire() as conn:
            state = await cursor.get(conn, prm, stream) or await cursor.start(
                conn, prm, stream, floor
            )
            if state.stopped_reason:
                return
            start = max(state.fetched_until, floor)
            due = await cursor.due_holes(conn, prm, stream, self.clock())
        while start < end:
            stop = min(start + timedelta(days=span), end)
            start = await self._window(prm, stream, start, stop, report)
        for hole_start, hole_end in cursor.hole_windows(due, span):
            await self._window(prm, stream, hole_start, hole_end, report, refill=True)

    async def _window(
        self,
        prm: Prm,
        stream: Stream,
        start: date,
        end: date,
        report: CycleReport,
        *,
        refill: bool = False,
    ) -> date:
        """Fetches, publishes and records one window; returns where to continue."""
        retry_at = self.clock() + timedelta(seconds=self.settings.hole_retry_s)
        reason = "no_data_found"
        holes: list[date] = []
        history_from: date | None = None
        until = end
        try:
            payload = await self._call(
                lambda: self.client.metering(stream, prm, start, end)
            )
            batch = to_batch(prm, stream, payload, produced_at=self.clock())
            await self.publisher.publish(
                topics.READINGS, str(prm), batch_to_proto(batch)
            )
            await self.publisher.flush()
            holes = incomplete_days(batch.readings, start, end, curve=stream.is_curve)
            report.readings += len(batch.readings)
        except NoDataError:
            holes = [start + timedelta(days=i) for i in range((end - start).days)]
        except BeforeActivationError:
            # the meter was (re)activated later: nothing exists before; move the start
            async with self.pool.acquire() as conn:
                activation = await conn.fetchval(
                    "SELECT last_activation_date FROM enedis_usage_points "
                    "WHERE meter_id = $1",
                    str(prm),
                )
            until = activation if activation and activation > start else end
            history_from = until
        except (BeforeConsentError, HistoryLimitError) as exc:
            reason = type(exc).__name__
            holes = [start + timedelta(days=i) for i in range((end - start).days)]
            retry_at = self.clock() + timedelta(days=3650)
        except WrongDirectionError:
            async with self.pool.acquire() as conn:
                await conn.execute(
                    "UPDATE enedis_cursors SET stopped_reason = 'wrong_direction' "
                    "WHERE meter_id = $1 AND stream = $2",
                    str(prm),
                    stream.short,
                )
            return end + timedelta(days=36500)
        except PayloadInvalidError as exc:
            await self._dead_letter(prm, stream, exc, start, end)
            holes = [start + timedelta(days=i) for i in range((end - start).days)]
            reason = "payload_invalid"
        report.windows += 1
        report.holes += len(holes)
        async with self.pool.acquire() as conn:
            if refill:
                delivered = [
                    start + timedelta(days=i) for i in range((end - start).days)
                ]
                await cursor.resolve_holes(
                    conn, prm, stream, [d for d in delivered if d not in holes]
                )
                await cursor.record_holes(conn, prm, stream, holes, reason, retry_at)
            else:
                await cursor.advance(
                    conn,
                    prm,
                    stream,
                    until,
                    holes,
                    reason,
                    retry_at,
                    history_from=history_from,
                )
        return until

    async def _dead_letter(
        self, prm: Prm, stream: Stream, exc: PermanentError, start: date, end: date
    ) -> None:
        origin = json.dumps(
            {
                "prm": str(prm),
                "stream": stream.short,
                "start": str(start),
                "end": str(end),
            }
        )
        letter = dead_letter(
            service=SERVICE,
            reason=str(exc),
            error_type=type(exc).__name__,
            origin=origin,
            payload=b"",
        )
        await self.publisher.publish(topics.DEAD_LETTERS, SERVICE, letter)

    async def _stop(self, prm: Prm, report: CycleReport) -> None:
        """Consent withdrawn upstream: stop collecting, revoke, tell the platform."""
        now = self.clock()
        async with self.pool.acquire() as conn:
            consent_ids = await cursor.stop_prm(conn, str(prm), "consent_revoked", now)
        event: Any = topics.CONSENT_EVENTS.value_type(
            meter_id=str(prm),
            scheme=pb.METER_SCHEME_PRM,
            change=CONSENT_REVOKED,
            consent_id=",".join(consent_ids),
            source=pb.SOURCE_ENEDIS_DATACONNECT,
            occurred_at_us=to_micros(now),
            reason="ADAM-DC-0008: no consent can be found for this usage point",
        )
        await self.publisher.publish(topics.CONSENT_EVENTS, str(prm), event)
        await self.publisher.flush()
        report.stopped.append(str(prm))
        logger.info("%s: consent revoked upstream, collection stopped", meter_ref(prm))


async def run_forever(
    collector: Collector, stop: asyncio.Event, interval_s: float
) -> None:
    """Cycles until ``stop``; a failed cycle is logged and retried next time."""
    while not stop.is_set():
        try:
            report = await collector.run_cycle()
            logger.info(
                "cycle: %d PRMs, %d windows, %d readings, %d holes, "
                "%d stopped, %d failed",
                report.prms,
                report.windows,
                report.readings,
                report.holes,
                len(report.stopped),
                len(report.failed),
            )
        except (OSError, asyncpg.PostgresError) as exc:
            logger.warning("cycle failed, retrying later: %s", exc)
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval_s)
        except TimeoutError:
            continue
