"""A property manager's portfolio: many sites, ranked, with the anomalies to chase.

Who is a manager: any signed-in person with access to several sites' meters, by
the same rule as ``/v1/meters`` (``meter_access()``: a VERIFIED live consent of
the site's holder, e.g. a municipality holding its schools' contracts; or a live
share from a holder whose verified consent is live, e.g. tenants sharing with
their landlord). No new role: the consent IS the access, so a manager sees exactly
the sites whose holders consented, only over the holders' access windows, and
loses a site the moment that consent or share ends.

Each site's figures are the caller's own data under their consent; every meter
read is written to the access log like any other individual read.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api import access_log, queries
from api.deps import PoolDep, Resident
from api.problems import Problem

router = APIRouter(prefix="/v1/me", tags=["portfolio"])

NIGHT_RATIO = 0.5
"""Night (01:00-05:00) mean power at or above half the year's mean: the site does
not sleep (heating, ventilation or lighting left on). A home's night is ~0.3-0.4
of its mean; an office's or school's well under 0.3."""
WEEKEND_RATIO = 0.8
"""Professional sites only: weekend mean power at or above 80 % of weekdays' for a
building that is closed at weekends."""
MIN_DAYS = 300
"""A year is compared with the year before only when both hold this many days."""


class Site(BaseModel):
    meter_id: str
    name: str | None = Field(
        default=None, description="the name the caller gave the site (SGE sites)"
    )
    building_id: str | None
    address: str | None
    building_type: str | None
    sector: str
    surface_m2: float | None
    kwh: float | None = Field(description="last 365 days, kWh")
    kwh_per_m2: float | None
    change_pct: float | None = Field(
        description="vs the 365 days before; null when either year is incomplete"
    )
    night_ratio: float | None = Field(description="night mean kW / year mean kW")
    weekend_ratio: float | None = Field(description="weekend mean kW / weekday mean kW")
    days: int
    anomalies: list[str]


class Portfolio(BaseModel):
    at: datetime
    sites: list[Site]


@router.get("/portfolio")
async def portfolio(user: Resident, pool: PoolDep) -> Portfolio:
    """Every site the caller holds a live consent for, with kWh/m² and anomalies."""
    if user.person_id is None:
        raise Problem(403, "a portfolio is for people", kind="forbidden")
    person: uuid.UUID = user.person_id
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    async with pool.acquire() as conn:
        mine = await queries.my_meters(conn, person_id=person)
        ids = [r["meter_id"] for r in mine if r["direction"] == "consumption"]
        facts = {
            r["meter_id"]: r for r in await conn.fetch(queries.PORTFOLIO, person, now)
        }
        sites = await conn.fetch(queries.PORTFOLIO_SITES, ids)
        names = dict(await conn.fetch(_SGE_NAMES, person, ids))
        for meter_id in ids:
            await access_log.record(conn, user, meter_id)
    out = [
        _site(s, facts.get(s["meter_id"])).model_copy(
            update={"name": names.get(s["meter_id"])}
        )
        for s in sites
    ]
    out.sort(key=lambda s: -(s.kwh_per_m2 or 0))
    return Portfolio(at=now, sites=out)


_SGE_NAMES = """
SELECT DISTINCT ON (meter_id) meter_id, name FROM sge_sites
WHERE person_id = $1 AND meter_id = ANY($2::text[]) AND state = 'active'
ORDER BY meter_id, created_at DESC
"""
"""The caller's own names of their active SGE sites (never another's)."""


def _site(site: Mapping[str, Any], found: Mapping[str, Any] | None) -> Site:
    fact: Mapping[str, Any] = found or {}
    kwh = fact.get("kwh")
    prev = fact.get("kwh_prev")
    surface = site.get("surface_m2")
    days = fact.get("days") or 0
    full = days >= MIN_DAYS and (fact.get("days_prev") or 0) >= MIN_DAYS
    mean, night = fact.get("mean_kw"), fact.get("night_kw")
    weekend, weekday = fact.get("weekend_kw"), fact.get("weekday_kw")
    night_ratio = night / mean if mean and night is not None else None
    weekend_ratio = weekend / weekday if weekday and weekend is not None else None
    anomalies = []
    if night_ratio is not None and night_ratio >= NIGHT_RATIO:
        anomalies.append("night-baseload")
    if (
        site["sector"] == "professional"
        and weekend_ratio is not None
        and weekend_ratio >= WEEKEND_RATIO
    ):
        anomalies.append("weekend-baseload")
    return Site(
        meter_id=site["meter_id"],
        building_id=site.get("building_id"),
        address=site.get("address"),
        building_type=site.get("building_type"),
        sector=site["sector"],
        surface_m2=surface,
        kwh=round(kwh, 1) if kwh is not None else None,
        kwh_per_m2=round(kwh / surface, 2) if kwh is not None and surface else None,
        change_pct=round(100 * (kwh - prev) / prev, 1) if full and prev else None,
        night_ratio=round(night_ratio, 3) if night_ratio is not None else None,
        weekend_ratio=round(weekend_ratio, 3) if weekend_ratio is not None else None,
        days=days,
        anomalies=anomalies,
    )
