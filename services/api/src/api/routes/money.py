"""Euros (dated tariffs), CO2 (dated factors) and comparison with similar homes."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api import queries
from api.deps import PoolDep, Resident, SecrecyDep
from api.periods import month_span, previous_month
from api.problems import Problem
from api.routes.gas import gas_cost_of_month
from api.routes.meters import MeterId, accessible_meter, person_of
from api.schemas import Co2Public, ComparisonPublic, CostPublic
from api.tariffs import Contract, Tariff, cost_of
from energy_core.domain.time import days_between, local_midnight

router = APIRouter(prefix="/v1/meters", tags=["costs"])
Month = Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", examples=["2026-10"])]


def _tariff(row: Any) -> Tariff:
    return Tariff(
        option=row["option"],
        kva=row["kva"],
        valid_from=row["valid_from"],
        valid_to=row["valid_to"],
        standing_eur_month=row["standing_eur_month"],
        prices={k: float(v) for k, v in row["prices"].items()},
    )


@router.get("/{meter_id}/cost")
async def cost(
    meter_id: MeterId, month: Month, user: Resident, pool: PoolDep
) -> CostPublic:
    """Euros of one local month, each interval priced by the grid of its day
    (gas: each gas day by the benchmark gas price of its day, never summed with
    electricity; ``option`` says ``gas <band>``)."""
    first, following = month_span(month)
    async with pool.acquire() as conn:
        meter = await accessible_meter(conn, user, meter_id)
        if meter["energy"] == "gas":
            return await gas_cost_of_month(
                conn, user, meter_id, month, first, following
            )
        row = await queries.contract_of(conn, meter_id=meter_id)
        if row is None:
            raise Problem(
                404, "no supply contract known for this meter", kind="no-contract"
            )
        contract = Contract(row["option"], row["kva"], tuple(row["offpeak"]))
        grids = [
            _tariff(r)
            for r in await queries.tariff_rows(
                conn, option=contract.option, kva=contract.kva
            )
        ]
        series = meter["series"]
        t0, t1 = local_midnight(first), local_midnight(following)
        who = person_of(user)
        pairs = await queries.intervals(
            conn, person_id=who, meter_id=meter_id, series=series, start=t0, end=t1
        )
        whole = await queries.whole_days(
            conn, person_id=who, meter_id=meter_id, series=series,
            daily_series=meter["daily_series"], start=t0, end=t1,
        )  # fmt: skip
        # 00:00-06:00 on the 1st belongs to the Tempo day of the month's eve.
        colours = await queries.tempo_colours(
            conn, first=first - timedelta(days=1), last=following
        )
    result = cost_of(
        pairs,
        whole_days=whole,
        contract=contract,
        tariffs=grids,
        days=days_between(first, following),
        colours=colours,
    )
    return CostPublic(
        meter_id=meter_id,
        month=month,
        option=contract.option,
        kva=contract.kva,
        kwh=round(result.kwh, 3),
        energy_eur=round(result.energy_eur, 2),
        standing_eur=round(result.standing_eur, 2),
        total_eur=round(result.total_eur, 2),
        unpriced_days=list(result.unpriced_days),
    )


@router.get("/{meter_id}/co2")
async def co2(
    meter_id: MeterId, month: Month, user: Resident, pool: PoolDep
) -> Co2Public:
    """kg CO2e of one local month; each day uses the factor in force that day."""
    first, following = month_span(month)
    async with pool.acquire() as conn:
        meter = await accessible_meter(conn, user, meter_id)
        factors = await queries.co2_factors(conn, energy=meter["energy"])
        series = meter["series"]
        days = await queries.totals(
            conn,
            person_id=person_of(user),
            meter_id=meter_id,
            series=series,
            daily_series=meter["daily_series"],
            start=local_midnight(first),
            end=local_midnight(following),
            per="day",
        )

    def factor_on(day: date) -> Any:
        # The latest valid_from covering the day wins (a new factor needs no edit
        # of the previous row), as for tariffs.
        covering = [
            f
            for f in factors
            if f["valid_from"] <= day and (f["valid_to"] is None or day < f["valid_to"])
        ]
        return max(covering, key=lambda f: f["valid_from"], default=None)

    kwh = kg = 0.0
    used: dict[date, Any] = {}
    missing: list[date] = []
    for d in days:
        kwh += d["wh"] / 1000
        f = factor_on(d["period"])
        if f is None:
            missing.append(d["period"])  # said, not silently counted as zero
            continue
        kg += d["wh"] / 1000 * f["kg_per_kwh"]
        used[f["valid_from"]] = f
    return Co2Public(
        meter_id=meter_id,
        month=month,
        kwh=round(kwh, 3),
        kg_co2e=round(kg, 3),
        factors=[
            {
                "valid_from": f["valid_from"].isoformat(),
                "kg_per_kwh": f["kg_per_kwh"],
                "method": f["method"],
                "source": f["source"],
            }
            for f in used.values()
        ],
        days_without_factor=missing,
    )


@router.get("/{meter_id}/comparison")
async def comparison(
    meter_id: MeterId, month: Month, user: Resident, pool: PoolDep, rule: SecrecyDep
) -> ComparisonPublic:
    """This month vs last month vs homes like mine (same IRIS, type and surface band);
    the peer average is itself an aggregate and passes the secrecy gate."""
    first, following = month_span(month)
    prev_first, _ = month_span(previous_month(month))
    t0, t1, tp = (
        local_midnight(first),
        local_midnight(following),
        local_midnight(prev_first),
    )
    async with pool.acquire() as conn:
        meter = await accessible_meter(conn, user, meter_id)
        series = meter["series"]
        months = await queries.totals(
            conn, person_id=person_of(user), meter_id=meter_id, series=series,
            daily_series=meter["daily_series"], start=tp, end=t1, per="month",
        )  # fmt: skip
        peers = await queries.similar_homes(
            conn, person_id=person_of(user), meter_id=meter_id, start=t0, end=t1
        )
    by_month = {r["period"]: r["wh"] / 1000 for r in months}
    homes = peers["homes"] if peers else 0
    verdict = rule.check(
        delivery_points=homes,
        value=peers["total_wh"] if peers else 0.0,
        max_point_value=peers["max_wh"] if peers else 0.0,
    )
    mean = peers["total_wh"] / homes / 1000 if verdict.published and homes else None
    return ComparisonPublic(
        meter_id=meter_id,
        month=month,
        my_kwh=round(by_month.get(first, 0.0), 3),
        previous_month_kwh=round(by_month.get(prev_first, 0.0), 3),
        similar_mean_kwh=None if mean is None else round(mean, 3),
        suppressed=not verdict.published,
        reason=verdict.reason,
    )
