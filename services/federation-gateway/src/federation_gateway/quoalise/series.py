"""What one Quoalise identifier means here, its ``<meta>``, and whether it may leave.

Pure apart from the :class:`Source` port it is given: the decision is always
:func:`federation_gateway.egress.decide`, never a copy of it.

Identifiers: individual series are Quoalise's own ``urn:dev:prm:<PRM>_<path>``;
aggregates use SEN1's extension ``urn:sen1:<level>:<territory>_<direction>/energy/active/<bucket>``
(Quoalise has no aggregate convention; it is labelled as SEN1's).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from energy_core.privacy import SecrecyRule
from federation_gateway.egress import (
    Aggregate,
    Consent,
    IndividualSeries,
    decide,
)
from federation_gateway.mapping import AggregateUrn, IndividualUrn, Point
from federation_gateway.quoalise.payload import Measurement, Sample
from federation_gateway.repository import AggregateRow, Peer

_LEVEL_TYPE = {
    "neighbourhood": "iris",
    "parcel": "parcel",
    "commune": "commune",
    "building": "building",
}


class Source(Protocol):
    """The part of the gateway's repository the Quoalise binding reads
    (``federation_gateway.repository.PgRepository`` satisfies it)."""

    async def peer(self, domain: str) -> Peer | None: ...

    async def aggregates(
        self, urn: AggregateUrn, start: datetime, end: datetime
    ) -> list[AggregateRow]: ...

    async def consent_for(self, meter_id: str, grantee: str) -> Consent | None: ...

    async def series(
        self, urn: str, start: datetime, end: datetime
    ) -> tuple[str, list[Point]]: ...

    async def log_access(self, consent: Consent, route: str) -> None: ...


class Forbidden(Exception):
    """egress.decide refused (maps to ``not-authorized``; text safe to send)."""


@dataclass(frozen=True, slots=True)
class Answer:
    """What may leave for one identifier and window."""

    meta: Measurement
    samples: list[Sample]
    consent: Consent | None = None
    """The consent an individual series left under (its access is logged)."""


def aggregate_meta(urn: AggregateUrn, unit: str) -> Measurement:
    """Shape-A meta of an aggregate (device and identifier are SEN1 extensions)."""
    return Measurement(
        device_type="sen1-territory",
        identifier_authority="sen1",
        identifier_type=_LEVEL_TYPE[urn.scope],
        identifier_value=urn.territory,
        name="active-energy",
        direction=urn.direction,
        quantity="energy",
        unit=unit or "kWh",
        sampling_interval=urn.bucket,
        aggregation="sum",
    )


def series_meta(urn: IndividualUrn, unit: str) -> Measurement:
    """Shape-A meta of a meter series, from its Quoalise path
    (``<direction>/<quantity>/<kind>/<quality>``)."""
    path = urn.urn.split("_", 1)[1].split("/")
    direction = path[0] if path[0] in ("consumption", "production") else "consumption"
    quantity = path[1] if len(path) > 1 and path[1] in ("power", "energy") else "energy"
    kind = path[2] if len(path) > 2 else "active"
    sampling = {"daily": "P1D", "raw": None}.get(path[3] if len(path) > 3 else "")
    return Measurement(
        device_type="electricity-meter",
        identifier_authority="enedis",
        identifier_type="prm",
        identifier_value=urn.meter_id,
        name=f"{kind}-{quantity}",
        direction=direction,
        quantity=quantity,
        unit=unit or ("kW" if quantity == "power" else "kWh"),
        sampling_interval=sampling,
    )


async def aggregate_answer(
    source: Source,
    peer: Peer,
    urn: AggregateUrn,
    start: datetime,
    end: datetime,
    *,
    rule: SecrecyRule,
    now: datetime,
) -> Answer:
    """Rollups the secrecy rule lets leave; withheld buckets are holes (left out).

    If rows exist and every one is withheld, the request is refused outright, so a
    below-threshold aggregate is never mistaken for an empty one.
    """
    rows = await source.aggregates(urn, start, end)
    samples: list[Sample] = []
    unit = ""
    reason = ""
    for r in rows:
        item = r.egress_item(urn)
        verdict = decide(peer.grant, item, rule=rule, now=now)
        if verdict.allowed:
            samples.append(Sample(r.start, r.value))
            unit = r.unit
        else:
            reason = verdict.reason
    if rows and not samples:
        raise Forbidden(f"{urn}: {reason}")
    if not rows:
        # No rollup yet: the grant alone decides (an IRIS code starts with its
        # commune's), so an empty answer never tells a stranger a territory exists.
        commune = urn.territory[:5] if urn.scope == "neighbourhood" else urn.territory
        probe = Aggregate(
            urn.scope, urn.territory, commune, urn.bucket, 0.0, rule.min_points, 0.0
        )
        verdict = decide(peer.grant, probe, rule=rule, now=now)
        if not verdict.allowed:
            raise Forbidden(f"{urn}: {verdict.reason}")
    return Answer(aggregate_meta(urn, unit or (rows[0].unit if rows else "")), samples)


async def series_answer(
    source: Source,
    peer: Peer,
    urn: IndividualUrn,
    start: datetime,
    end: datetime,
    *,
    rule: SecrecyRule,
    now: datetime,
    route: str,
    log: bool = True,
    clamp: bool = False,
) -> Answer:
    """An individual series, only under a live consent naming this peer; every
    access is written to the resident's access log (``log=False``: the caller logs
    it, e.g. a push only when something is sent). ``clamp`` narrows the window to
    the consent's (pushes look back over a fixed window; a request never is)."""
    consent = await source.consent_for(urn.meter_id, peer.domain)
    if clamp and consent is not None:
        start = max(start, consent.starts_at)
        end = min(end, consent.expires_at)
    item = IndividualSeries(urn.meter_id, start, end, consent)
    verdict = decide(peer.grant, item, rule=rule, now=now)
    if not verdict.allowed or consent is None:
        raise Forbidden(f"{urn.urn}: {verdict.reason or 'no consent for this peer'}")
    unit, points = await source.series(urn.urn, start, end)
    if log:
        await source.log_access(consent, route)
    samples = [Sample(p.start, p.value) for p in points]
    return Answer(series_meta(urn, unit), samples, consent)
