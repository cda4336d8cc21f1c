"""The city map's choropleth: one call per level and period (see api.choropleth).

Public like ``/v1/rollups`` (aggregates behind the secrecy gate); a city key sees
only its territory: its commune, or the features of its one IRIS.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query

from api import choropleth
from api.auth import Principal
from api.deps import CurrentUser, PoolDep, SecrecyDep
from api.periods import day_span
from api.problems import Problem
from api.schemas import ChoroplethCollection, RulePublic
from energy_core.domain.time import local_midnight

router = APIRouter(prefix="/v1/map", tags=["aggregates"])
Level = Literal["neighbourhood", "parcel", "building"]
Insee = Annotated[str | None, Query(pattern=r"^(\d{2}|2A|2B)\d{3}$")]
Iris = Annotated[str | None, Query(pattern=r"^(\d{2}|2A|2B)\d{7}$")]
Idu = Annotated[str | None, Query(pattern=r"^(\d{2}|2A|2B)\d{6}[0-9A-Z]{2}\d{4}$")]
Energy = Annotated[str, Query(pattern="^(electricity|gas)$")]
Direction = Annotated[str, Query(pattern="^(consumption|production)$")]


def _territory(
    user: Principal, commune: str | None, iris: str | None
) -> tuple[str, str | None]:
    """The commune to draw and the one IRIS a key is limited to (None: all)."""
    if user.kind != "city":
        if commune is None:
            raise Problem(422, "commune is required", kind="validation")
        return commune, None
    scope_id = str(user.scope_id)
    own = scope_id if user.scope == "commune" else scope_id[:5]
    if commune is not None and commune != own:
        raise Problem(403, "outside the territory of this key", kind="forbidden")
    if user.scope == "commune":
        return own, None
    if iris is not None and iris != scope_id:
        raise Problem(403, "outside the territory of this key", kind="forbidden")
    return own, scope_id


@router.get("/{level}", response_model=ChoroplethCollection)
async def choropleth_map(
    level: Annotated[Level, Path()],
    start: date,
    end: date,
    user: CurrentUser,
    pool: PoolDep,
    rule: SecrecyDep,
    commune: Insee = None,
    iris: Iris = None,
    parcel: Idu = None,
    energy: Energy = "electricity",
    direction: Direction = "consumption",
    geometry: bool = True,
) -> dict[str, Any]:
    """Every IRIS, parcel or building of a commune (optionally of one IRIS or
    parcel) as GeoJSON, each with its total over local days [start, end): value
    (Wh or m3), delivery points, value per point, or why it is suppressed.
    Summed from P1M buckets over the whole months of the span and P1D buckets
    over the days around them (``segments``), each judged on its own.
    ``geometry=false`` leaves the shapes out (a page that has them already)."""
    day_span(start, end)  # validates the span (non-empty, at most MAX_DAYS)
    insee, only_iris = _territory(user, commune, iris)
    plan = choropleth.plan(start, end)
    # Edge days inside months that /v1/rollups publishes whole: the time pass
    # needs those months (P1M) and ALL their days, so the edge segments are read
    # as whole months (the totals count the asked days only; the P1M segments
    # have no coarser parent).
    edges = [choropleth.months_around(a, z) for b, a, z in plan if b == "P1D"]
    segments = [
        (b, local_midnight(a), local_midnight(z)) for b, a, z in plan if b == "P1M"
    ] + [("P1D", a, z) for a, z in edges]
    async with pool.acquire() as conn:
        if not await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM communes WHERE insee = $1)", insee
        ):
            raise Problem(404, "no such commune", kind="not-found")
        wanted, nodes = await choropleth.load(
            conn,
            commune=insee,
            level=level,
            segments=segments,
            energy=energy,
            direction=direction,
            iris=iris or only_iris,
            parcel=parcel,
            geometry=geometry,
        )
        months: dict[tuple[int, str], choropleth.Node] = {}
        if edges:
            _, months = await choropleth.load(
                conn,
                commune=insee,
                level=level,
                segments=[("P1M", a, z) for a, z in edges],
                energy=energy,
                direction=direction,
                iris=iris or only_iris,
                parcel=parcel,
                geometry=False,
            )
    if only_iris is not None:  # a key of one IRIS: nothing outside it, whatever
        wanted = [f for f in wanted if f["iris"] == only_iris]  # parcel was asked
    depth = choropleth.LEVELS.index(level)
    choropleth.verdicts(rule, nodes, depth)
    in_time = None
    if edges:
        choropleth.verdicts(rule, months, depth)
        in_time = choropleth.held_in_time(rule, months, nodes, depth)
    span = (
        int(local_midnight(start).timestamp()),
        int(local_midnight(end).timestamp()),
    )
    sums = choropleth.totals(
        rule, nodes, depth, [f["id"] for f in wanted], in_time, span, walked=True
    )
    out = []
    for f in wanted:
        t = sums[f["id"]]
        per = (
            t.value / t.delivery_points
            if t.value is not None and t.delivery_points
            else None
        )
        out.append(
            {
                "type": "Feature",
                "id": f["id"],
                "geometry": f["geometry"],
                "properties": {
                    "name": f["name"],
                    "iris": f["iris"],
                    "idu": f["idu"],
                    "building_type": f["building_type"],
                    "surface_m2": f["surface_m2"],
                    "state": t.state,
                    "value": t.value,
                    "unit": t.unit,
                    "delivery_points": t.delivery_points,
                    "value_per_point": per,
                    "buckets": t.buckets,
                    "suppressed": t.state == "suppressed",
                    "reason": t.reason,
                },
            }
        )
    return {
        "type": "FeatureCollection",
        "level": level,
        "commune": insee,
        "start": start,
        "end": end,
        "bucket": "+".join(dict.fromkeys(b for b, _, _ in plan)),
        "segments": [{"bucket": b, "start": a, "end": z} for b, a, z in plan],
        "energy": energy,
        "direction": direction,
        "rule": RulePublic(min_points=rule.min_points, max_share=rule.max_share),
        "features": out,
    }
