"""Aggregates per building, parcel, neighbourhood and commune, behind the secrecy gate.

Anyone may read them (the public included); a city key is limited to its territory.
Every bucket under the threshold comes back with ``value: null`` and the reason.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Annotated, Literal

import asyncpg
from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from api import queries
from api.auth import Principal
from api.deps import CurrentUser, PoolDep, SecrecyDep
from api.periods import MAX_DAYS, day_span
from api.privacy import SecrecyRule, Verdict
from api.problems import Problem
from api.schemas import AggregatePublic, RollupPage, RulePublic

router = APIRouter(prefix="/v1/rollups", tags=["aggregates"])
Scope = Literal["building", "parcel", "neighbourhood", "commune"]
ScopeId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_-]+$")]


def in_territory(user: Principal, scope: str, scope_id: str, iris: str | None) -> bool:
    """Whether a city key's territory contains the scope."""
    if user.kind != "city":
        return True
    if user.scope == "commune":
        commune = scope_id if scope == "commune" else (iris or "")[:5]
        return bool(commune == user.scope_id)
    return iris is not None and iris == user.scope_id


async def _page(
    pool: asyncpg.Pool,
    rule: SecrecyRule,
    user: Principal,
    scope: str,
    scope_id: str,
    bucket: str,
    energy: str,
    direction: str,
    start: date,
    end: date,
    limit: int,
) -> RollupPage:
    t0, t1 = day_span(start, end)
    async with pool.acquire() as conn:
        chain = await queries.family(conn, scope=scope, scope_id=scope_id)
        if chain is None:
            raise Problem(404, f"no such {scope}", kind="not-found")
        if not in_territory(user, scope, scope_id, chain.get("iris")):
            raise Problem(403, "outside the territory of this key", kind="forbidden")
        rows = await queries.rollups(
            conn,
            scope=scope,
            chain=chain,
            bucket=bucket,
            energy=energy,
            direction=direction,
            start=t0,
            end=t1,
            limit=limit + 1,
            min_points=rule.min_points,
            max_share=rule.max_share,
        )
    parent = PARENT.get(scope, "")
    items = []
    for r in rows[:limit]:
        verdict = rule.check(
            delivery_points=r["delivery_points"],
            value=r["value"],
            max_point_value=r["max_point_value"],
        )
        if verdict.published and not r["pub"]:
            verdict = Verdict(
                False,
                f"withheld so that no group under the threshold can be derived "
                f"by difference with its {parent}",
            )
        items.append(
            AggregatePublic(
                bucket_start=r["bucket_start"],
                bucket_end=r["bucket_end"],
                value=r["value"] if verdict.published else None,
                unit=r["unit"],
                delivery_points=r["delivery_points"] if verdict.published else None,
                quality=r["quality"],
                suppressed=not verdict.published,
                reason=verdict.reason,
            )
        )
    return RollupPage(
        scope=scope,
        scope_id=scope_id,
        bucket=bucket,
        rule=RulePublic(min_points=rule.min_points, max_share=rule.max_share),
        items=items,
        next_start=rows[limit]["bucket_start"] if len(rows) > limit else None,
    )


CSV_MAX = MAX_DAYS * 50
"""Buckets one CSV export may hold: every half-hour of the longest span (25-hour
days included)."""
PARENT = {"neighbourhood": "commune", "parcel": "neighbourhood", "building": "parcel"}


Bucket = Annotated[str, Query(pattern="^(PT30M|PT1H|P1D|P1M)$")]
Energy = Annotated[str, Query(pattern="^(electricity|gas)$")]
Direction = Annotated[str, Query(pattern="^(consumption|production)$")]
Limit = Annotated[int, Query(ge=1, le=5000)]


@router.get("/{scope}/{scope_id}")
async def rollups(
    scope: Scope,
    scope_id: ScopeId,
    start: date,
    end: date,
    user: CurrentUser,
    pool: PoolDep,
    rule: SecrecyDep,
    bucket: Bucket = "P1D",
    energy: Energy = "electricity",
    direction: Direction = "consumption",
    limit: Limit = 1000,
) -> RollupPage:
    """Buckets starting in local days [start, end); values in Wh (or m3)."""
    return await _page(
        pool, rule, user, scope, scope_id, bucket, energy, direction, start, end, limit
    )


@router.get("/{scope}/{scope_id}/export.csv", response_class=Response)
async def rollups_csv(
    scope: Scope,
    scope_id: ScopeId,
    start: date,
    end: date,
    user: CurrentUser,
    pool: PoolDep,
    rule: SecrecyDep,
    bucket: Bucket = "P1D",
    energy: Energy = "electricity",
    direction: Direction = "consumption",
) -> Response:
    """Same as JSON, as CSV; suppressed cells are empty with the reason."""
    # Every bucket of the span, not a first page: half-hours of MAX_DAYS days at most.
    page = await _page(
        pool,
        rule,
        user,
        scope,
        scope_id,
        bucket,
        energy,
        direction,
        start,
        end,
        CSV_MAX,
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "bucket_start",
            "bucket_end",
            "value",
            "unit",
            "delivery_points",
            "quality",
            "suppressed_reason",
        ]
    )
    for i in page.items:
        writer.writerow(
            [
                i.bucket_start.isoformat(),
                i.bucket_end.isoformat(),
                "" if i.value is None else f"{i.value:.3f}",
                i.unit,
                "" if i.delivery_points is None else i.delivery_points,
                i.quality,
                i.reason or "",
            ]
        )
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8")
