"""The collection loop: consented PRMs -> Data Connect windows -> READINGS.

For each PRM with a live consent and each stream, the cursor says up to which
local day (exclusive) everything was asked; the loop asks ``[fetched_until,
available_end)`` in windows (7 days for curves, 365 for daily data), publishes one
ReadingBatch per window and waits for the broker's acknowledgement, then records
the days that came back empty as holes and moves the cursor in one transaction.
"Stored" for the cursor therefore means *acknowledged by Kafka* (``acks=all``);
the aggregator makes it durable in PostgreSQL (at-least-once, idempotent upsert).
A crash between the acknowledgement and the cursor update re-asks that window:
at most the windows in flight are fetched twice, nothing is skipped.

Retry policy lives here: 429 -> pause the shared limiter; 5xx/timeouts -> backoff
with full jitter; ADAM-ERR0123 / ADAM-DC-0009 -> start at the activation / consent
start date (searched for when the contract's date is wrong); no_data_found and
other refusals -> holes asked again later (plus a dead letter for the unexpected
ones); ADAM-DC-0008 -> stop the PRM, revoke its verified consents and emit a
consent event. Only PRMs with a live *verified* consent are collected; pending
ones are settled first by :mod:`ingest_enedis.verifier`.
Kafka or PostgreSQL unreachable -> the cycle stops early and nothing moves.
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
from aiokafka.errors import KafkaError
from google.protobuf.message import Message

from energy_core import topics
from energy_core.domain import PARIS, Prm
from energy_core.domain.time import to_micros
from energy_core.errors import (
    ConsentRevokedError,
    InvalidValueError,
    NoDataError,
    PayloadInvalidError,
    PermanentError,
    RateLimitedError,
    TransientError,
    UpstreamUnavailableError,
)
from energy_core.kafka import Publisher
from energy_core.observability import meter_ref
from energy_core.topics import TopicSpec
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
from ingest_enedis.placement import record_activation, refresh_usage_point
from ingest_enedis.settings import Settings
from ingest_enedis.verifier import VerificationReport, verify_pending

logger = logging.getLogger(__name__)
T = TypeVar("T")
SERVICE = "ingest-enedis"
CONSENT_REVOKED = 2  # energy.metering.v1.ConsentChange.CONSENT_CHANGE_REVOKED


class BrokerUnavailableError(UpstreamUnavailableError):
    """Kafka did not acknowledge a record: nothing may move until it does."""


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days)]


@dataclass
class _Outcome:
    """What one window gave: where to continue, which days are missing, and why."""

    until: date
    holes: list[date] = field(default_factory=list)
    reason: str = "no_data_found"
    retry_in: timedelta | None = None
    floor: date | None = None
    """First day that exists for us (activation / consent start) when one was hit."""
    floor_reason: str = ""
    stop: str | None = None


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
    verification: VerificationReport | None = None


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
        self._floors: dict[tuple[str, type[PermanentError]], date] = {}
        """First accepted days found by searching (consent start is per PRM)."""

    def available_end(self) -> date:
        """Exclusive end of what should be published: J-1 once past ~08:00 Paris."""
        now = self.clock().astimezone(PARIS)
        today = now.date()
        return (
            today
            if now.hour >= self.settings.publication_hour
            else today - timedelta(days=1)
        )

    def next_publication(self) -> datetime:
        """The next ~08:00 Paris, when yesterday's data (and late meters') appear."""
        now = self.clock()
        day = now.astimezone(PARIS).date()
        for _ in range(2):
            at = datetime(
                day.year,
                day.month,
                day.day,
                self.settings.publication_hour,
                tzinfo=PARIS,
            )
            if at > now:
                break
            day += timedelta(days=1)
        return at

    def hole_retry_at(self) -> datetime:
        """When a missing day is asked again: ``hole_retry_s`` later, or right after
        the next publication if that comes first (a late meter's J-1 appears at
        J+1 ~08:00, "J+2": it is asked then, not at some later 6-hour phase)."""
        later = self.clock() + timedelta(seconds=self.settings.hole_retry_s)
        return min(later, self.next_publication())

    async def run_cycle(self) -> CycleReport:
        """One pass over every consented PRM with ``workers`` concurrent workers."""
        report = CycleReport()
        # pending consents are settled first: only verified ones are collected
        report.verification = await verify_pending(
            self.pool, self.client, self._call, self.clock()
        )
        async with self.pool.acquire() as conn:
            await cursor.resume_reconsented(conn)
            prms = await cursor.consented_prms(conn, self.clock())
        report.prms = len(prms)
        queue: asyncio.Queue[str] = asyncio.Queue()
        for prm in prms:
            queue.put_nowait(prm)

        aborted: list[Exception] = []

        async def worker() -> None:
            while not queue.empty() and not aborted:
                prm = queue.get_nowait()
                try:
                    await self.collect_prm(Prm(prm), report)
                except (BrokerUnavailableError, OSError, asyncpg.PostgresError) as exc:
                    # our side is down: stop the cycle, nothing was moved past it
                    report.failed.append(prm)
                    aborted.append(exc)
                except TransientError as exc:
                    logger.warning(
                        "%s: upstream unavailable, later: %s", meter_ref(prm), exc
                    )
                    report.failed.append(prm)
                except PermanentError as exc:  # e.g. the token refused: not per window
                    logger.warning("%s: refused, later: %s", meter_ref(prm), exc)
                    report.failed.append(prm)

        await asyncio.gather(*(worker() for _ in range(self.settings.workers)))
        if aborted:
            raise aborted[0]
        await self._flush()
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
                self.client.limiter.refused()
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

    async def _flush(self) -> None:
        try:
            await self.publisher.flush()
        except (KafkaError, UpstreamUnavailableError) as exc:
            raise BrokerUnavailableError(f"Kafka: {type(exc).__name__}") from exc

    async def _publish(self, spec: TopicSpec, key: str, value: Message) -> None:
        """Publishes and waits for the broker's acknowledgement."""
        try:
            await self.publisher.publish(spec, key, value)
        except (KafkaError, UpstreamUnavailableError) as exc:
            raise BrokerUnavailableError(f"Kafka: {type(exc).__name__}") from exc
        await self._flush()

    async def collect_prm(self, prm: Prm, report: CycleReport) -> None:
        """Every stream of one PRM: history, daily increment, due holes."""
        end = self.available_end()
        try:
            activation = await refresh_usage_point(
                self.pool,
                self.client,
                prm,
                self._call,
                max_age=timedelta(days=self.settings.usage_point_refresh_days),
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
            start = await self._window(prm, stream, start, stop, report, horizon=end)
        for hole_start, hole_end in cursor.hole_windows(due, span):
            while hole_start < hole_end:
                hole_start = await self._window(
                    prm, stream, hole_start, hole_end, report, refill=True
                )

    async def _fetch(
        self,
        prm: Prm,
        stream: Stream,
        start: date,
        end: date,
        report: CycleReport,
        horizon: date,
    ) -> _Outcome:
        """Asks one window and publishes it; says what is missing and why.

        ``until`` may go past ``end`` (up to ``horizon``) when a known activation or
        consent start lies beyond the window: the refused windows are not asked.
        """
        try:
            payload = await self._call(
                lambda: self.client.metering(stream, prm, start, end)
            )
        except NoDataError:
            return _Outcome(end, _days(start, end))
        except ConsentRevokedError:
            raise
        except (BeforeActivationError, BeforeConsentError) as exc:
            refused = type(exc)
        except HistoryLimitError:  # left the 24/36-month window: will never come back
            return _Outcome(end, _days(start, end), "history_limit", timedelta(3650))
        except WrongDirectionError:
            return _Outcome(end, stop="wrong_direction")
        except PermanentError as exc:  # undocumented refusal: keep the days, tell ops
            await self._dead_letter(prm, stream, exc, start, end)
            return _Outcome(end, _days(start, end), f"refused: {exc}"[:200])
        else:
            try:
                batch = to_batch(prm, stream, payload, produced_at=self.clock())
            except (PayloadInvalidError, InvalidValueError) as exc:
                await self._dead_letter(prm, stream, exc, start, end)
                return _Outcome(end, _days(start, end), "payload_invalid")
            await self._publish(topics.READINGS, str(prm), batch_to_proto(batch))
            report.readings += len(batch.readings)
            return _Outcome(
                end, incomplete_days(batch.readings, start, end, curve=stream.is_curve)
            )
        first = await self._first_accepted_day(
            prm, stream, start, end, refused, horizon
        )
        if refused is BeforeActivationError:
            if first < end:  # exact (a fully refused window only bounds it)
                await record_activation(self.pool, prm, first)
            why = "before_activation"
        else:
            why = "before_consent"
        logger.info(
            "%s %s: nothing before %s (%s)", meter_ref(prm), stream.short, first, why
        )
        return _Outcome(first, floor=first, floor_reason=why)

    async def _first_accepted_day(
        self,
        prm: Prm,
        stream: Stream,
        start: date,
        end: date,
        refused: type[PermanentError],
        horizon: date,
    ) -> date:
        """The first day of ``(start, end]`` from which Enedis accepts ``[day, end)``.

        ADAM-ERR0123 (activation) and ADAM-DC-0009 (consent start) do not say the
        date. A known date is used when it helps (the contract's activation date,
        or the consent start another stream of the PRM found); otherwise one probe
        of the last day tells whether the whole window is refused, and a binary
        search finds the date (log2(window) requests, once per PRM and stream).
        """
        hint: date | None = self._floors.get((str(prm), refused))
        if refused is BeforeActivationError:
            async with self.pool.acquire() as conn:
                hint = await conn.fetchval(
                    "SELECT last_activation_date FROM enedis_usage_points "
                    "WHERE meter_id = $1",
                    str(prm),
                )
        if hint is not None and hint > start:
            return min(hint, max(horizon, end))

        async def accepted(day: date) -> bool:
            async def probe() -> dict[str, Any]:
                return await self.client.metering(stream, prm, day, end)

            try:
                await self._call(probe)
            except refused:
                return False
            except NoDataError:
                return True
            return True

        last = end - timedelta(days=1)
        if last <= start or not await accepted(last):
            return end
        lo, hi = start + timedelta(days=1), last
        while lo < hi:
            mid = lo + timedelta(days=(hi - lo).days // 2)
            if await accepted(mid):
                hi = mid
            else:
                lo = mid + timedelta(days=1)
        self._floors[(str(prm), refused)] = lo
        return lo

    async def _window(
        self,
        prm: Prm,
        stream: Stream,
        start: date,
        end: date,
        report: CycleReport,
        *,
        refill: bool = False,
        horizon: date | None = None,
    ) -> date:
        """Fetches, publishes and records one window; returns where to continue."""
        outcome = await self._fetch(prm, stream, start, end, report, horizon or end)
        retry_at = (
            self.clock() + outcome.retry_in
            if outcome.retry_in
            else self.hole_retry_at()
        )
        report.windows += 1
        report.holes += len(outcome.holes)
        async with self.pool.acquire() as conn:
            if outcome.stop:
                await cursor.stop_stream(conn, prm, stream, outcome.stop)
                return end
            if refill:
                asked = _days(start, outcome.until)
                async with conn.transaction():
                    if outcome.floor is not None:  # those days do not exist for us
                        await cursor.resolve_holes(
                            conn, prm, stream, asked, outcome.floor_reason
                        )
                    await cursor.resolve_holes(
                        conn, prm, stream, [d for d in asked if d not in outcome.holes]
                    )
                    await cursor.record_holes(
                        conn, prm, stream, outcome.holes, outcome.reason, retry_at
                    )
            else:
                await cursor.advance(
                    conn,
                    prm,
                    stream,
                    outcome.until,
                    outcome.holes,
                    outcome.reason,
                    retry_at,
                    history_from=outcome.floor,
                )
        return outcome.until

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
        await self._publish(topics.DEAD_LETTERS, SERVICE, letter)

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
        await self._publish(topics.CONSENT_EVENTS, str(prm), event)
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
        except (OSError, asyncpg.PostgresError, TransientError) as exc:
            logger.warning("cycle failed, retrying later: %s", exc)
        # wake up every interval, and just after the daily publication (~08:00)
        publication = collector.next_publication() - collector.clock()
        timeout = min(interval_s, publication.total_seconds() + 60.0)
        try:
            await asyncio.wait_for(stop.wait(), timeout=timeout)
        except TimeoutError:
            continue
