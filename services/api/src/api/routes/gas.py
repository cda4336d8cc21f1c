"""A PCE's gas days (kWh PCS and m3) and how gas is priced: beside electricity,
never added to it.

ADICT's daily value is a *gas day*, 06:00 -> 06:00 Paris (23 h and 25 h around the
clock changes), kept as one interval in kWh PCS and one in m3. A gas day is named
by the Paris date it starts on, so ``/daily`` and this route agree on the day; the
route also says the interval, which ``/daily`` cannot. Euros come from the dated
regulated benchmark price (the CRE's *prix repère*, ``api_gas_prices``) in force
on each gas day, in the PCE's consumption band (``api_gas_bands``, chosen from
GRDF's CAR or tariff option as ingest-grdf keeps them), standing charge spread
per day; CO2 from the gas factor of
``api_co2_factors``. Every read goes through the same gate as electricity
(``accessible_meter``: ``meter_access()`` and the access log).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api import queries
from api.deps import PoolDep, Resident
from api.periods import day_span
from api.problems import Problem
from api.routes.meters import MeterId, accessible_meter, person_of
from api.schemas import CostPublic
from api.tariffs import GasBand, GasPrice, gas_band, gas_cost
from energy_core.domain.time import PARIS

router = APIRouter(prefix="/v1/meters", tags=["gas"])


class GasDayPublic(BaseModel):
    day: date = Field(description="the gas day: the Paris date it starts on")
    start: datetime = Field(description="06:00 Paris that day (start, inclusive)")
    end: datetime = Field(description="06:00 Paris the next day (end, exclusive)")
    hours: float = Field(description="23, 24 or 25")
    kwh: float | None = Field(description="kWh PCS")
    m3: float | None
    quality: int


class GasDaysPage(BaseModel):
    meter_id: str
    items: list[GasDayPublic]


async def _gas_meter(conn: Any, user: Any, meter_id: str) -> Any:
    meter = await accessible_meter(conn, user, meter_id)
    if meter["energy"] != "gas":
        raise Problem(404, "not a gas meter", kind="not-gas")
    return meter


@router.get("/{meter_id}/gas-days")
async def gas_days(
    meter_id: MeterId, user: Resident, pool: PoolDep, start: date, end: date
) -> GasDaysPage:
    """Gas days starting on the Paris days [start, end): kWh PCS and m3."""
    t0, t1 = day_span(start, end)
    async with pool.acquire() as conn:
        await _gas_meter(conn, user, meter_id)
        rows = await queries.gas_days(
            conn, person_id=person_of(user), meter_id=meter_id, start=t0, end=t1
        )
    return GasDaysPage(
        meter_id=meter_id,
        items=[
            GasDayPublic(
                day=r["start_ts"].astimezone(PARIS).date(),
                start=r["start_ts"],
                end=r["end_ts"],
                hours=(r["end_ts"] - r["start_ts"]).total_seconds() / 3600,
                kwh=None if r["wh"] is None else round(r["wh"] / 1000, 3),
                m3=None if r["m3"] is None else round(r["m3"], 3),
                quality=r["quality"],
            )
            for r in rows
        ],
    )


async def gas_cost_of_month(
    conn: Any, user: Any, meter_id: str, month: str, first: date, following: date
) -> CostPublic:
    """Euros of the gas days starting in one local month (the caller checked
    the meter is readable and is gas)."""
    rows = await queries.gas_days(
        conn,
        person_id=person_of(user),
        meter_id=meter_id,
        start=datetime.combine(first, time(), tzinfo=PARIS),
        end=datetime.combine(following, time(), tzinfo=PARIS),
    )
    contract = await conn.fetchrow(
        "SELECT car_kwh, tariff_option FROM grdf_rights WHERE meter_id = $1", meter_id
    )
    bands = [
        GasBand(b["band"], b["min_kwh_year"], b["max_kwh_year"])
        for b in await conn.fetch(
            "SELECT band, min_kwh_year, max_kwh_year FROM api_gas_bands"
        )
    ]
    band, basis = gas_band(
        None if contract is None else contract["car_kwh"],
        None if contract is None else contract["tariff_option"],
        bands,
    )
    prices = (
        []
        if band is None
        else [
            GasPrice(
                band=p["band"],
                valid_from=p["valid_from"],
                valid_to=p["valid_to"],
                standing_eur_month=p["standing_eur_month"],
                eur_per_kwh=p["eur_per_kwh"],
            )
            for p in await queries.gas_prices(conn, band=band)
        ]
    )
    result = gas_cost(
        [(r["start_ts"], r["wh"]) for r in rows if r["wh"] is not None],
        prices=prices,
        band=band or "",
    )
    note = f"band {band or 'none'} from {basis}"
    if band is None:
        note += ": beyond the household benchmark bands, not priced"
    elif not prices:
        note += f": no benchmark price held for band {band}, not priced"
    return CostPublic(
        meter_id=meter_id,
        month=month,
        option=f"gas {band or '-'}",
        kva=0,
        kwh=round(result.kwh, 3),
        energy_eur=round(result.energy_eur, 2),
        standing_eur=round(result.standing_eur, 2),
        total_eur=round(result.total_eur, 2),
        unpriced_days=list(result.unpriced_days),
        price_note=note,
    )
