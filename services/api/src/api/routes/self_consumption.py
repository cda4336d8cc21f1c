"""Self-consumption of PV homes (see api.self_consumption): a resident's own days,
and a commune's or IRIS' total behind the map's secrecy walk.

* ``GET /v1/meters/{meter_id}/self-consumption``: individual data, through the
  meter gate for the point AND for each production device (a device whose consent
  the resident withdrew stays hidden even behind its point); every read is logged.
* ``GET /v1/self-consumption``: public aggregates like ``/v1/map``; a city key
  sees its commune, or its one IRIS (and then no commune total).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api import choropleth, queries
from api import self_consumption as sc
from api.deps import CurrentUser, PoolDep, Resident, SecrecyDep
from api.periods import day_span
from api.problems import Problem
from api.routes.map import Insee, Iris, _territory
from api.routes.meters import MeterId, accessible_meter, person_of

router = APIRouter(tags=["self-consumption"])

# A point's production devices the person may read: candidates only; each one is
# then opened through the meter gate (queries.meter_for + the access log).
_DEVICES = """
SELECT meter_id FROM meters
WHERE delivery_point_id = $1 AND direction = 'production' AND energy = 'electricity'
ORDER BY meter_id
"""


def kwh(wh: float | None) -> float | None:
    return None if wh is None else wh / 1000


@router.get("/v1/meters/{meter_id}/self-consumption")
async def resident_self_consumption(
    meter_id: MeterId, user: Resident, pool: PoolDep, start: date, end: date
) -> dict[str, Any]:
    """Per local day in [start, end): gross production (the home's PV sensors),
    injection (the PRM's production series), self-consumed = gross - injection
    where both are measured; ``state`` says which side is missing otherwise."""
    t0, t1 = day_span(start, end)
    person = person_of(user)
    async with pool.acquire() as conn:
        point = await accessible_meter(conn, user, meter_id, "production")
        if point["scheme"] != "prm":
            raise Problem(
                422, "self-consumption is per delivery point (PRM)", kind="validation"
            )
        injection: dict[date, float] = {}
        if point["series"] or point["daily_series"]:
            for r in await queries.totals(
                conn, person_id=person, meter_id=meter_id, series=point["series"],
                daily_series=point["daily_series"], start=t0, end=t1, per="day",
            ):  # fmt: skip
                injection[r["period"]] = r["wh"]
        gross: dict[date, float] = {}
        devices = []
        for d in await conn.fetch(_DEVICES, meter_id):
            dev = await queries.meter_for(
                conn, person_id=person, meter_id=d["meter_id"], direction="production"
            )
            if dev is None or not dev["series"]:
                continue  # not readable by this person (withdrawn, shared apart)
            await accessible_meter(conn, user, d["meter_id"], "production")  # logs
            devices.append(d["meter_id"])
            for r in await queries.totals(
                conn, person_id=person, meter_id=d["meter_id"], series=dev["series"],
                daily_series=dev["daily_series"], start=t0, end=t1, per="day",
            ):  # fmt: skip
                gross[r["period"]] = gross.get(r["period"], 0.0) + r["wh"]
    days = sc.compose(gross, injection)
    both = [d for d in days if d.state == sc.BOTH]
    return {
        "meter_id": meter_id,
        "start": start,
        "end": end,
        "devices": devices,
        "sides": {
            "injection": bool(injection),
            "production": bool(gross),
        },
        "days": [
            {
                "day": d.day,
                "production_kwh": kwh(d.production_wh),
                "injection_kwh": kwh(d.injection_wh),
                "self_consumed_kwh": kwh(d.self_consumed_wh),
                "state": d.state,
            }
            for d in days
        ],
        "total": {
            "days_with_both": len(both),
            "production_kwh": sum(d.production_wh or 0.0 for d in both) / 1000,
            "injection_kwh": sum(d.injection_wh or 0.0 for d in both) / 1000,
            "self_consumed_kwh": sum(d.self_consumed_wh or 0.0 for d in both) / 1000,
        },
    }


def _total(t: choropleth.Total) -> dict[str, Any]:
    return {
        "state": t.state,
        "value": t.value,
        "unit": "Wh",
        "delivery_points": t.delivery_points,
        "days": t.buckets,
        "reason": t.reason,
    }


@router.get("/v1/self-consumption")
async def city_self_consumption(
    user: CurrentUser,
    pool: PoolDep,
    rule: SecrecyDep,
    start: Annotated[date, Query()],
    end: Annotated[date, Query()],
    commune: Insee = None,
    iris: Iris = None,
) -> dict[str, Any]:
    """Self-consumed energy (Wh) of a commune's PV homes over local days [start,
    end): the commune's total and each IRIS', summed over the points and days
    where both gross production and injection are measured. Every day of a total
    passes the threshold of distinct delivery points and dominance, with the map's
    complementary suppression between the commune and its IRIS; ``coverage``
    counts the producing points by what is measured (null under the threshold)."""
    t0, t1 = day_span(start, end)
    insee, only_iris = _territory(user, commune, iris)
    if iris is not None and only_iris is None:
        only_iris = iris  # narrowing asked by a commune key or the public
    async with pool.acquire() as conn:
        names = {
            r["iris"]: r["name"]
            for r in await conn.fetch(
                "SELECT iris, name FROM neighbourhoods WHERE commune_insee = $1 "
                "ORDER BY iris",
                insee,
            )
        }
        if not names and not await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM communes WHERE insee = $1)", insee
        ):
            raise Problem(404, "no such commune", kind="not-found")
        rows = await conn.fetch(sc.CITY_DAYS, insee, t0, t1)
        cover = await conn.fetchrow(sc.CITY_COVERAGE, insee, t0, t1, only_iris)
    nodes = sc.city_nodes(insee, list(names), rows)
    wanted = [i for i in names if only_iris is None or i == only_iris]
    per_iris = choropleth.totals(rule, nodes, 1, wanted)
    whole = None
    if only_iris is None:  # a key of one IRIS gets no commune total
        whole = _total(choropleth.totals(rule, nodes, 0, [insee])[insee])
    coverage = {
        k: (cover[k] if cover[k] >= rule.min_points else None)
        for k in ("both_sides", "injection_only", "production_only")
    }
    return {
        "commune": insee,
        "start": start,
        "end": end,
        "last_day": end - timedelta(days=1),
        "rule": {"min_points": rule.min_points, "max_share": rule.max_share},
        "commune_total": whole,
        "coverage": coverage,
        "neighbourhoods": [
            {"iris": i, "name": names[i], **_total(per_iris[i])} for i in wanted
        ],
    }
