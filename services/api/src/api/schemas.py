"""Response and request models (``…Public`` for one item, ``…Page`` for a list).

Times are aware ISO 8601 instants; ``start`` is inclusive and ``end`` exclusive.
Energies are in kWh (converted from the canonical Wh stored).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, HttpUrl


class LoginIn(BaseModel):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class TokenPublic(BaseModel):
    token: str
    role: str


class MePublic(BaseModel):
    kind: str
    scope: str | None = None
    scope_id: str | None = None


class MeterPublic(BaseModel):
    meter_id: str
    scheme: str
    energy: str
    direction: str
    building_id: str | None
    iris: str | None
    relation: Literal["owner", "shared"]


class MeterPage(BaseModel):
    items: list[MeterPublic]


class ReadingPublic(BaseModel):
    start: datetime
    end: datetime
    kwh: float
    quality: int = Field(description="0 estimated, 1 raw, 2 corrected")


class LoadCurvePage(BaseModel):
    meter_id: str
    items: list[ReadingPublic]
    next_start: datetime | None = Field(
        description="pass as `start` to get the next page; null at the end"
    )


class PeriodTotalPublic(BaseModel):
    period: date = Field(description="first local (Europe/Paris) day of the period")
    kwh: float
    readings: int
    quality: int


class TotalsPage(BaseModel):
    meter_id: str
    per: Literal["day", "month"]
    items: list[PeriodTotalPublic]


class RulePublic(BaseModel):
    min_points: int
    max_share: float | None


class AggregatePublic(BaseModel):
    bucket_start: datetime
    bucket_end: datetime
    value: float | None = Field(description="null when suppressed")
    unit: str
    delivery_points: int | None
    quality: str
    suppressed: bool
    reason: str | None = None


class RollupPage(BaseModel):
    scope: str
    scope_id: str
    bucket: str
    rule: RulePublic
    items: list[AggregatePublic]
    next_start: datetime | None = Field(
        default=None,
        description="first bucket not returned (limit reached); null at the end",
    )


class CostPublic(BaseModel):
    meter_id: str
    month: str
    option: str
    kva: int
    kwh: float
    energy_eur: float
    standing_eur: float
    total_eur: float
    unpriced_days: list[date]
    price_note: str | None = Field(
        default=None,
        description="gas: what the benchmark band was chosen from, and why days "
        "are unpriced when no price is held for it",
    )


class Co2Public(BaseModel):
    meter_id: str
    month: str
    kwh: float
    kg_co2e: float
    factors: list[dict[str, Any]]
    days_without_factor: list[date] = Field(
        default_factory=list, description="days with energy but no factor in force"
    )


class ComparisonPublic(BaseModel):
    meter_id: str
    month: str
    my_kwh: float
    previous_month_kwh: float
    similar_mean_kwh: float | None
    suppressed: bool
    reason: str | None = None


class NeighbourhoodPublic(BaseModel):
    iris: str
    name: str
    commune_insee: str
    capacity_kw: float


class NeighbourhoodPage(BaseModel):
    items: list[NeighbourhoodPublic]
    limit: int
    offset: int


class BuildingPublic(BaseModel):
    building_id: str
    address: str
    parcel_idu: str
    iris: str
    surface_m2: float
    building_type: str


class BuildingPage(BaseModel):
    items: list[BuildingPublic]
    limit: int
    offset: int


class FeatureCollection(BaseModel):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[dict[str, Any]]


class ChoroplethCollection(BaseModel):
    """GeoJSON of one map level over a period; each feature's ``properties`` hold
    ``state`` (published, suppressed, empty), ``value`` and ``unit`` (null when
    suppressed), ``delivery_points``, ``value_per_point``, ``buckets`` summed and
    ``reason`` (why it is suppressed, never how many points there were)."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    level: str
    commune: str
    start: date
    end: date
    bucket: str = Field(description="P1M, P1D or P1M+P1D (see segments)")
    segments: list[dict[str, Any]] = Field(
        description="the stored buckets summed: whole months as P1M, the days "
        "around them as P1D ([start, end) local days)"
    )
    energy: str
    direction: str
    rule: RulePublic
    features: list[dict[str, Any]]


class LoadPublic(BaseModel):
    iris: str
    name: str
    at: datetime
    consumption_kw: float | None
    production_kw: float | None
    capacity_kw: float
    meters_reporting: int | None = Field(description="null when suppressed")
    suppressed: bool = Field(description="consumption (and the count) withheld")
    reason: str | None = None
    production_suppressed: bool
    production_reason: str | None = None
    live_measured: bool = Field(
        True,
        description="false when no live-measuring device (FluksoMeter) is attached "
        "in the neighbourhood: no live load exists there, nothing is withheld",
    )


class AlertPublic(BaseModel):
    alert_id: uuid.UUID
    iris: str
    level: int = Field(description="OpenADR 3 SIMPLE: 0 normal … 3 emergency shed")
    peak_level: int = Field(
        description="the highest level the alert reached (a cleared alert is at 0)"
    )
    state: str
    raised_at: datetime
    updated_at: datetime
    cleared_at: datetime | None
    peak_load_kw: float | None = Field(description="net load; null when suppressed")
    capacity_kw: float
    load_suppressed: bool
    reason: str | None = None


class AlertPage(BaseModel):
    items: list[AlertPublic]
    limit: int
    offset: int


class WebhookIn(BaseModel):
    url: HttpUrl
    iris: str | None = Field(default=None, pattern=r"^(\d{2}|2A|2B)\d{7}$")


class WebhookPublic(BaseModel):
    webhook_id: uuid.UUID
    url: str
    iris: str | None
    active: bool
    secret: str | None = Field(
        default=None, description="HMAC key, shown once at creation"
    )


class WebhookPage(BaseModel):
    items: list[WebhookPublic]


Verification = Literal["pending", "verified", "to_verify", "rejected"]


class ConsentPublic(BaseModel):
    """A consent as its owner sees it: it grants access only once ``verified``."""

    consent_id: uuid.UUID
    meter_id: str
    purpose: str
    starts_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    verification: Verification
    verification_reason: str | None


class ConsentPage(BaseModel):
    items: list[ConsentPublic]


class ConsentToVerifyPublic(ConsentPublic):
    """What an operator needs to decide: who asked, for which point, and why held."""

    person_id: uuid.UUID
    display_name: str
    email: str | None
    created_at: datetime
    held_by_another: bool = Field(
        description="another person holds a live verified consent or occupancy"
    )


class ConsentToVerifyPage(BaseModel):
    items: list[ConsentToVerifyPublic]
    limit: int
    offset: int


class ConsentDecisionIn(BaseModel):
    """An operator's decision on a held consent."""

    decision: Literal["verified", "rejected"]
    reason: str = Field(min_length=3, max_length=200)
    move_in: date | None = Field(
        default=None,
        description="local Paris day the resident moved in (start of their "
        "occupancy; required to verify)",
    )
    previous_holder_moved_out: bool = Field(
        default=False,
        description="end the current holder's occupancy at move_in and revoke "
        "their consents on this point",
    )


class ConsentAuditPublic(BaseModel):
    event: str
    verification: str
    actor: str
    reason: str | None
    at: datetime


class ConsentAuditPage(BaseModel):
    consent_id: uuid.UUID
    items: list[ConsentAuditPublic]
