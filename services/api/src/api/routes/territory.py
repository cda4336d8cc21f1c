"""The territory: neighbourhoods (IRIS), parcels as GeoJSON, buildings.

Public reference data (no personal data): no authentication needed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api import queries
from api.deps import PoolDep
from api.schemas import (
    BuildingPage,
    BuildingPublic,
    FeatureCollection,
    NeighbourhoodPage,
    NeighbourhoodPublic,
)

router = APIRouter(prefix="/v1/territory", tags=["territory"])
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
Iris = Annotated[str | None, Query(pattern=r"^(\d{2}|2A|2B)\d{7}$")]
Insee = Annotated[str | None, Query(pattern=r"^(\d{2}|2A|2B)\d{3}$")]


@router.get("/neighbourhoods")
async def neighbourhoods(
    pool: PoolDep, commune: Insee = None, limit: Limit = 100, offset: Offset = 0
) -> NeighbourhoodPage:
    """Neighbourhoods (IRIS) with their grid capacity."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(queries.NEIGHBOURHOODS, commune, limit, offset)
    items = [
        NeighbourhoodPublic(**{k: r[k] for k in NeighbourhoodPublic.model_fields})
        for r in rows
    ]
    return NeighbourhoodPage(items=items, limit=limit, offset=offset)


@router.get("/neighbourhoods.geojson")
async def neighbourhoods_geojson(
    pool: PoolDep, commune: Insee = None
) -> FeatureCollection:
    """Neighbourhood outlines as a GeoJSON FeatureCollection (WGS 84)."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(queries.NEIGHBOURHOODS, commune, 1000, 0)
    features = [
        {
            "type": "Feature",
            "id": r["iris"],
            "geometry": r["geometry"],
            "properties": {
                "iris": r["iris"],
                "name": r["name"],
                "capacity_kw": r["capacity_kw"],
            },
        }
        for r in rows
        if r["geometry"] is not None
    ]
    return FeatureCollection(features=features)


@router.get("/parcels.geojson")
async def parcels_geojson(
    pool: PoolDep, iris: Iris = None, limit: Limit = 1000, offset: Offset = 0
) -> FeatureCollection:
    """Cadastral parcels (IDU) as a GeoJSON FeatureCollection."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(queries.PARCELS, iris, limit, offset)
    features = [
        {
            "type": "Feature",
            "id": r["idu"],
            "geometry": r["geometry"],
            "properties": {"idu": r["idu"], "iris": r["iris"]},
        }
        for r in rows
    ]
    return FeatureCollection(features=features)


@router.get("/buildings")
async def buildings(
    pool: PoolDep, iris: Iris = None, limit: Limit = 100, offset: Offset = 0
) -> BuildingPage:
    """Buildings with their parcel, IRIS, surface and type."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(queries.BUILDINGS, iris, limit, offset)
    return BuildingPage(
        items=[BuildingPublic(**dict(r)) for r in rows], limit=limit, offset=offset
    )
