"""The enrolment worker: sites registered through the api -> SGE subscriptions
and backfilled history; withdrawals -> subscriptions stopped.

Every pass claims due sites (:class:`~ingest_sge.repository.enrolments.EnrolmentQueue`)
and, per site:

1. a withdrawal (``withdrawing``): the consent was revoked by the api already;
   the SGE subscription is stopped through the :class:`SubscriptionStopper`
   port when the subscription's id is known (an SGT570 "already active" gave
   none: that subscription was not ours to stop), then the site is ``withdrawn``
   (the reason says when the subscription could not be stopped);
2. a request: the declared authorisation is verified (the registrant holds the
   point, nobody else does: else ``refused``/``held_by_another``), then
   :meth:`~ingest_sge.portfolio.Portfolio.enrol` subscribes and backfills,
   authorisation first. SGE's refusal (SGT4K2, SGT566, SGT4G2) has revoked the
   consent (the reader did) and the site is ``refused`` with SGE's code; a point
   SGE does not know, or another permanent refusal, is ``refused`` too; a
   transient failure is ``failed`` and retried with backoff; success is
   ``active`` with the subscription's id and the readings backfilled.

Every authorisation that ends here (SGE's refusal, the registrant's withdrawal)
is told to the platform on the consent topic (``consent_event`` REVOKED, key the
PRM, source ``enedis_sge``), as ingest-enedis does for Data Connect.

Progress: ``ingest_sge_enrolment_sites_pending`` (gauge),
``ingest_sge_enrolment_sites_total{outcome}`` and one INFO line per pass with
counts (the portfolio logs one line per PRM, as a pseudonym).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter as Tally
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

from prometheus_client import Counter, Gauge

from energy_core import topics
from energy_core.domain import PARIS, MeterScheme, Source
from energy_core.errors import EnergyError, TransientError
from energy_core.kafka import Publisher, PublishQueue
from energy_core.loops import Backoff, sleep_or_stop
from energy_core.observability import meter_ref
from energy_core.wire import CONSENT_REVOKED, consent_event
from ingest_sge.portfolio import Portfolio, Site
from ingest_sge.repository.enrolments import Claim, EnrolmentQueue

logger = logging.getLogger(__name__)

SITES = Counter(
    "ingest_sge_enrolment_sites_total",
    "Registered sites handled by the enrolment worker, by outcome",
    ["outcome"],
)
PENDING = Gauge(
    "ingest_sge_enrolment_sites_pending",
    "Registered sites waiting for the worker (requested, failed, withdrawing)",
)
PASSES = Counter(
    "ingest_sge_enrolment_passes_total", "Passes of the enrolment worker", ["outcome"]
)

NO_STOP_SERVICE = "subscription not stopped: no SGE client to stop it"
UNKNOWN_SERVICE = "subscription not stopped: SGE gave no service id (already active)"
STOPPED = "subscription stopped"


@runtime_checkable
class SubscriptionStopper(Protocol):
    """Port of the SOAP client's stop of a subscribed service
    (``SgeSoapClient.stop_service``: CommandeArretServiceSouscritMesures)."""

    async def stop_service(self, prm: str, service_id: str) -> object:
        """Stops ``service_id`` of ``prm`` (SGE's acknowledgement is not used)."""


class EnrolmentWorker:
    """Claims registered sites and enrols or withdraws them (module docstring)."""

    def __init__(
        self,
        queue: EnrolmentQueue,
        portfolio: Portfolio,
        *,
        stopper: SubscriptionStopper | None = None,
        publisher: Publisher | None = None,
        clock: Callable[[], float] = time.time,
        batch: int = 50,
        retry: Backoff | None = None,
    ) -> None:
        self._queue = queue
        self._portfolio = portfolio
        self._stopper = stopper
        self._events = PublishQueue(publisher) if publisher is not None else None
        self._clock = clock
        self._batch = batch
        self._retry = retry or Backoff(60.0, 6 * 3600.0)

    async def run_once(self) -> dict[str, int]:
        """One pass; returns the count of sites per outcome (empty: nothing due)."""
        now = datetime.fromtimestamp(self._clock(), UTC)
        claims = await self._queue.claim(now, self._batch)
        outcomes: Tally[str] = Tally()
        to_enrol: list[Claim] = []
        for site in claims:
            if site.state == "withdrawing":
                outcomes[await self._withdraw(site, now)] += 1
                continue
            reason = await self._queue.verify(site, now)
            if reason is not None:
                await self._queue.finish(site, state="refused", now=now, reason=reason)
                outcomes["refused"] += 1
                logger.info(
                    "sge site %s refused before SGE: %s", meter_ref(site.meter_id), reason
                )  # fmt: skip
                continue
            to_enrol.append(site)
        if to_enrol:
            for outcome in await self._enrol(to_enrol, now):
                outcomes[outcome] += 1
        if self._events is not None and self._events.pending:
            await self._events.flush()
        for outcome, count in outcomes.items():
            SITES.labels(outcome).inc(count)
        PENDING.set(await self._queue.pending())
        if claims:
            logger.info("sge enrolment pass", extra={"sites": dict(outcomes)})
        return dict(outcomes)

    async def _enrol(self, sites: list[Claim], now: datetime) -> list[str]:
        today = now.astimezone(PARIS).date()
        result = await self._portfolio.enrol(
            [Site(s.name, (s.meter_id,)) for s in sites], today
        )
        states = []
        for site in sites:
            prm = site.meter_id
            outcome = result.outcomes.get(prm, "failed")
            reason = result.reasons.get(prm)
            if outcome == "subscribed":
                await self._queue.finish(
                    site,
                    state="active",
                    now=now,
                    service_id=result.services.get(prm),
                    readings=result.point_readings.get(prm, 0),
                )
                states.append("active")
            elif outcome == "unavailable":
                delay = self._retry.delay(site.attempts)
                await self._queue.finish(
                    site,
                    state="failed",
                    now=now,
                    reason=reason,
                    # subscribed before the backfill failed: kept for a withdrawal
                    service_id=result.services.get(prm),
                    retry_at=now + timedelta(seconds=delay),
                )
                states.append("failed")
            else:  # refused by SGE, not authorised (expired meanwhile), permanent
                why = reason or ("no_live_authorisation" if outcome == "not_authorised"
                                 else outcome)  # fmt: skip
                service = result.services.get(prm)
                if service:  # subscribed, then refused: nothing of it may stay
                    why = f"{why}; {await self._stop_quietly(prm, service)}"
                await self._queue.finish(
                    site, state="refused", now=now, reason=why, service_id=service
                )
                if outcome == "refused":  # SGE refused the customer's authorisation
                    self._revoked(site, now, f"SGE refused: {why}")
                states.append("refused")
        return states

    async def _stop_quietly(self, prm: str, service_id: str) -> str:
        """Stops a subscription made for a site that is refused after all; says
        what happened (an error is logged, never raised: the refusal stands)."""
        if self._stopper is None:
            return NO_STOP_SERVICE
        try:
            await self._stopper.stop_service(prm, service_id)
        except EnergyError as exc:
            logger.warning("sge subscription not stopped: %s", type(exc).__name__)
            return f"subscription not stopped: {getattr(exc, 'code', '') or type(exc).__name__}"
        return STOPPED

    async def _withdraw(self, site: Claim, now: datetime) -> str:
        if self._stopper is None:
            reason = NO_STOP_SERVICE
        elif not site.service_id:
            reason = UNKNOWN_SERVICE
        else:
            try:
                await self._stopper.stop_service(site.meter_id, site.service_id)
                reason = STOPPED
            except TransientError as exc:
                delay = self._retry.delay(site.attempts, retry_after=exc.retry_after)
                await self._queue.finish(
                    site,
                    state="withdrawing",
                    now=now,
                    reason=type(exc).__name__,
                    retry_at=now + timedelta(seconds=delay),
                )
                return "withdrawing"
            except EnergyError as exc:
                code = getattr(exc, "code", "") or type(exc).__name__
                reason = f"subscription not stopped: {code}"
        await self._queue.finish(site, state="withdrawn", now=now, reason=reason)
        self._revoked(site, now, "site withdrawn or its authorisation ended")
        logger.info("sge site %s withdrawn: %s", meter_ref(site.meter_id), reason)
        return "withdrawn"

    def _revoked(self, site: Claim, now: datetime, reason: str) -> None:
        if self._events is None:
            return
        self._events.add(
            topics.CONSENT_EVENTS,
            site.meter_id,
            consent_event(
                meter=site.meter_id,
                scheme=MeterScheme.PRM,
                change=CONSENT_REVOKED,
                source=Source.ENEDIS_SGE,
                occurred_at=now,
                consent_ids=[str(site.consent_id)],
                reason=reason,
            ),
        )


async def run_forever(
    worker: EnrolmentWorker, stop: asyncio.Event, interval_s: float, backoff: Backoff
) -> None:
    """Passes every ``interval_s`` (at once again while sites keep coming) until
    ``stop``; a database or broker failure is retried with backoff, never a crash."""
    failures = 0
    while not stop.is_set():
        try:
            done = await worker.run_once()
            PASSES.labels("ok").inc()
            failures = 0
            wait = 0.0 if sum(done.values()) else interval_s
        except Exception:
            PASSES.labels("error").inc()
            failures += 1
            wait = backoff.delay(failures)
            logger.exception("sge enrolment pass failed")
        if await sleep_or_stop(stop, wait):
            return
