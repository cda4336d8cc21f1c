"""A resident's own meters (live consent) and meters shared with them: readings."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, datetime
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from api import access_log, queries
from api.auth import Principal
from api.deps import PoolDep, Resident
from api.periods import day_span, instant_span
from api.problems import Problem
from api.schemas import (
    LoadCurvePage,
    MeterPage,
    MeterPublic,
    PeriodTotalPublic,
    ReadingPublic,
    TotalsPage,
)

router = APIRouter(prefix="/v1/meters", tags=["meters"])
MeterId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z]+$")]
Direction = Annotated[str, Query(pattern="^(consumption|production)$")]


def person_of(user: Principal) -> uuid.UUID:
    if user.person_id is None:
        raise Problem(403, "individual data is for residents only", kind="forbidden")
    return user.person_id


async def accessible_meter(
    conn: asyncpg.Connection,
    user: Principal,
    meter_id: str,
    direction: str | None = None,
) -> Any:
    """The meter row (with ``series``: its energy series in ``direction``, or its
    own) if the resident may read it; 404 otherwise (no existence leak).

    The one gate of individual data: a granted read is written to the access log
    here, in the same place as the check, so no route can read without a trace.
    """
    row = await queries.meter_for(
        conn, person_id=person_of(user), meter_id=meter_id, direction=direction
    )
    if row is None:
        raise Problem(404, "no such meter among yours", kind="not-found")
    await access_log.record(conn, user, meter_id)
    return row


@router.get("")
async def list_meters(user: Resident, pool: PoolDep) -> MeterPage:
    """Meters under a live consent of yours, and those shared with you."""
    person_id = person_of(user)
    async with pool.acquire() as conn:
        rows = await queries.my_meters(conn, person_id=person_id)
    return MeterPage(items=[MeterPublic(**dict(r)) for r in rows])


@router.get("/{meter_id}/readings")
async def load_curve(
    meter_id: MeterId,
    user: Resident,
    pool: PoolDep,
    start: datetime,
    end: datetime,
    direction: Direction = "consumption",
    limit: Annotated[int, Query(ge=1, le=5000)] = 2000,
) -> LoadCurvePage:
    """Intervals in [start, end) (aware instants); page on with ``next_start``."""
    start, end = instant_span(start, end)
    async with pool.acquire() as conn:
        meter = await accessible_meter(conn, user, meter_id, direction)
        rows = await queries.load_curve(
            conn, person_id=person_of(user), meter_id=meter_id,
            series=meter["series"], start=start, end=end, limit=limit + 1,
        )  # fmt: skip
    items = [
        ReadingPublic(
            start=r["start_ts"],
            end=r["end_ts"],
            kwh=r["value"] / 1000,
            quality=r["quality"],
        )
        for r in rows[:limit]
    ]
    nxt = rows[limit]["start_ts"] if len(rows) > limit else None
    return LoadCurvePage(meter_id=meter_id, items=items, next_start=nxt)


async def _totals(
    pool: asyncpg.Pool,
    user: Principal,
    meter_id: str,
    per: str,
    start: date,
    end: date,
    direction: str,
) -> TotalsPage:
    t0, t1 = day_span(start, end)
    async with pool.acquire() as conn:
        meter = await accessible_meter(conn, user, meter_id, direction)
        rows = await queries.totals(
            conn, person_id=person_of(user), meter_id=meter_id,
            series=meter["series"], daily_series=meter["daily_series"],
            start=t0, end=t1, per=per,
        )  # fmt: skip
    items = [
        PeriodTotalPublic(
            period=r["period"],
            kwh=r["wh"] / 1000,
            readings=r["readings"],
            quality=r["quality"],
        )
        for r in rows
    ]
    return TotalsPage(meter_id=meter_id, per=per, items=items)


@router.get("/{meter_id}/daily")
async def daily(
    meter_id: MeterId,
    user: Resident,
    pool: PoolDep,
    start: date,
    end: date,
    direction: Direction = "consumption",
) -> TotalsPage:
    """kWh per local Europe/Paris day in [start, end)."""
    return await _totals(pool, user, meter_id, "day", start, end, direction)


@router.get("/{meter_id}/monthly")
async def monthly(
    meter_id: MeterId,
    user: Resident,
    pool: PoolDep,
    start: date,
    end: date,
    direction: Direction = "consumption",
) -> TotalsPage:
    """kWh per local month; ``start``/``end`` are local days, end exclusive."""
    return await _totals(pool, user, meter_id, "month", start, end, direction)


@router.get("/{meter_id}/daily.csv", response_class=Response)
async def daily_csv(
    meter_id: MeterId,
    user: Resident,
    pool: PoolDep,
    start: date,
    end: date,
    direction: Direction = "consumption",
) -> Response:
    """The daily totals as CSV (day, kwh, readings, quality)."""
    page = await _totals(pool, user, meter_id, "day", start, end, direction)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["day", "kwh", "readings", "quality"])
    for item in page.items:
        writer.writerow(
            [item.period.isoformat(), f"{item.kwh:.3f}", item.readings, item.quality]
        )
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8")
