"""Reading a point's measures from SGE, authorisation first.

:class:`MeasuresReader` is what the portfolio enrolment calls per point: it asks the consent registry for the customer's authorisation
BEFORE any SGE call — without one, SGE is not called and
:class:`AuthorisationMissingError` says so —, cuts a curve into 7-day windows
(SGE refuses longer ones with SGT4L8), and when SGE refuses for want of the
customer's agreement (SGT4K2, SGT566, SGT4G2) records the refusal in the
registry (the consent is revoked) before re-raising.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any, Protocol, TypeVar

from prometheus_client import Counter

from energy_core.domain import ReadingBatch
from energy_core.errors import ConsentRevokedError
from ingest_sge.client.answers import HistoryMeasure, Order, TechnicalData
from ingest_sge.client.faults import AuthorisationRefusedError, curve_windows
from ingest_sge.mapping import Ambiguous
from ingest_sge.mapping.measures import curve_batch
from ingest_sge.repository.authorisations import AuthorisationRegistry

CALLS = Counter(
    "ingest_sge_soap_calls_total", "SGE SOAP calls by outcome", ["service", "outcome"]
)
NOT_AUTHORISED = Counter(
    "ingest_sge_not_authorised_total",
    "Calls not made: no live authorisation in the consent registry",
)


class AuthorisationMissingError(ConsentRevokedError):
    """No live authorisation of the customer for this point: SGE was not called."""


class DetailedMeasures(Protocol):
    """Port of the SOAP client's CMD v3 call (``SgeSoapClient.detailed_measures``)."""

    async def detailed_measures(
        self,
        prm: str,
        *,
        measure: str,
        physical: str,
        start: date,
        end: date,
        direction: str = ...,
        access: str = ...,
        corrected: bool = ...,
        step: str | None = ...,
    ) -> dict[str, Any]:
        """One CMD v3 answer."""


class Subscriptions(Protocol):
    """Port of the SOAP client's subscription call (``SgeSoapClient.subscribe``)."""

    async def subscribe(
        self,
        prm: str,
        *,
        data: str,
        direction: str = ...,
        period: str = ...,
        corrected: bool = ...,
    ) -> str | None:
        """The subscribed service id; None if it was already active (SGT570)."""


class PointFacts(Protocol):
    """Port of the SOAP client's per-point reads that need the customer's
    authorisation (``SgeSoapClient.technical_data`` / ``measures_history``)."""

    async def technical_data(
        self, prm: str, *, authorised: bool = ...
    ) -> TechnicalData:
        """ConsultationDonneesTechniquesContractuelles."""

    async def measures_history(
        self, prm: str, *, authorised: bool = ...
    ) -> list[HistoryMeasure]:
        """ConsultationMesures."""


class CollectPublish(Protocol):
    """Port of the older model's order (``SgeSoapClient.collect_publish``)."""

    async def collect_publish(
        self,
        prm: str,
        *,
        kind: str,
        start: date,
        end: date,
        holder: str,
        legal_person: bool = ...,
        recurrent: bool = ...,
        period: str = ...,
    ) -> Order | None:
        """The order; None if the service was already active (SGT570)."""


T = TypeVar("T")


class MeasuresReader:
    """SGE measures of one point at a time, never without an authorisation."""

    def __init__(
        self,
        client: DetailedMeasures,
        registry: AuthorisationRegistry,
        *,
        ambiguous: Ambiguous = Ambiguous.EARLIER,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._registry = registry
        self._ambiguous = ambiguous
        self._clock = clock

    async def _authorised(self, prm: str) -> tuple[str, datetime]:
        now = datetime.fromtimestamp(self._clock(), UTC)
        authorisation = await self._registry.authorisation(prm, now)
        if authorisation is None:
            NOT_AUTHORISED.inc()
            raise AuthorisationMissingError(
                "no live authorisation of the customer for this point"
            )
        return authorisation.consent_id, now

    async def _guarded(
        self, service: str, consent_id: str, now: datetime, call: Awaitable[T]
    ) -> T:
        """Counts the call; SGE's refusal for want of agreement revokes the consent."""
        try:
            result = await call
        except AuthorisationRefusedError:
            CALLS.labels(service, "refused").inc()
            await self._registry.refused(consent_id, now)
            raise
        except Exception:
            CALLS.labels(service, "error").inc()
            raise
        CALLS.labels(service, "ok").inc()
        return result

    async def technical(self, client: PointFacts, prm: str) -> TechnicalData:
        """The point's technical and contractual data, authorisation first
        (``autorisationClient=true`` is sent only because the registry holds
        a live authorisation)."""
        consent_id, now = await self._authorised(prm)
        return await self._guarded(
            "adp", consent_id, now, client.technical_data(prm, authorised=True)
        )

    async def history(self, client: PointFacts, prm: str) -> list[HistoryMeasure]:
        """The point's billing history (monthly energies), authorisation first."""
        consent_id, now = await self._authorised(prm)
        return await self._guarded(
            "ahc", consent_id, now, client.measures_history(prm, authorised=True)
        )

    async def subscribe(
        self, client: Subscriptions, prm: str, data: str = "CDC"
    ) -> str | None:
        """Daily publication of ``data`` for ``prm``, authorisation first.

        Returns the subscribed service id (None: it was already active).
        """
        consent_id, now = await self._authorised(prm)
        try:
            subscribed = await client.subscribe(prm, data=data)
        except AuthorisationRefusedError:
            CALLS.labels("subscribe", "refused").inc()
            await self._registry.refused(consent_id, now)
            raise
        except Exception:
            CALLS.labels("subscribe", "error").inc()
            raise
        CALLS.labels("subscribe", "ok" if subscribed is not None else "active").inc()
        return subscribed

    async def collect(
        self,
        client: CollectPublish,
        prm: str,
        *,
        kind: str,
        start: date,
        end: date,
        holder: str,
        legal_person: bool = True,
    ) -> Order | None:
        """The older model's subscription (CommandeCollectePublicationMesures),
        authorisation first: the order declares the customer's agreement
        (``accord=true``, ``holder``), so it is sent only when the registry holds
        a live authorisation; SGE's SGT566 revokes it."""
        consent_id, now = await self._authorised(prm)
        return await self._guarded(
            "ccpm",
            consent_id,
            now,
            client.collect_publish(
                prm,
                kind=kind,
                start=start,
                end=end,
                holder=holder,
                legal_person=legal_person,
            ),
        )

    async def curve(
        self, prm: str, start: date, end: date, *, end_stamped: bool = True
    ) -> list[ReadingBatch]:
        """The load curve of ``[start, end)``, one batch per 7-day window."""
        consent_id, now = await self._authorised(prm)
        batches = []
        for window_start, window_end in curve_windows(start, end):
            try:
                answer = await self._client.detailed_measures(
                    prm,
                    measure="COURBE",
                    physical="PA",
                    start=window_start,
                    end=window_end,
                    access="ACCORD_CLIENT",
                )
            except AuthorisationRefusedError:
                CALLS.labels("cmd3", "refused").inc()
                await self._registry.refused(consent_id, now)
                raise
            except Exception:
                CALLS.labels("cmd3", "error").inc()
                raise
            CALLS.labels("cmd3", "ok").inc()
            batches.append(
                curve_batch(
                    prm, answer, end_stamped=end_stamped, ambiguous=self._ambiguous
                )
            )
        return batches
