"""Aggregates per building, parcel, neighbourhood and commune, behind the secrecy gate.

Anyone may read them (the public included); a city key is limited to its territory.
Every bucket under the threshold comes back with ``value: null`` and the reason.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from api import queries
from api.auth import Principal
from api.deps import CurrentUser, PoolDep, SecrecyDep
from api.periods import MAX_DAYS, day_span
from api.privacy import (
    Children,
    Figures,
    SecrecyRule,
    Verdict,
    rest_is_safe,
    withheld,
    withheld_in_time,
)
from api.problems import Problem
from api.schemas import AggregatePublic, RollupPage, RulePublic
from energy_core.domain.time import (
    local_day_of,
    local_midnight,
    month_start,
    next_month_start,
)

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


@dataclass(frozen=True, slots=True)
class _Bucket:
    """One bucket of the chain query, read once: the path's nodes and children."""

    start: datetime
    nodes: tuple[Figures | None, ...]  # commune .. the scope itself
    kids: tuple[Children | None, ...]  # None at the commune (no parent)


_NODE_COLUMNS = tuple((f"n{lv}", f"v{lv}", f"mx{lv}") for lv in range(4))
_KID_COLUMNS = tuple(
    (f"okn{lv}", f"okv{lv}", f"non{lv}", f"nomx{lv}") for lv in range(4)
)


def _bucket(row: Any, depth: int) -> _Bucket:
    nodes: list[Figures | None] = []
    kids: list[Children | None] = [None]
    for lv in range(depth + 1):
        n, v, mx = _NODE_COLUMNS[lv]
        nodes.append(None if row[n] is None else Figures(row[n], row[v], row[mx]))
        if lv:
            a, b, c, d = _KID_COLUMNS[lv]
            kids.append(Children(row[a], row[b], row[c], row[d]))
    return _Bucket(row["bucket_start"], tuple(nodes), tuple(kids))


def _passes(rule: SecrecyRule, f: Figures) -> bool:
    return rule.check(
        delivery_points=f.points, value=f.value, max_point_value=f.max_point
    ).published


def _walk(
    rule: SecrecyRule,
    b: _Bucket,
    path: list[str],
    resolved: dict[tuple[int, datetime], set[str]],
) -> bool | tuple[int, bool]:
    """Top-down from the commune: whether the path's last node is published in
    this bucket, or (level, parent published) where the children must be looked
    at one by one first."""
    top = b.nodes[0]
    published = top is not None and _passes(rule, top)
    for lv in range(1, len(b.nodes)):
        parent, node, kids = b.nodes[lv - 1], b.nodes[lv], b.kids[lv]
        if parent is None or node is None or kids is None:
            return False  # a node without its parent's row: withheld
        if rest_is_safe(rule, parent, published, kids):
            published = _passes(rule, node)
        elif (lv, b.start) in resolved:
            published = _passes(rule, node) and path[lv] not in resolved[lv, b.start]
        else:
            return lv, published
    return published


async def _publishable(
    conn: asyncpg.Connection,
    rule: SecrecyRule,
    scope: str,
    chain: dict[str, Any],
    buckets: list[_Bucket],
    bucket: str,
    energy: str,
    direction: str,
) -> dict[datetime, bool]:
    """Complementary suppression of every bucket (privacy.withheld), level by level."""
    path = [chain["commune"], *(chain[p] for _, p in queries.FAMILY_ARGS[scope])]
    resolved: dict[tuple[int, datetime], set[str]] = {}
    for _ in range(len(path)):  # each round settles at least one more level
        verdicts: dict[datetime, bool] = {}
        waiting: dict[int, dict[datetime, tuple[_Bucket, bool]]] = {}
        for b in buckets:
            out = _walk(rule, b, path, resolved)
            if isinstance(out, bool):
                verdicts[b.start] = out
            else:
                lv, parent_published = out
                waiting.setdefault(lv, {})[b.start] = (b, parent_published)
        if not waiting:
            return verdicts
        for lv, pending in waiting.items():
            passing: dict[datetime, list[tuple[str, Figures]]] = {
                t: [] for t in pending
            }
            for k in await queries.children(
                conn,
                scope=queries.LEVELS[lv],
                ids=queries.children_of(scope, chain, lv),
                bucket=bucket,
                energy=energy,
                direction=direction,
                starts=sorted(pending),
            ):
                f = Figures(k["n"], k["v"], k["mx"])
                if _passes(rule, f):
                    passing[k["bucket_start"]].append((k["scope_id"], f))
            for start, (b, parent_published) in pending.items():
                parent, kids = b.nodes[lv - 1], b.kids[lv]
                if parent is None or kids is None:  # pragma: no cover - see _walk
                    continue
                resolved[lv, start] = withheld(
                    rule, parent, parent_published, kids, passing[start]
                )
    raise RuntimeError("complementary suppression did not settle")  # pragma: no cover


COARSER = {"PT30M": "PT1H", "PT1H": "P1D", "P1D": "P1M"}
"""The bucket size that encloses each finer one (P1M encloses nothing published)."""
_EVERY = 10**6  # no page limit when whole parents are read for the time pass


def enclosing(coarser: str, t0: datetime, t1: datetime) -> tuple[datetime, datetime]:
    """[t0, t1) widened to whole ``coarser`` buckets (Paris days and months: 23 to
    25 hours, 28 to 31 days; hours are whole in Paris, so UTC hours)."""
    last = t1 - timedelta(microseconds=1)
    if coarser == "PT1H":
        hour = timedelta(hours=1)
        floor = t0.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        top = last.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        return floor, top + hour
    first, final = local_day_of(t0), local_day_of(last)
    if coarser == "P1D":
        return local_midnight(first), local_midnight(final + timedelta(days=1))
    return (
        local_midnight(month_start(first)),
        local_midnight(next_month_start(final)),
    )


@dataclass(slots=True)
class _Cell:
    """One bucket of the scope: its figures and verdict so far."""

    end: datetime
    leaf: Figures
    published: bool
    in_time: bool = False  # withheld by the time pass


async def _cells(
    conn: asyncpg.Connection,
    rule: SecrecyRule,
    scope: str,
    chain: dict[str, Any],
    bucket: str,
    energy: str,
    direction: str,
    t0: datetime,
    t1: datetime,
) -> dict[datetime, _Cell]:
    """Verdicts of the scope's buckets around [t0, t1), in space and in time.

    Space: complementary suppression with the parent place (:func:`_publishable`).
    Time: a published month minus its published days would give the sum of the
    others, so each enclosing coarser bucket is a parent and ALL its finer buckets
    (read whole, beyond [t0, t1)) its children (privacy.withheld_in_time). The
    coarser bucket's own verdict comes first, recursively (half-hours → hours →
    days → months).
    """
    coarser = COARSER.get(bucket)
    if coarser is not None:
        t0, t1 = enclosing(coarser, t0, t1)
    rows = await queries.rollups(
        conn,
        scope=scope,
        chain=chain,
        bucket=bucket,
        energy=energy,
        direction=direction,
        start=t0,
        end=t1,
        limit=_EVERY,
        min_points=rule.min_points,
        max_share=rule.max_share,
    )
    depth = queries.LEVELS.index(scope)
    buckets = [_bucket(r, depth) for r in rows]
    spatial = await _publishable(
        conn, rule, scope, chain, buckets, bucket, energy, direction
    )
    cells: dict[datetime, _Cell] = {}
    for r, b in zip(rows, buckets, strict=True):
        leaf = b.nodes[depth]
        if leaf is not None:
            ok = _passes(rule, leaf) and spatial[b.start]
            cells[b.start] = _Cell(r["bucket_end"], leaf, ok)
    if coarser is None or not cells:
        return cells
    parents = await _cells(conn, rule, scope, chain, coarser, energy, direction, t0, t1)
    starts = sorted(cells)
    for p_start, p in parents.items():
        kids = [t for t in starts if p_start <= t < p.end]
        out = withheld_in_time(
            rule,
            p.leaf,
            p.published,
            [(t.isoformat(), cells[t].leaf, cells[t].published) for t in kids],
        )
        for t in kids:
            if t.isoformat() in out:
                cells[t].published, cells[t].in_time = False, True
    return cells


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
        page = rows[:limit]
        depth = queries.LEVELS.index(scope)
        buckets = [_bucket(r, depth) for r in page]
        verdicts = await _publishable(
            conn, rule, scope, chain, buckets, bucket, energy, direction
        )
        in_time: set[datetime] = set()
        if bucket in COARSER and page:
            last = page[-1]["bucket_start"] + timedelta(microseconds=1)
            cells = await _cells(
                conn,
                rule,
                scope,
                chain,
                bucket,
                energy,
                direction,
                page[0]["bucket_start"],
                last,
            )
            in_time = {t for t, c in cells.items() if c.in_time}
    parent = PARENT.get(scope, "")
    items = []
    for r, b in zip(page, buckets, strict=True):
        leaf = b.nodes[depth]
        if leaf is None:  # pragma: no cover - the SQL keeps the scope's buckets only
            continue
        verdict = rule.check(
            delivery_points=leaf.points,
            value=leaf.value,
            max_point_value=leaf.max_point,
        )
        if verdict.published and not verdicts[r["bucket_start"]]:
            verdict = Verdict(
                False,
                "withheld so that no group under the threshold can be derived "
                f"by difference with its {parent}",
            )
        elif verdict.published and r["bucket_start"] in in_time:
            verdict = Verdict(
                False,
                "withheld so that no bucket under the threshold can be derived "
                f"by difference with its enclosing {WHOLE[bucket]}",
            )
        items.append(
            AggregatePublic(
                bucket_start=r["bucket_start"],
                bucket_end=r["bucket_end"],
                value=leaf.value if verdict.published else None,
                unit=r["unit"],
                delivery_points=leaf.points if verdict.published else None,
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
WHOLE = {"PT30M": "hour", "PT1H": "day", "P1D": "month"}
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
