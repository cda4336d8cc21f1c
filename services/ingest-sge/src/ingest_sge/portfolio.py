"""A portfolio of sites (a city's schools and gyms, a property manager's offices):
find their PRMs, enrol every PRM in SGE's daily publication and backfill its
recent curve.

:meth:`Portfolio.search` asks SGE's point search (by address, name, SIRET) for
the PRMs of a building, so a manager picks them instead of typing them; it
reads a directory, no customer data, so it needs no authorisation.

Per PRM, in order, authorisation first (:class:`~ingest_sge.reader.MeasuresReader`):
read its technical and contractual data when a directory is wired (segment,
subscribed power, tariff structure, off-peak hours: kept in
``Enrolment.points`` for the caller to store, and the segment decides how the
curve is stamped: C5 end-stamped, C1-C4 start-stamped; a point SGE does not know
is ``unknown``), subscribe to the daily curve publication (SGT570 "already
active" counts as subscribed), then read ``[today - history_days, today)`` in
7-day windows and publish the batches to the readings topic — the aggregator rolls them up like
any other reading, and the nightly files take over from there. A PRM without a
live authorisation, or refused by SGE, is reported with its outcome and the
others go on; progress is a gauge of PRMs pending, a counter of PRMs done by
outcome and one INFO line per PRM.

The running service calls :meth:`Portfolio.enrol` from the enrolment worker
(:mod:`ingest_sge.enrolment`), for the sites managers and cities register
through the api; ``python -m ingest_sge search`` calls :meth:`Portfolio.search`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Protocol

from prometheus_client import Counter, Gauge

from energy_core import topics
from energy_core.errors import ConsentRevokedError, EnergyError, TransientError
from energy_core.kafka import Publisher, PublishQueue
from energy_core.observability import meter_ref
from energy_core.wire import batch_to_proto
from ingest_sge.client.answers import (
    FoundPoint,
    HistoryMeasure,
    SearchCriteria,
    TechnicalData,
)
from ingest_sge.client.faults import PointUnknownError
from ingest_sge.reader import AuthorisationMissingError, MeasuresReader, Subscriptions

logger = logging.getLogger(__name__)

PENDING = Gauge("ingest_sge_portfolio_points_pending", "PRMs of an enrolment not done")
DONE = Counter(
    "ingest_sge_portfolio_points_total", "PRMs enrolled, by outcome", ["outcome"]
)


class PointsDirectory(Protocol):
    """Port of the SOAP client's point search and per-point facts."""

    async def search_points(self, criteria: SearchCriteria) -> list[FoundPoint]:
        """RecherchePoint."""

    async def technical_data(
        self, prm: str, *, authorised: bool = ...
    ) -> TechnicalData:
        """ConsultationDonneesTechniquesContractuelles."""

    async def measures_history(
        self, prm: str, *, authorised: bool = ...
    ) -> list[HistoryMeasure]:
        """ConsultationMesures."""


@dataclass(frozen=True, slots=True)
class Site:
    """One building of a portfolio and its delivery points."""

    name: str
    prms: tuple[str, ...]


@dataclass(slots=True)
class Enrolment:
    """What enrolling a portfolio did, PRM by PRM."""

    outcomes: dict[str, str] = field(default_factory=dict)
    """PRM -> subscribed | not_authorised | refused | unknown (SGT401) |
    unavailable (transient: try again later) | failed."""
    points: dict[str, TechnicalData] = field(default_factory=dict)
    """PRM -> SGE's technical and contractual data (when a directory is wired)."""
    readings: int = 0
    reasons: dict[str, str] = field(default_factory=dict)
    """PRM -> why it was not subscribed: SGE's six-character code when SGE
    answered one, else the error's type (never its message: it may carry data)."""
    services: dict[str, str] = field(default_factory=dict)
    """PRM -> SGE's subscribed service id (what stopping the subscription needs);
    absent when SGE said the service was already active (SGT570)."""
    point_readings: dict[str, int] = field(default_factory=dict)
    """PRM -> readings backfilled."""


class Portfolio:
    """Enrols sites' PRMs: subscription then backfill, authorisation first."""

    def __init__(
        self,
        reader: MeasuresReader,
        subscriptions: Subscriptions,
        publisher: Publisher,
        *,
        directory: PointsDirectory | None = None,
        history_days: int = 14,
    ) -> None:
        self._reader = reader
        self._subscriptions = subscriptions
        self._directory = directory
        self._outbox = PublishQueue(publisher)
        self._history = timedelta(days=history_days)

    async def enrol(self, sites: Sequence[Site], today: date) -> Enrolment:
        """Subscribes and backfills every PRM of ``sites`` (each PRM once)."""
        prms = list(dict.fromkeys(p for site in sites for p in site.prms))
        result = Enrolment()
        PENDING.inc(len(prms))
        for prm in prms:
            outcome = await self._one(prm, today, result)
            result.outcomes[prm] = outcome
            DONE.labels(outcome).inc()
            PENDING.dec()
            logger.info(
                "portfolio point %s: %s", meter_ref(prm), outcome,
                extra={"readings": result.readings},
            )  # fmt: skip
        return result

    async def search(self, criteria: SearchCriteria) -> list[FoundPoint]:
        """The PRMs SGE finds for ``criteria`` (address, name, SIRET…).

        Raises ``SearchTooBroadError`` (more than 200 points: add criteria),
        ``SearchCriteriaError`` (not enough criteria) and the other SGE errors.
        """
        if self._directory is None:
            raise LookupError("no SGE point directory configured")
        return await self._directory.search_points(criteria)

    async def _one(self, prm: str, today: date, result: Enrolment) -> str:
        try:
            end_stamped = True
            if self._directory is not None:
                facts = await self._reader.technical(self._directory, prm)
                result.points[prm] = facts
                end_stamped = facts.c5 is not False  # C1-C4: start-stamped
            service = await self._reader.subscribe(self._subscriptions, prm, "CDC")
            if service:
                result.services[prm] = service
            batches = await self._reader.curve(
                prm, today - self._history, today, end_stamped=end_stamped
            )
        except AuthorisationMissingError:
            return "not_authorised"
        except ConsentRevokedError as exc:
            result.reasons[prm] = _reason(exc)
            return "refused"
        except PointUnknownError as exc:
            result.reasons[prm] = _reason(exc)
            return "unknown"
        except TransientError as exc:
            result.reasons[prm] = _reason(exc)
            logger.warning("portfolio point unavailable: %s", type(exc).__name__)
            return "unavailable"
        except EnergyError as exc:
            result.reasons[prm] = _reason(exc)
            logger.warning("portfolio point failed: %s", type(exc).__name__)
            return "failed"
        count = 0
        for batch in batches:
            if batch.readings:
                self._outbox.add(topics.READINGS, batch.meter, batch_to_proto(batch))
                count += len(batch.readings)
        await self._outbox.flush()
        result.readings += count
        result.point_readings[prm] = count
        return "subscribed"


def _reason(exc: EnergyError) -> str:
    """SGE's code when it answered one (``SgeFault.code``), else the error type."""
    code = getattr(exc, "code", "")
    return code if isinstance(code, str) and code else type(exc).__name__
