"""The collection loop: consented PRMs -> Data Connect windows -> READINGS.

Wiring only: the client (:mod:`ingest_enedis.client`) asks Enedis, the mapping
(:mod:`ingest_enedis.mapping`) turns answers into batches, the publisher sends
them, the repository (:mod:`ingest_enedis.repository`) keeps the cursors. Built
by :func:`ingest_enedis.bootstrap.bootstrap` for ``__main__`` and the tests alike.

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
ones are settled first (``before_cycle``: :mod:`ingest_enedis.verifier`).
Kafka or PostgreSQL unreachable -> the cycle stops early and nothing moves; the
records the broker did not acknowledge stay queued for the next flush.

Progress is visible: ``ingest_enedis_*`` metrics (:mod:`ingest_enedis.metrics`)
and a log line every ``PROGRESS_EVERY_S`` during a cycle (PRMs done, windows,
readings, days still to collect).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import asyncpg
from aiokafka.errors import KafkaError
from google.protobuf.message import Message

from energy_core import topics
from energy_core.domain import PARIS, MeterScheme, Prm, Source
from energy_core.domain.time import days_between, local_day_of, shift_months
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
from energy_core.kafka import Publisher, PublishQueue
from energy_core.loops import Backoff, sleep_or_stop
from energy_core.observability import meter_ref
from energy_core.topics import TopicSpec
from energy_core.wire import CONSENT_REVOKED, consent_event, dead_letter, rows_to_proto
from ingest_enedis import metrics
from ingest_enedis.client import (
    BeforeActivationError,
    BeforeConsentError,
    DataConnectClient,
    HistoryLimitError,
    WrongDirectionError,
)
from ingest_enedis.cursor import hole_windows
from ingest_enedis.mapping import (
    Address,
    Contract,
    Stream,
    parse_address,
    parse_contract,
    to_rows,
)
from ingest_enedis.repository import Repository
from ingest_enedis.settings import Settings
from ingest_enedis.verifier import VerificationReport

logger = logging.getLogger(__name__)
T = TypeVar("T")
BeforeCycle = Callable[
    [Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]]],
    Awaitable[VerificationReport],
]
SERVICE = "ingest-enedis"
PROGRESS_EVERY_S = 30.0
"""Seconds between two progress lines of a long cycle (a backfill)."""


def _rejected_error(rejected: tuple[tuple[str, str], ...]) -> PayloadInvalidError:
    """One dead letter per window for its bad points: how many, and the first
    few with their reason (dates only, nothing personal)."""
    shown = "; ".join(f"{when!r}: {why}" for when, why in rejected[:5])
    more = f" (+{len(rejected) - 5} more)" if len(rejected) > 5 else ""
    return PayloadInvalidError(f"{len(rejected)} bad point(s) left out: {shown}{more}")


class BrokerUnavailableError(UpstreamUnavailableError):
    """Kafka did not acknowledge a record: nothing may move until it does."""


def months_before(day: date, months: int) -> date:
    """The same day ``months`` earlier (clamped to the 28th): the calendar's rule."""
    return shift_months(day, -months)


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
    label: str = "published"
    """The ``outcome`` of ``ingest_enedis_windows_total``."""


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
    done: int = 0
    """PRMs finished (collected, stopped or failed) so far."""


class _Progress:
    """Where the cycle stands, for the gauges and the progress lines.

    Running totals: every window updates a (PRM, stream) entry, and summing the
    whole dict at each update was quadratic in the portfolio (the demo's 545
    PRMs x 5 streams, ~10,000 windows a backfill). The largest lag (a max, not
    a running figure) is recomputed at most once a second and at the end of a
    cycle; a gauge is scraped every 15 s or so.
    """

    LAG_EVERY_S = 1.0

    def __init__(self, logged_at: float = 0.0) -> None:
        self._remaining: dict[tuple[str, str], int] = {}
        self._planned: dict[tuple[str, str], int] = {}
        self.remaining_total = 0
        """Days still to collect over the (PRM, stream) seen."""
        self.planned_total = 0
        """Windows planned and not asked yet over the (PRM, stream) in progress."""
        self.logged_at = logged_at
        self._lag_at = -math.inf

    def set_remaining(self, key: tuple[str, str], days: int) -> None:
        """Days still to collect for one (PRM, stream)."""
        self.remaining_total += days - self._remaining.get(key, 0)
        self._remaining[key] = days

    def drop_remaining(self, key: tuple[str, str]) -> None:
        """A stopped stream has nothing left to collect."""
        self.remaining_total -= self._remaining.pop(key, 0)

    def set_planned(self, key: tuple[str, str], windows: int) -> None:
        """Windows planned for one (PRM, stream)."""
        self.planned_total += windows - self._planned.get(key, 0)
        self._planned[key] = windows

    def asked(self, key: tuple[str, str]) -> None:
        """One planned window was asked."""
        if self._planned.get(key):
            self._planned[key] -= 1
            self.planned_total -= 1

    def drop_planned(self, key: tuple[str, str]) -> None:
        """The (PRM, stream) is done: nothing planned is left."""
        self.planned_total -= self._planned.pop(key, 0)

    def clear_planned(self) -> None:
        """The cycle ended."""
        self._planned.clear()
        self.planned_total = 0

    def publish(self, *, final: bool = False) -> None:
        """Sets the gauges (the largest lag at most once a second, or ``final``)."""
        metrics.BACKFILL_DAYS.set(self.remaining_total)
        metrics.WINDOWS_PENDING.set(self.planned_total)
        now = time.monotonic()
        if final or now - self._lag_at >= self.LAG_EVERY_S:
            self._lag_at = now
            metrics.CURSOR_LAG.set(max(self._remaining.values(), default=0))


class Collector:
    """Collects every consented PRM; one instance per process."""

    def __init__(
        self,
        settings: Settings,
        client: DataConnectClient,
        publisher: Publisher,
        repository: Repository,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        streams: tuple[Stream, ...] = tuple(Stream),
        before_cycle: BeforeCycle | None = None,
    ) -> None:
        self.settings = settings
        self.client = client
        self.repository = repository
        self.before_cycle = before_cycle
        """Settles pending consents before a cycle, with this collector's retry
        policy (``bootstrap`` wires :func:`ingest_enedis.verifier.verify_pending`)."""
        self._outbox = PublishQueue(publisher)
        self.clock = clock
        self.streams = streams
        self._floors: dict[tuple[str, type[PermanentError]], date] = {}
        """First accepted days found by searching (consent start is per PRM)."""
        self._retry = Backoff(
            settings.backoff_base_s, settings.backoff_max_s, jitter=True
        )
        self._throttle = Backoff(2.0, max(2.0, settings.backoff_max_s))
        self._progress = _Progress()

    @property
    def publisher(self) -> Publisher:
        """Where records go (replaceable, e.g. by a test's failing broker)."""
        return self._outbox.publisher

    @publisher.setter
    def publisher(self, publisher: Publisher) -> None:
        self._outbox.publisher = publisher

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
        day = local_day_of(now)
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
        began = time.monotonic()
        # pending consents are settled first: only verified ones are collected
        if self.before_cycle is not None:
            report.verification = await self.before_cycle(self._call)
        resumed = await self.repository.resume_reconsented()
        prms = await self.repository.consented_prms(self.clock())
        report.prms = len(prms)
        logger.info(
            "cycle: %d consented PRMs (%d resumed after a new consent), up to %s",
            len(prms),
            resumed,
            self.available_end(),
        )
        metrics.PRMS_PENDING.set(len(prms))
        self._progress = _Progress(logged_at=began)
        # Two passes: every PRM's daily energy first (a request or two each for
        # a year), then its daily max power and curves (a request per week
        # each): a backfill shows a year of kWh for the whole portfolio long
        # before the curves end (``Stream.first_pass``).
        queue: asyncio.Queue[tuple[str, bool]] = asyncio.Queue()
        for curves in (False, True):
            for prm in prms:
                queue.put_nowait((prm, curves))
        skipped: set[str] = set()
        daily_left = len(prms)
        daily_done = {prm: asyncio.Event() for prm in prms}

        aborted: list[Exception] = []

        async def worker() -> None:
            nonlocal daily_left
            while not queue.empty() and not aborted:
                prm, curves = queue.get_nowait()
                if curves:  # after its own daily pass, which may have stopped it
                    await daily_done[prm].wait()
                if prm in skipped or aborted:
                    continue
                try:
                    await self._collect_one(prm, curves, report, aborted, skipped)
                finally:
                    if not curves:  # whatever happened, its curve pass may go on
                        daily_done[prm].set()
                if not curves:
                    daily_left -= 1
                    if daily_left == 0:
                        logger.info(
                            "cycle: daily energy of %d PRMs done in %.1f s, "
                            "max power and curves next",
                            len(prms),
                            time.monotonic() - began,
                        )
                if curves or prm in skipped:
                    report.done += 1
                    metrics.PRMS_PENDING.set(len(prms) - report.done)
                self._log_progress(report)

        try:
            await asyncio.gather(*(worker() for _ in range(self.settings.workers)))
            if aborted:
                raise aborted[0]
            await self._flush()
        finally:
            metrics.PRMS_PENDING.set(0)
            self._progress.clear_planned()
            self._progress.publish(final=True)
            self._record_quota()
        metrics.CYCLE_SECONDS.set(time.monotonic() - began)
        metrics.CYCLE_END.set(time.time())
        return report

    async def _collect_one(
        self,
        prm: str,
        curves: bool,
        report: CycleReport,
        aborted: list[Exception],
        skipped: set[str],
    ) -> None:
        """One pass (daily or curves) of one PRM; failures are recorded, not raised
        (except ours: Kafka or PostgreSQL down aborts the cycle)."""
        try:
            await self.collect_prm(Prm(prm), report, curves=curves)
        except (BrokerUnavailableError, OSError, asyncpg.PostgresError) as exc:
            # our side is down: stop the cycle, nothing was moved past it
            report.failed.append(prm)
            aborted.append(exc)
        except TransientError as exc:
            logger.warning("%s: upstream unavailable, later: %s", meter_ref(prm), exc)
            report.failed.append(prm)
            skipped.add(prm)
        except PermanentError as exc:  # e.g. the token refused: not per window
            logger.warning("%s: refused, later: %s", meter_ref(prm), exc)
            report.failed.append(prm)
            skipped.add(prm)
        if prm in report.stopped:
            skipped.add(prm)

    def _log_progress(self, report: CycleReport) -> None:
        now = time.monotonic()
        self._record_quota()
        if now - self._progress.logged_at < PROGRESS_EVERY_S:
            return
        self._progress.logged_at = now
        logger.info(
            "cycle progress: %d/%d PRMs, %d windows, %d readings, %d holes, "
            "%d days still to collect, %d requests",
            report.done,
            report.prms,
            report.windows,
            report.readings,
            report.holes,
            self._progress.remaining_total,
            self.client.requests,
        )

    def _record_quota(self) -> None:
        for name, used in zip(
            ("second", "hour"), self.client.quota_used(), strict=False
        ):
            metrics.QUOTA_USED.labels(name).set(used)

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
                pause = self._throttle.delay(throttled, retry_after=exc.retry_after)
                self.client.limiter.pause(pause / self.settings.quota_time_scale)
            except UpstreamUnavailableError:
                attempt += 1
                if attempt >= self.settings.max_attempts:
                    raise
                await asyncio.sleep(self._retry.delay(attempt))

    async def _flush(self) -> None:
        """Waits for the broker; what it did not acknowledge stays queued."""
        try:
            await self._outbox.flush()
        except (KafkaError, UpstreamUnavailableError) as exc:
            raise BrokerUnavailableError(f"Kafka: {type(exc).__name__}") from exc

    async def _publish(self, spec: TopicSpec, key: str, value: Message) -> None:
        """Publishes and waits for the broker's acknowledgement."""
        self._outbox.add(spec, key, value)
        await self._flush()

    async def collect_prm(
        self, prm: Prm, report: CycleReport, *, curves: bool | None = None
    ) -> None:
        """Every stream of one PRM (or only its daily energy, ``curves=False``, or
        only its max power and curves, ``curves=True``): history, daily
        increment, due holes."""
        end = self.available_end()
        try:
            activation = await self.refresh_usage_point(prm)
            for stream in self.streams:
                if curves is None or stream.first_pass != curves:
                    await self._collect_stream(prm, stream, end, activation, report)
        except ConsentRevokedError:
            await self._stop(prm, report)

    async def refresh_usage_point(self, prm: Prm) -> date | None:
        """Contract + address when unknown or older than the refresh age; returns
        the activation date.

        A refusal other than a revoked consent (production-only point, undocumented
        4xx, unparsable answer) leaves the PRM without customer data until the next
        refresh; it never stops the collection of its readings.
        """
        max_age = timedelta(days=self.settings.usage_point_refresh_days)
        known = await self.repository.usage_point(str(prm), max_age)
        if known is not None and known.fresh:
            return known.last_activation_date
        contract: Contract | None = None
        address: Address | None = None
        try:
            contract = parse_contract(
                await self._call(lambda: self.client.contract(prm))
            )
            address = parse_address(await self._call(lambda: self.client.address(prm)))
        except ConsentRevokedError:
            raise
        except PermanentError as exc:
            # production-only points have no customer data (documented sandbox client 5)
            logger.info("%s: no customer data (%s)", meter_ref(prm), type(exc).__name__)
            if known is not None:  # keep what an earlier answer said, ask again later
                await self.repository.keep_usage_point(str(prm))
                return known.last_activation_date
        placement = await self.repository.save_usage_point(str(prm), contract, address)
        logger.info("%s: customer data stored (%s)", meter_ref(prm), placement)
        return contract.last_activation_date if contract else None

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
        state = await self.repository.cursor(
            str(prm), stream
        ) or await self.repository.start_cursor(str(prm), stream, floor)
        key = (str(prm), stream.short)
        if state.stopped_reason:
            self._progress.drop_remaining(key)
            return
        start = max(state.fetched_until, floor)
        due = await self.repository.due_holes(str(prm), stream, self.clock())
        holes = hole_windows(due, span)
        self._progress.set_remaining(key, max(0, (end - start).days))
        self._progress.set_planned(
            key, math.ceil(max(0, (end - start).days) / span) + len(holes)
        )
        self._progress.publish()
        try:
            while start < end:
                stop = min(start + timedelta(days=span), end)
                start = await self._window(
                    prm, stream, start, stop, report, horizon=end
                )
                self._progress.set_remaining(key, max(0, (end - start).days))
            for hole_start, hole_end in holes:
                while hole_start < hole_end:
                    hole_start = await self._window(
                        prm, stream, hole_start, hole_end, report, refill=True
                    )
        finally:
            self._progress.drop_planned(key)
            self._progress.publish()

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
            return _Outcome(end, days_between(start, end), label="no_data")
        except ConsentRevokedError:
            raise
        except (BeforeActivationError, BeforeConsentError) as exc:
            refused = type(exc)
        except HistoryLimitError:  # left the 24/36-month window: will never come back
            return _Outcome(
                end,
                days_between(start, end),
                "history_limit",
                timedelta(3650),
                label="history_limit",
            )
        except WrongDirectionError:
            return _Outcome(end, stop="wrong_direction", label="wrong_direction")
        except PermanentError as exc:  # undocumented refusal: keep the days, tell ops
            await self._dead_letter(prm, stream, exc, start, end)
            return _Outcome(
                end, days_between(start, end), f"refused: {exc}"[:200], label="refused"
            )
        else:
            try:
                mapped = to_rows(prm, stream, payload, produced_at=self.clock())
            except (PayloadInvalidError, InvalidValueError) as exc:
                await self._dead_letter(prm, stream, exc, start, end)
                return _Outcome(
                    end, days_between(start, end), "payload_invalid", label="invalid"
                )
            if mapped.rejected:  # bad points: told, their days stay holes
                await self._dead_letter(
                    prm, stream, _rejected_error(mapped.rejected), start, end
                )
            await self._publish(topics.READINGS, str(prm), rows_to_proto(mapped.batch))
            report.readings += mapped.count
            metrics.READINGS.inc(mapped.count)
            return _Outcome(
                end, mapped.incomplete_days(start, end, curve=stream.is_curve)
            )
        first = await self._first_accepted_day(
            prm, stream, start, end, refused, horizon
        )
        if refused is BeforeActivationError:
            if first < end:  # exact (a fully refused window only bounds it)
                await self.repository.record_activation(str(prm), first)
            why = "before_activation"
        else:
            why = "before_consent"
        logger.info(
            "%s %s: nothing before %s (%s)", meter_ref(prm), stream.short, first, why
        )
        return _Outcome(first, floor=first, floor_reason=why, label=why)

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
            hint = await self.repository.activation_date(str(prm))
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
        metrics.WINDOWS.labels(outcome.label).inc()
        metrics.HOLES.inc(len(outcome.holes))
        key = (str(prm), stream.short)
        self._progress.asked(key)
        if outcome.stop:
            await self.repository.stop_stream(str(prm), stream, outcome.stop)
            return end
        if refill:
            await self.repository.refill(
                str(prm),
                stream,
                days_between(start, outcome.until),
                outcome.holes,
                outcome.reason,
                retry_at,
                never=outcome.floor_reason if outcome.floor is not None else None,
            )
        else:
            await self.repository.advance(
                str(prm),
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
        letter = dead_letter(service=SERVICE, origin=origin, payload=b"", error=exc)
        metrics.DEAD_LETTERS.inc()
        await self._publish(topics.DEAD_LETTERS, SERVICE, letter)

    async def _stop(self, prm: Prm, report: CycleReport) -> None:
        """Consent withdrawn upstream: stop collecting, revoke, tell the platform."""
        now = self.clock()
        consent_ids = await self.repository.stop_prm(str(prm), "consent_revoked", now)
        event = consent_event(
            meter=str(prm),
            scheme=MeterScheme.PRM,
            change=CONSENT_REVOKED,
            source=Source.ENEDIS_DATACONNECT,
            occurred_at=now,
            consent_ids=consent_ids,
            reason="ADAM-DC-0008: no consent can be found for this usage point",
        )
        for stream in Stream:
            self._progress.drop_remaining((str(prm), stream.short))
        await self._publish(topics.CONSENT_EVENTS, str(prm), event)
        report.stopped.append(str(prm))
        metrics.CONSENTS_REVOKED.inc()
        logger.info("%s: consent revoked upstream, collection stopped", meter_ref(prm))


async def run_forever(
    collector: Collector, stop: asyncio.Event, interval_s: float
) -> None:
    """Cycles until ``stop``; a failed cycle is logged and retried next time."""
    while not stop.is_set():
        try:
            report = await collector.run_cycle()
            metrics.CYCLES.labels("done").inc()
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
            metrics.CYCLES.labels("failed").inc()
            logger.warning("cycle failed, retrying later: %s", exc)
        # wake up every interval, and just after the daily publication (~08:00)
        publication = collector.next_publication() - collector.clock()
        await sleep_or_stop(stop, min(interval_s, publication.total_seconds() + 60.0))
